package dev.glimmer;

import java.util.Arrays;

/**
 * A snapshot of a heap's statistics ({@code struct gl_stats} of glimmer.h).
 *
 * @param liveBytes     usable bytes of blocks handed out and not freed
 * @param liveBlocks    blocks handed out and not freed
 * @param peakLiveBytes peak of live bytes plus bytes parked in the recently-freed cache
 * @param footprint     bytes mapped from the OS, metadata included
 * @param peakFootprint the highest footprint so far
 * @param segments      2 MiB segments mapped
 * @param largeBlocks   blocks in a mapping of their own (requests of 1 MiB and more)
 * @param freeBytes     bytes in free blocks inside segments (headers included)
 * @param cachedBlocks  blocks parked in the recently-freed cache
 * @param cacheHits     mallocs served by the recently-freed cache, on heaps built with
 *                      {@link GlimmerHeap.Builder#countCacheHits()} and the default heap; else 0
 * @param searchSteps   range-bin blocks examined for a best fit
 * @param osMaps        mmap and mremap calls
 * @param osUnmaps      munmap calls
 * @param osAdvises     madvise(MADV_DONTNEED) calls
 * @param errors        {@code errors[k]}: how often status {@code -k} was reported, k = 1..7
 *                      (index 0 unused); see {@link #errorCount(int)}
 * @param classLive     live blocks per small class: class c holds blocks of 16*c bytes,
 *                      header included, c = 2..63
 * @param lockBiased    a {@link GlimmerHeap#ofShared() shared} heap (and the default heap) that
 *                      is biased to one thread: to the thread that created it until another
 *                      thread calls, later to a thread that has used it alone for thousands
 *                      of calls in a row. That thread's calls take no atomic instruction;
 *                      false for confined heaps and while no thread holds the bias
 * @param arenas        the default heap only: its arenas besides itself, the heaps that threads
 *                      other than its bias owner allocate from (each a shared heap biased to
 *                      its thread), whose figures every other field includes; 0 for any other
 *                      heap
 */
public record HeapStats(
        long liveBytes,
        long liveBlocks,
        long peakLiveBytes,
        long footprint,
        long peakFootprint,
        long segments,
        long largeBlocks,
        long freeBytes,
        long cachedBlocks,
        long cacheHits,
        long searchSteps,
        long osMaps,
        long osUnmaps,
        long osAdvises,
        long[] errors,
        long[] classLive,
        boolean lockBiased,
        long arenas) {

    public HeapStats {
        errors = errors.clone();
        classLive = classLive.clone();
    }

    /** A copy of the error counters, indexed by {@code -status}. */
    @Override
    public long[] errors() {
        return errors.clone();
    }

    /** A copy of the per-class live counts. */
    @Override
    public long[] classLive() {
        return classLive.clone();
    }

    /** How often the negative status {@code status} ({@code GL_E_*}, -1..-7) was reported. */
    public long errorCount(int status) {
        if (status >= 0 || -status >= errors.length) {
            throw new IllegalArgumentException("not a GL_E_* status: " + status);
        }
        return errors[-status];
    }

    /** The sum of all error counters. */
    public long totalErrors() {
        long sum = 0;
        for (long e : errors) {
            sum += e;
        }
        return sum;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HeapStats s
                && liveBytes == s.liveBytes && liveBlocks == s.liveBlocks
                && peakLiveBytes == s.peakLiveBytes && footprint == s.footprint
                && peakFootprint == s.peakFootprint && segments == s.segments
                && largeBlocks == s.largeBlocks && freeBytes == s.freeBytes
                && cachedBlocks == s.cachedBlocks && cacheHits == s.cacheHits
                && searchSteps == s.searchSteps && osMaps == s.osMaps
                && osUnmaps == s.osUnmaps && osAdvises == s.osAdvises
                && Arrays.equals(errors, s.errors) && Arrays.equals(classLive, s.classLive)
                && lockBiased == s.lockBiased && arenas == s.arenas;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(liveBytes) * 31 + Long.hashCode(footprint) * 17
                + Arrays.hashCode(errors) + Arrays.hashCode(classLive);
    }

    @Override
    public String toString() {
        return "HeapStats[liveBytes=" + liveBytes + ", liveBlocks=" + liveBlocks
                + ", peakLiveBytes=" + peakLiveBytes + ", footprint=" + footprint
                + ", peakFootprint=" + peakFootprint + ", segments=" + segments
                + ", largeBlocks=" + largeBlocks + ", freeBytes=" + freeBytes
                + ", cachedBlocks=" + cachedBlocks + ", cacheHits=" + cacheHits
                + ", searchSteps=" + searchSteps + ", osMaps=" + osMaps
                + ", osUnmaps=" + osUnmaps + ", osAdvises=" + osAdvises
                + ", errors=" + Arrays.toString(errors) + ", lockBiased=" + lockBiased + ", arenas=" + arenas + "]";
    }
}
