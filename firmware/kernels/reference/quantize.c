/* QUANTIZE with TFLite reference semantics:
 *   float32 -> int8: q = round_half_away(x / (double)scale) + zero_point, clamped
 *                    (reference_ops::AffineQuantize divides in double);
 *   int8 -> int8:    requantize with an integer multiplier (reference_ops::Requantize). */
#include "kernels_common.h"

/* Exactly TFLite's arithmetic: double division (soft-float on FPUs without double). */
static int32_t quantize_exact(float x, double scale, int32_t zero_point)
{
    /* Clamp before adding the zero point so the int32 sum cannot overflow. */
    const int32_t q = vb_clamp_i32(vb_round_to_i32((double)x / scale), -65536, 65536);
    return vb_clamp_i32(q + zero_point, VB_INT8_MIN, VB_INT8_MAX);
}

/* Single-precision fast path with the same result. For |x / scale| < 512 the float
 * quotient is within 2^-15 of the exact one and the double quotient within 2^-44, so
 * both round to the same integer unless the quotient lies within 2^-12 of a .5 tie;
 * those rare cases (and NaN) take the exact path. |quotient| >= 512 saturates either way
 * because the zero point is in [-128, 127]. */
static int32_t quantize_one(float x, float scale, double scale_d, int32_t zero_point)
{
    const float qf = x / scale;
    const float a = qf < 0.0f ? -qf : qf;
    if (a >= 512.0f) {
        return qf < 0.0f ? VB_INT8_MIN : VB_INT8_MAX;
    }
    if (a < 512.0f) { /* false for NaN */
        const int32_t whole = (int32_t)a;
        const float frac = a - (float)whole; /* exact */
        const float tie_distance = frac - 0.5f;
        if (tie_distance > 0x1p-12f || tie_distance < -0x1p-12f) {
            const int32_t magnitude = whole + (frac > 0.5f ? 1 : 0);
            const int32_t q = qf < 0.0f ? -magnitude : magnitude;
            return vb_clamp_i32(q + zero_point, VB_INT8_MIN, VB_INT8_MAX);
        }
    }
    return quantize_exact(x, scale_d, zero_point);
}

void vb_quantize_f32_to_i8(const float *input, int8_t *output, uint32_t count, float scale,
                           int32_t zero_point)
{
    const double scale_d = (double)scale;
    for (uint32_t i = 0; i < count; ++i) {
        output[i] = (int8_t)quantize_one(input[i], scale, scale_d, zero_point);
    }
}

void vb_quantize(const vb_quantize_params_t *p, const void *input, int8_t *output)
{
    if (p->input_type == VB_TYPE_FLOAT32) {
        vb_quantize_f32_to_i8((const float *)input, output, (uint32_t)p->size, p->scale,
                              p->zero_point);
        return;
    }
    const int8_t *in = (const int8_t *)input;
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t v = vb_multiply_by_quantized_multiplier(in[i] - p->input_zero_point,
                                                              p->multiplier, p->shift) +
                          p->zero_point;
        output[i] = (int8_t)vb_clamp_i32(v, VB_INT8_MIN, VB_INT8_MAX);
    }
}
