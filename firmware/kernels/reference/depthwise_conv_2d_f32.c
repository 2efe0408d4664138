/* DEPTHWISE_CONV_2D, float32: TFLite reference_ops::DepthwiseConv (float). Output channel
 * oc = ic * depth_multiplier + m; the sum runs over filter rows then columns (padding taps
 * skipped), then bias and the fused activation. */
#include "kernels.h"
#include "kernels_conv.h"

void vb_depthwise_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    const int32_t dm = p->depth_multiplier;
    for (int32_t b = 0; b < p->batches; ++b) {
        VB_FOR_WINDOW_ROWS(p, oy, iy0, {
            VB_FOR_WINDOW_COLS(p, ox, ix0, {
                float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (int32_t ic = 0; ic < p->in_c; ++ic) {
                    for (int32_t m = 0; m < dm; ++m) {
                        const int32_t oc = ic * dm + m;
                        float total = 0.0f;
                        VB_FOR_EACH_TAP(p, iy0, ix0, fy, fx, iy, ix, {
                            total += input[((b * p->in_h + iy) * p->in_w + ix) * p->in_c + ic] *
                                     p->filter[(fy * p->filter_w + fx) * p->out_c + oc];
                        })
                        out[oc] = vb_act_f32(total + p->bias[oc], p->act_min, p->act_max);
                    }
                }
            })
        })
    }
}
