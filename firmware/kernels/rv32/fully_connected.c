/* FULLY_CONNECTED for RV32IM cores (rv32 variant), bit-exact with
 * reference/fully_connected.c.
 *
 * Four weight rows per pass: each input value is loaded (and offset) once and multiplied into
 * four int32 accumulators; the loop is unrolled by 4 with immediate offsets. Accumulators of up
 * to VB_RV_FC_BLOCK rows are requantized in one run (per-tensor) or row by row (per-channel).
 * No scratch memory. */
#include "rv32_common.h"

#define VB_RV_FC_BLOCK 32

/* acc[r] += w[r * depth + i] * (x[i] + offset) for r < 4, i < depth: per input one LB of x and
 * four of the rows, all loads first (no load-use stalls), then four MUL + ADD. */
__attribute__((always_inline)) static inline void vb_rv_fc_4rows(const int8_t *x, const int8_t *w, int32_t depth,
                                                                 int32_t offset, int32_t *acc)
{
    const int8_t *w0 = w, *w1 = w + depth, *w2 = w + 2 * depth, *w3 = w + 3 * depth;
    const int8_t *end = x + depth;
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
#define VB_RV_FC_STEP(j)                                                         \
    do {                                                                         \
        const int32_t xv = x[j], f0 = w0[j], f1 = w1[j], f2 = w2[j], f3 = w3[j]; \
        const int32_t xo = xv + offset;                                          \
        s0 += f0 * xo;                                                           \
        s1 += f1 * xo;                                                           \
        s2 += f2 * xo;                                                           \
        s3 += f3 * xo;                                                           \
    } while (0)
    for (; x + 4 <= end; x += 4, w0 += 4, w1 += 4, w2 += 4, w3 += 4) {
        VB_RV_FC_STEP(0);
        VB_RV_FC_STEP(1);
        VB_RV_FC_STEP(2);
        VB_RV_FC_STEP(3);
    }
    for (; x < end; ++x, ++w0, ++w1, ++w2, ++w3) {
        VB_RV_FC_STEP(0);
    }
#undef VB_RV_FC_STEP
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* The usual case, input offset 0 (folded into the bias by vbench compile): a constant for the
 * compiler. (Scheduling before register allocation would hoist every load and spill.) */
__attribute__((noinline, optimize("no-schedule-insns"))) static void
vb_rv_fc_4rows_folded(const int8_t *x, const int8_t *w, int32_t depth, int32_t *acc)
{
    vb_rv_fc_4rows(x, w, depth, 0, acc);
}

__attribute__((noinline, optimize("no-schedule-insns"))) static void
vb_rv_fc_4rows_offset(const int8_t *x, const int8_t *w, int32_t depth, int32_t offset, int32_t *acc)
{
    vb_rv_fc_4rows(x, w, depth, offset, acc);
}

static int32_t vb_rv_fc_row(const int8_t *x, const int8_t *w, int32_t depth, int32_t offset, int32_t s)
{
    for (int32_t i = 0; i < depth; ++i) {
        s += w[i] * (x[i] + offset);
    }
    return s;
}

void vb_fully_connected(const vb_fc_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth, offset = p->input_offset;
    int32_t acc[VB_RV_FC_BLOCK];
    VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, {
        VB_FC_FOR_BLOCKS(rows, VB_RV_FC_BLOCK, r0, n, {
            int32_t r = 0;
            for (; r + 4 <= n; r += 4) {
                VB_FC_BIAS4(acc, p->bias, r0, r);
                if (offset == 0) {
                    vb_rv_fc_4rows_folded(x, p->filter + (r0 + r) * depth, depth, acc + r);
                } else {
                    vb_rv_fc_4rows_offset(x, p->filter + (r0 + r) * depth, depth, offset, acc + r);
                }
            }
            for (; r < n; ++r) {
                acc[r] = vb_rv_fc_row(x, p->filter + (r0 + r) * depth, depth, offset, p->bias[r0 + r]);
            }
            VB_FC_STORE_BLOCK(p, acc, n, out, r0, vb_rv_requant_store, p->flags, p->output_offset,
                              p->act_min, p->act_max);
        })
    })
}
