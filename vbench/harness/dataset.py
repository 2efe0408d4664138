"""MLPerf Tiny evaluation data in the EEMBC runner layout (docs/sources.md §Harness 4):
`<dataset_dir>/<model id>/y_labels.csv` plus the files it lists, in the same folder.

y_labels.csv has no header; its fields are file, classes, class[, bytes_to_send, stride]. Anomaly
detection files are cut into windows of bytes_to_send bytes every stride bytes (2560 / 512: 196
windows per 102,400-byte file); performance and energy modes send only the first window.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vbench.errors import VbenchError
from vbench.workloads import MODEL_IDS, by_model_id


@dataclass(frozen=True)
class LabelRow:
    file: str
    classes: int
    label: int
    bytes_to_send: int | None = None
    stride: int | None = None


def dataset_folder(dataset_dir: str | Path, model_id: str) -> Path:
    """`dataset_dir/<model_id>`, or `dataset_dir` itself when it is that folder."""
    root = Path(dataset_dir)
    for candidate in (root / model_id, root):
        if (candidate / "y_labels.csv").is_file() and (candidate == root / model_id or root.name == model_id):
            return candidate
    raise VbenchError(f"{root / model_id / 'y_labels.csv'}: not found (expected the EEMBC layout "
                      f"DIR/<model id>/y_labels.csv with the listed files beside it)")


def workload_classes(model_id: str) -> int:
    """Classes a label of `model_id` ranges over: the model's outputs for a classifier, 2 (normal,
    anomalous) for anomaly detection."""
    spec = by_model_id(model_id)
    return spec.results if spec.classifier else 2


def read_labels(folder: str | Path) -> list[LabelRow]:
    """The rows of `folder`/y_labels.csv. Each label must lie in 0..classes-1, the classes of the
    workload the folder is named after (kws01: 12, ...), whose count the `classes` column must
    repeat; in a folder with another name, the row's own `classes` column is the range."""
    path = Path(folder) / "y_labels.csv"
    model_id = Path(folder).name
    expected = workload_classes(model_id) if model_id in MODEL_IDS else None
    rows = []
    try:
        with open(path, newline="") as f:
            for lineno, rec in enumerate(csv.reader(f), 1):
                if not rec or not rec[0].strip():
                    continue
                try:
                    rows.append(LabelRow(rec[0].strip(), int(rec[1]), int(rec[2]),
                                         int(rec[3]) if len(rec) > 3 and rec[3].strip() else None,
                                         int(rec[4]) if len(rec) > 4 and rec[4].strip() else None))
                except (IndexError, ValueError):
                    raise VbenchError(f"{path}:{lineno}: expected 'file,classes,class[,bytes,stride]', "
                                      f"got '{','.join(rec)}'") from None
                _check_label(path, lineno, rows[-1], model_id, expected)
    except OSError as exc:
        raise VbenchError(f"{path}: cannot read: {exc.strerror}") from None
    if not rows:
        raise VbenchError(f"{path}: no entries")
    return rows


def _check_label(path: Path, lineno: int, row: LabelRow, model_id: str, expected: int | None) -> None:
    """A label outside the classes would score as a silent miss (0 % accuracy): refuse it."""
    where = f"{path}:{lineno}: '{row.file}'"
    classes = expected if expected is not None else row.classes
    if classes < 1:
        raise VbenchError(f"{where} declares {row.classes} classes; expected at least 1")
    if not 0 <= row.label < classes:
        owner = model_id if expected is not None else "the classes column"
        raise VbenchError(f"{where} has label {row.label}, outside the {classes} classes of {owner} "
                          f"(0..{classes - 1})")
    if expected is not None and row.classes != expected:
        raise VbenchError(f"{where} declares {row.classes} classes, but {model_id} has {expected}")


def read_input(folder: str | Path, row: LabelRow) -> bytes:
    path = Path(folder) / row.file
    try:
        return path.read_bytes()
    except OSError as exc:
        raise VbenchError(f"{path}: cannot read input file listed in y_labels.csv: {exc.strerror}") from None


def windows(row: LabelRow, data: bytes, first_only: bool = False) -> list[bytes]:
    """The inputs one file yields: the whole file, or its sliding windows (AD)."""
    if row.bytes_to_send is None:
        return [data]
    width, stride = row.bytes_to_send, row.stride or row.bytes_to_send
    if width <= 0 or stride <= 0 or len(data) < width:
        raise VbenchError(f"{row.file}: {len(data)} bytes cannot hold a {width}-byte window (stride {stride})")
    count = 1 if first_only else (len(data) - width) // stride + 1
    return [data[i * stride:i * stride + width] for i in range(count)]


def synthetic_input(model_id: str, index: int, size: int) -> bytes:
    """Deterministic stand-in input for timing when the real files are absent (the MLPerf Tiny
    ic01, vww01 and ad01 inputs are not redistributable). Latency barely depends on the data."""
    rng = np.random.default_rng(1000 + index)
    if by_model_id(model_id).input_dtype == "float32":  # AD: log-mel magnitudes in a plausible range
        return rng.uniform(-60.0, 0.0, size // 4).astype("<f4").tobytes()
    return rng.integers(0, 256, size, dtype=np.uint8).tobytes()
