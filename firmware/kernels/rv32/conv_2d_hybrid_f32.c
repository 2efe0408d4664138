/* CONV_2D with float activations and int8 weights (TFLite hybrid conv), RV32IMAF (rv32
 * variant): bit-exact with reference/conv_2d_hybrid_f32.c.
 *
 * 1. Per batch the input is quantized exactly as the reference does: the same range (max |x|,
 *    found on the bit patterns, which for finite floats order like |x|), scale and rounding;
 *    on the board the rounding is one FCVT.W.S with rounding mode RMM (to nearest, ties away
 *    from zero: TfLiteRound itself).
 * 2. The int32 dot products are exact in any order, so they run as the int8 CONV_2D of this
 *    variant does (conv_2d.c): the quantized patches of up to 16 output pixels go into the
 *    runtime's scratch as int16, four columns interleaved tap by tap ([k][4], padding 0, the
 *    input zero point being 0), and for every pair of output channels a 2 x 4 register block
 *    per column quad (per tap 4 LH + 2 LB, 8 MUL + 8 ADD). An odd last channel takes a 1 x 4
 *    block. Without scratch for one quad: runs of consecutive taps straight from the quantized
 *    input, 2 pixels x 2 channels.
 * 3. y = act(acc * (input_scale * filter_scale) + bias), as the reference (on the board GCC
 *    contracts it into one FMADD.S there as well). */
#include "rv32_common.h"
#include "rvf_f32.h"
#include "kernels_conv.h"

#if defined(__riscv) && defined(__riscv_flen)
static inline int32_t vb_hyb_round(float v)
{
    int32_t t;
    __asm__("fcvt.w.s %0, %1, rmm" : "=r"(t) : "f"(v));
    return t;
}
#else
/* TfliteRound (round half away from zero) for |v| < 2^23, as the reference. */
static inline int32_t vb_hyb_round(float v)
{
    int32_t t = (int32_t)v;
    const float frac = v - (float)t;
    if (frac >= 0.5f) {
        ++t;
    } else if (frac <= -0.5f) {
        --t;
    }
    return t;
}
#endif

/* Quantize n floats symmetrically into q; returns the scale (1 for an all-zero input). */
static float vb_hyb_quantize(const float *x, int8_t *q, int32_t n)
{
    const uint32_t *bits = (const uint32_t *)(const void *)x;
    uint32_t top = 0;
    for (int32_t i = 0; i < n; ++i) {
        const uint32_t a = bits[i] & 0x7FFFFFFFu;
        top = a > top ? a : top;
    }
    union {
        uint32_t u;
        float f;
    } range = {top};
    if (range.f == 0.0f) {
        for (int32_t i = 0; i < n; ++i) {
            q[i] = 0;
        }
        return 1.0f;
    }
    const float inv = 127.0f / range.f;
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = vb_hyb_round(x[i] * inv);
        v = v < -127 ? -127 : (v > 127 ? 127 : v);
        q[i] = (int8_t)v;
    }
    return range.f / 127.0f;
}

/* a[0] = x0.w0, a[1] = x0.w1, a[2] = x1.w0, a[3] = x1.w1 over `rows` runs of n taps (xrow /
 * wrow bytes apart), w1 = w0 + wch. */
static void vb_hyb_p2c2(const int8_t *x0, const int8_t *x1, const int8_t *w0, int32_t wch, int32_t n,
                        int32_t rows, int32_t xrow, int32_t wrow, int32_t *a)
{
    int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0;
    for (int32_t r = 0; r < rows; ++r, x0 += xrow, x1 += xrow, w0 += wrow) {
        const int8_t *p0 = x0, *p1 = x1, *f0 = w0, *f1 = w0 + wch;
        int32_t k = 0;
        for (; k + 2 <= n; k += 2) {
            const int32_t u0 = p0[k], u1 = p1[k], g0 = f0[k], g1 = f1[k];
            const int32_t v0 = p0[k + 1], v1 = p1[k + 1], h0 = f0[k + 1], h1 = f1[k + 1];
            s00 += u0 * g0;
            s01 += u0 * g1;
            s10 += u1 * g0;
            s11 += u1 * g1;
            s00 += v0 * h0;
            s01 += v0 * h1;
            s10 += v1 * h0;
            s11 += v1 * h1;
        }
        if (k < n) {
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
    for (int32_t r = 0; r < rows; ++r, x += xrow, w += wrow) {
        for (int32_t k = 0; k < n; ++k) {
            s += x[k] * w[k];
        }
    }
    return s;
}

static inline float vb_hyb_out(int32_t acc, float out_scale, float bias, float lo, float hi)
{
    const float y = (float)acc * out_scale;
    return vb_act_f32(y + bias, lo, hi);
}


/* ---------------------------------------------------------------- blocked path (scratch) */

#define VB_HYB_COLS 16

/* the int8 CONV_2D's column quads and register blocks (rv32_common.h); zero point 0 */
VB_RV_DEFINE_IM2COL(vb_hyb_im2col, vb_conv_hybrid_f32_params_t, 0)
VB_RV_DEFINE_DOT_2X4(vb_hyb_dot_2x4, 0)
VB_RV_DEFINE_DOT_1X4(vb_hyb_dot_1x4, 0)

/* One batch through the scratch: blocks of up to max_cols output pixels. */
static void vb_hyb_blocked(const vb_conv_hybrid_f32_params_t *p, const int8_t *q, float out_scale, float *out,
                           int16_t *cols, int32_t max_cols)
{
    const int32_t out_c = p->out_c, K = p->filter_h * p->filter_w * p->in_c, npix = p->out_h * p->out_w;
    int32_t acc[8];
    VB_FOR_PIXEL_BLOCKS(npix, max_cols, oy, ox, q0, n, {
        const int32_t nquads = (n + 3) >> 2;
        for (int32_t i = 0; i < n; ++i) {
            vb_hyb_im2col(p, q, oy, ox, cols + (i >> 2) * 4 * K + (i & 3));
            VB_NEXT_PIXEL(oy, ox, p->out_w);
        }
        float *o = out + q0 * out_c;
        int32_t oc = 0;
        for (; oc + 2 <= out_c; oc += 2) {
            const int8_t *w0 = p->filter + oc * K;
            const float b0 = p->bias[oc], b1 = p->bias[oc + 1];
            for (int32_t j = 0; j < nquads; ++j) {
                vb_hyb_dot_2x4(cols + j * 4 * K, w0, w0 + K, K, acc);
                const int32_t m = n - 4 * j < 4 ? n - 4 * j : 4;
                float *oq = o + 4 * j * out_c + oc;
                for (int32_t i = 0; i < m; ++i) {
                    oq[i * out_c] = vb_hyb_out(acc[i], out_scale, b0, p->act_min, p->act_max);
                    oq[i * out_c + 1] = vb_hyb_out(acc[4 + i], out_scale, b1, p->act_min, p->act_max);
                }
            }
        }
        if (oc < out_c) {
            for (int32_t j = 0; j < nquads; ++j) {
                vb_hyb_dot_1x4(cols + j * 4 * K, p->filter + oc * K, K, acc);
                const int32_t m = n - 4 * j < 4 ? n - 4 * j : 4;
                for (int32_t i = 0; i < m; ++i) {
                    o[(4 * j + i) * out_c + oc] = vb_hyb_out(acc[i], out_scale, p->bias[oc], p->act_min,
                                                             p->act_max);
                }
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
    /* scratch: column quads of 8 * K bytes */
    uint32_t scratch_bytes = 0;
    int16_t *cols = (int16_t *)vb_kernel_scratch(&scratch_bytes);
    int32_t max_cols = cols ? 4 * (int32_t)(scratch_bytes / (8u * (uint32_t)K)) : 0;
    max_cols = max_cols < VB_HYB_COLS ? max_cols : VB_HYB_COLS;
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *q = input_q + b * input_size;
        const float out_scale = vb_hyb_quantize(input + b * input_size, q, input_size) * p->filter_scale;
        if (max_cols > 0) {
            vb_hyb_blocked(p, q, out_scale, output + b * p->out_h * p->out_w * out_c, cols, max_cols);
            continue;
        }
        VB_FOR_OUT_ROWS(p, vb_rvf_range, oy, iy0, fy0, fy1, {
            const int32_t rows = fy1 - fy0;
            const int8_t *q_rows = q + (iy0 + fy0 * p->dilation_h) * in_w * in_c;
            float *out = output + ((b * p->out_h + oy) * p->out_w) * out_c;
            for (int32_t ox = 0; ox < p->out_w;) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0, fx1;
                vb_rvf_range(ix0, fw, dw, in_w, &fx0, &fx1);
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
                        int32_t a[4];
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
