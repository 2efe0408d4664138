/* Palette weight decoder (kernels_palette.h) for RV32IM (rv32 variant), bit-exact with
 * reference/decode_palette.c.
 *
 * Large layers: a 256-entry table of weight pairs (packed byte -> two int8 weights as one
 * halfword) is built on the stack first, then each packed word (8 weights) costs a word load,
 * per byte a shift and a mask that give the byte offset into the pair table directly, an add
 * and an LHU, and two shift-ORs and two word stores per 8 weights. Small layers (fewer than
 * VB_PALETTE_PAIR_MIN weights) use the 16-entry table a word of indices at a time. The
 * destination is word-aligned (the planner aligns arena buffers to 16 bytes); the packed
 * indices are read a word at a time (kernels_palette.h: word-aligned). */
#include "kernels.h"

#define VB_PALETTE_PAIR_MIN 512u

/* Byte-wise tail: weights [first, count) from the 16-entry table. */
static void vb_pal_tail(const vb_palette_decoder_t *d, uint32_t first)
{
    const uint8_t *t = (const uint8_t *)d->table;
    const uint8_t *src = d->packed;
    int8_t *dst = d->destination;
    const uint32_t count = d->count;
    for (uint32_t i = first; i < count; ++i) {
        const uint32_t b = src[i >> 1];
        dst[i] = (int8_t)t[(i & 1u) ? (b >> 4) : (b & 15u)];
    }
}

/* The compiler emits the packed indices 16-byte aligned (VB_WEIGHTS). */
static inline uint32_t vb_pal_rd32(const uint8_t *p)
{
    return *(const uint32_t *)(const void *)p;
}

static void vb_pal_small(const vb_palette_decoder_t *d)
{
    const uint8_t *t = (const uint8_t *)d->table;
    const uint8_t *src = d->packed;
    uint32_t *dst = (uint32_t *)(void *)d->destination;
    for (uint32_t n = d->count >> 3; n > 0; --n, src += 4, dst += 2) {
        const uint32_t w = vb_pal_rd32(src);
        dst[0] = t[w & 15u] | (uint32_t)t[(w >> 4) & 15u] << 8 | (uint32_t)t[(w >> 8) & 15u] << 16
                 | (uint32_t)t[(w >> 12) & 15u] << 24;
        dst[1] = t[(w >> 16) & 15u] | (uint32_t)t[(w >> 20) & 15u] << 8 | (uint32_t)t[(w >> 24) & 15u] << 16
                 | (uint32_t)t[w >> 28] << 24;
    }
    vb_pal_tail(d, d->count & ~7u);
}

#define VB_PAL_PAIR(base, off) (*(const uint16_t *)(const void *)((base) + (off)))

/* n blocks of 16 weights (8 packed bytes) through the pair table. */
static void __attribute__((noinline)) vb_pal_pairs(const uint8_t *pairs, const uint8_t *src, uint32_t *dst,
                                                   uint32_t n)
{
    for (; n > 0; --n, src += 8, dst += 4) {
        const uint32_t w0 = vb_pal_rd32(src), w1 = vb_pal_rd32(src + 4);
        dst[0] = VB_PAL_PAIR(pairs, (w0 << 1) & 0x1FEu) | (uint32_t)VB_PAL_PAIR(pairs, (w0 >> 7) & 0x1FEu) << 16;
        dst[1] = VB_PAL_PAIR(pairs, (w0 >> 15) & 0x1FEu) | (uint32_t)VB_PAL_PAIR(pairs, (w0 >> 23) & 0x1FEu) << 16;
        dst[2] = VB_PAL_PAIR(pairs, (w1 << 1) & 0x1FEu) | (uint32_t)VB_PAL_PAIR(pairs, (w1 >> 7) & 0x1FEu) << 16;
        dst[3] = VB_PAL_PAIR(pairs, (w1 >> 15) & 0x1FEu) | (uint32_t)VB_PAL_PAIR(pairs, (w1 >> 23) & 0x1FEu) << 16;
    }
}

void vb_decode_palette(const vb_palette_decoder_t *d)
{
    if (d->count < VB_PALETTE_PAIR_MIN) {
        vb_pal_small(d);
        return;
    }
    /* pairs[hi * 16 + lo] = table[lo] | table[hi] << 8, built two entries per word */
    uint32_t pairs32[128];
    uint32_t lo2[8];
    const uint8_t *t = (const uint8_t *)d->table;
    for (uint32_t k = 0; k < 8; ++k) {
        lo2[k] = t[2 * k] | (uint32_t)t[2 * k + 1] << 16;
    }
    for (uint32_t hi = 0; hi < 16; ++hi) {
        const uint32_t h = (uint32_t)t[hi] * 0x01000100u;
        uint32_t *row = pairs32 + 8 * hi;
        for (uint32_t k = 0; k < 8; ++k) {
            row[k] = lo2[k] | h;
        }
    }
    vb_pal_pairs((const uint8_t *)(const void *)pairs32, d->packed, (uint32_t *)(void *)d->destination,
                 d->count >> 4);
    vb_pal_tail(d, d->count & ~15u);
}
