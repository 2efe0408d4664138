/* CONV_2D on sparse weights (kernels_sparse.h), bit-exact with reference/conv_2d.c.
 *
 * Output pixels go VB_SPARSE_COLS (8) at a time: their patches are laid out in the layer's
 * scratch as int16 columns, position major (cols[k * 8 + j]), taps in the padding = the input
 * zero point (the bias has -zp * sum(w) folded in, so they add 0), columns past the last pixel
 * = 0. Then, for each output channel, every stored entry is decoded once (delta, value) and
 * applied to the 8 columns: one pointer step of delta * 8 values and 8 multiply-accumulates
 * into int32 accumulators started from the bias. Zero weights cost nothing; a gap wider than
 * 255 costs one (255, 0) entry. Requantization per channel over the block. */
#include "kernels_common.h"
#include "kernels_sparse.h"
#include "kernels_conv.h"

/* Patch of output pixel (oy, ox) into column `col` (stride VB_SPARSE_COLS). */
static void vb_sparse_im2col(const vb_conv_sparse_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                             int16_t *col)
{
    const int32_t in_c = p->in_c, fw = p->filter_w;
    const int16_t zp = (int16_t)p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        const int row_inside = iy >= 0 && iy < p->in_h;
        const int8_t *row = in_batch + (row_inside ? iy : 0) * p->in_w * in_c;
        for (int32_t kx = 0; kx < fw; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            int32_t c = 0;
            if (!row_inside || ix < 0 || ix >= p->in_w) {
                for (; c < in_c; ++c, col += VB_SPARSE_COLS) {
                    *col = zp;
                }
                continue;
            }
            const int8_t *src = row + ix * in_c;
            for (; c + 4 <= in_c; c += 4, col += 4 * VB_SPARSE_COLS) {
                col[0] = src[c];
                col[VB_SPARSE_COLS] = src[c + 1];
                col[2 * VB_SPARSE_COLS] = src[c + 2];
                col[3 * VB_SPARSE_COLS] = src[c + 3];
            }
            for (; c < in_c; ++c, col += VB_SPARSE_COLS) {
                *col = src[c];
            }
        }
    }
}

void vb_conv_2d_sparse(const vb_conv_sparse_params_t *p, const int8_t *input, int16_t *cols, int8_t *output)
{
    const int32_t K = p->filter_h * p->filter_w * p->in_c;
    const int32_t out_c = p->out_c, npix = p->out_h * p->out_w;
    VB_FOR_CONV_BATCHES(p, input, output, npix, out_c, in_batch, out_batch, {
        VB_FOR_PIXEL_BLOCKS(npix, VB_SPARSE_COLS, oy, ox, q0, n, {
            for (int32_t j = 0; j < n; ++j) {
                vb_sparse_im2col(p, in_batch, oy, ox, cols + j);
                VB_NEXT_PIXEL(oy, ox, p->out_w);
            }
            VB_SPARSE_ZERO_COLS(cols, n, VB_SPARSE_COLS, K);
            const int16_t *e = p->entries;
            int8_t *out = out_batch + q0 * out_c;
            for (int32_t oc = 0; oc < out_c; ++oc) {
                const int32_t bias = p->bias[oc];
                int32_t a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias;
                const int16_t *x = cols;
                for (int32_t cnt = p->counts[oc]; cnt > 0; --cnt) {
                    const int32_t ent = *e++;
                    x += (ent & 0xFF) * VB_SPARSE_COLS;
                    const int32_t v = ent >> 8;
                    a0 += v * x[0];
                    a1 += v * x[1];
                    a2 += v * x[2];
                    a3 += v * x[3];
                    a4 += v * x[4];
                    a5 += v * x[5];
                    a6 += v * x[6];
                    a7 += v * x[7];
                }
                const int32_t acc[VB_SPARSE_COLS] = {a0, a1, a2, a3, a4, a5, a6, a7};
                for (int32_t j = 0; j < n; ++j) {
                    int32_t r = vb_requantize(acc[j], p->multiplier[oc], p->shift[oc], p->flags);
                    r += p->output_offset;
                    out[j * out_c + oc] = (int8_t)vb_clamp_i32(r, p->act_min, p->act_max);
                }
            }
        })
    })
}
