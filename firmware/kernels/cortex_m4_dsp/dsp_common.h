/*
 * Helpers shared by the Cortex-M4 DSP kernels (cortex_m4_dsp variant).
 *
 * SIMD: the ARMv7E-M DSP instructions the kernels use (SXTB16, SXTAB16, SMLAD, SMLABB,
 * SMLATT, SADD16). With __ARM_FEATURE_DSP they map to the ACLE intrinsics of arm_acle.h (and
 * inline asm for the rotated SXTB16/SXTAB16 forms, which GCC 12's ACLE does not expose);
 * elsewhere (the host build that the tests use) they are plain C with the same results,
 * so the host runs the very same algorithm, register blocking and data layout.
 *
 * Data layout: a "reordered" int16 group holds 4 consecutive int8 values x0..x3 as two
 * words [x0, x2] and [x1, x3] (low half first), which is what SXTB16(x) and
 * SXTB16(x ROR 8) produce from the packed bytes. A filter word unpacked the same way pairs
 * element for element, so SMLAD(xa, SXTB16(w)) + SMLAD(xb, SXTB16(w ROR 8)) is the dot
 * product of the 4 values.
 *
 * Requantization: vb_rq_fast() (kernels_common.h) computes TFLite's MultiplyByQuantizedMultiplier
 * (double or single rounding, as the layer's flag says) with one SMLAL; vb_dsp_requant_store()
 * (dsp_common.c) applies it to a run of accumulators of one output channel.
 */
#ifndef VB_DSP_COMMON_H
#define VB_DSP_COMMON_H

#include <stdint.h>
#include <string.h>

#include "kernels_common.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define VB_DSP_NATIVE 1

static inline int32_t vb_sxtb16(uint32_t x) { return __sxtb16((int32_t)x); }

static inline int32_t vb_sxtb16_ror8(uint32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* a + SXTB16(x), lane-wise */
static inline int32_t vb_sxtab16(int32_t a, uint32_t x) { return __sxtab16(a, (int32_t)x); }

static inline int32_t vb_sxtab16_ror8(int32_t a, uint32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

static inline int32_t vb_smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
static inline int32_t vb_smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
static inline int32_t vb_smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
static inline int32_t vb_sadd16(int32_t a, int32_t b) { return __sadd16(a, b); }

#define VB_STR_(x) #x
#define VB_STR(x) VB_STR_(x)
#define VB_UNUSED __attribute__((unused)) /* arguments of naked assembly functions */

/* The 2 x 2 register block of the int8 and hybrid CONV_2D assembly (conv_2d.c,
 * conv_2d_hybrid_f32.c): r3 groups of 4 taps; r0 = column pointer - 4 (pre-indexed writeback by
 * 16 per group), r1 / r2 = filter rows; r10 / r12 = row 0 x columns 2j / 2j+1, r11 / lr = row 1.
 * Per group one filter LDR pipelined with the four column LDRs, 2 SXTB16 + 4 SMLAD per filter
 * row (20 cycles per 16 MACs); unrolled twice, the odd group first. Falls through to label 3. */
#define VB_DSP_GROUP_2X2                   \
    "    ldr     r9, [r1], #4\n"             \
    "    ldr     r4, [r0, #4]\n"             \
    "    ldr     r5, [r0, #8]\n"             \
    "    ldr     r6, [r0, #12]\n"            \
    "    ldr     r7, [r0, #16]!\n"           \
    "    sxtb16  r8, r9\n"                   \
    "    sxtb16  r9, r9, ror #8\n"           \
    "    smlad   r10, r4, r8, r10\n"         \
    "    smlad   r10, r5, r9, r10\n"         \
    "    smlad   r12, r6, r8, r12\n"         \
    "    smlad   r12, r7, r9, r12\n"         \
    "    ldr     r9, [r2], #4\n"             \
    "    sxtb16  r8, r9\n"                   \
    "    sxtb16  r9, r9, ror #8\n"           \
    "    smlad   r11, r4, r8, r11\n"         \
    "    smlad   r11, r5, r9, r11\n"         \
    "    smlad   lr, r6, r8, lr\n"           \
    "    smlad   lr, r7, r9, lr\n"
#define VB_DSP_GROUPS_2X2                  \
    "    lsrs    r3, r3, #1\n"               \
    "    bcc     2f\n"                       \
    VB_DSP_GROUP_2X2                         \
    "2:  beq     3f\n" /* Z from the LSRS */ \
    "5:\n"                                   \
    VB_DSP_GROUP_2X2                         \
    VB_DSP_GROUP_2X2                         \
    "    subs    r3, r3, #1\n"               \
    "    bne     5b\n"

#else /* portable equivalents (host tests) */
#define VB_DSP_NATIVE 0

static inline int32_t vb_pack16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)(uint16_t)lo) | ((uint32_t)(uint16_t)hi << 16));
}
static inline int32_t vb_lo16(int32_t x) { return (int16_t)(uint16_t)((uint32_t)x & 0xFFFFu); }
static inline int32_t vb_hi16(int32_t x) { return (int16_t)(uint16_t)((uint32_t)x >> 16); }

static inline int32_t vb_sxtb16(uint32_t x)
{
    return vb_pack16((int8_t)(uint8_t)(x & 0xFFu), (int8_t)(uint8_t)((x >> 16) & 0xFFu));
}
static inline int32_t vb_sxtb16_ror8(uint32_t x) { return vb_sxtb16((x >> 8) | (x << 24)); }
static inline int32_t vb_sadd16(int32_t a, int32_t b)
{
    return vb_pack16(vb_lo16(a) + vb_lo16(b), vb_hi16(a) + vb_hi16(b));
}
static inline int32_t vb_sxtab16(int32_t a, uint32_t x) { return vb_sadd16(a, vb_sxtb16(x)); }
static inline int32_t vb_sxtab16_ror8(int32_t a, uint32_t x) { return vb_sadd16(a, vb_sxtb16_ror8(x)); }
static inline int32_t vb_smlad(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(vb_lo16(a) * vb_lo16(b)) + (uint32_t)(vb_hi16(a) * vb_hi16(b)));
}
static inline int32_t vb_smlabb(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(vb_lo16(a) * vb_lo16(b)));
}
static inline int32_t vb_smlatt(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(vb_hi16(a) * vb_hi16(b)));
}

/* The C stand-ins of the conv assemblies: the last group of a filter row takes only the row's
 * bytes (the assembly reads up to 3 past it). */
static inline uint32_t vb_rd32_part(const int8_t *p, int32_t valid)
{
    uint32_t v = 0;
    for (int32_t i = 0; i < valid && i < 4; ++i) {
        v |= (uint32_t)(uint8_t)p[i] << (8 * i);
    }
    return v;
}
#endif

/* Unaligned little-endian word access (one LDR/STR on Cortex-M4, which allows it). */
static inline uint32_t vb_rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Both halves set to v (an int16 lane constant for SADD16 / SXTAB16). */
static inline int32_t vb_dup16(int32_t v) { return (int32_t)(((uint32_t)v & 0xFFFFu) * 0x10001u); }

/* Per-layer output stage: zero point, activation range, rounding (first four fields are read by
 * the assembly in dsp_common.c in this order). */
typedef struct {
    int32_t out_offset, act_min, act_max;
    int32_t mode;       /* VB_RQ_SINGLE | VB_RQ_SSAT */
    uint32_t flags;     /* the layer's VB_FLAG_* */
} vb_dsp_out_t;

#define VB_RQ_SSAT 1    /* the clamp range is [-128, 127]: one SSAT */
#define VB_RQ_SINGLE 2  /* single rounding: no sign correction */

static inline void vb_dsp_out_init(vb_dsp_out_t *o, uint32_t flags, int32_t out_offset, int32_t act_min,
                                   int32_t act_max)
{
    o->out_offset = out_offset;
    o->act_min = act_min;
    o->act_max = act_max;
    o->flags = flags;
    o->mode = ((flags & VB_FLAG_SINGLE_ROUNDING) ? VB_RQ_SINGLE : 0) |
              (act_min == -128 && act_max == 127 ? VB_RQ_SSAT : 0);
}

/* dsp_common.c: the fast form over a run (mult >= 0, -31 <= shift <= -1) and the general one. */
void vb_dsp_rq_run(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, const vb_dsp_out_t *o,
                   int32_t mult, int32_t shift);
void vb_dsp_rq_general(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, const vb_dsp_out_t *o,
                       int32_t mult, int32_t shift);

/* Requantize acc[0..n-1] of one output channel (multiplier, shift) with the layer's rounding, add
 * the output zero point, clamp, and store at out[0], out[ostride], ... */
static inline void vb_dsp_requant_store(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride,
                                        int32_t mult, int32_t shift, const vb_dsp_out_t *o)
{
    if (mult >= 0 && shift <= -1 && shift >= -31) {
        vb_dsp_rq_run(acc, n, out, ostride, o, mult, shift);
    } else {
        vb_dsp_rq_general(acc, n, out, ostride, o, mult, shift);
    }
}

#endif /* VB_DSP_COMMON_H */
