#!/usr/bin/python3
"""Writes Glimmer's performance report from one benchmark run.

Usage: report.py RESULTS_DIR [--md FILE] [--png DIR] [--require-plots] [--print]

RESULTS_DIR holds what the stages of benches/Makefile wrote:
  native.csv, footprint.csv, native-meta.csv   the native driver
  instructions*.csv, instructions-profile.txt  tools/instructions.py (callgrind)
  interp.csv                                   tools/interp.py (lua5.4 on each allocator)
  jmh.json                                     the JMH runner
  jmh-targets.json                             the Java targets' pairs in interleaved rounds
  git.txt                                      the source revision measured

Every number in the report comes from these files; the text around the
numbers - including which targets hold - is derived from them.  Plots are
drawn with matplotlib (Debian: python3-matplotlib, for /usr/bin/python3).
Without matplotlib the plots are skipped with a message, unless
--require-plots (make bench) makes that an error.
"""
import csv
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
from datetime import datetime

PEERS = ["glibc", "jemalloc", "mimalloc", "tcmalloc"]
NATIVE_ORDER = ["glimmer", "glimmer-default"] + PEERS
LABEL = {"glimmer": "Glimmer", "glimmer-default": "Glimmer default heap", "glibc": "glibc",
         "jemalloc": "jemalloc", "mimalloc": "mimalloc", "tcmalloc": "tcmalloc",
         "glimmer-segment": "GlimmerHeap segments", "unsafe": "Unsafe", "arena": "Arena.ofConfined",
         "floor": "floor"}
SHORT = {"glimmer": "Glimmer", "glimmer-default": "Glimmer default", "glimmer-segment": "Glimmer segment"}
APT_PEERS = "apt-get install -y libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4"
COLORS = {"glimmer": "#d62728", "glimmer-default": "#ff9896", "glibc": "#7f7f7f", "jemalloc": "#1f77b4",
          "mimalloc": "#2ca02c", "tcmalloc": "#9467bd", "glimmer-segment": "#e377c2", "unsafe": "#8c564b",
          "arena": "#bcbd22", "floor": "#17becf"}

# the targets
PAIR_MARGIN = 1.25
IR_TARGET, IR_AIM = 40, 30
SCALING = 0.8
FOOTPRINT = 1.15


def _segment_bytes():
    """SEG_SIZE, from the one place that defines it (src/main/asm/gl_layout.h)."""
    layout = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "main", "asm", "gl_layout.h")
    m = re.search(r"^#define SEG_SHIFT\s+(\d+)", open(layout).read(), re.M)
    return 1 << int(m.group(1))


SEGMENT_BYTES = _segment_bytes()
JAVA_FLOOR, JAVA_GLIBC, JAVA_UNSAFE = 1.5, 1.5, 3.0


def die(msg):
    print(f"report: error: {msg}", file=sys.stderr)
    sys.exit(1)


def read_csv(path):
    if not os.path.exists(path):
        return None
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def sh(*cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip()
    except (FileNotFoundError, PermissionError):
        return ""


def fmt(x, digits=1):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:,.{digits}f}"


def fmt_mops(x):
    """Mops/s with about three significant digits: the cold 1..64 KiB rows run below 1."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return fmt(x, 1 if x >= 10 else 2 if x >= 1 else 3)


def ratio(x):
    return "-" if x is None else f"{x:.2f}"


# ---- inputs ---------------------------------------------------------------------------------

class Run:
    def __init__(self, res):
        self.res = res
        native = read_csv(os.path.join(res, "native.csv"))
        if native is None:
            die(f"{res}/native.csv is missing: run the native driver first")
        self.meta = {r["key"]: r["value"] for r in read_csv(os.path.join(res, "native-meta.csv")) or []}
        self.mode = self.meta.get("mode", "?")
        self.rows = []            # (section, row) in driver order
        self.label = {}
        self.family = {}
        self.n = {}
        self.order = {}
        self.mops = {}            # (section, row, allocator) -> (median, min, max)
        self.runs = {}            # (section, row, allocator) -> Mops/s of each run, in round order
        for r in native:
            key = (r["section"], r["row"])
            if key not in self.rows:
                self.rows.append(key)
            self.label[r["row"]] = r["label"]
            self.family[r["row"]] = r["family"]
            self.n[r["row"]] = int(r["n"])
            self.order[r["row"]] = r["order"]
            self.mops[(r["section"], r["row"], r["allocator"])] = (
                float(r["mops_median"]), float(r["mops_min"]), float(r["mops_max"]))
            if r.get("mops_runs"):
                self.runs[(r["section"], r["row"], r["allocator"])] = [
                    float(x) for x in r["mops_runs"].split(";")]
        self.allocs = [a for a in NATIVE_ORDER if any(k[2] == a for k in self.mops)]
        self.peers = [a for a in PEERS if a in self.allocs]
        self.skipped = [a for a in NATIVE_ORDER if self.meta.get(f"allocator.{a}") == "skipped"]
        self.footprint = read_csv(os.path.join(res, "footprint.csv")) or []
        self.instr = read_csv(os.path.join(res, "instructions.csv"))
        self.functions = read_csv(os.path.join(res, "instructions-functions.csv")) or []
        self.row_instr = read_csv(os.path.join(res, "instructions-rows.csv")) or []
        self.row_functions = read_csv(os.path.join(res, "instructions-rows-functions.csv")) or []
        self.time_profile = read_csv(os.path.join(res, "profile.csv")) or []
        self.time_hot = read_csv(os.path.join(res, "profile-hot.csv")) or []
        self.time_functions = read_csv(os.path.join(res, "profile-functions.csv")) or []
        self.interp = read_csv(os.path.join(res, "interp.csv")) or []
        prof = os.path.join(res, "instructions-profile.txt")
        self.profile = open(prof).read() if os.path.exists(prof) else ""
        jmh = os.path.join(res, "jmh.json")
        self.jmh = json.load(open(jmh)) if os.path.exists(jmh) else None
        tj = os.path.join(res, "jmh-targets.json")
        self.jmh_targets = json.load(open(tj)) if os.path.exists(tj) else None
        git = os.path.join(res, "git.txt")
        self.git = open(git).read().strip() if os.path.exists(git) else ""

    def rows_of(self, section):
        return [row for sec, row in self.rows if sec == section]

    def get(self, section, row, alloc):
        v = self.mops.get((section, row, alloc))
        return v[0] if v else None

    def best_peer(self, section, row):
        vals = [(self.get(section, row, a), a) for a in self.peers if self.get(section, row, a) is not None]
        return max(vals) if vals else (None, None)

    def best(self, section, row):
        vals = [(self.get(section, row, a), a) for a in self.allocs if self.get(section, row, a) is not None]
        return max(vals) if vals else (None, None)

    def glimmer_vs_peer(self, section, row):
        g = self.get(section, row, "glimmer")
        b, _ = self.best_peer(section, row)
        return g / b if g and b else None

    def rounds_ahead(self, section, row):
        """(rounds in which Glimmer ran faster than the row's best peer, rounds), or None.  The
        allocators take turns round by round, so a round compares runs made close together."""
        _, peer = self.best_peer(section, row)
        g, b = self.runs.get((section, row, "glimmer")), self.runs.get((section, row, peer))
        if not g or not b or len(g) != len(b):
            return None
        return sum(x > y for x, y in zip(g, b)), len(g)

    # JMH: (workload, allocator) -> (ns per pair, error)
    def jmh_scores(self):
        out = {}
        for r in self.jmh or []:
            bench = r["benchmark"].rsplit(".", 1)[1]
            params = r.get("params", {})
            alloc = params.get("allocator") or params.get("api")
            pm = r["primaryMetric"]
            err = pm.get("scoreError")
            err = float(err) if isinstance(err, (int, float)) or (isinstance(err, str) and err != "NaN") else None
            out[(bench, alloc)] = (float(pm["score"]), err)
        return out


# ---- machine and versions ---------------------------------------------------------------------

def machine(run):
    info = []
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info.append(("CPU", f"{cpu}, {os.cpu_count()} logical CPUs"))
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        info.append(("memory", f"{kb / 1024 / 1024:.1f} GiB"))
    except (OSError, AttributeError):
        pass
    osrel = ""
    try:
        osrel = open("/proc/sys/kernel/osrelease").read().strip()
    except OSError:
        pass
    wsl = "microsoft" in osrel.lower()
    distro = ""
    try:
        distro = re.search(r'PRETTY_NAME="([^"]*)"', open("/etc/os-release").read()).group(1)
    except (OSError, AttributeError):
        pass
    info.append(("system", f"{distro}, Linux {platform.release()} "
                           f"({'WSL: ' + osrel if wsl else 'not WSL'})"))
    gcc = sh("gcc", "-dumpfullversion") if shutil.which("gcc") else ""
    info.append(("C compiler", f"gcc {gcc or '?'} (driver: -O2)"))
    glibc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "?"
    info.append(("glibc", f"{(glibc or '?').replace('glibc ', '')} (libc6 {dpkg('libc6')})"))
    peers = []
    for name, pkg in (("jemalloc", "libjemalloc2"), ("mimalloc", "libmimalloc2.0"),
                      ("tcmalloc", "libtcmalloc-minimal4")):
        v = dpkg(pkg)
        state = "measured" if name in run.allocs else "not measured"
        peers.append(f"{pkg} {v} ({state})")
    info.append(("peers", ", ".join(peers)))
    if run.jmh:
        r = run.jmh[0]
        info.append(("JDK", f"{r.get('vmName', '?')} {r.get('vmVersion', '?')} (JDK {r.get('jdkVersion', '?')}),"
                            f" JMH {r.get('jmhVersion', '?')}"))
    vg = sh("valgrind", "--version") if shutil.which("valgrind") else ""
    info.append(("valgrind", vg.replace("valgrind-", "") if vg else "not installed"))
    if run.git:
        info.append(("Glimmer source", run.git))
    info.append(("run", f"`make {run.mode}`, started {run.meta.get('started', '?')}; "
                        f"native: median of {run.meta.get('reps', '?')} runs per row"
                        f" (cold: {run.meta.get('cold_reps', '?')} fresh processes),"
                        f" {int(run.meta.get('budget_ops', 0)):,} operations per run"))
    return info, wsl


def dpkg(pkg):
    v = sh("dpkg-query", "-W", "-f=${Version}", pkg) if shutil.which("dpkg-query") else ""
    return v if v and "no packages" not in v and "not installed" not in v else "not installed"


# ---- targets ---------------------------------------------------------------------------------

def targets(run):
    """[(target, measured, holds: True/False/None)]"""
    out = []
    # every row: steady state and cold
    counts, lost, majority = [], [], []
    for section in ("steady", "cold"):
        won = total = most = paired = 0
        for row in run.rows_of(section):
            r = run.glimmer_vs_peer(section, row)
            if r is None:
                continue
            total += 1
            if r >= 1.0:
                won += 1
            else:
                lost.append((r, section, row))
            ahead = run.rounds_ahead(section, row)
            if ahead:
                paired += 1
                most += 2 * ahead[0] > ahead[1]
        if total:
            counts.append(f"{won} of {total} {section} rows")
        if paired:
            majority.append(f"{most} of {paired} {section}")
    if counts and run.peers:
        lost.sort()
        worst = ", ".join(f"{run.label[row]}{' (cold)' if sec == 'cold' else ''} {r:.2f}x"
                          for r, sec, row in lost[:3])
        out.append(("Native owned heap >= the best peer on every workload row",
                    ", ".join(counts) + " at the median"
                    + (f" (ahead in most rounds: {', '.join(majority)})" if majority else "")
                    + (f"; lowest: {worst}" if lost else ""), not lost))
    # pairs
    for row, what in (("pair", "malloc(32)+free pairs"), ("pair-keep", "pairs, one block kept live")):
        r = run.glimmer_vs_peer("steady", row)
        if r is not None:
            g = run.get("steady", row, "glimmer")
            b, peer = run.best_peer("steady", row)
            out.append((f"{what} >= {PAIR_MARGIN}x the best peer",
                        f"{rx(r, PAIR_MARGIN)}x ({fmt(g)} vs {peer} {fmt(b)} Mops/s)", r >= PAIR_MARGIN))
    # instructions
    if run.instr:
        for r in run.instr:
            if r["allocator"] == "glimmer":
                ir = float(r["ir_per_pair"])
                what = "pair" if r["workload"] == "pair" else "pair, one block kept live"
                out.append((f"instructions per malloc(32)+free {what} <= {IR_TARGET}, driver loop included"
                            f" (aim {IR_AIM})",
                            f"{ir:.1f} ({float(r['allocator_ir']):.1f} without the driver loop's "
                            f"{float(r['loop_ir']):.1f})", ir <= IR_TARGET))
    else:
        out.append((f"instructions per malloc(32)+free pair <= {IR_TARGET}", "not measured (valgrind missing)",
                    None))
    # scaling
    parts, ok = [], True
    for fam in ("small", "mixed"):
        for order in ("fifo", "random"):
            lo, hi = f"{fam}-100-{order}", f"{fam}-100000-{order}"
            a, b = run.get("steady", lo, "glimmer"), run.get("steady", hi, "glimmer")
            if a and b:
                parts.append(f"{fam} {order} {rx(b / a, SCALING)}")
                ok &= b / a >= SCALING
    if parts:
        out.append((f"flat scaling: Mops/s at N=100,000 >= {SCALING}x Mops/s at N=100 (Glimmer)",
                    "; ".join(parts), ok))
    # footprint
    for f in run.footprint:
        if f["allocator"] == "glimmer":
            live = int(f["peak_live_bytes"])
            mapped, rss = int(f["glimmer_mapped_peak_bytes"]), int(f["rss_peak_bytes"])
            out.append((f"churn footprint / peak live <= {FOOTPRINT} (Glimmer's own peak footprint"
                        " from gl_heap_stats)",
                        f"{mapped / live:.3f} mapped ({rss / live:.3f} by RSS)", mapped / live <= FOOTPRINT))
    # Java
    jt = java_rounds(run)
    js = run.jmh_scores() if run.jmh else {}
    g = js.get(("pair", "glimmer"))
    if jt:
        ns, ratio, n = jt["ns"], jt["ratio"], jt["rounds"]
        for key, title, limit, holds in (
                ("floor", f"Java: GlimmerHeap malloc+free <= {JAVA_FLOOR}x two bare critical downcalls",
                 JAVA_FLOOR, lambda x: x <= JAVA_FLOOR),
                ("glibc", f"Java: GlimmerHeap >= {JAVA_GLIBC}x faster than glibc through the same binding",
                 JAVA_GLIBC, lambda x: x >= JAVA_GLIBC),
                ("unsafe", f"Java: GlimmerHeap >= {JAVA_UNSAFE}x faster than Unsafe",
                 JAVA_UNSAFE, lambda x: x >= JAVA_UNSAFE)):
            if key in ratio:
                lo, med, hi = ratio[key]
                out.append((title, f"{rx(med, limit)}x (median of {n} interleaved round{'s' if n != 1 else ''}, {lo:.2f}-{hi:.2f}; "
                                   f"medians {ns['glimmer']:.2f} vs {ns[key]:.2f} ns)", holds(med)))
    elif g:
        fl, gc, un = js.get(("pair", "floor")), js.get(("pair", "glibc")), js.get(("pair", "unsafe"))
        if fl:
            out.append((f"Java: GlimmerHeap malloc+free <= {JAVA_FLOOR}x two bare critical downcalls",
                        f"{rx(g[0] / fl[0], JAVA_FLOOR)}x ({g[0]:.2f} vs {fl[0]:.2f} ns)", g[0] / fl[0] <= JAVA_FLOOR))
        if gc:
            out.append((f"Java: GlimmerHeap >= {JAVA_GLIBC}x faster than glibc through the same binding",
                        f"{rx(gc[0] / g[0], JAVA_GLIBC)}x ({g[0]:.2f} vs {gc[0]:.2f} ns)", gc[0] / g[0] >= JAVA_GLIBC))
        if un:
            out.append((f"Java: GlimmerHeap >= {JAVA_UNSAFE}x faster than Unsafe",
                        f"{rx(un[0] / g[0], JAVA_UNSAFE)}x ({g[0]:.2f} vs {un[0]:.2f} ns)", un[0] / g[0] >= JAVA_UNSAFE))
    elif run.jmh is None:
        out.append(("Java targets", "not measured (JMH did not run)", None))
    return out


def rx(x, threshold):
    """a ratio for the targets: 2 decimals, 3 when 2 would round onto the threshold"""
    return f"{x:.3f}" if round(x, 2) == threshold and x != threshold else f"{x:.2f}"


def holds(h):
    return {True: "**holds**", False: "**missed**", None: "not measured"}[h]


# ---- tables ----------------------------------------------------------------------------------

def native_table(run, section):
    allocs = run.allocs
    head = ["workload"] + [SHORT.get(a, LABEL[a]) for a in allocs] + ["best peer", "Glimmer / best peer",
                                                                    "rounds Glimmer ran faster"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in run.rows_of(section):
        best_v, _ = run.best(section, row)
        cells = [run.label[row]]
        for a in allocs:
            v = run.get(section, row, a)
            s = fmt_mops(v)
            cells.append(f"**{s}**" if v is not None and v == best_v else s)
        b, peer = run.best_peer(section, row)
        r = run.glimmer_vs_peer(section, row)
        ahead = run.rounds_ahead(section, row)
        cells += [peer or "-", ratio(r), f"{ahead[0]} of {ahead[1]}" if ahead else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def text_table(run, section):
    names = [{"glimmer-default": "gl-default"}.get(a, a) for a in run.allocs]
    widths = [max(len(n), 8) for n in names]
    w = max(len(run.label[r]) for r in run.rows_of(section))
    out = [f"{'workload':<{w}}  " + "  ".join(f"{n:>{k}}" for n, k in zip(names, widths))
           + f"  {'best peer':<9} {'gl/peer':>7} {'ahead':>6}"]
    for row in run.rows_of(section):
        best_v, _ = run.best(section, row)
        cells = []
        for a, k in zip(run.allocs, widths):
            v = run.get(section, row, a)
            cells.append(f"{fmt_mops(v) + ('*' if v == best_v else ' '):>{k + 1}}")
        b, peer = run.best_peer(section, row)
        ahead = run.rounds_ahead(section, row)
        out.append(f"{run.label[row]:<{w}} " + " ".join(cells)
                   + f"  {peer or '-':<9} {ratio(run.glimmer_vs_peer(section, row)):>7}"
                   + f" {f'{ahead[0]}/{ahead[1]}' if ahead else '-':>6}")
    return "\n".join(out)


def spread(run, section):
    """median over rows of (max - min) / median, per allocator"""
    out = {}
    for a in run.allocs:
        vals = []
        for row in run.rows_of(section):
            v = run.mops.get((section, row, a))
            if v and v[0] > 0:
                vals.append((v[2] - v[1]) / v[0])
        if vals:
            vals.sort()
            out[a] = vals[len(vals) // 2]
    return out


def footprint_table(run):
    lines = ["| allocator | peak live (bytes) | peak RSS (bytes) | RSS / live | Glimmer mapped (bytes) | mapped / live |",
             "|---|---|---|---|---|---|"]
    for f in run.footprint:
        live, rss, mapped = int(f["peak_live_bytes"]), int(f["rss_peak_bytes"]), int(f["glimmer_mapped_peak_bytes"])
        lines.append(f"| {LABEL[f['allocator']]} | {live:,} | {rss:,} | {rss / live:.3f} | "
                     f"{f'{mapped:,}' if mapped else '-'} | {f'{mapped / live:.3f}' if mapped else '-'} |")
    return "\n".join(lines)


def interp_table(run):
    """The real interpreter's runs: seconds (median), against the fastest peer, and peak RSS."""
    peers = [r for r in run.interp if r["allocator"] in PEERS]
    best = min(peers, key=lambda r: float(r["seconds_median"])) if peers else None
    lines = ["| allocator | LD_PRELOAD | seconds (median) | fastest run | speed / fastest peer | peak RSS (KiB) |",
             "|---|---|---|---|---|---|"]
    for r in run.interp:
        sec = float(r["seconds_median"])
        rel = f"{float(best['seconds_median']) / sec:.2f}" if best else "-"
        if r is best:
            rel = f"**{rel}**"
        lines.append(f"| {LABEL[r['allocator']]} | {('`' + r['preload'] + '`') if r['preload'] else '-'} | "
                     f"{sec:.3f} | {float(r['seconds_min']):.3f} | {rel} | {int(r['maxrss_kib_median']):,} |")
    return "\n".join(lines)


def footprint_growth(run):
    """A sentence on Glimmer's heap just before it mapped its last segment, from footprint.csv."""
    g = next((f for f in run.footprint if f["allocator"] == "glimmer"), None)
    if g is None or int(g.get("glimmer_segments_before_growth") or 0) == 0:
        return ""
    segs = int(g["glimmer_segments_before_growth"])
    mb = lambda k: f"{int(g[k]) / 1e6:.2f} MB"
    return (f"Where Glimmer's mapped bytes go: at most 1,000 operations before it mapped segment {segs + 1} "
            f"(segments are {SEGMENT_BYTES >> 20} MiB, so mapped bytes move in steps of "
            f"{SEGMENT_BYTES / int(g['peak_live_bytes']):.2f}x peak live), its {segs} segments "
            f"({segs * SEGMENT_BYTES / 1e6:.2f} MB) held {mb('glimmer_live_before_growth')} in live blocks, "
            f"{mb('glimmer_free_before_growth')} in {int(g['glimmer_free_blocks_before_growth']):,} free blocks "
            f"(the top included; the largest {int(g['glimmer_largest_free_before_growth']):,} bytes) and "
            f"{mb('glimmer_cached_before_growth')} in the recently-freed cache, which is flushed into the free "
            f"blocks before a segment is mapped. A segment is mapped only when, after that flush, the search "
            f"(the request's own size bin up to the depth limit, then every larger bin, then the top) finds no "
            f"free block for the request."
            + (f" The peak live bytes alone would have fitted in {segs} segments." if
               int(g["peak_live_bytes"]) < segs * SEGMENT_BYTES else ""))


def instr_table(run):
    by = {(r["workload"], r["allocator"]): r for r in run.instr}
    allocs = [a for a in NATIVE_ORDER if ("pair", a) in by]
    lines = ["| allocator | pair, driver loop included | pair, allocator only | pair with a block kept live, loop included | kept live, allocator only |",
             "|---|---|---|---|---|"]
    best = min(float(by[("pair", a)]["ir_per_pair"]) for a in allocs)
    bestk = min(float(by[("pair-keep", a)]["ir_per_pair"]) for a in allocs if ("pair-keep", a) in by)
    for a in allocs:
        p, k = by[("pair", a)], by.get(("pair-keep", a))
        pv = float(p["ir_per_pair"])
        cells = [LABEL[a], f"**{pv:.1f}**" if pv == best else f"{pv:.1f}", f"{float(p['allocator_ir']):.1f}"]
        if k:
            kv = float(k["ir_per_pair"])
            cells += [f"**{kv:.1f}**" if kv == bestk else f"{kv:.1f}", f"{float(k['allocator_ir']):.1f}"]
        else:
            cells += ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def functions_table(run, workload="pair"):
    rows = [r for r in run.functions if r["workload"] == workload and r["allocator"] != "noop"
            and float(r["ir_per_pair"]) >= 0.5]
    lines = ["| allocator | function (object) | instructions per pair |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {LABEL.get(r['allocator'], r['allocator'])} | `{r['function']}` ({r['object']}) | "
                     f"{float(r['ir_per_pair']):.2f} |")
    return "\n".join(lines)


JMH_WORKLOADS = [("pair", "malloc(32)+free pairs"), ("pairKeep", "pairs, one block kept live"),
                 ("batch", "batch of 1,000, 8..64 B, freed in allocation order")]
JMH_ORDER = ["glimmer", "glimmer-default", "glimmer-segment", "glibc", "jemalloc", "mimalloc", "tcmalloc",
             "unsafe", "arena", "floor"]


def jmh_table(run):
    js = run.jmh_scores()
    allocs = [a for a in JMH_ORDER if any((w, a) in js for w, _ in JMH_WORKLOADS)]
    head = ["workload (ns per pair)"] + [LABEL[a] for a in allocs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w, label in JMH_WORKLOADS:
        best = min((js[(w, a)][0] for a in allocs if (w, a) in js and a != "floor"), default=None)
        cells = [label]
        for a in allocs:
            v = js.get((w, a))
            if v is None:
                cells.append("-")
                continue
            s = f"{v[0]:.2f}" + (f" ± {v[1]:.2f}" if v[1] is not None and not math.isnan(v[1]) else "")
            cells.append(f"**{s}**" if v[0] == best else s)
        lines.append("| " + " | ".join(cells) + " |")
    # relative to GlimmerHeap raw
    lines.append("")
    lines.append("| workload: time / GlimmerHeap raw time | " + " | ".join(LABEL[a] for a in allocs) + " |")
    lines.append("|" + "---|" * (len(allocs) + 1))
    for w, label in JMH_WORKLOADS:
        g = js.get((w, "glimmer"))
        cells = [label]
        for a in allocs:
            v = js.get((w, a))
            cells.append(f"{v[0] / g[0]:.2f}" if v and g else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---- plots -----------------------------------------------------------------------------------

def plots(run, pngdir, required):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        msg = (f"matplotlib is not available to {sys.executable}: install it with "
               "`apt-get install -y python3-matplotlib` (and run /usr/bin/python3)")
        if required:
            die(msg)
        print(f"report: plots skipped: {msg}", file=sys.stderr)
        return []
    os.makedirs(pngdir, exist_ok=True)
    made = []
    tag = "" if run.mode == "bench" else f" ({run.mode} run: not a measurement)"

    def save(fig, name):
        path = os.path.join(pngdir, name)
        fig.savefig(path, dpi=100, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        made.append(name)

    # 1. batches: Mops/s against N
    fams = [("small", "8..64 B"), ("mixed", "8..256 B"), ("large", "1..64 KiB")]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5), constrained_layout=True)
    for j, (fam, what) in enumerate(fams):
        for i, order in enumerate(("fifo", "random")):
            ax = axes[i][j]
            rows = sorted((run.n[r], r) for r in run.rows_of("steady")
                          if run.family[r] == fam and run.order[r] == order)
            for a in run.allocs:
                xs = [n for n, r in rows if run.get("steady", r, a) is not None]
                ys = [run.get("steady", r, a) for n, r in rows if run.get("steady", r, a) is not None]
                if xs:
                    ax.plot(xs, ys, marker="o", label=LABEL[a], color=COLORS[a],
                            linewidth=2.5 if a == "glimmer" else 1.5)
            ax.set_xscale("log")
            ax.set_title(f"batch {what}, freed {'in allocation order' if order == 'fifo' else 'in random order'}",
                         fontsize=10)
            ax.set_xlabel("N (blocks per batch)")
            ax.set_ylabel("Mops/s")
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Native driver, steady state: Mops/s against N (higher is better){tag}")
    save(fig, "perf-batch.png")

    # 2. Glimmer against the best peer, every row
    steady = run.rows_of("steady")
    rs = [(run.glimmer_vs_peer("steady", r), r) for r in steady]
    rs = [(v, r) for v, r in rs if v is not None]
    if rs:
        fig, ax = plt.subplots(figsize=(10, 0.32 * len(rs) + 1.5))
        labels = [run.label[r] for _, r in rs][::-1]
        vals = [v for v, _ in rs][::-1]
        ax.barh(labels, vals, color=["#2ca02c" if v >= 1 else "#d62728" for v in vals])
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_xlabel("Glimmer Mops/s / best peer Mops/s (1.0 = as fast as the best peer)")
        ax.tick_params(axis="y", labelsize=8)
        ax.set_title(f"Native driver, steady state: Glimmer against the best peer per row{tag}")
        ax.grid(True, axis="x", alpha=0.3)
        save(fig, "perf-ratio.png")

    # 3. churn footprint / peak live
    if run.footprint:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        names, vals, cols, hatches = [], [], [], []
        for f in run.footprint:
            live = int(f["peak_live_bytes"])
            short = SHORT.get(f["allocator"], LABEL[f["allocator"]])
            names.append(short + "\nRSS")
            vals.append(int(f["rss_peak_bytes"]) / live)
            cols.append(COLORS[f["allocator"]])
            hatches.append(None)
            if int(f["glimmer_mapped_peak_bytes"]):
                names.append(short + "\nmapped")
                vals.append(int(f["glimmer_mapped_peak_bytes"]) / live)
                cols.append(COLORS[f["allocator"]])
                hatches.append("//")
        for x, (v, c, h) in enumerate(zip(vals, cols, hatches)):
            ax.bar(x, v, color=c, hatch=h)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names)
        ax.axhline(FOOTPRINT, color="black", linestyle="--", linewidth=1, label=f"target {FOOTPRINT}")
        ax.axhline(1.0, color="gray", linewidth=0.8)
        for x, v in enumerate(vals):
            ax.text(x, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
        ax.set_ylabel("peak footprint / peak live bytes")
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(fontsize=8)
        ax.set_title(f"Churn (10,000 live blocks): footprint / peak live (lower is better){tag}")
        save(fig, "perf-churn.png")

    # 4. instructions per pair
    if run.instr:
        by = {(r["workload"], r["allocator"]): r for r in run.instr}
        allocs = [a for a in NATIVE_ORDER if ("pair", a) in by]
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.38
        loop = float(run.instr[0]["loop_ir"])
        for k, (wl, label, hatch) in enumerate((("pair", "pair", None), ("pair-keep", "pair, one block kept live", "//"))):
            xs = [x + (k - 0.5) * width for x in range(len(allocs))]
            own = [float(by[(wl, a)]["allocator_ir"]) for a in allocs]
            ax.bar(xs, [loop] * len(allocs), width, color="#cccccc", hatch=hatch,
                   label="driver loop" if k == 0 else None)
            ax.bar(xs, own, width, bottom=[loop] * len(allocs), color=[COLORS[a] for a in allocs],
                   hatch=hatch, label=f"allocator ({label})")
            for x, v in zip(xs, own):
                ax.text(x, v + loop, f"{v + loop:.0f}", ha="center", va="bottom", fontsize=8)
        ax.axhline(IR_TARGET, color="black", linestyle="--", linewidth=1, label=f"target {IR_TARGET} (loop included)")
        ax.axhline(IR_AIM, color="black", linestyle=":", linewidth=1, label=f"aim {IR_AIM}")
        ax.set_xticks(range(len(allocs)))
        ax.set_xticklabels([LABEL[a] for a in allocs], fontsize=8)
        ax.set_ylabel("instructions per malloc(32)+free pair")
        ax.legend(fontsize=7)
        ax.set_title(f"callgrind: instructions per pair (lower is better){tag}")
        save(fig, "perf-instructions.png")

    # 5. Java
    if run.jmh:
        js = run.jmh_scores()
        allocs = [a for a in JMH_ORDER if any((w, a) in js for w, _ in JMH_WORKLOADS)]
        fig, ax = plt.subplots(figsize=(11, 4.5))
        width = 0.8 / len(JMH_WORKLOADS)
        for k, (w, label) in enumerate(JMH_WORKLOADS):
            xs = [x + (k - (len(JMH_WORKLOADS) - 1) / 2) * width for x in range(len(allocs))]
            vals = [js[(w, a)][0] if (w, a) in js else 0 for a in allocs]
            ax.bar(xs, vals, width, label=label)
        ax.set_xticks(range(len(allocs)))
        ax.set_xticklabels([LABEL[a] for a in allocs], fontsize=8, rotation=20)
        ax.set_ylabel("ns per malloc+free pair")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title(f"JMH: one malloc+free pair through the Java API (lower is better){tag}")
        save(fig, "perf-java.png")
    return made


# ---- the notes that explain a miss, from the profile -----------------------------------------

def limits(run):
    """Sentences, built from the callgrind per-function counts, about where a pair's
    instructions go in Glimmer."""
    rows = [r for r in run.functions if r["workload"] == "pair" and r["allocator"] == "glimmer"]
    if not rows or not run.instr:
        return []
    per = {r["function"]: float(r["ir_per_pair"]) for r in rows}
    total = next(float(r["ir_per_pair"]) for r in run.instr if r["allocator"] == "glimmer" and r["workload"] == "pair")
    loop = float(run.instr[0]["loop_ir"])
    parts = [f"`{fn}` {v:.0f}" for fn, v in sorted(per.items(), key=lambda kv: -kv[1])]
    out = [f"A Glimmer pair executes {total:.0f} instructions: " + ", ".join(parts) + ". "
           f"The driver's own loop (call through the function pointer, touching and checking the block, "
           f"counted with a no-op allocator) is {loop:.0f} of them."]
    fast = per.get("gl_heap_malloc", 0) + per.get("gl_heap_free", 0)
    batch = batch_limits(run)
    if fast:
        out.append(f"Glimmer's two fast paths take {fast:.0f} instructions "
                   f"(`gl_heap_malloc` {per.get('gl_heap_malloc', 0):.0f}, `gl_heap_free` "
                   f"{per.get('gl_heap_free', 0):.0f}); every instruction of them is counted in the "
                   "profile below.")
    if total > IR_TARGET:
        out.append(f"With the loop alone at {loop:.0f}, the {IR_TARGET}-instruction target leaves "
                   f"{IR_TARGET - loop:.0f} for both fast paths together.")
    return out + batch


def batch_limits(run):
    """Sentences about the batch rows' instructions per operation, from callgrind."""
    out = []
    by = {(r["row"], r["allocator"]): float(r["ir_per_op"]) for r in run.row_instr}
    for row in dict.fromkeys(r["row"] for r in run.row_instr):
        g = by.get((row, "glimmer"))
        peers = [(by[(row, a)], a) for a in PEERS if (row, a) in by]
        if g is None or not peers:
            continue
        best, peer = min(peers)
        funcs = sorted(((float(f["ir_per_op"]), f["function"]) for f in run.row_functions
                        if f["row"] == row and f["allocator"] == "glimmer"), reverse=True)[:4]
        out.append(f"On the row *{run.label.get(row, row)}* Glimmer executes {g:.0f} instructions per operation "
                   f"(malloc or free, driver included) against {peer}'s {best:.0f}; the most are in "
                   + ", ".join(f"`{fn}` {v:.0f}" for v, fn in funcs) + ".")
    return out


def time_profile(run):
    """The section on where the time goes on the rows Glimmer trails most (benches/tools/profile.py)."""
    if not run.time_profile:
        return []
    L = ["## Where the time goes on the rows Glimmer trails most (perf, sampled)", "",
         "callgrind counts instructions; on these rows what decides is memory, so "
         "`benches/tools/profile.py` samples time instead (`perf record -e cpu-clock`, a software event: "
         "no hardware counters needed) for Glimmer and the row's best peer, each running the row alone "
         "(`driver --row`), and splits the samples: the driver's loop (touching and checking blocks), the "
         "allocator's code, the bytes realloc copies (libc's memmove for the peers, Glimmer's `rep movsb`), "
         "the OS. ns per operation; the rows are those with the lowest ratio in the table above.", "",
         "| row | allocator | ns/op | driver loop | allocator | copy | OS | samples |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
    for t in run.time_profile:
        L.append(f"| {t['label']} ({float(t['ratio']):.2f}x) | {LABEL.get(t['allocator'], t['allocator'])} | "
                 f"{t['ns_per_op']} | {t['driver_ns']} | {t['allocator_ns']} | {t['copy_ns']} | {t['os_ns']} | "
                 f"{t['samples']} |")
    if run.time_functions:
        L += ["", "The allocator's costliest functions (ns per operation, copy excluded):", ""]
        for row in dict.fromkeys(f["row"] for f in run.time_functions):
            per = []
            for alloc in dict.fromkeys(f["allocator"] for f in run.time_functions if f["row"] == row):
                per.append(f"{LABEL.get(alloc, alloc)} " + ", ".join(
                    f"`{f['function']}` {f['ns_per_op']}" for f in run.time_functions
                    if f["row"] == row and f["allocator"] == alloc and float(f["ns_per_op"]) >= 0.01))
            L.append(f"- *{run.label.get(row, row)}*: " + "; ".join(per) + ".")
    rows = list(dict.fromkeys(h["row"] for h in run.time_hot))
    if rows:
        L += ["", "Glimmer's hottest instructions on each of these rows (share of its allocator and copy samples; "
              "a sample usually lands on the instruction that waits, the one after a load that missed):", ""]
        for row in rows:
            hot = [h for h in run.time_hot if h["row"] == row]
            L.append(f"- *{run.label.get(row, row)}*: " + "; ".join(
                f"{100 * float(h['share_of_glimmer']):.0f} % `{h['function']}+{h['offset']}` `{h['instruction']}`"
                + (f" (after `{h['previous']}`)" if h["previous"] else "") for h in hot) + ".")
    return L


def java_rounds(run):
    """the Java targets from jmh-targets.json: per allocator its median ns per pair over the rounds;
    per target the (min, median, max) over the rounds of the ratio taken within each round (floor:
    GlimmerHeap / floor; glibc and unsafe: theirs / GlimmerHeap); None without the file"""
    jt = run.jmh_targets
    rounds = [r for r in (jt or {}).get("rounds", []) if "glimmer" in r]
    if not rounds:
        return None

    def med(xs):
        xs = sorted(xs)
        k = len(xs) // 2
        return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2

    allocs = [a for a in ("glimmer", "floor", "glibc", "unsafe") if all(a in r for r in rounds)]
    ns = {a: med([r[a] for r in rounds]) for a in allocs}
    ratio = {}
    for a in allocs:
        if a == "glimmer":
            continue
        xs = [r["glimmer"] / r[a] if a == "floor" else r[a] / r["glimmer"] for r in rounds]
        ratio[a] = (min(xs), med(xs), max(xs))
    return {"ns": ns, "ratio": ratio, "rounds": len(rounds), "raw": rounds, "meta": jt}


def java_limit(run):
    """what bounds the glibc target through Java: the time it asks of a GlimmerHeap pair against the
    floor (two downcalls that do no allocator work), both from this run (the interleaved rounds'
    medians when there are any); None without the numbers"""
    jt = java_rounds(run)
    if jt and all(a in jt["ns"] for a in ("glimmer", "floor", "glibc")):
        g, fl, gc = (jt["ns"]["glimmer"],), (jt["ns"]["floor"],), (jt["ns"]["glibc"],)
    else:
        js = run.jmh_scores() if run.jmh else {}
        g, fl, gc = js.get(("pair", "glimmer")), js.get(("pair", "floor")), js.get(("pair", "glibc"))
    if not (g and fl and gc):
        return None
    need = gc[0] / JAVA_GLIBC
    text = (f"**What limits the Java targets.** {JAVA_GLIBC}x faster than glibc through the same binding asks "
            f"for a GlimmerHeap pair of at most {need:.2f} ns ({gc[0]:.2f} / {JAVA_GLIBC}); two bare critical "
            f"downcalls that do no allocator work take {fl[0]:.2f} ns in this run, and GlimmerHeap spends "
            f"{g[0] - fl[0]:.2f} ns above them (its allocator and its operation gate). ")
    if need < fl[0]:
        text += ("The target lies below the floor: no allocator reached through two downcalls per pair can meet "
                 "it on this machine; glibc's own work costs less than half a floor.")
    else:
        text += f"The target leaves {need - fl[0]:.2f} ns above the floor for the allocator and the gate."
    return text


# ---- the report ------------------------------------------------------------------------------

def markdown(run, made, wsl):
    info, _ = machine(run)
    tg = targets(run)
    L = []
    L.append("# Glimmer — performance")
    L.append("")
    L.append("Generated by `make bench` (`benches/tools/report.py`) from one run on the machine below; "
             "every number on this page comes from that run — rerun `make bench` to regenerate it. "
             "Absolute numbers belong to this machine (shared, noisy); the ratios, measured side by side "
             "in the same run, are the headline.")
    if run.mode != "bench":
        L.append("")
        L.append(f"> **This is a `{run.mode}` run: iteration counts are tiny, the numbers are not a measurement.**")
    L.append("")
    L.append("## Machine and versions")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    for k, v in info:
        L.append(f"| {k} | {v} |")
    if run.skipped:
        L.append("")
        L.append(f"Not measured in this run: {', '.join(run.skipped)} (install with `{APT_PEERS}`).")
    L.append("")
    L.append("## Targets (issue 4)")
    L.append("")
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    for t, m, h in tg:
        L.append(f"| {t} | {m} | {holds(h)} |")
    n_hold = sum(1 for _, _, h in tg if h is True)
    n_miss = sum(1 for _, _, h in tg if h is False)
    L.append("")
    L.append(f"{n_hold} of {n_hold + n_miss} measured targets hold, {n_miss} are missed.")
    notes = limits(run)
    if notes:
        L.append("")
        L.append("**What limits Glimmer (callgrind).** " + " ".join(n for n in notes if not n.startswith("On the row")))
        batch = [n for n in notes if n.startswith("On the row")]
        if batch:
            L.append("")
            L.extend(f"- {n}" for n in batch)
    java = java_limit(run)
    if java:
        L.append("")
        L.append(java)
    L.append("")
    L.append("## Native driver: steady state")
    L.append("")
    L.append(f"Mops/s (millions of operations per second; operations = mallocs + frees + reallocs), median of "
             f"{run.meta.get('reps', '?')} runs; the fastest allocator of each row in bold. "
             "\"Glimmer\" is the owned heap (`gl_heap_malloc`/`gl_heap_free`); the ratio is Glimmer's "
             "median over the best peer's. The allocators take turns round by round, so the last column "
             "compares Glimmer with that peer within each round, on runs made one after the other: a ratio near 1 "
             "that Glimmer leads in most rounds is a lead, one it leads in half of them is a tie.")
    L.append("")
    L.append(native_table(run, "steady"))
    sp = spread(run, "steady")
    if sp:
        L.append("")
        L.append("Run-to-run spread, (max − min) / median over the runs of a row, median over the rows: "
                 + ", ".join(f"{LABEL[a]} {100 * v:.0f} %" for a, v in sp.items()) + ".")
    if "perf-batch.png" in made:
        L.append("")
        L.append("![Mops/s against N, batches](perf-batch.png)")
    if "perf-ratio.png" in made:
        L.append("")
        L.append("![Glimmer against the best peer, every row](perf-ratio.png)")
    tp = time_profile(run)
    if tp:
        L.append("")
        L.extend(tp)
    if run.rows_of("cold"):
        L.append("")
        L.append("## Native driver: cold first run")
        L.append("")
        L.append(f"Each run in a fresh process: the allocator is loaded and initialised (one malloc(1)+free), "
                 f"then the row's stream runs once on memory nobody has touched yet. Median of "
                 f"{run.meta.get('cold_reps', '?')} processes per allocator, Mops/s.")
        L.append("")
        L.append(native_table(run, "cold"))
    if run.footprint:
        L.append("")
        L.append("## Churn footprint")
        L.append("")
        L.append("The churn row run once in a fresh process per allocator. *Peak live* is the driver's own "
                 "sum of the requested bytes live at once (its peak over the stream). *RSS* is the process's "
                 "resident set (`/proc/self/statm`) above what it was before the first allocation, sampled every "
                 "1,000 operations, peak kept — the same measure for every allocator. *Mapped* is Glimmer's "
                 "own `peak_footprint` from `gl_heap_stats` (bytes mapped from the OS, metadata included), "
                 "which the target uses.")
        L.append("")
        L.append(footprint_table(run))
        growth = footprint_growth(run)
        if growth:
            L.append("")
            L.append(growth)
        if "perf-churn.png" in made:
            L.append("")
            L.append("![churn footprint](perf-churn.png)")
    if run.interp:
        r0 = run.interp[0]
        L.append("")
        L.append("## A real interpreter: lua5.4 on each allocator")
        L.append("")
        L.append(f"Debian's {r0['interpreter'].split('  ')[0]} runs `{r0['script']} {r0['rounds']}` (trees of "
                 "tables the collector frees in bulk, formatted and joined strings, arrays and string-keyed "
                 "tables grown an element at a time) with each allocator as the process's malloc: the peers' "
                 "own libraries through `LD_PRELOAD`, Glimmer through `libglimmer-preload.so` "
                 "(`benches/native/preload.c`: the C allocation functions on the default heap, `gl_malloc` "
                 "& co.), glibc as it is. The allocators take turns, run after run; "
                 f"median of {r0['runs']} wall times per allocator; peak RSS is the interpreter's own "
                 "`VmHWM`. Every run printed the same checksum. Not a target of issue 4: the whole "
                 "interpreter's time, of which the allocator is a part.")
        L.append("")
        L.append(interp_table(run))
    L.append("")
    L.append("## Instructions per malloc(32)+free pair (callgrind)")
    L.append("")
    if run.instr:
        r0 = run.instr[0]
        L.append(f"`valgrind --tool=callgrind` runs the driver's pair loop N1 = {int(r0['n1']):,} and "
                 f"N2 = {int(r0['n2']):,} times (after 1,000 warm-up pairs); a pair costs "
                 "(Ir(N2) − Ir(N1)) / (N2 − N1) instructions, start-up cancelling out. *Loop included* "
                 "counts everything the driver executes per pair: the call through the function pointer, "
                 "touching and checking the block, the loop. *Allocator only* subtracts the same loop run "
                 f"with a no-op malloc/free ({float(r0['loop_ir']):.0f} instructions, including the no-op's "
                 "own `lea`/`ret`/`ret`). Every allocator is called at its own entry points; Glimmer's owned "
                 "heap takes the `gl_heap *` as first argument, which the loop passes in a register. "
                 "Fewest in bold.")
        L.append("")
        L.append(instr_table(run))
        if "perf-instructions.png" in made:
            L.append("")
            L.append("![instructions per pair](perf-instructions.png)")
        L.append("")
        L.append("Per function (self instructions per pair, plain pair loop, functions above 0.5):")
        L.append("")
        L.append(functions_table(run))
        if run.row_instr:
            rows = list(dict.fromkeys(r["row"] for r in run.row_instr))
            by = {(r["row"], r["allocator"]): float(r["ir_per_op"]) for r in run.row_instr}
            allocs = [a for a in NATIVE_ORDER if any((row, a) in by for row in rows)]
            r0 = run.row_instr[0]
            L.append("")
            L.append(f"Batch rows, 1,000 blocks live at once: instructions per "
                     f"operation (a malloc or a free), driver included, by the same method "
                     f"({int(r0['rounds1'])} and {int(r0['rounds2'])} batches). Fewest in bold.")
            L.append("")
            L.append("| allocator | " + " | ".join(run.label.get(row, row) for row in rows) + " |")
            L.append("|---|" + "---|" * len(rows))
            for a in allocs:
                cells = []
                for row in rows:
                    v = by.get((row, a))
                    best = min(by[(row, b)] for b in allocs if (row, b) in by)
                    cells.append("-" if v is None else (f"**{v:.1f}**" if v == best else f"{v:.1f}"))
                L.append(f"| {LABEL[a]} | " + " | ".join(cells) + " |")
            L.append("")
            L.append("Glimmer on those rows, per function: self instructions per operation (functions above "
                     "0.5 on some row; the columns are the rows above, in order):")
            L.append("")
            per = {}
            for f in run.row_functions:
                if f["allocator"] == "glimmer":
                    per.setdefault((f["function"], f["object"]), {})[f["row"]] = float(f["ir_per_op"])
            shown = sorted((k for k, v in per.items() if max(v.values()) >= 0.5),
                           key=lambda k: -per[k].get(rows[0], 0))
            L.append("| function (object) | " + " | ".join(f"row {i + 1}" for i in range(len(rows))) + " |")
            L.append("|---|" + "---|" * len(rows))
            for fn, obj in shown:
                L.append(f"| `{fn}` ({obj}) | " + " | ".join(
                    f"{per[(fn, obj)][row]:.2f}" if row in per[(fn, obj)] else "-" for row in rows) + " |")
        if run.profile:
            L.append("")
            L.append("Glimmer's fast paths, every instruction with its count per pair:")
            L.append("")
            L.append("```")
            L.append(run.profile.rstrip())
            L.append("```")
    else:
        L.append("Not measured: valgrind is not installed (`apt-get install -y valgrind`).")
    L.append("")
    L.append("## Java (JMH)")
    L.append("")
    if run.jmh:
        r = run.jmh[0]
        L.append(f"JMH {r.get('jmhVersion')}, average time, {r.get('forks')} fork(s), "
                 f"{r.get('warmupIterations')} x {r.get('warmupTime')} warm-up, {r.get('measurementIterations')} x "
                 f"{r.get('measurementTime')} measurement; nanoseconds per malloc+free pair (the batch's score is "
                 "per pair too), ± JMH's 99.9 % error where it has one; fastest in bold. The native peers are "
                 "bound through FFM as Glimmer is (`JAVA_LONG`, `Linker.Option.critical(false)`); *floor* is a "
                 "pair of bare critical downcalls to libc's `labs` through the same interface: what a pair "
                 "costs before any allocator work. GlimmerHeap raw is `malloc(long)`/`free(long)`; segments are "
                 "`allocate(size)`/`free(MemorySegment)`; Arena.ofConfined is one confined arena per block "
                 "(`allocate`, `close`).")
        L.append("")
        L.append(jmh_table(run))
        jt = java_rounds(run)
        if jt:
            m = jt["meta"]
            order = [a for a in ("glimmer", "floor", "glibc", "unsafe") if a in jt["ns"]]
            L.append("")
            L.append(f"The Java targets are taken from a second measurement of the pair, in {jt['rounds']} rounds "
                     f"(`dev.glimmer.bench.Targets`): each round runs one fork of each allocator below, one after "
                     f"the other, the first of the round rotating ({m.get('warmups')} x {m.get('warmup_ms')} ms "
                     f"warm-up, {m.get('iterations')} x {m.get('iteration_ms')} ms measurement). A target's ratio "
                     "is taken within each round, between forks seconds apart, and the median over the rounds is "
                     "held against it: scores of the table above, measured minutes apart, have moved by a fifth "
                     "between reports, and not alike. Nanoseconds per pair:")
            L.append("")
            L.append("| round | " + " | ".join(LABEL.get(a, a) for a in order) + " |")
            L.append("|---|" + "---|" * len(order))
            for i, r in enumerate(jt["raw"], 1):
                L.append(f"| {i} | " + " | ".join(f"{r[a]:.2f}" for a in order) + " |")
            L.append("| median | " + " | ".join(f"{jt['ns'][a]:.2f}" for a in order) + " |")
        if "perf-java.png" in made:
            L.append("")
            L.append("![JMH](perf-java.png)")
    else:
        L.append("Not run.")
    L.append("")
    L.append("## How it was measured")
    L.append("")
    L.append("- **Native driver** (`benches/native/driver.c`, gcc -O2): every allocator is called through the "
             "same function pointers by the same kernels, on request streams generated once per row from a "
             "fixed seed (splitmix64), identical for every allocator. Glimmer's owned heap is called at "
             "`gl_heap_malloc(heap, n)`/`gl_heap_free(heap, p)` (each kernel is compiled once for the "
             "`malloc(n)` calls and once for the heap's, so nobody pays for an adapter); the default heap is `gl_malloc`/`gl_free` (a locked heap, biased to the one "
             "thread that calls it here, so it takes no atomic instruction); glibc is the "
             "process's malloc; jemalloc (`malloc`/`free`), mimalloc (`mi_malloc`/`mi_free`) and tcmalloc "
             "(`tc_malloc`/`tc_free`) are loaded with `dlopen(RTLD_LOCAL|RTLD_NOW)`, so they never replace the "
             "driver's own malloc; the driver keeps its own data in anonymous mappings, out of glibc's heap. "
             "The process runs with `GLIBC_TUNABLES=glibc.rtld.optional_static_tls=65536` (Debian's jemalloc "
             "needs it).")
    L.append("- Every block is touched — first byte, last byte and one byte per 4 KiB page in between — and "
             "the same bytes are checked when it is freed (and after a realloc). A NULL, a changed byte, an "
             "error counted by a Glimmer heap, a live block left behind or a failed `gl_heap_check` stops the "
             "run.")
    L.append("- Steady state: each allocator first runs the row once untimed; then the allocators take turns "
             "(the first one rotating) so they share the machine's noise; the median of the runs is reported. "
             "Time: `clock_gettime(CLOCK_MONOTONIC)` around each run.")
    L.append("- Rows: pairs (32 B) with and without one other block live; batches of N blocks freed in "
             "allocation or random order; 1..64 KiB batches; churn (10,000 live blocks, each step frees a "
             "random one and allocates 8..512 B, 2 % 4..64 KiB); Lua style (`lua_Alloc` semantics: every "
             "allocation is `realloc(NULL, n)`, frees are `free`; buffers grown by doubling with `realloc`: "
             "`gl_heap_realloc`, `realloc`, jemalloc's `realloc`, `mi_realloc`, `tc_realloc`); an aged heap "
             "(the batch of 100,000 blocks of 8..64 B freed in allocation order, on a heap that first ran "
             "three untimed rounds of the same blocks freed in a random order: what a phase of frees in a "
             "random order leaves to the phases after it; measured last, so that no other row runs on the "
             "aged heap); two threads at once, each running the pair or the batch kernel on blocks of its "
             "own (Glimmer's owned heap: one heap per thread, as an owned heap serves one thread at a time; "
             "its default heap: gl_malloc/gl_free from both: the process's main thread, which made the "
             "default heap and is one of the two, runs on it, the other thread on an arena of its own; the "
             "peers give each thread a cache of their own). A run of two threads is one fresh process (the allocators taking turns, as "
             "above), which starts the two threads, runs the row once untimed on both, then once timed: "
             "from the start of both to the end of the later one, half the operations each.")
    L.append("- Instruction counts: callgrind, as described above. Hardware counters are not available on "
             "this machine kind.")
    L.append("- Java: JMH forks with `--enable-native-access=ALL-UNNAMED`, the same `GLIBC_TUNABLES`, and "
             "`-Djdk.lang.processReaperUseDefaultStackSize=true` in the launching JVM (with jemalloc's static "
             "TLS the JDK's small process-reaper stack overflows when a fork starts).")
    L.append("")
    return "\n".join(L)


def print_summary(run):
    print()
    print(f"steady state, Mops/s (median of {run.meta.get('reps', '?')}; * = fastest; gl/peer = Glimmer owned heap / best peer)")
    print(text_table(run, "steady"))
    if run.instr:
        print()
        print("instructions per malloc(32)+free pair (callgrind)")
        by = {(r["workload"], r["allocator"]): r for r in run.instr}
        print(f"{'allocator':<16} {'pair+loop':>10} {'pair':>8} {'keep+loop':>10} {'keep':>8}")
        for a in NATIVE_ORDER:
            if ("pair", a) in by:
                p, k = by[("pair", a)], by[("pair-keep", a)]
                print(f"{a:<16} {float(p['ir_per_pair']):>10.1f} {float(p['allocator_ir']):>8.1f} "
                      f"{float(k['ir_per_pair']):>10.1f} {float(k['allocator_ir']):>8.1f}")
        print(f"(driver loop: {float(run.instr[0]['loop_ir']):.1f})")
    if run.jmh:
        js = run.jmh_scores()
        print()
        print("JMH, ns per pair:  " + "   ".join(
            f"{w}: " + ", ".join(f"{a} {js[(w, a)][0]:.2f}" for a in JMH_ORDER if (w, a) in js)
            for w, _ in JMH_WORKLOADS[:1]))
    if run.interp:
        print()
        print(f"lua5.4 {run.interp[0]['script']} {run.interp[0]['rounds']}, seconds (median of {run.interp[0]['runs']}): "
              + ", ".join(f"{r['allocator']} {float(r['seconds_median']):.3f}" for r in run.interp))
    print()
    print("targets (issue 4):")
    for t, m, h in targets(run):
        print(f"  [{ {True: 'holds', False: 'MISSED', None: 'n/a'}[h]:>6}] {t}: {m}")


def main():
    args = sys.argv[1:]
    opts = {"--md": None, "--png": None}
    flags = set()
    pos = []
    i = 0
    while i < len(args):
        if args[i] in opts:
            opts[args[i]] = args[i + 1]
            i += 2
        elif args[i] in ("--require-plots", "--print"):
            flags.add(args[i])
            i += 1
        else:
            pos.append(args[i])
            i += 1
    if len(pos) != 1:
        die("usage: report.py RESULTS_DIR [--md FILE] [--png DIR] [--require-plots] [--print]")
    run = Run(pos[0])
    md = opts["--md"] or os.path.join(pos[0], "performance.md")
    pngdir = opts["--png"] or os.path.dirname(os.path.abspath(md))
    made = plots(run, pngdir, "--require-plots" in flags)
    _, wsl = machine(run)
    text = markdown(run, made, wsl)
    # image links are relative to the markdown file
    rel = os.path.relpath(os.path.abspath(pngdir), os.path.dirname(os.path.abspath(md)))
    if rel != ".":
        text = re.sub(r"\]\((perf-[a-z]+\.png)\)", lambda m: f"]({rel}/{m.group(1)})", text)
    with open(md, "w") as f:
        f.write(text)
    print(f"report: wrote {md}" + (f" and {len(made)} plots in {pngdir}" if made else ""), file=sys.stderr)
    if "--print" in flags:
        print_summary(run)


if __name__ == "__main__":
    main()
