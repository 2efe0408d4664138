/* CONV_2D, float32, for RV32IMAF (rv32 variant): the reference kernel's sums in its order
 * (rvf_f32.h: bit-exact with the reference firmware build on the board, with TFLite on the host).
 *
 * Direct convolution, no im2col: with dilation 1 the taps of one filter row that fall inside
 * the image are one run of consecutive floats in both the NHWC input and the filter, so each
 * output is a sum over `rows` runs of `n` floats; valid filter rows are found once per output
 * row and valid columns once per pixel. The pixels whose windows lie wholly inside the image
 * are consecutive in an output row (all pixels of an unpadded 1x1 stride-1 layer, across rows):
 * they go 4 (then 2) at a time through vb_rvf_rows, each weight loaded once for all of them; the
 * others one at a time with their clipped runs. The
 * up to 3 remaining channels are summed in C; then bias and activation. Dilation > 1 along the
 * width: one run of in_c per tap. */
#include "rvf_f32.h"
#include "kernels_conv.h"

/* Pixels [ox, ox + pixels) of one output row, all with the same valid columns [fx0, fx1). */
static void vb_rvf_conv_pixels(const vb_conv_f32_params_t *p, const float *in_rows, int32_t rows, int32_t ox,
                               int32_t pixels, int32_t fx0, int32_t fx1, float *out)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, fw = p->filter_w, dw = p->dilation_w;
    const int32_t K = p->filter_h * fw * in_c, blocks = out_c >> 2;
    const int32_t xrow = p->dilation_h * p->in_w * in_c, wrow = fw * in_c;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    float *o = out + ox * out_c;
    if (rows == 0 || fx1 <= fx0) {
        for (int32_t i = 0; i < pixels * out_c; ++i) {
            o[i] = 0.0f;
        }
    } else if (dw == 1) {
        const int32_t n = (fx1 - fx0) * in_c;
        const float *x0 = in_rows + (ix0 + fx0) * in_c;
        const float *w0 = p->filter + fx0 * in_c;
        if (blocks > 0) {
            vb_rvf_job_t job = {x0, p->stride_w * in_c, w0, K, n, rows, xrow, wrow, blocks, o, out_c};
            vb_rvf_rows(&job, pixels);
        }
        for (int32_t c = 4 * blocks; c < out_c; ++c) {
            for (int32_t i = 0; i < pixels; ++i) {
                o[i * out_c + c] = vb_rvf_dot_rows(x0 + i * p->stride_w * in_c, w0 + c * K, n, rows, xrow, wrow);
            }
        }
    } else { /* pixels == 1 */
        for (int32_t c = 0; c < out_c; ++c) {
            const float *w = p->filter + c * K;
            float t = 0.0f;
            for (int32_t r = 0; r < rows; ++r) {
                for (int32_t fx = fx0; fx < fx1; ++fx) {
                    const float *x = in_rows + r * xrow + (ix0 + fx * dw) * in_c;
                    const float *f = w + r * wrow + fx * in_c;
                    for (int32_t ic = 0; ic < in_c; ++ic) {
                        t += x[ic] * f[ic];
                    }
                }
            }
            o[c] = t;
        }
    }
    for (int32_t i = 0; i < pixels; ++i) {
        vb_rvf_bias_act(o + i * out_c, p->bias, out_c, p->act_min, p->act_max);
    }
}

void vb_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, fw = p->filter_w, in_w = p->in_w, sw = p->stride_w;
    if (p->filter_h == 1 && fw == 1 && sw == 1 && p->stride_h == 1 && p->pad_h == 0 && p->pad_w == 0 &&
        p->out_w == in_w && p->out_h == p->in_h) {
        /* 1x1, stride 1, unpadded: all pixels of a batch are one run (in_c consecutive floats each) */
        const int32_t npix = p->out_h * p->out_w;
        vb_conv_f32_params_t q = *p;
        q.in_h = q.out_h = 1;
        q.in_w = q.out_w = npix;
        for (int32_t b = 0; b < p->batches; ++b) {
            for (int32_t ox = 0; ox < npix;) {
                const int32_t left = npix - ox, pixels = left >= 4 ? 4 : (left >= 2 ? 2 : 1);
                vb_rvf_conv_pixels(&q, input + b * npix * in_c, 1, ox, pixels, 0, 1, output + b * npix * out_c);
                ox += pixels;
            }
        }
        return;
    }
    /* output columns whose windows lie wholly inside the image (dilation 1): [full0, full1) */
    int32_t full0 = 0, full1 = 0;
    if (p->dilation_w == 1) {
        VB_INSIDE_COLS(in_w, fw, p->pad_w, sw, p->out_w, full0, full1);
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_batch = input + b * p->in_h * in_w * in_c;
        VB_FOR_OUT_ROWS(p, vb_rvf_range, oy, iy0, fy0, fy1, {
            const int32_t rows = fy1 - fy0;
            const float *in_rows = in_batch + (iy0 + fy0 * p->dilation_h) * in_w * in_c;
            vb_conv_f32_params_t q = *p;
            q.filter = p->filter + fy0 * fw * in_c;   /* first valid filter row */
            float *out = output + (b * p->out_h + oy) * p->out_w * out_c;
            for (int32_t ox = 0; ox < p->out_w;) {
                if (ox >= full0 && ox < full1) {
                    const int32_t left = full1 - ox;
                    const int32_t pixels = left >= 4 ? 4 : (left >= 2 ? 2 : 1);
                    vb_rvf_conv_pixels(&q, in_rows, rows, ox, pixels, 0, fw, out);
                    ox += pixels;
                } else {
                    int32_t fx0, fx1;
                    vb_rvf_range(ox * sw - p->pad_w, fw, p->dilation_w, in_w, &fx0, &fx1);
                    vb_rvf_conv_pixels(&q, in_rows, rows, ox, 1, fx0, fx1, out);
                    ++ox;
                }
            }
        })
    }
}
