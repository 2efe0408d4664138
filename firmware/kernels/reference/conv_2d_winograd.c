/* CONV_2D as Winograd F(2x2,3x3), portable and bit-exact with reference/conv_2d.c (see
 * kernels_winograd.h). One tile at a time: the transformed input of all channels into the
 * scratch, then per output channel the 16 dot products over the channels, the output transform,
 * the exact division by 4, the bias and CONV_2D's requantization. */
#include "kernels_common.h"
#include "kernels_winograd.h"

/* slot of channel c within its group of 4 (order 0, 2, 1, 3) */
static int32_t vb_wino_slot(int32_t c)
{
    static const int8_t slot[4] = {0, 2, 1, 3};
    return (c & ~3) + slot[c & 3];
}

/* V = B^T d B of one channel's 4x4 patch, B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1] */
static void vb_wino_input(const int32_t d[4][4], int32_t v[4][4])
{
    int32_t t[4][4];
    for (int32_t j = 0; j < 4; ++j) {
        t[0][j] = d[0][j] - d[2][j];
        t[1][j] = d[1][j] + d[2][j];
        t[2][j] = d[2][j] - d[1][j];
        t[3][j] = d[1][j] - d[3][j];
    }
    for (int32_t i = 0; i < 4; ++i) {
        v[i][0] = t[i][0] - t[i][2];
        v[i][1] = t[i][1] + t[i][2];
        v[i][2] = t[i][2] - t[i][1];
        v[i][3] = t[i][1] - t[i][3];
    }
}

/* Y = A^T M A, A^T = [1 1 1 0; 0 1 -1 -1] */
static void vb_wino_output(const int32_t m[16], int32_t y[2][2])
{
    int32_t t[2][4];
    for (int32_t j = 0; j < 4; ++j) {
        t[0][j] = m[j] + m[4 + j] + m[8 + j];
        t[1][j] = m[4 + j] - m[8 + j] - m[12 + j];
    }
    for (int32_t i = 0; i < 2; ++i) {
        y[i][0] = t[i][0] + t[i][1] + t[i][2];
        y[i][1] = t[i][1] - t[i][2] - t[i][3];
    }
}

void vb_conv_2d_winograd(const vb_conv_winograd_params_t *p, const int8_t *input, int16_t *scratch,
                         int8_t *output)
{
    const int32_t in_c = p->in_c, in_c4 = p->in_c4, out_c = p->out_c;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * in_c;
        int8_t *out_batch = output + b * p->out_h * p->out_w * out_c;
        for (int32_t oy = 0; oy < p->out_h; oy += 2) {
            for (int32_t ox = 0; ox < p->out_w; ox += 2) {
                const int32_t iy0 = oy - p->pad_h, ix0 = ox - p->pad_w;
                for (int32_t c = 0; c < in_c4; ++c) {
                    int32_t d[4][4], v[4][4];
                    for (int32_t r = 0; r < 4; ++r) {
                        for (int32_t s = 0; s < 4; ++s) {
                            const int32_t iy = iy0 + r, ix = ix0 + s;
                            const int inside = iy >= 0 && iy < p->in_h && ix >= 0 && ix < p->in_w;
                            if (c >= in_c) {
                                d[r][s] = 0;   /* padding channel (U is 0 there too) */
                            } else {
                                d[r][s] = inside ? in_batch[(iy * p->in_w + ix) * in_c + c] : p->pad_value;
                            }
                        }
                    }
                    vb_wino_input((const int32_t(*)[4])d, v);
                    for (int32_t pos = 0; pos < 16; ++pos) {
                        scratch[pos * in_c4 + vb_wino_slot(c)] = (int16_t)v[pos >> 2][pos & 3];
                    }
                }
                for (int32_t oc = 0; oc < out_c; ++oc) {
                    /* U of a slot pair is 2 values; the next pair 4 further when channels are paired */
                    const int32_t ustep = (oc | 1) < out_c ? 4 : 2;
                    int32_t m[16], y[2][2];
                    for (int32_t pos = 0; pos < 16; ++pos) {
                        const int16_t *u = p->filter + vb_wino_u_index(oc, out_c, in_c4, pos, 0);
                        const int16_t *v = scratch + pos * in_c4;
                        int32_t acc = 0;
                        for (int32_t k = 0; k < in_c4; k += 2, u += ustep) {
                            acc += (int32_t)u[0] * (int32_t)v[k] + (int32_t)u[1] * (int32_t)v[k + 1];
                        }
                        m[pos] = acc;
                    }
                    vb_wino_output(m, y);
                    for (int32_t i = 0; i < 2 && oy + i < p->out_h; ++i) {
                        for (int32_t j = 0; j < 2 && ox + j < p->out_w; ++j) {
                            /* y is 4 x the direct accumulator exactly; the bias add wraps as in
                             * the direct kernel */
                            int32_t acc = (int32_t)((uint32_t)(y[i][j] >> 2) + (uint32_t)p->bias[oc]);
                            acc = vb_requantize(acc, p->multiplier[oc], p->shift[oc], p->flags);
                            acc += p->output_offset;
                            out_batch[((oy + i) * p->out_w + ox + j) * out_c + oc] =
                                (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);
                        }
                    }
                }
            }
        }
    }
}
