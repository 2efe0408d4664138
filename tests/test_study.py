"""`vbench study`: the study table, per-layer rows and plots for precision (int8 vs float32),
data-reuse (reference vs optimized kernels) and kernels A B (two variants, one of them a
directory outside the repository), on the smallest workload (AD) to stay fast; the KWS accuracy
of both precisions on a slice of the dataset; the studies that are not written yet exit 2."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from vbench.cli import main
from vbench.errors import VbenchError
from vbench.studies import (FLOAT_RTOL, Config, align_layers, compile_cached, kws_accuracy, make_study, run_study,
                            write_study)

REPO = Path(__file__).resolve().parents[1]
KWS_SET = REPO.parent / "shared" / "datasets" / "kws01"   # never copied into the repo
BOARDS = ("nucleo-l4r5zi", "rv32imaf-mcu")
WORKERS = min(2, os.cpu_count() or 1)

needs_cross = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc")),
    reason="cross compilers not installed")


# ------------------------------------------------------------------ names and arguments

def test_study_definitions():
    p = make_study("precision")
    assert (p.a, p.b) == (Config("int8", "int8", None), Config("float32", "float32", None))
    d = make_study("data-reuse")
    assert (d.a.kernels, d.b.kernels, d.a.dtype, d.b.dtype) == (None, "optimized", "int8", "int8")
    k = make_study("kernels", ["reference", "cortex_m4_dsp"])
    assert (k.a.label, k.a.kernels, k.b.label, k.b.kernels) == ("reference", None, "cortex_m4_dsp", "cortex_m4_dsp")
    same = make_study("kernels", ["rv32", str(REPO / "firmware" / "kernels" / "rv32")])
    assert (same.a.label, same.b.label) == ("A_rv32", "B_rv32")


def test_encoding_study_definitions():
    sp = make_study("sparsity")
    assert [c.label for c in sp.configs] == ["dense", "sparse-kernels", "pruned50", "pruned75"]
    assert [(c.transform, c.weights) for c in sp.configs] == [
        (None, "dense"), (None, "sparse"), ("prune:0.5", "sparse"), ("prune:0.75", "sparse")]
    assert all(c.kernels == "optimized" and c.dtype == "int8" for c in sp.configs)
    assert [c.label for c in make_study("sparsity", sparsities=(0.9, 0.3)).configs][2:] == ["pruned30", "pruned90"]
    co = make_study("compression", kernels="reference")
    assert [(c.label, c.transform, c.weights, c.kernels) for c in co.configs] == [
        ("dense", None, "dense", None), ("clustered16", "cluster:16", "dense", None),
        ("palette16", "cluster:16", "palette", None)]
    assert [c.kernels for c in make_study("precision").configs] == [None, None]   # precision: reference by default
    assert [c.kernels for c in make_study("precision", kernels="optimized").configs] == ["optimized"] * 2
    wi = make_study("winograd")
    assert [(c.label, c.winograd) for c in wi.configs] == [("direct", False), ("winograd", True)]
    with pytest.raises(VbenchError, match="--kernels does not apply"):
        make_study("data-reuse", kernels="reference")
    with pytest.raises(VbenchError, match="sparsity levels must be in"):
        make_study("sparsity", sparsities=(0.5, 1.0))


def test_bad_arguments_rejected(capsys, tmp_path):
    with pytest.raises(VbenchError, match="unknown study 'speed'"):
        make_study("speed")
    with pytest.raises(VbenchError, match="takes two kernel variants"):
        make_study("kernels", ["reference"])
    with pytest.raises(VbenchError, match="takes no arguments"):
        make_study("precision", ["x"])
    with pytest.raises(VbenchError, match="kernel variant 'no_such_cpu' not found"):
        make_study("kernels", ["reference", "no_such_cpu"])
    with pytest.raises(VbenchError, match="kernel variant directory .* not found"):
        make_study("kernels", ["reference", str(tmp_path / "missing")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(VbenchError, match="has no .c files"):
        make_study("kernels", ["reference", str(tmp_path / "empty")])
    assert main(["study", "precision", "--workload", "ad,xyz", "--out", str(tmp_path / "o")]) == 2
    assert "unknown workload xyz" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_align_layers_pairs_by_op_and_shape():
    a = [{"op": "QUANTIZE", "output_shape": "1x4"}, {"op": "FULLY_CONNECTED", "output_shape": "1x8"},
         {"op": "FULLY_CONNECTED", "output_shape": "1x4"}, {"op": "DEQUANTIZE", "output_shape": "1x4"}]
    b = [{"op": "FULLY_CONNECTED", "output_shape": "1x8"}, {"op": "FULLY_CONNECTED", "output_shape": "1x4"}]
    pairs = align_layers(a, b)
    assert [(x and x["op"], y and y["op"]) for x, y in pairs] == [
        ("QUANTIZE", None), ("FULLY_CONNECTED", "FULLY_CONNECTED"), ("FULLY_CONNECTED", "FULLY_CONNECTED"),
        ("DEQUANTIZE", None)]


# ------------------------------------------------------------------ end to end on AD

def _check_common(result, study, out):
    recs = result["records"]
    for r in recs:
        assert r["error"] is None and r["fits"] and r["output_ok"], r
        assert r["layers"] and len(r["layers"]) == r["model_layers"]
        assert sum(x["cycles"] for x in r["layers"]) == r["cycles"] > 0
        assert abs(sum(x["energy_uj"] for x in r["layers"]) - r["energy_uj"]) < 1e-6 * r["energy_uj"]
        assert r["latency_ms"] == pytest.approx(r["cycles"] / r["clock_hz"] * 1e3)
        assert r["flash_bytes"] >= r["const_bytes"] and r["ram_bytes"] >= r["arena_bytes"] + r["stack_bytes"]
    files = write_study(out, result)
    names = {f.name for f in files}
    assert {"study.json", "study.md", "study.csv", "layers.csv", "comparisons.csv", "totals.png",
            "ratios.png"} <= names
    assert {f"layers_ad_{p}.png" for p in result["platforms"]} <= names
    assert all(f.stat().st_size > 0 for f in files)
    assert not [f for f in out.iterdir() if f.name.startswith(".")]   # no temporary files left
    data = json.loads((out / "study.json").read_text())
    assert data["study"] == study.name and len(data["records"]) == len(recs)
    md = (out / "study.md").read_text()
    assert f"# vbench study {study.name}" in md and "## Layers: ad on" in md
    header = (out / "study.csv").read_text().splitlines()[0].split(",")
    assert {"workload", "platform", "config", "cycles", "latency_ms", "energy_uj", "flash_bytes", "ram_bytes",
            "accuracy"} <= set(header)
    return data


@needs_cross
def test_precision_study_on_ad(tmp_path):
    study = make_study("precision")
    result = run_study(study, ["ad"], ["nucleo-l4r5zi"], workers=WORKERS, dataset=False, agreement_inputs=4)
    data = _check_common(result, study, tmp_path / "out")
    by = {r["config"]: r for r in data["records"]}
    assert by["int8"]["output_check"] == "bit-exact" and by["int8"]["dtype"] == "int8"
    assert by["float32"]["dtype"] == "float32" and by["float32"]["output_rel_error"] <= FLOAT_RTOL
    # 4-byte weights: about 4x the flash of the int8 model; the float arena is 4x too
    assert 3.5 < by["float32"]["flash_bytes"] / by["int8"]["flash_bytes"] < 4.2
    assert by["float32"]["arena_bytes"] == 4 * by["int8"]["arena_bytes"]
    (c,) = data["comparisons"]
    assert c["cycles_ratio"] == pytest.approx(by["float32"]["cycles"] / by["int8"]["cycles"])
    assert c["speedup"] == pytest.approx(1 / c["cycles_ratio"])
    ag = data["accuracy"]["ad"]["agreement"]
    assert ag["inputs"] == 4 and ag["reference"] == "float32" and 0 <= ag["configs"]["int8"]["score_rel_diff_mean"] < 0.2
    rows = data["layers"]
    assert len(rows) == 10 and all(r["op"] == "FULLY_CONNECTED" for r in rows)
    assert all(r["cycles_int8"] and r["cycles_float32"] for r in rows)


@needs_cross
def test_data_reuse_study_on_ad_both_boards(tmp_path):
    study = make_study("data-reuse")
    result = run_study(study, ["ad"], list(BOARDS), workers=WORKERS, dataset=False)
    data = _check_common(result, study, tmp_path / "out")
    kernels = {(r["platform"], r["config"]): r["kernels"] for r in data["records"]}
    assert kernels == {("nucleo-l4r5zi", "reference"): "reference", ("nucleo-l4r5zi", "optimized"): "cortex_m4_dsp",
                       ("rv32imaf-mcu", "reference"): "reference", ("rv32imaf-mcu", "optimized"): "rv32"}
    assert all(r["output_check"] == "bit-exact" for r in data["records"])
    for c in data["comparisons"]:
        assert c["speedup"] > 1.5 and c["energy_uj_ratio"] < 1.0   # operand reuse pays on both boards
    for r in data["records"]:   # fewer loads per MAC with the optimized kernels
        ref = next(x for x in data["records"] if x["platform"] == r["platform"] and x["config"] == "reference")
        if r["config"] == "optimized":
            assert r["loads_per_mac"] < ref["loads_per_mac"]


@needs_cross
def test_kernels_study_with_a_user_directory(tmp_path, capsys):
    """A variant outside the repository: a copy of the reference FULLY_CONNECTED replaces the
    reference one, so the outputs stay bit-exact and the cycle counts stay within a few percent."""
    mine = tmp_path / "my_kernels"
    mine.mkdir()
    shutil.copy(REPO / "firmware" / "kernels" / "reference" / "fully_connected.c", mine / "fully_connected.c")
    out = tmp_path / "out"
    rc = main(["study", "kernels", "reference", str(mine), "--workload", "ad", "--platform", "rv32imaf-mcu",
               "--out", str(out), "-j", str(WORKERS), "--no-plots"])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((out / "study.json").read_text())
    (a, b) = data["records"]
    assert (a["config"], b["config"]) == ("reference", "my_kernels") and b["kernels"] == str(mine)
    assert a["output_check"] == b["output_check"] == "bit-exact"
    assert b["cycles"] == pytest.approx(a["cycles"], rel=0.03)
    assert not (out / "totals.png").exists()
    printed = capsys.readouterr().out
    assert "my_kernels" in printed and "speedup" in printed


@pytest.mark.skipif(not (KWS_SET.is_dir() and any(KWS_SET.glob("*.bin"))), reason="KWS accuracy set not present")
def test_kws_accuracy_of_both_precisions_on_host():
    from vbench.compiler import HostModel
    from vbench.workloads import by_id

    hosts = {d: HostModel(compile_cached(by_id("kws").model_path(d), d).out_dir) for d in ("int8", "float32")}
    acc = kws_accuracy(hosts, KWS_SET, limit=60)
    assert acc["int8"]["files"] == acc["float32"]["files"] == 60
    assert acc["int8"]["accuracy"] > 0.75 and acc["float32"]["accuracy"] > 0.75
    assert acc["top1_agreement"] > 0.85


@needs_cross
def test_compression_study_on_ad(tmp_path):
    """Three configurations against one baseline: clustering alone keeps the speed and the flash,
    the palette encoding of the same model halves the filter flash and computes the same outputs."""
    study = make_study("compression")
    result = run_study(study, ["ad"], ["nucleo-l4r5zi"], workers=WORKERS, dataset=False, agreement_inputs=2)
    data = _check_common(result, study, tmp_path / "out")
    by = {r["config"]: r for r in data["records"]}
    assert set(by) == {"dense", "clustered16", "palette16"}
    assert all(r["output_check"] == "bit-exact" for r in by.values())   # each against TFLite on its own model
    assert by["clustered16"]["model"] == by["palette16"]["model"] != by["dense"]["model"]
    assert by["palette16"]["flash_bytes"] < by["dense"]["flash_bytes"] - 0.45 * 264_192
    assert abs(by["clustered16"]["flash_bytes"] - by["dense"]["flash_bytes"]) < 256
    assert {(c["a"], c["b"]) for c in data["comparisons"]} == {("dense", "clustered16"), ("dense", "palette16")}
    kinds = {r["kernel_palette16"] for r in data["layers"]}
    assert kinds == {"palette"} and all(r["cycles_ratio_clustered16"] is not None for r in data["layers"])
    acc = data["accuracy"]["ad"]
    assert acc["same_model_as"] == {"dense": "dense", "clustered16": "clustered16", "palette16": "clustered16"}
    assert set(acc["agreement"]["configs"]) == {"clustered16"} and acc["agreement"]["reference"] == "dense"
    md = (tmp_path / "out" / "study.md").read_text()
    assert "palette16 computes what clustered16 computes" in md


@needs_cross
def test_winograd_study_on_ic(tmp_path):
    study = make_study("winograd")
    result = run_study(study, ["ic"], ["nucleo-l4r5zi"], workers=WORKERS, dataset=False)
    by = {r["config"]: r for r in result["records"]}
    assert by["direct"]["output_check"] == by["winograd"]["output_check"] == "bit-exact"
    (c,) = result["comparisons"]
    assert c["speedup"] > 1.2 and c["flash_bytes_ratio"] > 1.5   # fewer multiplies, int16 transformed weights
    wino = [r for r in result["layers"] if r["kernel_winograd"] == "winograd"]
    assert len(wino) == 5 and all(r["op"] == "CONV_2D" and r["kernel_direct"] == "int8" for r in wino)
    assert not result["accuracy"]   # same arithmetic: nothing to measure beyond the bit-exact check


@needs_cross
def test_sparsity_study_on_ad(tmp_path):
    """Unpruned AD has no mostly-zero layer, so its sparse-kernels build is the dense build; the pruned
    models run every FULLY_CONNECTED layer on the sparse kernel, bit-exact with TFLite on the pruned
    model, and at 75% the encoded weights take far less flash."""
    study = make_study("sparsity")
    result = run_study(study, ["ad"], ["rv32imaf-mcu"], workers=WORKERS, dataset=False, agreement_inputs=2)
    data = _check_common(result, study, tmp_path / "out")
    by = {r["config"]: r for r in data["records"]}
    assert all(r["output_check"] == "bit-exact" for r in by.values())
    assert by["sparse-kernels"]["cycles"] == by["dense"]["cycles"]
    assert by["sparse-kernels"]["flash_bytes"] == by["dense"]["flash_bytes"]
    assert by["pruned75"]["flash_bytes"] < by["dense"]["flash_bytes"] - 100_000
    assert by["pruned75"]["cycles"] < by["pruned50"]["cycles"]
    for label in ("pruned50", "pruned75"):
        assert {r[f"kernel_{label}"] for r in data["layers"]} == {"sparse"}
    acc = data["accuracy"]["ad"]
    assert acc["same_model_as"]["sparse-kernels"] == "dense"
    assert set(acc["agreement"]["configs"]) == {"pruned50", "pruned75"}
