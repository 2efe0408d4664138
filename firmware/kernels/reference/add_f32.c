/* ADD, float32, two tensors of the same shape: TFLite reference_ops::Add (float), the sum
 * then the fused activation. */
#include "kernels.h"

void vb_add_f32(const vb_add_f32_params_t *p, const float *input1, const float *input2,
                float *output)
{
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = vb_act_f32(input1[i] + input2[i], p->act_min, p->act_max);
    }
}
