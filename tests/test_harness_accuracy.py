"""Accuracy mode end to end: the KWS harness firmware on the virtual boards, driven by the runner
over the real kws01 files, must print exactly what the TFLite reference interpreter computes
(vbench.golden) and score the same top-1. A subset by default (VBENCH_KWS_FILES=1000 for all);
skipped when /work/shared/datasets/kws01 is absent (the files carry no license to commit)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from vbench.harness.dataset import read_labels

DATASETS = Path(os.environ.get("VBENCH_DATASETS", "/work/shared/datasets"))
KWS = DATASETS / "kws01"
MODELS = Path(__file__).resolve().parent.parent / "models"
FILES = int(os.environ.get("VBENCH_KWS_FILES", "40"))

pytestmark = pytest.mark.skipif(not (KWS / "y_labels.csv").is_file() or not (KWS / "tst_000000_Stop_7.bin").is_file(),
                                reason="kws01 dataset files absent")


def _reference_line(q: np.ndarray) -> list[float]:
    """What the reference KWS port prints for an int8 softmax output: 3 truncated decimals."""
    p = (q.astype(np.int32) + 128).astype(np.float32) * np.float32(1 / 256)
    return [float(f"0.{int(v * np.float32(10))}{int(v * np.float32(100)) % 10}{int(v * np.float32(1000)) % 10}")
            for v in p]


@pytest.mark.parametrize("platform, files", [("nucleo-l4r5zi", FILES), ("rv32imaf-mcu", FILES)])
def test_kws_accuracy_equals_the_reference_interpreter(platform, files):
    from vbench.firmware import toolchain_of
    from vbench.golden import GoldenModel
    from vbench.harness.modes import VirtualTarget, run_mode
    from vbench.platform import load_platform

    if shutil.which(toolchain_of(load_platform(platform)).gcc) is None:
        pytest.skip(f"cross compiler for {platform} not installed")
    seen = []
    t0 = time.perf_counter()
    r = run_mode("accuracy", VirtualTarget("kws01", platform), DATASETS, limit=files, workers=2,
                 progress=lambda done, total, name: seen.append(done))
    wall = time.perf_counter() - t0
    assert r["files"] == files and sorted(seen) == list(range(1, files + 1))
    golden = GoldenModel(MODELS / "kws_ref_model.tflite")
    rows = read_labels(KWS)[:files]
    correct = 0
    for row, pred in zip(rows, r["predictions"]):
        assert pred["file"] == row.file and pred["label"] == row.label
        out = golden.run((KWS / row.file).read_bytes()).reshape(-1)
        assert pred["results"] == _reference_line(out), row.file
        correct += int(np.argmax(out)) == row.label
    assert r["top1_percent"] == pytest.approx(100.0 * correct / files)
    assert r["quality_target"]["metric"] == "top1_percent" and r["quality_target"]["target"] == 90.0
    print(f"\n{platform}: kws01 top-1 {r['top1_percent']:.1f}% on {files} files, {wall:.1f} s wall")
