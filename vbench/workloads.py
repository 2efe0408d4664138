"""The four MLPerf Tiny workloads, one record each: the facts the harness, check-models, the
studies, `vbench run` and calibration read about a workload live here and nowhere else."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from vbench.errors import VbenchError
from vbench.paths import models_dir


@dataclass(frozen=True)
class Workload:
    id: str                     # kws, vww, ic, ad: what `vbench run` / `vbench study` --workload take
    model_id: str               # EEMBC name: the firmware's m-model-[...] and the dataset folder
    model_file: str             # int8 model under models/
    float_model_file: str       # float32 model under models/ (the precision study)
    define: str                 # selects the workload in firmware/eembc/ee_workload.c
    input_shape: tuple[int, ...]  # what the harness sends per inference with `db`
    input_dtype: str            # "int8", or "float32" (AD: features the firmware quantizes)
    results: int                # result values printed per inference (classes; 1: the AD score)
    metric: str                 # "top1_percent" (classifiers) or "auc" (AD's anomaly score)
    quality_target: float       # MLPerf Tiny closed-division target of `metric`
    performance_script: tuple[int, int]  # (N, W) of the MLCommons tests_*.yaml performance script
    energy_script: tuple[int, int]       # (N, W) of the energy script
    cost: int                   # relative time per inference (~instructions): `vbench run` starts long jobs first

    @property
    def db_bytes(self) -> int:
        return math.prod(self.input_shape) * (4 if self.input_dtype == "float32" else 1)

    @property
    def classifier(self) -> bool:
        return self.metric == "top1_percent"

    def model_path(self, dtype: str = "int8") -> Path:
        return models_dir() / (self.float_model_file if dtype == "float32" else self.model_file)


WORKLOADS: tuple[Workload, ...] = (   # this order seeds the studies' inputs: append only
    Workload("kws", "kws01", "kws_ref_model.tflite", "kws_ref_model_float32.tflite", "EE_MODEL_KWS01",
             (49, 10, 1), "int8", 12, "top1_percent", 90.0, (70, 10), (70, 10), 12),
    Workload("vww", "vww01", "vww_96_int8.tflite", "vww_96_float.tflite", "EE_MODEL_VWW01",
             (96, 96, 3), "int8", 2, "top1_percent", 80.0, (20, 5), (20, 5), 36),
    Workload("ic", "ic01", "ic_resnet8_int8.tflite", "ic_resnet8_float32.tflite", "EE_MODEL_IC01",
             (32, 32, 3), "int8", 10, "top1_percent", 85.0, (20, 5), (20, 0), 50),
    Workload("ad", "ad01", "ad01_int8.tflite", "ad01_fp32.tflite", "EE_MODEL_AD01",
             (640,), "float32", 1, "auc", 0.85, (1500, 10), (1500, 0), 1),
)
IDS = tuple(w.id for w in WORKLOADS)
MODEL_IDS = tuple(w.model_id for w in WORKLOADS)
_BY_ID = {w.id: w for w in WORKLOADS}
_BY_MODEL_ID = {w.model_id: w for w in WORKLOADS}


def by_id(workload_id: str) -> Workload:
    """kws, vww, ic or ad."""
    try:
        return _BY_ID[workload_id]
    except KeyError:
        raise VbenchError(f"unknown workload '{workload_id}' (known: {', '.join(IDS)})") from None


def by_model_id(model_id: str) -> Workload:
    """kws01, vww01, ic01 or ad01 (the EEMBC name)."""
    try:
        return _BY_MODEL_ID[model_id]
    except KeyError:
        raise VbenchError(f"unknown MLPerf Tiny workload '{model_id}' (known: {', '.join(MODEL_IDS)})") from None
