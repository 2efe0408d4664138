/* FULLY_CONNECTED, float32, for the Cortex-M4F (cortex_m4_dsp variant): bit-exact with
 * reference/fully_connected_f32.c compiled without FMA contraction, i.e. with TFLite's float
 * reference kernel (fpu_f32.h). Rows in groups of 4 through vb_f32_rows_p1 (each input read once
 * per group, VLDM loads, 4 independent sums); the up to 3 remaining rows in C. */
#include "fpu_f32.h"

void vb_fully_connected_f32(const vb_fc_f32_params_t *p, const float *input, float *output)
{
    const int32_t depth = p->in_depth, out_depth = p->out_depth, blocks = out_depth >> 2;
    for (int32_t b = 0; b < p->batches; ++b) {
        const float *x = input + b * depth;
        float *out = output + b * out_depth;
        if (blocks > 0 && depth > 0) {
            vb_f32_job_t job = {x, x, p->filter, depth, 1, 0, 0, depth * 4, blocks, out, out};
            vb_f32_rows_p1(&job);
        } else if (blocks > 0) {
            for (int32_t o = 0; o < 4 * blocks; ++o) {
                out[o] = 0.0f;
            }
        }
        for (int32_t o = 4 * blocks; o < out_depth; ++o) {
            out[o] = vb_f32_dot_rows(x, p->filter + o * depth, depth, 1, 0, 0);
        }
        vb_f32_bias_act(out, p->bias, out_depth, p->act_min, p->act_max);
    }
}
