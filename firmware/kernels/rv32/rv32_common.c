/* Shared out-of-line helpers of the rv32 kernels (see rv32_common.h). */
#include "rv32_common.h"

void vb_rv_requant_store(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, int32_t mult,
                         int32_t shift, uint32_t flags, int32_t out_offset, int32_t act_min,
                         int32_t act_max)
{
    vb_rv_rq_t q;
    if (vb_rv_rq_setup(&q, mult, shift, flags)) {
        for (; n > 0; --n, out += ostride) {
            int32_t v = vb_rv_rq_fast(*acc++, &q);
            v = (int32_t)((uint32_t)v + (uint32_t)out_offset); /* wraps as the reference's int32 add */
            v = v < act_min ? act_min : v;
            *out = (int8_t)(v > act_max ? act_max : v);
        }
        return;
    }
    for (; n > 0; --n, out += ostride) {
        int32_t v = vb_requantize(*acc++, mult, shift, flags);
        v = (int32_t)((uint32_t)v + (uint32_t)out_offset);
        v = v < act_min ? act_min : v;
        *out = (int8_t)(v > act_max ? act_max : v);
    }
}
