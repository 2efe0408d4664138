/* QUANTIZE with TFLite semantics (as LiteRT computes it; checked bit-exact on ties):
 *   float32 -> int8: q = round_half_away(x / scale) + zero_point, clamped, where the
 *                    division is single precision;
 *   int8 -> int8:    requantize with an integer multiplier (reference_ops::Requantize).
 * Quotients beyond int32 (and NaN) are undefined behaviour in TFLite's cast (x86 yields
 * INT32_MIN, so -128); here they saturate by sign, and NaN gives -128. */
#include "kernels_common.h"

static int32_t quantize_one(float x, float scale, int32_t zero_point)
{
    const float q = x / scale;
    if (q != q) {
        return VB_INT8_MIN;
    }
    const float a = q < 0.0f ? -q : q;
    if (a >= 65536.0f) { /* saturated whatever the zero point, also for +-inf */
        return q < 0.0f ? VB_INT8_MIN : VB_INT8_MAX;
    }
    const int32_t whole = (int32_t)a;          /* exact truncation, a < 2^16 */
    const float frac = a - (float)whole;       /* exact */
    const int32_t magnitude = whole + (frac >= 0.5f ? 1 : 0);  /* std::round: ties away */
    const int32_t rounded = q < 0.0f ? -magnitude : magnitude;
    return vb_clamp_i32(rounded + zero_point, VB_INT8_MIN, VB_INT8_MAX);
}

void vb_quantize_f32_to_i8(const float *input, int8_t *output, uint32_t count, float scale,
                           int32_t zero_point)
{
    for (uint32_t i = 0; i < count; ++i) {
        output[i] = (int8_t)quantize_one(input[i], scale, zero_point);
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
