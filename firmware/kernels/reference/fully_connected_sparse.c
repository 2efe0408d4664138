/* FULLY_CONNECTED on sparse weights (kernels_sparse.h), bit-exact with
 * reference/fully_connected.c: per output row, each stored entry steps the input pointer by its
 * delta and multiplies the raw input value (the zero point is folded into the bias). Up to four
 * batches share one pass over the entries (one decode, four MACs). */
#include "kernels_common.h"
#include "kernels_sparse.h"

static inline int8_t vb_fc_sparse_out(const vb_fc_sparse_params_t *p, int32_t acc, int32_t row)
{
    const int32_t q = p->per_channel ? row : 0;
    int32_t r = vb_requantize(acc, p->multiplier[q], p->shift[q], p->flags) + p->output_offset;
    return (int8_t)vb_clamp_i32(r, p->act_min, p->act_max);
}

void vb_fully_connected_sparse(const vb_fc_sparse_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    int32_t b = 0;
    for (; b + 4 <= p->batches; b += 4) {
        const int16_t *e = p->entries;
        const int8_t *in = input + b * depth;
        for (int32_t r = 0; r < rows; ++r) {
            int32_t a0 = p->bias[r], a1 = a0, a2 = a0, a3 = a0;
            const int8_t *x = in;
            for (int32_t cnt = p->counts[r]; cnt > 0; --cnt) {
                const int32_t ent = *e++;
                x += ent & 0xFF;
                const int32_t v = ent >> 8;
                a0 += v * x[0];
                a1 += v * x[depth];
                a2 += v * x[2 * depth];
                a3 += v * x[3 * depth];
            }
            int8_t *out = output + b * rows + r;
            out[0] = vb_fc_sparse_out(p, a0, r);
            out[rows] = vb_fc_sparse_out(p, a1, r);
            out[2 * rows] = vb_fc_sparse_out(p, a2, r);
            out[3 * rows] = vb_fc_sparse_out(p, a3, r);
        }
    }
    for (; b < p->batches; ++b) {
        const int16_t *e = p->entries;
        const int8_t *in = input + b * depth;
        for (int32_t r = 0; r < rows; ++r) {
            int32_t acc = p->bias[r];
            const int8_t *x = in;
            int32_t cnt = p->counts[r];
            for (; cnt >= 4; cnt -= 4, e += 4) { /* unrolled: the loop overhead is a third of an entry */
                const int32_t e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3];
                x += e0 & 0xFF;
                acc += (e0 >> 8) * x[0];
                x += e1 & 0xFF;
                acc += (e1 >> 8) * x[0];
                x += e2 & 0xFF;
                acc += (e2 >> 8) * x[0];
                x += e3 & 0xFF;
                acc += (e3 >> 8) * x[0];
            }
            for (; cnt > 0; --cnt) {
                const int32_t ent = *e++;
                x += ent & 0xFF;
                acc += (ent >> 8) * *x;
            }
            output[b * rows + r] = vb_fc_sparse_out(p, acc, r);
        }
    }
}
