"""Sparse weight encoding (`compile --weights sparse`): int8 CONV_2D and FULLY_CONNECTED layers
whose filter is at least SPARSE_MIN_ZEROS zeros keep only their non-zero weights and run the
kernels that skip the zeros (firmware/kernels/*/conv_2d_sparse.c, fully_connected_sparse.c).

Storage, per output channel (a filter row: the flattened [kh][kw][in_c] patch, or the FC
weight row), in flash:

    counts[oc]   uint16: number of entries of the channel (0 for an all-zero channel)
    entries[]    int16, the channels' entries one after the other: low byte the uint8 distance
                 from the previous entry's patch position (the first from position 0), high byte
                 the int8 weight, i.e. entry = delta | value << 8. A gap wider than 255 is
                 bridged by entries (255, 0) whose value 0 adds nothing.
    bias[oc]     int32 with -input_zero_point * sum(row) folded in (as the dense FULLY_CONNECTED
                 and all-taps-inside CONV_2D already do), so the kernels multiply raw input values
                 and a convolution pads with the input zero point, which then adds 0
    multiplier/shift as in the dense layer.

An entry's bytes load straight into the two registers the kernels need: LDRB (delta) and LDRSB
(value) on the Cortex-M4, LBU and LB on RV32, with no unpacking (the portable C reads the int16:
entry & 0xFF, entry >> 8). Two bytes per non-zero make the encoding smaller than the dense int8
filter once more than half the weights are zero (plus 2 bytes per channel for the count).

Convolutions get an arena scratch of 16 * K bytes (K = filter_h * filter_w * in_c; a layer that
would need more than SCRATCH_CAP_BYTES stays dense, with a note), planned like
an activation live during the layer only: VB_SPARSE_COLS (8) int16 columns of the patch, position
major ([K][8]; the rv32 kernel uses the same bytes as 16 int8 columns). The kernel lays out
(im2col) 8 or 16 output pixels at a time, then each decoded entry is applied to all of them (one
pointer step, 8 or 16 multiply-accumulates), so the decoding is paid once per 8 or 16 MACs. A 1x1
stride-1 convolution goes through the same copy: its pixels' inputs are in_c bytes apart, and
gathering them per entry would cost a pointer per column, against one pass over the input per
pixel block.

SPARSE_MIN_ZEROS = 0.5: from half zeros on, the encoding is no larger than the dense filter (2
bytes per non-zero + 2 per channel), and the sparse kernels measured against the dense optimized
ones (MLPerf Tiny models pruned with transforms.prune_model, cycles per layer) are
    RV32 (CV32E40P timing):   CONV_2D 0.60-0.69x at 50%, 0.32-0.55x at 75% (KWS, IC layers);
                              FULLY_CONNECTED 0.86x at 50%, 0.47x at 75% (AD)
    Cortex-M4 (SMLAD dense):  CONV_2D 0.69-0.88x at 50%, 0.45-0.66x at 75% (KWS, IC layers);
                              FULLY_CONNECTED 1.66x (slower) at 50%, 0.90x at 75% (AD)
The Cortex-M4's dense kernels do two MACs per SMLAD, while a decoded entry feeds one SMLAxB per
column; a batch-1 FULLY_CONNECTED has a single column, so its entry decoding and input gather are
not shared, and it only pays from about 75% zeros on that core. The encoding does not know the
board, so the threshold is the one at which the encoding never grows the flash and the
convolutions win on both cores.
"""

from __future__ import annotations

import numpy as np

from vbench.compiler.fold import FLAG_ZP_FOLDED, Layer, _wrap_i32
from vbench.compiler.tflite_reader import Graph, Tensor

# A conv's column scratch (2 * SPARSE_COLS * K bytes of arena) beyond this keeps the layer dense:
# 16 KiB covers every MLPerf Tiny layer (largest: IC's 3x3x64, 9 KiB) but not, say, a 3x3x512 conv.
SCRATCH_CAP_BYTES = 16 * 1024
SPARSE_MIN_ZEROS = 0.5
SPARSE_COLS = 8            # VB_SPARSE_COLS in firmware/kernels/kernels_sparse.h
MAX_DELTA = 255
MAX_COUNT = 0xFFFF


def encode_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counts uint16 [rows], entries int16) of an int8 [rows][K] filter (see the module doc)."""
    rows = np.asarray(rows, np.int8)
    counts, entries = [], []
    for row in rows:
        nz = np.flatnonzero(row)
        n = 0
        prev = 0
        for pos in nz.tolist():
            d = pos - prev
            while d > MAX_DELTA:          # bridge: step 255 with a zero weight
                entries.append(MAX_DELTA)
                d -= MAX_DELTA
                n += 1
            entries.append(d | (int(row[pos]) << 8))
            n += 1
            prev = pos
        counts.append(n)
    return np.array(counts, np.int64), np.array(entries, np.int64)


def decode_rows(counts: np.ndarray, entries: np.ndarray, k: int) -> np.ndarray:
    """The dense int8 [rows][k] filter back from counts / entries (for tests and checks)."""
    out = np.zeros((len(counts), k), np.int8)
    e = 0
    for r, n in enumerate(np.asarray(counts).tolist()):
        pos = 0
        for _ in range(n):
            v = int(entries[e])
            e += 1
            pos += v & 0xFF
            out[r, pos] += np.int8(v >> 8)
    return out


def _zeros(filt: np.ndarray) -> float:
    return float(np.count_nonzero(filt == 0)) / filt.size if filt.size else 0.0


def _encode_layer(graph: Graph, layer: Layer, rows: np.ndarray, zeros: float) -> bool:
    counts, entries = encode_rows(rows)
    if counts.size and counts.max() > MAX_COUNT:
        layer.notes.append(f"dense: a channel needs more than {MAX_COUNT} sparse entries")
        return False
    if layer.op == "CONV_2D":
        k = layer.params["filter_h"] * layer.params["filter_w"] * layer.params["in_c"]
        if 2 * SPARSE_COLS * k > SCRATCH_CAP_BYTES:   # would grow the arena by more than the cap
            layer.notes.append(f"dense: sparse scratch of {2 * SPARSE_COLS * k} B exceeds {SCRATCH_CAP_BYTES} B")
            return False
    p, arrays = layer.params, layer.arrays
    inp = graph.tensors[layer.inputs[0]]
    bias = arrays["bias"]
    if not p["flags"] & FLAG_ZP_FOLDED:   # fold -zp * sum(row): padding then reads zp, adding 0
        bias = _wrap_i32(bias.astype(np.int64) - inp.zero_point * rows.astype(np.int64).sum(axis=1))
    new_arrays = dict(counts=counts.astype(np.uint16), entries=entries.astype(np.int16), bias=bias,
                      multiplier=arrays["multiplier"], shift=arrays["shift"])
    flags = p["flags"] | FLAG_ZP_FOLDED
    if layer.op == "CONV_2D":
        keep = ("batches", "in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "filter_h", "filter_w",
                "stride_h", "stride_w", "dilation_h", "dilation_w", "pad_h", "pad_w")
        params = {k: p[k] for k in keep}
        params.update(input_zero_point=inp.zero_point, output_offset=p["output_offset"],
                      act_min=p["act_min"], act_max=p["act_max"], flags=flags)
        k = p["filter_h"] * p["filter_w"] * p["in_c"]
        out = graph.tensors[layer.output]
        # [K][VB_SPARSE_COLS] int16 columns, planned like an activation live during this layer only
        scratch = Tensor(len(graph.tensors), f"{out.name}/sparse_columns", (k, SPARSE_COLS), "INT16", None)
        graph.tensors.append(scratch)
        layer.inputs.append(scratch.index)
    else:
        keep = ("batches", "in_depth", "out_depth", "output_offset", "act_min", "act_max")
        params = {k: p[k] for k in keep}
        params.update(flags=flags, per_channel=p["per_channel"])
    layer.params, layer.arrays, layer.kernel = params, new_arrays, "_SPARSE"
    if "zp folded" not in layer.notes:
        layer.notes.append("zp folded")
    layer.notes.append(f"sparse {round(100 * zeros)}% zeros")
    return True


def encode(graph: Graph, layers: list[Layer]) -> None:
    """Rewrite every int8 CONV_2D / FULLY_CONNECTED layer with >= SPARSE_MIN_ZEROS zero weights."""
    for layer in layers:
        if layer.kernel or layer.op not in ("CONV_2D", "FULLY_CONNECTED") or layer.decoder:
            continue
        filt = layer.arrays["filter"]
        zeros = _zeros(filt)
        if zeros < SPARSE_MIN_ZEROS:
            continue
        if layer.op == "CONV_2D":
            p = layer.params
            rows = filt.reshape(p["out_c"], p["filter_h"] * p["filter_w"] * p["in_c"])
        else:
            rows = filt.reshape(layer.params["out_depth"], layer.params["in_depth"])
        _encode_layer(graph, layer, rows, zeros)
