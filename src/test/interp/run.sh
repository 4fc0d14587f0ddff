#!/usr/bin/env bash
# run.sh PRELOAD - real interpreters on Glimmer's default heap.
#
# Runs Debian's perl (heap.pl; fork.pl, forking while threads allocate),
# python3 (PYTHONMALLOC=malloc; heap.py; trim.py, malloc_trim; libc_names.py,
# __libc_malloc & co.) and lua5.4 on the scripts here, gcc and sort (four
# threads) on inputs of their own, and a JVM (javac.sh: javac compiling the
# project's Java sources), once on glibc and once with
# LD_PRELOAD=PRELOAD (libglimmer-preload.so: every C allocation function of
# the process served by gl_malloc & co.), and fails unless each run exits 0
# and prints exactly what the glibc run printed.
# Not a timing: the times are printed for the eye only.  An interpreter that is
# not installed is skipped, with the apt-get line that adds it.
set -uo pipefail    # pipefail: an interpreter's failure is not hidden by the grep after it
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
preload="${1:?usage: run.sh /path/to/libglimmer-preload.so}"
[ -f "$preload" ] || { echo "no $preload"; exit 1; }
rounds="${INTERP_ROUNDS:-1}"
failed=0

run_one() {   # name package command...
    local name="$1" package="$2"; shift 2
    if ! command -v "$1" >/dev/null; then
        echo "skipped $name: $1 is missing (apt-get install -y $package)"
        return
    fi
    local want got t0 t1 t2
    t0=$(date +%s%N)
    # lines that measure the run (lua's peak_rss_kib) differ by allocator
    if ! want="$(timeout 120 "$@" | grep -v '^peak_rss_kib')"; then
        echo "FAIL $name: the run on glibc failed"; failed=1; return
    fi
    t1=$(date +%s%N)
    # the preload library must load: a process started with it has it in its maps
    if ! LD_PRELOAD="$preload" grep -q libglimmer-preload /proc/self/maps; then
        echo "FAIL $name: LD_PRELOAD=$preload did not load"; failed=1; return
    fi
    got="$(LD_PRELOAD="$preload" timeout 120 "$@" | grep -v '^peak_rss_kib')"
    local status=$?
    if [ $status -ne 0 ]; then
        echo "FAIL $name: exit status $status on Glimmer (124: timed out)"; failed=1; return
    fi
    t2=$(date +%s%N)
    if [ "$want" != "$got" ]; then
        echo "FAIL $name: Glimmer's run printed something else"
        diff <(echo "$want") <(echo "$got") | head -20
        failed=1; return
    fi
    printf 'ok   %-9s %d lines the same; %.2f s on glibc, %.2f s on Glimmer\n' "$name" \
        "$(echo "$want" | wc -l)" "$(( (t1 - t0) / 1000000 ))e-3" "$(( (t2 - t1) / 1000000 ))e-3"
}

run_one perl perl /usr/bin/perl "$here/heap.pl" "$rounds"
# fork() while other threads allocate: a child left a lock held hangs, and is counted
run_one perl-fork perl /usr/bin/perl "$here/fork.pl" "$((100 * rounds))"
PYTHONMALLOC=malloc run_one python3 python3 /usr/bin/python3 "$here/heap.py" "$rounds"
# malloc_trim(0) hands freed memory back: the preload library's, not glibc's
PYTHONMALLOC=malloc run_one py-trim python3 /usr/bin/python3 "$here/trim.py"
# glibc's own names (__libc_malloc, __libc_free, ...) with blocks crossing to the standard ones
run_one py-libc python3 /usr/bin/python3 "$here/libc_names.py"
run_one lua5.4 lua5.4 lua5.4 "$here/../../../benches/lua/workload.lua" "$((5 * rounds))"
# two large C programs: gcc compiling the contract to assembly, and sort with
# four threads sorting 600,000 lines it is given (made here, seeded)
run_one gcc gcc gcc -O2 -S -o - -I "$here/../../main/asm" "$here/../c/contract.c"
lines="$(mktemp)"
trap 'rm -f "$lines"' EXIT
awk 'BEGIN { srand(7); for (i = 0; i < 600000; i++) {
         s = ""; n = int(rand() * 40); for (j = 0; j < n; j++) s = s "x";
         printf "%08x%08x %s\n", int(rand() * 4294967296), int(rand() * 4294967296), s } }' > "$lines"
run_one sort coreutils sort --parallel=4 -S 20M "$lines"
# a JVM: javac (JAVA_HOME's, as the Makefile found it) compiling Glimmer's own Java sources
javac="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
if command -v "$javac" >/dev/null; then
    run_one javac "a JDK" "$here/javac.sh" "$javac" "$here/../../main/java"
else
    echo "skipped javac: no JDK (JAVA_HOME is unset and javac is not on the PATH)"
fi
exit $failed
