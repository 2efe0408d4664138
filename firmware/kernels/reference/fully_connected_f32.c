/* FULLY_CONNECTED, float32: TFLite reference_ops::FullyConnected (float): a dot product over
 * the input depth in order, then bias and the fused activation. */
#include "kernels.h"

void vb_fully_connected_f32(const vb_fc_f32_params_t *p, const float *input, float *output)
{
    const int32_t depth = p->in_depth;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = input + b * depth;
        for (int32_t o = 0; o < p->out_depth; ++o) {
            const float *w = p->filter + o * depth;
            float total = 0.0f;
            for (int32_t d = 0; d < depth; ++d) {
                total += x[d] * w[d];
            }
            output[b * p->out_depth + o] = vb_act_f32(total + p->bias[o], p->act_min, p->act_max);
        }
    }
}
