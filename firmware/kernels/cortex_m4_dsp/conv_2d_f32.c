/* CONV_2D, float32, for the Cortex-M4F (cortex_m4_dsp variant): bit-exact with
 * reference/conv_2d_f32.c compiled without FMA contraction, i.e. with TFLite's float reference
 * kernel (fpu_f32.h).
 *
 * Direct convolution, no im2col: with dilation 1 the taps of one filter row that fall inside
 * the image are one run of consecutive floats in both the NHWC input and the filter
 * ([out_c][fh][fw][in_c]), so each output is a sum over `rows` runs of `n` floats. The valid
 * filter rows are found once per output row and the valid columns once per pixel (the padding
 * checks hoisted out of the tap loops). The pixels of an output row whose windows lie wholly
 * inside the image (all pixels of an unpadded 1x1 stride-1 layer, across rows) go 4 at a time
 * through vb_f32_rows_p4 (each weight loaded once for 4 pixels), then 2 (p2), then 1 (p1); the
 * border pixels one at a time with their clipped runs. The up to 3 remaining channels are
 * summed in C, then bias and activation. Dilation > 1 along the width (no run of consecutive
 * taps) takes the reference loop nest. */
#include "fpu_f32.h"
#include "kernels_conv.h"

VB_DEFINE_TAP_RANGE(static, vb_f32_range)

/* The reference loop nest (dilated columns). */
VB_DEFINE_CONV_2D_F32(static, vb_conv_2d_f32_plain)

/* `pixels` (1, 2 or 4) output pixels pstep floats apart in the input and out_c apart in the output,
 * all with the valid filter rows (`rows` from the filter row of `w0`) and columns [fx0, fx1). */
static void vb_conv_f32_pixels(const vb_conv_f32_params_t *p, const float *x0, const float *w0, int32_t rows,
                               int32_t n, int32_t pstep, int32_t pixels, float *out)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, blocks = out_c >> 2;
    const int32_t K = p->filter_h * p->filter_w * in_c;
    const int32_t xrow = p->dilation_h * p->in_w * in_c, wrow = p->filter_w * in_c;
    if (rows == 0 || n == 0) {
        for (int32_t c = 0; c < pixels * out_c; ++c) {
            out[c] = 0.0f;
        }
    } else {
        if (blocks > 0) {
            vb_f32_job_t job = {x0, x0 + pstep, w0, n, rows, (xrow - n) * 4, (wrow - n) * 4, K * 4,
                                blocks, out, out + out_c, pstep * 4, out_c * 4};
            VB_F32_ROWS(job, pixels);
        }
        for (int32_t c = 4 * blocks; c < out_c; ++c) {
            for (int32_t i = 0; i < pixels; ++i) {
                out[i * out_c + c] = vb_f32_dot_rows(x0 + i * pstep, w0 + c * K, n, rows, xrow, wrow);
            }
        }
    }
    for (int32_t i = 0; i < pixels; ++i) {
        vb_f32_bias_act(out + i * out_c, p->bias, out_c, p->act_min, p->act_max);
    }
}

/* A run of `count` output pixels with the same filter window (consecutive pixels of an output
 * row whose windows lie inside the image, or all pixels of an unpadded 1x1 stride-1 layer),
 * 4, then 2, then 1 at a time. */
static void vb_conv_f32_run(const vb_conv_f32_params_t *p, const float *x0, const float *w0, int32_t rows,
                            int32_t n, int32_t pstep, int32_t count, float *out)
{
    while (count > 0) {
        const int32_t pixels = count >= 4 ? 4 : (count >= 2 ? 2 : 1);
        vb_conv_f32_pixels(p, x0, w0, rows, n, pstep, pixels, out);
        x0 += pixels * pstep;
        out += pixels * p->out_c;
        count -= pixels;
    }
}

void vb_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    if (p->dilation_w != 1) {
        vb_conv_2d_f32_plain(p, input, output);
        return;
    }
    const int32_t in_c = p->in_c, out_c = p->out_c, fw = p->filter_w, in_w = p->in_w, sw = p->stride_w;
    const int32_t npix = p->out_h * p->out_w;
    if (p->filter_h == 1 && fw == 1 && sw == 1 && p->stride_h == 1 && p->pad_h == 0 && p->pad_w == 0 &&
        p->out_w == in_w && p->out_h == p->in_h) {
        /* 1x1, stride 1, unpadded: every pixel's input is in_c consecutive floats */
        for (int32_t b = 0; b < p->batches; ++b) {
            vb_conv_f32_run(p, input + b * npix * in_c, p->filter, 1, in_c, in_c, npix, output + b * npix * out_c);
        }
        return;
    }
    /* output columns whose windows lie wholly inside the image: [full0, full1) */
    int32_t full0 = 0, full1 = 0;
    VB_INSIDE_COLS(in_w, fw, p->pad_w, sw, p->out_w, full0, full1);
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_batch = input + b * p->in_h * in_w * in_c;
        VB_FOR_OUT_ROWS(p, vb_f32_range, oy, iy0, fy0, fy1, {
            const int32_t rows = fy1 - fy0;
            const float *in_rows = in_batch + (iy0 + fy0 * p->dilation_h) * in_w * in_c;
            const float *w_rows = p->filter + fy0 * fw * in_c;
            float *out = output + (b * p->out_h + oy) * p->out_w * out_c;
            for (int32_t ox = 0; ox < p->out_w;) {
                const int32_t ix0 = ox * sw - p->pad_w;
                if (ox == full0 && full1 > full0) {
                    vb_conv_f32_run(p, in_rows + ix0 * in_c, w_rows, rows, fw * in_c, sw * in_c, full1 - full0,
                                    out + ox * out_c);
                    ox = full1;
                    continue;
                }
                int32_t fx0, fx1;
                vb_f32_range(ix0, fw, 1, in_w, &fx0, &fx1);
                vb_conv_f32_pixels(p, in_rows + (ix0 + fx0) * in_c, w_rows + fx0 * in_c, rows, (fx1 - fx0) * in_c, 0, 1,
                                   out + ox * out_c);
                ++ox;
            }
        })
    }
}
