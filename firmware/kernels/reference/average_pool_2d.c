/* AVERAGE_POOL_2D, int8: mean over the in-image part of the window, rounded half away
 * from zero with integer division (TFLite reference_integer_ops::AveragePool). */
#include "kernels_common.h"
#include "kernels_conv.h"

void vb_average_pool_2d(const vb_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t ch = p->channels;
    VB_FOR_POOL_WINDOWS(p, VB_POOL_SPAN_I32, b, oy, ox, iy0, ix0, fy_start, fy_end, fx_start, fx_end, {
        const int32_t count = (fy_end - fy_start) * (fx_end - fx_start);
        for (int32_t c = 0; c < ch; ++c) {
            int32_t acc = 0;
            for (int32_t fy = fy_start; fy < fy_end; ++fy) {
                for (int32_t fx = fx_start; fx < fx_end; ++fx) {
                    const int32_t iy = iy0 + fy;
                    const int32_t ix = ix0 + fx;
                    acc += input[((b * p->in_h + iy) * p->in_w + ix) * ch + c];
                }
            }
            if (count > 0) {
                acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
            }
            output[((b * p->out_h + oy) * p->out_w + ox) * ch + c] =
                (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
        }
    })
}
