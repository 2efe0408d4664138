/*
 * Palette weights (`vbench compile --weights palette`, vbench/compiler/encodings/palette.py):
 * a layer whose int8 filter has at most 16 distinct values keeps it in flash as 4-bit indices
 * into a 16-entry int8 table.
 *
 * CONV_2D / DEPTHWISE_CONV_2D (weights reused at every output pixel): the runtime runs the
 * layer's decoder (vb_layer_t.decode) before the layer; it expands the indices into the arena
 * buffer that the layer's filter points at, and the layer's own kernel then runs unchanged on
 * weights in SRAM.
 *
 * FULLY_CONNECTED (each weight used once per batch row): no decoder and no buffer; the fused
 * kernel vb_fully_connected_palette (VB_OP_FULLY_CONNECTED_PALETTE) looks the weights up in
 * the table while it multiplies.
 */
#ifndef VB_KERNELS_PALETTE_H
#define VB_KERNELS_PALETTE_H

#include <stdint.h>

#include "kernels.h"

typedef struct {
    uint32_t count;          /* int8 weights to write */
    const uint8_t *packed;   /* (count + 1) / 2 bytes: weight 2i in the low nibble of byte i,
                              * weight 2i + 1 in the high nibble; word-aligned (the
                              * compiler emits constants 16-byte aligned) */
    const int8_t *table;     /* 16 values */
    int8_t *destination;     /* count bytes in the arena (16-byte aligned; the layer's filter) */
} vb_palette_decoder_t;

/* destination[i] = table[index i], i < count. Variants may decode several indices per load. */
void vb_decode_palette(const vb_palette_decoder_t *d);

/* Fused palette FULLY_CONNECTED: same arithmetic as vb_fully_connected (bit-exact), the input
 * zero point folded into the bias (VB_FLAG_ZP_FOLDED always set), so raw input values are
 * multiplied.
 *
 * Index layout (`fc_layout` in vbench/compiler/encodings/palette.py): the rows in groups of
 * VB_FC_PALETTE_ROWS (4; the last group holds the out_depth % 4 rows left over, if any), the
 * inputs in chunks of 4. A group of n rows stores its chunks one after the other, 2n bytes each:
 *   byte 2r     = idx(w[4g + r][4c + 0]) | idx(w[4g + r][4c + 2]) << 4
 *   byte 2r + 1 = idx(w[4g + r][4c + 1]) | idx(w[4g + r][4c + 3]) << 4     (r < n)
 * i.e. a byte holds the weights of inputs (4c, 4c + 2) or (4c + 1, 4c + 3) of one row, the
 * pairs that SXTB16(x) and SXTB16(x ROR 8) of an input word line up with. Group g starts at
 * byte g * ceil(in_depth / 4) * 8. Inputs past in_depth have index 0 and are multiplied as 0.
 * Size: out_depth * ceil(in_depth / 4) * 2 bytes. */
#define VB_FC_PALETTE_ROWS 4

typedef struct {
    VB_FC_FOLDED_HEAD;
    const uint8_t *packed;         /* the layout above */
    const int8_t *table;           /* 16 values */
    const int32_t *bias;           /* [out_depth], zero point folded in */
    const int32_t *multiplier;
    const int32_t *shift;
} vb_fc_palette_params_t;

void vb_fully_connected_palette(const vb_fc_palette_params_t *p, const int8_t *input, int8_t *output);

#endif /* VB_KERNELS_PALETTE_H */
