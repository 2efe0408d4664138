/* DEPTHWISE_CONV_2D, float32, for the Cortex-M4F (cortex_m4_dsp variant): bit-exact with
 * reference/depthwise_conv_2d_f32.c compiled without FMA contraction, i.e. with TFLite's float
 * reference kernel (fpu_f32.h), except that a padding tap adds +0 * w instead of being skipped
 * (the same sum: the running total starts at +0 and never becomes -0; weights are finite).
 *
 * 3x3 filters, dilation 1, depth multiplier 1 (all the MLPerf Tiny depthwise layers): channels
 * in pairs. A pair's 18 weights stay in s14-s31 for the whole plane; its two channels are
 * copied into a zero-padded plane in the runtime's scratch buffer ([row][column][2] floats,
 * columns as the output row needs them, in horizontal stripes when the scratch is smaller than
 * the plane), so every output pixel is an interior pixel and one VLDM reads a whole filter row:
 *   - stride 1: two neighbouring pixels per pass (vb_dw_f32_pair): one VLDM of 4 columns x 2
 *     channels (9 cycles) feeds 12 MACs per filter row, about 4.4 cycles per MAC with bias,
 *     activation (VCMP/VMRS/IT: 8 cycles per output) and stores; the lone last pixel of an
 *     odd-width row alone;
 *   - other strides: one pixel per pass (vb_dw_f32_one), 3 columns per VLDM, about 4.9.
 * With the plane fill (about 8 cycles per input pixel and channel pair) and the per-stripe
 * setup, the MLPerf Tiny layers measure 5.7-7.3 cycles per MAC at stride 1 and 8.5-13.6 at
 * stride 2 or with 3x3 outputs (reference kernel: 40-52).
 * An odd last channel, other filters, dilation or depth multipliers, or a scratch smaller than
 * 3 plane rows: per-pixel valid tap ranges in C, the reference's order. */
#include "fpu_f32.h"
#include "kernels_conv.h"

/* A run of output pixels of one channel pair over the plane (read by the assembly at fixed
 * offsets; lo .. w contiguous, loaded by one VLDM). */
typedef struct {
    const float *x;     /*  0: top-left tap of the first pixel of the first row */
    int32_t n;          /*  4: pixels (one) or whole pixel pairs (pair) per output row */
    int32_t row;        /*  8: bytes between plane rows */
    int32_t step;       /* 12: bytes from one pixel (pair) to the next */
    float *out;         /* 16: channel c of the first output pixel */
    int32_t ostep;      /* 20: bytes between output pixels */
    int32_t rows;       /* 24: output rows */
    int32_t xrow;       /* 28: bytes from one output row's first tap to the next's */
    int32_t orow;       /* 32: bytes from one output row to the next */
    int32_t odd;        /* 36: pair: 1 when a row ends with a lone pixel */
    float lo, hi;       /* 40: activation range */
    float bias[2];      /* 48 */
    float w[18];        /* 56: w[fy * 3 + fx][channel] */
} vb_dw_run_f32_t;

#if VB_FPU_NATIVE
/* One filter row (3 taps, a channel pair each: inputs x, weights w) of one pixel into s0/s1,
 * products in t0/t1. */
#define VB_DW_ROW_ONE(t0, t1, x0, x1, x2, x3, x4, x5, w0, w1, w2, w3, w4, w5)                      \
    VB_F32_MA2(t0, x0, w0, t1, x1, w1, s0, s1)                                                     \
    VB_F32_MA2(t0, x2, w2, t1, x3, w3, s0, s1)                                                     \
    VB_F32_MA2(t0, x4, w4, t1, x5, w5, s0, s1)
/* vb_dw_f32_one: inputs s2-s7, products s8/s9. */
#define VB_DW1_ROW(w0, w1, w2, w3, w4, w5)                                                         \
    VB_DW_ROW_ONE(s8, s9, s2, s3, s4, s5, s6, s7, w0, w1, w2, w3, w4, w5)
#define VB_DW1_ROW0 VB_DW1_ROW(s14, s15, s16, s17, s18, s19)
#define VB_DW1_ROW1 VB_DW1_ROW(s20, s21, s22, s23, s24, s25)
#define VB_DW1_ROW2 VB_DW1_ROW(s26, s27, s28, s29, s30, s31)

/* vb_dw_f32_pair: one tap's weights w0/w1 against pixel 0's inputs x0/x1 (sums s0/s1) and pixel
 * 1's x2/x3 (sums s2/s3), products s12/s13; a filter row is 3 taps over inputs s4-s11. */
#define VB_DW2_TAP(x0, x1, x2, x3, w0, w1)                                                         \
    VB_F32_MA2(s12, x0, w0, s13, x1, w1, s0, s1)                                                   \
    VB_F32_MA2(s12, x2, w0, s13, x3, w1, s2, s3)
#define VB_DW2_ROW(w0, w1, w2, w3, w4, w5)                                                         \
    VB_DW2_TAP(s4, s5, s6, s7, w0, w1) VB_DW2_TAP(s6, s7, s8, s9, w2, w3)                          \
    VB_DW2_TAP(s8, s9, s10, s11, w4, w5)
#define VB_DW2_ROW0 VB_DW2_ROW(s14, s15, s16, s17, s18, s19)
#define VB_DW2_ROW1 VB_DW2_ROW(s20, s21, s22, s23, s24, s25)
#define VB_DW2_ROW2 VB_DW2_ROW(s26, s27, s28, s29, s30, s31)

/* The lone last pixel of a pair row: inputs s4-s9, products s12/s13. */
#define VB_DWL_ROW(w0, w1, w2, w3, w4, w5)                                                         \
    VB_DW_ROW_ONE(s12, s13, s4, s5, s6, s7, s8, s9, w0, w1, w2, w3, w4, w5)
#define VB_DWL_ROW0 VB_DWL_ROW(s14, s15, s16, s17, s18, s19)
#define VB_DWL_ROW1 VB_DWL_ROW(s20, s21, s22, s23, s24, s25)
#define VB_DWL_ROW2 VB_DWL_ROW(s26, s27, s28, s29, s30, s31)

/* y = x < lo ? lo : x; y = hi < y ? hi : y (MI: ordered less-than, as C's < with a NaN). */
#define VB_DW_CLAMP(a, lo, hi)                 \
    "    vcmp.f32 " a ", " lo "\n"              \
    "    vmrs    APSR_nzcv, fpscr\n"            \
    "    it      mi\n"                          \
    "    vmovmi.f32 " a ", " lo "\n"            \
    "    vcmp.f32 " hi ", " a "\n"              \
    "    vmrs    APSR_nzcv, fpscr\n"            \
    "    it      mi\n"                          \
    "    vmovmi.f32 " a ", " hi "\n"

/* The 3 filter rows of a pass: each row's inputs (registers REGS) loaded from r1, r1 + r2,
 * r1 + 2 r2, then its taps. */
#define VB_DW_3ROWS(REGS, ROW0, ROW1, ROW2)                                                        \
    "    vldmia  r1, {" REGS "}\n"                                                                 \
    "    add     r3, r1, r2\n"                                                                     \
    ROW0                                                                                           \
    "    vldmia  r3, {" REGS "}\n"                                                                 \
    "    add     r3, r3, r2\n"                                                                     \
    ROW1                                                                                           \
    "    vldmia  r3, {" REGS "}\n"                                                                 \
    ROW2

/* Clamp a channel pair's sums a, b to [lo, hi] and store them at r4. */
#define VB_DW_OUT2(a, b, lo, hi)                                                                   \
    VB_DW_CLAMP(a, lo, hi)                                                                         \
    VB_DW_CLAMP(b, lo, hi)                                                                         \
    "    vstr    " a ", [r4]\n"                                                                    \
    "    vstr    " b ", [r4, #4]\n"

#define VB_UNUSED __attribute__((unused))

/* r1 x, r2 row bytes, r3 next row, r4 out, r5 ostep, r6 step, r7 count, r8 rows, r9 / r10 the
 * row's first x / out, r12 = 0.
 * s0/s1 sums, s2-s7 one filter row of inputs, s8/s9 products, s10 lo, s11 hi, s12/s13 bias,
 * s14-s31 weights. */
__attribute__((naked, noinline)) static void vb_dw_f32_one(VB_UNUSED const vb_dw_run_f32_t *r)
{
    __asm__ volatile(
        "    push    {r4-r10, lr}\n"
        "    vpush   {s16-s31}\n"
        "    ldrd    r9, r7, [r0, #0]\n"
        "    ldrd    r2, r6, [r0, #8]\n"
        "    ldrd    r10, r5, [r0, #16]\n"
        "    ldr     r8, [r0, #24]\n"
        "    add     r3, r0, #40\n"
        "    vldmia  r3, {s10-s31}\n"
        "    movs    r12, #0\n"
        "0:  mov     r1, r9\n"
        "    mov     r4, r10\n"
        "    ldr     r7, [r0, #4]\n"
        "1:  vmov    s0, r12\n"
        "    vmov    s1, r12\n"
        VB_DW_3ROWS("s2-s7", VB_DW1_ROW0, VB_DW1_ROW1, VB_DW1_ROW2)
        "    vadd.f32 s0, s0, s12\n"
        "    vadd.f32 s1, s1, s13\n"
        VB_DW_OUT2("s0", "s1", "s10", "s11")
        "    add     r4, r4, r5\n"
        "    add     r1, r1, r6\n"
        "    subs    r7, r7, #1\n"
        "    bne     1b\n"
        "    ldrd    r3, r7, [r0, #28]\n"
        "    add     r9, r9, r3\n"
        "    add     r10, r10, r7\n"
        "    subs    r8, r8, #1\n"
        "    bne     0b\n"
        "    vpop    {s16-s31}\n"
        "    pop     {r4-r10, pc}\n");
}

/* One pixel pair: s0/s1 pixel 0's sums, s2/s3 pixel 1's, s4-s11 one filter row of inputs
 * (4 columns), s12/s13 products, s14-s31 weights; after the taps s4-s7 take lo, hi and the
 * biases. */
#define VB_DW_PAIR                                                                                 \
    "    vmov    s0, r12\n"                                                                        \
    "    vmov    s1, r12\n"                                                                        \
    "    vmov    s2, r12\n"                                                                        \
    "    vmov    s3, r12\n"                                                                        \
    VB_DW_3ROWS("s4-s11", VB_DW2_ROW0, VB_DW2_ROW1, VB_DW2_ROW2)                                   \
    "    vldmia  r11, {s4-s7}\n"                                                                   \
    "    vadd.f32 s0, s0, s6\n"                                                                    \
    "    vadd.f32 s1, s1, s7\n"                                                                    \
    "    vadd.f32 s2, s2, s6\n"                                                                    \
    "    vadd.f32 s3, s3, s7\n"                                                                    \
    VB_DW_OUT2("s0", "s1", "s4", "s5")                                                             \
    "    add     r4, r4, r5\n"

/* The lone last pixel of a row (odd width): 3 columns, s4-s9 inputs, s12/s13 products. */
#define VB_DW_LONE                                                                                 \
    "    vmov    s0, r12\n"                                                                        \
    "    vmov    s1, r12\n"                                                                        \
    VB_DW_3ROWS("s4-s9", VB_DWL_ROW0, VB_DWL_ROW1, VB_DWL_ROW2)                                    \
    "    vldmia  r11, {s4-s7}\n"                                                                   \
    "    vadd.f32 s0, s0, s6\n"                                                                    \
    "    vadd.f32 s1, s1, s7\n"                                                                    \
    VB_DW_OUT2("s0", "s1", "s4", "s5")

/* Stride 1, two pixels per pass, then a lone pixel when the width is odd; r11 = &lo. */
__attribute__((naked, noinline)) static void vb_dw_f32_pair(VB_UNUSED const vb_dw_run_f32_t *r)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    vpush   {s16-s31}\n"
        "    ldrd    r9, r7, [r0, #0]\n"
        "    ldrd    r2, r6, [r0, #8]\n"
        "    ldrd    r10, r5, [r0, #16]\n"
        "    ldr     r8, [r0, #24]\n"
        "    add     r3, r0, #56\n"
        "    vldmia  r3, {s14-s31}\n"
        "    add     r11, r0, #40\n"
        "    movs    r12, #0\n"
        "0:  mov     r1, r9\n"
        "    mov     r4, r10\n"
        "    ldr     r7, [r0, #4]\n"
        "    cmp     r7, #0\n"
        "    beq     2f\n"
        "1:\n"
        VB_DW_PAIR
        VB_DW_OUT2("s2", "s3", "s4", "s5")
        "    add     r4, r4, r5\n"
        "    add     r1, r1, r6\n"
        "    subs    r7, r7, #1\n"
        "    bne     1b\n"
        "2:  ldr     r7, [r0, #36]\n"
        "    cmp     r7, #0\n"
        "    beq     3f\n"
        VB_DW_LONE
        "3:  ldrd    r3, r7, [r0, #28]\n"
        "    add     r9, r9, r3\n"
        "    add     r10, r10, r7\n"
        "    subs    r8, r8, #1\n"
        "    bne     0b\n"
        "    vpop    {s16-s31}\n"
        "    pop     {r4-r11, pc}\n");
}
#else /* host build: the same sums in the same order */
static void vb_dw_f32_pixels(const vb_dw_run_f32_t *r, int32_t count, int32_t step)
{
    for (int32_t y = 0; y < r->rows; ++y) {
        const uint8_t *x = (const uint8_t *)r->x + y * r->xrow;
        uint8_t *out = (uint8_t *)r->out + y * r->orow;
        for (int32_t i = 0; i < count; ++i, x += step, out += r->ostep) {
            for (int32_t c = 0; c < 2; ++c) {
                float t = 0.0f;
                for (int32_t fy = 0; fy < 3; ++fy) {
                    const float *xr = (const float *)(const void *)(x + fy * r->row);
                    for (int32_t fx = 0; fx < 3; ++fx) {
                        t += xr[2 * fx + c] * r->w[(fy * 3 + fx) * 2 + c];
                    }
                }
                ((float *)(void *)out)[c] = vb_act_f32(t + r->bias[c], r->lo, r->hi);
            }
        }
    }
}

static void vb_dw_f32_one(const vb_dw_run_f32_t *r) { vb_dw_f32_pixels(r, r->n, r->step); }
static void vb_dw_f32_pair(const vb_dw_run_f32_t *r) { vb_dw_f32_pixels(r, 2 * r->n + r->odd, r->step / 2); }
#endif

VB_DEFINE_TAP_RANGE(static, vb_dw_f32_range)

/* Output channels [c0, c1) of every pixel of one batch, valid tap ranges hoisted per pixel:
 * the reference's order (rows, then columns). */
static void vb_dw_f32_channels(const vb_conv_f32_params_t *p, const float *in_batch, float *out_batch,
                               int32_t c0, int32_t c1)
{
    const int32_t in_c = p->in_c, out_c = p->out_c, dm = p->depth_multiplier, fw = p->filter_w;
    VB_FOR_OUT_ROWS(p, vb_dw_f32_range, oy, iy0, fy0, fy1, {
        for (int32_t ox = 0; ox < p->out_w; ++ox) {
            const int32_t ix0 = ox * p->stride_w - p->pad_w;
            int32_t fx0, fx1;
            vb_dw_f32_range(ix0, fw, p->dilation_w, p->in_w, &fx0, &fx1);
            float *out = out_batch + (oy * p->out_w + ox) * out_c;
            for (int32_t oc = c0; oc < c1; ++oc) {
                const float *x = in_batch + oc / dm;
                float total = 0.0f;
                for (int32_t fy = fy0; fy < fy1; ++fy) {
                    const float *xr = x + (iy0 + fy * p->dilation_h) * p->in_w * in_c;
                    const float *wr = p->filter + fy * fw * out_c + oc;
                    for (int32_t fx = fx0; fx < fx1; ++fx) {
                        total += xr[(ix0 + fx * p->dilation_w) * in_c] * wr[fx * out_c];
                    }
                }
                out[oc] = vb_act_f32(total + p->bias[oc], p->act_min, p->act_max);
            }
        }
    })
}

/* Plane rows [r0, r1) of a stripe whose first row is input row iy0: rows outside the image
 * and columns [0, left) and [right, wp) zero, the others the channel pair's two floats (copied
 * as 32-bit words, in_c floats apart in the input). One call per stripe: the short rows of the
 * small layers pay no per-row call. */
static void vb_dw_f32_fill(float *plane, const float *src_c, int32_t in_c, int32_t in_w, int32_t in_h, int32_t iy0,
                           int32_t nrows, int32_t left, int32_t right, int32_t wp)
{
    uint32_t *d = (uint32_t *)(void *)plane;
    for (int32_t r = 0; r < nrows; ++r) {
        const int32_t iy = iy0 + r;
        uint32_t *end = d + 2 * wp;
        if (iy < 0 || iy >= in_h) {
            for (; d < end; d += 2) {
                d[0] = 0u;
                d[1] = 0u;
            }
            continue;
        }
        uint32_t *mid = d + 2 * left, *stop = d + 2 * right;
        const uint32_t *s = (const uint32_t *)(const void *)(src_c + iy * in_w * in_c);
        for (; d < mid; d += 2) {
            d[0] = 0u;
            d[1] = 0u;
        }
        for (; d + 4 <= stop; d += 4, s += 2 * in_c) {
            const uint32_t a0 = s[0], a1 = s[1], b0 = s[in_c], b1 = s[in_c + 1];
            d[0] = a0;
            d[1] = a1;
            d[2] = b0;
            d[3] = b1;
        }
        if (d < stop) {
            d[0] = s[0];
            d[1] = s[1];
            d += 2;
        }
        for (; d < end; d += 2) {
            d[0] = 0u;
            d[1] = 0u;
        }
    }
}

/* Channel pairs of a 3x3, dilation-1 layer over padded planes of wp columns, at most max_rows
 * rows of scratch. */
static void vb_dw_f32_pairs_3x3(const vb_conv_f32_params_t *p, const float *in_batch, float *out_batch,
                                int32_t pairs, float *plane, int32_t wp, int32_t max_rows)
{
    const int32_t in_c = p->in_c, sh = p->stride_h, sw = p->stride_w, out_w = p->out_w;
    const int32_t rows_per_stripe = (max_rows - 3) / sh + 1; /* output rows */
    /* plane columns [0, left) and [right, wp) are padding */
    const int32_t left = p->pad_w < wp ? p->pad_w : wp;
    const int32_t right = p->pad_w + p->in_w < wp ? p->pad_w + p->in_w : wp;
    vb_dw_run_f32_t run;
    run.row = wp * 8;
    run.xrow = sh * run.row;
    run.orow = out_w * p->out_c * 4;
    run.odd = 0;
    run.ostep = p->out_c * 4;
    run.lo = p->act_min;
    run.hi = p->act_max;
    for (int32_t g = 0; g < pairs; ++g) {
        const int32_t c = 2 * g;
        for (int32_t t = 0; t < 9; ++t) {
            run.w[2 * t] = p->filter[t * p->out_c + c];
            run.w[2 * t + 1] = p->filter[t * p->out_c + c + 1];
        }
        run.bias[0] = p->bias[c];
        run.bias[1] = p->bias[c + 1];
        for (int32_t oy0 = 0; oy0 < p->out_h; oy0 += rows_per_stripe) {
            const int32_t oy1 = oy0 + rows_per_stripe < p->out_h ? oy0 + rows_per_stripe : p->out_h;
            /* plane rows for input rows iy0 .. iy0 + nrows - 1 */
            const int32_t iy0 = oy0 * sh - p->pad_h, nrows = (oy1 - 1 - oy0) * sh + 3;
            vb_dw_f32_fill(plane, in_batch + c, in_c, p->in_w, p->in_h, iy0, nrows, left, right, wp);
            run.x = plane;
            run.out = out_batch + oy0 * out_w * p->out_c + c;
            run.rows = oy1 - oy0;
            if (sw == 1) {
                run.n = out_w >> 1;
                run.odd = out_w & 1;
                run.step = 16;
                vb_dw_f32_pair(&run);
            } else {
                run.n = out_w;
                run.step = sw * 8;
                vb_dw_f32_one(&run);
            }
        }
    }
}

void vb_depthwise_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output)
{
    const int32_t in_c = p->in_c, npix = p->out_h * p->out_w;
    const int32_t wp = (p->out_w - 1) * p->stride_w + 3; /* plane columns */
    uint32_t scratch_bytes = 0;
    float *plane = (float *)vb_kernel_scratch(&scratch_bytes);
    const int32_t max_rows = plane ? (int32_t)(scratch_bytes / ((uint32_t)wp * 8u)) : 0;
    const int fast = p->filter_h == 3 && p->filter_w == 3 && p->dilation_h == 1 && p->dilation_w == 1 &&
                     p->depth_multiplier == 1 && max_rows >= 3;
    const int32_t pairs = fast ? in_c >> 1 : 0;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *in_batch = input + b * p->in_h * p->in_w * in_c;
        float *out_batch = output + b * npix * p->out_c;
        if (pairs > 0) {
            vb_dw_f32_pairs_3x3(p, in_batch, out_batch, pairs, plane, wp, max_rows);
        }
        vb_dw_f32_channels(p, in_batch, out_batch, 2 * pairs, p->out_c);
    }
}
