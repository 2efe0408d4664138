/*
 * Palette weights (`vbench compile --weights palette`, vbench/compiler/encodings/palette.py):
 * a layer whose int8 filter has at most 16 distinct values keeps it in flash as 4-bit indices
 * into a 16-entry int8 table. The runtime runs the layer's decoder (vb_layer_t.decode) before
 * the layer; it expands the indices into the arena buffer that the layer's filter points at,
 * and the layer's own kernel then runs unchanged on weights in SRAM.
 */
#ifndef VB_KERNELS_PALETTE_H
#define VB_KERNELS_PALETTE_H

#include <stdint.h>

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

#endif /* VB_KERNELS_PALETTE_H */
