/*
 * listed.h - is a name an item of a comma-separated list?  The benchmark
 * programs' lists: the driver's --only rows and GLIMMER_BENCH_PEERS, ab's
 * loops.
 */
#ifndef GLIMMER_BENCH_LISTED_H
#define GLIMMER_BENCH_LISTED_H

#include <string.h>

static inline int listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p; ) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

#endif
