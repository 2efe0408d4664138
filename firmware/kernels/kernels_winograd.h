/*
 * CONV_2D as Winograd F(2x2,3x3) (VB_OP_CONV_2D_WINOGRAD, `vbench compile --winograd`): int8 3x3
 * stride-1 convolutions, bit-exact with vb_conv_2d (see vbench/compiler/encodings/winograd.py).
 *
 * Per 2x2 output tile and output channel: V = B^T d B of the 4x4 input patch d of every input
 * channel (raw int8 codes, taps outside the image = pad_value, the input zero point),
 * M = sum_c U_c (.) V_c with the transformed filter U = 4 G g G^T (int16), Y = A^T M A = 4 x the
 * direct accumulator exactly; acc = (Y >> 2) + bias (the zero point is folded into the bias), then
 * CONV_2D's requantization. The compiler proves |V| <= 512, |U| <= 1152 and every partial sum
 * within int32. Edge tiles of odd output sizes compute 2x2 and store what is inside.
 */
#ifndef VB_KERNELS_WINOGRAD_H
#define VB_KERNELS_WINOGRAD_H

#include <stdint.h>

typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t pad_h, pad_w;          /* top / left padding (SAME: 1, VALID: 0) */
    int32_t in_c4;                 /* in_c rounded up to 4: channel stride of filter and scratch */
    int32_t tiles;                 /* tiles of transformed input the scratch holds (4) */
    int32_t pad_value;             /* input zero point: the value of taps outside the image */
    int32_t output_offset;         /* output zero point */
    int32_t act_min, act_max;      /* fused activation range, int8 */
    uint32_t flags;                /* VB_FLAG_* (ZP_FOLDED always; SINGLE_ROUNDING as CONV_2D) */
    /* U at tile position 4 * row + column and channel slot k (within each group of 4 channels
     * the slot order 0, 2, 1, 3; slots of channels >= in_c are 0). Output channel pairs
     * interleaved by slot pair: [out_c / 2][16][in_c4 / 2][2 channels][2 slots]; an odd last
     * channel [16][in_c4]. Channel oc starts at oc * 16 * in_c4 (vb_wino_u_index). */
    const int16_t *filter;
    const int32_t *bias;           /* [out_c]: bias - zero point * sum(filter) */
    const int32_t *multiplier;     /* [out_c] */
    const int32_t *shift;          /* [out_c] */
} vb_conv_winograd_params_t;

/* Index of U(oc, pos, slot) in filter. */
static inline int32_t vb_wino_u_index(int32_t oc, int32_t out_c, int32_t in_c4, int32_t pos, int32_t slot)
{
    const int32_t base = (oc & ~1) * 16 * in_c4;
    if ((oc | 1) < out_c) {
        return base + ((pos * (in_c4 >> 1) + (slot >> 1)) * 2 + (oc & 1)) * 2 + (slot & 1);
    }
    return base + pos * in_c4 + slot;
}

/* scratch: the layer's arena span (input_offset[1]): tiles * 16 * in_c4 int16 for transformed
 * input tiles, then 16 * in_c4 bytes for a zero-point-padded copy of a 4x4 input patch; each
 * kernel variant lays them out as it likes. */
void vb_conv_2d_winograd(const vb_conv_winograd_params_t *p, const int8_t *input, int16_t *scratch,
                         int8_t *output);

/* Defines `static void name(m, nt, bias, acc)`, the optimized kernels' output transform of one
 * output channel of a block of nt <= T tiles: Y = A^T M A of each tile's 16 sums m[8 * pos]
 * (A^T = [1 1 1 0; 0 1 -1 -1]), divided by 4 (exact) plus the bias, into acc[row][2 t + column].
 * The bias add wraps as in the direct kernel. */
#define VB_DEFINE_WINO_OUT(name, T)                                                                \
    __attribute__((noinline)) static void name(const int32_t *m, int32_t nt, int32_t bias,          \
                                               int32_t acc[2][2 * T])                              \
    {                                                                                              \
        int32_t *a0 = acc[0], *a1 = acc[1];                                                        \
        for (int32_t t = 0; t < nt; ++t, m += 2, a0 += 2, a1 += 2) {                               \
            /* rows first: z[r][0] = m[r][0] + m[r][1] + m[r][2],                               \
             * z[r][1] = m[r][1] - m[r][2] - m[r][3] */                                            \
            int32_t x1 = m[8], x2 = m[16];                                                         \
            const int32_t z00 = m[0] + x1 + x2, z01 = x1 - x2 - m[24];                             \
            x1 = m[40];                                                                            \
            x2 = m[48];                                                                            \
            const int32_t z10 = m[32] + x1 + x2, z11 = x1 - x2 - m[56];                            \
            x1 = m[72];                                                                            \
            x2 = m[80];                                                                            \
            const int32_t z20 = m[64] + x1 + x2, z21 = x1 - x2 - m[88];                            \
            x1 = m[104];                                                                           \
            x2 = m[112];                                                                           \
            const int32_t z30 = m[96] + x1 + x2, z31 = x1 - x2 - m[120];                           \
            a0[0] = (int32_t)((uint32_t)((z00 + z10 + z20) >> 2) + (uint32_t)bias);                \
            a0[1] = (int32_t)((uint32_t)((z01 + z11 + z21) >> 2) + (uint32_t)bias);                \
            a1[0] = (int32_t)((uint32_t)((z10 - z20 - z30) >> 2) + (uint32_t)bias);                \
            a1[1] = (int32_t)((uint32_t)((z11 - z21 - z31) >> 2) + (uint32_t)bias);                \
        }                                                                                          \
    }

#endif /* VB_KERNELS_WINOGRAD_H */
