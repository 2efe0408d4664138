/*
 * Integer requantization helpers shared by the kernels. They reimplement the
 * fixed-point arithmetic TFLite's reference kernels use, so results are bit-exact
 * with TFLite. Signed overflow is avoided by going
 * through uint32_t / int64_t where TFLite relies on two's-complement wrap.
 */
#ifndef VB_KERNELS_COMMON_H
#define VB_KERNELS_COMMON_H

#include <stdint.h>

#include "kernels.h"

#define VB_INT8_MIN (-128)
#define VB_INT8_MAX 127

static inline int32_t vb_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t vb_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }

static inline int32_t vb_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* round(a * b / 2^31) with ties away from zero; saturates the one overflow case. */
static inline int32_t vb_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));
    /* C division truncates toward zero, as the reference requires. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t vb_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* Wrapping x * 2^shift, as the reference's int32 multiply behaves. */
static inline int32_t vb_shl_wrap(int32_t x, int32_t shift)
{
    return (int32_t)((uint32_t)x << shift);
}

/* TFLite MultiplyByQuantizedMultiplier, default ("double rounding") build:
 * round(round(x * 2^left * multiplier / 2^31) / 2^right), gemmlowp style. Used by TFLite's
 * reference kernels, TFLite Micro and CMSIS-NN. */
static inline int32_t vb_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                          int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    return vb_rounding_divide_by_pot(vb_srdhm(vb_shl_wrap(x, left_shift), multiplier),
                                     right_shift);
}

/* The TFLITE_SINGLE_ROUNDING form: one 64-bit product, rounded half up; shift in [-31, 30].
 * LiteRT's FULLY_CONNECTED computes this (the compiler sets VB_FLAG_SINGLE_ROUNDING). */
static inline int32_t vb_multiply_by_quantized_multiplier_single(int32_t x, int32_t multiplier,
                                                                 int32_t shift)
{
    const int32_t total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)(((int64_t)x * (int64_t)multiplier + round) >> total_shift);
}

/* Requantize an accumulator with the rounding the layer's flags ask for. */
static inline int32_t vb_requantize(int32_t acc, int32_t multiplier, int32_t shift, uint32_t flags)
{
    return (flags & VB_FLAG_SINGLE_ROUNDING)
               ? vb_multiply_by_quantized_multiplier_single(acc, multiplier, shift)
               : vb_multiply_by_quantized_multiplier(acc, multiplier, shift);
}

/* FULLY_CONNECTED, optimized variants: for every batch, with x and out at its input and output
 * rows (depth and rows values each), the statement after the names. */
#define VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, ...)                              \
    for (int32_t b_ = 0; b_ < (p)->batches; ++b_) {                                                \
        const int8_t *x = (input) + b_ * (depth);                                                  \
        int8_t *out = (output) + b_ * (rows);                                                      \
        __VA_ARGS__                                                                                \
    }

/* The blocks of up to BLOCK of `rows` rows: [r0, r0 + n), then the statement after the names. */
#define VB_FC_FOR_BLOCKS(rows, BLOCK, r0, n, ...)                                                  \
    for (int32_t r0 = 0; r0 < (rows); r0 += (BLOCK)) {                                             \
        const int32_t n = (rows) - r0 < (BLOCK) ? (rows) - r0 : (BLOCK);                           \
        __VA_ARGS__                                                                                \
    }

/* acc[r..r+3] = bias[r0 + r..]: the start of a block of 4 rows. */
#define VB_FC_BIAS4(acc, bias, r0, r)                                                              \
    do {                                                                                           \
        (acc)[r] = (bias)[(r0) + (r)];                                                             \
        (acc)[(r) + 1] = (bias)[(r0) + (r) + 1];                                                   \
        (acc)[(r) + 2] = (bias)[(r0) + (r) + 2];                                                   \
        (acc)[(r) + 3] = (bias)[(r0) + (r) + 3];                                                   \
    } while (0)

/* FULLY_CONNECTED, optimized variants: requantize and store the accumulators acc[0..n-1] of rows
 * r0.. of a block into out[r0..] by the variant's STORE(acc, n, out, ostride, mult, shift, ...)
 * (trailing arguments passed on), one call per row when the layer is per-channel. */
#define VB_FC_STORE_BLOCK(p, acc, n, out, r0, STORE, ...)                                          \
    do {                                                                                           \
        if ((p)->per_channel) {                                                                    \
            for (int32_t r_ = 0; r_ < (n); ++r_) {                                                 \
                STORE((acc) + r_, 1, (out) + (r0) + r_, 1, (p)->multiplier[(r0) + r_],             \
                      (p)->shift[(r0) + r_], __VA_ARGS__);                                         \
            }                                                                                      \
        } else {                                                                                   \
            STORE(acc, n, (out) + (r0), 1, (p)->multiplier[0], (p)->shift[0], __VA_ARGS__);        \
        }                                                                                          \
    } while (0)

/* Fast requantization, shared by the optimized variants: one 64-bit multiply-add (SMLAL on the
 * Cortex-M4, MUL + MULH on RV32) and a shift.
 *
 * Double rounding (gemmlowp), multiplier m >= 0, right shift e >= 1 (shift = -e), x = acc:
 *   RoundingDivideByPOT(SRDHM(x, m), e)
 *     = floor((x*m + 2^30 + 2^(30+e) - [x < 0] * 2^31) / 2^(31+e))
 * (SRDHM's truncation toward zero equals floor((x*m + 2^30) / 2^31) for both signs; the
 * rounding divide adds 2^(e-1) minus 1 for negative values, and nested floors of exact
 * power-of-two divisions compose; for x < 0 with x*m >= -2^30 both sides are 0, so the sign
 * of x may stand for the sign of x*m + 2^30.) The top word of the 64-bit sum shifted right by
 * e - 1 is the result. Checked against the reference formulas on random and edge values.
 *
 * Single rounding (TFLITE_SINGLE_ROUNDING) with total = 31 - shift >= 32:
 *   (x*m + 2^(total-1)) >> total = top word of the sum >> (total - 32).
 */
typedef struct {
    int64_t k;          /* constant added to x*m */
    uint32_t negmask;   /* 0x80000000 (double rounding: subtract 2^31 for x < 0) or 0 */
    int32_t mult;
    int32_t sh;         /* shift of the top word */
} vb_rq_fast_t;

/* Set up the fast form; 0 when this (mult, shift, rounding) needs the general formulas. */
static inline int vb_rq_fast_setup(vb_rq_fast_t *q, int32_t mult, int32_t shift, uint32_t flags)
{
    if (mult < 0 || shift > -1 || shift < -31) {
        return 0;
    }
    q->mult = mult;
    if (flags & VB_FLAG_SINGLE_ROUNDING) {
        const int32_t total = 31 - shift; /* 32..62 */
        q->k = (int64_t)1 << (total - 1);
        q->negmask = 0;
        q->sh = total - 32;
    } else {
        const int32_t e = -shift; /* 1..31 */
        q->k = ((int64_t)1 << 30) + ((int64_t)1 << (30 + e));
        q->negmask = 0x80000000u;
        q->sh = e - 1;
    }
    return 1;
}

static inline int32_t vb_rq_fast(int32_t x, const vb_rq_fast_t *q)
{
    const int64_t v = q->k - (int64_t)((uint32_t)x & q->negmask) + (int64_t)x * q->mult;
    return (int32_t)(v >> 32) >> q->sh;
}

#endif /* VB_KERNELS_COMMON_H */
