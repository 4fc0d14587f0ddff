/*
 * class_pages_layout.h - offsets shared by class_pages.c built with
 * -DFAST_ASM and class_pages_fast.S (its malloc and free fast paths in
 * assembly).  class_pages.c checks every one with _Static_assert.
 */
#ifndef CLASS_PAGES_LAYOUT_H
#define CLASS_PAGES_LAYOUT_H

#define CP_SEG_SHIFT        21
#define CP_PAGE_SHIFT       14             /* FAST_ASM is built with 16 KiB pages */
#define CP_MAX_REQUEST      1000
#define CP_FREE_BIT         61
#define CP_CACHED_BIT       62

/* struct heap: the key and the segment table where Glimmer's heap has them,
 * for Glimmer's OWNED_BLOCK_TEST (class_pages_fast.S checks H_KEY, H_SEGTAB) */
#define CP_H_KEY            128
#define CP_H_SEGTAB         160            /* uintptr_t[256] */
#define CP_H_CURW           2208           /* uint64_t *[128] */
#define CP_H_CURBASE        3232           /* uintptr_t[128] */
#define CP_H_EMPTY_WORD     5296           /* uint64_t, always 0 */
#define CP_H_CLASS_OF       5304           /* uint8_t[1001] */
#define CP_H_TOP            6312           /* void **[128] */
#define CP_H_SLOT           6312           /* void *[128], FRONT_SLOT (instead of the LIFO) */
#define CP_H_FLOOR          7336           /* void **[128]: slots[c] */
#define CP_H_LIM            8360           /* void **[128]: slots[c] + FRONT_LIFO */

/* struct segment: the start bitmap at Glimmer's SEG_STARTS */
#define CP_S_STARTS         64             /* uint64_t[2048] */
#define CP_S_FREE_MAP       16448          /* uint64_t[2048], the same geometry */
#define CP_S_PAGES          32832          /* struct page_info[128], 16 bytes each */
#define CP_PI_SHIFT         4
#define CP_PI_LISTED        9
#define CP_S_LISTED         34880          /* uint64_t[2048], WORD_LISTED: the page's listed, per map word */

#endif
