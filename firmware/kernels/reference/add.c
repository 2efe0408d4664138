/* ADD of two same-shape int8 tensors: both inputs are rescaled to a common scale with
 * 20 bits of headroom, summed, and requantized (TFLite reference int8 AddFunc). */
#include "kernels_common.h"

void vb_add(const vb_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t in1 = vb_shl_wrap(p->input1_offset + input1[i], p->left_shift);
        const int32_t in2 = vb_shl_wrap(p->input2_offset + input2[i], p->left_shift);
        const int32_t scaled1 =
            vb_multiply_by_quantized_multiplier(in1, p->input1_multiplier, p->input1_shift);
        const int32_t scaled2 =
            vb_multiply_by_quantized_multiplier(in2, p->input2_multiplier, p->input2_shift);
        const int32_t raw = vb_multiply_by_quantized_multiplier(scaled1 + scaled2,
                                                                p->output_multiplier,
                                                                p->output_shift) +
                            p->output_offset;
        output[i] = (int8_t)vb_clamp_i32(raw, p->act_min, p->act_max);
    }
}
