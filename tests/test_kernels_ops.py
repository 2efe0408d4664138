"""Every operator, on small generated .tflite models, bit-exact against TFLite's reference
kernels (vbench.golden): SAME/VALID padding at the borders, stride 2, dilation, depth
multiplier 2, per-tensor vs per-channel weights, odd channel counts, saturation at
-128/127, fused NONE/RELU/RELU6, batches, float QUANTIZE/DEQUANTIZE."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vbench.compiler import compile_model
from vbench.compiler.host_build import HostModel
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.validate import compute_out_size
from vbench.golden import GoldenModel

ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PAD = {"SAME": 0, "VALID": 1}
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _weight_scales(rng, n, fan_in, in_scale, out_scale, target):
    """Scales that put typical outputs near `target` LSBs (large target = saturation)."""
    typical_acc = math.sqrt(fan_in) * 73.0 * 147.0
    base = target * out_scale / (in_scale * typical_acc)
    return (base * rng.uniform(0.5, 2.0, n)).astype(np.float32)


def _conv(in_shape, cout, kernel, stride=(1, 1), padding="SAME", dilation=(1, 1), act="NONE",
          per_channel=True, in_q=(0.05, -3), out_q=(0.1, 5), target=60.0, depthwise=False,
          dm=1, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    n, h, w, cin = in_shape
    kh, kw = kernel
    if depthwise:
        cout = cin * dm
    oh = compute_out_size(PAD[padding], h, kh, stride[0], dilation[0])
    ow = compute_out_size(PAD[padding], w, kw, stride[1], dilation[1])
    fan_in = kh * kw * (1 if depthwise else cin)
    n_scales = cout if per_channel else 1
    wsc = _weight_scales(rng, n_scales, fan_in, in_q[0], out_q[0], target)
    b = TfliteBuilder()
    x = b.tensor("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    wshape = [1, kh, kw, cout] if depthwise else [cout, kh, kw, cin]
    wq = rng.integers(-127, 128, wshape)
    wt = b.tensor("w", wshape, data=wq, scale=wsc, quantized_dimension=3 if depthwise else 0)
    inputs = [x, wt]
    if bias:
        bsc = np.float32(in_q[0]) * (wsc if per_channel else np.repeat(wsc, cout))
        bvals = rng.integers(-20000, 20000, cout)
        inputs.append(b.tensor("b", [cout], "INT32", data=bvals, scale=bsc))
    y = b.tensor("y", [n, oh, ow, cout], scale=out_q[0], zero_point=out_q[1])
    opts = {"Padding": PAD[padding], "StrideW": stride[1], "StrideH": stride[0],
            "FusedActivationFunction": ACT[act], "DilationWFactor": dilation[1],
            "DilationHFactor": dilation[0]}
    if depthwise:
        opts["DepthMultiplier"] = dm
    b.operator("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", inputs, [y], opts)
    return b, [x], [y]


@case
def conv_same_3x3_odd_channels_relu():
    return _conv([1, 7, 9, 3], 5, (3, 3), act="RELU")


@case
def conv_same_3x3_stride2_relu6():
    return _conv([1, 8, 8, 4], 7, (3, 3), stride=(2, 2), act="RELU6", out_q=(0.03, -128))


@case
def conv_same_even_kernel_stride2_odd_input():
    return _conv([1, 11, 10, 2], 3, (4, 2), stride=(2, 2), in_q=(0.02, 17))


@case
def conv_valid_3x3_stride2_per_tensor():
    return _conv([1, 9, 7, 3], 4, (3, 3), stride=(2, 2), padding="VALID", per_channel=False)


@case
def conv_valid_1x1_zero_point_folded():
    return _conv([1, 5, 6, 16], 8, (1, 1), padding="VALID", in_q=(0.04, -128), out_q=(0.05, -128),
                 act="RELU")


@case
def conv_same_dilation_2x3():
    return _conv([1, 9, 8, 3], 4, (3, 2), dilation=(2, 3))


@case
def conv_batch2_saturating():
    return _conv([2, 6, 5, 3], 6, (3, 3), target=2000.0, in_q=(0.1, 0), out_q=(0.05, 0))


@case
def conv_kws_like_10x4_stride2():
    return _conv([1, 49, 10, 1], 8, (10, 4), stride=(2, 2), act="RELU", in_q=(0.5847029, 83),
                 out_q=(0.0787254, -128))


@case
def dwconv_same_3x3_relu():
    return _conv([1, 7, 6, 5], 0, (3, 3), act="RELU", depthwise=True, out_q=(0.08, -128))


@case
def dwconv_depth_multiplier2_stride2():
    return _conv([1, 9, 8, 3], 0, (3, 3), stride=(2, 2), depthwise=True, dm=2)


@case
def dwconv_valid_dm3_dilation2_relu6():
    return _conv([1, 10, 9, 2], 0, (3, 3), padding="VALID", dilation=(2, 2), depthwise=True, dm=3,
                 act="RELU6", out_q=(0.04, -20))


@case
def dwconv_per_tensor_saturating():
    return _conv([1, 6, 6, 4], 0, (3, 3), depthwise=True, per_channel=False, target=3000.0)


@case
def dwconv_valid_zero_point_folded():
    return _conv([1, 6, 7, 4], 0, (2, 2), padding="VALID", stride=(2, 2), depthwise=True,
                 in_q=(0.03, 40))


def _fc(in_shape, units, act="NONE", in_q=(0.05, 7), out_q=(0.1, -9), target=60.0, seed=1,
        bias=True, keep_num_dims=False, per_channel=False):
    rng = np.random.default_rng(seed)
    depth = in_shape[-1]
    batches = int(np.prod(in_shape)) // depth
    wsc = _weight_scales(rng, units if per_channel else 1, depth, in_q[0], out_q[0], target)
    b = TfliteBuilder()
    x = b.tensor("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    w = b.tensor("w", [units, depth], data=rng.integers(-127, 128, (units, depth)), scale=wsc)
    bt = b.tensor("b", [units], "INT32", data=rng.integers(-3000, 3000, units),
                  scale=np.float32(in_q[0]) * wsc) if bias else -1
    out_shape = list(in_shape[:-1]) + [units] if keep_num_dims else [batches, units]
    y = b.tensor("y", out_shape, scale=out_q[0], zero_point=out_q[1])
    b.operator("FULLY_CONNECTED", [x, w, bt], [y],
               {"FusedActivationFunction": ACT[act], "KeepNumDims": keep_num_dims})
    return b, [x], [y]


@case
def fc_none():
    return _fc([1, 37], 11)


@case
def fc_relu_batches_from_4d_input():
    return _fc([2, 3, 1, 8], 5, act="RELU")


@case
def fc_relu6_keep_num_dims_no_bias():
    return _fc([3, 20], 9, act="RELU6", out_q=(0.03, -128), bias=False, keep_num_dims=True)


@case
def fc_per_channel():
    return _fc([1, 32], 6, per_channel=True, in_q=(0.05, 3), out_q=(0.02, -5))


@case
def fc_saturating():
    return _fc([1, 64], 12, target=5000.0)


def _pool(op, in_shape, kernel, stride, padding, act="NONE", q=(0.07, -11)):
    n, h, w, c = in_shape
    oh = compute_out_size(PAD[padding], h, kernel[0], stride[0])
    ow = compute_out_size(PAD[padding], w, kernel[1], stride[1])
    b = TfliteBuilder()
    x = b.tensor("x", in_shape, scale=q[0], zero_point=q[1])
    y = b.tensor("y", [n, oh, ow, c], scale=q[0], zero_point=q[1])
    b.operator(op, [x], [y], {"Padding": PAD[padding], "StrideW": stride[1], "StrideH": stride[0],
                              "FilterWidth": kernel[1], "FilterHeight": kernel[0],
                              "FusedActivationFunction": ACT[act]})
    return b, [x], [y]


@case
def avgpool_valid_2x2_stride2():
    return _pool("AVERAGE_POOL_2D", [1, 8, 7, 3], (2, 2), (2, 2), "VALID")


@case
def avgpool_same_3x3_stride2_border_counts_relu6():
    return _pool("AVERAGE_POOL_2D", [1, 7, 9, 5], (3, 3), (2, 2), "SAME", act="RELU6", q=(0.03, -100))


@case
def avgpool_global():
    return _pool("AVERAGE_POOL_2D", [1, 25, 5, 16], (25, 5), (25, 5), "VALID")


@case
def maxpool_same_3x3_stride1_relu():
    return _pool("MAX_POOL_2D", [1, 6, 5, 3], (3, 3), (1, 1), "SAME", act="RELU")


@case
def maxpool_valid_2x2_stride2_batch2():
    return _pool("MAX_POOL_2D", [2, 9, 8, 4], (2, 2), (2, 2), "VALID")


def _add_model(shape, q1, q2, qo, act="NONE"):
    """x -> (x, dwconv(x)) -> ADD: one graph input, two differently quantized addends."""
    rng = np.random.default_rng(3)
    c = shape[-1]
    b = TfliteBuilder()
    x = b.tensor("x", shape, scale=q1[0], zero_point=q1[1])
    wsc = np.full(c, q2[0] / q1[0] / 100.0, np.float32)
    w = b.tensor("w", [1, 1, 1, c], data=rng.integers(60, 127, (1, 1, 1, c)), scale=wsc,
                 quantized_dimension=3)
    bias = b.tensor("b", [c], "INT32", data=np.zeros(c), scale=np.float32(q1[0]) * wsc)
    x2 = b.tensor("x2", shape, scale=q2[0], zero_point=q2[1])
    b.operator("DEPTHWISE_CONV_2D", [x, w, bias], [x2],
               {"Padding": 1, "StrideW": 1, "StrideH": 1, "DepthMultiplier": 1,
                "FusedActivationFunction": 0, "DilationWFactor": 1, "DilationHFactor": 1})
    y = b.tensor("y", shape, scale=qo[0], zero_point=qo[1])
    b.operator("ADD", [x, x2], [y], {"FusedActivationFunction": ACT[act]})
    return b, [x], [y]


@case
def add_relu_resnet_like():
    return _add_model([1, 8, 8, 5], (0.0838583, 38), (0.217244, -2), (0.127069, -128), act="RELU")


@case
def add_none_mixed_scales():
    return _add_model([1, 4, 6, 3], (0.02, -7), (0.5, 11), (0.3, 3))


@case
def add_relu6_saturating():
    return _add_model([1, 3, 5, 7], (0.4, 0), (0.3, -50), (0.01, -128), act="RELU6")


def _softmax(shape, in_q, beta=1.0):
    b = TfliteBuilder()
    x = b.tensor("x", shape, scale=in_q[0], zero_point=in_q[1])
    y = b.tensor("y", shape, scale=1.0 / 256, zero_point=-128)
    b.operator("SOFTMAX", [x], [y], {"Beta": beta})
    return b, [x], [y]


@case
def softmax_kws_like():
    return _softmax([1, 12], (0.144693, 14))


@case
def softmax_small_scale_rows():
    return _softmax([2, 3, 7], (0.01, -5))


@case
def softmax_large_scale_diff_min_beta_half():
    return _softmax([1, 10], (0.9, 20), beta=0.5)


@case
def reshape_with_shape_tensor_then_fc():
    rng = np.random.default_rng(4)
    b = TfliteBuilder()
    x = b.tensor("x", [1, 2, 3, 4], scale=0.1, zero_point=3)
    shape = b.tensor("shape", [2], "INT32", data=[1, 24])
    r = b.tensor("r", [1, 24], scale=0.1, zero_point=3)
    b.operator("RESHAPE", [x, shape], [r], {"NewShape": [1, 24]})
    wsc = np.float32(0.01)
    w = b.tensor("w", [6, 24], data=rng.integers(-127, 128, (6, 24)), scale=wsc)
    y = b.tensor("y", [1, 6], scale=0.2, zero_point=-1)
    b.operator("FULLY_CONNECTED", [r, w, -1], [y], {"FusedActivationFunction": 0})
    return b, [x], [y]


@case
def reshape_only():
    b = TfliteBuilder()
    x = b.tensor("x", [1, 1, 1, 10], scale=0.1, zero_point=3)
    y = b.tensor("y", [1, 10], scale=0.1, zero_point=3)
    b.operator("RESHAPE", [x], [y], {"NewShape": [1, 10]})
    return b, [x], [y]


@case
def quantize_float_input():
    b = TfliteBuilder()
    x = b.tensor("x", [1, 640], "FLOAT32")
    y = b.tensor("y", [1, 640], scale=0.3910152316093445, zero_point=89)
    b.operator("QUANTIZE", [x], [y], {})
    return b, [x], [y]


@case
def requantize_int8_up_and_down():
    b = TfliteBuilder()
    x = b.tensor("x", [1, 50], scale=0.05, zero_point=-10)
    m = b.tensor("m", [1, 50], scale=0.021, zero_point=7)
    y = b.tensor("y", [1, 50], scale=0.33, zero_point=-100)
    b.operator("QUANTIZE", [x], [m], {})
    b.operator("QUANTIZE", [m], [y], {})
    return b, [x], [y]


@case
def dequantize_output():
    b = TfliteBuilder()
    x = b.tensor("x", [1, 200], scale=0.3644985, zero_point=96)
    y = b.tensor("y", [1, 200], "FLOAT32")
    b.operator("DEQUANTIZE", [x], [y], {})
    return b, [x], [y]


@case
def float_io_quantize_conv_dequantize():
    inner, (xi,), (yi,) = _conv([1, 6, 6, 2], 3, (3, 3), act="RELU", seed=7)
    b = inner
    xf = b.tensor("xf", [1, 6, 6, 2], "FLOAT32")
    yf = b.tensor("yf", [1, 6, 6, 3], "FLOAT32")
    conv = b._operators.pop()  # reorder: QUANTIZE, CONV_2D, DEQUANTIZE
    b.operator("QUANTIZE", [xf], [xi], {})
    b._operators.append(conv)
    b.operator("DEQUANTIZE", [yi], [yf], {})
    return b, [xf], [yf]


def _inputs(golden: GoldenModel, count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    n = int(np.prod(golden.input["shape"]))
    if golden.input["dtype"] == np.float32:
        out = []
        for i in range(count):
            scale = [0.01, 1.0, 50.0, 1e4][i % 4]
            out.append(rng.normal(0.0, scale, n).astype(np.float32).tobytes())
        return out
    out = [np.full(n, -128, np.int8).tobytes(), np.full(n, 127, np.int8).tobytes(),
           np.tile(np.array([-128, 127], np.int8), n)[:n].tobytes()]
    out += [rng.integers(-128, 128, n, dtype=np.int8).tobytes() for _ in range(count)]
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_bit_exact(name, tmp_path):
    builder, inputs, outputs = CASES[name]()
    model = builder.save(tmp_path / f"{name}.tflite", inputs, outputs)
    golden = GoldenModel(model)
    compiled = compile_model(model, tmp_path / "out", "m")
    host = HostModel(compiled.out_dir)
    assert compiled.arena_bytes >= compiled.arena_lower_bound
    for i, data in enumerate(_inputs(golden, 12, seed=len(name))):
        expected = golden.run_bytes(data)
        got = host.run(data)
        assert got == expected, (
            f"{name} input {i}: first differences at "
            f"{np.nonzero(np.frombuffer(got, np.uint8) != np.frombuffer(expected, np.uint8))[0][:8]}")
