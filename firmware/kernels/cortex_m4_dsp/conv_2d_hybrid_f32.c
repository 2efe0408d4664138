/* CONV_2D with float activations and int8 weights (TFLite hybrid conv), Cortex-M4 DSP
 * (cortex_m4_dsp variant): bit-exact with reference/conv_2d_hybrid_f32.c.
 *
 * 1. Per batch the input is quantized exactly as the reference does (same range, scale and
 *    rounding; max |x| found on the bit patterns, which for finite floats order like |x|).
 * 2. The int32 dot products are exact in any order, so they use the DSP extension as the int8
 *    CONV_2D of this variant does (conv_2d.c): the quantized patches of up to 16 output pixels
 *    go into the runtime's scratch as SXTB16-unpacked halfword pairs (padding and the round-up
 *    of K to whole groups of 4 taps are 0, the input zero point being 0), two columns
 *    interleaved group by group; then for every pair of output channels a hand-scheduled loop
 *    (vb_hyb_dot2x2) runs over the column pairs: per group of 4 taps two filter words unpacked by
 *    SXTB16, four column words, eight SMLADs (20 cycles per 16 MACs), the two filter rows
 *    staying in the flash D-cache across the block. An odd last channel takes a C loop.
 *    Without enough scratch for one column pair: runs of consecutive taps straight from the
 *    quantized input (vb_hyb_p2c2 / vb_hyb_p1c1, SXTB16 + SMLAD on both operands).
 * 3. y = act(acc * (input_scale * filter_scale) + bias), without FMA contraction (fpu_f32.h). */
#include "dsp_common.h"
#include "fpu_f32.h"
#include "kernels_conv.h"

/* Quantize n floats symmetrically into q; returns the scale (1 for an all-zero input).
 * TfliteRound (round half away from zero) as the reference: truncate, then step away from zero
 * when the exact remainder v - trunc(v) is >= 0.5 in magnitude, tested on its bit pattern
 * (0x3F000000 = 0.5, 0xBF000000 = -0.5; the remainder has v's sign) instead of by FP compares.
 * No clamp to [-127, 127]: |x| <= range gives |x * (127 / range)| <= 127 (1 + 2^-23)^2 < 127.5. */
static float vb_hyb_quantize(const float *x, int8_t *q, int32_t n)
{
    const uint32_t *bits = (const uint32_t *)(const void *)x;
    uint32_t top = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t a0 = bits[i] & 0x7FFFFFFFu, a1 = bits[i + 1] & 0x7FFFFFFFu;
        const uint32_t a2 = bits[i + 2] & 0x7FFFFFFFu, a3 = bits[i + 3] & 0x7FFFFFFFu;
        top = a0 > top ? a0 : top;
        top = a1 > top ? a1 : top;
        top = a2 > top ? a2 : top;
        top = a3 > top ? a3 : top;
    }
    for (; i < n; ++i) {
        const uint32_t a = bits[i] & 0x7FFFFFFFu;
        top = a > top ? a : top;
    }
    float range;
    memcpy(&range, &top, 4);
    if (range == 0.0f) {
        for (i = 0; i < n; ++i) {
            q[i] = 0;
        }
        return 1.0f;
    }
    const float inv = 127.0f / range;
    for (i = 0; i < n; ++i) {
        const float v = x[i] * inv;
        int32_t t = (int32_t)v;
        const float frac = v - (float)t;
        uint32_t fb;
        memcpy(&fb, &frac, 4);
        t += (int32_t)fb >= 0x3F000000;
        t -= fb >= 0xBF000000u;
        q[i] = (int8_t)t;
    }
    return range / 127.0f;
}

/* Sums over `rows` runs of n taps (xrow / wrow bytes apart) for pixels x0, x1 and filters w0,
 * w1 = w0 + wch: a[0] = x0.w0, a[1] = x0.w1, a[2] = x1.w0, a[3] = x1.w1 (added to a). */
static void vb_hyb_p2c2(const int8_t *x0, const int8_t *x1, const int8_t *w0, int32_t wch, int32_t n,
                        int32_t rows, int32_t xrow, int32_t wrow, int32_t *a)
{
    int32_t s00 = a[0], s01 = a[1], s10 = a[2], s11 = a[3];
    const int32_t groups = n >> 2, rest = n & 3;
    for (int32_t r = 0; r < rows; ++r, x0 += xrow, x1 += xrow, w0 += wrow) {
        const int8_t *p0 = x0, *p1 = x1, *f0 = w0, *f1 = w0 + wch;
        for (int32_t g = groups; g > 0; --g, p0 += 4, p1 += 4, f0 += 4, f1 += 4) {
            const uint32_t xa = vb_rd32(p0), xb = vb_rd32(p1), wa = vb_rd32(f0), wb = vb_rd32(f1);
            const int32_t xae = vb_sxtb16(xa), xao = vb_sxtb16_ror8(xa);
            const int32_t xbe = vb_sxtb16(xb), xbo = vb_sxtb16_ror8(xb);
            const int32_t wae = vb_sxtb16(wa), wao = vb_sxtb16_ror8(wa);
            const int32_t wbe = vb_sxtb16(wb), wbo = vb_sxtb16_ror8(wb);
            s00 = vb_smlad(xae, wae, s00);
            s00 = vb_smlad(xao, wao, s00);
            s01 = vb_smlad(xae, wbe, s01);
            s01 = vb_smlad(xao, wbo, s01);
            s10 = vb_smlad(xbe, wae, s10);
            s10 = vb_smlad(xbo, wao, s10);
            s11 = vb_smlad(xbe, wbe, s11);
            s11 = vb_smlad(xbo, wbo, s11);
        }
        for (int32_t k = 0; k < rest; ++k) {
            s00 += p0[k] * f0[k];
            s01 += p0[k] * f1[k];
            s10 += p1[k] * f0[k];
            s11 += p1[k] * f1[k];
        }
    }
    a[0] = s00;
    a[1] = s01;
    a[2] = s10;
    a[3] = s11;
}

/* One pixel, one channel. */
static int32_t vb_hyb_p1c1(const int8_t *x, const int8_t *w, int32_t n, int32_t rows, int32_t xrow, int32_t wrow)
{
    int32_t s = 0;
    const int32_t groups = n >> 2, rest = n & 3;
    for (int32_t r = 0; r < rows; ++r, x += xrow, w += wrow) {
        const int8_t *p = x, *f = w;
        for (int32_t g = groups; g > 0; --g, p += 4, f += 4) {
            const uint32_t xa = vb_rd32(p), wa = vb_rd32(f);
            s = vb_smlad(vb_sxtb16(xa), vb_sxtb16(wa), s);
            s = vb_smlad(vb_sxtb16_ror8(xa), vb_sxtb16_ror8(wa), s);
        }
        for (int32_t k = 0; k < rest; ++k) {
            s += p[k] * f[k];
        }
    }
    return s;
}

VB_DEFINE_TAP_RANGE(static, vb_hyb_range)

static inline float vb_hyb_out(int32_t acc, float out_scale, float bias, float lo, float hi)
{
    const float y = (float)acc * out_scale;
    return vb_act_f32(y + bias, lo, hi);
}


/* ---------------------------------------------------------------- blocked path (scratch) */

#define VB_HYB_COLS 16

/* The K-tap quantized patch of output pixel (oy, ox) into `patch` (int8, padding and the round-up
 * to 4 * groups taps zero). */
static void vb_hyb_patch(const vb_conv_hybrid_f32_params_t *p, const int8_t *q, int32_t oy, int32_t ox,
                         int8_t *patch, int32_t groups)
{
    const int32_t in_c = p->in_c, fw = p->filter_w;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int8_t *d = patch;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * p->dilation_h;
        for (int32_t fx = 0; fx < fw; ++fx) {
            const int32_t ix = ix0 + fx * p->dilation_w;
            if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < in_c; ++c) {
                    *d++ = 0;
                }
            } else {
                const int8_t *src = q + (iy * p->in_w + ix) * in_c;
                for (int32_t c = 0; c < in_c; ++c) {
                    *d++ = src[c];
                }
            }
        }
    }
    while (d < patch + 4 * groups) {
        *d++ = 0;
    }
}

/* `groups` groups of 4 int8 taps into one column slot: per group SXTB16(x), SXTB16(x ROR 8),
 * then the slot's neighbour column's two words. */
static void vb_hyb_col(const int8_t *src, int32_t groups, int32_t *dst)
{
    for (; groups > 0; --groups, src += 4, dst += 4) {
        const uint32_t x = vb_rd32(src);
        dst[0] = vb_sxtb16(x);
        dst[1] = vb_sxtb16_ror8(x);
    }
}

/* Two filter rows (w0, w1 = w0 + K) against `npairs` consecutive column pairs, G groups:
 * acc[c] = row 0 . column c, acc[VB_HYB_COLS + c] = row 1 . column c. */
#if VB_DSP_NATIVE
/* As conv_2d.c's vb_dot2x2_pairs (sums from 0): all 14 usable registers (4 accumulators, 4 column
 * words, 2 filter words, 3 pointers, 1 counter); per group one filter LDR pipelined with the four
 * column LDRs, 2 SXTB16 + 4 SMLAD per filter row, 20 cycles per 16 MACs; unrolled twice. */

__attribute__((naked, noinline)) static void vb_hyb_dot2x2(VB_UNUSED const int32_t *x,
                                                           VB_UNUSED const int8_t *w0,
                                                           VB_UNUSED const int8_t *w1,
                                                           VB_UNUSED int32_t groups,
                                                           VB_UNUSED int32_t *acc,
                                                           VB_UNUSED int32_t npairs)
{
    /* r10/r12 = row 0 x columns 2j/2j+1, r11/lr = row 1; r0 = column pointer - 4 (runs on from
     * pair to pair), r1/r2 = filter rows, r3 = group count */
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0-r3}\n"                  /* sp+0 x, +4 w0, +8 w1, +12 groups; acc +52, npairs +56 */
        "    subs    r0, r0, #4\n"
        "1:  movs    r10, #0\n"
        "    movs    r11, #0\n"
        "    movs    r12, #0\n"
        "    mov     lr, #0\n"
        "    ldrd    r1, r2, [sp, #4]\n"
        "    ldr     r3, [sp, #12]\n"
        VB_DSP_GROUPS_2X2
        "3:  ldr     r4, [sp, #52]\n"
        "    strd    r11, lr, [r4, #" VB_STR(VB_HYB_COLS) " * 4]\n"
        "    strd    r10, r12, [r4], #8\n"
        "    str     r4, [sp, #52]\n"
        "    ldr     r5, [sp, #56]\n"
        "    subs    r5, r5, #1\n"
        "    str     r5, [sp, #56]\n"
        "    bne     1b\n"
        "    add     sp, sp, #16\n"
        "    pop     {r4-r11, pc}\n");
}
#else
static void vb_hyb_dot2x2_c(const int32_t *x, const int8_t *w0, const int8_t *w1, int32_t groups, int32_t *acc,
                            int32_t npairs, int32_t K)
{
    for (int32_t j = 0; j < npairs; ++j, acc += 2) {
        int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
        for (int32_t g = 0; g < groups; ++g, x += 4) {
            const uint32_t wa = vb_rd32_part(w0 + 4 * g, K - 4 * g), wb = vb_rd32_part(w1 + 4 * g, K - 4 * g);
            const int32_t wae = vb_sxtb16(wa), wao = vb_sxtb16_ror8(wa), wbe = vb_sxtb16(wb), wbo = vb_sxtb16_ror8(wb);
            s00 = vb_smlad(x[1], wao, vb_smlad(x[0], wae, s00));
            s10 = vb_smlad(x[3], wao, vb_smlad(x[2], wae, s10));
            s01 = vb_smlad(x[1], wbo, vb_smlad(x[0], wbe, s01));
            s11 = vb_smlad(x[3], wbo, vb_smlad(x[2], wbe, s11));
        }
        acc[0] = s00;
        acc[1] = s10;
        acc[VB_HYB_COLS] = s01;
        acc[VB_HYB_COLS + 1] = s11;
    }
}
#endif

/* One filter row (K taps) against one column pair. */
static void vb_hyb_dot1x2(const int32_t *x, const int8_t *w, int32_t K, int32_t *a0, int32_t *a1)
{
    int32_t s0 = 0, s1 = 0, k = K;
    for (; k >= 4; k -= 4, w += 4, x += 4) {
        const uint32_t wa = vb_rd32(w);
        const int32_t we = vb_sxtb16(wa), wo = vb_sxtb16_ror8(wa);
        s0 = vb_smlad(x[1], wo, vb_smlad(x[0], we, s0));
        s1 = vb_smlad(x[3], wo, vb_smlad(x[2], we, s1));
    }
    if (k) {
        /* taps 0..k-1 of the last group: reordered halves [0, 2] and [1, 3] */
        const int16_t *h = (const int16_t *)(const void *)x;
        static const int8_t slot[4] = {0, 2, 1, 3};
        for (int32_t i = 0; i < k; ++i) {
            s0 += w[i] * h[slot[i]];
            s1 += w[i] * h[4 + slot[i]];
        }
    }
    *a0 = s0;
    *a1 = s1;
}

/* One batch through the scratch: blocks of up to max_cols output pixels. */
static void vb_hyb_blocked(const vb_conv_hybrid_f32_params_t *p, const int8_t *q, float out_scale, float *out,
                           int32_t *cols, int32_t max_cols, int8_t *patch)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, K = p->filter_h * p->filter_w * in_c;
    const int32_t groups = (K + 3) >> 2, npix = p->out_h * p->out_w;
    const int direct = (in_c & 3) == 0 && p->filter_h == 1 && p->filter_w == 1 && p->stride_h == 1 &&
                       p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0 && p->out_w == p->in_w;
    int32_t acc[2 * VB_HYB_COLS];
    VB_FOR_PIXEL_BLOCKS(npix, max_cols, oy, ox, q0, n, {
        const int32_t npairs = (n + 1) >> 1;
        for (int32_t i = 0; i < n; ++i) {
            int32_t *slot = cols + (i >> 1) * 4 * groups + 2 * (i & 1);
            if (direct) {   /* 1x1, stride 1, no padding: the pixel's in_c values are the patch */
                vb_hyb_col(q + (q0 + i) * in_c, groups, slot);
            } else {
                vb_hyb_patch(p, q, oy, ox, patch, groups);
                vb_hyb_col(patch, groups, slot);
            }
            VB_NEXT_PIXEL(oy, ox, p->out_w);
        }
        float *o = out + q0 * out_c;
        int32_t oc = 0;
        for (; oc + 2 <= out_c; oc += 2) {
            const int8_t *w0 = p->filter + oc * K;
#if VB_DSP_NATIVE
            vb_hyb_dot2x2(cols, w0, w0 + K, groups, acc, npairs);
#else
            vb_hyb_dot2x2_c(cols, w0, w0 + K, groups, acc, npairs, K);
#endif
            for (int32_t i = 0; i < n; ++i) {
                o[i * out_c + oc] = vb_hyb_out(acc[i], out_scale, p->bias[oc], p->act_min, p->act_max);
                o[i * out_c + oc + 1] = vb_hyb_out(acc[VB_HYB_COLS + i], out_scale, p->bias[oc + 1], p->act_min,
                                                   p->act_max);
            }
        }
        if (oc < out_c) {
            for (int32_t j = 0; j < npairs; ++j) {
                vb_hyb_dot1x2(cols + j * 4 * groups, p->filter + oc * K, K, &acc[2 * j], &acc[2 * j + 1]);
            }
            for (int32_t i = 0; i < n; ++i) {
                o[i * out_c + oc] = vb_hyb_out(acc[i], out_scale, p->bias[oc], p->act_min, p->act_max);
            }
        }
    })
}

void vb_conv_2d_hybrid_f32(const vb_conv_hybrid_f32_params_t *p, const float *input, int8_t *input_q,
                           float *output)
{
    const int32_t in_c = p->in_c, in_w = p->in_w, out_c = p->out_c, fw = p->filter_w;
    const int32_t input_size = p->in_h * in_w * in_c, K = p->filter_h * fw * in_c;
    const int32_t dw = p->dilation_w, xcol = dw * in_c;
    const int32_t xrow = p->dilation_h * in_w * in_c, wrow = fw * in_c;
    /* scratch: column pairs of 16 * groups bytes, then a K-byte patch (4 * groups) */
    const int32_t groups = (K + 3) >> 2, pair_bytes = 16 * groups;
    uint32_t scratch_bytes = 0;
    int32_t *cols = (int32_t *)vb_kernel_scratch(&scratch_bytes);
    int32_t max_cols = 0;
    if (cols && scratch_bytes >= (uint32_t)(pair_bytes + 4 * groups)) {
        max_cols = 2 * (int32_t)((scratch_bytes - 4u * (uint32_t)groups) / (uint32_t)pair_bytes);
        max_cols = max_cols < VB_HYB_COLS ? max_cols : VB_HYB_COLS;
    }
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *q = input_q + b * input_size;
        const float out_scale = vb_hyb_quantize(input + b * input_size, q, input_size) * p->filter_scale;
        if (max_cols > 0) {
            vb_hyb_blocked(p, q, out_scale, output + b * p->out_h * p->out_w * out_c, cols, max_cols,
                           (int8_t *)(cols + (max_cols >> 1) * 4 * groups));
            continue;
        }
        VB_FOR_OUT_ROWS(p, vb_hyb_range, oy, iy0, fy0, fy1, {
            const int32_t rows = fy1 - fy0;
            const int8_t *q_rows = q + (iy0 + fy0 * p->dilation_h) * in_w * in_c;
            float *out = output + ((b * p->out_h + oy) * p->out_w) * out_c;
            for (int32_t ox = 0; ox < p->out_w;) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0, fx1;
                vb_hyb_range(ix0, fw, dw, in_w, &fx0, &fx1);
                /* dilation 1: one run per filter row; otherwise one run of in_c per tap */
                const int32_t runs = dw == 1 ? (fx1 > fx0 ? 1 : 0) : fx1 - fx0;
                const int32_t n = dw == 1 ? (fx1 - fx0) * in_c : in_c;
                const int32_t pixels = (dw == 1 && fx0 == 0 && fx1 == fw && ox + 1 < p->out_w &&
                                        ix0 + p->stride_w + fw <= in_w) ? 2 : 1;
                const int8_t *x0 = q_rows + (ix0 + fx0 * dw) * in_c;
                const int8_t *w0 = p->filter + (fy0 * fw + fx0) * in_c;
                int32_t oc = 0;
                if (pixels == 2) {
                    const int8_t *x1 = x0 + p->stride_w * in_c;
                    for (; oc + 2 <= out_c; oc += 2) {
                        int32_t a[4] = {0, 0, 0, 0};
                        vb_hyb_p2c2(x0, x1, w0 + oc * K, K, n, rows, xrow, wrow, a);
                        out[oc] = vb_hyb_out(a[0], out_scale, p->bias[oc], p->act_min, p->act_max);
                        out[oc + 1] = vb_hyb_out(a[1], out_scale, p->bias[oc + 1], p->act_min, p->act_max);
                        out[out_c + oc] = vb_hyb_out(a[2], out_scale, p->bias[oc], p->act_min, p->act_max);
                        out[out_c + oc + 1] = vb_hyb_out(a[3], out_scale, p->bias[oc + 1], p->act_min,
                                                         p->act_max);
                    }
                    if (oc < out_c) {
                        const int32_t a0 = vb_hyb_p1c1(x0, w0 + oc * K, n, rows, xrow, wrow);
                        const int32_t a1 = vb_hyb_p1c1(x1, w0 + oc * K, n, rows, xrow, wrow);
                        out[oc] = vb_hyb_out(a0, out_scale, p->bias[oc], p->act_min, p->act_max);
                        out[out_c + oc] = vb_hyb_out(a1, out_scale, p->bias[oc], p->act_min, p->act_max);
                    }
                } else {
                    for (; oc < out_c; ++oc) {
                        int32_t acc = 0;
                        for (int32_t t = 0; t < runs; ++t) {
                            acc += vb_hyb_p1c1(x0 + t * xcol, w0 + oc * K + t * in_c, n, rows, xrow, wrow);
                        }
                        out[oc] = vb_hyb_out(acc, out_scale, p->bias[oc], p->act_min, p->act_max);
                    }
                }
                out += pixels * out_c;
                ox += pixels;
            }
        })
    }
}
