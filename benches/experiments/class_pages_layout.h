/*
 * class_pages_layout.h - offsets shared by class_pages.c built with
 * -DFAST_ASM and class_pages_fast.S (its malloc and free fast paths in
 * assembly).  class_pages.c checks every one with _Static_assert.
 */
#ifndef CLASS_PAGES_LAYOUT_H
#define CLASS_PAGES_LAYOUT_H

#define CP_SEG_SHIFT        21
#define CP_PAGE_SHIFT       14             /* FAST_ASM is built with 16 KiB pages */
#define CP_FRONT_LIFO       64             /* and a 64-slot LIFO per class */
#define CP_MAX_REQUEST      1000
#define CP_FREE_BIT         61
#define CP_CACHED_BIT       62

/* struct heap */
#define CP_H_CURW           0              /* uint64_t *[128] */
#define CP_H_CURBASE        1024           /* uintptr_t[128] */
#define CP_H_SEGTAB         2048           /* uintptr_t[256] */
#define CP_H_KEY            5120
#define CP_H_CLASS_OF       5152           /* uint8_t[1001] */
#define CP_H_TOP            6160           /* void **[128] */
#define CP_H_FLOOR          7184           /* void **[128]: slots[c] */
#define CP_H_LIM            8208           /* void **[128]: slots[c] + CP_FRONT_LIFO */

/* struct segment */
#define CP_S_FREE_MAP       16384          /* uint64_t[2048], after the start bitmap */
#define CP_S_PAGES          32768          /* struct page_info[128], 16 bytes each */
#define CP_PI_SHIFT         4
#define CP_PI_LISTED        9

#endif
