/* FULLY_CONNECTED, int8 (TFLite reference FullyConnected / FullyConnectedPerChannel).
 * Weight zero points are 0 (checked by the compiler). LiteRT rounds FC requantization
 * once (VB_FLAG_SINGLE_ROUNDING), unlike its other kernels. */
#include "kernels_common.h"

void vb_fully_connected(const vb_fc_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_row = input + b * depth;
        for (int32_t oc = 0; oc < p->out_depth; ++oc) {
            const int8_t *w = p->filter + oc * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; ++d) {
                acc += (int32_t)w[d] * ((int32_t)in_row[d] + p->input_offset);
            }
            acc += p->bias[oc];
            const int32_t q = p->per_channel ? oc : 0;
            acc = vb_requantize(acc, p->multiplier[q], p->shift[q], p->flags);
            acc += p->output_offset;
            output[b * p->out_depth + oc] = (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
        }
    }
}
