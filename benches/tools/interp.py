#!/usr/bin/python3
"""A real interpreter on each allocator: Debian's lua5.4 running benches/lua/workload.lua.

The driver's Lua rows replay what a Lua runtime asks of its allocator; this
stage runs the runtime itself.  For every allocator the native driver offers
(`driver --list`), it runs

    LD_PRELOAD=LIB lua5.4 benches/lua/workload.lua ROUNDS

where LIB is the peer's own library (libjemalloc.so.2, libmimalloc.so.2,
libtcmalloc_minimal.so.4; nothing for glibc) or, for Glimmer,
libglimmer-preload.so (benches/native/preload.c: malloc, free, realloc and
the rest served by Glimmer's default heap, gl_malloc -- a whole process has
no owned heap to hand).  The allocators take turns, run after run, so a
phase of the shared machine falls on all of them; per allocator it keeps the
median wall time and the median peak RSS (VmHWM, which the script prints).
Every run must print the same checksum: the work is the same whatever
allocates.

Usage: interp.py DRIVER OUTDIR [--mode smoke|quick|bench] [--extra NAME=LIB ...]
Writes OUTDIR/interp.csv; prints the table, with each allocator's time as a
fraction of Glimmer's in the same turn (the median of those fractions).
--extra runs another preload library beside the allocators (benches/Makefile's
experiment-pages: the class-pages prototype).  Skips itself, saying why, when
lua5.4 is missing.
"""
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time

import stage_args

INTERPRETER = "lua5.4"
PACKAGE = "lua5.4"
# script rounds per run, runs per allocator
PLAN = {"smoke": (1, 1), "quick": (10, 3), "bench": (30, 7)}
PRELOAD = {
    "glimmer-default": None,          # set from the driver's folder
    "glibc": "",
    "jemalloc": "libjemalloc.so.2",
    "mimalloc": "libmimalloc.so.2",
    "tcmalloc": "libtcmalloc_minimal.so.4",
}


def die(msg):
    print(f"interp: error: {msg}", file=sys.stderr)
    sys.exit(1)


def measured_run(argv, preload, cwd):
    """(wall seconds, peak RSS KiB, checksum line) of one run.  The script reports its own
    peak RSS (VmHWM): the child's ru_maxrss would include this Python's, carried over the
    fork and exec."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        die(f"{' '.join(argv)} with LD_PRELOAD={preload or '(none)'} exited with {done.returncode}: "
            f"{done.stdout.strip()}")
    checksum = [l for l in done.stdout.splitlines() if l.startswith("checksum ")]
    rss = [l.split()[1] for l in done.stdout.splitlines() if l.startswith("peak_rss_kib ")]
    if len(checksum) != 1 or len(rss) != 1:
        die(f"unexpected output of {' '.join(argv)} with LD_PRELOAD={preload or '(none)'}: "
            f"{done.stdout.strip()}")
    return wall, int(rss[0]), checksum[0]


def take_extras():
    """{NAME: LIB} from the --extra NAME=LIB options, which it removes from sys.argv."""
    extras = {}
    while "--extra" in sys.argv:
        i = sys.argv.index("--extra")
        spec = sys.argv[i + 1] if i + 1 < len(sys.argv) else ""
        name, _, lib = spec.partition("=")
        if not name or not os.path.exists(lib):
            die(f"--extra wants NAME=LIB with an existing LIB, not {spec!r}")
        extras[name] = os.path.abspath(lib)
        del sys.argv[i:i + 2]
    return extras


def main():
    extras = take_extras()
    driver, outdir, mode = stage_args.parse("interp", list(PLAN))
    lua = shutil.which(INTERPRETER)
    if lua is None:
        print(f"interp: skipped: {INTERPRETER} is not installed (apt-get install -y {PACKAGE})")
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    script_dir = os.path.normpath(os.path.join(here, "..", "lua"))
    preload = dict(PRELOAD)
    preload["glimmer-default"] = os.path.join(os.path.dirname(driver), "libglimmer-preload.so")
    if not os.path.exists(preload["glimmer-default"]):
        die(f"{preload['glimmer-default']} is missing: build it with `make -C benches driver`")

    listing = subprocess.run([driver, "--list"], stdout=subprocess.PIPE, text=True, check=True)
    allocs = [a for a in listing.stdout.split() if a in preload] + list(extras)
    preload.update(extras)
    rounds, runs = PLAN[mode]
    argv = [lua, "workload.lua", str(rounds)]
    version = subprocess.run([lua, "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True).stdout.strip()

    results = {a: [] for a in allocs}
    checksums = {}
    for r in range(runs):
        for a in allocs:
            wall, rss, text = measured_run(argv, preload[a], script_dir)
            results[a].append((wall, rss))
            checksums[a] = text
            print(f"  run {r + 1}/{runs}  {a:22s} {wall:7.3f} s  {rss:7d} KiB", flush=True)
    if len(set(checksums.values())) != 1:
        die("the allocators' runs printed different results: "
            + "; ".join(f"{a}: {t}" for a, t in checksums.items()))

    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "interp.csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["interpreter", "script", "rounds", "runs", "allocator", "preload",
                    "seconds_median", "seconds_min", "maxrss_kib_median", "output"])
        for a in allocs:
            walls = [x[0] for x in results[a]]
            rss = [x[1] for x in results[a]]
            w.writerow([version, "benches/lua/workload.lua", rounds, runs, a,
                        os.path.basename(preload[a]) if preload[a] else "",
                        f"{statistics.median(walls):.4f}", f"{min(walls):.4f}",
                        int(statistics.median(rss)), checksums[a]])

    print(f"\n{version}: benches/lua/workload.lua {rounds}, median of {runs} runs")
    print(f"  {'allocator':22s} {'seconds':>8s} {'peak RSS KiB':>13s} {'/ Glimmer, same turn':>21s}")
    base = results["glimmer-default"]
    for a in allocs:
        paired = statistics.median(x[0] / g[0] for x, g in zip(results[a], base))
        print(f"  {a:22s} {statistics.median(x[0] for x in results[a]):8.3f} "
              f"{int(statistics.median(x[1] for x in results[a])):13d} {paired:21.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
