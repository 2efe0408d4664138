/* Shared out-of-line helpers of the rv32 kernels (see rv32_common.h). */
#include "rv32_common.h"

static inline int32_t vb_rv_clamp(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

void vb_rv_requant_store(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, int32_t mult,
                         int32_t shift, uint32_t flags, int32_t out_offset, int32_t act_min,
                         int32_t act_max)
{
    vb_rq_fast_t q;
    if (vb_rq_fast_setup(&q, mult, shift, flags)) {
        const int64_t k = q.k;
        const int32_t sh = q.sh;
        if (q.negmask) { /* double rounding: the mask as a constant */
            for (; n > 0; --n, out += ostride) {
                const int32_t x = *acc++;
                const int64_t v = k - (int64_t)((uint32_t)x & 0x80000000u) + (int64_t)x * mult;
                *out = (int8_t)vb_rv_clamp(((int32_t)(v >> 32) >> sh) + out_offset, act_min, act_max);
            }
        } else {
            for (; n > 0; --n, out += ostride) {
                const int64_t v = k + (int64_t)*acc++ * mult;
                *out = (int8_t)vb_rv_clamp(((int32_t)(v >> 32) >> sh) + out_offset, act_min, act_max);
            }
        }
        return;
    }
    for (; n > 0; --n, out += ostride) {
        int32_t v = vb_requantize(*acc++, mult, shift, flags);
        v = (int32_t)((uint32_t)v + (uint32_t)out_offset); /* wraps as the reference's int32 add */
        v = v < act_min ? act_min : v;
        *out = (int8_t)(v > act_max ? act_max : v);
    }
}
