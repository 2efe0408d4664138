/* DEPTHWISE_CONV_2D, float32, for RV32IMAF (rv32 variant): the reference kernel's sums in its
 * order (rvf_f32.h). Valid tap ranges hoisted per output pixel (no bounds checks in the tap
 * loops); with depth multiplier 1 the channels go 4 at a time (input and filter both have the
 * channels innermost, so one pointer per tap with immediate offsets feeds 4 sums); 3x3 windows
 * wholly inside the image are unrolled. Remaining channels and depth multipliers > 1 one
 * channel at a time. */
#include "rvf_f32.h"

/* 4 channels of one pixel over the valid taps. */
static inline void vb_rvf_dw_group(const float *x, const float *w, int32_t fy0, int32_t fy1, int32_t fx0,
                                   int32_t fx1, int32_t xrow, int32_t xcol, int32_t wrow, int32_t wcol,
                                   float *out)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int32_t fy = fy0; fy < fy1; ++fy) {
        const float *xp = x + fy * xrow + fx0 * xcol, *wp = w + fy * wrow + fx0 * wcol;
        for (int32_t fx = fx0; fx < fx1; ++fx, xp += xcol, wp += wcol) {
            a0 += xp[0] * wp[0];
            a1 += xp[1] * wp[1];
            a2 += xp[2] * wp[2];
            a3 += xp[3] * wp[3];
        }
    }
    out[0] = a0;
    out[1] = a1;
    out[2] = a2;
    out[3] = a3;
}

/* 3x3 window inside the image, 4 channels, all taps unrolled. */
static inline void vb_rvf_dw_group_3x3(const float *x, const float *w, int32_t xrow, int32_t xcol, int32_t wcol,
                                       float *out)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int32_t fy = 0; fy < 3; ++fy, x += xrow, w += 3 * wcol) {
        const float *x1 = x + xcol, *x2 = x + 2 * xcol, *w1 = w + wcol, *w2 = w + 2 * wcol;
        a0 += x[0] * w[0];
        a1 += x[1] * w[1];
        a2 += x[2] * w[2];
        a3 += x[3] * w[3];
        a0 += x1[0] * w1[0];
        a1 += x1[1] * w1[1];
        a2 += x1[2] * w1[2];
        a3 += x1[3] * w1[3];
        a0 += x2[0] * w2[0];
        a1 += x2[1] * w2[1];
        a2 += x2[2] * w2[2];
        a3 += x2[3] * w2[3];
    }
    out[0] = a0;
    out[1] = a1;
    out[2] = a2;
    out[3] = a3;
}

void vb_depthwise_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, dm = p->depth_multiplier, fw = p->filter_w;
    const int32_t xrow = p->dilation_h * p->in_w * in_c, xcol = p->dilation_w * in_c, wrow = fw * out_c;
    const int32_t groups = dm == 1 ? out_c >> 2 : 0;
    const int unrolled = p->filter_h == 3 && fw == 3;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_batch = input + b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t fy0, fy1;
            vb_rvf_range(iy0, p->filter_h, p->dilation_h, p->in_h, &fy0, &fy1);
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0, fx1;
                vb_rvf_range(ix0, fw, p->dilation_w, p->in_w, &fx0, &fx1);
                const float *x = in_batch + iy0 * p->in_w * in_c + ix0 * in_c;  /* tap (0, 0) */
                float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * out_c;
                const int inside = unrolled && fy0 == 0 && fy1 == 3 && fx0 == 0 && fx1 == 3;
                for (int32_t g = 0; g < groups; ++g) {
                    if (inside) {
                        vb_rvf_dw_group_3x3(x + 4 * g, p->filter + 4 * g, xrow, xcol, out_c, out + 4 * g);
                    } else {
                        vb_rvf_dw_group(x + 4 * g, p->filter + 4 * g, fy0, fy1, fx0, fx1, xrow, xcol, wrow, out_c,
                                        out + 4 * g);
                    }
                }
                for (int32_t oc = 4 * groups; oc < out_c; ++oc) {
                    const float *xc = x + oc / dm;
                    float t = 0.0f;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            t += xc[fy * xrow + fx * xcol] * p->filter[fy * wrow + fx * out_c + oc];
                        }
                    }
                    out[oc] = t;
                }
                vb_rvf_bias_act(out, p->bias, out_c, p->act_min, p->act_max);
            }
        }
    }
}
