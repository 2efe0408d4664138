/* CONV_2D for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact with
 * reference/conv_2d.c.
 *
 * im2col of a block of output pixels (up to VB_CONV_MAX_COLS) into the runtime's scratch buffer
 * as int16 with the input offset added, in the reordered group layout of dsp_common.h; taps in
 * the padding become 0 (what skipping them in the reference amounts to), and so do the up to 3
 * taps that round K = filter_h * filter_w * in_c up to G = ceil(K / 4) groups. Two columns are
 * interleaved group by group ([col 0: 2 words][col 1: 2 words]) so one pointer walks both. When
 * in_c % 4 == 0 every run of input values is whole groups and goes straight in (LDR + 2 SXTAB16
 * + 2 STR per 4 values); otherwise the patch is first gathered as int8 (padding = the input zero
 * point) and converted group by group.
 *
 * For every pair of output channels, a hand-scheduled loop (vb_dot2x2_pairs) runs over the
 * block's column pairs: per group two filter words (int8, straight from flash; the last group
 * of a row may read up to 3 bytes past it, which meet zero columns) unpacked with SXTB16, four
 * column words and eight SMLADs (16 MACs), accumulators started from the biases. With K up to
 * about 120 the two filter rows fit the 8-line flash D-cache and meet all column pairs of the
 * block for one pass over flash; larger rows stream from flash per column pair. An odd
 * last channel uses a C loop; an odd last column is computed against whatever the pair's
 * second slot holds and not stored. Requantization per channel over the block
 * (vb_dsp_requant_store).
 *
 * Scratch: 4 * 4G bytes per column pair (+ 4G bytes of int8 patch when in_c % 4 != 0); with less
 * than one pair the kernel uses a plain loop nest with the reference's order and arithmetic. */
#include "dsp_common.h"
#include "kernels_conv.h"

#define VB_CONV_MAX_COLS 16

/* Column writer for one column slot: dst walks the slot's two words of each group. */
static inline int32_t *vb_col_put(int32_t *dst, const int8_t *src, int32_t groups, int32_t off2)
{
    for (; groups > 0; --groups, src += 4, dst += 4) {
        const uint32_t x = vb_rd32(src);
        dst[0] = vb_sxtab16(off2, x);
        dst[1] = vb_sxtab16_ror8(off2, x);
    }
    return dst;
}

static inline int32_t *vb_col_zero(int32_t *dst, int32_t groups)
{
    for (; groups > 0; --groups, dst += 4) {
        dst[0] = 0;
        dst[1] = 0;
    }
    return dst;
}

/* Valid kx range [lo, hi) of a filter row (dilation 1) whose first tap is at column ix0. */
static inline void vb_conv_kx_range(int32_t ix0, int32_t fw, int32_t in_w, int32_t *lo, int32_t *hi)
{
    int32_t a = -ix0 > 0 ? -ix0 : 0;
    int32_t b = in_w - ix0 < fw ? in_w - ix0 : fw;
    if (a > fw) {
        a = fw;
    }
    if (b < a) {
        b = a;
    }
    *lo = a;
    *hi = b;
}

/* in_c % 4 == 0: the patch of output pixel (oy, ox) straight into a column slot. */
static void vb_im2col_groups(const vb_conv_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                             int32_t *dst, int32_t off2)
{
    const int32_t in_c = p->in_c, gc = in_c >> 2, fw = p->filter_w;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            dst = vb_col_zero(dst, fw * gc);
            continue;
        }
        const int8_t *row = in_batch + iy * p->in_w * in_c;
        if (p->dilation_w == 1) {
            int32_t lo, hi;
            vb_conv_kx_range(ix0, fw, p->in_w, &lo, &hi);
            dst = vb_col_zero(dst, lo * gc);
            dst = vb_col_put(dst, row + (ix0 + lo) * in_c, (hi - lo) * gc, off2);
            dst = vb_col_zero(dst, (fw - hi) * gc);
        } else {
            for (int32_t kx = 0; kx < fw; ++kx) {
                const int32_t ix = ix0 + kx * p->dilation_w;
                dst = ix < 0 || ix >= p->in_w ? vb_col_zero(dst, gc) : vb_col_put(dst, row + ix * in_c, gc, off2);
            }
        }
    }
}

/* Any in_c: gather the int8 patch (padding and the round-up to 4G taps = the input zero point),
 * then convert it group by group into a column slot. */
static void vb_im2col_patch(const vb_conv_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                            int8_t *patch, int32_t groups, int32_t *dst, int32_t off2)
{
    const int32_t in_c = p->in_c, fw = p->filter_w, run = fw * in_c;
    const int8_t zp = (int8_t)(-p->input_offset);
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    int8_t *d = patch;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            memset(d, zp, (size_t)run);
            d += run;
            continue;
        }
        const int8_t *row = in_batch + iy * p->in_w * in_c;
        for (int32_t kx = 0; kx < fw; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w) {
                for (int32_t c = 0; c < in_c; ++c) {
                    *d++ = zp;
                }
            } else {
                const int8_t *src = row + ix * in_c;
                for (int32_t c = 0; c < in_c; ++c) {
                    *d++ = src[c];
                }
            }
        }
    }
    while (d < patch + 4 * groups) {
        *d++ = zp;
    }
    vb_col_put(dst, patch, groups, off2);
}

/* Two filter rows (w0, w1 = w0 + K) against `npairs` column pairs `stride` bytes apart (the
 * assembly requires stride = 16 G, contiguous pairs, as the caller lays them out), G groups:
 *   acc[c] = bias[0] + row 0 . column c,  acc[8 + c] = bias[1] + row 1 . column c
 * (c = 0 .. 2 * npairs - 1; the row-1 half is VB_CONV_MAX_COLS words further). */
#if VB_DSP_NATIVE
/* Hand-scheduled for the Cortex-M4 pipeline: all 14 usable registers (4 accumulators, 4
 * column words, 2 filter words, 3 pointers, 1 counter); per group one filter LDR pipelined with
 * the four column LDRs (the last one advances the column pointer by pre-indexed writeback),
 * 2 x SXTB16 + 4 x SMLAD per filter row, 20 cycles per 16 MACs; unrolled twice. */
__attribute__((naked, noinline)) static void vb_dot2x2_pairs(
    VB_UNUSED const int16_t *x, VB_UNUSED const int8_t *w0, VB_UNUSED const int8_t *w1,
    VB_UNUSED int32_t groups, VB_UNUSED int32_t *acc, VB_UNUSED int32_t npairs, VB_UNUSED int32_t stride,
    VB_UNUSED const int32_t *bias)
{
    /* r10/r12 = row 0 x columns 2j/2j+1, r11/lr = row 1; r0 = column pointer - 4, r1/r2 =
     * filter rows, r3 = group count */
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0-r3}\n"
        "    ldr     r4, [sp, #64]\n"            /* bias */
        "    ldrd    r4, r5, [r4]\n"
        "    push    {r4, r5}\n"                 /* sp+0 b0, +4 b1, +8 x, +12 w0, +16 w1, +20 groups */
        "    subs    r0, r0, #4\n"               /* column pairs are contiguous (stride = 16 G): */
        "1:  ldrd    r10, r11, [sp]\n"           /* r0 runs on from pair to pair */
        "    mov     r12, r10\n"                 /* acc at sp+60, npairs +64 */
        "    mov     lr, r11\n"
        "    ldrd    r1, r2, [sp, #12]\n"
        "    ldr     r3, [sp, #20]\n"
        VB_DSP_GROUPS_2X2
        "3:  ldr     r4, [sp, #60]\n"
        "    strd    r11, lr, [r4, #" VB_STR(VB_CONV_MAX_COLS) " * 4]\n"
        "    strd    r10, r12, [r4], #8\n"
        "    str     r4, [sp, #60]\n"
        "    ldr     r5, [sp, #64]\n"
        "    subs    r5, r5, #1\n"
        "    str     r5, [sp, #64]\n"
        "    bne     1b\n"
        "    add     sp, sp, #24\n"
        "    pop     {r4-r11, pc}\n");
}
#else
/* sa / sb += row w's group g against columns 0 / 1 */
#define VB_ROW_2COLS(w, sa, sb)                                                                    \
    do {                                                                                           \
        const uint32_t wv = vb_rd32_part(w + 4 * g, K - 4 * g);                                    \
        const int32_t we = vb_sxtb16(wv), wo = vb_sxtb16_ror8(wv);                                 \
        sa = vb_smlad(x0a, we, sa);                                                                \
        sa = vb_smlad(x0b, wo, sa);                                                                \
        sb = vb_smlad(x1a, we, sb);                                                                \
        sb = vb_smlad(x1b, wo, sb);                                                                \
    } while (0)

static void vb_dot2x2_pairs(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t groups, int32_t *acc,
                            int32_t npairs, int32_t stride, const int32_t *bias, int32_t K)
{
    for (int32_t j = 0; j < npairs; ++j, acc += 2) {
        const int32_t *xp = (const int32_t *)(const void *)((const uint8_t *)(const void *)x + j * stride);
        int32_t s00 = bias[0], s01 = bias[1], s10 = bias[0], s11 = bias[1];
        for (int32_t g = 0; g < groups; ++g) {
            const int32_t x0a = xp[0], x0b = xp[1], x1a = xp[2], x1b = xp[3];
            xp += 4;
            VB_ROW_2COLS(w0, s00, s10);
            VB_ROW_2COLS(w1, s01, s11);
        }
        acc[0] = s00;
        acc[VB_CONV_MAX_COLS] = s01;
        acc[1] = s10;
        acc[VB_CONV_MAX_COLS + 1] = s11;
    }
}
#undef VB_ROW_2COLS
#endif

/* One filter row x two columns (K taps; the columns' round-up taps are 0). */
static inline void vb_dot_1x2(const int16_t *pair, const int8_t *w0, int32_t K, int32_t *a0, int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1;
    const int32_t *x = (const int32_t *)(const void *)pair;
    int32_t k = K;
    for (; k >= 4; k -= 4) {
        const uint32_t wa = vb_rd32(w0);
        w0 += 4;
        const int32_t wae = vb_sxtb16(wa), wao = vb_sxtb16_ror8(wa);
        s0 = vb_smlad(x[0], wae, s0);
        s0 = vb_smlad(x[1], wao, s0);
        s1 = vb_smlad(x[2], wae, s1);
        s1 = vb_smlad(x[3], wao, s1);
        x += 4;
    }
    if (k) {
        /* natural positions 0..k-1 of the last group: reordered halves [0, 2] and [1, 3] */
        const int16_t *h = (const int16_t *)(const void *)x;
        static const int8_t slot[4] = {0, 2, 1, 3};
        for (int32_t i = 0; i < k; ++i) {
            s0 += w0[i] * h[slot[i]];
            s1 += w0[i] * h[4 + slot[i]];
        }
    }
    *a0 = s0;
    *a1 = s1;
}

/* Plain loop nest (no scratch): the reference's order and arithmetic. */
VB_DEFINE_CONV_2D_PLAIN(vb_conv_2d_plain)

void vb_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t K = p->filter_h * p->filter_w * p->in_c;
    const int32_t groups = (K + 3) >> 2;
    const int32_t pair_elems = groups * 8;
    const uint32_t pair_bytes = (uint32_t)pair_elems * 2u;
    const int direct = (p->in_c & 3) == 0;
    const int pointwise = direct && p->filter_h == 1 && p->filter_w == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->pad_h == 0 && p->pad_w == 0 && p->out_h == p->in_h && p->out_w == p->in_w;
    const uint32_t patch_bytes = direct ? 0u : (uint32_t)groups * 4u;
    uint32_t scratch_bytes = 0;
    int16_t *scratch = (int16_t *)vb_kernel_scratch(&scratch_bytes);
    if (!scratch || scratch_bytes < pair_bytes + patch_bytes) {
        vb_conv_2d_plain(p, input, output);
        return;
    }
    int32_t max_cols = (int32_t)((scratch_bytes - patch_bytes) / pair_bytes) * 2;
    if (max_cols > VB_CONV_MAX_COLS) {
        max_cols = VB_CONV_MAX_COLS;
    }
    int8_t *patch = (int8_t *)scratch + (uint32_t)(max_cols / 2) * pair_bytes;
    const int32_t out_c = p->out_c, npix = p->out_h * p->out_w;
    const int32_t off2 = vb_dup16(p->input_offset);
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);

    VB_FOR_CONV_BATCHES(p, input, output, npix, out_c, in_batch, out_batch, {
        VB_FOR_PIXEL_BLOCKS(npix, max_cols, oy, ox, q0, n, {
            if (pointwise) {
                /* 1x1, stride 1, no padding: the block's pixels are consecutive in the input */
                const int8_t *src = in_batch + q0 * p->in_c;
                for (int32_t i = 0; i < n; ++i, src += p->in_c) {
                    vb_col_put((int32_t *)(void *)(scratch + (i >> 1) * pair_elems) + 2 * (i & 1), src, groups,
                               off2);
                }
            } else {
                for (int32_t i = 0; i < n; ++i) {
                    int32_t *dst = (int32_t *)(void *)(scratch + (i >> 1) * pair_elems) + 2 * (i & 1);
                    if (direct) {
                        vb_im2col_groups(p, in_batch, oy, ox, dst, off2);
                    } else {
                        vb_im2col_patch(p, in_batch, oy, ox, patch, groups, dst, off2);
                    }
                    VB_NEXT_PIXEL(oy, ox, p->out_w);
                }
            }
            const int32_t npairs = (n + 1) >> 1;
            int8_t *out = out_batch + q0 * out_c;
            int32_t oc = 0;
            for (; oc + 2 <= out_c; oc += 2) {
                const int8_t *w0 = p->filter + oc * K;
                int32_t acc[2 * VB_CONV_MAX_COLS]; /* [row][column] */
#if VB_DSP_NATIVE
                vb_dot2x2_pairs(scratch, w0, w0 + K, groups, acc, npairs, (int32_t)pair_bytes, p->bias + oc);
#else
                vb_dot2x2_pairs(scratch, w0, w0 + K, groups, acc, npairs, (int32_t)pair_bytes, p->bias + oc, K);
#endif
                vb_dsp_requant_store(acc, n, out + oc, out_c, p->multiplier[oc], p->shift[oc], &ost);
                vb_dsp_requant_store(acc + VB_CONV_MAX_COLS, n, out + oc + 1, out_c, p->multiplier[oc + 1],
                                     p->shift[oc + 1], &ost);
            }
            if (oc < out_c) {
                int32_t acc[VB_CONV_MAX_COLS];
                for (int32_t pr = 0; pr < npairs; ++pr) {
                    acc[2 * pr] = acc[2 * pr + 1] = p->bias[oc];
                    vb_dot_1x2(scratch + pr * pair_elems, p->filter + oc * K, K, &acc[2 * pr], &acc[2 * pr + 1]);
                }
                vb_dsp_requant_store(acc, n, out + oc, out_c, p->multiplier[oc], p->shift[oc], &ost);
            }
        })
    })
}
