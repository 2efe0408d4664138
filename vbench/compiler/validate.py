"""Check that a parsed graph is something the int8 runtime executes exactly like TFLite.

Every operator, every option field and every tensor role is checked; anything else is a
VbenchError that names the file, the operator index and the operator name.

`validate_graph(graph)` requires an int8 model (float models are refused, naming the float
tensor); `validate_graph(graph, "float32")` checks a float model for the float32 kernels
instead: float32 activations throughout, float32 weights (CONV_2D may also have int8 weights
with one scale, TFLite's hybrid conv), no QUANTIZE/DEQUANTIZE. `graph_dtype` tells which one a
model is.
"""

from __future__ import annotations

import math

import numpy as np

from vbench.compiler.tflite_reader import Graph, Operator, Tensor
from vbench.errors import VbenchError

ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
PADDINGS = {0: "SAME", 1: "VALID"}
FLOAT_IO_OPS = ("QUANTIZE", "DEQUANTIZE")

# Options each operator accepts: field -> predicate. Fields not listed must be 0/False/empty.
_POSITIVE = lambda v: isinstance(v, int) and v >= 1  # noqa: E731
_CONV_OPTIONS = {
    "Padding": lambda v: v in PADDINGS, "StrideW": _POSITIVE, "StrideH": _POSITIVE,
    "DilationWFactor": _POSITIVE, "DilationHFactor": _POSITIVE,
    "FusedActivationFunction": lambda v: v in ACTIVATIONS,
    "QuantizedBiasType": lambda v: v in (0, 2),   # default or INT32
}
OPERATORS = {
    "CONV_2D": ("Conv2DOptions", _CONV_OPTIONS),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions",
                          {**_CONV_OPTIONS, "DepthMultiplier": lambda v: v >= 0}),
    "FULLY_CONNECTED": ("FullyConnectedOptions", {
        "FusedActivationFunction": lambda v: v in ACTIVATIONS,
        "WeightsFormat": lambda v: v == 0,          # DEFAULT, not shuffled 4x16
        "KeepNumDims": lambda v: v in (False, True),  # only changes the output shape
        "AsymmetricQuantizeInputs": lambda v: v in (False, True),  # hybrid-only flag
        "QuantizedBiasType": lambda v: v in (0, 2)}),
    "AVERAGE_POOL_2D": ("Pool2DOptions", {
        "Padding": lambda v: v in PADDINGS, "StrideW": _POSITIVE, "StrideH": _POSITIVE,
        "FilterWidth": _POSITIVE, "FilterHeight": _POSITIVE,
        "FusedActivationFunction": lambda v: v in ACTIVATIONS}),
    "ADD": ("AddOptions", {"FusedActivationFunction": lambda v: v in ACTIVATIONS,
                           "PotScaleInt16": lambda v: v in (False, True)}),  # int16-only flag
    "RESHAPE": ("ReshapeOptions", {"NewShape": lambda v: True}),  # output shape is authoritative
    "SOFTMAX": ("SoftmaxOptions", {"Beta": lambda v: math.isfinite(v) and v > 0}),
    "QUANTIZE": ("QuantizeOptions", {}),
    "DEQUANTIZE": ("DequantizeOptions", {}),
}
OPERATORS["MAX_POOL_2D"] = OPERATORS["AVERAGE_POOL_2D"]
_OPTIONS_REQUIRED = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "SOFTMAX")


def compute_out_size(padding: int, in_size: int, filter_size: int, stride: int, dilation: int = 1) -> int:
    """TFLite ComputeOutSize."""
    effective = (filter_size - 1) * dilation + 1
    if padding == 0:  # SAME
        return (in_size + stride - 1) // stride
    return (in_size + stride - effective) // stride


def compute_padding(in_size: int, filter_size: int, out_size: int, stride: int, dilation: int = 1) -> int:
    """TFLite ComputePaddingWithOffset: padding before (top/left)."""
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2


class _Checker:
    def __init__(self, graph: Graph, op: Operator):
        self.graph, self.op = graph, op

    def fail(self, msg: str):
        raise VbenchError(f"{self.graph.path.name}: operator {self.op.index} ({self.op.opcode}): {msg}")

    def tensor(self, position: int, role: str, optional: bool = False) -> Tensor | None:
        ids = self.op.inputs
        if position >= len(ids) or ids[position] == -1:
            if optional:
                return None
            self.fail(f"missing {role} (input {position})")
        return self.graph.tensors[ids[position]]

    def output(self) -> Tensor:
        if len(self.op.outputs) != 1:
            self.fail(f"has {len(self.op.outputs)} outputs, expected 1")
        return self.graph.tensors[self.op.outputs[0]]

    def activation(self, t: Tensor, role: str, dtype: str = "INT8"):
        if t.is_const:
            self.fail(f"{role} '{t.name}' is a constant; vbench expects a computed tensor there")
        if t.is_variable or t.has_sparsity:
            self.fail(f"{role} '{t.name}' is a variable or sparse tensor, which vbench does not support")
        if t.dtype != dtype:
            self.fail(f"{role} '{t.name}' is {t.dtype}, expected {dtype}")
        if dtype == "INT8":
            if not t.is_quantized or len(t.scales) != 1:
                self.fail(f"{role} '{t.name}' needs per-tensor quantization (one scale), "
                          f"has {0 if t.scales is None else len(t.scales)}")
            if not (t.scale > 0 and math.isfinite(t.scale)):
                self.fail(f"{role} '{t.name}' has scale {t.scale}")
            if not -128 <= t.zero_point <= 127:
                self.fail(f"{role} '{t.name}' zero point {t.zero_point} is outside int8")

    def weights(self, t: Tensor, role: str, channels: int, channel_dim: int):
        if not t.is_const:
            self.fail(f"{role} '{t.name}' must be a constant; vbench does not support computed weights")
        if t.dtype != "INT8":
            self.fail(f"{role} '{t.name}' is {t.dtype}, expected INT8 (a float or hybrid model)")
        if t.has_sparsity:
            self.fail(f"{role} '{t.name}' is sparse, which vbench does not support")
        if not t.is_quantized:
            self.fail(f"{role} '{t.name}' has no quantization parameters")
        n = len(t.scales)
        if n != 1 and not (n == channels and t.quantized_dimension == channel_dim):
            self.fail(f"{role} '{t.name}' has {n} scales on dimension {t.quantized_dimension}; "
                      f"expected per-tensor or {channels} on dimension {channel_dim}")
        if not np.all(np.isfinite(t.scales)) or np.any(t.scales <= 0):
            self.fail(f"{role} '{t.name}' has a non-positive scale")
        if t.zero_points is not None and np.any(t.zero_points != 0):
            self.fail(f"{role} '{t.name}' has non-zero weight zero points, which vbench does not support")

    def bias(self, t: Tensor | None, channels: int):
        if t is None:
            return
        if not t.is_const:
            self.fail(f"bias '{t.name}' must be a constant")
        if t.dtype != "INT32":
            self.fail(f"bias '{t.name}' is {t.dtype}, expected INT32")
        if t.elements != channels:
            self.fail(f"bias '{t.name}' has {t.elements} values for {channels} output channels")

    def shape(self, t: Tensor, rank: int, role: str):
        if len(t.shape) != rank or any(d <= 0 for d in t.shape):
            self.fail(f"{role} '{t.name}' has shape {list(t.shape)}, expected {rank} positive dimensions")

    def expect_shape(self, t: Tensor, expected: tuple[int, ...]):
        if tuple(t.shape) != tuple(expected):
            self.fail(f"output '{t.name}' has shape {list(t.shape)}, but the operator computes {list(expected)}")

    def options(self):
        op = self.op
        expected_type, allowed = OPERATORS[op.opcode]
        if op.options_type is None:
            if op.opcode in _OPTIONS_REQUIRED:
                self.fail(f"has no {expected_type}")
        elif op.options_type != expected_type:
            self.fail(f"has builtin options {op.options_type}, expected {expected_type}")
        for key, value in op.options.items():
            check = allowed.get(key)
            if check is None:
                if value not in (0, False, [], 0.0):
                    self.fail(f"option {key}={value!r} is not supported")
            elif not check(value):
                if key == "FusedActivationFunction":
                    self.fail(f"fused activation {value} is not supported (supported: NONE, RELU, RELU6, RELU_N1_TO_1)")
                self.fail(f"option {key}={value!r} is not supported")
        if op.extras:
            self.fail(f"uses {', '.join(op.extras)}, which vbench does not support")


def _conv_channels(c: "_Checker", o: dict, inp, filt, depthwise: bool) -> int:
    """The filter against the input (CONV_2D: [C_out, KH, KW, C_in]; DEPTHWISE: [1, KH, KW, C_in x M]);
    the output channel count. Shared by the int8 and float32 checks."""
    cin = inp.shape[3]
    if depthwise:
        cout = filt.shape[3]
        if filt.shape[0] != 1:
            c.fail(f"filter '{filt.name}' has shape {list(filt.shape)}, expected [1, KH, KW, C]")
        if cout % cin:
            c.fail(f"{cout} output channels is not a multiple of {cin} input channels")
        dm = cout // cin
        if o.get("DepthMultiplier", 0) not in (0, dm):
            c.fail(f"depth_multiplier {o['DepthMultiplier']} does not match the filter ({cout} / {cin} = {dm})")
        return cout
    cout, fin = filt.shape[0], filt.shape[3]
    if fin != cin:
        c.fail(f"filter depth {fin} differs from input depth {cin} (grouped convolution is not supported)")
    return cout


def _conv_output(c: "_Checker", o: dict, inp, filt, out, depthwise: bool) -> None:
    """The output shape the padding, strides and dilation give."""
    n, h, w, _cin = inp.shape
    kh, kw = filt.shape[1], filt.shape[2]
    cout = filt.shape[3] if depthwise else filt.shape[0]
    oh = compute_out_size(o["Padding"], h, kh, o["StrideH"], o["DilationHFactor"])
    ow = compute_out_size(o["Padding"], w, kw, o["StrideW"], o["DilationWFactor"])
    if oh <= 0 or ow <= 0:
        c.fail(f"filter {kh}x{kw} does not fit the {h}x{w} input")
    c.expect_shape(out, (n, oh, ow, cout))


def _check_conv(c: _Checker, depthwise: bool):
    o = c.op.options
    inp, filt = c.tensor(0, "input"), c.tensor(1, "filter")
    bias = c.tensor(2, "bias", optional=True)
    out = c.output()
    c.activation(inp, "input"); c.activation(out, "output")
    c.shape(inp, 4, "input"); c.shape(filt, 4, "filter")
    cout = _conv_channels(c, o, inp, filt, depthwise)
    c.weights(filt, "filter", cout, 3 if depthwise else 0)
    c.bias(bias, cout)
    _conv_output(c, o, inp, filt, out, depthwise)


def _check_fc(c: _Checker):
    inp, filt = c.tensor(0, "input"), c.tensor(1, "weights")
    bias = c.tensor(2, "bias", optional=True)
    out = c.output()
    c.activation(inp, "input"); c.activation(out, "output")
    c.shape(filt, 2, "weights")
    cout, depth = filt.shape
    c.weights(filt, "weights", cout, 0)
    c.bias(bias, cout)
    if inp.elements % depth:
        c.fail(f"input '{inp.name}' has {inp.elements} values, not a multiple of the weight depth {depth}")
    if out.elements != inp.elements // depth * cout:
        c.fail(f"output '{out.name}' has {out.elements} values, expected {inp.elements // depth * cout}")


def _check_pool(c: _Checker):
    o = c.op.options
    inp, out = c.tensor(0, "input"), c.output()
    c.activation(inp, "input"); c.activation(out, "output")
    c.shape(inp, 4, "input")
    if out.scale != inp.scale or out.zero_point != inp.zero_point:
        c.fail("input and output quantization differ (TFLite requires them equal for pooling)")
    _check_pool_window(c, o, inp, out)


def _check_pool_window(c: "_Checker", o: dict, inp, out) -> None:
    """The pooling window fits the input and the output has the shape it implies (int8 and float32)."""
    n, h, w, ch = inp.shape
    oh = compute_out_size(o["Padding"], h, o["FilterHeight"], o["StrideH"])
    ow = compute_out_size(o["Padding"], w, o["FilterWidth"], o["StrideW"])
    if oh <= 0 or ow <= 0:
        c.fail(f"window {o['FilterHeight']}x{o['FilterWidth']} does not fit the {h}x{w} input")
    c.expect_shape(out, (n, oh, ow, ch))


def _check_add(c: _Checker):
    a, b, out = c.tensor(0, "input 1"), c.tensor(1, "input 2"), c.output()
    for t, role in ((a, "input 1"), (b, "input 2"), (out, "output")):
        c.activation(t, role)
    if a.shape != b.shape or a.shape != out.shape:
        c.fail(f"broadcasting ADD ({list(a.shape)} + {list(b.shape)} -> {list(out.shape)}) is not supported")
    twice_max = 2.0 * max(a.scale, b.scale)
    if not twice_max / ((1 << 20) * out.scale) < 1.0:
        c.fail("output scale is too small for TFLite's int8 ADD rescaling")


def _check_reshape(c: _Checker):
    inp, out = c.tensor(0, "input"), c.output()
    if inp.dtype not in ("INT8", "FLOAT32"):
        c.fail(f"input '{inp.name}' is {inp.dtype}, expected INT8")
    c.activation(inp, "input", inp.dtype); c.activation(out, "output", inp.dtype)
    if inp.elements != out.elements:
        c.fail(f"reshape from {list(inp.shape)} to {list(out.shape)} changes the element count")
    if inp.dtype == "INT8" and (inp.scale != out.scale or inp.zero_point != out.zero_point):
        c.fail("input and output quantization differ")


def _check_softmax(c: _Checker):
    inp, out = c.tensor(0, "input"), c.output()
    c.activation(inp, "input"); c.activation(out, "output")
    if inp.shape != out.shape or not inp.shape:
        c.fail(f"input {list(inp.shape)} and output {list(out.shape)} shapes differ")
    if out.zero_point != -128 or abs(out.scale - 1.0 / 256) > 0.001 / 256:
        c.fail(f"int8 softmax output must have scale 1/256 and zero point -128 "
               f"(has {out.scale}, {out.zero_point})")


def _check_quantize(c: _Checker):
    inp, out = c.tensor(0, "input"), c.output()
    if inp.dtype not in ("FLOAT32", "INT8"):
        c.fail(f"QUANTIZE from {inp.dtype} is not supported (FLOAT32 or INT8 input)")
    c.activation(inp, "input", inp.dtype); c.activation(out, "output")
    if inp.elements != out.elements:
        c.fail("input and output sizes differ")


def _check_dequantize(c: _Checker):
    inp, out = c.tensor(0, "input"), c.output()
    c.activation(inp, "input"); c.activation(out, "output", "FLOAT32")
    if inp.elements != out.elements:
        c.fail("input and output sizes differ")


_CHECKS = {
    "CONV_2D": lambda c: _check_conv(c, False),
    "DEPTHWISE_CONV_2D": lambda c: _check_conv(c, True),
    "FULLY_CONNECTED": _check_fc,
    "AVERAGE_POOL_2D": _check_pool,
    "MAX_POOL_2D": _check_pool,
    "ADD": _check_add,
    "RESHAPE": _check_reshape,
    "SOFTMAX": _check_softmax,
    "QUANTIZE": _check_quantize,
    "DEQUANTIZE": _check_dequantize,
}


def _reject_float_model(graph: Graph):
    for op in graph.operators:
        if op.opcode in FLOAT_IO_OPS:
            continue
        for t_index in [*op.inputs[:2], *op.outputs]:
            if t_index != -1 and graph.tensors[t_index].dtype in ("FLOAT32", "FLOAT16"):
                t = graph.tensors[t_index]
                raise VbenchError(
                    f"{graph.path.name} is a float model: operator {op.index} ({op.opcode}) uses "
                    f"{t.dtype} tensor '{t.name}'. vbench runs fully int8-quantized models; "
                    "use the int8 variant (e.g. kws_ref_model.tflite, not *_float32.tflite), "
                    "or compile it for the float32 kernels (dtype float32)")


def graph_dtype(graph: Graph) -> str:
    """"float32" when an operator other than QUANTIZE/DEQUANTIZE has a float activation or
    weight (what the int8 path refuses), else "int8"."""
    try:
        _reject_float_model(graph)
    except VbenchError:
        return "float32"
    return "int8"


# ----------------------------------------------------------------- float32 models

def _check_conv_f32(c: _Checker, depthwise: bool):
    o = c.op.options
    inp, filt = c.tensor(0, "input"), c.tensor(1, "filter")
    bias = c.tensor(2, "bias", optional=True)
    out = c.output()
    c.activation(inp, "input", "FLOAT32"); c.activation(out, "output", "FLOAT32")
    c.shape(inp, 4, "input"); c.shape(filt, 4, "filter")
    if not filt.is_const:
        c.fail(f"filter '{filt.name}' must be a constant; vbench does not support computed weights")
    if filt.has_sparsity:
        c.fail(f"filter '{filt.name}' is sparse, which vbench does not support")
    if filt.dtype == "INT8" and not depthwise:
        # TFLite's hybrid conv (EvalHybrid): int8 weights with one scale, zero point 0.
        if not filt.is_quantized or len(filt.scales) != 1:
            c.fail(f"filter '{filt.name}' is INT8 with {0 if filt.scales is None else len(filt.scales)} "
                   "scales; vbench runs hybrid CONV_2D with one per-tensor weight scale only")
        if not (math.isfinite(filt.scale) and filt.scale > 0):
            c.fail(f"filter '{filt.name}' has scale {filt.scale}")
        if filt.zero_point != 0:
            c.fail(f"filter '{filt.name}' has zero point {filt.zero_point}; hybrid weights need 0")
    elif filt.dtype != "FLOAT32":
        c.fail(f"filter '{filt.name}' is {filt.dtype}, expected FLOAT32"
               + ("" if depthwise else " (or INT8 for a hybrid conv)"))
    _finite(c, filt)
    cout = _conv_channels(c, o, inp, filt, depthwise)
    _bias_f32(c, bias, cout)
    _conv_output(c, o, inp, filt, out, depthwise)


def _bias_f32(c: _Checker, t: Tensor | None, channels: int):
    if t is None:
        return
    if not t.is_const:
        c.fail(f"bias '{t.name}' must be a constant")
    if t.dtype != "FLOAT32":
        c.fail(f"bias '{t.name}' is {t.dtype}, expected FLOAT32")
    if t.elements != channels:
        c.fail(f"bias '{t.name}' has {t.elements} values for {channels} output channels")
    _finite(c, t)


def _finite(c: _Checker, t: Tensor):
    if t.dtype == "FLOAT32" and not np.all(np.isfinite(t.data)):
        c.fail(f"constant '{t.name}' has non-finite values (inf or NaN)")


def _check_fc_f32(c: _Checker):
    inp, filt = c.tensor(0, "input"), c.tensor(1, "weights")
    bias = c.tensor(2, "bias", optional=True)
    out = c.output()
    c.activation(inp, "input", "FLOAT32"); c.activation(out, "output", "FLOAT32")
    c.shape(filt, 2, "weights")
    if not filt.is_const:
        c.fail(f"weights '{filt.name}' must be a constant; vbench does not support computed weights")
    if filt.dtype != "FLOAT32" or filt.has_sparsity:
        c.fail(f"weights '{filt.name}' are {filt.dtype}{' (sparse)' if filt.has_sparsity else ''}; "
               "float FULLY_CONNECTED needs dense FLOAT32 weights (hybrid FC is not supported)")
    _finite(c, filt)
    cout, depth = filt.shape
    _bias_f32(c, bias, cout)
    if inp.elements % depth:
        c.fail(f"input '{inp.name}' has {inp.elements} values, not a multiple of the weight depth {depth}")
    if out.elements != inp.elements // depth * cout:
        c.fail(f"output '{out.name}' has {out.elements} values, expected {inp.elements // depth * cout}")


def _check_pool_f32(c: _Checker):
    o = c.op.options
    inp, out = c.tensor(0, "input"), c.output()
    c.activation(inp, "input", "FLOAT32"); c.activation(out, "output", "FLOAT32")
    c.shape(inp, 4, "input")
    _check_pool_window(c, o, inp, out)


def _check_add_f32(c: _Checker):
    a, b, out = c.tensor(0, "input 1"), c.tensor(1, "input 2"), c.output()
    for t, role in ((a, "input 1"), (b, "input 2"), (out, "output")):
        c.activation(t, role, "FLOAT32")
    if a.shape != b.shape or a.shape != out.shape:
        c.fail(f"broadcasting ADD ({list(a.shape)} + {list(b.shape)} -> {list(out.shape)}) is not supported")


def _check_softmax_f32(c: _Checker):
    inp, out = c.tensor(0, "input"), c.output()
    c.activation(inp, "input", "FLOAT32"); c.activation(out, "output", "FLOAT32")
    if inp.shape != out.shape or not inp.shape:
        c.fail(f"input {list(inp.shape)} and output {list(out.shape)} shapes differ")


def _check_reshape_f32(c: _Checker):
    inp = c.tensor(0, "input")
    if inp.dtype != "FLOAT32":
        c.fail(f"input '{inp.name}' is {inp.dtype}, expected FLOAT32 in a float model")
    _check_reshape(c)


def _check_float_io_op(c: _Checker):
    c.fail("QUANTIZE/DEQUANTIZE in a float model: vbench runs float32 models with float "
           "activations throughout (mixed int8/float graphs are not supported)")


_CHECKS_F32 = {
    "CONV_2D": lambda c: _check_conv_f32(c, False),
    "DEPTHWISE_CONV_2D": lambda c: _check_conv_f32(c, True),
    "FULLY_CONNECTED": _check_fc_f32,
    "AVERAGE_POOL_2D": _check_pool_f32,
    "MAX_POOL_2D": _check_pool_f32,
    "ADD": _check_add_f32,
    "RESHAPE": _check_reshape_f32,
    "SOFTMAX": _check_softmax_f32,
    "QUANTIZE": _check_float_io_op,
    "DEQUANTIZE": _check_float_io_op,
}

DTYPES = ("int8", "float32")


def validate_graph(graph: Graph, dtype: str = "int8") -> None:
    """Raise VbenchError on the first thing the runtime cannot run like TFLite: bit-exactly for
    an int8 model (dtype "int8", the default: float models are refused), with the float32
    kernels for a float model (dtype "float32": int8 models are refused)."""
    if dtype not in DTYPES:
        raise VbenchError(f"dtype must be one of {', '.join(DTYPES)}, not '{dtype}'")
    name = graph.path.name
    if graph.num_subgraphs != 1:
        raise VbenchError(f"{name}: has {graph.num_subgraphs} subgraphs; vbench supports "
                          "single-subgraph models (no control flow)")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise VbenchError(f"{name}: has {len(graph.inputs)} inputs and {len(graph.outputs)} "
                          "outputs; vbench supports exactly one of each")
    if not graph.operators:
        raise VbenchError(f"{name}: the graph has no operators")
    for op in graph.operators:
        if op.opcode not in OPERATORS:
            raise VbenchError(f"{name}: operator {op.index} ({op.opcode}) is not supported by vbench "
                              f"(supported: {', '.join(sorted(OPERATORS))})")
    if dtype == "int8":
        _reject_float_model(graph)
    elif graph_dtype(graph) == "int8":
        raise VbenchError(f"{name} is an int8 model; compile it with dtype int8, not float32")
    checks = _CHECKS if dtype == "int8" else _CHECKS_F32

    available = set(graph.inputs)
    for op in graph.operators:
        c = _Checker(graph, op)
        c.options()
        checks[op.opcode](c)
        for pos, t_index in enumerate(op.inputs):
            if t_index == -1 or graph.tensors[t_index].is_const:
                continue
            if t_index not in available:
                c.fail(f"input {pos} '{graph.tensors[t_index].name}' is not computed by an earlier operator")
        for t_index in op.outputs:
            if t_index in available:
                c.fail(f"output '{graph.tensors[t_index].name}' is written twice")
            available.add(t_index)
    for t_index in graph.inputs + graph.outputs:
        t = graph.tensors[t_index]
        if t.dtype not in ("INT8", "FLOAT32"):
            raise VbenchError(f"{name}: graph input/output '{t.name}' is {t.dtype}; expected INT8 or FLOAT32")
        if dtype == "float32" and t.dtype != "FLOAT32":
            raise VbenchError(f"{name}: graph input/output '{t.name}' is {t.dtype}; a float model needs FLOAT32")
    if graph.outputs[0] not in available:
        raise VbenchError(f"{name}: the graph output is never computed")
    if graph.outputs[0] == graph.inputs[0]:
        raise VbenchError(f"{name}: the graph output is its input")
