/* DEPTHWISE_CONV_2D for RV32IM cores (rv32 variant), bit-exact with
 * reference/depthwise_conv_2d.c.
 *
 * One output channel at a time (any depth multiplier): its filter taps are loaded once; for a
 * 3x3 filter with dilation 1 they sit in nine registers and every output pixel whose taps all
 * lie inside the image is nine LB + MUL + ADD from precomputed tap offsets, with the input
 * offset folded into a per-channel constant (offset * sum of the taps, added to the bias).
 * Border pixels (and other filter shapes) add the offset per tap and skip taps outside the
 * image, as the reference does. Accumulators of VB_RV_DW_BLOCK pixels are requantized in one
 * run. No scratch memory. */
#include "rv32_common.h"

#define VB_RV_DW_BLOCK 32

/* One output channel of one output pixel, taps outside the image skipped. */
static int32_t vb_rv_dw_generic(const vb_conv_params_t *p, const int8_t *in_ic, const int8_t *wcol,
                                int32_t oy, int32_t ox, int32_t acc)
{
    const int32_t C = p->in_c, out_c = p->out_c, off = p->input_offset;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            continue;
        }
        for (int32_t kx = 0; kx < p->filter_w; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) {
                continue;
            }
            acc += wcol[(ky * p->filter_w + kx) * out_c] * (in_ic[(iy * p->in_w + ix) * C] + off);
        }
    }
    return acc;
}

/* Pixels [q0, q0 + n) of one channel with a 3x3 filter, dilation 1. */
static void vb_rv_dw_3x3(const vb_conv_params_t *p, const int8_t *in_ic, const int8_t *wcol, int32_t q0,
                         int32_t n, int32_t bias, int32_t *acc)
{
    const int32_t C = p->in_c, out_c = p->out_c, row = p->in_w * C;
    const int32_t w0 = wcol[0], w1 = wcol[out_c], w2 = wcol[2 * out_c];
    const int32_t w3 = wcol[3 * out_c], w4 = wcol[4 * out_c], w5 = wcol[5 * out_c];
    const int32_t w6 = wcol[6 * out_c], w7 = wcol[7 * out_c], w8 = wcol[8 * out_c];
    const int32_t inner =
        (int32_t)((uint32_t)bias + (uint32_t)(p->input_offset * (w0 + w1 + w2 + w3 + w4 + w5 + w6 + w7 + w8)));
    const int32_t c1 = C, c2 = 2 * C;
    int32_t oy = q0 / p->out_w, ox = q0 - oy * p->out_w;
    for (int32_t i = 0; i < n; ++i) {
        const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
        if (iy0 >= 0 && iy0 + 3 <= p->in_h && ix0 >= 0 && ix0 + 3 <= p->in_w) {
            const int8_t *x = in_ic + iy0 * row + ix0 * C;
            int32_t a = inner;
            a += w0 * x[0];
            a += w1 * x[c1];
            a += w2 * x[c2];
            x += row;
            a += w3 * x[0];
            a += w4 * x[c1];
            a += w5 * x[c2];
            x += row;
            a += w6 * x[0];
            a += w7 * x[c1];
            a += w8 * x[c2];
            acc[i] = a;
        } else {
            acc[i] = vb_rv_dw_generic(p, in_ic, wcol, oy, ox, bias);
        }
        if (++ox == p->out_w) {
            ox = 0;
            ++oy;
        }
    }
}

void vb_depthwise_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t C = p->in_c, out_c = p->out_c, dm = p->depth_multiplier;
    const int32_t npix = p->out_h * p->out_w;
    const int fast3x3 = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 && p->dilation_w == 1;
    int32_t acc[VB_RV_DW_BLOCK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * C;
        int8_t *out_batch = output + b * npix * out_c;
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *in_ic = in_batch + oc / dm;
            const int8_t *wcol = p->filter + oc;
            for (int32_t q0 = 0; q0 < npix; q0 += VB_RV_DW_BLOCK) {
                const int32_t n = npix - q0 < VB_RV_DW_BLOCK ? npix - q0 : VB_RV_DW_BLOCK;
                if (fast3x3) {
                    vb_rv_dw_3x3(p, in_ic, wcol, q0, n, p->bias[oc], acc);
                } else {
                    int32_t oy = q0 / p->out_w, ox = q0 - oy * p->out_w;
                    for (int32_t i = 0; i < n; ++i) {
                        acc[i] = vb_rv_dw_generic(p, in_ic, wcol, oy, ox, p->bias[oc]);
                        if (++ox == p->out_w) {
                            ox = 0;
                            ++oy;
                        }
                    }
                }
                vb_rv_requant_store(acc, n, out_batch + q0 * out_c + oc, out_c, p->multiplier[oc], p->shift[oc],
                                    p->flags, p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}
