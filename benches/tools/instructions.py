#!/usr/bin/python3
"""Instructions per malloc(32)+free pair, counted with callgrind.

For every allocator the native driver offers (`driver --list`) and for the
no-op allocator, runs

    valgrind --tool=callgrind --dump-instr=yes driver --pairs ALLOC N [keep]

for N = N1 and N = N2, without and with one other block kept live, and reports

    (Ir(N2) - Ir(N1)) / (N2 - N1)

- the instructions of one pair *including the driver loop* (the call through
the function pointer, the touch and the check of the block).  Start-up,
library loading and the warm-up are the same in both runs and cancel.  The
no-op allocator (malloc returns a static block, free returns) measures the
loop itself (the same loop code serves both variants); subtracting it gives
the allocator's own instructions (its returns, 3 instructions of the no-op
pair, are subtracted with it).

Also writes, per allocator, the instructions per pair of each function
(self cost), and for Glimmer the count of every instruction of its fast
paths, disassembled with objdump: the profile that says what a pair costs.

The same method (`driver --row ROW ALLOC R` for R = R1 and R2 rounds) gives
the instructions per operation of a few batch rows, per allocator and per
function: where the instructions go when many blocks are live at once.

Usage: instructions.py DRIVER OUTDIR [--mode smoke|quick|bench]
Writes OUTDIR/instructions.csv, OUTDIR/instructions-functions.csv,
OUTDIR/instructions-profile.txt, OUTDIR/instructions-rows.csv,
OUTDIR/instructions-rows-functions.csv; prints the tables.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict

import stage_args

TUNABLE = "glibc.rtld.optional_static_tls=65536"
PAIRS = {"smoke": (10_000, 20_000), "quick": (100_000, 300_000), "bench": (200_000, 1_200_000)}
# batch rows profiled, and the rounds (batches) of the two runs
ROWS = ["small-1000-fifo", "small-1000-random", "mixed-1000-random"]
ROUNDS = {"smoke": (2, 4), "quick": (10, 30), "bench": (20, 120)}
# Glimmer's code whose every instruction is listed in the profile
PROFILED = {"glimmer": ["gl_heap_malloc", "gl_heap_free"]}


def die(msg):
    print(f"instructions: error: {msg}", file=sys.stderr)
    sys.exit(1)


# ---- the callgrind output format ------------------------------------------------

def parse_callgrind(path):
    """Returns (total Ir, {(object, function): self Ir}, {(object, function): {address: Ir}}).

    Handles name compression ("fn=(12) name", later "fn=(12)"), position
    compression ("+3", "-2", "*") and skips the inclusive cost line that
    follows each "calls=" line."""
    names = {"ob": {}, "fn": {}, "fl": {}}
    table_of = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn",
                "fl": "fl", "fi": "fl", "fe": "fl", "cfl": "fl", "cfi": "fl"}
    positions = ["line"]
    last = []
    ob = fn = None
    total = None
    self_cost = defaultdict(int)
    per_instr = defaultdict(lambda: defaultdict(int))
    skip = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                parts = line.split()
                for i in range(len(positions)):
                    p = parts[i]
                    if p == "*":
                        v = last[i]
                    elif p[0] in "+-":
                        v = last[i] + int(p, 0)
                    else:
                        v = int(p, 0)
                    last[i] = v
                if skip:                          # inclusive cost of a call
                    skip = False
                    continue
                ir = int(parts[len(positions)]) if len(parts) > len(positions) else 0
                self_cost[(ob, fn)] += ir
                per_instr[(ob, fn)][last[0]] += ir
            elif line.startswith("calls="):
                skip = True
            elif line.startswith("positions:"):
                positions = line.split(":", 1)[1].split()
                last = [0] * len(positions)
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split(":", 1)[1].split()[0])
            else:
                m = re.match(r"^(c?ob|c?fn|fl|fi|fe|cfl|cfi)=(?:\((\d+)\))?\s*(.*)$", line.rstrip("\n"))
                if not m:
                    continue
                key, ident, name = m.groups()
                table = names[table_of[key]]
                if ident is not None:
                    if name:
                        table[ident] = name
                    name = table.get(ident, f"({ident})")
                if key == "ob":
                    ob = name
                elif key == "fn":
                    fn = name
    if total is None:
        die(f"{path}: no summary line (did callgrind finish?)")
    return total, self_cost, per_instr


def run_callgrind(driver, name, args, outdir):
    """callgrind on `driver args`; returns (parsed counts, the driver's stdout)"""
    out = os.path.join(outdir, f"{name}.out")
    env = dict(os.environ)
    cur = env.get("GLIBC_TUNABLES", "")
    if "optional_static_tls" not in cur:
        env["GLIBC_TUNABLES"] = (cur + ":" if cur else "") + TUNABLE
    cmd = ["valgrind", "--tool=callgrind", "--dump-instr=yes", f"--callgrind-out-file={out}", driver] + args
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        die(f"{' '.join(cmd)} failed (exit status {p.returncode})")
    return parse_callgrind(out), p.stdout


def pairs_run(driver, alloc, pairs, keep, outdir):
    name = f"{alloc}{'-keep' if keep else ''}-{pairs}"
    return run_callgrind(driver, name, ["--pairs", alloc, str(pairs)] + (["keep"] if keep else []), outdir)[0]


def per_function(c1, c2, dn, minimum):
    """{(object, function): self instructions per unit} from two parsed runs"""
    (_, s1, _), (_, s2, _) = c1, c2
    out = {}
    for key in set(s1) | set(s2):
        d = (s2.get(key, 0) - s1.get(key, 0)) / dn
        if d >= minimum:
            out[key] = d
    return out


# ---- disassembly of the profiled functions ---------------------------------------

def disassemble(obj, function):
    """[(address, text)] of one function, from objdump."""
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--disassemble={function}", obj],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    except FileNotFoundError:
        return []
    rows = []
    for line in out.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\s+(.*)$", line)
        if m:
            rows.append((int(m.group(1), 16), re.sub(r"\s+", " ", m.group(2)).strip()))
    return rows


def short(obj):
    return os.path.basename(obj or "?")


def main():
    driver, outdir, mode = stage_args.parse("instructions", list(PAIRS))
    if shutil.which("valgrind") is None:
        print("instructions: skipped: valgrind is not installed (apt-get install -y valgrind)")
        return 0
    n1, n2 = PAIRS[mode]
    r1, r2 = ROUNDS[mode]
    cgdir = os.path.join(outdir, "callgrind")
    os.makedirs(cgdir, exist_ok=True)

    listing = subprocess.run([driver, "--list"], stdout=subprocess.PIPE, text=True, check=True)
    allocs = ["noop"] + listing.stdout.split()

    # (workload, allocator) -> (run N1, run N2); the no-op allocator only runs the plain
    # pair loop (its one static block cannot also be the kept block)
    runs = [("pair", "noop")] + [(wl, a) for a in allocs[1:] for wl in ("pair", "pair-keep")]
    batch_rows = ROWS[:1] if mode == "smoke" else ROWS    # smoke: keep CI short
    row_runs = [(row, a) for row in batch_rows for a in allocs[1:]]
    total = len(runs) + len(row_runs)
    counts = {}
    for k, (wl, a) in enumerate(runs, 1):
        print(f"  [{k:2}/{total}] callgrind: {wl:<17} {a:<16} {n1:,} and {n2:,} pairs",
              file=sys.stderr, flush=True)
        keep = wl == "pair-keep"
        counts[(wl, a)] = (pairs_run(driver, a, n1, keep, cgdir), pairs_run(driver, a, n2, keep, cgdir))

    # batch rows: instructions per operation, per allocator and per function
    rrows, rfuncs = [], []
    for k, (row, a) in enumerate(row_runs, len(runs) + 1):
        print(f"  [{k:2}/{total}] callgrind: {row:<17} {a:<16} {r1} and {r2} batches",
              file=sys.stderr, flush=True)
        c1, out1 = run_callgrind(driver, f"{row}-{a}-{r1}", ["--row", row, a, str(r1)], cgdir)
        c2, _ = run_callgrind(driver, f"{row}-{a}-{r2}", ["--row", row, a, str(r2)], cgdir)
        dn_ops = (r2 - r1) * int(out1.split()[0])
        rrows.append({"row": row, "allocator": a, "ir_per_op": round((c2[0] - c1[0]) / dn_ops, 2),
                      "rounds1": r1, "rounds2": r2})
        for key, v in sorted(per_function(c1, c2, dn_ops, 0.05).items(), key=lambda kv: -kv[1]):
            rfuncs.append({"row": row, "allocator": a, "object": short(key[0]), "function": key[1],
                           "ir_per_op": round(v, 2)})
    for name, rows_out, fields in (("instructions-rows.csv", rrows, ["row", "allocator", "ir_per_op", "rounds1", "rounds2"]),
                                   ("instructions-rows-functions.csv", rfuncs,
                                    ["row", "allocator", "object", "function", "ir_per_op"])):
        with open(os.path.join(outdir, name), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            w.writerows(rows_out)

    dn = n2 - n1
    loop = (counts[("pair", "noop")][1][0] - counts[("pair", "noop")][0][0]) / dn
    rows = []
    for wl, a in runs[1:]:
        (t1, _, _), (t2, _, _) = counts[(wl, a)]
        per_pair = (t2 - t1) / dn
        rows.append({"workload": wl, "allocator": a, "ir_per_pair": round(per_pair, 2),
                     "loop_ir": round(loop, 2), "allocator_ir": round(per_pair - loop, 2),
                     "n1": n1, "n2": n2})
    with open(os.path.join(outdir, "instructions.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    # per function: self instructions per pair (functions above 0.05 per pair)
    frows = []
    for wl, a in runs:
        for key, d in per_function(counts[(wl, a)][0], counts[(wl, a)][1], dn, 0.05).items():
            frows.append({"workload": wl, "allocator": a, "object": short(key[0]),
                          "function": key[1], "ir_per_pair": round(d, 2)})
    frows.sort(key=lambda r: (runs.index((r["workload"], r["allocator"])), -r["ir_per_pair"]))
    with open(os.path.join(outdir, "instructions-functions.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["workload", "allocator", "object", "function", "ir_per_pair"])
        w.writeheader()
        w.writerows(frows)

    # Glimmer's fast paths, instruction by instruction
    lines = []
    for a, functions in PROFILED.items():
        if ("pair", a) not in counts:
            continue
        (_, _, p1), (_, _, p2) = counts[("pair", a)]
        for fname in functions:
            keys = [k for k in p2 if k[1] == fname]
            if not keys:
                continue
            obj = keys[0][0]
            c1, c2 = p1.get(keys[0], {}), p2[keys[0]]
            per = {addr: (c2.get(addr, 0) - c1.get(addr, 0)) / dn for addr in set(c1) | set(c2)}
            total = sum(per.values())
            lines.append(f"{fname} ({short(obj)}): {total:.2f} instructions per pair")
            for addr, text in disassemble(obj, fname):
                cnt = per.get(addr, 0.0)
                mark = f"{cnt:6.2f}" if cnt >= 0.005 else "     ."
                lines.append(f"  {mark}  {addr:8x}:  {text}")
            lines.append("")
    with open(os.path.join(outdir, "instructions-profile.txt"), "w") as f:
        f.write("\n".join(lines))

    print(f"\ninstructions per malloc(32)+free pair (callgrind; (Ir(N2)-Ir(N1))/(N2-N1), "
          f"N1={n1:,}, N2={n2:,})")
    print(f"{'':<16} {'pair':>26} {'pair, one block kept live':>28}")
    print(f"{'allocator':<16} {'with loop':>12} {'allocator only':>14} {'with loop':>14} {'allocator only':>14}")
    by = {(r["workload"], r["allocator"]): r for r in rows}
    for a in allocs[1:]:
        p, k = by[("pair", a)], by[("pair-keep", a)]
        print(f"{a:<16} {p['ir_per_pair']:>12.1f} {p['allocator_ir']:>14.1f} "
              f"{k['ir_per_pair']:>14.1f} {k['allocator_ir']:>14.1f}")
    print(f"(the driver loop: {loop:.1f} instructions, measured with a no-op malloc/free: lea+ret, ret)")
    print("\ninstructions per operation (malloc or free), driver included, on batch rows")
    print(f"{'allocator':<16} " + " ".join(f"{row:>18}" for row in batch_rows))
    by_row = {(r["row"], r["allocator"]): r["ir_per_op"] for r in rrows}
    for a in allocs[1:]:
        print(f"{a:<16} " + " ".join(f"{by_row[(row, a)]:>18.1f}" for row in batch_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
