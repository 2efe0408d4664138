"""Winograd F(2x2,3x3) (`vbench compile --winograd`, vbench/compiler/encodings/winograd.py):
bit-exact with the direct CONV_2D and with TFLite.

* The transforms: A^T [sum_c U (.) V] A = 4 x the direct correlation, |V| <= 512 and |U| <= 1152
  reached by extreme codes, and the accumulator bound that decides whether a layer is encoded.
* Generated 3x3 stride-1 layers on the host, reference and both optimized variants (the
  cortex_m4_dsp variant runs its portable C there): odd heights and widths (edge tiles), SAME and
  VALID, odd and not-multiple-of-4 channel counts, per-channel and per-tensor weights, RELU /
  RELU6, left shifts, batches, extreme weights and inputs, a layer at the accumulator bound and
  one just past it (left direct).
* Which layers of the four MLPerf Tiny models are eligible (only IC has 3x3 stride-1 CONV_2D).
* On the simulated boards: a generated chain (the Cortex-M4 assembly dot product, odd channel
  counts, partial tile blocks) with the optimized kernels, and IC (ResNet-8) with the reference and
  the optimized kernels, bit-exact with TFLite.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from vbench.compiler import compile_model
from vbench.compiler.encodings import winograd as wino
from vbench.compiler.host_build import HostModel
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.validate import compute_out_size
from vbench.golden import GoldenModel

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
VARIANTS = (None, "cortex_m4_dsp", "rv32")
BOARDS = {"nucleo-l4r5zi": "cortex_m4_dsp", "rv32imaf-mcu": "rv32"}
HAVE_CROSS = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"))
ACT = {"NONE": 0, "RELU": 1, "RELU6": 3}
PAD = {"SAME": 0, "VALID": 1}


# ------------------------------------------------------------------ the transforms

def test_transform_identity_and_value_ranges():
    rng = np.random.default_rng(1)
    w = rng.integers(-128, 128, (5, 3, 3, 7))
    d = rng.integers(-128, 128, (4, 4, 7))
    y = wino.transform_output(np.einsum("oijc,ijc->oij", wino.transform_filter(w), wino.transform_input(d)))
    direct = np.array([[[np.sum(w[o] * d[r:r + 3, s:s + 3]) for s in range(2)] for r in range(2)]
                       for o in range(5)])
    assert np.array_equal(y, 4 * direct)
    # extremes: V of a constant -128 patch reaches -512, U of a constant -128 filter -1152
    assert wino.transform_input(np.full((4, 4, 1), -128)).min() == -512
    assert wino.transform_filter(np.full((1, 3, 3, 1), -128)).min() == -1152
    assert np.abs(wino.transform_input(rng.integers(-128, 128, (500, 4, 4, 1)))).max() <= 512
    b = wino.range_bounds(wino.transform_filter(np.full((1, 3, 3, 1), -128)))
    assert b["v"] == 512 and b["u"] == 1152
    # the bound grows linearly with the input channels: 2 channels, twice the bound
    b2 = wino.range_bounds(wino.transform_filter(np.full((1, 3, 3, 2), -128)))
    assert b2["acc"] == 2 * b["acc"]
    # any int8 filter: |U| <= 128 * r_i * r_j (r = row sums of |2G|), 2^22 per channel, 511 channels
    r = np.abs(wino.G2).sum(axis=1)
    worst = (128 * np.outer(r, r)).reshape(1, 4, 4, 1)
    assert wino.range_bounds(worst)["acc"] == 2**22
    for _ in range(200):
        u = wino.transform_filter(rng.choice(np.array([-128, 127]), (1, 3, 3, 1)))
        assert (np.abs(u) <= worst).all() and wino.range_bounds(u)["acc"] <= 2**22


def _bound_limit() -> int:
    """Largest in_c whose constant -128 filter keeps the accumulator bound within int32."""
    per_channel = wino.range_bounds(wino.transform_filter(np.full((1, 3, 3, 1), -128)))["acc"]
    return (2**31 - 1) // per_channel


# ------------------------------------------------------------------ generated layers

def _weight_scales(rng, n, fan_in, in_scale, out_scale, target):
    typical_acc = math.sqrt(fan_in) * 73.0 * 147.0
    return (target * out_scale / (in_scale * typical_acc) * rng.uniform(0.5, 2.0, n)).astype(np.float32)


def _conv3x3(in_shape, cout, padding="SAME", act="NONE", per_channel=True, in_q=(0.05, -3), out_q=(0.1, 5),
             target=60.0, weights="random", seed=0):
    rng = np.random.default_rng(seed)
    n, h, w, cin = in_shape
    oh, ow = compute_out_size(PAD[padding], h, 3, 1, 1), compute_out_size(PAD[padding], w, 3, 1, 1)
    if weights == "random":
        wq = rng.integers(-127, 128, (cout, 3, 3, cin))
    elif weights == "extreme":   # +-127 and -128 only
        wq = rng.choice(np.array([-128, -127, 127]), (cout, 3, 3, cin))
    else:                        # a constant code
        wq = np.full((cout, 3, 3, cin), int(weights))
    wsc = _weight_scales(rng, cout if per_channel else 1, 9 * cin, in_q[0], out_q[0], target)
    b = TfliteBuilder()
    x = b.tensor("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    wt = b.tensor("w", [cout, 3, 3, cin], data=wq, scale=wsc, quantized_dimension=0)
    bsc = np.float32(in_q[0]) * (wsc if per_channel else np.repeat(wsc, cout))
    bt = b.tensor("b", [cout], "INT32", data=rng.integers(-20000, 20000, cout), scale=bsc)
    y = b.tensor("y", [n, oh, ow, cout], scale=out_q[0], zero_point=out_q[1])
    b.operator("CONV_2D", [x, wt, bt], [y], {"Padding": PAD[padding], "StrideW": 1, "StrideH": 1,
                                              "FusedActivationFunction": ACT[act], "DilationWFactor": 1,
                                              "DilationHFactor": 1})
    return b, [x], [y]


CASES = {
    # odd sizes: edge tiles in both directions, odd channels (one 2x4 / 1x4 block), in_c % 4 != 0
    "same_7x9_in3_out5_relu": lambda: _conv3x3([1, 7, 9, 3], 5, act="RELU"),
    "valid_9x7_in5_out7_per_tensor": lambda: _conv3x3([1, 9, 7, 5], 7, "VALID", per_channel=False, in_q=(0.04, 12)),
    "same_5x11_in8_out1_relu6": lambda: _conv3x3([1, 5, 11, 8], 1, act="RELU6", out_q=(0.03, -128)),
    "same_6x6_in16_out6": lambda: _conv3x3([1, 6, 6, 16], 6, in_q=(0.08, -128), out_q=(0.1, 3)),
    "valid_8x10_in12_out9_relu": lambda: _conv3x3([1, 8, 10, 12], 9, "VALID", act="RELU", in_q=(0.03, 40)),
    "same_1x1_in4_out3_all_padding": lambda: _conv3x3([1, 1, 1, 4], 3, in_q=(0.05, 100)),
    "same_3x2_in1_out2_batch2": lambda: _conv3x3([2, 3, 2, 1], 2),
    "same_13x3_in6_out4_left_shift": lambda: _conv3x3([1, 13, 3, 6], 4, target=0.75 * math.sqrt(54) * 73 * 147,
                                                      in_q=(0.01, 2), out_q=(0.01, -3)),
    "same_6x5_in7_out11_saturating": lambda: _conv3x3([1, 6, 5, 7], 11, target=2000.0, in_q=(0.1, 0)),
    # extreme codes: +-127 / -128 weights and (in _inputs) constant -128 / 127 / checkerboard inputs
    "same_5x5_in64_out4_extreme": lambda: _conv3x3([1, 5, 5, 64], 4, weights="extreme", in_q=(0.02, -128),
                                                   target=3000.0),
    "valid_4x4_in128_out2_all_minus128": lambda: _conv3x3([1, 4, 4, 128], 2, "VALID", weights="-128",
                                                          in_q=(0.02, 0), target=500.0),
}


def _inputs(golden: GoldenModel, count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    n = int(np.prod(golden.input["shape"]))
    fixed = [np.full(n, -128, np.int8), np.full(n, 127, np.int8), np.tile(np.array([-128, 127], np.int8), n)[:n]]
    return [a.tobytes() for a in fixed] + [rng.integers(-128, 128, n, dtype=np.int8).tobytes() for _ in range(count)]


def _check_layer(tmp_path: Path, name: str, builder_fn, encoded: bool = True, count: int = 4):
    builder, inputs, outputs = builder_fn()
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = builder.save(tmp_path / f"{name}.tflite", inputs, outputs)
    golden = GoldenModel(path)
    direct = HostModel(compile_model(path, tmp_path / "direct", "m").out_dir)
    cw = compile_model(path, tmp_path / "wino", "m", winograd=True)
    assert cw.winograd and (cw.layers[0].kernel == "_WINOGRAD") == encoded, cw.layers[0].notes
    hosts = {v or "reference": HostModel(cw.out_dir, v) for v in VARIANTS}
    for i, data in enumerate(_inputs(golden, count, seed=len(name))):
        expected = golden.run_bytes(data)
        assert direct.run(data) == expected, f"{name} input {i}: direct kernel differs from TFLite"
        for v, host in hosts.items():
            got = host.run(data)
            diff = np.nonzero(np.frombuffer(got, np.uint8) != np.frombuffer(expected, np.uint8))[0][:8].tolist()
            assert got == expected, f"{name} input {i}, {v}: first differences at {diff}"
    return cw


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_layer_bit_exact_on_host(name, tmp_path):
    cw = _check_layer(tmp_path, name, CASES[name])
    layer = cw.layers[0]
    assert wino.NOTE in layer.notes
    cin = layer.input_shapes[0][3]
    cout = layer.output_shape[3]
    cin4 = (cin + 3) // 4 * 4
    assert layer.weight_bytes == 16 * cin4 * cout * 2 + 4 * cout   # int16 U + int32 bias


def test_accumulator_bound_decides(tmp_path):
    """A constant -128 filter at the largest in_c the int32 bound allows is encoded and exact on
    extreme inputs; one channel more stays direct (and says why)."""
    limit = _bound_limit()
    assert limit == 910, limit   # 2^31 / (512 * 128 * (2 + 3 + 1)^2): far above the models' 64
    kw = dict(padding="VALID", weights="-128", in_q=(0.02, 0), target=200.0)
    _check_layer(tmp_path / "at", "at_limit", lambda: _conv3x3([1, 4, 4, limit], 1, **kw), count=1)
    cw = _check_layer(tmp_path / "past", "past_limit", lambda: _conv3x3([1, 4, 4, limit + 1], 1, **kw),
                      encoded=False, count=1)
    assert any("exceeds int32" in n for n in cw.layers[0].notes)


def test_scratch_and_flash_accounting(tmp_path):
    builder, inputs, outputs = _conv3x3([1, 9, 7, 5], 6)
    path = builder.save(tmp_path / "c.tflite", inputs, outputs)
    dense = compile_model(path, tmp_path / "d", "m")
    cw = compile_model(path, tmp_path / "w", "m", winograd=True)
    cin4 = 8
    scratch = (wino.SCRATCH_TILES * 32 + 16) * cin4
    assert cw.arena_bytes == dense.arena_bytes + (scratch + 15) // 16 * 16
    assert cw.weight_bytes == 16 * cin4 * 6 * 2 + 6 * 4
    assert dense.weight_bytes == 9 * 5 * 6 + 6 * 4


# ------------------------------------------------------------------ the four models

def test_eligible_layers_of_the_four_models(tmp_path):
    """Only IC has 3x3 stride-1 CONV_2D (layers 0, 1, 2, 5, 9; 4 and 8 are stride 2); KWS and VWW
    have 3x3 only as depthwise layers and strided first convolutions, AD has none."""
    expected = {"ic_resnet8_int8": [0, 1, 2, 5, 9], "kws_ref_model": [], "vww_96_int8": [], "ad01_int8": []}
    for model, layers in expected.items():
        cw = compile_model(MODELS / f"{model}.tflite", tmp_path / model, "m", winograd=True)
        assert [l.index for l in cw.layers if l.kernel == "_WINOGRAD"] == layers, model
        if not layers:
            dense = compile_model(MODELS / f"{model}.tflite", tmp_path / f"{model}-d", "m")
            assert cw.const_bytes == dense.const_bytes and cw.arena_bytes == dense.arena_bytes


# ------------------------------------------------------------------ simulated boards

def _chain_model(path: Path, seed: int) -> Path:
    """3x3 SAME 11x9 (5 -> 7) -> 3x3 VALID (7 -> 12) -> 3x3 SAME (12 -> 3), RELU: odd channel counts
    (the 1x4 dot product, rv32's 2- and 1-channel rests), in_c % 4 != 0, blocks of 1 to 4 tiles,
    edge tiles in both directions, zero-point padding."""
    rng = np.random.default_rng(seed)
    b = TfliteBuilder()
    shape, scale = [1, 11, 9, 5], 0.05
    x = cur = b.tensor("x", shape, scale=scale, zero_point=-7)
    for i, (cout, pad) in enumerate(((7, "SAME"), (12, "VALID"), (3, "SAME"))):
        n, h, w, cin = shape
        oh, ow = compute_out_size(PAD[pad], h, 3, 1, 1), compute_out_size(PAD[pad], w, 3, 1, 1)
        out_scale = float(rng.uniform(0.03, 0.1))
        wsc = _weight_scales(rng, cout, 9 * cin, scale, out_scale, 40.0)
        wt = b.tensor(f"w{i}", [cout, 3, 3, cin], data=rng.integers(-127, 128, (cout, 3, 3, cin)), scale=wsc)
        bt = b.tensor(f"b{i}", [cout], "INT32", data=rng.integers(-5000, 5000, cout), scale=np.float32(scale) * wsc)
        y = b.tensor(f"y{i}", [n, oh, ow, cout], scale=out_scale, zero_point=int(rng.integers(-128, 0)))
        b.operator("CONV_2D", [cur, wt, bt], [y], {"Padding": PAD[pad], "StrideW": 1, "StrideH": 1,
                                                   "FusedActivationFunction": ACT["RELU"], "DilationWFactor": 1,
                                                   "DilationHFactor": 1})
        cur, shape, scale = y, [n, oh, ow, cout], out_scale
    return b.save(path, [x], [cur])


def _case(path: Path, out_dir: Path, inputs: int, seed: int):
    """A modelcheck.ModelCase of the model compiled with --winograd, golden outputs, host checked."""
    from vbench.compiler import default_name
    from vbench.modelcheck import ModelCase, random_inputs

    compiled = compile_model(path, out_dir, default_name(path), winograd=True)
    assert any(l.kernel == "_WINOGRAD" for l in compiled.layers)
    golden, host = GoldenModel(path), HostModel(compiled.out_dir)
    data = random_inputs(compiled, inputs, seed)
    expected = [golden.run_bytes(d) for d in data]
    assert [host.run(d) for d in data] == expected
    return ModelCase(path.stem, path, compiled, data, [f"random#{i}" for i in range(inputs)], expected, 0, [],
                     inputs, 0)


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
@pytest.mark.parametrize("platform", sorted(BOARDS))
def test_chain_on_board_optimized(tmp_path, platform):
    from vbench.modelcheck import FirmwareJob, check_on_platform

    case = _case(_chain_model(tmp_path / "chain.tflite", seed=5), tmp_path / "chain", 3, seed=11)
    row = check_on_platform(FirmwareJob(case, platform, kernels="optimized"))
    assert row["error"] is None, row["error"]
    assert row["kernels"] == BOARDS[platform]
    assert row["bit_exact"] and row["mismatches"] == 0, row["mismatching_inputs"]


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
def test_ic_winograd_on_both_boards(tmp_path):
    """IC (ResNet-8) with --winograd: bit-exact with TFLite on the host (reference and both
    variants) and on both boards with the reference and the optimized kernels."""
    from vbench.modelcheck import FirmwareJob, run_jobs

    case = _case(MODELS / "ic_resnet8_int8.tflite", tmp_path / "ic", 2, seed=3)
    for v in VARIANTS[1:]:
        host = HostModel(case.compiled.out_dir, v)
        assert [host.run(d) for d in case.inputs] == case.expected, v
    jobs = [FirmwareJob(case, p, kernels=k) for p in sorted(BOARDS) for k in ("reference", "optimized")]
    rows = run_jobs(jobs, workers=min(2, os.cpu_count() or 1))
    for job, r in zip(jobs, rows):
        where = f"{job.platform} {job.kernels}"
        assert r["error"] is None, (where, r["error"])
        assert r["bit_exact"] and r["mismatches"] == 0, (where, r["mismatching_inputs"])
        assert r["layers"] == r["model_layers"], where
