"""Harness scoring: ROC AUC (checked by hand and against MLCommons' sklearn-computed AD figures),
top-1 over normalised vectors, and the EEMBC dataset layout."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vbench.errors import VbenchError
from vbench.harness import dataset as ds
from vbench.harness.metrics import normalise, roc_auc, roc_auc_ovr, top1_percent

AD_SCORES = Path("/work/shared/datasets/ad01/reference_scores")


def test_auc_hand_checked():
    # Pairs (positive, negative): 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4.
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    # A tie between a positive and a negative counts one half: (0.5 + 1 + 1 + 1) / 4.
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875
    assert roc_auc([1, 0], [2.0, 1.0]) == 1.0 and roc_auc([1, 0], [1.0, 2.0]) == 0.0


def test_auc_needs_both_classes():
    with pytest.raises(VbenchError, match="labels 0 and 1"):
        roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(VbenchError, match="2 labels but 3 scores"):
        roc_auc([0, 1], [0.2, 0.3, 0.4])


@pytest.mark.skipif(not AD_SCORES.is_dir(), reason="shared ad01 reference scores absent")
@pytest.mark.parametrize("machine", ["01", "02", "03", "04"])
def test_auc_matches_mlcommons_sklearn_figures(machine):
    """MLCommons computed per-machine AUC with sklearn over all ToyCar test clips; the same scores
    must give the same AUC here (label: 'anomaly' in the clip name)."""
    rows = list(csv.reader(open(AD_SCORES / f"tflite_quant_fullint_micro_anomaly_score_ToyCar_id_{machine}.csv")))
    labels = [1 if name.startswith("anomaly") else 0 for name, _ in rows]
    scores = [float(s) for _, s in rows]
    published = {r[0]: float(r[1]) for r in csv.reader(open(AD_SCORES / "tflite_quant_fullint_micro_result.csv"))
                 if len(r) > 1 and r[0].isdigit()}
    assert roc_auc(labels, scores) == pytest.approx(published[machine], abs=1e-12)


def test_top1_normalises_and_takes_first_maximum():
    vectors = [[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [0.0, 0.0, 3.0]]
    assert top1_percent([1, 0, 2], vectors) == 100.0
    assert top1_percent([1, 1, 2], vectors) == pytest.approx(200 / 3)
    with pytest.raises(VbenchError, match="sums to 0"):
        normalise([0.0, 0.0])


def test_ovr_auc_two_and_more_classes():
    assert roc_auc_ovr([0, 1], [[0.9, 0.1], [0.2, 0.8]]) == 1.0
    perfect = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert roc_auc_ovr([0, 1, 2], perfect) == 1.0


def test_labels_windows_and_layout(tmp_path):
    folder = tmp_path / "ad01"
    folder.mkdir()
    (folder / "y_labels.csv").write_text("a.bin,2,1,2560,512\nb.bin,2,0,2560,512\n")
    rows = ds.read_labels(folder)
    assert rows[0] == ds.LabelRow("a.bin", 2, 1, 2560, 512)
    assert ds.dataset_folder(tmp_path, "ad01") == folder
    assert ds.dataset_folder(folder, "ad01") == folder
    data = bytes(range(256)) * 400  # 102,400 bytes, an AD file
    wins = ds.windows(rows[0], data)
    assert len(wins) == 196 and all(len(w) == 2560 for w in wins)
    assert wins[1] == data[512:512 + 2560] and wins[-1] == data[-2560:]
    assert ds.windows(rows[0], data, first_only=True) == [data[:2560]]
    with pytest.raises(VbenchError, match="kws01/y_labels.csv"):
        ds.dataset_folder(tmp_path, "kws01")
    (folder / "y_labels.csv").write_text("a.bin,two,1\n")
    with pytest.raises(VbenchError, match=r"y_labels.csv:1: expected"):
        ds.read_labels(folder)
