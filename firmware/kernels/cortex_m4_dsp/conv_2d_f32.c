/* CONV_2D, float32, for the Cortex-M4F (cortex_m4_dsp variant): bit-exact with
 * reference/conv_2d_f32.c compiled without FMA contraction, i.e. with TFLite's float reference
 * kernel (fpu_f32.h).
 *
 * Direct convolution, no im2col: with dilation 1 the taps of one filter row that fall inside
 * the image are one run of consecutive floats in both the NHWC input and the filter
 * ([out_c][fh][fw][in_c]), so each output is a sum over `rows` runs of `n` floats. The valid
 * filter rows are found once per output row and the valid columns once per pixel (the padding
 * checks hoisted out of the tap loops). Two horizontally adjacent pixels whose filter windows
 * lie wholly inside the image share a pass (vb_f32_rows_p2: 2 pixels x 4 channels, each weight
 * loaded once for both); the others take vb_f32_rows_p1. The up to 3 remaining channels are
 * summed in C, then bias and activation. Dilation > 1 along the width (no run of consecutive
 * taps) takes the reference loop nest. */
#include "fpu_f32.h"

/* Valid tap range [lo, hi) along one axis for a window whose first tap is at i0. */
static void vb_f32_range(int32_t i0, int32_t k, int32_t dil, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = k;
    while (a < k && i0 + a * dil < 0) {
        ++a;
    }
    while (b > a && i0 + (b - 1) * dil >= size) {
        --b;
    }
    *lo = a;
    *hi = b;
}

/* The reference loop nest (dilated columns). */
static void vb_conv_2d_f32_plain(const vb_conv_f32_params_t *p, const float *input, float *output)
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

void vb_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    if (p->dilation_w != 1) {
        vb_conv_2d_f32_plain(p, input, output);
        return;
    }
    const int32_t in_c = p->in_c, out_c = p->out_c, fw = p->filter_w, in_w = p->in_w;
    const int32_t K = p->filter_h * fw * in_c, blocks = out_c >> 2, xrow = p->dilation_h * in_w * in_c;
    const int32_t pair_step = p->stride_w * in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_batch = input + b * p->in_h * in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t fy_lo, fy_hi;
            vb_f32_range(iy0, p->filter_h, p->dilation_h, p->in_h, &fy_lo, &fy_hi);
            const int32_t rows = fy_hi - fy_lo;
            const float *in_rows = in_batch + (iy0 + fy_lo * p->dilation_h) * in_w * in_c;
            float *out = output + (b * p->out_h + oy) * p->out_w * out_c;
            for (int32_t ox = 0; ox < p->out_w;) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx_lo, fx_hi;
                vb_f32_range(ix0, fw, 1, in_w, &fx_lo, &fx_hi);
                const int32_t n = (fx_hi - fx_lo) * in_c;
                /* this pixel and the next both have every filter column inside the image */
                const int32_t pixels = (fx_lo == 0 && fx_hi == fw && ox + 1 < p->out_w &&
                                        ix0 + p->stride_w + fw <= in_w) ? 2 : 1;
                if (rows == 0 || n == 0) {
                    for (int32_t c = 0; c < pixels * out_c; ++c) {
                        out[c] = 0.0f;
                    }
                } else {
                    const float *x0 = in_rows + (ix0 + fx_lo) * in_c;
                    const float *w0 = p->filter + (fy_lo * fw + fx_lo) * in_c;
                    const int32_t wrow = fw * in_c;
                    if (blocks > 0) {
                        vb_f32_job_t job = {x0, x0 + pair_step, w0, n, rows, (xrow - n) * 4, (wrow - n) * 4, K * 4,
                                            blocks, out, out + out_c};
                        if (pixels == 2) {
                            vb_f32_rows_p2(&job);
                        } else {
                            vb_f32_rows_p1(&job);
                        }
                    }
                    for (int32_t c = 4 * blocks; c < out_c; ++c) {
                        out[c] = vb_f32_dot_rows(x0, w0 + c * K, n, rows, xrow, wrow);
                        if (pixels == 2) {
                            out[out_c + c] = vb_f32_dot_rows(x0 + pair_step, w0 + c * K, n, rows, xrow, wrow);
                        }
                    }
                }
                vb_f32_bias_act(out, p->bias, out_c, p->act_min, p->act_max);
                if (pixels == 2) {
                    vb_f32_bias_act(out + out_c, p->bias, out_c, p->act_min, p->act_max);
                }
                out += pixels * out_c;
                ox += pixels;
            }
        }
    }
}
