/* CONV_2D with float activations and int8 weights (TFLite's hybrid conv, EvalHybrid with a
 * per-tensor weight scale):
 *  1. per batch, the input is quantized symmetrically: range = max|x|, scale = range / 127,
 *     q = round_half_away(x * (127 / range)) clamped to [-127, 127] (all zeros and scale 1 when
 *     range is 0), into `input_q` (int8 scratch of the input's size, planned in the arena);
 *  2. each output is the int32 dot product of the quantized patch and the filter (padding
 *     taps contribute 0, the zero point being 0), times scale * filter_scale, plus the bias,
 *     then the fused activation. */
#include "kernels.h"
#include "kernels_conv.h"

/* TfLiteRound (round half away from zero) for |v| < 2^23, FPU-only. */
static int32_t vb_round_half_away(float v)
{
    int32_t t = (int32_t)v;          /* truncation toward zero */
    const float frac = v - (float)t;  /* exact for |v| < 2^23 */
    if (frac >= 0.5f) {
        ++t;
    } else if (frac <= -0.5f) {
        --t;
    }
    return t;
}

void vb_conv_2d_hybrid_f32(const vb_conv_hybrid_f32_params_t *p, const float *input,
                           int8_t *input_q, float *output)
{
    const int32_t in_c = p->in_c;
    const int32_t input_size = p->in_h * p->in_w * in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = input + b * input_size;
        int8_t *q = input_q + b * input_size;
        float lo = x[0], hi = x[0];
        for (int32_t i = 1; i < input_size; ++i) {
            lo = x[i] < lo ? x[i] : lo;
            hi = hi < x[i] ? x[i] : hi;
        }
        const float abs_lo = lo < 0.0f ? -lo : lo;
        const float abs_hi = hi < 0.0f ? -hi : hi;
        const float range = abs_lo < abs_hi ? abs_hi : abs_lo;
        float scale = 1.0f;
        if (range == 0.0f) {
            for (int32_t i = 0; i < input_size; ++i) {
                q[i] = 0;
            }
        } else {
            scale = range / 127.0f;
            const float inv = 127.0f / range;
            for (int32_t i = 0; i < input_size; ++i) {
                int32_t v = vb_round_half_away(x[i] * inv);
                v = v < -127 ? -127 : (v > 127 ? 127 : v);
                q[i] = (int8_t)v;
            }
        }
        const float out_scale = scale * p->filter_scale;

        VB_FOR_WINDOW_ROWS(p, oy, iy0, {
            VB_FOR_WINDOW_COLS(p, ox, ix0, {
                float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c;
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    int32_t acc = 0;
                    VB_FOR_EACH_TAP(p, iy0, ix0, fy, fx, iy, ix, {
                        const int8_t *xq = q + (iy * p->in_w + ix) * in_c;
                        const int8_t *w = p->filter + ((oc * p->filter_h + fy) * p->filter_w + fx) * in_c;
                        for (int32_t ic = 0; ic < in_c; ++ic) {
                            acc += (int32_t)xq[ic] * (int32_t)w[ic];
                        }
                    })
                    const float y = (float)acc * out_scale;
                    out[oc] = vb_act_f32(y + p->bias[oc], p->act_min, p->act_max);
                }
            })
        })
    }
}
