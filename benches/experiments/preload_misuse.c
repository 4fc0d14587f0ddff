/*
 * preload_misuse.c - run under each class-pages preload by `make -C benches
 * experiment-pages`: an interior pointer freed and reallocated, a double
 * free.  The preload must refuse them (free ignores them, realloc returns
 * NULL) and not hand them to glibc, which aborts; exit 0 means it did.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    char *p = malloc(40);
    if (p == NULL)
        return 1;
    char *volatile inside = p + 16;             /* volatile: gcc warns of a free at an offset */
    free(inside);
    if (realloc(inside, 80) != NULL || malloc_usable_size(inside) != 0) {
        fprintf(stderr, "preload_misuse: an interior pointer was taken for a block\n");
        return 1;
    }
    if (malloc_usable_size(p) < 40) {
        fprintf(stderr, "preload_misuse: the block lost its size\n");
        return 1;
    }
    char *volatile again = p;                   /* volatile: gcc warns of a use after free */
    free(p);
    free(again);                                /* a double free: refused with a status */
    return 0;
}
