/* FULLY_CONNECTED, float32, for the Cortex-M4F (cortex_m4_dsp variant): bit-exact with
 * reference/fully_connected_f32.c compiled without FMA contraction, i.e. with TFLite's float
 * reference kernel (fpu_f32.h). Rows in groups of 4 through the blocked dot products (VLDM
 * loads, independent sums), batches 4 (vb_f32_rows_p4), 2 (p2) or 1 (p1) at a time so each
 * weight is loaded once for all of them; the up to 3 remaining rows in C. */
#include "fpu_f32.h"

void vb_fully_connected_f32(const vb_fc_f32_params_t *p, const float *input, float *output)
{
    const int32_t depth = p->in_depth, out_depth = p->out_depth, blocks = out_depth >> 2;
    for (int32_t b = 0; b < p->batches;) {
        const int32_t left = p->batches - b, pixels = left >= 4 ? 4 : (left >= 2 ? 2 : 1);
        const float *x = input + b * depth;
        float *out = output + b * out_depth;
        if (blocks > 0 && depth > 0) {
            vb_f32_job_t job = {x, x + depth, p->filter, depth, 1, 0, 0, depth * 4, blocks, out, out + out_depth,
                                depth * 4, out_depth * 4};
            VB_F32_ROWS(job, pixels);
        }
        for (int32_t i = 0; i < pixels; ++i) {
            for (int32_t o = depth > 0 ? 4 * blocks : 0; o < out_depth; ++o) {
                out[i * out_depth + o] = vb_f32_dot_rows(x + i * depth, p->filter + o * depth, depth, 1, 0, 0);
            }
            vb_f32_bias_act(out + i * out_depth, p->bias, out_depth, p->act_min, p->act_max);
        }
        b += pixels;
    }
}
