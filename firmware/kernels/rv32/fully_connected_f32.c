/* FULLY_CONNECTED, float32, for RV32IMAF (rv32 variant): the reference kernel's sums in its
 * order (rvf_f32.h). Rows in groups of 4 through vb_rvf_rows, batches up to 4 at a time (each
 * weight loaded once for all of them); the up to 3 remaining rows in C. */
#include "rvf_f32.h"

void vb_fully_connected_f32(const vb_fc_f32_params_t *p, const float *input, float *output)
{
    const int32_t depth = p->in_depth, out_depth = p->out_depth, blocks = out_depth >> 2;
    for (int32_t b = 0; b < p->batches;) {
        const int32_t left = p->batches - b;
        const int32_t pixels = left >= 4 ? 4 : (left >= 2 ? 2 : 1);
        const float *x = input + b * depth;
        float *out = output + b * out_depth;
        if (blocks > 0 && depth > 0) {
            vb_rvf_job_t job = {x, depth, p->filter, depth, depth, 1, 0, 0, blocks, out, out_depth};
            vb_rvf_rows(&job, pixels);
        }
        for (int32_t i = 0; i < pixels; ++i) {
            for (int32_t o = depth > 0 ? 4 * blocks : 0; o < out_depth; ++o) {
                out[i * out_depth + o] = vb_rvf_dot_rows(x + i * depth, p->filter + o * depth, depth, 1, 0, 0);
            }
            vb_rvf_bias_act(out + i * out_depth, p->bias, out_depth, p->act_min, p->act_max);
        }
        b += pixels;
    }
}
