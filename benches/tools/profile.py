#!/usr/bin/python3
"""Where the time goes on the rows Glimmer loses most: a sampled profile.

callgrind counts instructions; on the rows where Glimmer trails a peer the
most, instructions are not what decides (a block that is not in the cache
costs more than the allocator's whole fast path).  This tool samples time
instead: for each of the steady rows with the lowest Glimmer / best-peer
ratio in OUTDIR/native.csv, it runs

    perf record -e cpu-clock -F 4999 -- driver --row ROW ALLOC ROUNDS

for Glimmer and for that row's best peer (cpu-clock is a software event: it
needs no hardware counters, which these machines do not have), and splits the
samples of each run into

    driver    the driver's kernel (the loop, touching and checking blocks)
    allocator the allocator's code (its library; glibc: libc minus memcpy)
    copy      the bytes realloc moves (libc's memmove/memcpy for the peers;
              the `rep movsb` of gl__realloc_owned, and the instruction after
              it, for Glimmer)
    OS        the kernel (page faults, system calls)

Samples elsewhere (library loading, the trace's generation, the final check
of the blocks) are left out.  `driver --row` runs one warm-up round and then
ROUNDS rounds, so time per operation = samples / frequency / ((ROUNDS + 1) x
operations per round).  For Glimmer it also lists the instructions that
collected the most samples, with the one before each: a sampled instruction
is usually the one waiting for the instruction before it (a load that
missed the cache shows up on its first consumer).

Usage: profile.py DRIVER OUTDIR [--mode smoke|quick|bench] [--rows ROW,...]
Writes OUTDIR/profile.csv, OUTDIR/profile-functions.csv (the allocator's
costliest functions) and OUTDIR/profile-hot.csv; prints the tables.
Skips itself, saying why, when perf is missing or not allowed to sample.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

FREQ = 4999                       # samples per second (odd: no lockstep with timers)
SECONDS = {"smoke": 0.1, "quick": 1.0, "bench": 3.0}   # sampled time per allocator and row
WORST_ROWS = 3                    # how many of the lowest rows are profiled
HOT = 6                           # Glimmer's hottest instructions listed per row
FUNCTIONS = 6                     # the allocator's costliest functions listed per row
PEERS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]
COPY_SYMBOLS = re.compile(r"mem(move|cpy)")
APT_PERF = "apt-get install -y linux-perf"


def die(msg):
    print(f"profile: error: {msg}", file=sys.stderr)
    sys.exit(1)


def perf_usable(tmp):
    """None when `perf record` can sample this user's processes, else why not."""
    if shutil.which("perf") is None:
        return f"perf is not installed ({APT_PERF})"
    probe = subprocess.run(["perf", "record", "-e", "cpu-clock", "-q", "-o", os.path.join(tmp, "probe.data"),
                            "--", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        return f"perf cannot sample here ({why}; see /proc/sys/kernel/perf_event_paranoid)"
    return None


def ranked_rows(outdir):
    """The steady rows, lowest Glimmer / best-peer median ratio first:
    [(row, label, ratio, best peer, {allocator: median Mops/s})]."""
    path = os.path.join(outdir, "native.csv")
    if not os.path.exists(path):
        die(f"{path} is missing: run the native driver first")
    med = defaultdict(dict)
    label = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            if r["section"] == "steady":
                med[r["row"]][r["allocator"]] = float(r["mops_median"])
                label[r["row"]] = r["label"]
    out = []
    for row, m in med.items():
        peers = {a: v for a, v in m.items() if a in PEERS}
        if "glimmer" in m and peers:
            peer = max(peers, key=peers.get)
            out.append((row, label[row], m["glimmer"] / peers[peer], peer, m))
    out.sort(key=lambda t: t[2])
    return out


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        die(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr.strip()}")
    return r.stdout


def ops_per_round(driver, row):
    return int(run([driver, "--row", row, "glimmer", "1"]).split()[-1])


def disassembly(lib):
    """{(function, offset): instruction text} of a shared library, and the rep movsb sites."""
    text = run(["objdump", "-d", "--no-show-raw-insn", lib])
    ins, order, copies = {}, {}, set()
    fn, base, prev = None, 0, None
    for line in text.splitlines():
        m = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if m:
            fn, base, prev = m.group(2), int(m.group(1), 16), None
            continue
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
        if m and fn:
            off = int(m.group(1), 16) - base
            text_ = re.sub(r"\s+", " ", m.group(2).split("#")[0]).strip()
            ins[(fn, off)] = text_
            order[(fn, off)] = prev
            if prev is not None and ins[(fn, prev)].startswith("rep movsb"):
                copies.add((fn, off))                  # the sample lands on the next one too
            if text_.startswith("rep movsb"):
                copies.add((fn, off))
            prev = off
    return ins, order, copies


def calibrated_rounds(driver, row, alloc, planned, seconds):
    """At most `planned` rounds, fewer when a process of its own runs the row slower than
    the long-running one whose median planned them: glibc's batches of 100 blocks of
    1..64 KiB took 1.1 ms a round under `driver --row` against 5 us in the steady table,
    and a 3-second profile would have run for ten minutes.  Times growing runs until one
    lasts 0.2 s (process start included, so the estimate errs short)."""
    k = max(1, planned // 1000)
    while True:
        t0 = time.monotonic()
        run([driver, "--row", row, alloc, str(k)])
        elapsed = time.monotonic() - t0
        if elapsed >= 0.2 or k >= planned:
            break
        k = min(planned, k * 10)
    return max(1, min(planned, round(seconds * (k + 1) / elapsed) - 1))


def sample(driver, row, alloc, rounds, tmp):
    data = os.path.join(tmp, f"{row}-{alloc}.data")
    subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", str(FREQ), "-q", "-o", data, "--",
                    driver, "--row", row, alloc, str(rounds)], check=True, stdout=subprocess.DEVNULL)
    out = run(["perf", "script", "-i", data, "-F", "ip,sym,symoff,dso"])   # perf prints nothing without ip
    samples = []
    for line in out.splitlines():
        m = re.match(r"^\s*[0-9a-f]+ (\S+?)\+0x([0-9a-f]+) \((.*)\)\s*$", line)
        if m:
            samples.append((m.group(1), int(m.group(2), 16), m.group(3)))
        elif line.strip():
            samples.append(("?", 0, line.split("(")[-1].strip().strip(")")))
    return samples


def bucket(alloc, sym, dso, driver, glimmer_copies, off):
    base = os.path.basename(dso)
    if dso == "[kernel.kallsyms]":
        return "os"
    if os.path.realpath(dso) == os.path.realpath(driver):
        return "driver" if sym.startswith(("kernel_", "pair_loop")) else None
    if base.startswith("libglimmer"):
        return "copy" if (sym, off) in glimmer_copies else "allocator"
    if COPY_SYMBOLS.search(sym) and base.startswith("libc.so"):
        return "copy"
    if base.startswith("libc.so"):                 # glibc is an allocator; libglimmer needs no libc
        return None if alloc.startswith("glimmer") else "allocator"
    if base.startswith(("libjemalloc", "libmimalloc", "libtcmalloc")):
        return "allocator"
    return None


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        die("usage: profile.py DRIVER OUTDIR [--mode smoke|quick|bench] [--rows ROW,...]")
    driver, outdir = os.path.abspath(args[0]), args[1]
    mode, rows_arg = "bench", None
    i = 2
    while i < len(args):
        if args[i] == "--mode" and i + 1 < len(args):
            mode = args[i + 1]; i += 2
        elif args[i] == "--rows" and i + 1 < len(args):
            rows_arg = args[i + 1].split(","); i += 2
        else:
            die(f"unknown argument {args[i]}")
    if mode not in SECONDS:
        die(f"unknown mode {mode}")
    with tempfile.TemporaryDirectory(prefix="glimmer-profile-") as tmp:
        why = perf_usable(tmp)
        if why:
            for name in ("profile.csv", "profile-functions.csv", "profile-hot.csv"):   # none from before
                if os.path.exists(os.path.join(outdir, name)):
                    os.remove(os.path.join(outdir, name))
            print(f"profile skipped: {why}")
            return
        ranked = ranked_rows(outdir)
        rows = ranked[:WORST_ROWS]
        if rows_arg:
            unknown = set(rows_arg) - {r[0] for r in ranked}
            if unknown:
                die(f"no steady row {', '.join(sorted(unknown))} with Glimmer and a peer in {outdir}/native.csv")
            rows = [r for r in ranked if r[0] in rows_arg]
        lib = os.path.join(os.path.dirname(driver), "libglimmer.so")
        ins, prev_of, copies = disassembly(lib)
        table, hot_rows, func_rows = [], [], []
        for row, label, ratio_, peer, med in rows:
            per_round = ops_per_round(driver, row)
            for alloc in ("glimmer", peer):
                rounds = max(1, round(SECONDS[mode] * med[alloc] * 1e6 / per_round))
                rounds = calibrated_rounds(driver, row, alloc, rounds, SECONDS[mode])
                samples = sample(driver, row, alloc, rounds, tmp)
                ops = (rounds + 1) * per_round
                parts = Counter()
                hot = Counter()
                funcs = Counter()
                for sym, off, dso in samples:
                    b = bucket(alloc, sym, dso, driver, copies, off)
                    if b:
                        parts[b] += 1
                    if b == "allocator":
                        funcs[sym] += 1
                    if alloc == "glimmer" and b in ("allocator", "copy"):
                        hot[(sym, off)] += 1
                ns = lambda n: n / FREQ / ops * 1e9
                total = sum(parts.values())
                table.append({"row": row, "label": label, "ratio": f"{ratio_:.3f}", "allocator": alloc,
                              "best_peer": peer, "rounds": rounds, "ops": ops, "samples": total,
                              "ns_per_op": f"{ns(total):.2f}",
                              **{f"{k}_ns": f"{ns(parts[k]):.2f}" for k in ("driver", "allocator", "copy", "os")}})
                for sym, n in funcs.most_common(FUNCTIONS):
                    func_rows.append({"row": row, "allocator": alloc, "function": sym,
                                      "ns_per_op": f"{ns(n):.2f}"})
                mine = parts["allocator"] + parts["copy"]
                for (sym, off), n in hot.most_common(HOT):
                    p = prev_of.get((sym, off))
                    hot_rows.append({"row": row, "function": sym, "offset": f"{off:#x}",
                                     "instruction": ins.get((sym, off), "?"),
                                     "previous": ins.get((sym, p), "") if p is not None else "",
                                     "samples": n, "share_of_glimmer": f"{n / mine:.3f}" if mine else "0"})
    with open(os.path.join(outdir, "profile.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0].keys()) if table else ["row"])
        w.writeheader()
        w.writerows(table)
    with open(os.path.join(outdir, "profile-hot.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["row", "function", "offset", "instruction", "previous", "samples",
                                          "share_of_glimmer"])
        w.writeheader()
        w.writerows(hot_rows)
    with open(os.path.join(outdir, "profile-functions.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["row", "allocator", "function", "ns_per_op"])
        w.writeheader()
        w.writerows(func_rows)
    print(f"time per operation on the {len(rows)} rows where Glimmer trails most (perf cpu-clock, "
          f"{FREQ} Hz; ns/op)")
    print(f"{'row':<22}{'allocator':<11}{'ns/op':>8}{'driver':>8}{'alloc':>8}{'copy':>8}{'OS':>7}{'samples':>9}")
    for t in table:
        print(f"{t['row']:<22}{t['allocator']:<11}{t['ns_per_op']:>8}{t['driver_ns']:>8}{t['allocator_ns']:>8}"
              f"{t['copy_ns']:>8}{t['os_ns']:>7}{t['samples']:>9}")
    print("the allocator's costliest functions (ns/op, copy excluded)")
    for row in dict.fromkeys(f["row"] for f in func_rows):
        for alloc in dict.fromkeys(f["allocator"] for f in func_rows if f["row"] == row):
            print(f"  {row:<22}{alloc:<11}" + ", ".join(f"{f['function']} {f['ns_per_op']}" for f in func_rows
                                                        if f["row"] == row and f["allocator"] == alloc))
    print("Glimmer's hottest instructions (share of its allocator + copy samples)")
    for h in hot_rows:
        print(f"  {h['row']:<22}{float(h['share_of_glimmer']) * 100:5.1f} %  {h['function']}+{h['offset']}: "
              f"{h['instruction']}" + (f"   (after: {h['previous']})" if h["previous"] else ""))


if __name__ == "__main__":
    main()
