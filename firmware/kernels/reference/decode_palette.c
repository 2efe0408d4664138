/* Palette weight decoder (kernels_palette.h), portable: one packed byte, two weights. */
#include "kernels.h"

void vb_decode_palette(const vb_palette_decoder_t *d)
{
    const uint8_t *src = d->packed;
    const int8_t *table = d->table;
    int8_t *dst = d->destination;
    const uint32_t pairs = d->count / 2u;
    for (uint32_t i = 0; i < pairs; ++i) {
        const uint32_t b = src[i];
        dst[2u * i] = table[b & 15u];
        dst[2u * i + 1u] = table[b >> 4];
    }
    if (d->count & 1u) {
        dst[d->count - 1u] = table[src[pairs] & 15u];
    }
}
