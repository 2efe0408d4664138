"""Compiler internals: TFLite quantization math, arena planning, C emission, kernel
variant selection, cross-compilation for the two firmware targets, layer markers, CLI."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vbench.cli import main as cli_main
from vbench.compiler import compile_model, load_graph
from vbench.compiler.emit import WEIGHTS_SECTION, c_float
from vbench.compiler.fold import (activation_range, fold_graph, quantize_multiplier,
                                  round_half_away, softmax_params)
from vbench.compiler.host_build import HostModel
from vbench.firmware import firmware_sources
from vbench.firmware.kernels import kernel_include_dirs, kernel_sources
from vbench.compiler.planner import plan_arena
from vbench.compiler.tflite_reader import Tensor
from vbench.errors import VbenchError

MODELS = Path(__file__).resolve().parents[1] / "models"
INT8_MODELS = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite",
               "ic": "ic_resnet8_int8.tflite", "ad": "ad01_int8.tflite"}
OPS = ["add", "average_pool_2d", "conv_2d", "depthwise_conv_2d", "dequantize", "fully_connected",
       "max_pool_2d", "quantize", "reshape", "softmax"]
TARGETS = {
    "arm": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
            "-mthumb", "-O2", "--specs=picolibc.specs"],
    "rv32": ["riscv64-unknown-elf-gcc", "-march=rv32imaf", "-mabi=ilp32f", "-O2",
             "--specs=picolibc.specs"],
}

FP_MNEMONIC = {"arm": lambda m: m.startswith("v"),  # VFP (Cortex-M4 has no other v* ops)
               "rv32": lambda m: m.startswith("f") and m not in ("fence", "fence.i")}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled")
    return {k: compile_model(MODELS / v, out / k, k) for k, v in INT8_MODELS.items()}


# ------------------------------------------------------------------ quantization math

def test_round_half_away():
    assert [round_half_away(v) for v in (2.5, -2.5, 0.5, -0.5, 1.4999, -1.5001)] == [3, -3, 1, -1, 1, -2]


def test_quantize_multiplier_matches_tflite_definition():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (1610612736, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0 ** -40) == (0, 0)              # shift < -31 -> zero
    assert quantize_multiplier(1.0 - 2.0 ** -40) == (1 << 30, 1)  # rounds up to 2^31 -> halve
    assert quantize_multiplier(2.0 ** 40, single_rounding=True) == (2**31 - 1, 30)
    for real in np.random.default_rng(0).uniform(1e-6, 4.0, 200):
        m, s = quantize_multiplier(float(real))
        assert 2**30 <= m < 2**31
        assert abs(m * 2.0 ** (s - 31) - real) <= 2.0 ** (s - 32)


def test_activation_range_uses_output_quantization():
    t = Tensor(0, "y", (1,), "INT8", None, np.array([0.03], np.float32), np.array([-100]))
    assert activation_range(0, t) == (-128, 127)
    assert activation_range(1, t) == (-100, 127)
    assert activation_range(3, t) == (-100, 100)   # 6 / 0.03 = 200 -> -100 + 200 -> 100
    assert activation_range(2, t) == (-128, -67)   # RELU_N1_TO_1: -1 -> -133 (clamped), 1 -> -67


def test_softmax_constants():
    multiplier, left_shift, diff_min = softmax_params(1.0, 0.144693)
    real = 0.144693 * 2**26
    assert abs(multiplier * 2.0 ** (left_shift - 31) - real) < 2.0 ** (left_shift - 31)
    assert diff_min == -math.floor(31 * 2**26 / 2**left_shift)


def test_rounding_profiles(compiled):
    graph = load_graph(MODELS / INT8_MODELS["ic"])
    litert = {l.op: l.params.get("flags", 0) & 2 for l in fold_graph(graph, "litert")}
    double = {l.op: l.params.get("flags", 0) & 2 for l in fold_graph(graph, "double")}
    assert litert["FULLY_CONNECTED"] and not litert["CONV_2D"]
    assert not double["FULLY_CONNECTED"]


def test_double_rounding_build_runs(tmp_path):
    """--rounding double (TFLite Micro / CMSIS-NN) only changes FC rounding: outputs stay
    within a couple of LSB of the LiteRT golden model, and do differ somewhere."""
    from vbench.golden import GoldenModel
    model = MODELS / INT8_MODELS["ad"]
    host = HostModel(compile_model(model, tmp_path, "ad", rounding="double").out_dir)
    golden = GoldenModel(model)
    rng = np.random.default_rng(7)
    differing = 0
    for _ in range(10):
        data = rng.integers(-128, 128, 640, dtype=np.int8).tobytes()
        ours = np.frombuffer(host.run(data), np.int8).astype(int)
        theirs = golden.run(data).reshape(-1).astype(int)
        assert np.abs(ours - theirs).max() <= 3
        differing += int(np.any(ours != theirs))
    assert differing > 0


def test_zero_point_folded_only_where_exact(compiled):
    ic = {l.index: l for l in compiled["ic"].layers}
    assert "zp folded" in ic[6].notes        # 1x1 stride-2 conv: no tap in the padding
    assert "zp folded" not in ic[1].notes    # 3x3 SAME conv: border taps are skipped
    assert all("zp folded" in l.notes for l in compiled["ad"].layers)


# ------------------------------------------------------------------ planner

@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_arena_plan(key):
    graph = load_graph(MODELS / INT8_MODELS[key])
    layers = fold_graph(graph)
    plan = plan_arena(graph, layers)
    assert plan.lower_bound <= plan.arena_bytes <= plan.sum_bytes
    assert plan.arena_bytes == plan.lower_bound  # all four reach the peak-live bound
    for i, a in enumerate(plan.buffers):
        assert a.offset % 16 == 0 and a.offset + a.size <= plan.arena_bytes
        for b in plan.buffers[i + 1:]:
            live_together = a.first <= b.last and b.first <= a.last
            assert not (live_together and a.offset < b.offset + b.size and b.offset < a.offset + a.size)
    for layer in layers:
        if layer.op == "RESHAPE":
            assert plan.offsets[layer.inputs[0]] == plan.offsets[layer.output]


def test_lower_bounds_match_research(compiled):
    # Peak live activation bytes, weight bytes and MACs: docs/sources.md §Models 1.
    expected = {"kws": 16000, "vww": 55296, "ic": 49152, "ad": 768}
    assert {k: c.arena_lower_bound for k, c in compiled.items()} == expected
    weights = {"kws": 24368, "vww": 219064, "ic": 78744, "ad": 270880}
    assert {k: c.weight_bytes for k, c in compiled.items()} == weights
    macs = {"kws": 2656768, "vww": 7489664, "ic": 12501632, "ad": 264192}
    assert {k: c.total_macs for k, c in compiled.items()} == macs


# ------------------------------------------------------------------ emitted C

def test_emitted_files(compiled):
    kws = compiled["kws"]
    source = kws.c_file.read_text()
    assert f'__attribute__((section("{WEIGHTS_SECTION}"), aligned(16)))' in source
    assert source.count("VB_WEIGHTS = {") >= 9 + 9  # filters and biases of the 9 conv layers
    assert "static const vb_layer_t vb_layers[13]" in source
    assert "#define VB_MODEL_ARENA_BYTES 16000u" in kws.h_file.read_text()
    summary = json.loads(kws.summary_file.read_text())
    assert summary["arena_bytes"] == kws.arena_bytes and len(summary["layers"]) == 13
    assert not [p for p in kws.out_dir.iterdir() if p.name.startswith(".")]  # no temp files left
    for value in (0.5847029089927673, 1.0 / 255, 0.00390625, 1e-30):
        literal = c_float(value)  # exact float32 value as a C99 hex literal
        assert literal.endswith("f") and float.fromhex(literal[:-1]) == float(np.float32(value))


def test_recompile_is_deterministic(compiled, tmp_path):
    again = compile_model(MODELS / INT8_MODELS["kws"], tmp_path, "kws")
    assert again.c_file.read_bytes() == compiled["kws"].c_file.read_bytes()


# ------------------------------------------------------------------ kernel variants

def test_reference_kernels_one_file_per_op():
    assert sorted(p.stem for p in kernel_sources(None)) == OPS
    assert kernel_sources("reference") == kernel_sources(None)


def test_variant_replaces_same_basename(tmp_path):
    kernels = tmp_path / "kernels"
    (kernels / "reference").mkdir(parents=True)
    for op in OPS:
        (kernels / "reference" / f"{op}.c").write_text("")
    (kernels / "fastcpu").mkdir()
    (kernels / "fastcpu" / "conv_2d.c").write_text("")
    (kernels / "fastcpu" / "fast_helpers.c").write_text("")
    chosen = kernel_sources("fastcpu", kernels)
    assert kernels / "fastcpu" / "conv_2d.c" in chosen
    assert kernels / "reference" / "conv_2d.c" not in chosen
    assert kernels / "reference" / "softmax.c" in chosen
    assert chosen[-1] == kernels / "fastcpu" / "fast_helpers.c"
    assert len(chosen) == len(OPS) + 1
    assert kernel_include_dirs("fastcpu", kernels) == [kernels / "fastcpu", kernels]
    with pytest.raises(VbenchError, match="available variants: fastcpu"):
        kernel_sources("slowcpu", kernels)


# ------------------------------------------------------------------ firmware targets

@pytest.mark.parametrize("target", sorted(TARGETS))
def test_cross_compiles_warning_free(compiled, tmp_path, target):
    cmd = TARGETS[target]
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed")
    fw = firmware_sources(compiled["kws"].out_dir)
    objdump = cmd[0].replace("gcc", "objdump")
    nm = cmd[0].replace("gcc", "nm")
    for src in fw.sources:
        obj = tmp_path / f"{src.stem}.o"
        proc = subprocess.run([*cmd, "-std=c99", "-Wall", "-Wextra", "-Werror", *fw.cflags(),
                               "-c", str(src), "-o", str(obj)], capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stderr, f"{src.name}: {proc.stderr}"
        undefined = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True).stdout
        assert not any(s in undefined for s in ("__aeabi_d", "df2", "df3", "dfsi", "sidf")), \
            f"{src.name} needs software double precision: {undefined}"
        if src.parent.name == "reference" and src.stem not in ("quantize", "dequantize"):
            # int8 kernels are integer-only: no FPU instruction, no float helper
            disasm = subprocess.run([objdump, "-d", str(obj)], capture_output=True, text=True).stdout
            mnemonics = [line.split("\t")[2].split()[0] for line in disasm.splitlines()
                         if line.count("\t") >= 2 and line.split("\t")[2].strip()]
            fp = [m for m in mnemonics if FP_MNEMONIC[target](m)]
            assert not fp and "__aeabi_f" not in undefined, f"{src.name} uses floating point: {fp[:5]}"
    model_obj = tmp_path / "kws_model.o"
    sections = subprocess.run([objdump, "-h", str(model_obj)], capture_output=True, text=True).stdout
    assert WEIGHTS_SECTION in sections


# ------------------------------------------------------------------ runtime behaviour

def test_layer_markers_and_intermediates(compiled):
    host = HostModel(compiled["ic"].out_dir)
    outputs = host.run_layers(bytes(3072))
    assert sorted(outputs) == list(range(16))
    assert outputs[15] == host.output()
    assert len(outputs[3]) == 32 * 32 * 16


def test_cli_compile(tmp_path, capsys):
    assert cli_main(["compile", str(MODELS / INT8_MODELS["ad"]), "-o", str(tmp_path), "--name", "ad"]) == 0
    out = capsys.readouterr().out
    assert "FULLY_CONNECTED" in out and "arena     768 B (lower bound 768 B" in out
    assert (tmp_path / "ad_model.c").exists()
    assert cli_main(["compile", str(MODELS / "ad01_fp32.tflite"), "-o", str(tmp_path)]) == 2
    assert "is a float model" in capsys.readouterr().err


def test_encoded_kernels_are_linked_only_for_models_that_use_them(tmp_path):
    from vbench.compiler import compile_model
    from vbench.firmware.model_sources import model_encodings

    dense = {p.name for p in kernel_sources("cortex_m4_dsp")}
    assert not any(n.endswith(("_sparse.c", "_palette.c", "_winograd.c")) for n in dense)
    with_sparse = {p.name for p in kernel_sources("cortex_m4_dsp", encodings={"sparse"})}
    assert with_sparse - dense == {"conv_2d_sparse.c", "fully_connected_sparse.c"}
    with pytest.raises(VbenchError, match="unknown weight encoding"):
        kernel_sources(None, encodings={"zip"})
    compile_model(MODELS / INT8_MODELS["ic"], tmp_path / "ic", "ic", winograd=True)
    compile_model(MODELS / INT8_MODELS["ic"], tmp_path / "plain", "ic")
    assert model_encodings(tmp_path / "ic") == {"winograd"} and model_encodings(tmp_path / "plain") == set()
    fw = firmware_sources(tmp_path / "ic")
    assert fw.defines.get("VB_WINOGRAD") == "1" and "conv_2d_winograd.c" in {p.name for p in fw.sources}
    plain = firmware_sources(tmp_path / "plain")
    assert "VB_WINOGRAD" not in plain.defines and "conv_2d_winograd.c" not in {p.name for p in plain.sources}
