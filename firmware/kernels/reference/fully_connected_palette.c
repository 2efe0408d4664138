/* Fused palette FULLY_CONNECTED (kernels_palette.h), portable: each weight is looked up in the
 * 16-entry table as it is multiplied (no decode buffer). Bit-exact with reference
 * fully_connected.c: same sums (the input zero point is in the bias), same requantization. */
#include "kernels_common.h"

void vb_fully_connected_palette(const vb_fc_palette_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth;
    const int32_t group_bytes = (depth + 3) / 4 * 8;
    const int8_t *t = p->table;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_row = input + b * depth;
        for (int32_t oc = 0; oc < p->out_depth; ++oc) {
            /* this row's two bytes in each chunk of its group: 2 bytes per row of the group */
            const int32_t g = oc / VB_FC_PALETTE_ROWS, first = g * VB_FC_PALETTE_ROWS;
            const int32_t rows = vb_min_i32(VB_FC_PALETTE_ROWS, p->out_depth - first);
            const uint8_t *q = p->packed + g * group_bytes + (oc - first) * 2;
            const int8_t *x = in_row;
            int32_t acc = 0;
            int32_t d = 0;
            for (; d + 4 <= depth; d += 4, q += 2 * rows, x += 4) {
                const uint32_t b0 = q[0], b1 = q[1];   /* inputs 0 | 2, 1 | 3 */
                acc += t[b0 & 15u] * x[0] + t[b1 & 15u] * x[1] + t[b0 >> 4] * x[2] + t[b1 >> 4] * x[3];
            }
            for (int32_t k = 0; d < depth; ++d, ++k) {   /* the last, partial chunk */
                const uint32_t byte = q[k & 1];
                acc += t[(k & 2) ? byte >> 4 : byte & 15u] * x[k];
            }
            acc += p->bias[oc];
            const int32_t q_ch = p->per_channel ? oc : 0;
            acc = vb_requantize(acc, p->multiplier[q_ch], p->shift[q_ch], p->flags);
            acc += p->output_offset;
            output[b * p->out_depth + oc] = (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
        }
    }
}
