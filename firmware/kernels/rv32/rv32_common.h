/*
 * Helpers shared by the RV32 kernels (rv32 variant): portable C for an RV32IM core without
 * SIMD (CV32E40P class: 1-cycle MUL and loads, 5-cycle MULH, a 1-cycle load-use penalty,
 * taken branches 3 cycles). The kernels block registers (several output channels and pixels
 * per pass, int32 accumulators), unroll their inner loops and advance pointers with
 * immediate offsets; the compiler schedules loads ahead of their uses.
 *
 * Requantization: vb_rq_fast() (kernels_common.h: TFLite's MultiplyByQuantizedMultiplier with
 * one 64-bit multiply-add and a shift, bit-exact with the reference formulas);
 * vb_rv_requant_store() (rv32_common.c) applies it to a run of accumulators of one channel and
 * takes the general formulas for the remaining cases.
 */
#ifndef VB_RV32_COMMON_H
#define VB_RV32_COMMON_H

#include <stdint.h>

#include "kernels_common.h"

/* Requantize acc[0..n-1] of one output channel (layer rounding flags), add the output zero
 * point, clamp, store at out[0], out[ostride], ... */
void vb_rv_requant_store(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, int32_t mult,
                         int32_t shift, uint32_t flags, int32_t out_offset, int32_t act_min,
                         int32_t act_max);

/* ---------------------------------------------------------------- im2col conv blocks
 * Shared by the int8 and the hybrid CONV_2D (VB_RV_MAC_X4 by the Winograd blocks too). Macros
 * that define a static function in each kernel file, so that each keeps its own copy,
 * attributes and compile options of the hot loop (the two take different parameter blocks). */

/* static void name(p, in_batch, oy, ox, dst): the K patch values of output pixel (oy, ox), plus
 * OFF, padding 0, written every 4th int16 from dst. */
#define VB_RV_DEFINE_IM2COL(name, params_t, OFF)                                                    \
    static void name(const params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox, int16_t *dst) \
    {                                                                                               \
        const int32_t in_c = p->in_c, fw = p->filter_w, off = (OFF);                                \
        const int32_t iy0 = oy * p->stride_h - p->pad_h;                                            \
        const int32_t ix0 = ox * p->stride_w - p->pad_w;                                            \
        for (int32_t ky = 0; ky < p->filter_h; ++ky) {                                              \
            const int32_t iy = iy0 + ky * p->dilation_h;                                            \
            for (int32_t kx = 0; kx < fw; ++kx) {                                                   \
                const int32_t ix = ix0 + kx * p->dilation_w;                                        \
                if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w) {                           \
                    for (int32_t c = 0; c < in_c; ++c, dst += 4) {                                  \
                        *dst = 0;                                                                   \
                    }                                                                               \
                } else {                                                                            \
                    const int8_t *src = in_batch + (iy * p->in_w + ix) * in_c;                      \
                    int32_t c = 0;                                                                  \
                    for (; c + 4 <= in_c; c += 4, dst += 16) {                                      \
                        const int32_t v0 = src[c], v1 = src[c + 1], v2 = src[c + 2], v3 = src[c + 3]; \
                        dst[0] = (int16_t)(v0 + off);                                               \
                        dst[4] = (int16_t)(v1 + off);                                               \
                        dst[8] = (int16_t)(v2 + off);                                               \
                        dst[12] = (int16_t)(v3 + off);                                              \
                    }                                                                               \
                    for (; c < in_c; ++c, dst += 4) {                                               \
                        *dst = (int16_t)(src[c] + off);                                             \
                    }                                                                               \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }

/* r0..r3 += f * x0..x3, the caller's locals x0..x3 (four columns of one tap). */
#define VB_RV_MAC_X4(f, r0, r1, r2, r3)                                                            \
    do {                                                                                           \
        r0 += (f) * x0;                                                                            \
        r1 += (f) * x1;                                                                            \
        r2 += (f) * x2;                                                                            \
        r3 += (f) * x3;                                                                            \
    } while (0)

/* One tap of the 2 x 4 block (locals a0..a3, b0..b3, x, w0, w1 of the function below). */
#define VB_RV_TAP_2X4(i)                                                                           \
    do {                                                                                           \
        const int32_t f0 = w0[i], f1 = w1[i];                                                      \
        const int32_t x0 = x[4 * (i)], x1 = x[4 * (i) + 1], x2 = x[4 * (i) + 2],                    \
                      x3 = x[4 * (i) + 3];                                                         \
        VB_RV_MAC_X4(f0, a0, a1, a2, a3);                                                          \
        VB_RV_MAC_X4(f1, b0, b1, b2, b3);                                                          \
    } while (0)

/* static void name(x, w0, w1, K, acc): acc[0..3] = start + row w0 . columns 0..3, acc[4..7] the
 * same for row w1 (K taps, columns [k][4] int16); the start is acc[] with FROM_ACC, else 0. */
#define VB_RV_DEFINE_DOT_2X4(name, FROM_ACC)                                                        \
    __attribute__((noinline, optimize("no-schedule-insns"))) static void name(                     \
        const int16_t *x, const int8_t *w0, const int8_t *w1, int32_t K, int32_t *acc)              \
    {                                                                                               \
        int32_t a0 = (FROM_ACC) ? acc[0] : 0, a1 = (FROM_ACC) ? acc[1] : 0;                         \
        int32_t a2 = (FROM_ACC) ? acc[2] : 0, a3 = (FROM_ACC) ? acc[3] : 0;                         \
        int32_t b0 = (FROM_ACC) ? acc[4] : 0, b1 = (FROM_ACC) ? acc[5] : 0;                         \
        int32_t b2 = (FROM_ACC) ? acc[6] : 0, b3 = (FROM_ACC) ? acc[7] : 0;                         \
        int32_t k = K;                                                                              \
        for (; k >= 4; k -= 4) {                                                                    \
            VB_RV_TAP_2X4(0);                                                                       \
            VB_RV_TAP_2X4(1);                                                                       \
            VB_RV_TAP_2X4(2);                                                                       \
            VB_RV_TAP_2X4(3);                                                                       \
            x += 16;                                                                                \
            w0 += 4;                                                                                \
            w1 += 4;                                                                                \
        }                                                                                           \
        for (; k > 0; --k) {                                                                        \
            VB_RV_TAP_2X4(0);                                                                       \
            x += 4;                                                                                 \
            ++w0;                                                                                   \
            ++w1;                                                                                   \
        }                                                                                           \
        acc[0] = a0;                                                                                \
        acc[1] = a1;                                                                                \
        acc[2] = a2;                                                                                \
        acc[3] = a3;                                                                                \
        acc[4] = b0;                                                                                \
        acc[5] = b1;                                                                                \
        acc[6] = b2;                                                                                \
        acc[7] = b3;                                                                                \
    }

/* static void name(x, w0, K, acc): acc[0..3] = start + row w0 . columns 0..3 (as above). */
#define VB_RV_DEFINE_DOT_1X4(name, FROM_ACC)                                                        \
    __attribute__((noinline)) static void name(const int16_t *x, const int8_t *w0, int32_t K, int32_t *acc) \
    {                                                                                               \
        int32_t a0 = (FROM_ACC) ? acc[0] : 0, a1 = (FROM_ACC) ? acc[1] : 0;                         \
        int32_t a2 = (FROM_ACC) ? acc[2] : 0, a3 = (FROM_ACC) ? acc[3] : 0;                         \
        for (int32_t k = K; k > 0; --k) {                                                           \
            const int32_t f0 = *w0++;                                                               \
            a0 += f0 * x[0];                                                                        \
            a1 += f0 * x[1];                                                                        \
            a2 += f0 * x[2];                                                                        \
            a3 += f0 * x[3];                                                                        \
            x += 4;                                                                                 \
        }                                                                                           \
        acc[0] = a0;                                                                                \
        acc[1] = a1;                                                                                \
        acc[2] = a2;                                                                                \
        acc[3] = a3;                                                                                \
    }

#endif /* VB_RV32_COMMON_H */
