/* DEPTHWISE_CONV_2D, int8 per-channel; output channel = in_channel * depth_multiplier + m,
 * as in TFLite's reference DepthwiseConvPerChannel. */
#include "kernels_common.h"
#include "kernels_conv.h"

void vb_depthwise_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_c = p->in_c;
    const int32_t out_c = p->out_c;
    const int32_t dm = p->depth_multiplier;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)b * p->in_h * p->in_w * in_c;
        VB_FOR_WINDOW_ROWS(p, oy, iy0, {
            VB_FOR_WINDOW_COLS(p, ox, ix0, {
                for (int32_t ic = 0; ic < in_c; ++ic) {
                    for (int32_t m = 0; m < dm; ++m) {
                        const int32_t oc = ic * dm + m;
                        int32_t acc = 0;
                        VB_FOR_EACH_TAP(p, iy0, ix0, ky, kx, iy, ix, {
                            const int32_t in_val = in_batch[(iy * p->in_w + ix) * in_c + ic];
                            const int32_t f_val = p->filter[(ky * p->filter_w + kx) * out_c + oc];
                            acc += f_val * (in_val + p->input_offset);
                        })
                        acc += p->bias[oc];
                        acc = vb_requantize(acc, p->multiplier[oc], p->shift[oc], p->flags);
                        acc += p->output_offset;
                        output[(((int32_t)b * p->out_h + oy) * p->out_w + ox) * out_c + oc] =
                            (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
                    }
                }
            })
        })
    }
}
