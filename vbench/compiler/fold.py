"""Offline constant folding: turn each validated operator into the parameter block its C
kernel reads. All quantization constants are computed here exactly as TFLite's Prepare()
computes them (QuantizeMultiplier with frexp and round-half-away, activation ranges with
float32 arithmetic, the softmax exp() input scaling), so the C side is integer-only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vbench.compiler.tflite_reader import Graph, Operator, Tensor
from vbench.compiler.validate import compute_out_size, compute_padding
from vbench.errors import VbenchError

OP_KINDS = {  # matches vb_op_t in firmware/kernels/kernels.h
    "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 3, "AVERAGE_POOL_2D": 4,
    "MAX_POOL_2D": 5, "ADD": 6, "RESHAPE": 7, "SOFTMAX": 8, "QUANTIZE": 9, "DEQUANTIZE": 10,
    # float32 kernels (Layer.kernel "_F32" / "_HYBRID_F32")
    "CONV_2D_F32": 11, "DEPTHWISE_CONV_2D_F32": 12, "FULLY_CONNECTED_F32": 13,
    "AVERAGE_POOL_2D_F32": 14, "MAX_POOL_2D_F32": 15, "ADD_F32": 16, "SOFTMAX_F32": 17,
    "CONV_2D_HYBRID_F32": 18,
    # int8 kernels for encoded weights (vbench/compiler/encodings)
    "CONV_2D_SPARSE": 19, "FULLY_CONNECTED_SPARSE": 20, "CONV_2D_WINOGRAD": 21,
    "FULLY_CONNECTED_PALETTE": 22,
}
PARAMS_STRUCT = {
    "CONV_2D": "vb_conv_params_t", "DEPTHWISE_CONV_2D": "vb_conv_params_t",
    "FULLY_CONNECTED": "vb_fc_params_t", "AVERAGE_POOL_2D": "vb_pool_params_t",
    "MAX_POOL_2D": "vb_pool_params_t", "ADD": "vb_add_params_t",
    "RESHAPE": "vb_reshape_params_t", "SOFTMAX": "vb_softmax_params_t",
    "QUANTIZE": "vb_quantize_params_t", "DEQUANTIZE": "vb_dequantize_params_t",
    "CONV_2D_F32": "vb_conv_f32_params_t", "DEPTHWISE_CONV_2D_F32": "vb_conv_f32_params_t",
    "FULLY_CONNECTED_F32": "vb_fc_f32_params_t", "AVERAGE_POOL_2D_F32": "vb_pool_f32_params_t",
    "MAX_POOL_2D_F32": "vb_pool_f32_params_t", "ADD_F32": "vb_add_f32_params_t",
    "SOFTMAX_F32": "vb_softmax_f32_params_t", "CONV_2D_HYBRID_F32": "vb_conv_hybrid_f32_params_t",
    "CONV_2D_SPARSE": "vb_conv_sparse_params_t", "FULLY_CONNECTED_SPARSE": "vb_fc_sparse_params_t",
    "CONV_2D_WINOGRAD": "vb_conv_winograd_params_t", "FULLY_CONNECTED_PALETTE": "vb_fc_palette_params_t",
}
TYPE_CODES = {"FLOAT32": 0, "INT8": 9}  # vb_type_t
FLAG_ZP_FOLDED = 1
FLAG_SINGLE_ROUNDING = 2

# Requantization rounding per operator. "litert": what the ai-edge-litert package (the
# golden model) computes with its reference kernels: FULLY_CONNECTED rounds once
# (TFLITE_SINGLE_ROUNDING form), everything else uses gemmlowp double rounding.
# "double": double rounding everywhere (TFLite source default, TFLite Micro, CMSIS-NN).
ROUNDING_MODES = {"litert": frozenset({"FULLY_CONNECTED"}), "double": frozenset()}


@dataclass
class Layer:
    index: int
    op: str
    inputs: list[int]                   # activation tensor indices (1, or 2 for ADD)
    output: int
    params: dict                        # scalar fields of the C params struct
    arrays: dict = field(default_factory=dict)  # pointer fields -> constant numpy arrays
    macs: int = 0
    input_shapes: list = field(default_factory=list)
    output_shape: tuple = ()
    notes: list = field(default_factory=list)
    # kind suffix: "" (int8), "_F32", "_HYBRID_F32", "_SPARSE", "_WINOGRAD", "_PALETTE"
    kernel: str = ""
    # Pointer fields that point into the arena instead of at constants: field -> (tensor index,
    # C type), emitted as `(type *)(vb_arena + offset)` (a decoder's output, for instance).
    arena_pointers: dict = field(default_factory=dict)
    # A weight decoder the runtime runs before the layer (vb_layer_t.decode): its C struct
    # name, scalar fields and constant arrays; arena pointers go in arena_pointers of the
    # decoder with the "decode." prefix. None: no decoder.
    decoder: dict | None = None

    @property
    def kind(self) -> int:
        return OP_KINDS[self.op + self.kernel]

    @property
    def params_struct(self) -> str:
        return PARAMS_STRUCT[self.op + self.kernel]

    @property
    def encoding(self) -> str:
        """The weight encoding the layer runs with: "", "sparse", "palette" or "winograd"."""
        if self.kernel == "_SPARSE":
            return "sparse"
        if self.kernel == "_WINOGRAD":
            return "winograd"
        if self.kernel == "_PALETTE" or self.decoder:
            return "palette"
        return ""

    @property
    def const_bytes(self) -> int:
        dec = sum(a.nbytes for a in self.decoder.get("arrays", {}).values()) if self.decoder else 0
        return sum(a.nbytes for a in self.arrays.values()) + dec

    @property
    def weight_bytes(self) -> int:
        """Filter + bias bytes as stored in flash (the table's 'weights'): the encoded form for
        encoded layers (their arrays other than the requantization tables, decoder included)."""
        if self.kernel in ("_SPARSE", "_WINOGRAD", "_PALETTE") or self.decoder:
            skip = ("multiplier", "shift")
            dec = sum(a.nbytes for a in self.decoder.get("arrays", {}).values()) if self.decoder else 0
            return sum(a.nbytes for k, a in self.arrays.items() if k not in skip) + dec
        return sum(self.arrays[k].nbytes for k in ("filter", "bias") if k in self.arrays)


# ----------------------------------------------------------------- TFLite quantization math

def round_half_away(x: float) -> int:
    """TfLiteRound / std::round."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def quantize_multiplier(real: float, single_rounding: bool = False) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= m * 2^(shift - 31), m in [2^30, 2^31).

    single_rounding mirrors TFLITE_SINGLE_ROUNDING, which also caps shift at 30."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if single_rounding and shift > 30:
        return (1 << 31) - 1, 30
    if q_fixed > 2**31 - 1:
        raise VbenchError(f"requantization multiplier {real} does not fit in int32")
    return q_fixed, shift


def _f32(x) -> np.float32:
    return np.float32(x)


def activation_range(activation: int, out: Tensor) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 (float32 arithmetic)."""
    scale, zp = _f32(out.scale), out.zero_point

    def quantize(f: float) -> int:
        return zp + round_half_away(float(_f32(f) / scale))

    if activation == 1:   # RELU
        return max(-128, quantize(0.0)), 127
    if activation == 3:   # RELU6
        return max(-128, quantize(0.0)), min(127, quantize(6.0))
    if activation == 2:   # RELU_N1_TO_1
        return max(-128, quantize(-1.0)), min(127, quantize(1.0))
    return -128, 127


def _wrap_i32(values: np.ndarray) -> np.ndarray:
    return ((values.astype(np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)


def _channel_multipliers(inp: Tensor, filt: Tensor, out: Tensor, channels: int, sr: bool):
    """Per-channel multiplier/shift arrays (per-tensor scales are broadcast)."""
    mults, shifts = [], []
    for ch in range(channels):
        fs = float(filt.scales[ch if len(filt.scales) > 1 else 0])
        m, s = quantize_multiplier(inp.scale * fs / out.scale, sr)
        mults.append(m)
        shifts.append(s)
    return np.array(mults, np.int32), np.array(shifts, np.int32)


def _bias(graph: Graph, op: Operator, channels: int) -> np.ndarray:
    if len(op.inputs) > 2 and op.inputs[2] != -1:
        return graph.tensors[op.inputs[2]].data.astype(np.int32).reshape(-1).copy()
    return np.zeros(channels, np.int32)


# ----------------------------------------------------------------- per-operator folding

def _conv_geometry(graph: Graph, op: Operator, depthwise: bool):
    """Tensors and shapes of a (depthwise) convolution, shared by the int8 and float32 folds."""
    o = op.options
    inp, filt, out = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]],
                      graph.tensors[op.outputs[0]])
    n, h, w, cin = inp.shape
    if depthwise:
        _, kh, kw, cout = filt.shape
        dm = cout // cin
    else:
        cout, kh, kw, _ = filt.shape
        dm = 1
    sh, sw, dh, dw = o["StrideH"], o["StrideW"], o["DilationHFactor"], o["DilationWFactor"]
    oh = compute_out_size(o["Padding"], h, kh, sh, dh)
    ow = compute_out_size(o["Padding"], w, kw, sw, dw)
    return o, inp, filt, out, n, h, w, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow


def _fold_conv(graph: Graph, op: Operator, depthwise: bool, sr: bool) -> Layer:
    o, inp, filt, out, n, h, w, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow = _conv_geometry(graph, op, depthwise)
    pad_h, pad_w = compute_padding(h, kh, oh, sh, dh), compute_padding(w, kw, ow, sw, dw)
    mult, shift = _channel_multipliers(inp, filt, out, cout, sr)
    bias = _bias(graph, op, cout)
    act_min, act_max = activation_range(o["FusedActivationFunction"], out)
    weights = filt.data.astype(np.int8)
    # The input zero point can go into the bias only if no tap ever falls in the padding,
    # because the reference skips out-of-image taps instead of multiplying by zp.
    all_taps_inside = (pad_h == 0 and pad_w == 0 and (oh - 1) * sh + (kh - 1) * dh + 1 <= h
                       and (ow - 1) * sw + (kw - 1) * dw + 1 <= w)
    input_offset, notes = -inp.zero_point, []
    flags = FLAG_SINGLE_ROUNDING if sr else 0
    if all_taps_inside:
        axis = (0, 1, 2) if depthwise else (1, 2, 3)
        filter_sums = weights.astype(np.int64).sum(axis=axis).reshape(-1)
        bias = _wrap_i32(bias.astype(np.int64) + input_offset * filter_sums)
        input_offset, flags = 0, flags | FLAG_ZP_FOLDED
        notes.append("zp folded")
    macs = n * oh * ow * cout * kh * kw * (1 if depthwise else cin)
    params = dict(batches=n, in_h=h, in_w=w, in_c=cin, out_h=oh, out_w=ow, out_c=cout,
                  filter_h=kh, filter_w=kw, stride_h=sh, stride_w=sw, dilation_h=dh,
                  dilation_w=dw, pad_h=pad_h, pad_w=pad_w, depth_multiplier=dm,
                  input_offset=input_offset, output_offset=out.zero_point,
                  act_min=act_min, act_max=act_max, flags=flags)
    arrays = dict(filter=weights.reshape(-1), bias=bias, multiplier=mult, shift=shift)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, arrays, macs,
                 [inp.shape], out.shape, notes)


def _fold_fc(graph: Graph, op: Operator, sr: bool) -> Layer:
    inp, filt, out = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]],
                      graph.tensors[op.outputs[0]])
    cout, depth = filt.shape
    batches = inp.elements // depth
    per_channel = len(filt.scales) > 1
    mult, shift = _channel_multipliers(inp, filt, out, cout if per_channel else 1, sr)
    weights = filt.data.astype(np.int8)
    # Every FC tap is inside, so folding the input zero point is always exact.
    bias = _wrap_i32(_bias(graph, op, cout).astype(np.int64)
                     - inp.zero_point * weights.astype(np.int64).sum(axis=1))
    act_min, act_max = activation_range(op.options.get("FusedActivationFunction", 0), out)
    params = dict(batches=batches, in_depth=depth, out_depth=cout, input_offset=0,
                  output_offset=out.zero_point, act_min=act_min, act_max=act_max,
                  flags=FLAG_ZP_FOLDED | (FLAG_SINGLE_ROUNDING if sr else 0),
                  per_channel=int(per_channel))
    arrays = dict(filter=weights.reshape(-1), bias=bias, multiplier=mult, shift=shift)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, arrays,
                 batches * cout * depth, [inp.shape], out.shape, ["zp folded"])


def _fold_pool(graph: Graph, op: Operator, sr: bool) -> Layer:
    o = op.options
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    n, h, w, ch = inp.shape
    kh, kw, sh, sw = o["FilterHeight"], o["FilterWidth"], o["StrideH"], o["StrideW"]
    oh, ow = compute_out_size(o["Padding"], h, kh, sh), compute_out_size(o["Padding"], w, kw, sw)
    act_min, act_max = activation_range(o["FusedActivationFunction"], out)
    params = dict(batches=n, in_h=h, in_w=w, channels=ch, out_h=oh, out_w=ow, filter_h=kh,
                  filter_w=kw, stride_h=sh, stride_w=sw, pad_h=compute_padding(h, kh, oh, sh),
                  pad_w=compute_padding(w, kw, ow, sw), act_min=act_min, act_max=act_max)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, {}, 0,
                 [inp.shape], out.shape)


def _multiplier_smaller_than_one(real: float, sr: bool) -> tuple[int, int]:
    """TFLite QuantizeMultiplierSmallerThanOneExp."""
    if not 0.0 < real < 1.0:
        raise VbenchError(f"ADD rescaling multiplier {real} is outside (0, 1)")
    return quantize_multiplier(real, sr)


def _fold_add(graph: Graph, op: Operator, sr: bool) -> Layer:
    a, b = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    out = graph.tensors[op.outputs[0]]
    left_shift = 20
    # Same float/double mix as TFLite's PrepareInt8AddOrSub (the float products are exact).
    twice_max = float(2 * max(_f32(a.scale), _f32(b.scale)))
    m1, s1 = _multiplier_smaller_than_one(a.scale / twice_max, sr)
    m2, s2 = _multiplier_smaller_than_one(b.scale / twice_max, sr)
    mo, so = _multiplier_smaller_than_one(twice_max / float(_f32(1 << left_shift) * _f32(out.scale)), sr)
    act_min, act_max = activation_range(op.options.get("FusedActivationFunction", 0), out)
    params = dict(size=out.elements, input1_offset=-a.zero_point, input2_offset=-b.zero_point,
                  output_offset=out.zero_point, left_shift=left_shift,
                  input1_multiplier=m1, input1_shift=s1, input2_multiplier=m2, input2_shift=s2,
                  output_multiplier=mo, output_shift=so, act_min=act_min, act_max=act_max)
    return Layer(op.index, op.opcode, [op.inputs[0], op.inputs[1]], op.outputs[0], params, {}, 0,
                 [a.shape, b.shape], out.shape)


def _fold_reshape(graph: Graph, op: Operator, sr: bool) -> Layer:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], dict(bytes=inp.nbytes), {},
                 0, [inp.shape], out.shape, ["in place"])


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling(beta, scale, 5 integer bits) + CalculateInputRadius
    (double-rounding build, as LiteRT's softmax computes)."""
    integer_bits = 5
    real = min(beta * input_scale * (1 << (31 - integer_bits)), (1 << 31) - 1.0)
    if not real > 1.0:
        raise VbenchError(f"softmax input scaling {real} must exceed 1")
    multiplier, left_shift = quantize_multiplier(real)
    max_input_rescaled = (1.0 * ((1 << integer_bits) - 1) * (1 << (31 - integer_bits))
                          / (1 << left_shift))
    diff_min = -int(math.floor(max_input_rescaled))
    return multiplier, left_shift, diff_min


def _fold_softmax(graph: Graph, op: Operator, sr: bool) -> Layer:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    beta = float(_f32(op.options["Beta"]))
    multiplier, left_shift, diff_min = softmax_params(beta, inp.scale)
    depth = inp.shape[-1]
    params = dict(outer=inp.elements // depth, depth=depth, input_multiplier=multiplier,
                  input_left_shift=left_shift, diff_min=diff_min)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, {}, 0,
                 [inp.shape], out.shape)


def _fold_quantize(graph: Graph, op: Operator, sr: bool) -> Layer:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    params = dict(size=out.elements, input_type=TYPE_CODES[inp.dtype], scale=float(out.scale),
                  zero_point=out.zero_point, input_zero_point=0, multiplier=0, shift=0)
    if inp.dtype == "INT8":
        m, s = quantize_multiplier(inp.scale / out.scale, sr)
        params.update(input_zero_point=inp.zero_point, multiplier=m, shift=s)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, {}, 0,
                 [inp.shape], out.shape)


def _fold_dequantize(graph: Graph, op: Operator, sr: bool) -> Layer:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    params = dict(size=inp.elements, scale=float(inp.scale), zero_point=inp.zero_point)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, {}, 0,
                 [inp.shape], out.shape)


_FOLDERS = {
    "CONV_2D": lambda g, op, sr: _fold_conv(g, op, False, sr),
    "DEPTHWISE_CONV_2D": lambda g, op, sr: _fold_conv(g, op, True, sr),
    "FULLY_CONNECTED": _fold_fc,
    "AVERAGE_POOL_2D": _fold_pool,
    "MAX_POOL_2D": _fold_pool,
    "ADD": _fold_add,
    "RESHAPE": _fold_reshape,
    "SOFTMAX": _fold_softmax,
    "QUANTIZE": _fold_quantize,
    "DEQUANTIZE": _fold_dequantize,
}


# ----------------------------------------------------------------- float32 models

FLT_MAX = float(np.finfo(np.float32).max)


def activation_range_f32(activation: int) -> tuple[float, float]:
    """TFLite CalculateActivationRange (float)."""
    return {1: (0.0, FLT_MAX), 2: (-1.0, 1.0), 3: (0.0, 6.0)}.get(activation, (-FLT_MAX, FLT_MAX))


def _bias_f32(graph: Graph, op: Operator, channels: int) -> np.ndarray:
    if len(op.inputs) > 2 and op.inputs[2] != -1:
        return graph.tensors[op.inputs[2]].data.astype(np.float32).reshape(-1).copy()
    return np.zeros(channels, np.float32)


def _fold_conv_f32(graph: Graph, op: Operator, depthwise: bool) -> Layer:
    o, inp, filt, out, n, h, w, cin, kh, kw, cout, dm, sh, sw, dh, dw, oh, ow = _conv_geometry(graph, op, depthwise)
    act_min, act_max = activation_range_f32(o["FusedActivationFunction"])
    params = dict(batches=n, in_h=h, in_w=w, in_c=cin, out_h=oh, out_w=ow, out_c=cout,
                  filter_h=kh, filter_w=kw, stride_h=sh, stride_w=sw, dilation_h=dh,
                  dilation_w=dw, pad_h=compute_padding(h, kh, oh, sh, dh),
                  pad_w=compute_padding(w, kw, ow, sw, dw))
    macs = n * oh * ow * cout * kh * kw * (1 if depthwise else cin)
    inputs, kernel, notes = [op.inputs[0]], "_F32", ["float32"]
    if filt.dtype == "INT8":   # hybrid conv: int8 weights, input quantized per batch at run time
        params.update(act_min=act_min, act_max=act_max, filter_scale=float(np.float32(filt.scale)))
        arrays = dict(filter=filt.data.astype(np.int8).reshape(-1), bias=_bias_f32(graph, op, cout))
        scratch = Tensor(len(graph.tensors), f"{out.name}/hybrid_input_q", tuple(inp.shape), "INT8", None)
        graph.tensors.append(scratch)   # planned like an activation, live during this layer only
        inputs.append(scratch.index)
        kernel, notes = "_HYBRID_F32", ["float32", "hybrid int8 weights"]
    else:
        params.update(depth_multiplier=dm, act_min=act_min, act_max=act_max)
        arrays = dict(filter=filt.data.astype(np.float32).reshape(-1), bias=_bias_f32(graph, op, cout))
    return Layer(op.index, op.opcode, inputs, op.outputs[0], params, arrays, macs,
                 [inp.shape], out.shape, notes, kernel)


def _fold_fc_f32(graph: Graph, op: Operator) -> Layer:
    inp, filt, out = (graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]],
                      graph.tensors[op.outputs[0]])
    cout, depth = filt.shape
    batches = inp.elements // depth
    act_min, act_max = activation_range_f32(op.options.get("FusedActivationFunction", 0))
    params = dict(batches=batches, in_depth=depth, out_depth=cout, act_min=act_min, act_max=act_max)
    arrays = dict(filter=filt.data.astype(np.float32).reshape(-1), bias=_bias_f32(graph, op, cout))
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, arrays,
                 batches * cout * depth, [inp.shape], out.shape, ["float32"], "_F32")


def _fold_pool_f32(graph: Graph, op: Operator) -> Layer:
    o = op.options
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    n, h, w, ch = inp.shape
    kh, kw, sh, sw = o["FilterHeight"], o["FilterWidth"], o["StrideH"], o["StrideW"]
    oh, ow = compute_out_size(o["Padding"], h, kh, sh), compute_out_size(o["Padding"], w, kw, sw)
    act_min, act_max = activation_range_f32(o["FusedActivationFunction"])
    params = dict(batches=n, in_h=h, in_w=w, channels=ch, out_h=oh, out_w=ow, filter_h=kh,
                  filter_w=kw, stride_h=sh, stride_w=sw, pad_h=compute_padding(h, kh, oh, sh),
                  pad_w=compute_padding(w, kw, ow, sw), act_min=act_min, act_max=act_max)
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, {}, 0,
                 [inp.shape], out.shape, ["float32"], "_F32")


def _fold_add_f32(graph: Graph, op: Operator) -> Layer:
    a, b = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    out = graph.tensors[op.outputs[0]]
    act_min, act_max = activation_range_f32(op.options.get("FusedActivationFunction", 0))
    return Layer(op.index, op.opcode, [op.inputs[0], op.inputs[1]], op.outputs[0],
                 dict(size=out.elements, act_min=act_min, act_max=act_max), {}, 0,
                 [a.shape, b.shape], out.shape, ["float32"], "_F32")


def _fold_softmax_f32(graph: Graph, op: Operator) -> Layer:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    depth = inp.shape[-1]
    params = dict(outer=inp.elements // depth, depth=depth, beta=float(_f32(op.options["Beta"])))
    return Layer(op.index, op.opcode, [op.inputs[0]], op.outputs[0], params, {}, 0,
                 [inp.shape], out.shape, ["float32"], "_F32")


_FOLDERS_F32 = {
    "CONV_2D": lambda g, op: _fold_conv_f32(g, op, False),
    "DEPTHWISE_CONV_2D": lambda g, op: _fold_conv_f32(g, op, True),
    "FULLY_CONNECTED": _fold_fc_f32,
    "AVERAGE_POOL_2D": _fold_pool_f32,
    "MAX_POOL_2D": _fold_pool_f32,
    "ADD": _fold_add_f32,
    "RESHAPE": lambda g, op: _fold_reshape(g, op, False),
    "SOFTMAX": _fold_softmax_f32,
}


def fold_graph(graph: Graph, rounding: str = "litert", dtype: str = "int8") -> list[Layer]:
    """One Layer per operator, in execution order. The graph must be validated first (with the
    same dtype). rounding: a key of ROUNDING_MODES (int8 only). dtype "float32": parameter
    blocks of the float32 kernels; a hybrid CONV_2D adds an int8 scratch tensor to the graph
    (its input quantized at run time), which the planner places like an activation."""
    if rounding not in ROUNDING_MODES:
        raise VbenchError(f"rounding must be one of {', '.join(ROUNDING_MODES)}, not '{rounding}'")
    if dtype == "float32":
        return [_FOLDERS_F32[op.opcode](graph, op) for op in graph.operators]
    layers = []
    for op in graph.operators:
        single = op.opcode in ROUNDING_MODES[rounding]
        try:
            layers.append(_FOLDERS[op.opcode](graph, op, single))
        except VbenchError as exc:
            raise VbenchError(f"{graph.path.name}: operator {op.index} ({op.opcode}): {exc}") from exc
    return layers
