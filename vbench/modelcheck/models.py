"""check-models' models and inputs: a model resolved and compiled once (cached by content), random
inputs with a fixed seed plus dataset files of the input's size, and the golden (TFLite) and host
outputs for them."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench.errors import VbenchError
from vbench.paths import cache_dir, checkout_root, models_dir
from vbench.workloads import WORKLOADS

DEFAULT_MODELS = tuple(w.model_file for w in WORKLOADS)
DEFAULT_INPUTS = 5
DEFAULT_SEED = 20240

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


@dataclass
class ModelCase:
    """One compiled model with its inputs and golden outputs; picklable (no interpreter)."""
    label: str                     # file stem, e.g. kws_ref_model
    path: Path
    compiled: Any                  # vbench.compiler.CompiledModel
    inputs: list[bytes]
    input_names: list[str]
    expected: list[bytes]          # golden (TFLite BUILTIN_REF) outputs
    host_mismatches: int           # output bytes where the host build differs from golden
    host_bad_inputs: list[str]
    random_inputs: int
    dataset_inputs: int
    dataset_dir: Path | None = None


def default_dataset_dir() -> Path | None:
    """The KWS accuracy set if it is present: $VBENCH_DATASETS/kws01, else the shared datasets
    folder next to a checkout. The files are never shipped with vbench."""
    env = os.environ.get("VBENCH_DATASETS")
    checkout = checkout_root()
    root = Path(env) if env else checkout.parent / "shared" / "datasets" if checkout else None
    d = root / "kws01" if root else None
    return d if d and d.is_dir() else None


def resolve_model_path(spec: str | Path) -> Path:
    """A path to a .tflite file, or the name of one in models/ (with or without .tflite)."""
    p = Path(spec)
    if not p.exists():
        for cand in (models_dir() / str(spec), models_dir() / f"{spec}.tflite"):
            if cand.is_file():
                p = cand
                break
    if not p.exists():
        raise VbenchError(f"model not found: {spec}")
    if not p.is_file():
        raise VbenchError(f"{spec}: not a file (expected a .tflite model)")
    if p.suffix.lower() != ".tflite":
        raise VbenchError(f"{spec}: not a .tflite model (expected a file named *.tflite)")
    return p.resolve()


def compile_cached(path: Path, name: str, weights: str = "dense", winograd: bool = False, dtype: str = "int8"):
    """compile_model into a stable directory keyed by the model's sha256, dtype and weight encodings
    (so the firmware build cache, which hashes include paths, is reused), written atomically file
    by file."""
    from vbench.compiler import compile_model

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    root = cache_dir() / "check-models"
    root.mkdir(parents=True, exist_ok=True)
    key = (("" if dtype == "int8" else f"-{dtype}") + ("" if weights == "dense" else f"-{weights}")
           + ("-winograd" if winograd else ""))
    final = root / f"{name}{key}-{sha[:12]}"
    tmp = Path(tempfile.mkdtemp(prefix=".compile-", dir=root))
    try:
        cm = compile_model(path, tmp, name, dtype=dtype, weights=weights, winograd=winograd)
        final.mkdir(parents=True, exist_ok=True)
        for f in sorted(tmp.iterdir()):
            dst = final / f.name
            if not dst.is_file() or dst.read_bytes() != f.read_bytes():
                os.replace(f, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dataclasses.replace(cm, out_dir=final, c_file=final / cm.c_file.name, h_file=final / cm.h_file.name,
                               summary_file=final / cm.summary_file.name)


def random_inputs(compiled, count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    t = compiled.input
    out = []
    for _ in range(count):
        if t.dtype == "INT8":
            out.append(rng.integers(-128, 128, t.bytes, dtype=np.int8).tobytes())
        elif t.dtype == "FLOAT32":
            n = t.bytes // 4
            out.append(rng.normal(0.0, 10.0, n).astype(np.float32).tobytes())
        else:
            out.append(rng.integers(0, 256, t.bytes, dtype=np.uint8).tobytes())
    return out


def dataset_files(folder: Path, input_bytes: int, count: int) -> list[Path]:
    """`count` files (evenly spread over the sorted list) among folder/*.bin that have exactly
    the model's input size."""
    files = sorted(p for p in folder.glob("*.bin") if p.is_file() and p.stat().st_size == input_bytes)
    if count <= 0 or not files:
        return []
    if count >= len(files):
        return files
    return [files[(i * len(files)) // count] for i in range(count)]


def prepare_model(spec: str | Path, inputs: int = DEFAULT_INPUTS, seed: int = DEFAULT_SEED,
                  dataset: Path | None = None, dataset_inputs: int | None = None,
                  progress: Progress = _quiet, weights: str = "dense", winograd: bool = False) -> ModelCase:
    """Compile (with the weight encodings `weights` / `winograd`), make inputs, run golden and
    host. Raises VbenchError for a bad model (not a .tflite, unreadable, unsupported operator:
    the compiler's own message)."""
    from vbench.compiler import HostModel, default_name
    from vbench.golden import GoldenModel

    path = resolve_model_path(spec)
    label = path.stem
    progress(f"{label}: compiling")
    compiled = compile_cached(path, default_name(path), weights, winograd)
    golden = GoldenModel(path)
    if golden.input_bytes != compiled.input.bytes:
        raise VbenchError(f"{path.name}: TFLite's input is {golden.input_bytes} bytes, the compiled plan's "
                          f"{compiled.input.bytes}")
    host = HostModel(compiled.out_dir)

    data = random_inputs(compiled, inputs, seed)
    names = [f"random#{i}" for i in range(len(data))]
    files: list[Path] = []
    if dataset is not None:
        files = dataset_files(dataset, compiled.input.bytes,
                              inputs if dataset_inputs is None else dataset_inputs)
    data += [f.read_bytes() for f in files]
    names += [f"{dataset.name}/{f.name}" for f in files] if dataset is not None else []

    expected, host_mismatches, host_bad = [], 0, []
    for name, d in zip(names, data):
        g = golden.run_bytes(d)
        h = host.run(d)
        expected.append(g)
        diff = diff_bytes(h, g)
        if diff:
            host_mismatches += diff
            host_bad.append(name)
    progress(f"{label}: {len(data)} inputs ({len(data) - len(files)} random, {len(files)} from dataset), "
             f"host build {'bit-exact' if not host_bad else f'differs on {len(host_bad)}'}")
    return ModelCase(label, path, compiled, data, names, expected, host_mismatches, host_bad,
                     len(data) - len(files), len(files), dataset if files else None)


def diff_bytes(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return max(len(a), len(b))
    diff = int(np.count_nonzero(np.frombuffer(a[:n], np.uint8) != np.frombuffer(b[:n], np.uint8)))
    return diff + abs(len(a) - len(b))
