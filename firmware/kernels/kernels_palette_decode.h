/*
 * Palette code shared by the optimized variants: the weight decoder's driver (decode_palette.c:
 * the small-layer path with the 16-entry table and the pair-table build) and the row-group loop
 * of the fused FULLY_CONNECTED (fully_connected_palette.c). Macros that define the functions, or
 * open the loop, where they are expanded: each file keeps its code and its function order. The
 * decoder macros need the file's vb_pal_rd32 / vb_pal_wr32 (word access) and vb_pal_tail
 * (byte-wise tail), and before VB_DEFINE_DECODE_PALETTE its vb_pal_pairs (16 weights per step).
 */
#ifndef VB_KERNELS_PALETTE_DECODE_H
#define VB_KERNELS_PALETTE_DECODE_H

#include <stdint.h>
#include <string.h>

#include "kernels.h"

/* From this many weights the 256-entry pair table pays for its build (about 900 cycles). */
#define VB_PALETTE_PAIR_MIN 512u

/* static void vb_pal_small(d): the whole layer from the 16-entry table, a word of indices (8
 * weights) at a time, then the byte-wise tail. */
#define VB_DEFINE_PAL_SMALL()                                                                      \
    static void vb_pal_small(const vb_palette_decoder_t *d)                                        \
    {                                                                                              \
        const uint8_t *t = (const uint8_t *)d->table;                                              \
        const uint8_t *src = d->packed;                                                            \
        int8_t *dst = d->destination;                                                              \
        for (uint32_t n = d->count >> 3; n > 0; --n, src += 4, dst += 8) {                         \
            const uint32_t w = vb_pal_rd32(src);                                                   \
            vb_pal_wr32(dst, t[w & 15u] | (uint32_t)t[(w >> 4) & 15u] << 8                         \
                                 | (uint32_t)t[(w >> 8) & 15u] << 16 | (uint32_t)t[(w >> 12) & 15u] << 24);\
            vb_pal_wr32(dst + 4, t[(w >> 16) & 15u] | (uint32_t)t[(w >> 20) & 15u] << 8            \
                                     | (uint32_t)t[(w >> 24) & 15u] << 16 | (uint32_t)t[w >> 28] << 24);\
        }                                                                                          \
        vb_pal_tail(d, d->count & ~7u);                                                            \
    }

/* void vb_decode_palette(d): small layers as above; larger ones build pairs[hi * 16 + lo] =
 * table[lo] | table[hi] << 8 on the stack and run vb_pal_pairs over whole blocks of 16. */
#define VB_DEFINE_DECODE_PALETTE()                                                                 \
    void vb_decode_palette(const vb_palette_decoder_t *d)                                          \
    {                                                                                              \
        if (d->count < VB_PALETTE_PAIR_MIN) {                                                      \
            vb_pal_small(d);                                                                       \
            return;                                                                                \
        }                                                                                          \
        /* pairs[hi * 16 + lo] = table[lo] | table[hi] << 8, built two entries per word (memcpy:   \
         * the table is read as halfwords) */                                                      \
        uint16_t pairs[256] __attribute__((aligned(4)));                                           \
        uint32_t lo2[8];                                                                           \
        const uint8_t *t = (const uint8_t *)d->table;                                              \
        for (uint32_t k = 0; k < 8; ++k) {                                                         \
            lo2[k] = t[2 * k] | (uint32_t)t[2 * k + 1] << 16;                                      \
        }                                                                                          \
        for (uint32_t hi = 0; hi < 16; ++hi) {                                                     \
            const uint32_t h = (uint32_t)t[hi] * 0x01000100u;                                      \
            for (uint32_t k = 0; k < 8; ++k) {                                                     \
                const uint32_t two = lo2[k] | h;                                                   \
                memcpy(&pairs[16 * hi + 2 * k], &two, 4);                                          \
            }                                                                                      \
        }                                                                                          \
        vb_pal_pairs(pairs, d->packed, d->destination, d->count >> 4);                             \
        vb_pal_tail(d, d->count & ~15u);                                                           \
    }

/* Fused palette FULLY_CONNECTED (kernels_palette.h): for the row groups of a block of n rows from
 * r0 (index bytes q, g rows each, group_bytes per group), acc[r..r+g-1] set to the rows' bias,
 * then the statement after the names. */
#define VB_FCP_FOR_GROUPS(p, n, r0, group_bytes, acc, r, q, g, ...)                                \
    for (int32_t r = 0; r < (n); r += VB_FC_PALETTE_ROWS) {                                        \
        const uint8_t *q = (p)->packed + ((r0) + r) / VB_FC_PALETTE_ROWS * (group_bytes);          \
        const int32_t g = (n) - r < VB_FC_PALETTE_ROWS ? (n) - r : VB_FC_PALETTE_ROWS;             \
        for (int32_t k_ = 0; k_ < g; ++k_) {                                                       \
            (acc)[r + k_] = (p)->bias[(r0) + r + k_];                                              \
        }                                                                                          \
        __VA_ARGS__                                                                                \
    }

#endif /* VB_KERNELS_PALETTE_DECODE_H */
