package dev.glimmer;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Child-JVM side of {@link SharedHeapLifecycleTest}: worker threads use a shared heap flat out
 * while the main thread closes it ({@code close} mode) or resets it again and again
 * ({@code reset} mode). Without the rule that close and reset wait for the calls in flight, a
 * call would run on a destroyed (unmapped) native heap, or a segment would outlive the reset
 * of its block: a crash. With it, the only outcomes are results, {@link HeapClosedException}
 * after close, and the JDK's {@link IllegalStateException} for segments of a closed arena —
 * plus, after a reset, {@link InvalidPointerException} for a free of a segment from before it.
 *
 * <p>Usage: {@code LifecycleRaceProbe <close|reset> <rounds> <threads> [seed]}. Prints one line
 * per kind of outcome with its count, "unexpected: ..." for anything else, then "survived".
 */
public final class LifecycleRaceProbe {

    private LifecycleRaceProbe() {
    }

    private static final Map<String, AtomicLong> OUTCOMES = new ConcurrentHashMap<>();

    public static void main(String[] args) throws Exception {
        boolean close = args[0].equals("close");
        int rounds = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 1;
        SplittableRandom main = new SplittableRandom(seed);
        if (close) {
            for (int round = 0; round < rounds; round++) {
                GlimmerHeap heap = GlimmerHeap.ofShared();
                List<Thread> workers = start(heap, threads, main.split(), new AtomicBoolean(), true);
                Thread.sleep(0, main.nextInt(1_000_000));           // 0..1 ms of work, then close
                if (main.nextBoolean()) {
                    Thread.sleep(1);
                }
                heap.close();
                for (Thread t : workers) {
                    t.join();
                }
            }
        } else {
            GlimmerHeap heap = GlimmerHeap.ofShared();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> workers = start(heap, threads, main.split(), stop, false);
            for (int round = 0; round < rounds; round++) {
                Thread.sleep(0, main.nextInt(500_000));
                heap.reset();
            }
            stop.set(true);
            for (Thread t : workers) {
                t.join();
            }
            heap.check();
            say("check after the resets: ok");
            heap.close();
        }
        OUTCOMES.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> say(e.getKey() + ": " + e.getValue()));
        say("survived");
    }

    private static List<Thread> start(GlimmerHeap heap, int threads, SplittableRandom seeds, AtomicBoolean stop,
                                      boolean raw) {
        CountDownLatch started = new CountDownLatch(threads);
        List<Thread> out = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            SplittableRandom random = seeds.split();
            Thread w = new Thread(() -> {
                started.countDown();
                work(heap, random, stop, raw);
            });
            w.setDaemon(true);
            out.add(w);
            w.start();
        }
        try {
            started.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    /** Until the heap is closed (or stop is set): allocate, write, read, resize and free. */
    private static void work(GlimmerHeap heap, SplittableRandom random, AtomicBoolean stop, boolean raw) {
        List<MemorySegment> mine = new ArrayList<>();
        while (!stop.get()) {
            try {
                int r = random.nextInt(100);
                if (raw && r < 20) {
                    // raw blocks are not touched: a raw address is dangling the moment another thread
                    // closes the heap (only segments are protected by the JDK's scope checks)
                    long p = heap.malloc(random.nextLong(1, 3000));
                    heap.usableSize(p);
                    heap.free(p);
                    count("raw malloc+free");
                } else if (mine.isEmpty() || r < 60) {
                    long size = random.nextInt(50) == 0 ? (1 << 20) + random.nextLong(4096) : random.nextLong(16, 4000);
                    MemorySegment s = heap.allocate(size);
                    s.set(JAVA_LONG_UNALIGNED, 0, size);
                    s.set(JAVA_LONG_UNALIGNED, size - 8, size);
                    mine.add(s);
                    count("allocate");
                } else if (r < 75) {
                    int i = random.nextInt(mine.size());
                    MemorySegment s = mine.get(i);
                    long size = s.byteSize();
                    if (s.get(JAVA_LONG_UNALIGNED, 0) != size || s.get(JAVA_LONG_UNALIGNED, size - 8) != size) {
                        say("unexpected: segment contents changed");
                    }
                    MemorySegment t = heap.reallocate(s, size + 64);
                    t.set(JAVA_LONG_UNALIGNED, 0, size + 64);
                    t.set(JAVA_LONG_UNALIGNED, size + 56, size + 64);
                    mine.set(i, t);
                    count("reallocate");
                } else {
                    MemorySegment s = mine.remove(random.nextInt(mine.size()));
                    s.get(JAVA_LONG_UNALIGNED, 0);
                    heap.free(s);
                    count("free");
                }
            } catch (HeapClosedException e) {
                count("HeapClosedException");
                return;
            } catch (IllegalStateException e) {
                // a segment of an arena closed by close() or reset(): drop it
                count("IllegalStateException (segment of a closed arena)");
                mine.removeIf(s -> !s.scope().isAlive());
            } catch (InvalidPointerException e) {
                // free/reallocate of a segment from before a reset
                count("InvalidPointerException (segment from before a reset)");
                mine.removeIf(s -> !s.scope().isAlive());
            } catch (Throwable e) {
                say("unexpected: " + e);
                return;
            }
        }
    }

    private static void count(String what) {
        OUTCOMES.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
