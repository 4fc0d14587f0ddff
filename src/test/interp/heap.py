"""heap.py - Debian's python3 exercising its allocator (run with
PYTHONMALLOC=malloc, so that every object comes from malloc, not from
pymalloc's arenas): dicts and lists built and dropped, JSON, a bytearray and a
list grown into large blocks by realloc, and worker threads allocating at
once.  Deterministic: the same output whatever allocates.
Usage: python3 heap.py [ROUNDS]"""
import hashlib
import json
import random
import sys
import threading


def churn(seed, steps):
    r = random.Random(seed)
    d = {}
    for _ in range(steps):
        k = r.randrange(20000)
        d[k] = [r.random() for _ in range(r.randrange(8))] + ["x" * r.randrange(2000)]
        if r.random() < 0.3:
            d.pop(r.randrange(20000), None)
    return hashlib.sha256(json.dumps(sorted(d.items())).encode()).hexdigest()


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for rnd in range(1, rounds + 1):
        out = {}
        workers = [threading.Thread(target=lambda s=s: out.__setitem__(s, churn(s, 30000)))
                   for s in range(rnd * 100, rnd * 100 + 4)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
        print(f"round {rnd} threads:", " ".join(out[s] for s in sorted(out)))
        buf = bytearray()
        for i in range(4096):
            buf += bytes([i & 255]) * 1024      # grown 1 KiB at a time, to 4 MiB
        items = []
        for i in range(1_000_000):
            items.append(i ^ 0x5A5A)            # a list's array grown to 8 MB
        print(f"round {rnd} grown:", len(buf), hashlib.sha256(buf).hexdigest()[:16], sum(items))


main()
