/* DEPTHWISE_CONV_2D for RV32IM cores (rv32 variant), bit-exact with
 * reference/depthwise_conv_2d.c.
 *
 * One output channel at a time (any depth multiplier).
 *
 * 3x3 filters, dilation 1 (the MLPerf Tiny models): the input channel is copied into an int16
 * plane in the runtime's scratch buffer with the input offset added and zero padding around
 * it (a tap in the padding then adds 0, which is what skipping it in the reference amounts
 * to), in horizontal stripes when the scratch is smaller than the plane. Every output pixel is
 * then nine LH + MUL + ADD from three row pointers with immediate offsets, the nine taps in
 * registers, no bounds checks. Other filter shapes, or too little scratch: taps outside the
 * image skipped per pixel. Accumulators of VB_RV_DW_BLOCK pixels are requantized in one run. */
#include "kernels_conv.h"
#include "rv32_common.h"

#define VB_RV_DW_BLOCK 32

/* One output channel of one output pixel, taps outside the image skipped. */
static int32_t vb_rv_dw_generic(const vb_conv_params_t *p, const int8_t *in_ic, const int8_t *wcol,
                                int32_t oy, int32_t ox, int32_t acc)
{
    const int32_t C = p->in_c, out_c = p->out_c, off = p->input_offset;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    VB_FOR_EACH_TAP(p, iy0, ix0, ky, kx, iy, ix, {
        acc += wcol[(ky * p->filter_w + kx) * out_c] * (in_ic[(iy * p->in_w + ix) * C] + off);
    })
    return acc;
}

/* acc[i] = bias + 3x3 taps of output pixel i of a plane row triple (r0, r1, r2 advance by
 * `step` int16 per pixel). */
__attribute__((noinline)) static void vb_rv_dw_row3x3(const int16_t *r0, const int16_t *r1, const int16_t *r2,
                                                      int32_t n, int32_t step, const int32_t *w, int32_t bias,
                                                      int32_t *acc)
{
    const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7],
                  w8 = w[8];
    for (; n > 0; --n) {
        int32_t a = bias;
        a += w0 * r0[0];
        a += w1 * r0[1];
        a += w2 * r0[2];
        a += w3 * r1[0];
        a += w4 * r1[1];
        a += w5 * r1[2];
        a += w6 * r2[0];
        a += w7 * r2[1];
        a += w8 * r2[2];
        *acc++ = a;
        r0 += step;
        r1 += step;
        r2 += step;
    }
}

/* Channels over int16 planes (3x3, dilation 1): rows of wp values, at most max_rows of them.
 * (The padding runs are a few values: no memset calls for them.) */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) static void vb_rv_dw_planes(const vb_conv_params_t *p, const int8_t *in_batch, int8_t *out_batch, int16_t *plane,
                            int32_t wp, int32_t max_rows)
{
    const int32_t C = p->in_c, out_c = p->out_c, dm = p->depth_multiplier, sh = p->stride_h;
    const int32_t out_w = p->out_w, off = p->input_offset;
    const int32_t rows_per_stripe = (max_rows - 3) / sh + 1;
    const int32_t left = p->pad_w < wp ? p->pad_w : wp;
    const int32_t right = p->pad_w + p->in_w < wp ? p->pad_w + p->in_w : wp;
    int32_t acc[VB_RV_DW_BLOCK];
    for (int32_t ic = 0; ic < C; ++ic) {
        for (int32_t oy0 = 0; oy0 < p->out_h; oy0 += rows_per_stripe) {
            const int32_t oy1 = oy0 + rows_per_stripe < p->out_h ? oy0 + rows_per_stripe : p->out_h;
            const int32_t iy0 = oy0 * sh - p->pad_h, nrows = (oy1 - 1 - oy0) * sh + 3;
            for (int32_t r = 0; r < nrows; ++r) {
                const int32_t iy = iy0 + r;
                int16_t *dst = plane + r * wp;
                int32_t i = 0;
                if (iy >= 0 && iy < p->in_h) {
                    const int8_t *src = in_batch + iy * p->in_w * C + ic;
                    for (; i < left; ++i) {
                        dst[i] = 0;
                    }
                    for (; i < right; ++i, src += C) {
                        dst[i] = (int16_t)(*src + off);
                    }
                }
                for (; i < wp; ++i) {
                    dst[i] = 0;
                }
            }
            for (int32_t m = 0; m < dm; ++m) {
                const int32_t oc = ic * dm + m;
                int32_t w[9];
                for (int32_t t = 0; t < 9; ++t) {
                    w[t] = p->filter[t * out_c + oc];
                }
                /* accumulators of consecutive output pixels (across rows) until the block is full */
                int32_t q0 = oy0 * out_w, fill = 0;
                for (int32_t oy = oy0; oy < oy1; ++oy) {
                    const int16_t *r0 = plane + (oy - oy0) * sh * wp;
                    for (int32_t ox = 0; ox < out_w;) {
                        const int32_t n = out_w - ox < VB_RV_DW_BLOCK - fill ? out_w - ox : VB_RV_DW_BLOCK - fill;
                        const int16_t *r = r0 + ox * p->stride_w;
                        vb_rv_dw_row3x3(r, r + wp, r + 2 * wp, n, p->stride_w, w, p->bias[oc], acc + fill);
                        ox += n;
                        fill += n;
                        if (fill == VB_RV_DW_BLOCK || (oy == oy1 - 1 && ox == out_w)) {
                            vb_rv_requant_store(acc, fill, out_batch + q0 * out_c + oc, out_c, p->multiplier[oc],
                                                p->shift[oc], p->flags, p->output_offset, p->act_min, p->act_max);
                            q0 += fill;
                            fill = 0;
                        }
                    }
                }
            }
        }
    }
}

void vb_depthwise_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t C = p->in_c, out_c = p->out_c, dm = p->depth_multiplier;
    const int32_t npix = p->out_h * p->out_w;
    const int32_t wp = (p->out_w - 1) * p->stride_w + 3;
    uint32_t scratch_bytes = 0;
    int16_t *plane = (int16_t *)vb_kernel_scratch(&scratch_bytes);
    const int32_t max_rows = plane ? (int32_t)(scratch_bytes / ((uint32_t)wp * 2u)) : 0;
    const int fast3x3 = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 && p->dilation_w == 1 &&
                        max_rows >= 3;
    int32_t acc[VB_RV_DW_BLOCK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * C;
        int8_t *out_batch = output + b * npix * out_c;
        if (fast3x3) {
            vb_rv_dw_planes(p, in_batch, out_batch, plane, wp, max_rows);
            continue;
        }
        for (int32_t oc = 0; oc < out_c; ++oc) {
            const int8_t *in_ic = in_batch + oc / dm;
            VB_FOR_PIXEL_BLOCKS(npix, VB_RV_DW_BLOCK, oy, ox, q0, n, {
                for (int32_t i = 0; i < n; ++i) {
                    acc[i] = vb_rv_dw_generic(p, in_ic, p->filter + oc, oy, ox, p->bias[oc]);
                    VB_NEXT_PIXEL(oy, ox, p->out_w);
                }
                vb_rv_requant_store(acc, n, out_batch + q0 * out_c + oc, out_c, p->multiplier[oc], p->shift[oc],
                                    p->flags, p->output_offset, p->act_min, p->act_max);
            })
        }
    }
}
