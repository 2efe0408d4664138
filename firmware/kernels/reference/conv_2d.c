/* CONV_2D, int8 with per-channel (or broadcast per-tensor) requantization.
 * Same loop order and arithmetic as TFLite's reference ConvPerChannel: taps that
 * fall outside the image are skipped (equivalent to padding with the input zero point). */
#include "kernels_common.h"
#include "kernels_conv.h"

void vb_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_c = p->in_c;
    const int32_t filter_stride = p->filter_h * p->filter_w * in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (int32_t)b * p->in_h * p->in_w * in_c;
        VB_FOR_WINDOW_ROWS(p, oy, iy0, {
            VB_FOR_WINDOW_COLS(p, ox, ix0, {
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *filter = p->filter + oc * filter_stride;
                    int32_t acc = 0;
                    VB_FOR_EACH_TAP(p, iy0, ix0, ky, kx, iy, ix, {
                        const int8_t *in_px = in_batch + (iy * p->in_w + ix) * in_c;
                        const int8_t *f = filter + (ky * p->filter_w + kx) * in_c;
                        for (int32_t ic = 0; ic < in_c; ++ic) {
                            acc += (int32_t)f[ic] * ((int32_t)in_px[ic] + p->input_offset);
                        }
                    })
                    acc += p->bias[oc];
                    acc = vb_requantize(acc, p->multiplier[oc], p->shift[oc], p->flags);
                    acc += p->output_offset;
                    *output++ = (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
                }
            })
        })
    }
}
