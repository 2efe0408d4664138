"""The models and inputs of a study: a configuration's model file (transformed if it says so),
compiled once into check-models' cache, one seeded random input per workload and its golden output
from TFLite's reference kernels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vbench.errors import VbenchError
from vbench.paths import cache_dir
from vbench.studies.base import Config
from vbench.workloads import IDS, by_id


def compile_cached(path: Path, dtype: str, weights: str = "dense", winograd: bool = False):
    """compile_model into the stable directory `vbench check-models` uses (keyed by the model's
    sha256, dtype and weight encoding), so the firmware images of both commands are shared."""
    from vbench.compiler import default_name
    from vbench.modelcheck import compile_cached as check_models_cached

    return check_models_cached(path, default_name(path), weights, winograd, dtype)


def transformed_model(path: Path, transform: str | None) -> Path:
    """The model file a configuration runs: `path` itself, or a pruned / clustered copy of it
    (cached under the build root by the source's sha256 and the transform)."""
    from vbench.compiler.transforms import cluster_model, prune_model

    if not transform:
        return path
    kind, _, value = transform.partition(":")
    from vbench.compiler import transforms

    # keyed by the source model and the transform code, so a changed transform is not served stale
    sha = hashlib.sha256(path.read_bytes() + Path(transforms.__file__).read_bytes()).hexdigest()[:12]
    dst = cache_dir() / "study" / "transforms" / f"{path.stem}-{kind}{value}-{sha}.tflite"
    if dst.is_file():
        return dst
    try:
        if kind == "prune":
            prune_model(path, dst, float(value))
        elif kind == "cluster":
            cluster_model(path, dst, int(value))
        else:
            raise VbenchError(f"unknown model transform '{transform}' (prune:<sparsity>, cluster:<k>)")
    except ValueError as exc:
        raise VbenchError(f"model transform '{transform}': {exc}") from exc
    return dst


def input_codes(workload: str, count: int, seed: int) -> list[np.ndarray]:
    """Seeded random int8 codes for the input of the workload's int8 model."""
    from vbench.compiler.tflite_reader import read_tflite

    g = read_tflite(by_id(workload).model_path())
    n = g.tensors[g.inputs[0]].elements
    rng = np.random.default_rng([seed, IDS.index(workload)])
    return [rng.integers(-128, 128, n, dtype=np.int8) for _ in range(count)]


def _int8_io(workload: str):
    """(input scale, input zero point, output scale, output zero point) of the int8 model."""
    from vbench.compiler.tflite_reader import read_tflite

    g = read_tflite(by_id(workload).model_path())
    i, o = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    return i.scale, i.zero_point, o.scale, o.zero_point


def model_input(workload: str, dtype: str, codes: np.ndarray) -> bytes:
    """The input bytes for the model of `dtype`: the int8 codes, or (float32) the same codes
    dequantized with the int8 model's input scale and zero point, so both models see one input."""
    if dtype == "int8":
        return codes.astype(np.int8).tobytes()
    scale, zp, _, _ = _int8_io(workload)
    return ((codes.astype(np.float32) - np.float32(zp)) * np.float32(scale)).astype(np.float32).tobytes()


def output_values(workload: str, dtype: str, data: bytes) -> np.ndarray:
    """An output tensor as float values (int8 outputs dequantized)."""
    if dtype == "float32":
        return np.frombuffer(data, np.float32).astype(np.float64)
    _, _, scale, zp = _int8_io(workload)
    return (np.frombuffer(data, np.int8).astype(np.float64) - zp) * float(np.float32(scale))


@dataclass
class Prepared:
    """One workload x configuration, compiled, with its study input and golden output."""
    workload: str
    config: Config
    case: Any                    # vbench.modelcheck.ModelCase (picklable)


def prepare(workload: str, config: Config, seed: int) -> Prepared:
    from vbench.golden import GoldenModel
    from vbench.modelcheck import ModelCase

    path = transformed_model(by_id(workload).model_path(config.dtype), config.transform)
    compiled = compile_cached(path, config.dtype, config.weights, config.winograd)
    data = model_input(workload, config.dtype, input_codes(workload, 1, seed)[0])
    expected = GoldenModel(path).run_bytes(data)
    case = ModelCase(path.stem, path, compiled, [data], ["random#0"], [expected], 0, [], 1, 0)
    return Prepared(workload, config, case)
