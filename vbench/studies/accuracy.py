"""Accuracy where it can be measured, on host builds of the same kernels (bit-exact with the
boards): top-1 on the KWS accuracy set, and how each model's outputs follow the reference model's on
random inputs."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench.errors import VbenchError
from vbench.studies.models import input_codes, model_input, output_values
from vbench.workloads import by_id


def kws_dir(dataset: Path | None) -> Path | None:
    from vbench.modelcheck import default_dataset_dir

    if dataset is None:
        return default_dataset_dir()
    dataset = Path(dataset)
    if (dataset / "kws01" / "y_labels.csv").is_file():
        return dataset / "kws01"
    if (dataset / "y_labels.csv").is_file():
        return dataset
    raise VbenchError(f"--dataset {dataset}: no kws01/y_labels.csv (EEMBC layout) or y_labels.csv in it")


def kws_accuracy(hosts: dict[str, Any], folder: Path, limit: int | None,
                 dtypes: dict[str, str] | None = None, baseline: str | None = None,
                 steps: Callable[[int, int, str], None] | None = None) -> dict[str, Any]:
    """Top-1 accuracy of each host model (keyed by configuration label; `dtypes` maps a label to its
    model's dtype, default: the label itself, "int8" or "float32") on the KWS accuracy files (int8
    features; a float model gets them dequantized with the int8 model's input quantization).
    top1_agreement: the share of files on which every model picks the same class;
    agreement_with_baseline[label]: the share on which that model picks the baseline's class.
    steps(done, total, file) after each file (a bar on a terminal: a full set takes minutes)."""
    dtypes = dtypes or {label: label for label in hosts}
    baseline = baseline or next(iter(hosts))
    rows = []
    with open(folder / "y_labels.csv", newline="") as f:
        for r in csv.reader(f):
            if len(r) >= 3 and (folder / r[0]).is_file():
                rows.append((r[0], int(r[2])))
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return {}
    correct = {label: 0 for label in hosts}
    with_base = {label: 0 for label in hosts}
    same = 0
    for i, (name, label) in enumerate(rows, 1):
        codes = np.frombuffer((folder / name).read_bytes(), np.int8)
        top = {}
        for cfg, host in hosts.items():
            d = dtypes[cfg]
            top[cfg] = int(np.argmax(output_values("kws", d, host.run(model_input("kws", d, codes)))))
            correct[cfg] += top[cfg] == label
        same += len(set(top.values())) == 1
        for cfg in hosts:
            with_base[cfg] += top[cfg] == top[baseline]
        if steps:
            steps(i, len(rows), name)
    out: dict[str, Any] = {cfg: {"accuracy": correct[cfg] / len(rows), "files": len(rows)} for cfg in hosts}
    out["top1_agreement"] = same / len(rows)
    out["baseline"] = baseline
    out["agreement_with_baseline"] = {cfg: with_base[cfg] / len(rows) for cfg in hosts if cfg != baseline}
    return out


def agreement(workload: str, hosts: dict[str, Any], count: int, seed: int, dtypes: dict[str, str] | None = None,
              reference: str | None = None) -> dict[str, Any]:
    """How each host model's output follows the reference model's (`reference`: a label of hosts;
    default "float32" when present, else the first) on `count` random inputs: top-1 agreement for
    classifiers; for AD the relative difference of the anomaly score (mean squared reconstruction
    error, the score the benchmark uses). Returns {"inputs", "reference", "configs": {label: ...}}."""
    dtypes = dtypes or {label: label for label in hosts}
    reference = reference or ("float32" if "float32" in hosts else next(iter(hosts)))
    others = [label for label in hosts if label != reference]
    top1 = {label: 0 for label in others}
    errors: dict[str, list[float]] = {label: [] for label in others}
    score_diffs: dict[str, list[float]] = {label: [] for label in others}
    for codes in input_codes(workload, count, seed + 1):
        y = {label: output_values(workload, dtypes[label], h.run(model_input(workload, dtypes[label], codes)))
             for label, h in hosts.items()}
        ref = y[reference]
        x = output_values(workload, "float32", model_input(workload, "float32", codes))
        for label in others:
            errors[label].append(float(np.max(np.abs(y[label] - ref))) / (float(np.max(np.abs(ref))) or 1.0))
            if by_id(workload).classifier:
                top1[label] += int(np.argmax(y[label]) == np.argmax(ref))
            else:
                s_other, s_ref = float(np.mean((x - y[label]) ** 2)), float(np.mean((x - ref) ** 2))
                score_diffs[label].append(abs(s_other - s_ref) / (abs(s_ref) or 1.0))
    configs: dict[str, Any] = {}
    for label in others:
        entry: dict[str, Any] = {"max_output_error": max(errors[label]),
                                 "mean_output_error": float(np.mean(errors[label]))}
        if by_id(workload).classifier:
            entry["top1_agreement"] = top1[label] / count
        else:
            entry["score_rel_diff_mean"] = float(np.mean(score_diffs[label]))
            entry["score_rel_diff_max"] = float(np.max(score_diffs[label]))
        configs[label] = entry
    return {"inputs": count, "reference": reference, "configs": configs}
