/* AVERAGE_POOL_2D, float32: TFLite reference_ops::AveragePool (float): the in-image part of
 * the window summed row by row, divided by its size, then the fused activation. */
#include "kernels.h"
#include "kernels_conv.h"

void vb_average_pool_2d_f32(const vb_pool_f32_params_t *p, const float *input, float *output)
{
    const int32_t ch = p->channels;
    VB_FOR_POOL_WINDOWS(p, VB_POOL_SPAN_F32, b, oy, ox, iy0, ix0, fy_start, fy_end, fx_start, fx_end, {
        float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * ch;
        for (int32_t c = 0; c < ch; ++c) {
            float total = 0.0f;
            int32_t count = 0;
            for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                    total += input[((b * p->in_h + iy0 + fy) * p->in_w + ix0 + fx) * ch + c];
                    ++count;
                }
            }
            const float average = count > 0 ? total / (float)count : 0.0f;
            out[c] = vb_act_f32(average, p->act_min, p->act_max);
        }
    })
}
