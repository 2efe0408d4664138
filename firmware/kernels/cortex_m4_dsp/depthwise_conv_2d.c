/* DEPTHWISE_CONV_2D for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact with
 * reference/depthwise_conv_2d.c.
 *
 * Depth multiplier 1: channels in groups of 4 (one word of NHWC input per tap). For each group
 * the filter taps of its 4 channels are copied once into a small stack table (out of the
 * flash D-cache's way), then every output pixel accumulates its valid taps with
 * SXTAB16 (unpack + input offset), SXTB16 (filter) and SMLABB/SMLATT (one MAC per channel),
 * four accumulators in registers. Accumulators of VB_DW_BLOCK pixels are requantized per
 * channel in one run (vb_dsp_requant_store). Taps outside the image are skipped, as in the
 * reference. Remaining channels (in_c % 4) and depth multipliers > 1 take a scalar path with
 * the same blocking; a filter larger than VB_DW_MAX_TAPS taps takes a plain loop nest. No scratch memory. */
#include "dsp_common.h"

#define VB_DW_BLOCK 16
#define VB_DW_MAX_TAPS 64

/* Valid tap range [lo, hi) along one axis for an output whose first tap is at i0. */
static inline void vb_dw_range(int32_t i0, int32_t k, int32_t dil, int32_t size, int32_t *lo, int32_t *hi)
{
    int32_t a = 0, b = k;
    if (dil == 1) {
        a = -i0 > 0 ? -i0 : 0;
        b = size - i0 < k ? size - i0 : k;
    } else {
        while (a < k && i0 + a * dil < 0) {
            ++a;
        }
        while (b > a && i0 + (b - 1) * dil >= size) {
            --b;
        }
    }
    if (b < a) {
        b = a;
    }
    *lo = a;
    *hi = b;
}

/* Plain loop nest (the reference's order and arithmetic). */
static void vb_dw_plain(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, dm = p->depth_multiplier;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    const int32_t ic = oc / dm;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
                        const int32_t iy = oy * p->stride_h - p->pad_h + p->dilation_h * ky;
                        if (iy < 0 || iy >= p->in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < p->filter_w; ++kx) {
                            const int32_t ix = ox * p->stride_w - p->pad_w + p->dilation_w * kx;
                            if (ix < 0 || ix >= p->in_w) {
                                continue;
                            }
                            acc += p->filter[(ky * p->filter_w + kx) * out_c + oc] *
                                   (in_batch[(iy * p->in_w + ix) * in_c + ic] + p->input_offset);
                        }
                    }
                    acc += p->bias[oc];
                    acc = vb_requantize(acc, p->multiplier[oc], p->shift[oc], p->flags);
                    acc += p->output_offset;
                    *output++ = (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* Output pixel q of the batch: first input row/column and valid tap ranges. */
typedef struct {
    int32_t iy0, ix0, ky0, ky1, kx0, kx1;
} vb_dw_px_t;

static inline void vb_dw_pixel(const vb_conv_params_t *p, int32_t oy, int32_t ox, vb_dw_px_t *px)
{
    px->iy0 = oy * p->stride_h - p->pad_h;
    px->ix0 = ox * p->stride_w - p->pad_w;
    vb_dw_range(px->iy0, p->filter_h, p->dilation_h, p->in_h, &px->ky0, &px->ky1);
    vb_dw_range(px->ix0, p->filter_w, p->dilation_w, p->in_w, &px->kx0, &px->kx1);
}

/* 4 channels (c .. c + 3, depth multiplier 1) of one output pixel. */
static inline void vb_dw_group_pixel(const vb_conv_params_t *p, const int8_t *in_c0, const uint32_t *wtab,
                                     const vb_dw_px_t *px, int32_t off2, int32_t *a)
{
    const int32_t C = p->in_c, fw = p->filter_w;
    const int32_t col_step = p->dilation_w * C, row_step = p->dilation_h * p->in_w * C;
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    const int8_t *row = in_c0 + ((px->iy0 + px->ky0 * p->dilation_h) * p->in_w +
                                 px->ix0 + px->kx0 * p->dilation_w) * C;
    const int32_t nk = px->kx1 - px->kx0;
    for (int32_t ky = px->ky0; ky < px->ky1; ++ky, row += row_step) {
        const uint32_t *w = wtab + ky * fw + px->kx0;
        const int8_t *x = row;
        for (int32_t k = nk; k > 0; --k, x += col_step) {
            const uint32_t xv = vb_rd32(x), wv = *w++;
            const int32_t xe = vb_sxtab16(off2, xv), xo = vb_sxtab16_ror8(off2, xv);
            const int32_t we = vb_sxtb16(wv), wo = vb_sxtb16_ror8(wv);
            a0 = vb_smlabb(xe, we, a0);
            a2 = vb_smlatt(xe, we, a2);
            a1 = vb_smlabb(xo, wo, a1);
            a3 = vb_smlatt(xo, wo, a3);
        }
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
}

/* 4 channels of an output pixel whose 3x3 taps (dilation 1) all lie inside the image; x points
 * at the top-left tap's channel c. */
#define VB_DW_TAP(xp, wv)                                                        \
    do {                                                                         \
        const uint32_t xv_ = vb_rd32(xp), wv_ = (wv);                            \
        const int32_t xe_ = vb_sxtab16(off2, xv_), xo_ = vb_sxtab16_ror8(off2, xv_); \
        const int32_t we_ = vb_sxtb16(wv_), wo_ = vb_sxtb16_ror8(wv_);           \
        a0 = vb_smlabb(xe_, we_, a0);                                            \
        a2 = vb_smlatt(xe_, we_, a2);                                            \
        a1 = vb_smlabb(xo_, wo_, a1);                                            \
        a3 = vb_smlatt(xo_, wo_, a3);                                            \
    } while (0)

static inline void vb_dw_group_3x3(const int8_t *x, int32_t C, int32_t row_step, const uint32_t *w,
                                   int32_t off2, int32_t *a)
{
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    for (int32_t r = 0; r < 3; ++r, x += row_step, w += 3) {
        VB_DW_TAP(x, w[0]);
        VB_DW_TAP(x + C, w[1]);
        VB_DW_TAP(x + 2 * C, w[2]);
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
}

/* One output channel (any depth multiplier) of one output pixel. */
static inline int32_t vb_dw_channel_pixel(const vb_conv_params_t *p, const int8_t *in_ic, const int8_t *wcol,
                                          const vb_dw_px_t *px, int32_t acc)
{
    const int32_t C = p->in_c, out_c = p->out_c, fw = p->filter_w, off = p->input_offset;
    for (int32_t ky = px->ky0; ky < px->ky1; ++ky) {
        const int32_t row = (px->iy0 + ky * p->dilation_h) * p->in_w + px->ix0;
        const int8_t *w = wcol + ky * fw * out_c;
        for (int32_t kx = px->kx0; kx < px->kx1; ++kx) {
            acc += w[kx * out_c] * (in_ic[(row + kx * p->dilation_w) * C] + off);
        }
    }
    return acc;
}

void vb_depthwise_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t taps = p->filter_h * p->filter_w;
    if (taps > VB_DW_MAX_TAPS) {
        vb_dw_plain(p, input, output);
        return;
    }
    const int32_t C = p->in_c, out_c = p->out_c, dm = p->depth_multiplier;
    const int32_t npix = p->out_h * p->out_w;
    const int32_t groups = dm == 1 ? C >> 2 : 0;
    const int32_t off2 = vb_dup16(p->input_offset);
    const int fast3x3 = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 && p->dilation_w == 1;
    uint32_t wtab[VB_DW_MAX_TAPS];
    int32_t acc[4][VB_DW_BLOCK];

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * C;
        int8_t *out_batch = output + b * npix * out_c;
        /* SIMD groups of 4 channels */
        for (int32_t g = 0; g < groups; ++g) {
            const int32_t c = 4 * g;
            for (int32_t t = 0; t < taps; ++t) {
                wtab[t] = vb_rd32(p->filter + t * out_c + c);
            }
            const int32_t bias[4] = {p->bias[c], p->bias[c + 1], p->bias[c + 2], p->bias[c + 3]};
            int32_t oy = 0, ox = 0;
            for (int32_t q0 = 0; q0 < npix; q0 += VB_DW_BLOCK) {
                const int32_t n = npix - q0 < VB_DW_BLOCK ? npix - q0 : VB_DW_BLOCK;
                for (int32_t i = 0; i < n; ++i) {
                    int32_t a[4] = {bias[0], bias[1], bias[2], bias[3]};
                    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
                    if (fast3x3 && iy0 >= 0 && iy0 + 3 <= p->in_h && ix0 >= 0 && ix0 + 3 <= p->in_w) {
                        vb_dw_group_3x3(in_batch + (iy0 * p->in_w + ix0) * C + c, C, p->in_w * C, wtab, off2, a);
                    } else {
                        vb_dw_px_t px;
                        vb_dw_pixel(p, oy, ox, &px);
                        if (px.ky1 > px.ky0 && px.kx1 > px.kx0) {
                            vb_dw_group_pixel(p, in_batch + c, wtab, &px, off2, a);
                        }
                    }
                    acc[0][i] = a[0];
                    acc[1][i] = a[1];
                    acc[2][i] = a[2];
                    acc[3][i] = a[3];
                    if (++ox == p->out_w) {
                        ox = 0;
                        ++oy;
                    }
                }
                for (int32_t j = 0; j < 4; ++j) {
                    vb_dsp_requant_store(acc[j], n, out_batch + q0 * out_c + c + j, out_c, p->multiplier[c + j],
                                         p->shift[c + j], p->flags, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
        /* remaining output channels, one at a time */
        for (int32_t oc = 4 * groups; oc < out_c; ++oc) {
            const int8_t *in_ic = in_batch + oc / dm;
            int32_t oy = 0, ox = 0;
            for (int32_t q0 = 0; q0 < npix; q0 += VB_DW_BLOCK) {
                const int32_t n = npix - q0 < VB_DW_BLOCK ? npix - q0 : VB_DW_BLOCK;
                for (int32_t i = 0; i < n; ++i) {
                    vb_dw_px_t px;
                    vb_dw_pixel(p, oy, ox, &px);
                    acc[0][i] = vb_dw_channel_pixel(p, in_ic, p->filter + oc, &px, p->bias[oc]);
                    if (++ox == p->out_w) {
                        ox = 0;
                        ++oy;
                    }
                }
                vb_dsp_requant_store(acc[0], n, out_batch + q0 * out_c + oc, out_c, p->multiplier[oc],
                                     p->shift[oc], p->flags, p->output_offset, p->act_min, p->act_max);
            }
        }
    }
}
