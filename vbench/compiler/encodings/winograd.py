"""Winograd F(2x2,3x3) for int8 3x3 stride-1 CONV_2D layers, bit-exact with the direct kernel.

Each 2x2 block of outputs ("tile") of one output channel comes from the 4x4 input patch d under it:

    Y = A^T [ sum_c U_c (.) V_c ] A,   V_c = B^T d_c B,   U_c = (2G) g_c (2G)^T = 4 G g_c G^T

with the usual F(2,3) matrices (B^T, A^T of 0/+-1 entries, G with halves). Scaling G by 2 makes U
an integer matrix, so the whole computation is integer and Y = 4 x (the direct correlation of the
tile) exactly; an exact shift by 2 gives the direct kernel's accumulator. The input transform
runs on the raw int8 codes; taps outside the image hold the input zero point, and the zero point's
contribution (-zp * sum of the filter) goes into the bias: (x - zp) summed over the in-image taps
is x' summed over all taps minus zp * sum(filter) when x' = zp in the padding. The bias add and
the requantization are CONV_2D's, so results are bit-exact with TFLite.

Value ranges (checked per layer by `range_bounds`, a proof by interval arithmetic):
  |V| <= 4 * 128 = 512 (each V entry is a sum of 4 raw codes with signs), int16;
  |U| <= 9 * 128 = 1152 (rows of 2G sum to at most 3 in absolute value), int16;
  M = sum_c U_c (.) V_c and every partial sum and intermediate of A^T M A stays within int32:
  bounded by 512 * sum_c |U_c| propagated through |A^T| and |A|, at most 2^22 per input channel
  for any int8 filter (|U| <= 128 * r_i * r_j, r = (2, 3, 3, 2): 512 * 128 * 8^2), so every layer
  up to 511 input channels is encoded; past that the layer's own weights decide (910 channels for a
  constant -128 filter), and a layer whose bound exceeds int32 stays direct.

Layout (the kernels' contract, firmware/kernels/kernels_winograd.h):
  filter  int16 U at position p = 4 * row + column of the 4x4 tile, input channel slot k: in_c
          rounded up to in_c4 (a multiple of 4) with zeros, and within each group of 4 channels the
          slot order 0, 2, 1, 3 (what SXTB16 of a word of 4 int8 channels and SXTB16 of it rotated
          by 8 produce, so the Cortex-M4 kernel pairs channels for SMLAD without shuffling).
          Output channels go in pairs, interleaved by slot pair so that one pointer walks both:
          [out_c / 2][16][in_c4 / 2][2 channels][2 slots]; an odd last channel is [16][in_c4].
          Either way output channel oc starts at oc * 16 * in_c4.
  bias    int32 [out_c]: the layer's bias + input_offset * sum(filter) (zero point folded);
  scratch (Layer.inputs[1], in the arena): tiles * 32 * in_c4 bytes for the transformed input of
          `tiles` tiles plus 16 * in_c4 bytes for a zero-point-padded copy of one 4x4 input patch;
          each kernel variant lays it out as it likes.
"""

from __future__ import annotations

import numpy as np

from vbench.compiler.fold import FLAG_SINGLE_ROUNDING, FLAG_ZP_FOLDED, Layer
from vbench.compiler.tflite_reader import Tensor
from vbench.errors import VbenchError

NOTE = "winograd F(2x2,3x3)"
SCRATCH_TILES = 4          # tiles of transformed input the arena scratch holds (the optimized kernels' block)
INT32_MAX = 2**31 - 1

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.int64)
G2 = np.array([[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]], np.int64)   # 2G
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.int64)
GROUP_ORDER = np.array([0, 2, 1, 3])   # storage slot -> channel within a group of 4 (self-inverse)


def eligible(layer: Layer) -> bool:
    p = layer.params
    return (layer.op == "CONV_2D" and layer.kernel == "" and p.get("filter_h") == 3 and p.get("filter_w") == 3
            and p.get("stride_h") == 1 and p.get("stride_w") == 1 and p.get("dilation_h") == 1
            and p.get("dilation_w") == 1)


def transform_filter(weights: np.ndarray) -> np.ndarray:
    """U = (2G) g (2G)^T for int8 filters [out_c][3][3][in_c] -> int64 [out_c][4][4][in_c]."""
    return np.einsum("ir,js,orsc->oijc", G2, G2, weights.astype(np.int64))


def transform_input(tile: np.ndarray) -> np.ndarray:
    """V = B^T d B for input tiles [..., 4, 4, c] (int64)."""
    return np.einsum("ir,js,...rsc->...ijc", B_T, B_T, tile.astype(np.int64))


def transform_output(m: np.ndarray) -> np.ndarray:
    """A^T M A for [..., 4, 4] -> [..., 2, 2]."""
    return np.einsum("ir,js,...rs->...ij", A_T, A_T, m)


def range_bounds(u: np.ndarray) -> dict:
    """Largest magnitudes any input can produce, for U [out_c][4][4][in_c]: |V|, |U|, and the
    largest partial sum or intermediate of sum_c U (.) V and of A^T M A (either order)."""
    v_max = 128 * np.outer(np.abs(B_T).sum(1), np.abs(B_T).sum(1))           # [4][4]: 512 everywhere
    m_max = np.abs(u).sum(axis=3) * v_max                                      # [out_c][4][4]
    rows = np.einsum("ir,ors->ois", np.abs(A_T), m_max)                          # A^T M
    cols = np.einsum("ors,js->orj", m_max, np.abs(A_T))                          # M A
    y = np.einsum("ois,js->oij", rows, np.abs(A_T))
    acc = max(int(m_max.max()), int(rows.max()), int(cols.max()), int(y.max())) if u.size else 0
    return {"v": int(v_max.max()), "u": int(np.abs(u).max()) if u.size else 0, "acc": acc}


def _check_identity(weights: np.ndarray, u: np.ndarray, where: str) -> None:
    """A^T [sum_c U (.) V] A == 4 x the direct correlation on a random 4x4 tile (catches a wrong
    transform; the algebra holds for every tile)."""
    rng = np.random.default_rng(0)
    cin = weights.shape[3]
    d = rng.integers(-128, 128, (4, 4, cin)).astype(np.int64)
    v = transform_input(d)
    y = transform_output(np.einsum("oijc,ijc->oij", u, v))
    direct = np.empty_like(y)
    w = weights.astype(np.int64)
    for oy in range(2):
        for ox in range(2):
            direct[:, oy, ox] = np.einsum("orsc,rsc->o", w, d[oy:oy + 3, ox:ox + 3])
    if not np.array_equal(y, 4 * direct):
        raise VbenchError(f"{where}: Winograd transform does not reproduce the direct convolution (compiler bug)")


def _wrap_i32(values: np.ndarray) -> np.ndarray:
    return ((values.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def encode_layer(graph, layer: Layer) -> bool:
    """Rewrite one eligible layer in place; False (layer untouched but for a note) when the range
    bound does not fit int32."""
    p = layer.params
    where = f"{graph.path.name if getattr(graph, 'path', None) else 'model'}: layer {layer.index} (CONV_2D)"
    cin, cout = p["in_c"], p["out_c"]
    weights = layer.arrays["filter"].reshape(cout, 3, 3, cin).astype(np.int64)
    u = transform_filter(weights)
    bounds = range_bounds(u)
    if bounds["v"] > 32767 or bounds["u"] > 32767:
        raise VbenchError(f"{where}: Winograd transform values exceed int16 (compiler bug: |V| <= 512, |U| <= 1152)")
    if bounds["acc"] > INT32_MAX:
        layer.notes.append(f"direct: Winograd accumulator bound {bounds['acc']:,} exceeds int32")
        return False
    _check_identity(weights, u, where)
    cin4 = (cin + 3) // 4 * 4
    packed = np.zeros((cout, 16, cin4), np.int16)
    packed[:, :, :cin] = u.reshape(cout, 16, cin)
    # within each group of 4 channels, store channels 0, 2, 1, 3
    packed = packed.reshape(cout, 16, cin4 // 4, 4)[..., GROUP_ORDER].reshape(cout, 16, cin4)
    pairs = cout // 2 * 2
    packed[:pairs] = (packed[:pairs].reshape(cout // 2, 2, 16, cin4 // 2, 2).transpose(0, 2, 3, 1, 4)
                      .reshape(pairs, 16, cin4))
    bias = _wrap_i32(layer.arrays["bias"].astype(np.int64)
                     + int(p["input_offset"]) * weights.sum(axis=(1, 2, 3)))
    tiles = SCRATCH_TILES   # the optimized kernels work in blocks of this many tiles, whatever the layer's count
    inp = graph.tensors[layer.inputs[0]]
    out = graph.tensors[layer.output]
    scratch = Tensor(len(graph.tensors), f"{out.name}/winograd_tiles", ((tiles * 32 + 16) * cin4,), "INT8", None)
    graph.tensors.append(scratch)   # planned like an activation, live during this layer only
    layer.params = dict(
        batches=p["batches"], in_h=p["in_h"], in_w=p["in_w"], in_c=cin, out_h=p["out_h"], out_w=p["out_w"],
        out_c=cout, pad_h=p["pad_h"], pad_w=p["pad_w"], in_c4=cin4, tiles=tiles, pad_value=inp.zero_point,
        output_offset=p["output_offset"], act_min=p["act_min"], act_max=p["act_max"],
        flags=(p["flags"] & FLAG_SINGLE_ROUNDING) | FLAG_ZP_FOLDED)
    layer.arrays = dict(filter=packed.reshape(-1), bias=bias, multiplier=layer.arrays["multiplier"],
                        shift=layer.arrays["shift"])
    layer.inputs = [layer.inputs[0], scratch.index]
    layer.kernel = "_WINOGRAD"
    layer.notes = [n for n in layer.notes if n != "zp folded"] + [NOTE]
    return True


def encode(graph, layers: list[Layer]) -> None:
    """Every int8 CONV_2D with a 3x3 filter, stride 1 and dilation 1 becomes CONV_2D_WINOGRAD
    (unless its range bound exceeds int32, which takes more than 511 input channels)."""
    for layer in layers:
        if eligible(layer):
            encode_layer(graph, layer)
