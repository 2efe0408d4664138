/* QUANTIZE with TFLite reference semantics:
 *   float32 -> int8: q = round_half_away(x / (double)scale) + zero_point, clamped
 *                    (reference_ops::AffineQuantize divides in double);
 *   int8 -> int8:    requantize with an integer multiplier (reference_ops::Requantize). */
#include "kernels_common.h"

void vb_quantize_f32_to_i8(const float *input, int8_t *output, uint32_t count, float scale,
                           int32_t zero_point)
{
    const double s = (double)scale;
    for (uint32_t i = 0; i < count; ++i) {
        /* Clamp before adding the zero point so the int32 sum cannot overflow. */
        const int32_t q = vb_clamp_i32(vb_round_to_i32((double)input[i] / s), -65536, 65536);
        output[i] = (int8_t)vb_clamp_i32(q + zero_point, VB_INT8_MIN, VB_INT8_MAX);
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
