"""The float32 path: float models compiled with dtype="float32" run on the float32 reference
kernels (firmware/kernels/reference/*_f32.c) within a stated tolerance of TFLite's float
reference interpreter (vbench.golden, BUILTIN_REF), on the host and on both virtual boards.

Tolerance (per output vector y of an input, against TFLite's y_ref):
    max |y - y_ref| <= FLOAT_RTOL * max |y_ref|      (FLOAT_RTOL = 1e-4)
and, for the classifiers (KWS, VWW, IC), the same top-1 class on every input. Inputs are
random, uniform over the input range of the model's int8 sibling (its input scale and zero
point), so they span what the model was trained on.

Measured (this tree; 20 random inputs per model on the host, 3 per board):
    host build (gcc -std=c99, no FMA contraction): bit-exact with TFLite on all four models
    nucleo-l4r5zi and rv32imaf-mcu (GCC's default -ffp-contract=fast turns a*b+c into VFMA.F32 /
    FMADD.S, single rounding; expf from picolibc): max error relative to the output range
        ad01_fp32 8.4e-7, ic_resnet8_float32 7.9e-7, vww_96_float 1.2e-7,
        kws_ref_model_float32 3e-9 (identical on both boards); top-1 always the same.
The int8 path is untouched: int8 builds get neither the float kernels nor VB_FLOAT32.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from vbench.compiler import compile_model, model_dtype
from vbench.firmware import firmware_sources
from vbench.firmware.kernels import kernel_sources
from vbench.compiler.host_build import HostModel
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.validate import compute_out_size
from vbench.errors import VbenchError
from vbench.golden import GoldenModel

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
FLOAT_RTOL = 1e-4
# float model -> (int8 sibling, whose input quantization gives the input range; classifier?)
FLOAT_MODELS = {
    "ad01_fp32": ("ad01_int8", False),
    "kws_ref_model_float32": ("kws_ref_model", True),
    "ic_resnet8_float32": ("ic_resnet8_int8", True),
    "vww_96_float": ("vww_96_int8", True),
}
F32_OPS = ["add_f32", "average_pool_2d_f32", "conv_2d_f32", "conv_2d_hybrid_f32",
           "depthwise_conv_2d_f32", "fully_connected_f32", "max_pool_2d_f32", "softmax_f32"]


def model_inputs(float_model: str, count: int, seed: int = 7) -> list[np.ndarray]:
    """Random float inputs: uniform int8 codes of the int8 sibling, dequantized."""
    sibling = GoldenModel(MODELS / f"{FLOAT_MODELS[float_model][0]}.tflite")
    scale, zp = sibling.input["quantization"]
    n = int(np.prod(sibling.input["shape"]))
    rng = np.random.default_rng(seed)
    return [((rng.integers(-128, 128, n).astype(np.float32) - zp) * np.float32(scale)).astype(np.float32)
            for _ in range(count)]


def relative_error(y: np.ndarray, ref: np.ndarray) -> float:
    scale = float(np.max(np.abs(ref))) or 1.0
    return float(np.max(np.abs(y.astype(np.float64) - ref.astype(np.float64)))) / scale


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    root = tmp_path_factory.mktemp("float_models")
    return {m: compile_model(MODELS / f"{m}.tflite", root / m, "m", dtype="float32") for m in FLOAT_MODELS}


# ------------------------------------------------------------------ the four models, host

@pytest.mark.parametrize("model", sorted(FLOAT_MODELS))
def test_float_model_on_host_within_tolerance(compiled, model):
    cm = compiled[model]
    assert cm.dtype == "float32" and cm.input.dtype == "FLOAT32" and cm.output.dtype == "FLOAT32"
    golden = GoldenModel(MODELS / f"{model}.tflite")
    host = HostModel(cm.out_dir)
    for x in model_inputs(model, 4):
        ref = golden.run(x).reshape(-1)
        y = np.frombuffer(host.run(x.tobytes()), np.float32)
        assert np.all(np.isfinite(y))
        assert relative_error(y, ref) <= FLOAT_RTOL
        if FLOAT_MODELS[model][1]:
            assert int(np.argmax(y)) == int(np.argmax(ref))
            assert abs(float(np.sum(y)) - 1.0) < 1e-5   # softmax output


def test_float_model_summaries(compiled):
    kws = compiled["kws_ref_model_float32"]
    # KWS float keeps int8 weights on its CONV_2D layers (TFLite hybrid conv)
    hybrid = [l for l in kws.layers if "hybrid int8 weights" in l.notes]
    assert [l.index for l in hybrid] == [0, 2, 4, 6, 8]
    assert all("float32" in l.notes for l in kws.layers if l.op != "RESHAPE")
    ad = compiled["ad01_fp32"]
    assert ad.weight_bytes == 4 * sum(l.macs for l in ad.layers) + 4 * sum(l.output_shape[-1] for l in ad.layers)
    assert "dtype     float32" in ad.table()
    for cm in compiled.values():
        assert cm.arena_lower_bound <= cm.arena_bytes


# ------------------------------------------------------------------ selection and refusals

def test_dtype_choice_and_refusals(tmp_path):
    with pytest.raises(VbenchError, match="ad01_fp32.tflite is a float model: operator 0 .*int8.*dtype float32"):
        compile_model(MODELS / "ad01_fp32.tflite", tmp_path / "a", "a")        # int8 is the default
    with pytest.raises(VbenchError, match="ad01_int8.tflite is an int8 model"):
        compile_model(MODELS / "ad01_int8.tflite", tmp_path / "b", "b", dtype="float32")
    with pytest.raises(VbenchError, match="dtype must be one of int8, float32 or auto"):
        compile_model(MODELS / "ad01_int8.tflite", tmp_path / "c", "c", dtype="float16")
    assert model_dtype(MODELS / "ad01_fp32.tflite") == "float32"
    assert model_dtype(MODELS / "ad01_int8.tflite") == "int8"
    assert compile_model(MODELS / "ad01_fp32.tflite", tmp_path / "d", "d", dtype="auto").dtype == "float32"
    assert compile_model(MODELS / "ad01_int8.tflite", tmp_path / "e", "e", dtype="auto").dtype == "int8"


def test_float_kernels_only_in_float_builds(compiled, tmp_path):
    assert not any(p.name.endswith("_f32.c") for p in kernel_sources(None))
    assert sorted(p.stem for p in kernel_sources(None, float32=True) if p.stem.endswith("_f32")) == F32_OPS
    fw = firmware_sources(compiled["ad01_fp32"].out_dir)
    assert fw.defines == {"VB_FLOAT32": "1"}
    assert sorted(p.stem for p in fw.sources if p.stem.endswith("_f32")) == F32_OPS
    int8 = compile_model(MODELS / "ad01_int8.tflite", tmp_path / "i8", "ad")
    fw8 = firmware_sources(int8.out_dir)
    assert "VB_FLOAT32" not in fw8.defines and not any(p.stem.endswith("_f32") for p in fw8.sources)
    # an optimized variant swaps in its float kernels for the MAC-heavy operators (the others stay
    # reference); AD (no depthwise layer) gets no scratch
    fwo = firmware_sources(compiled["ad01_fp32"].out_dir, "cortex_m4_dsp")
    assert "VB_SCRATCH_BYTES" not in fwo.defines
    assert {p.stem for p in fwo.sources if p.stem.endswith("_f32") and p.parent.name == "cortex_m4_dsp"} == {
        "conv_2d_f32", "conv_2d_hybrid_f32", "depthwise_conv_2d_f32", "fully_connected_f32", "fpu_common_f32"}


TARGETS = {
    "arm": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb",
            "-O2", "--specs=picolibc.specs"],
    "riscv": ["riscv64-unknown-elf-gcc", "-march=rv32imaf", "-mabi=ilp32f", "-O2", "--specs=picolibc.specs"],
}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_float_kernels_cross_compile_single_precision(compiled, tmp_path, target):
    """Warning-free with -std=c99 -Wall -Wextra -Werror; hardware single precision only (no
    soft-float or double-precision helper calls)."""
    cmd = TARGETS[target]
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed")
    fw = firmware_sources(compiled["kws_ref_model_float32"].out_dir)
    nm = cmd[0].replace("gcc", "nm")
    for src in fw.sources:
        if not (src.stem.endswith("_f32") or src.name == "vb_runtime.c"):
            continue
        obj = tmp_path / f"{src.stem}.o"
        proc = subprocess.run([*cmd, "-std=c99", "-Wall", "-Wextra", "-Werror", *fw.cflags(), "-c", str(src),
                               "-o", str(obj)], capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stderr, f"{src.name}: {proc.stderr}"
        undefined = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True).stdout
        assert not any(s in undefined for s in ("__aeabi_d", "__aeabi_f", "df2", "df3", "sf3", "sf2", "dfsi",
                                                "sidf", "sisf", "sfsi")), f"{src.name}: {undefined}"


# ------------------------------------------------------------------ one operator at a time

ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PAD = {"SAME": 0, "VALID": 1}


def _f32_conv(b, x, in_shape, cout, kernel, stride, padding, dilation, act, depthwise=False, dm=1,
              hybrid=False, seed=0, bias=True):
    rng = np.random.default_rng(seed)
    n, h, w, cin = in_shape
    kh, kw = kernel
    cout = cin * dm if depthwise else cout
    oh = compute_out_size(PAD[padding], h, kh, stride[0], dilation[0])
    ow = compute_out_size(PAD[padding], w, kw, stride[1], dilation[1])
    wshape = [1, kh, kw, cout] if depthwise else [cout, kh, kw, cin]
    if hybrid:
        wt = b.tensor("w", wshape, "INT8", data=rng.integers(-127, 128, wshape), scale=0.0123)
    else:
        wt = b.tensor("w", wshape, "FLOAT32", data=rng.normal(0, 1 / math.sqrt(kh * kw * cin), wshape))
    inputs = [x, wt] + ([b.tensor("b", [cout], "FLOAT32", data=rng.normal(0, 0.5, cout))] if bias else [])
    y = b.tensor("y", [n, oh, ow, cout], "FLOAT32")
    opts = {"Padding": PAD[padding], "StrideW": stride[1], "StrideH": stride[0],
            "DilationWFactor": dilation[1], "DilationHFactor": dilation[0],
            "FusedActivationFunction": ACT[act]}
    if depthwise:
        opts["DepthMultiplier"] = dm
    b.operator("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", inputs, [y], opts)
    return y


def _one_conv(**kw):
    def make():
        shape = kw.pop("in_shape")
        b = TfliteBuilder()
        x = b.tensor("x", shape, "FLOAT32")
        y = _f32_conv(b, x, shape, **kw)
        return b, [x], [y]
    return make


def _pool(op, in_shape, window, stride, padding, act="NONE"):
    def make():
        n, h, w, c = in_shape
        oh = compute_out_size(PAD[padding], h, window[0], stride[0])
        ow = compute_out_size(PAD[padding], w, window[1], stride[1])
        b = TfliteBuilder()
        x = b.tensor("x", in_shape, "FLOAT32")
        y = b.tensor("y", [n, oh, ow, c], "FLOAT32")
        b.operator(op, [x], [y], {"Padding": PAD[padding], "StrideW": stride[1], "StrideH": stride[0],
                                  "FilterWidth": window[1], "FilterHeight": window[0],
                                  "FusedActivationFunction": ACT[act]})
        return b, [x], [y]
    return make


def _fc_softmax():
    rng = np.random.default_rng(3)
    b = TfliteBuilder()
    x = b.tensor("x", [3, 20], "FLOAT32")
    wt = b.tensor("w", [7, 20], "FLOAT32", data=rng.normal(0, 0.3, (7, 20)))
    bias = b.tensor("b", [7], "FLOAT32", data=rng.normal(0, 0.3, 7))
    h = b.tensor("h", [3, 7], "FLOAT32")
    y = b.tensor("y", [3, 7], "FLOAT32")
    b.operator("FULLY_CONNECTED", [x, wt, bias], [h], {"FusedActivationFunction": ACT["RELU_N1_TO_1"]})
    b.operator("SOFTMAX", [h], [y], {"Beta": 2.5})
    return b, [x], [y]


def _add_reshape_fc():
    rng = np.random.default_rng(4)
    b = TfliteBuilder()
    x = b.tensor("x", [1, 4, 4, 3], "FLOAT32")
    c = _f32_conv(b, x, [1, 4, 4, 3], 3, (3, 3), (1, 1), "SAME", (1, 1), "NONE", seed=5)
    s = b.tensor("s", [1, 4, 4, 3], "FLOAT32")
    b.operator("ADD", [x, c], [s], {"FusedActivationFunction": ACT["RELU6"]})
    shape = b.tensor("shape", [2], "INT32", data=[1, 48])
    flat = b.tensor("flat", [1, 48], "FLOAT32")
    b.operator("RESHAPE", [s, shape], [flat], {"NewShape": [1, 48]})
    wt = b.tensor("w2", [5, 48], "FLOAT32", data=rng.normal(0, 0.2, (5, 48)))
    y = b.tensor("y", [1, 5], "FLOAT32")
    b.operator("FULLY_CONNECTED", [flat, wt], [y], {"FusedActivationFunction": 0})   # no bias
    return b, [x], [y]


OP_CASES = {
    "conv_same_stride2": _one_conv(in_shape=[1, 9, 7, 3], cout=5, kernel=(3, 3), stride=(2, 2), padding="SAME",
                                   dilation=(1, 1), act="RELU"),
    "conv_valid_dilated": _one_conv(in_shape=[2, 9, 9, 2], cout=4, kernel=(3, 2), stride=(1, 1), padding="VALID",
                                    dilation=(2, 2), act="RELU6"),
    "conv_hybrid_same": _one_conv(in_shape=[1, 10, 5, 4], cout=6, kernel=(4, 3), stride=(2, 2), padding="SAME",
                                  dilation=(1, 1), act="RELU", hybrid=True),
    "conv_hybrid_batches": _one_conv(in_shape=[2, 5, 5, 3], cout=4, kernel=(1, 1), stride=(1, 1), padding="VALID",
                                     dilation=(1, 1), act="NONE", hybrid=True),
    "depthwise_dm2_same": _one_conv(in_shape=[1, 7, 6, 3], cout=0, kernel=(3, 3), stride=(2, 1), padding="SAME",
                                    dilation=(1, 1), act="RELU_N1_TO_1", depthwise=True, dm=2),
    "avg_pool_same": _pool("AVERAGE_POOL_2D", [1, 7, 5, 3], (3, 2), (2, 2), "SAME", "RELU"),
    "max_pool_valid": _pool("MAX_POOL_2D", [2, 6, 6, 2], (2, 3), (2, 1), "VALID"),
    "fc_softmax": _fc_softmax,
    "add_reshape_fc": _add_reshape_fc,
}


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_float_operator_matches_tflite(name, tmp_path):
    builder, inputs, outputs = OP_CASES[name]()
    model = builder.save(tmp_path / f"{name}.tflite", inputs, outputs)
    golden = GoldenModel(model)
    cm = compile_model(model, tmp_path / "out", "m", dtype="float32")
    host = HostModel(cm.out_dir)
    n = int(np.prod(golden.input["shape"]))
    rng = np.random.default_rng(len(name))
    cases = [np.zeros(n, np.float32)] + [rng.normal(0, s, n).astype(np.float32) for s in (0.1, 1.0, 30.0)]
    for i, x in enumerate(cases):
        ref = golden.run(x).reshape(-1)
        y = np.frombuffer(host.run(x.tobytes()), np.float32)
        assert relative_error(y, ref) <= FLOAT_RTOL, f"{name} input {i}"


def test_float_validation_errors(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 5, 5, 2], "FLOAT32")
    _f32_conv(b, x, [1, 5, 5, 2], 0, (3, 3), (1, 1), "SAME", (1, 1), "NONE", depthwise=True)
    b._tensors[1].update(dtype="INT8", scale=np.array([0.1], np.float32), zero_point=np.zeros(1, np.int64))
    b._buffers[1] = np.ones(18, np.int8).tobytes()
    model = b.save(tmp_path / "dw_hybrid.tflite", [x], [3])
    with pytest.raises(VbenchError, match=r"operator 0 \(DEPTHWISE_CONV_2D\): filter 'w' is INT8, expected FLOAT32$"):
        compile_model(model, tmp_path / "o1", "m", dtype="float32")

    b = TfliteBuilder()
    xf = b.tensor("x", [1, 4], "FLOAT32")
    q = b.tensor("q", [1, 4], scale=0.1, zero_point=0)
    y = b.tensor("y", [1, 4], "FLOAT32")
    b.operator("QUANTIZE", [xf], [q], {})
    b.operator("DEQUANTIZE", [q], [y], {})
    # float I/O around an int8 body is an int8 model (QUANTIZE/DEQUANTIZE are its float edges)
    model = b.save(tmp_path / "island.tflite", [xf], [y])
    with pytest.raises(VbenchError, match="is an int8 model"):
        compile_model(model, tmp_path / "o2", "m", dtype="float32")

    b = TfliteBuilder()
    x = b.tensor("x", [1, 4], "FLOAT32")
    wt = b.tensor("w", [2, 4], "FLOAT32", data=[0, 1, 2, np.inf, 0, 0, 0, 0])
    y = b.tensor("y", [1, 2], "FLOAT32")
    b.operator("FULLY_CONNECTED", [x, wt], [y], {"FusedActivationFunction": 0})
    model = b.save(tmp_path / "inf.tflite", [x], [y])
    with pytest.raises(VbenchError, match="non-finite"):
        compile_model(model, tmp_path / "o3", "m", dtype="float32")


# ------------------------------------------------------------------ the four models, both boards

def _board_run(args):
    """One inference of a compiled float model on a board (model_check firmware): the output,
    the layers the markers saw, cycles."""
    model, cm, platform, x = args
    from vbench.modelcheck import ModelCase, build_check_image, run_inference
    from vbench.platform import load_platform
    from vbench.sim.elf import load_image

    case = ModelCase(model, MODELS / f"{model}.tflite", cm, [x.tobytes()], ["random#0"], [b""], 0, [], 1, 0)
    plat = load_platform(platform)
    check = build_check_image(case, plat)
    r = run_inference(plat, load_image(check.elf), check, case, x.tobytes(), "random#0")
    return dict(exit=r.exit, code=r.exit_code, status=r.status, output=r.output, layers=r.layers, cycles=r.cycles,
                energy_uj=r.energy_uj)


BOARDS = ("nucleo-l4r5zi", "rv32imaf-mcu")


@pytest.fixture(scope="module")
def board_runs(compiled):
    for tool in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    jobs, keys = [], []
    for model in sorted(FLOAT_MODELS):
        x = model_inputs(model, 1, seed=11)[0]
        for board in BOARDS:
            jobs.append((model, compiled[model], board, x))
            keys.append((model, board))
    workers = min(2, os.cpu_count() or 1)
    if workers > 1:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_board_run, jobs))
    else:
        results = [_board_run(j) for j in jobs]
    return {k: (j[3], r) for k, j, r in zip(keys, jobs, results)}


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("model", sorted(FLOAT_MODELS))
def test_float_model_on_board_within_tolerance(board_runs, compiled, model, board):
    x, r = board_runs[(model, board)]
    assert (r["exit"], r["code"], r["status"]) == ("exit", 0, 0)
    assert r["layers"] == len(compiled[model].layers) and r["cycles"] > 0 and r["energy_uj"] > 0
    ref = GoldenModel(MODELS / f"{model}.tflite").run(x).reshape(-1)
    y = np.frombuffer(r["output"], np.float32)
    assert relative_error(y, ref) <= FLOAT_RTOL
    if FLOAT_MODELS[model][1]:
        assert int(np.argmax(y)) == int(np.argmax(ref))
