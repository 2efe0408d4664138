/*
 * Helpers shared by the RV32 kernels (rv32 variant): portable C for an RV32IM core without
 * SIMD (CV32E40P class: 1-cycle MUL and loads, 5-cycle MULH, a 1-cycle load-use penalty,
 * taken branches 3 cycles). The kernels block registers (several output channels and pixels
 * per pass, int32 accumulators), unroll their inner loops and advance pointers with
 * immediate offsets; the compiler schedules loads ahead of their uses.
 *
 * Requantization: vb_rv_rq_fast() computes TFLite's MultiplyByQuantizedMultiplier with one
 * 64-bit multiply-add and a shift, bit-exact with the reference formulas (double rounding
 * with a right shift, single rounding with 31 - shift >= 32):
 *   double: RoundingDivideByPOT(SRDHM(x, m), e)
 *             = floor((x*m + 2^30 + 2^(30+e) - [x < 0] * 2^31) / 2^(31+e))   (m >= 0, e >= 1)
 *   single: (x*m + 2^(total-1)) >> total                                      (total >= 32)
 * (the derivation is in cortex_m4_dsp/dsp_common.h; both variants use the same identity).
 * vb_rv_requant_store() (rv32_common.c) applies it to a run of accumulators of one channel
 * and takes the general formulas for the remaining cases.
 */
#ifndef VB_RV32_COMMON_H
#define VB_RV32_COMMON_H

#include <stdint.h>

#include "kernels_common.h"

typedef struct {
    int64_t k;          /* constant added to x*m */
    uint32_t negmask;   /* 0x80000000 (double rounding) or 0 (single) */
    int32_t mult;
    int32_t sh;         /* shift of the top word */
} vb_rv_rq_t;

/* Set up the fast form; 0 when (mult, shift, rounding) needs the general formulas. */
static inline int vb_rv_rq_setup(vb_rv_rq_t *q, int32_t mult, int32_t shift, uint32_t flags)
{
    if (mult < 0 || shift > -1 || shift < -31) {
        return 0;
    }
    q->mult = mult;
    if (flags & VB_FLAG_SINGLE_ROUNDING) {
        const int32_t total = 31 - shift;
        q->k = (int64_t)1 << (total - 1);
        q->negmask = 0;
        q->sh = total - 32;
    } else {
        const int32_t e = -shift;
        q->k = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e));
        q->negmask = 0x80000000u;
        q->sh = e - 1;
    }
    return 1;
}

static inline int32_t vb_rv_rq_fast(int32_t x, const vb_rv_rq_t *q)
{
    const int64_t v = q->k - (int64_t)((uint32_t)x & q->negmask) + (int64_t)x * q->mult;
    return (int32_t)(v >> 32) >> q->sh;
}

/* Requantize acc[0..n-1] of one output channel (layer rounding flags), add the output zero
 * point, clamp, store at out[0], out[ostride], ... */
void vb_rv_requant_store(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, int32_t mult,
                         int32_t shift, uint32_t flags, int32_t out_offset, int32_t act_min,
                         int32_t act_max);

#endif /* VB_RV32_COMMON_H */
