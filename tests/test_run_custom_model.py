"""`vbench run --model WORKLOAD=PATH --weights ...`: the EEMBC harness on a user's model (a pruned
copy written by transforms.prune_model) and with a weight encoding. The records name the model
actually run (file and sha256); bad models are refused before any simulation with the file
named; KWS accuracy through the harness on the pruned model equals what TFLite computes on it,
with dense and with sparse weights (the same outputs, file by file)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vbench.report import RECORD_KEYS

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
DATASETS = Path(os.environ.get("VBENCH_DATASETS", "/work/shared/datasets"))
KWS = DATASETS / "kws01"
KWS_FILES = 20


def vbench(*args):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def only_record(out: Path) -> dict:
    records = json.loads((out / "results.json").read_text())["results"]
    assert len(records) == 1
    return records[0]


def test_run_pruned_ad_model_records_the_model_it_ran(tmp_path):
    from vbench.compiler.transforms import prune_model
    from vbench.harness.build import build_harness
    from vbench.platform import load_platform

    pruned = tmp_path / "ad_p50.tflite"
    report = prune_model(MODELS / "ad01_int8.tflite", pruned, 0.5)
    assert report.sha256 == sha256(pruned) != sha256(MODELS / "ad01_int8.tflite")
    r = vbench("run", "--workload", "ad", "--mode", "performance", "--model", f"ad={pruned}",
               "--out", tmp_path / "out", "--jobs", "1", "--no-plots")
    assert r.returncode == 0, r.stderr[-2000:]
    rec = only_record(tmp_path / "out")
    assert all(k in rec for k in RECORD_KEYS)
    assert rec["model_sha256"] == sha256(pruned) and rec["model_file"] == str(pruned.resolve())
    assert rec["weights"] == "dense" and rec["winograd"] is False and rec["model_id"] == "ad01"
    assert rec["exact"] and rec["latency_ms"] > 0 and len(rec["layers"]) == 10
    # the pruned weights were linked: not the firmware of the workload's own model
    own = build_harness("ad01", load_platform("nucleo-l4r5zi"), variant=rec["kernels"])
    assert rec["firmware_sha256"] != sha256(own)
    assert str(pruned.resolve()) in (tmp_path / "out" / "report.md").read_text()


def test_run_refuses_bad_models_before_simulating(tmp_path):
    from vbench.cli.run_cmd import parse_models
    from vbench.errors import VbenchError

    missing = tmp_path / "nope.tflite"
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer" * 8)
    kws = MODELS / "kws_ref_model.tflite"
    for spec, named, why in [(f"ad={missing}", str(missing), "not found"),
                             (f"ad={kws}", str(kws), "input of 490 and output of 12 elements"),  # wrong sizes
                             (f"ad={garbage}", str(garbage), "")]:
        r = vbench("run", "--workload", "ad", "--mode", "performance", "--model", spec, "--out", tmp_path / "out")
        assert r.returncode == 2 and named in r.stderr and why in r.stderr, (spec, r.stderr[-800:])
        assert "jobs (" not in r.stderr  # refused before the suite starts
    assert not (tmp_path / "out").exists()
    for spec, why in [(f"ad={MODELS / 'ad01_fp32.tflite'}", "ad01_fp32.tflite: input FLOAT32"),
                      (f"kws={MODELS / 'ad01_int8.tflite'}", "ad01_int8.tflite: input of 640"),
                      (f"xyz={MODELS / 'ad01_int8.tflite'}", "unknown workload 'xyz'"),
                      (f"vww={MODELS / 'vww_96_int8.tflite'}", "workload vww is not run"),
                      (str(MODELS / "ad01_int8.tflite"), "expected WORKLOAD=PATH")]:
        with pytest.raises(VbenchError, match=why):
            parse_models([spec], ["ad", "kws"])
    with pytest.raises(VbenchError, match="a second model for ad"):
        parse_models([f"ad={MODELS / 'ad01_int8.tflite'}"] * 2, ["ad"])
    assert parse_models([f"ad={MODELS / 'ad01_int8.tflite'}"], ["ad"]) == {"ad": str(MODELS / "ad01_int8.tflite")}


def _reference_line(q: np.ndarray) -> list[float]:
    """What the reference KWS port prints for an int8 softmax output: 3 truncated decimals
    (as tests/test_harness_accuracy.py)."""
    p = (q.astype(np.int32) + 128).astype(np.float32) * np.float32(1 / 256)
    return [float(f"0.{int(v * np.float32(10))}{int(v * np.float32(100)) % 10}{int(v * np.float32(1000)) % 10}")
            for v in p]


@pytest.mark.skipif(not (KWS / "y_labels.csv").is_file() or not (KWS / "tst_000000_Stop_7.bin").is_file(),
                    reason="kws01 dataset files absent")
def test_pruned_kws_accuracy_dense_and_sparse_equal_tflite(tmp_path):
    from vbench.benchmark import _predictions_sha256
    from vbench.compiler.transforms import prune_model
    from vbench.golden import GoldenModel
    from vbench.harness.build import compile_workload_model
    from vbench.harness.dataset import read_labels

    pruned = tmp_path / "kws_p50.tflite"
    prune_model(MODELS / "kws_ref_model.tflite", pruned, 0.5)
    records = {}
    for weights in ("dense", "sparse"):
        out = tmp_path / weights
        r = vbench("run", "--workload", "kws", "--mode", "accuracy", "--dataset", DATASETS,
                   "--accuracy-limit", KWS_FILES, "--model", f"kws={pruned}", "--weights", weights,
                   "--out", out, "--jobs", "2", "--no-plots")
        assert r.returncode == 0, r.stderr[-2000:]
        records[weights] = only_record(out)
    dense, sparse = records["dense"], records["sparse"]
    # TFLite on the pruned model, printed as the harness prints it
    golden = GoldenModel(pruned)
    rows = read_labels(KWS)[:KWS_FILES]
    outs = [golden.run((KWS / row.file).read_bytes()).reshape(-1) for row in rows]
    expected = _predictions_sha256([{"file": row.file, "results": _reference_line(o)} for row, o in zip(rows, outs)])
    top1 = sum(int(np.argmax(o)) == row.label for row, o in zip(rows, outs)) / KWS_FILES
    for weights, rec in records.items():
        assert all(k in rec for k in RECORD_KEYS)
        assert rec["mode"] == "accuracy" and rec["files"] == KWS_FILES and rec["weights"] == weights
        assert rec["model_sha256"] == sha256(pruned) and rec["model_file"] == str(pruned.resolve())
        assert rec["predictions_sha256"] == expected, weights
        assert rec["accuracy"] == pytest.approx(top1)
    assert sparse["accuracy"] == dense["accuracy"] and sparse["predictions_sha256"] == dense["predictions_sha256"]
    assert sparse["firmware_sha256"] != dense["firmware_sha256"]
    # the sparse build really runs sparse kernels (every pruned layer is >= 50% zeros)
    summary = json.loads(next(compile_workload_model("kws01", pruned, weights="sparse").glob("*_model.json")).read_text())
    assert any(layer["kernel"] == "_SPARSE" for layer in summary["layers"])
    print(f"\npruned 50% KWS: top-1 {dense['accuracy']:.3f} on {KWS_FILES} files, dense and sparse weights")


def test_check_models_with_sparse_weights_is_bit_exact_on_both_boards(tmp_path):
    from vbench.compiler.transforms import prune_model

    pruned = tmp_path / "ad_p75.tflite"
    prune_model(MODELS / "ad01_int8.tflite", pruned, 0.75)
    rows = {}
    for weights in ("dense", "sparse"):
        r = vbench("check-models", "--model", pruned, "--weights", weights, "--kernels", "optimized",
                   "--inputs", "2", "--no-dataset", "--json", "-j", "2")
        assert r.returncode == 0, r.stderr[-2000:]
        rows[weights] = json.loads(r.stdout)
    for weights, got in rows.items():
        assert [row["platform"] for row in got] == ["nucleo-l4r5zi", "rv32imaf-mcu"]
        assert all(row["bit_exact"] and row["host_bit_exact"] and row["weights"] == weights for row in got)
    # the encoding was compiled in: other kernels, other instruction counts, smaller weights
    for dense, sparse in zip(rows["dense"], rows["sparse"]):
        assert sparse["instructions"] != dense["instructions"] and sparse["weight_bytes"] < dense["weight_bytes"]
