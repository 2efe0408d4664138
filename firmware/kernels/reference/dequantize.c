/* DEQUANTIZE int8 -> float32. TFLite computes (float)((double)scale * (q - zp)); that
 * double product is exact (24-bit x 9-bit mantissas), so one correctly rounded float
 * multiply gives the same bits without double arithmetic. */
#include "kernels_common.h"

void vb_dequantize_i8_to_f32(const int8_t *input, float *output, uint32_t count, float scale,
                             int32_t zero_point)
{
    for (uint32_t i = 0; i < count; ++i) {
        output[i] = (float)((int32_t)input[i] - zero_point) * scale;
    }
}

void vb_dequantize(const vb_dequantize_params_t *p, const int8_t *input, float *output)
{
    vb_dequantize_i8_to_f32(input, output, (uint32_t)p->size, p->scale, p->zero_point);
}
