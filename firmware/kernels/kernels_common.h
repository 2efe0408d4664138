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

#endif /* VB_KERNELS_COMMON_H */
