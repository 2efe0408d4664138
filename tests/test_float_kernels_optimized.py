"""Optimized float32 kernels (firmware/kernels/cortex_m4_dsp/*_f32.c for the Cortex-M4F FPU,
firmware/kernels/rv32/*_f32.c for RV32IMAF) against TFLite's float reference interpreter.

Both variants sum every output in the reference kernel's order (filter rows, columns, input
channels, padding taps skipped or +0, bias last); only the number of sums run side by side
changes. Hence:
* host builds (x86, no FMA) of either variant: bit-exact with TFLite;
* nucleo-l4r5zi: the cortex_m4_dsp kernels use separate VMUL.F32 / VADD.F32, so the board gives
  the host's (TFLite's) results bit for bit;
* rv32imaf-mcu: GCC contracts `sum += x * w` into FMADD.S in the rv32 kernels exactly as in the
  reference kernels' firmware build: bit-exact with the reference firmware on the same board,
  and within FLOAT_RTOL of TFLite.

Generated layers cover odd channel counts (tails of the 4-channel blocks and of the depthwise
channel pairs), SAME / VALID padding, stride 2, dilation, depth multiplier 2, RELU / RELU6 /
RELU_N1_TO_1, batches, run lengths that are not multiples of 4, odd output widths (a lone pixel
after the pixel pairs), and a depthwise plane larger than the scratch (stripes). The four float
models run on both boards with the optimized variant: within FLOAT_RTOL of TFLite, same top-1,
fewer cycles than the reference float kernels.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_float_models import ACT, FLOAT_MODELS, FLOAT_RTOL, MODELS, PAD, _f32_conv, model_inputs, relative_error
from vbench.compiler import compile_model
from vbench.compiler.host_build import HostModel
from vbench.firmware import firmware_sources
from vbench.firmware.kernels import scratch_bytes
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.validate import compute_out_size
from vbench.golden import GoldenModel

VARIANTS = ("cortex_m4_dsp", "rv32")
BOARDS = {"nucleo-l4r5zi": "cortex_m4_dsp", "rv32imaf-mcu": "rv32"}
HAVE_CROSS = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"))
OPTIMIZED_F32 = {"conv_2d_f32", "conv_2d_hybrid_f32", "depthwise_conv_2d_f32", "fully_connected_f32"}


# ------------------------------------------------------------------ generated layers

def _single(in_shape, **kw):
    def make():
        b = TfliteBuilder()
        x = b.tensor("x", in_shape, "FLOAT32")
        return b, [x], [_f32_conv(b, x, in_shape, **kw)]
    return make


def _fc(batches, depth, out_depth, act, bias=True, seed=1):
    def make():
        rng = np.random.default_rng(seed)
        b = TfliteBuilder()
        x = b.tensor("x", [batches, depth], "FLOAT32")
        wt = b.tensor("w", [out_depth, depth], "FLOAT32", data=rng.normal(0, 1 / math.sqrt(depth), (out_depth, depth)))
        ins = [x, wt] + ([b.tensor("b", [out_depth], "FLOAT32", data=rng.normal(0, 0.3, out_depth))] if bias else [])
        y = b.tensor("y", [batches, out_depth], "FLOAT32")
        b.operator("FULLY_CONNECTED", ins, [y], {"FusedActivationFunction": ACT[act]})
        return b, [x], [y]
    return make


def _conv_args(cout, kernel, stride=(1, 1), padding="SAME", dilation=(1, 1), act="NONE", **kw):
    return dict(cout=cout, kernel=kernel, stride=stride, padding=padding, dilation=dilation, act=act, **kw)


LAYERS = {
    # CONV_2D: 4-channel blocks + tail, pixel pairs / quads + lone pixels, run tails n % 4
    "conv_3to7_3x3_same_relu": _single([1, 9, 11, 3], **_conv_args(7, (3, 3), act="RELU")),
    "conv_5to8_3x3_s2_valid_relu6": _single([1, 10, 9, 5], **_conv_args(8, (3, 3), (2, 2), "VALID", act="RELU6")),
    "conv_3to8_3x3_s2_same_bottom_pad": _single([1, 12, 10, 3], **_conv_args(8, (3, 3), (2, 2), act="RELU6")),
    "conv_6to5_1x1_batches": _single([2, 5, 7, 6], **_conv_args(5, (1, 1), padding="VALID")),
    "conv_2to6_3x2_dilated": _single([1, 11, 12, 2], **_conv_args(6, (3, 2), dilation=(2, 3), act="RELU_N1_TO_1")),
    "conv_4to9_2x3_s2_same": _single([1, 7, 8, 4], **_conv_args(9, (2, 3), (2, 2))),
    # DEPTHWISE_CONV_2D: channel pairs + lone channel, odd output widths, stride 2, dm 2, other filters
    "dw_7ch_3x3_same_relu6": _single([1, 9, 7, 7], **_conv_args(0, (3, 3), act="RELU6", depthwise=True)),
    "dw_6ch_3x3_s2_valid": _single([1, 11, 10, 6], **_conv_args(0, (3, 3), (2, 2), "VALID", depthwise=True)),
    "dw_4ch_3x3_s2_same_batches": _single([2, 8, 9, 4], **_conv_args(0, (3, 3), (2, 2), act="RELU", depthwise=True)),
    "dw_3ch_3x3_s1x2_dm2": _single([1, 7, 6, 3], **_conv_args(0, (3, 3), (1, 2), depthwise=True, dm=2)),
    "dw_8ch_5x3_same": _single([1, 8, 9, 8], **_conv_args(0, (5, 3), act="RELU", depthwise=True)),
    "dw_2ch_3x3_dilated": _single([1, 9, 9, 2], **_conv_args(0, (3, 3), dilation=(2, 2), depthwise=True)),
    "dw_4ch_3x3_w1": _single([1, 6, 1, 4], **_conv_args(0, (3, 3), act="RELU6", depthwise=True)),
    # a plane larger than the scratch cap: stripes
    "dw_4ch_3x3_stripes": _single([1, 64, 40, 4], **_conv_args(0, (3, 3), act="RELU", depthwise=True)),
    # hybrid CONV_2D (float activations, int8 weights)
    "hybrid_1to6_10x4_s2_same": _single([1, 17, 9, 1], **_conv_args(6, (10, 4), (2, 2), act="RELU", hybrid=True)),
    "hybrid_9to7_1x1_batches": _single([2, 5, 5, 9], **_conv_args(7, (1, 1), padding="VALID", hybrid=True)),
    "hybrid_3to5_3x3_dilated": _single([1, 9, 8, 3], **_conv_args(5, (3, 3), dilation=(1, 2), hybrid=True)),
    # FULLY_CONNECTED: row blocks + tail rows, depth % 4, batches (rv32 blocks 4 of them)
    "fc_b1_d30_o9_relu": _fc(1, 30, 9, "RELU"),
    "fc_b5_d17_o8_relu6": _fc(5, 17, 8, "RELU6", seed=2),
    "fc_b2_d8_o3_nobias": _fc(2, 8, 3, "NONE", bias=False, seed=3),
}


@pytest.fixture(scope="module")
def layer_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("f32_layers")
    out = {}
    for name, make in LAYERS.items():
        b, ins, outs = make()
        path = b.save(root / f"{name}.tflite", ins, outs)
        out[name] = (path, compile_model(path, root / name, "m", dtype="float32"))
    return out


# max |x| = 127 makes the hybrid quantization scale 1: exact halves (ties of TfLiteRound, away from
# zero). (Not the largest float below 0.5: TFLite's x86 build quantizes it to 1, the reference
# kernel, like TfLiteRound, to 0; the optimized kernels follow the reference.)
TIES = np.array([127.0, -126.5, 2.5, -2.5, 0.5, -0.5, 1.5, -3.5, 0.0, 126.5], np.float32)


def _layer_inputs(golden: GoldenModel, seed: int) -> list[np.ndarray]:
    n = int(np.prod(golden.input["shape"]))
    rng = np.random.default_rng(seed)
    return ([np.zeros(n, np.float32), np.resize(TIES, n)]
            + [rng.normal(0, s, n).astype(np.float32) for s in (0.1, 1.0, 30.0)])


@pytest.mark.parametrize("variant", VARIANTS)
def test_layers_on_host_bit_exact_with_tflite(layer_models, variant):
    for name, (path, cm) in layer_models.items():
        golden = GoldenModel(path)
        host = HostModel(cm.out_dir, variant)
        for i, x in enumerate(_layer_inputs(golden, len(name))):
            ref = golden.run(x).reshape(-1)
            y = np.frombuffer(host.run(x.tobytes()), np.float32)
            assert np.array_equal(y, ref), f"{variant} {name} input {i}: max rel err {relative_error(y, ref):.1e}"


def test_variants_link_their_float_kernels_and_size_the_plane(layer_models):
    cm = layer_models["dw_4ch_3x3_stripes"][1]
    for variant in VARIANTS:
        fw = firmware_sources(cm.out_dir, variant)
        assert {p.stem for p in fw.sources if p.parent.name == variant and p.stem in OPTIMIZED_F32} == OPTIMIZED_F32
    # 3x3 depthwise plane: (64 + 2) x (40 + 2) x 8 bytes, capped at 16 KB; none for a conv
    assert scratch_bytes(cm.out_dir) == 16 * 1024
    assert scratch_bytes(layer_models["dw_7ch_3x3_same_relu6"][1].out_dir) == ((9 + 2) * (7 + 2) * 8 + 15) // 16 * 16
    assert scratch_bytes(layer_models["conv_3to7_3x3_same_relu"][1].out_dir) == 0
    assert "VB_SCRATCH_BYTES" not in firmware_sources(layer_models["conv_3to7_3x3_same_relu"][1].out_dir,
                                                      "cortex_m4_dsp").defines


CROSS = {
    "cortex_m4_dsp": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb",
                      "-O2", "--specs=picolibc.specs"],
    "rv32": ["riscv64-unknown-elf-gcc", "-march=rv32imaf", "-mabi=ilp32f", "-O2", "--specs=picolibc.specs"],
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_float_kernels_cross_compile_single_precision(layer_models, tmp_path, variant):
    """The variant's float sources: warning-free with -std=c99 -Wall -Wextra -Werror, hardware
    single precision only (no soft-float or double helpers)."""
    cmd = CROSS[variant]
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed")
    fw = firmware_sources(layer_models["hybrid_1to6_10x4_s2_same"][1].out_dir, variant)
    sources = [p for p in fw.sources if p.parent.name == variant and p.stem.endswith("_f32")]
    assert len(sources) == 5
    for src in sources:
        obj = tmp_path / f"{src.stem}.o"
        proc = subprocess.run([*cmd, "-std=c99", "-Wall", "-Wextra", "-Werror", *fw.cflags(), "-c", str(src),
                               "-o", str(obj)], capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stderr, f"{src.name}: {proc.stderr}"
        undefined = [line.split()[-1] for line in subprocess.run(
            [cmd[0].replace("gcc", "nm"), "-u", str(obj)], capture_output=True, text=True).stdout.splitlines()]
        assert all(s.startswith("vb_") for s in undefined), f"{src.name}: {undefined}"


# ------------------------------------------------------------------ on the boards

def _chain():
    """Every kernel path in one model: conv with tail channels and a lone pixel per row, depthwise
    stride 1 (pairs + lone pixel + lone channel) and stride 2, pointwise, hybrid, FC."""
    b = TfliteBuilder()
    x = b.tensor("x", [1, 11, 9, 3], "FLOAT32")
    h = _f32_conv(b, x, [1, 11, 9, 3], 7, (3, 3), (1, 1), "SAME", (1, 1), "RELU", seed=1)
    h = _f32_conv(b, h, [1, 11, 9, 7], 0, (3, 3), (1, 1), "SAME", (1, 1), "RELU6", depthwise=True, seed=2)
    h = _f32_conv(b, h, [1, 11, 9, 7], 0, (3, 3), (2, 2), "VALID", (1, 1), "NONE", depthwise=True, seed=3)
    h = _f32_conv(b, h, [1, 5, 4, 7], 10, (1, 1), (1, 1), "SAME", (1, 1), "RELU", seed=4)
    h = _f32_conv(b, h, [1, 5, 4, 10], 6, (3, 2), (1, 1), "SAME", (1, 1), "RELU", hybrid=True, seed=5)
    h = _f32_conv(b, h, [1, 5, 4, 6], 5, (2, 2), (2, 2), "SAME", (1, 1), "NONE", seed=6)
    shape = b.tensor("shape", [2], "INT32", data=[1, 30])
    flat = b.tensor("flat", [1, 30], "FLOAT32")
    b.operator("RESHAPE", [h, shape], [flat], {"NewShape": [1, 30]})
    rng = np.random.default_rng(7)
    wt = b.tensor("wf", [9, 30], "FLOAT32", data=rng.normal(0, 0.2, (9, 30)))
    bias = b.tensor("bf", [9], "FLOAT32", data=rng.normal(0, 0.2, 9))
    y = b.tensor("y", [1, 9], "FLOAT32")
    b.operator("FULLY_CONNECTED", [flat, wt, bias], [y], {"FusedActivationFunction": ACT["RELU"]})
    return b, [x], [y]


def _board_run(args):
    """One inference on a board (model_check firmware): output bytes and layer-marker cycles."""
    label, path, cm, platform, kernels, data = args
    from vbench.modelcheck import ModelCase, build_check_image, run_inference
    from vbench.platform import load_platform
    from vbench.sim.elf import load_image

    case = ModelCase(label, path, cm, [data], ["x"], [b""], 0, [], 1, 0)
    plat = load_platform(platform)
    check = build_check_image(case, plat, kernels=kernels)
    r = run_inference(plat, load_image(check.elf), check, case, data, "x")
    assert (r.exit, r.exit_code, r.status) == ("exit", 0, 0), f"{label} on {platform}: {r.message}"
    assert r.layers == len(cm.layers)
    return r.output, r.cycles


@pytest.fixture(scope="module")
def board_models(layer_models, tmp_path_factory):
    if not HAVE_CROSS:
        pytest.skip("cross compilers not installed")
    root = tmp_path_factory.mktemp("f32_boards")
    b, ins, outs = _chain()
    chain_path = b.save(root / "chain.tflite", ins, outs)
    models = {"chain": (chain_path, compile_model(chain_path, root / "chain", "m", dtype="float32")),
              "stripes": layer_models["dw_4ch_3x3_stripes"]}
    rng = np.random.default_rng(5)
    inputs = {name: rng.normal(0, 1.0, int(np.prod(GoldenModel(p).input["shape"]))).astype(np.float32)
              for name, (p, _) in models.items()}
    for m in FLOAT_MODELS:
        models[m] = (MODELS / f"{m}.tflite", compile_model(MODELS / f"{m}.tflite", root / m, "m", dtype="float32"))
        inputs[m] = model_inputs(m, 1, seed=13)[0]
    return models, inputs


@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("name", ["chain", "stripes"])
def test_generated_models_on_boards(board_models, name, board):
    models, inputs = board_models
    path, cm = models[name]
    x = inputs[name]
    ref = GoldenModel(path).run(x).reshape(-1)
    out, _ = _board_run((name, path, cm, board, "optimized", x.tobytes()))
    y = np.frombuffer(out, np.float32)
    if board == "nucleo-l4r5zi":
        assert np.array_equal(y, ref)                   # VMUL + VADD in the reference order
    else:
        reference, _ = _board_run((name, path, cm, board, None, x.tobytes()))
        assert out == reference                         # the reference build's FMADD.S chain
        assert relative_error(y, ref) <= FLOAT_RTOL


@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("model", sorted(FLOAT_MODELS))
def test_float_models_optimized_on_boards(board_models, model, board):
    models, inputs = board_models
    path, cm = models[model]
    x = inputs[model]
    ref = GoldenModel(path).run(x).reshape(-1)
    out, cycles = _board_run((model, path, cm, board, "optimized", x.tobytes()))
    reference, ref_cycles = _board_run((model, path, cm, board, None, x.tobytes()))
    y = np.frombuffer(out, np.float32)
    assert np.all(np.isfinite(y)) and relative_error(y, ref) <= FLOAT_RTOL
    if FLOAT_MODELS[model][1]:
        assert int(np.argmax(y)) == int(np.argmax(ref))
    assert cycles < ref_cycles, f"{model} on {board}: optimized {cycles:,} >= reference {ref_cycles:,} cycles"
    if board == "rv32imaf-mcu":
        assert out == reference
