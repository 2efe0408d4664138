"""Palette weights (`--weights palette`): a layer whose int8 filter takes at most 16 distinct
values (a clustered model, see transforms.cluster_model) stores it in flash as 4-bit indices,
two per byte, plus a 16-entry int8 table (the distinct values in ascending order; unused
entries are 0). How the layer then runs depends on how often it uses each weight:

* CONV_2D / DEPTHWISE_CONV_2D reuse every weight at each output pixel. Before the layer runs,
  the runtime's weight decoder (vb_decode_palette, firmware/kernels/kernels_palette.h) expands
  the indices into an arena buffer that the layer's `filter` points at; the layer keeps its own
  op and kernel, so the arithmetic is the dense layer's (bit-exact) and the kernels read their
  weights from SRAM. Layout: weight 2i is the low nibble of packed byte i, weight 2i+1 the high
  nibble (an odd count leaves the last high nibble 0). Cost: the arena grows by the largest
  decode buffer that does not fit beside the activations alive at its layer (live during its
  layer only), and each layer pays the decode before it runs.

* FULLY_CONNECTED uses each weight once per batch row, so a decode would cost as much as the
  layer and the buffer would hold the whole filter. It runs the fused kernel instead
  (Layer.kernel "_PALETTE", vb_fully_connected_palette): no decoder and no arena buffer; the
  kernel looks weights up in the table as it multiplies (the optimized variants through a
  table of weight pairs built on the stack per call). Indices in groups of 4 rows and chunks
  of 4 inputs (`fc_layout`, documented in kernels_palette.h; only the input tail is padded);
  the input zero point is folded into the bias and the flags are the dense layer's (single
  rounding with "litert").

Flash drops to about half a byte per weight plus 16 bytes per layer.
"""

from __future__ import annotations

import numpy as np

from vbench.compiler.fold import FLAG_ZP_FOLDED
from vbench.compiler.tflite_reader import Tensor

PALETTE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
TABLE_ENTRIES = 16
FC_ROWS = 4      # VB_FC_PALETTE_ROWS in firmware/kernels/kernels_palette.h
FC_CHUNK = 4     # inputs per chunk (one input word)
# Word-wise kernels may read up to 3 bytes past the end of a filter row (cortex_m4_dsp
# conv_2d.c, whose flash filters have bytes after them); the decode buffer keeps them inside.
OVERREAD_BYTES = 3
DECODER_STRUCT = "vb_palette_decoder_t"
NOTE = "palette 4-bit"
FC_NOTE = "palette 4-bit, fused"


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


def _indices(weights: np.ndarray, table: np.ndarray) -> np.ndarray:
    values = table[:len(np.unique(weights))]
    return np.searchsorted(values, weights).astype(np.uint8)


def _groups(rows: int) -> list[tuple[int, int]]:
    """(first row, rows) of each group: FC_ROWS rows each, the remainder last."""
    return [(g, min(FC_ROWS, rows - g)) for g in range(0, rows, FC_ROWS)]


def fc_layout(weights: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The fused FULLY_CONNECTED index bytes (kernels_palette.h) of int8 weights [out][in]
    whose values are all in `table`: per group of 4 rows (the last may hold fewer), per chunk of
    4 inputs, byte 2r holds inputs 0 and 2 of row r (low, high nibble), byte 2r + 1 inputs 1 and
    3; inputs past the depth have index 0."""
    rows, depth = weights.shape
    chunks = -(-depth // FC_CHUNK)
    idx = np.zeros((rows, chunks * FC_CHUNK), np.uint8)
    idx[:, :depth] = _indices(np.asarray(weights, np.int8), table)
    idx = idx.reshape(rows, chunks, FC_CHUNK)
    pairs = np.stack([idx[..., 0] | idx[..., 2] << 4, idx[..., 1] | idx[..., 3] << 4], axis=-1)  # [row][c][2]
    parts = [pairs[g:g + n].transpose(1, 0, 2).reshape(-1) for g, n in _groups(rows)]
    return np.concatenate(parts).astype(np.uint8)


def fc_unlayout(packed: np.ndarray, table: np.ndarray, rows: int, depth: int) -> np.ndarray:
    """The int8 weights [rows][depth] that `fc_layout` encoded (for tests and checks)."""
    chunks = -(-depth // FC_CHUNK)
    packed = np.asarray(packed, np.uint8)
    if packed.size != rows * chunks * 2:
        raise ValueError(f"{packed.size} index bytes, not {rows * chunks * 2} for {rows} x {depth} weights")
    pairs = np.concatenate([packed[g * chunks * 2:(g + n) * chunks * 2].reshape(chunks, n, 2).transpose(1, 0, 2)
                            for g, n in _groups(rows)])   # [row][c][2]
    idx = np.empty((rows, chunks, FC_CHUNK), np.uint8)
    idx[..., 0], idx[..., 2] = pairs[..., 0] & 15, pairs[..., 0] >> 4
    idx[..., 1], idx[..., 3] = pairs[..., 1] & 15, pairs[..., 1] >> 4
    return table[idx.reshape(rows, chunks * FC_CHUNK)[:, :depth]]


def _encode_fc(layer, weights: np.ndarray, table: np.ndarray) -> bool:
    """Rewrite a FULLY_CONNECTED layer to the fused kernel (in place); False: stays dense."""
    p = layer.params
    if p["input_offset"] != 0 or not p["flags"] & FLAG_ZP_FOLDED:
        return False   # the fused kernel multiplies raw inputs (the dense fold always folds)
    rows, depth = p["out_depth"], p["in_depth"]
    packed = fc_layout(weights.reshape(rows, depth), table)
    if packed.nbytes + table.nbytes >= weights.size:
        return False
    keep = ("batches", "in_depth", "out_depth", "output_offset", "act_min", "act_max", "flags", "per_channel")
    layer.params = {k: p[k] for k in keep}
    a = layer.arrays
    layer.arrays = dict(packed=packed, table=table, bias=a["bias"], multiplier=a["multiplier"],
                        shift=a["shift"])
    layer.kernel = "_PALETTE"
    layer.notes.append(FC_NOTE)
    return True


def encode(graph, layers) -> None:
    """Give every int8 CONV_2D / DEPTHWISE_CONV_2D layer with at most 16 distinct filter values
    a palette decoder, and turn such FULLY_CONNECTED layers into fused palette layers (in
    place). A layer stays dense when the packed form would not be smaller than the filter."""
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
        if layer.op == "FULLY_CONNECTED":
            _encode_fc(layer, weights, table)
            continue
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
