"""Palette weights (`--weights palette`): a layer whose int8 filter takes at most 16 distinct
values (a clustered model, see transforms.cluster_model) stores it in flash as 4-bit indices,
two per byte, plus a 16-entry int8 table. Before the layer runs, the runtime's weight decoder
(vb_decode_palette, firmware/kernels/kernels_palette.h) expands the indices into an arena
buffer that the layer's `filter` points at; the layer keeps its own op and kernel, so the
arithmetic is the dense layer's (bit-exact) and the kernels read their weights from SRAM.

Layout: weight 2i is the low nibble of packed byte i, weight 2i+1 the high nibble (an odd
count leaves the last high nibble 0). The table holds the distinct values in ascending order;
unused entries are 0.

Cost: flash drops to about half a byte per weight; the arena grows by the largest decode
buffer that does not fit beside the activations alive at its layer (the buffer is live during
its layer only); each encoded layer pays the decode before it runs.
"""

from __future__ import annotations

import numpy as np

from vbench.compiler.tflite_reader import Tensor

PALETTE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
TABLE_ENTRIES = 16
# Word-wise kernels may read up to 3 bytes past the end of a filter row (cortex_m4_dsp
# conv_2d.c, whose flash filters have bytes after them); the decode buffer keeps them inside.
OVERREAD_BYTES = 3
DECODER_STRUCT = "vb_palette_decoder_t"
NOTE = "palette 4-bit"


def palette(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(packed uint8 indices, int8 table of 16) for int8 `weights` with at most 16 distinct
    values, else None."""
    flat = np.ascontiguousarray(weights, dtype=np.int8).reshape(-1)
    values = np.unique(flat)
    if len(values) > TABLE_ENTRIES or flat.size == 0:
        return None
    table = np.zeros(TABLE_ENTRIES, np.int8)
    table[:len(values)] = values
    idx = np.searchsorted(values, flat).astype(np.uint8)
    if idx.size % 2:
        idx = np.append(idx, np.uint8(0))
    packed = (idx[0::2] | (idx[1::2] << 4)).astype(np.uint8)
    return packed, table


def unpack(packed: np.ndarray, table: np.ndarray, count: int) -> np.ndarray:
    """The int8 weights `palette` encoded (what vb_decode_palette writes)."""
    idx = np.empty(packed.size * 2, np.uint8)
    idx[0::2], idx[1::2] = packed & 15, packed >> 4
    return table[idx[:count]]


def encode(graph, layers) -> None:
    """Give every int8 CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layer with at most 16
    distinct filter values a palette decoder (in place). A layer stays dense when the packed
    form would not be smaller than the filter (32 weights or fewer)."""
    for layer in layers:
        if layer.op not in PALETTE_OPS or layer.kernel or layer.decoder or "filter" not in layer.arrays:
            continue
        weights = layer.arrays["filter"]
        if weights.dtype != np.int8:
            continue
        encoded = palette(weights)
        if encoded is None:
            continue
        packed, table = encoded
        count = int(weights.size)
        if packed.nbytes + table.nbytes >= count:
            continue
        out = graph.tensors[layer.output]
        buffer = Tensor(len(graph.tensors), f"{out.name}/palette_weights",
                        (count + OVERREAD_BYTES,), "INT8", None)
        graph.tensors.append(buffer)   # planned like an activation, live during this layer only
        layer.inputs.append(buffer.index)
        del layer.arrays["filter"]
        layer.arena_pointers["filter"] = (buffer.index, "int8_t")
        layer.arena_pointers["decode.destination"] = (buffer.index, "int8_t")
        layer.decoder = {"struct": DECODER_STRUCT, "params": {"count": count},
                         "arrays": {"packed": packed, "table": table}}
        layer.notes.append(NOTE)
