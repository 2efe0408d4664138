/* CONV_2D, float32: TFLite reference_ops::Conv (float). For each output, the sum runs over
 * filter rows, filter columns and input channels in that order, taps in the padding are
 * skipped, then the bias is added and the fused activation applied. */
#include "kernels.h"

void vb_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    const int32_t in_c = p->in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    float total = 0.0f;
                    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
                        const int32_t iy = iy0 + p->dilation_h * fy;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
                            const int32_t ix = ix0 + p->dilation_w * fx;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            const float *x = input + ((b * p->in_h + iy) * p->in_w + ix) * in_c;
                            const float *w = p->filter + ((oc * p->filter_h + fy) * p->filter_w + fx) * in_c;
                            for (int32_t ic = 0; ic < in_c; ++ic) {
                                total += x[ic] * w[ic];
                            }
                        }
                    }
                    out[oc] = vb_act_f32(total + p->bias[oc], p->act_min, p->act_max);
                }
            }
        }
    }
}
