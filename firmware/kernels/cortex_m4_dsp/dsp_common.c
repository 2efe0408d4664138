/* Shared out-of-line helpers of the cortex_m4_dsp kernels (see dsp_common.h). */
#include "dsp_common.h"

/* Requantize n accumulators of one output channel, acc[0..n-1], with the layer's
 * rounding, add the output zero point, clamp, and store them at out[0], out[ostride], ...
 *
 * Fast form (one SMLAL and a shift per value, see vb_dsp_rq_fast): double rounding with a
 * right shift (shift <= -1), single rounding with 31 - shift >= 32 (shift <= -1). Other shifts
 * (left shifts, shift == 0) and negative multipliers take the exact general formulas. */
void vb_dsp_requant_store(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride,
                          int32_t mult, int32_t shift, uint32_t flags, int32_t out_offset,
                          int32_t act_min, int32_t act_max)
{
    vb_dsp_rq_t q;
    if (vb_dsp_rq_setup(&q, mult, shift, flags)) {
        /* two loops so the negative mask is an immediate (one register less) */
        if (q.negmask) {
            for (; n > 0; --n, ++acc, out += ostride) {
                const int32_t x = *acc;
                const int64_t v = q.k - (int64_t)((uint32_t)x & 0x80000000u) + (int64_t)x * q.mult;
                int32_t r = (int32_t)(v >> 32) >> q.sh;
                r += out_offset; /* |r| <= 2^30 + 1 here: no overflow */
                r = r < act_min ? act_min : r;
                *out = (int8_t)(r > act_max ? act_max : r);
            }
        } else {
            for (; n > 0; --n, ++acc, out += ostride) {
                const int64_t v = q.k + (int64_t)*acc * q.mult;
                int32_t r = (int32_t)(v >> 32) >> q.sh;
                r += out_offset; /* |r| <= 2^30 + 1 here: no overflow */
                r = r < act_min ? act_min : r;
                *out = (int8_t)(r > act_max ? act_max : r);
            }
        }
        return;
    }
    for (; n > 0; --n, ++acc, out += ostride) {
        int32_t v = vb_requantize(*acc, mult, shift, flags);
        v = (int32_t)((uint32_t)v + (uint32_t)out_offset);
        v = v < act_min ? act_min : v;
        *out = (int8_t)(v > act_max ? act_max : v);
    }
}
