/* CONV_2D for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact with
 * reference/conv_2d.c.
 *
 * Algorithm: im2col of a block of output pixels (up to VB_CONV_MAX_COLS) into the runtime's
 * scratch buffer as int16 with the input offset added (taps in the padding become 0, which is
 * what skipping them in the reference amounts to), in the reordered group layout of
 * dsp_common.h; two columns are interleaved group by group so one pointer walks both. Then
 * for every pair of output channels and every pair of columns a 2x2 register-blocked dot
 * product: per 4 filter taps two filter words (int8, straight from flash) unpacked with
 * SXTB16, four column words and eight SMLADs (16 MACs). Filter rows of one channel pair stay
 * in the flash D-cache while they meet every column of the block. K % 4 tail taps and an odd
 * last channel use scalar code; an odd last column is computed against whatever the pair's
 * second slot holds and not stored.
 *
 * Scratch: 4 * K bytes per column pair (K = filter_h * filter_w * in_c); with less than one
 * pair the kernel uses a plain loop nest with the reference's order and arithmetic. */
#include "dsp_common.h"

#define VB_CONV_MAX_COLS 8

typedef struct {
    int16_t *pair;      /* base of the column pair being written */
    int32_t slot;       /* 0 or 1 */
    int32_t groups;     /* K / 4 */
    int32_t tail;       /* K % 4 */
    int32_t offset;     /* input offset */
    int32_t off2;       /* offset in both int16 lanes */
    int32_t e;          /* next logical element */
} vb_col_writer_t;

static inline int16_t *vb_col_slot(vb_col_writer_t *w, int32_t e)
{
    if (e < 4 * w->groups) {
        const int32_t j = e & 3;
        return w->pair + (e >> 2) * 8 + w->slot * 4 + (((j & 1) << 1) | (j >> 1));
    }
    return w->pair + w->groups * 8 + w->slot * w->tail + (e - 4 * w->groups);
}

static void vb_col_values(vb_col_writer_t *w, const int8_t *src, int32_t n)
{
    int32_t e = w->e;
    const int32_t full = 4 * w->groups;
    while (n > 0) {
        if ((e & 3) == 0 && n >= 4 && e + 4 <= full) {
            int32_t *dst = (int32_t *)(void *)(w->pair + (e >> 2) * 8 + w->slot * 4);
            do {
                const uint32_t x = vb_rd32(src);
                dst[0] = vb_sxtab16(w->off2, x);
                dst[1] = vb_sxtab16_ror8(w->off2, x);
                dst += 4;
                src += 4;
                e += 4;
                n -= 4;
            } while (n >= 4 && e + 4 <= full);
        } else {
            *vb_col_slot(w, e) = (int16_t)(*src + w->offset);
            ++src;
            ++e;
            --n;
        }
    }
    w->e = e;
}

static void vb_col_zeros(vb_col_writer_t *w, int32_t n)
{
    int32_t e = w->e;
    const int32_t full = 4 * w->groups;
    while (n > 0) {
        if ((e & 3) == 0 && n >= 4 && e + 4 <= full) {
            int32_t *dst = (int32_t *)(void *)(w->pair + (e >> 2) * 8 + w->slot * 4);
            dst[0] = 0;
            dst[1] = 0;
            e += 4;
            n -= 4;
        } else {
            *vb_col_slot(w, e) = 0;
            ++e;
            --n;
        }
    }
    w->e = e;
}

/* The K patch values of output pixel (oy, ox), offset added, padding 0. */
static void vb_im2col(const vb_conv_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                      vb_col_writer_t *w)
{
    const int32_t in_c = p->in_c;
    const int32_t iy0 = oy * p->stride_h - p->pad_h;
    const int32_t ix0 = ox * p->stride_w - p->pad_w;
    const int32_t fw = p->filter_w;
    w->e = 0;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        if (iy < 0 || iy >= p->in_h) {
            vb_col_zeros(w, fw * in_c);
            continue;
        }
        const int8_t *row = in_batch + iy * p->in_w * in_c;
        if (p->dilation_w == 1) {
            int32_t lo = -ix0 > 0 ? -ix0 : 0;
            int32_t hi = p->in_w - ix0 < fw ? p->in_w - ix0 : fw;
            if (hi < lo) {
                hi = lo;
            }
            if (lo > fw) {
                lo = hi = fw;
            }
            vb_col_zeros(w, lo * in_c);
            vb_col_values(w, row + (ix0 + lo) * in_c, (hi - lo) * in_c);
            vb_col_zeros(w, (fw - hi) * in_c);
        } else {
            for (int32_t kx = 0; kx < fw; ++kx) {
                const int32_t ix = ix0 + kx * p->dilation_w;
                if (ix < 0 || ix >= p->in_w) {
                    vb_col_zeros(w, in_c);
                } else {
                    vb_col_values(w, row + ix * in_c, in_c);
                }
            }
        }
    }
}

/* Two filter rows (w0, w1 = w0 + K) against `npairs` column pairs `stride` bytes apart, over the
 * first 4 * groups taps (the K % 4 tail is left to the caller):
 *   acc[c] += row 0 . column c,  acc[8 + c] += row 1 . column c   (c = 0 .. 2 * npairs - 1)
 * (the row-1 half is 8 words = VB_CONV_MAX_COLS further). */
#if VB_DSP_NATIVE
/* Hand-scheduled for the Cortex-M4 pipeline: all 14 usable registers (4 accumulators, 4
 * column words, 2 filter words, 3 pointers, 1 counter); per group of 4 taps one filter LDR
 * pipelined with the four column LDRs (the last one advances the column pointer by
 * pre-indexed writeback), 2 x SXTB16 + 4 x SMLAD per filter row; unrolled twice. */
#define VB_M4_GROUP_2X2                    \
    "    ldr     r9, [r1], #4\n"             \
    "    ldr     r4, [r0, #4]\n"             \
    "    ldr     r5, [r0, #8]\n"             \
    "    ldr     r6, [r0, #12]\n"            \
    "    ldr     r7, [r0, #16]!\n"           \
    "    sxtb16  r8, r9\n"                   \
    "    sxtb16  r9, r9, ror #8\n"           \
    "    smlad   r10, r4, r8, r10\n"         \
    "    smlad   r10, r5, r9, r10\n"         \
    "    smlad   r12, r6, r8, r12\n"         \
    "    smlad   r12, r7, r9, r12\n"         \
    "    ldr     r9, [r2], #4\n"             \
    "    sxtb16  r8, r9\n"                   \
    "    sxtb16  r9, r9, ror #8\n"           \
    "    smlad   r11, r4, r8, r11\n"         \
    "    smlad   r11, r5, r9, r11\n"         \
    "    smlad   lr, r6, r8, lr\n"           \
    "    smlad   lr, r7, r9, lr\n"

#define VB_UNUSED __attribute__((unused))
__attribute__((naked, noinline)) static void vb_dot2x2_pairs(
    VB_UNUSED const int16_t *x, VB_UNUSED const int8_t *w0, VB_UNUSED const int8_t *w1,
    VB_UNUSED int32_t groups, VB_UNUSED int32_t *acc, VB_UNUSED int32_t npairs, VB_UNUSED int32_t stride)
{
    /* r10/r12 = row 0 x columns 2j/2j+1, r11/lr = row 1; r0 = column pointer - 4, r1/r2 =
     * filter rows, r3 = group count */
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0-r3}\n"                  /* sp+0 x, +4 w0, +8 w1, +12 groups */
        "1:  ldr     r4, [sp, #52]\n"             /* acc; npairs at sp+56, stride at sp+60 */
        "    ldrd    r10, r12, [r4]\n"           /* row 0: columns 2j, 2j+1 */
        "    ldrd    r11, lr, [r4, #32]\n"       /* row 1: 8 words further */
        "    ldrd    r0, r1, [sp]\n"
        "    ldrd    r2, r3, [sp, #8]\n"
        "    subs    r0, r0, #4\n"
        "    lsrs    r3, r3, #1\n"
        "    bcc     2f\n"
        VB_M4_GROUP_2X2
        "2:  beq     3f\n"                       /* Z from the LSRS */
        "5:\n"
        VB_M4_GROUP_2X2
        VB_M4_GROUP_2X2
        "    subs    r3, r3, #1\n"
        "    bne     5b\n"
        "3:  ldr     r4, [sp, #52]\n"
        "    strd    r11, lr, [r4, #32]\n"
        "    strd    r10, r12, [r4], #8\n"
        "    str     r4, [sp, #52]\n"
        "    ldr     r0, [sp]\n"
        "    ldr     r5, [sp, #60]\n"
        "    add     r0, r0, r5\n"
        "    str     r0, [sp]\n"
        "    ldr     r5, [sp, #56]\n"
        "    subs    r5, r5, #1\n"
        "    str     r5, [sp, #56]\n"
        "    bne     1b\n"
        "    add     sp, sp, #16\n"
        "    pop     {r4-r11, pc}\n");
}
#else
static void vb_dot2x2_pairs(const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t groups,
                            int32_t *acc, int32_t npairs, int32_t stride)
{
    for (int32_t j = 0; j < npairs; ++j, acc += 2) {
        const int32_t *xp = (const int32_t *)(const void *)((const uint8_t *)(const void *)x + j * stride);
        const int8_t *p0 = w0, *p1 = w1;
        int32_t s00 = acc[0], s01 = acc[VB_CONV_MAX_COLS], s10 = acc[1], s11 = acc[VB_CONV_MAX_COLS + 1];
        for (int32_t g = groups; g > 0; --g) {
            const int32_t x0a = xp[0], x0b = xp[1], x1a = xp[2], x1b = xp[3];
            xp += 4;
            const uint32_t wa = vb_rd32(p0);
            p0 += 4;
            const int32_t wae = vb_sxtb16(wa), wao = vb_sxtb16_ror8(wa);
            s00 = vb_smlad(x0a, wae, s00);
            s00 = vb_smlad(x0b, wao, s00);
            s10 = vb_smlad(x1a, wae, s10);
            s10 = vb_smlad(x1b, wao, s10);
            const uint32_t wb = vb_rd32(p1);
            p1 += 4;
            const int32_t wbe = vb_sxtb16(wb), wbo = vb_sxtb16_ror8(wb);
            s01 = vb_smlad(x0a, wbe, s01);
            s01 = vb_smlad(x0b, wbo, s01);
            s11 = vb_smlad(x1a, wbe, s11);
            s11 = vb_smlad(x1b, wbo, s11);
        }
        acc[0] = s00;
        acc[VB_CONV_MAX_COLS] = s01;
        acc[1] = s10;
        acc[VB_CONV_MAX_COLS + 1] = s11;
    }
}
#endif

/* One filter row x two columns. */
static inline void vb_dot_1x2(const int16_t *pair, const int8_t *w0, int32_t groups, int32_t tail,
                              int32_t *a0, int32_t *a1)
{
    int32_t s0 = *a0, s1 = *a1;
    const int32_t *x = (const int32_t *)(const void *)pair;
    for (int32_t g = groups; g > 0; --g) {
        const uint32_t wa = vb_rd32(w0);
        w0 += 4;
        const int32_t wae = vb_sxtb16(wa), wao = vb_sxtb16_ror8(wa);
        s0 = vb_smlad(x[0], wae, s0);
        s0 = vb_smlad(x[1], wao, s0);
        s1 = vb_smlad(x[2], wae, s1);
        s1 = vb_smlad(x[3], wao, s1);
        x += 4;
    }
    const int16_t *t0 = (const int16_t *)(const void *)x;
    const int16_t *t1 = t0 + tail;
    for (int32_t t = 0; t < tail; ++t) {
        s0 += w0[t] * t0[t];
        s1 += w0[t] * t1[t];
    }
    *a0 = s0;
    *a1 = s1;
}

/* Plain loop nest (no scratch): the reference's order and arithmetic. */
static void vb_conv_2d_plain(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_c = p->in_c;
    const int32_t filter_stride = p->filter_h * p->filter_w * in_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * in_c;
        for (int32_t oy = 0; oy < p->out_h; ++oy) {
            for (int32_t ox = 0; ox < p->out_w; ++ox) {
                for (int32_t oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *filter = p->filter + oc * filter_stride;
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
                            const int8_t *x = in_batch + (iy * p->in_w + ix) * in_c;
                            const int8_t *f = filter + (ky * p->filter_w + kx) * in_c;
                            for (int32_t ic = 0; ic < in_c; ++ic) {
                                acc += f[ic] * (x[ic] + p->input_offset);
                            }
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

void vb_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t K = p->filter_h * p->filter_w * p->in_c;
    const int32_t groups = K >> 2, tail = K & 3;
    const int32_t pair_elems = groups * 8 + 2 * tail; /* a multiple of 2: pairs stay word aligned */
    const uint32_t pair_bytes = (uint32_t)pair_elems * 2u;
    uint32_t scratch_bytes = 0;
    int16_t *scratch = (int16_t *)vb_kernel_scratch(&scratch_bytes);
    if (!scratch || scratch_bytes < pair_bytes) {
        vb_conv_2d_plain(p, input, output);
        return;
    }
    int32_t max_cols = (int32_t)(scratch_bytes / pair_bytes) * 2;
    if (max_cols > VB_CONV_MAX_COLS) {
        max_cols = VB_CONV_MAX_COLS;
    }
    const int32_t out_c = p->out_c, npix = p->out_h * p->out_w;
    const uint32_t flags = p->flags;
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    vb_col_writer_t w;
    w.groups = groups;
    w.tail = tail;
    w.offset = p->input_offset;
    w.off2 = vb_dup16(p->input_offset);

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * p->in_c;
        int8_t *out_batch = output + b * npix * out_c;
        int32_t oy = 0, ox = 0;
        for (int32_t q0 = 0; q0 < npix; q0 += max_cols) {
            const int32_t n = npix - q0 < max_cols ? npix - q0 : max_cols;
            for (int32_t i = 0; i < n; ++i) {
                w.pair = scratch + (i >> 1) * pair_elems;
                w.slot = i & 1;
                vb_im2col(p, in_batch, oy, ox, &w);
                if (++ox == p->out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            const int32_t npairs = (n + 1) >> 1;
            int32_t oc = 0;
            for (; oc + 2 <= out_c; oc += 2) {
                const int8_t *w0 = p->filter + oc * K;
                const int8_t *w1 = w0 + K;
                const int32_t b0 = p->bias[oc], b1 = p->bias[oc + 1];
                int32_t acc[2 * VB_CONV_MAX_COLS]; /* [row][column] */
                for (int32_t c = 0; c < 2 * npairs; ++c) {
                    acc[c] = b0;
                    acc[VB_CONV_MAX_COLS + c] = b1;
                }
                if (groups > 0) {
                    vb_dot2x2_pairs(scratch, w0, w1, groups, acc, npairs, (int32_t)pair_bytes);
                }
                if (tail) {
                    const int8_t *f0 = w0 + 4 * groups, *f1 = w1 + 4 * groups;
                    for (int32_t c = 0; c < n; ++c) {
                        const int16_t *t = scratch + (c >> 1) * pair_elems + 8 * groups + (c & 1) * tail;
                        for (int32_t i = 0; i < tail; ++i) {
                            acc[c] += f0[i] * t[i];
                            acc[VB_CONV_MAX_COLS + c] += f1[i] * t[i];
                        }
                    }
                }
                int8_t *out = out_batch + q0 * out_c + oc;
                vb_dsp_requant_store(acc, n, out, out_c, p->multiplier[oc], p->shift[oc], flags, oo, lo, hi);
                vb_dsp_requant_store(acc + VB_CONV_MAX_COLS, n, out + 1, out_c, p->multiplier[oc + 1],
                                     p->shift[oc + 1], flags, oo, lo, hi);
            }
            if (oc < out_c) {
                const int8_t *w0 = p->filter + oc * K;
                int32_t acc[VB_CONV_MAX_COLS];
                for (int32_t pr = 0; pr < npairs; ++pr) {
                    acc[2 * pr] = p->bias[oc];
                    acc[2 * pr + 1] = p->bias[oc];
                    vb_dot_1x2(scratch + pr * pair_elems, w0, groups, tail, &acc[2 * pr], &acc[2 * pr + 1]);
                }
                vb_dsp_requant_store(acc, n, out_batch + q0 * out_c + oc, out_c, p->multiplier[oc],
                                     p->shift[oc], flags, oo, lo, hi);
            }
        }
    }
}
