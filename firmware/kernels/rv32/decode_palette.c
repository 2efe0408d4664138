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
#include <string.h>

#include "kernels.h"
#include "kernels_palette_decode.h"

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

/* Word access to the packed indices and the destination, both word-aligned (kernels_palette.h);
 * memcpy keeps it free of aliasing assumptions and still compiles to LW / SW. */
static inline uint32_t vb_pal_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, __builtin_assume_aligned(p, 4), 4);
    return v;
}

static inline void vb_pal_wr32(void *p, uint32_t v)
{
    memcpy(__builtin_assume_aligned(p, 4), &v, 4);
}

VB_DEFINE_PAL_SMALL()

/* The pair of weights for the packed byte whose offset (2 * byte) into the pair table is off. */
static inline uint32_t vb_pal_pair(const uint16_t *pairs, uint32_t off)
{
    return *(const uint16_t *)(const void *)((const uint8_t *)pairs + off);
}

/* n blocks of 16 weights (8 packed bytes) through the pair table; per byte a shift and a mask
 * give the byte offset into the table. */
static void __attribute__((noinline)) vb_pal_pairs(const uint16_t *pairs, const uint8_t *src, int8_t *dst,
                                                   uint32_t n)
{
    for (; n > 0; --n, src += 8, dst += 16) {
        const uint32_t w0 = vb_pal_rd32(src), w1 = vb_pal_rd32(src + 4);
        vb_pal_wr32(dst, vb_pal_pair(pairs, (w0 << 1) & 0x1FEu) | vb_pal_pair(pairs, (w0 >> 7) & 0x1FEu) << 16);
        vb_pal_wr32(dst + 4, vb_pal_pair(pairs, (w0 >> 15) & 0x1FEu) | vb_pal_pair(pairs, (w0 >> 23) & 0x1FEu) << 16);
        vb_pal_wr32(dst + 8, vb_pal_pair(pairs, (w1 << 1) & 0x1FEu) | vb_pal_pair(pairs, (w1 >> 7) & 0x1FEu) << 16);
        vb_pal_wr32(dst + 12, vb_pal_pair(pairs, (w1 >> 15) & 0x1FEu) | vb_pal_pair(pairs, (w1 >> 23) & 0x1FEu) << 16);
    }
}

VB_DEFINE_DECODE_PALETTE()
