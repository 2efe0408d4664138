/*
 * Sparse int8 CONV_2D / FULLY_CONNECTED (`vbench compile --weights sparse`, see
 * vbench/compiler/encodings/sparse.py): only the non-zero weights are stored, and the kernels
 * skip the zeros. Same arithmetic as the dense kernels (bit-exact).
 *
 * Weights, per output channel one after the other: counts[oc] entries of 16 bits each,
 *   entry = delta | value << 8
 * delta (uint8, low byte): distance from the previous entry's position in the flattened filter
 * row ([kh][kw][in_c] for CONV_2D, [in_depth] for FULLY_CONNECTED; the first entry's distance is
 * from position 0); value (int8, high byte): the weight. Gaps wider than 255 are bridged by
 * entries of value 0. The bias has -input_zero_point * sum(row) folded in, so the kernels
 * multiply raw input values, and a convolution pads with the input zero point (adding 0).
 *
 * CONV_2D scratch (the arena span input_offset[1] the compiler planned): VB_SPARSE_COLS int16
 * columns of the patch, position major: cols[k * VB_SPARSE_COLS + j] = patch value k of the
 * block's output pixel j.
 */
#ifndef VB_KERNELS_SPARSE_H
#define VB_KERNELS_SPARSE_H

#include <stdint.h>

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VB_SPARSE_COLS 8   /* SPARSE_COLS in vbench/compiler/encodings/sparse.py */

/* Kernels: columns [n, width) of a block of K positions (cols[k * width + j]) set to 0, so the
 * unused columns' sums stay defined. */
#define VB_SPARSE_ZERO_COLS(cols, n, width, K)                                                     \
    for (int32_t j = (n); j < (width); ++j) {                                                      \
        for (int32_t k = 0; k < (K); ++k) {                                                        \
            (cols)[k * (width) + j] = 0;                                                           \
        }                                                                                          \
    }

typedef struct {
    VB_CONV_GEOMETRY;
    int32_t pad_h, pad_w;          /* top / left padding, TFLite ComputePadding */
    int32_t input_zero_point;      /* the padding value (its effect is folded into the bias) */
    int32_t output_offset;         /* output zero point */
    int32_t act_min, act_max;
    uint32_t flags;                /* VB_FLAG_* (ZP_FOLDED always set) */
    const uint16_t *counts;        /* [out_c] entries per output channel */
    const int16_t *entries;        /* delta | value << 8 */
    const int32_t *bias;           /* [out_c], zero point folded in */
    const int32_t *multiplier;     /* [out_c] */
    const int32_t *shift;          /* [out_c] */
} vb_conv_sparse_params_t;

typedef struct {
    VB_FC_FOLDED_HEAD;
    const uint16_t *counts;        /* [out_depth] */
    const int16_t *entries;
    const int32_t *bias;           /* [out_depth], zero point folded in */
    const int32_t *multiplier;
    const int32_t *shift;
} vb_fc_sparse_params_t;

/* cols: the layer's scratch, in_c * filter_h * filter_w * VB_SPARSE_COLS int16 */
void vb_conv_2d_sparse(const vb_conv_sparse_params_t *p, const int8_t *input, int16_t *cols,
                       int8_t *output);
void vb_fully_connected_sparse(const vb_fc_sparse_params_t *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* VB_KERNELS_SPARSE_H */
