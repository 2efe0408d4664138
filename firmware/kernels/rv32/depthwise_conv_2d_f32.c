/* DEPTHWISE_CONV_2D, float32, for RV32IMAF (rv32 variant): the reference kernel's sums in its
 * order (rvf_f32.h). 3x3 filters with depth multiplier 1: the output pixels of a row whose
 * windows lie inside the image (all rows but the padded ones) go channel pair by channel pair
 * through vb_rvf_dw_pair_3x3, the pair's 18 weights held in registers for the whole run (any
 * stride or dilation). The other pixels: valid tap ranges hoisted per pixel (no bounds checks
 * in the tap loops), channels 4 at a time (input and filter both have the channels innermost,
 * so one pointer per tap with immediate offsets feeds 4 sums); remaining channels and depth
 * multipliers > 1 one channel at a time. */
#include "rvf_f32.h"
#include "kernels_conv.h"

/* a0..a3 += x[0..3] * w[0..3]: one tap of 4 channels. */
#define VB_RVF_MAC4(x, w)                                                                          \
    do {                                                                                           \
        a0 += (x)[0] * (w)[0];                                                                     \
        a1 += (x)[1] * (w)[1];                                                                     \
        a2 += (x)[2] * (w)[2];                                                                     \
        a3 += (x)[3] * (w)[3];                                                                     \
    } while (0)

/* out[0..3] = a0..a3 */
#define VB_RVF_PUT4(out)                                                                           \
    do {                                                                                           \
        (out)[0] = a0;                                                                             \
        (out)[1] = a1;                                                                             \
        (out)[2] = a2;                                                                             \
        (out)[3] = a3;                                                                             \
    } while (0)

/* 4 channels of one pixel over the valid taps. */
static inline void vb_rvf_dw_group(const float *x, const float *w, int32_t fy0, int32_t fy1, int32_t fx0,
                                   int32_t fx1, int32_t xrow, int32_t xcol, int32_t wrow, int32_t wcol,
                                   float *out)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int32_t fy = fy0; fy < fy1; ++fy) {
        const float *xp = x + fy * xrow + fx0 * xcol, *wp = w + fy * wrow + fx0 * wcol;
        for (int32_t fx = fx0; fx < fx1; ++fx, xp += xcol, wp += wcol) {
            VB_RVF_MAC4(xp, wp);
        }
    }
    VB_RVF_PUT4(out);
}

/* 3x3 window inside the image, 4 channels, all taps unrolled. */
static inline void vb_rvf_dw_group_3x3(const float *x, const float *w, int32_t xrow, int32_t xcol, int32_t wcol,
                                       float *out)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    for (int32_t fy = 0; fy < 3; ++fy, x += xrow, w += 3 * wcol) {
        const float *x1 = x + xcol, *x2 = x + 2 * xcol, *w1 = w + wcol, *w2 = w + 2 * wcol;
        VB_RVF_MAC4(x, w);
        VB_RVF_MAC4(x1, w1);
        VB_RVF_MAC4(x2, w2);
    }
    VB_RVF_PUT4(out);
}


/* Channels c, c + 1 of `count` consecutive interior output pixels (3x3 windows inside the
 * image, depth multiplier 1): the pair's 18 weights stay in registers, nine tap pointers walk
 * the input (18 FLW + 18 FMADD.S per pixel), bias and activation on the way out. */
static void vb_rvf_dw_pair_3x3(const float *x, const float *w, int32_t count, int32_t step, int32_t xrow,
                               int32_t xcol, int32_t wcol, float b0, float b1, float lo, float hi, float *out,
                               int32_t ostep)
{
    const float w00 = w[0], w01 = w[1], w10 = w[wcol], w11 = w[wcol + 1], w20 = w[2 * wcol], w21 = w[2 * wcol + 1];
    const float w30 = w[3 * wcol], w31 = w[3 * wcol + 1], w40 = w[4 * wcol], w41 = w[4 * wcol + 1];
    const float w50 = w[5 * wcol], w51 = w[5 * wcol + 1], w60 = w[6 * wcol], w61 = w[6 * wcol + 1];
    const float w70 = w[7 * wcol], w71 = w[7 * wcol + 1], w80 = w[8 * wcol], w81 = w[8 * wcol + 1];
    const float *p0 = x, *p1 = x + xcol, *p2 = x + 2 * xcol;
    const float *p3 = x + xrow, *p4 = p3 + xcol, *p5 = p3 + 2 * xcol;
    const float *p6 = x + 2 * xrow, *p7 = p6 + xcol, *p8 = p6 + 2 * xcol;
    for (int32_t i = 0; i < count; ++i) {
        float a0 = 0.0f, a1 = 0.0f;
        a0 += p0[0] * w00;
        a1 += p0[1] * w01;
        a0 += p1[0] * w10;
        a1 += p1[1] * w11;
        a0 += p2[0] * w20;
        a1 += p2[1] * w21;
        a0 += p3[0] * w30;
        a1 += p3[1] * w31;
        a0 += p4[0] * w40;
        a1 += p4[1] * w41;
        a0 += p5[0] * w50;
        a1 += p5[1] * w51;
        a0 += p6[0] * w60;
        a1 += p6[1] * w61;
        a0 += p7[0] * w70;
        a1 += p7[1] * w71;
        a0 += p8[0] * w80;
        a1 += p8[1] * w81;
        out[0] = vb_act_f32(a0 + b0, lo, hi);
        out[1] = vb_act_f32(a1 + b1, lo, hi);
        out += ostep;
        p0 += step; p1 += step; p2 += step; p3 += step; p4 += step;
        p5 += step; p6 += step; p7 += step; p8 += step;
    }
}

void vb_depthwise_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, dm = p->depth_multiplier, fw = p->filter_w;
    const int32_t xrow = p->dilation_h * p->in_w * in_c, xcol = p->dilation_w * in_c, wrow = fw * out_c;
    const int32_t groups = dm == 1 ? out_c >> 2 : 0;
    const int fast = p->filter_h == 3 && fw == 3 && dm == 1;
    /* output columns whose 3x3 windows lie wholly inside the image: [full0, full1) */
    int32_t full0 = 0, full1 = 0;
    if (fast) {
        const int32_t span = 2 * p->dilation_w + 1, sw = p->stride_w;
        VB_INSIDE_COLS(p->in_w, span, p->pad_w, sw, p->out_w, full0, full1);
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_batch = input + b * p->in_h * p->in_w * in_c;
        VB_FOR_OUT_ROWS(p, vb_rvf_range, oy, iy0, fy0, fy1, {
            float *out_row = output + (b * p->out_h + oy) * p->out_w * out_c;
            int32_t skip0 = 0, skip1 = 0;   /* pixels done by the channel-pair rows */
            if (fast && out_c >= 2 && fy0 == 0 && fy1 == 3 && full1 - full0 >= 2) {
                skip0 = full0;
                skip1 = full1;
                const float *x = in_batch + (iy0 * p->in_w + full0 * p->stride_w - p->pad_w) * in_c;
                for (int32_t c = 0; c + 2 <= out_c; c += 2) {
                    vb_rvf_dw_pair_3x3(x + c, p->filter + c, full1 - full0, p->stride_w * in_c, xrow, xcol, out_c,
                                       p->bias[c], p->bias[c + 1], p->act_min, p->act_max, out_row + full0 * out_c + c,
                                       out_c);
                }
                if (out_c & 1) {   /* the last channel: from the pair at out_c - 2, stored again identically */
                    const int32_t c = out_c - 2;
                    vb_rvf_dw_pair_3x3(x + c, p->filter + c, full1 - full0, p->stride_w * in_c, xrow, xcol, out_c,
                                       p->bias[c], p->bias[c + 1], p->act_min, p->act_max, out_row + full0 * out_c + c,
                                       out_c);
                }
            }
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                if (ox == skip0 && skip1 > skip0) {
                    ox = skip1 - 1;
                    continue;
                }
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0, fx1;
                vb_rvf_range(ix0, fw, p->dilation_w, p->in_w, &fx0, &fx1);
                const float *x = in_batch + iy0 * p->in_w * in_c + ix0 * in_c;  /* tap (0, 0) */
                float *out = out_row + ox * out_c;
                const int inside = fast && p->dilation_h == 1 && p->dilation_w == 1 && fy0 == 0 && fy1 == 3 &&
                                   fx0 == 0 && fx1 == 3;
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
        })
    }
}
