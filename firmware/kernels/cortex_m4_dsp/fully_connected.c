/* FULLY_CONNECTED for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact with
 * reference/fully_connected.c.
 *
 * Four weight rows per pass: per 4 inputs one input word unpacked once with SXTAB16 (input
 * offset added in the same instruction), then for each row one weight word (SXTB16 unpacked)
 * and two SMLADs; K % 4 inputs and out_depth % 4 rows use scalar code. Accumulators of up to
 * VB_FC_BLOCK rows are requantized in one run (per-tensor quantization) or row by row
 * (per-channel). No scratch memory. */
#include "dsp_common.h"

#define VB_FC_BLOCK 32

/* acc[r] += w[r * depth + i] * (x[i] + offset) for r < 4, i < depth. */
static inline void vb_fc_4rows(const int8_t *x, const int8_t *w, int32_t depth, int32_t off2, int32_t offset,
                               int32_t *acc)
{
    const int8_t *w0 = w, *w1 = w + depth, *w2 = w + 2 * depth, *w3 = w + 3 * depth;
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    int32_t i = depth >> 2;
    for (; i > 0; --i) {
        const uint32_t xv = vb_rd32(x);
        x += 4;
        const int32_t xe = vb_sxtab16(off2, xv), xo = vb_sxtab16_ror8(off2, xv);
        uint32_t wv = vb_rd32(w0);
        w0 += 4;
        s0 = vb_smlad(xe, vb_sxtb16(wv), s0);
        s0 = vb_smlad(xo, vb_sxtb16_ror8(wv), s0);
        wv = vb_rd32(w1);
        w1 += 4;
        s1 = vb_smlad(xe, vb_sxtb16(wv), s1);
        s1 = vb_smlad(xo, vb_sxtb16_ror8(wv), s1);
        wv = vb_rd32(w2);
        w2 += 4;
        s2 = vb_smlad(xe, vb_sxtb16(wv), s2);
        s2 = vb_smlad(xo, vb_sxtb16_ror8(wv), s2);
        wv = vb_rd32(w3);
        w3 += 4;
        s3 = vb_smlad(xe, vb_sxtb16(wv), s3);
        s3 = vb_smlad(xo, vb_sxtb16_ror8(wv), s3);
    }
    for (i = depth & 3; i > 0; --i) {
        const int32_t xv = *x++ + offset;
        s0 += *w0++ * xv;
        s1 += *w1++ * xv;
        s2 += *w2++ * xv;
        s3 += *w3++ * xv;
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

static inline int32_t vb_fc_row(const int8_t *x, const int8_t *w, int32_t depth, int32_t off2, int32_t offset,
                                int32_t s)
{
    int32_t i = depth >> 2;
    for (; i > 0; --i) {
        const uint32_t xv = vb_rd32(x), wv = vb_rd32(w);
        x += 4;
        w += 4;
        s = vb_smlad(vb_sxtab16(off2, xv), vb_sxtb16(wv), s);
        s = vb_smlad(vb_sxtab16_ror8(off2, xv), vb_sxtb16_ror8(wv), s);
    }
    for (i = depth & 3; i > 0; --i) {
        s += *w++ * (*x++ + offset);
    }
    return s;
}

void vb_fully_connected(const vb_fc_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    const int32_t offset = p->input_offset, off2 = vb_dup16(offset);
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);
    int32_t acc[VB_FC_BLOCK];
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * rows;
        for (int32_t r0 = 0; r0 < rows; r0 += VB_FC_BLOCK) {
            const int32_t n = rows - r0 < VB_FC_BLOCK ? rows - r0 : VB_FC_BLOCK;
            int32_t r = 0;
            for (; r + 4 <= n; r += 4) {
                acc[r] = p->bias[r0 + r];
                acc[r + 1] = p->bias[r0 + r + 1];
                acc[r + 2] = p->bias[r0 + r + 2];
                acc[r + 3] = p->bias[r0 + r + 3];
                vb_fc_4rows(x, p->filter + (r0 + r) * depth, depth, off2, offset, acc + r);
            }
            for (; r < n; ++r) {
                acc[r] = vb_fc_row(x, p->filter + (r0 + r) * depth, depth, off2, offset, p->bias[r0 + r]);
            }
            if (p->per_channel) {
                for (r = 0; r < n; ++r) {
                    vb_dsp_requant_store(acc + r, 1, out + r0 + r, 1, p->multiplier[r0 + r], p->shift[r0 + r],
                                         &ost);
                }
            } else {
                vb_dsp_requant_store(acc, n, out + r0, 1, p->multiplier[0], p->shift[0], &ost);
            }
        }
    }
}
