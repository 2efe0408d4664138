/* Palette weight decoder (kernels_palette.h) for the Cortex-M4 (cortex_m4_dsp variant),
 * bit-exact with reference/decode_palette.c.
 *
 * Layers of VB_PALETTE_PAIR_MIN weights or more: a 256-entry table of weight pairs (packed byte
 * -> two int8 weights as one halfword) is built on the stack first (about 900 cycles), then
 * each block of 16 weights takes one LDRD of packed indices, eight byte extracts, eight LDRH
 * from the pair table, four ORR-with-shift and one STM (assembly below): about 2.2 cycles per
 * weight on the Nucleo, flash reads included, against about 7.5 for the reference byte loop.
 * Smaller layers use the 16-entry table directly, a word of indices (8 weights) at a time
 * (about 4 cycles per weight). Packed indices and destination are word-aligned
 * (kernels_palette.h), as LDRD and STM need. */
#include <string.h>

#include "kernels.h"
#include "kernels_palette_decode.h"

static inline uint32_t vb_pal_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void vb_pal_wr32(int8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Byte-wise tail: weights [first, count) from the 16-entry table. */
static void vb_pal_tail(const vb_palette_decoder_t *d, uint32_t first)
{
    const uint8_t *t = (const uint8_t *)d->table;
    for (uint32_t i = first; i < d->count; ++i) {
        const uint32_t b = d->packed[i >> 1];
        d->destination[i] = (int8_t)t[(i & 1u) ? (b >> 4) : (b & 15u)];
    }
}

VB_DEFINE_PAL_SMALL()

/* n blocks of 16 weights (8 packed bytes) through the pair table. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* All eight byte extracts before the eight LDRHs, so no lookup waits for the extract just
 * before it (TRM 3.3.2 AGU stall) and the LDRHs pipeline; four words out with one STM (dst is
 * word-aligned). About 33 cycles per 16 weights plus the flash read of the packed word pair. */
static void __attribute__((noinline)) vb_pal_pairs(const uint16_t *pairs, const uint8_t *src, int8_t *dst,
                                                   uint32_t n)
{
    if (n == 0) {
        return;
    }
    __asm__ volatile(
        "1:\n"
        "    ldrd    r4, r5, [%[src]], #8\n"
        "    uxtb    r6, r4\n"
        "    ubfx    r7, r4, #8, #8\n"
        "    ubfx    r8, r4, #16, #8\n"
        "    lsr     r9, r4, #24\n"
        "    uxtb    r10, r5\n"
        "    ubfx    r11, r5, #8, #8\n"
        "    ubfx    r12, r5, #16, #8\n"
        "    lsr     r5, r5, #24\n"
        "    ldrh    r6, [%[pairs], r6, lsl #1]\n"
        "    ldrh    r7, [%[pairs], r7, lsl #1]\n"
        "    ldrh    r8, [%[pairs], r8, lsl #1]\n"
        "    ldrh    r9, [%[pairs], r9, lsl #1]\n"
        "    ldrh    r10, [%[pairs], r10, lsl #1]\n"
        "    ldrh    r11, [%[pairs], r11, lsl #1]\n"
        "    ldrh    r12, [%[pairs], r12, lsl #1]\n"
        "    ldrh    r5, [%[pairs], r5, lsl #1]\n"
        "    orr     r6, r6, r7, lsl #16\n"
        "    orr     r8, r8, r9, lsl #16\n"
        "    orr     r10, r10, r11, lsl #16\n"
        "    orr     r12, r12, r5, lsl #16\n"
        "    stmia   %[dst]!, {r6, r8, r10, r12}\n"
        "    subs    %[n], %[n], #1\n"
        "    bne     1b\n"
        : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(n)
        : [pairs] "r"(pairs)
        : "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "cc", "memory");
}
#else
static void vb_pal_pairs(const uint16_t *pairs, const uint8_t *src, int8_t *dst, uint32_t n)
{
    for (; n > 0; --n, src += 8, dst += 16) {
        const uint32_t w0 = vb_pal_rd32(src), w1 = vb_pal_rd32(src + 4);
        vb_pal_wr32(dst, pairs[w0 & 0xFFu] | (uint32_t)pairs[(w0 >> 8) & 0xFFu] << 16);
        vb_pal_wr32(dst + 4, pairs[(w0 >> 16) & 0xFFu] | (uint32_t)pairs[w0 >> 24] << 16);
        vb_pal_wr32(dst + 8, pairs[w1 & 0xFFu] | (uint32_t)pairs[(w1 >> 8) & 0xFFu] << 16);
        vb_pal_wr32(dst + 12, pairs[(w1 >> 16) & 0xFFu] | (uint32_t)pairs[w1 >> 24] << 16);
    }
}
#endif

VB_DEFINE_DECODE_PALETTE()
