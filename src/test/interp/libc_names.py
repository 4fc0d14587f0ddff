"""libc_names.py - Debian's python3 calling glibc's own names for its
allocation functions (__libc_malloc, __libc_free, ...) through ctypes, with
blocks crossing between those and the standard names both ways.  Under a
preload library that replaced malloc but not __libc_free, a block from one
given to the other reaches an allocator that did not hand it out: glibc's
free aborts the process.  Prints the same lines whatever allocates.
Usage: python3 libc_names.py"""
import ctypes

libc = ctypes.CDLL(None)
VP, SZ = ctypes.c_void_p, ctypes.c_size_t


def fn(name, restype, *argtypes):
    f = getattr(libc, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


malloc, free = fn("malloc", VP, SZ), fn("free", None, VP)
realloc, calloc = fn("realloc", VP, VP, SZ), fn("calloc", VP, SZ, SZ)
l_malloc, l_free = fn("__libc_malloc", VP, SZ), fn("__libc_free", None, VP)
l_realloc, l_calloc = fn("__libc_realloc", VP, VP, SZ), fn("__libc_calloc", VP, SZ, SZ)
l_memalign = fn("__libc_memalign", VP, SZ, SZ)
l_valloc, l_pvalloc = fn("__libc_valloc", VP, SZ), fn("__libc_pvalloc", VP, SZ)
PAGE = 4096


def filled(p, n, byte):
    ctypes.memset(p, byte, n)
    return p


def intact(p, n, byte):
    return ctypes.string_at(p, n) == bytes([byte]) * n


for n in (1, 100, 5000, 2 << 20):
    p = l_realloc(filled(malloc(n), n, 7), 2 * n)
    ok1 = intact(p, n, 7)
    l_free(p)
    q = realloc(filled(l_calloc(n, 1), n, 9), 3 * n)
    ok2 = intact(q, n, 9)
    free(q)
    r = l_malloc(n)
    free(filled(r, n, 1))
    print(n, "bytes: malloc/__libc_realloc/__libc_free, __libc_calloc/realloc/free, __libc_malloc/free:",
          ok1 and ok2)
a = l_memalign(256, 1000)
v = l_valloc(100)
pv = l_pvalloc(100)
print("__libc_memalign(256) aligned:", a % 256 == 0, "__libc_valloc, __libc_pvalloc page-aligned:",
      v % PAGE == 0 and pv % PAGE == 0)
free(a)
l_free(v)
free(pv)
