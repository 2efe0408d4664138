/* DEPTHWISE_CONV_2D for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact with
 * reference/depthwise_conv_2d.c.
 *
 * Depth multiplier 1: channels in groups of 4 (one word of NHWC input per tap).
 *
 * 3x3 filters, dilation 1 (the MLPerf Tiny models): the group's 4 channels are copied into a
 * zero-point-padded plane in the runtime's scratch buffer (one word per pixel; padding holds
 * the input zero point, so x + offset = 0 there, which is what skipping the tap amounts to), in
 * horizontal stripes when the scratch is smaller than the plane. Every output pixel is then an
 * interior pixel: a hand-scheduled loop (vb_dw3x3_run) does 9 taps x (3 pipelined LDRs, 2
 * SXTAB16 adding the input offset, SMLABB/SMLATT for the 4 channels) with the filter unpacked
 * once per group, no bounds checks. Other filter shapes, or too little scratch: per-pixel valid
 * tap ranges with the same SIMD arithmetic. Accumulators of VB_DW_BLOCK pixels are requantized
 * per channel in one run (vb_dsp_requant_store). Remaining channels (in_c % 4) and depth
 * multipliers > 1 take a scalar path with the same blocking; a filter larger than
 * VB_DW_MAX_TAPS taps takes a plain loop nest. */
#include "dsp_common.h"
#include "kernels_conv.h"

#define VB_DW_BLOCK 32
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
                    VB_FOR_EACH_TAP(p, oy * p->stride_h - p->pad_h, ox * p->stride_w - p->pad_w, ky, kx, iy,
                                    ix, {
                        acc += p->filter[(ky * p->filter_w + kx) * out_c + oc] *
                               (in_batch[(iy * p->in_w + ix) * in_c + ic] + p->input_offset);
                    })
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

/* A run of n output pixels of one 4-channel group over the padded plane (3x3, dilation 1). */
typedef struct {
    const int8_t *x;    /*  0: top-left tap of the first pixel */
    int32_t n;          /*  4 */
    int32_t row;        /*  8: bytes between plane rows */
    int32_t adj;        /* 12: pixel step - 2 * row */
    int32_t *acc;       /* 16: acc[j * VB_DW_BLOCK + i] for channel j, pixel i */
    int32_t off2;       /* 20: input offset in both halves */
    int32_t w[18];      /* 24: per tap SXTB16(w), SXTB16(w ROR 8) */
    int32_t bias[4];    /* 96 */
} vb_dw_run_t;

#if VB_DSP_NATIVE
#define VB_DW_TAP(xoff, woff, extra)                       \
    "    ldr     r8, [r0, #" #xoff "]\n"                   \
    "    ldr     r9, [r11, #" #woff "]\n"                  \
    "    ldr     r10, [r11, #" #woff " + 4]\n"             \
    "    sxtab16 r7, r2, r8\n"                             \
    "    sxtab16 r8, r2, r8, ror #8\n"                     \
    extra                                                   \
    "    smlabb  r3, r7, r9, r3\n"                         \
    "    smlatt  r5, r7, r9, r5\n"                         \
    "    smlabb  r4, r8, r10, r4\n"                        \
    "    smlatt  r6, r8, r10, r6\n"
#define VB_DW_NEXT_ROW "    add     r0, r0, r1\n"
#define VB_DW_STR(s) #s
#define VB_DW_XSTR(s) VB_DW_STR(s)

#define VB_UNUSED __attribute__((unused))
/* r0 x, r1 row, r2 off2, r3-r6 channel accumulators, r7-r10 temporaries, r11 the run, r12 acc,
 * lr count: the filter stays in the run structure (immediate offsets), 10 cycles per tap. */
__attribute__((naked, noinline)) static void vb_dw3x3_run(VB_UNUSED const vb_dw_run_t *r)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    mov     r11, r0\n"
        "    ldr     r0, [r11, #0]\n"
        "    ldr     lr, [r11, #4]\n"
        "    ldr     r1, [r11, #8]\n"
        "    ldr     r12, [r11, #16]\n"
        "    ldr     r2, [r11, #20]\n"
        "1:  ldr     r3, [r11, #96]\n"
        "    ldr     r4, [r11, #100]\n"
        "    ldr     r5, [r11, #104]\n"
        "    ldr     r6, [r11, #108]\n"
        VB_DW_TAP(0, 24, "")
        VB_DW_TAP(4, 32, "")
        VB_DW_TAP(8, 40, VB_DW_NEXT_ROW)
        VB_DW_TAP(0, 48, "")
        VB_DW_TAP(4, 56, "")
        VB_DW_TAP(8, 64, VB_DW_NEXT_ROW)
        VB_DW_TAP(0, 72, "")
        VB_DW_TAP(4, 80, "")
        VB_DW_TAP(8, 88, "")
        "    str     r3, [r12, #0]\n"
        "    str     r4, [r12, #" VB_DW_XSTR(VB_DW_BLOCK) " * 4]\n"
        "    str     r5, [r12, #" VB_DW_XSTR(VB_DW_BLOCK) " * 8]\n"
        "    str     r6, [r12, #" VB_DW_XSTR(VB_DW_BLOCK) " * 12]\n"
        "    add     r12, r12, #4\n"
        "    ldr     r7, [r11, #12]\n"
        "    add     r0, r0, r7\n"
        "    subs    lr, lr, #1\n"
        "    bne     1b\n"
        "    pop     {r4-r11, pc}\n");
}
#else
static void vb_dw3x3_run(const vb_dw_run_t *r)
{
    const int8_t *x = r->x;
    int32_t *acc = r->acc;
    for (int32_t i = r->n; i > 0; --i) {
        int32_t a0 = r->bias[0], a1 = r->bias[1], a2 = r->bias[2], a3 = r->bias[3];
        for (int32_t t = 0; t < 9; ++t) {
            const uint32_t xv = vb_rd32(x + (t / 3) * r->row + (t % 3) * 4);
            const int32_t xe = vb_sxtab16(r->off2, xv), xo = vb_sxtab16_ror8(r->off2, xv);
            a0 = vb_smlabb(xe, r->w[2 * t], a0);
            a2 = vb_smlatt(xe, r->w[2 * t], a2);
            a1 = vb_smlabb(xo, r->w[2 * t + 1], a1);
            a3 = vb_smlatt(xo, r->w[2 * t + 1], a3);
        }
        acc[0] = a0;
        acc[VB_DW_BLOCK] = a1;
        acc[2 * VB_DW_BLOCK] = a2;
        acc[3 * VB_DW_BLOCK] = a3;
        ++acc;
        x += r->adj + 2 * r->row;
    }
}
#endif

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

/* Requantize the 4 channels of a filled accumulator block. */
static inline void vb_dw_flush(const vb_conv_params_t *p, int32_t acc[4][VB_DW_BLOCK], int32_t n, int8_t *out,
                               int32_t c, const vb_dsp_out_t *ost)
{
    for (int32_t j = 0; j < 4; ++j) {
        vb_dsp_requant_store(acc[j], n, out + c + j, p->out_c, p->multiplier[c + j], p->shift[c + j], ost);
    }
}

/* Groups of 4 channels, 3x3, dilation 1, over zero-point-padded planes in `plane` (rows of
 * wp words, at most max_rows of them). */
static void vb_dw_groups_3x3(const vb_conv_params_t *p, const int8_t *in_batch, int8_t *out_batch, int32_t groups,
                             uint32_t *plane, int32_t wp, int32_t max_rows, const vb_dsp_out_t *ost)
{
    const int32_t C = p->in_c, sh = p->stride_h, out_w = p->out_w;
    const int32_t rows_per_stripe = (max_rows - 3) / sh + 1; /* output rows */
    const uint32_t zp4 = (uint32_t)(uint8_t)(int8_t)(-p->input_offset) * 0x01010101u;
    int32_t acc[4][VB_DW_BLOCK];
    vb_dw_run_t run;
    run.row = wp * 4;
    run.adj = p->stride_w * 4 - 2 * run.row;
    run.off2 = vb_dup16(p->input_offset);
    for (int32_t g = 0; g < groups; ++g) {
        const int32_t c = 4 * g;
        for (int32_t t = 0; t < 9; ++t) {
            const uint32_t w = vb_rd32(p->filter + t * p->out_c + c);
            run.w[2 * t] = vb_sxtb16(w);
            run.w[2 * t + 1] = vb_sxtb16_ror8(w);
        }
        for (int32_t j = 0; j < 4; ++j) {
            run.bias[j] = p->bias[c + j];
        }
        int32_t q0 = 0, fill = 0;
        for (int32_t oy0 = 0; oy0 < p->out_h; oy0 += rows_per_stripe) {
            const int32_t oy1 = oy0 + rows_per_stripe < p->out_h ? oy0 + rows_per_stripe : p->out_h;
            /* plane rows for input rows iy0 .. iy0 + nrows - 1 */
            const int32_t iy0 = oy0 * sh - p->pad_h, nrows = (oy1 - 1 - oy0) * sh + 3;
            for (int32_t r = 0; r < nrows; ++r) {
                const int32_t iy = iy0 + r;
                uint32_t *dst = plane + r * wp;
                if (iy < 0 || iy >= p->in_h) {
                    for (int32_t i = 0; i < wp; ++i) {
                        dst[i] = zp4;
                    }
                    continue;
                }
                /* plane columns [0, pad_w) and [pad_w + in_w, wp) are padding */
                const int32_t left = p->pad_w < wp ? p->pad_w : wp;
                const int32_t right = p->pad_w + p->in_w < wp ? p->pad_w + p->in_w : wp;
                const int8_t *src = in_batch + iy * p->in_w * C + c;
                int32_t i = 0;
                for (; i < left; ++i) {
                    dst[i] = zp4;
                }
                for (; i < right; ++i, src += C) {
                    dst[i] = vb_rd32(src);
                }
                for (; i < wp; ++i) {
                    dst[i] = zp4;
                }
            }
            for (int32_t oy = oy0; oy < oy1; ++oy) {
                const int8_t *row = (const int8_t *)(plane + (oy - oy0) * sh * wp);
                for (int32_t ox = 0; ox < out_w;) {
                    int32_t n = out_w - ox < VB_DW_BLOCK - fill ? out_w - ox : VB_DW_BLOCK - fill;
                    run.x = row + ox * p->stride_w * 4;
                    run.n = n;
                    run.acc = &acc[0][fill];
                    vb_dw3x3_run(&run);
                    ox += n;
                    fill += n;
                    if (fill == VB_DW_BLOCK) {
                        vb_dw_flush(p, acc, fill, out_batch + q0 * p->out_c, c, ost);
                        q0 += fill;
                        fill = 0;
                    }
                }
            }
        }
        if (fill) {
            vb_dw_flush(p, acc, fill, out_batch + q0 * p->out_c, c, ost);
        }
    }
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
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);
    /* padded plane for the 3x3 path: wp words per row, at least 3 rows of scratch */
    const int32_t wp = (p->out_w - 1) * p->stride_w + 3;
    uint32_t scratch_bytes = 0;
    uint32_t *plane = (uint32_t *)vb_kernel_scratch(&scratch_bytes);
    const int32_t max_rows = plane ? (int32_t)(scratch_bytes / ((uint32_t)wp * 4u)) : 0;
    const int fast3x3 = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 && p->dilation_w == 1 &&
                        max_rows >= 3;
    uint32_t wtab[VB_DW_MAX_TAPS];
    int32_t acc[4][VB_DW_BLOCK];

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * C;
        int8_t *out_batch = output + b * npix * out_c;
        if (fast3x3) {
            vb_dw_groups_3x3(p, in_batch, out_batch, groups, plane, wp, max_rows, &ost);
        } else {
            /* SIMD groups of 4 channels, valid tap ranges per pixel */
            for (int32_t g = 0; g < groups; ++g) {
                const int32_t c = 4 * g;
                for (int32_t t = 0; t < taps; ++t) {
                    wtab[t] = vb_rd32(p->filter + t * out_c + c);
                }
                VB_FOR_PIXEL_BLOCKS(npix, VB_DW_BLOCK, oy, ox, q0, n, {
                    for (int32_t i = 0; i < n; ++i) {
                        int32_t a[4] = {p->bias[c], p->bias[c + 1], p->bias[c + 2], p->bias[c + 3]};
                        vb_dw_px_t px;
                        vb_dw_pixel(p, oy, ox, &px);
                        if (px.ky1 > px.ky0 && px.kx1 > px.kx0) {
                            vb_dw_group_pixel(p, in_batch + c, wtab, &px, off2, a);
                        }
                        acc[0][i] = a[0];
                        acc[1][i] = a[1];
                        acc[2][i] = a[2];
                        acc[3][i] = a[3];
                        VB_NEXT_PIXEL(oy, ox, p->out_w);
                    }
                    vb_dw_flush(p, acc, n, out_batch + q0 * out_c, c, &ost);
                })
            }
        }
        /* remaining output channels, one at a time */
        for (int32_t oc = 4 * groups; oc < out_c; ++oc) {
            const int8_t *in_ic = in_batch + oc / dm;
            VB_FOR_PIXEL_BLOCKS(npix, VB_DW_BLOCK, oy, ox, q0, n, {
                for (int32_t i = 0; i < n; ++i) {
                    vb_dw_px_t px;
                    vb_dw_pixel(p, oy, ox, &px);
                    acc[0][i] = vb_dw_channel_pixel(p, in_ic, p->filter + oc, &px, p->bias[oc]);
                    VB_NEXT_PIXEL(oy, ox, p->out_w);
                }
                vb_dsp_requant_store(acc[0], n, out_batch + q0 * out_c + oc, out_c, p->multiplier[oc],
                                     p->shift[oc], &ost);
            })
        }
    }
}
