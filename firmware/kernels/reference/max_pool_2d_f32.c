/* MAX_POOL_2D, float32: TFLite reference_ops::MaxPool (float): the largest in-image value of
 * the window (starting from the lowest float), then the fused activation. */
#include <float.h>

#include "kernels.h"
#include "kernels_conv.h"

void vb_max_pool_2d_f32(const vb_pool_f32_params_t *p, const float *input, float *output)
{
    const int32_t ch = p->channels;
    VB_FOR_POOL_WINDOWS(p, VB_POOL_SPAN_F32, b, oy, ox, iy0, ix0, fy_start, fy_end, fx_start, fx_end, {
        float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        for (int32_t c = 0; c < ch; ++c) {
            float best = -FLT_MAX;
            for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                    const float v = input[((b * p->in_h + iy0 + fy) * p->in_w + ix0 + fx) * ch + c];
                    best = best < v ? v : best;
                }
            }
            out[c] = vb_act_f32(best, p->act_min, p->act_max);
        }
    })
}
