"""trim.py - Debian's python3 (PYTHONMALLOC=malloc) handing freed memory
back with malloc_trim(0), through ctypes: about 75 MB of small objects are
built and dropped, then malloc_trim must return 1 and the resident set must
fall back to within a tenth of what the objects took.  glibc does; a preload
library that left malloc_trim to glibc would trim glibc's own, empty arenas.
Prints the same lines whatever allocates (the sizes themselves are not
printed).  Usage: python3 trim.py"""
import ctypes
import os


def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    libc = ctypes.CDLL(None)
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    base = resident()
    keep = [bytes(200) + bytes([i % 256]) for i in range(300000)]
    built = resident() - base
    del keep
    returned = libc.malloc_trim(0)
    left = resident() - base
    print("objects took more than 50 MB:", built > 50 << 20)
    print("malloc_trim(0) returned", returned)
    print("resident memory back within a tenth of that:", left < built // 10)


main()
