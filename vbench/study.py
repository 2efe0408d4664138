"""`vbench study NAME`: named two-way comparisons over the four MLPerf Tiny workloads on the virtual
boards, written as a table (study.md, study.csv, layers.csv, study.json) and PNG plots.

Studies (each compares configuration A, the baseline, with configuration B):

    precision     A = the int8 model, B = the float32 model; reference kernels for both
    data-reuse    A = reference kernels, B = the board's optimized kernels (`[toolchain] kernels`:
                  im2col and register blocking reuse each loaded operand many times); int8 models
    kernels A B   two kernel variants (names under firmware/kernels/, `reference`, `optimized`, or
                  paths to directories of kernel files); int8 models

Method. Per workload and configuration the model is compiled once (int8: as `vbench check-models`
does; float32: `compile_model(..., dtype="float32")`) and the golden output of one seeded random
input is computed with TFLite's reference kernels. Per board, the model_check firmware runs that
input once from reset; the runtime's layer markers give cycles, instructions and energy per layer
(energy from the board's power model) and their sums give the inference. Latency is cycles over the
core clock. Footprint is measured as `vbench check-models` measures it: flash = text + data of the
linked image, RAM = arena + other static data (including the check firmware's input/output buffers)
+ the stack high-water mark. The output of every run is checked against TFLite: bit-exact for int8,
within FLOAT_RTOL of the output range (and the same top-1 class) for float32.

Accuracy where it can be measured: the precision study runs the KWS accuracy set (kws01, when
present) through the host build of both models (the same C kernels as the firmware; host float
results are bit-exact with TFLite, board ones differ by FMA contraction only) and reports top-1
accuracy; for every workload it also reports how the int8 model agrees with the float32 model on
N random inputs (top-1 agreement for the classifiers, the anomaly score for AD). The data-reuse and
kernels studies change no arithmetic (every variant is bit-exact with the reference), which the
output check confirms per run.

`sparsity`, `compression` and `winograd` are named but not implemented yet (StudyNotImplemented).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench import __version__
from vbench.errors import VbenchError
from vbench.platform import REPO_ROOT, load_platform
from vbench.report_io import write_csv_atomic, write_json_atomic, write_text_atomic

MODELS_DIR = REPO_ROOT / "models"
WORKLOADS = ("kws", "vww", "ic", "ad")
MODEL_FILES = {
    "kws": {"int8": "kws_ref_model.tflite", "float32": "kws_ref_model_float32.tflite"},
    "vww": {"int8": "vww_96_int8.tflite", "float32": "vww_96_float.tflite"},
    "ic": {"int8": "ic_resnet8_int8.tflite", "float32": "ic_resnet8_float32.tflite"},
    "ad": {"int8": "ad01_int8.tflite", "float32": "ad01_fp32.tflite"},
}
CLASSIFIERS = ("kws", "vww", "ic")
DEFAULT_PLATFORMS = ("nucleo-l4r5zi", "rv32imaf-mcu")
DEFAULT_SEED = 20240
DEFAULT_AGREEMENT_INPUTS = 20
FLOAT_RTOL = 1e-4        # float32 outputs: max |y - y_tflite| <= FLOAT_RTOL * max |y_tflite|
IMPLEMENTED = ("precision", "data-reuse", "kernels")
NOT_IMPLEMENTED = ("sparsity", "compression", "winograd")
METRICS = (("cycles", "cycles"), ("latency_ms", "latency (ms)"), ("energy_uj", "energy (uJ)"),
           ("flash_bytes", "flash (B)"), ("ram_bytes", "RAM (B)"))

Progress = Callable[[str], None]


class StudyNotImplemented(VbenchError):
    """A study that is named in the plan but not written yet."""

    exit_code = 2


def _quiet(_msg: str) -> None:
    pass


# ====================================================================== what a study compares


@dataclass(frozen=True)
class Config:
    label: str                   # column name in the tables ("int8", "reference", ...)
    dtype: str = "int8"          # which model of the workload: "int8" or "float32"
    kernels: str | None = None   # None = reference, "optimized", a variant name or a directory path


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    question: str
    a: Config                    # the baseline
    b: Config
    notes: tuple[str, ...] = ()

    @property
    def configs(self) -> tuple[Config, Config]:
        return (self.a, self.b)


def _variant_label(spec: str) -> str:
    if spec in ("reference", "optimized"):
        return spec
    return Path(spec).name or spec


def make_study(name: str, args: list[str] | tuple[str, ...] = ()) -> Study:
    """The Study for a name and its arguments (`kernels` takes two variants). Raises
    StudyNotImplemented for the planned studies and VbenchError for anything unknown."""
    args = list(args)
    if name in NOT_IMPLEMENTED:
        raise StudyNotImplemented(
            f"study '{name}' is not implemented yet; implemented studies: {', '.join(IMPLEMENTED)} "
            f"(planned: {', '.join(NOT_IMPLEMENTED)})")
    if name not in IMPLEMENTED:
        raise VbenchError(f"unknown study '{name}' (implemented: {', '.join(IMPLEMENTED)}; "
                          f"planned: {', '.join(NOT_IMPLEMENTED)})")
    if name != "kernels" and args:
        raise VbenchError(f"study '{name}' takes no arguments (got {' '.join(args)})")
    if name == "precision":
        return Study(name, "int8 vs float32 models (reference kernels)",
                     "What does float32 cost over int8 in cycles, energy, flash and RAM, and what does it buy "
                     "in accuracy?",
                     Config("int8", "int8", None), Config("float32", "float32", None),
                     ("float32 runs the float models of the same workloads (models/*float*.tflite, "
                      "ad01_fp32.tflite); KWS float keeps int8 weights on its CONV_2D layers (TFLite hybrid "
                      "conv: input quantized at run time), so its flash is not 4x the int8 model's",
                      "both use the portable reference kernels; the boards' FPUs run the float kernels "
                      "(fpv4-sp-d16 / RV32F)"))
    if name == "data-reuse":
        return Study(name, "reference vs optimized kernels (int8 models)",
                     "How much do the optimized kernels (im2col, register blocking: each loaded weight and "
                     "activation reused across several outputs) save over the reference kernels?",
                     Config("reference", "int8", None), Config("optimized", "int8", "optimized"),
                     ("optimized = the variant the board's platform file names ([toolchain] kernels): "
                      "cortex_m4_dsp on nucleo-l4r5zi, rv32 on rv32imaf-mcu",
                      "loads/MAC is the data-reuse figure: the start-up and I/O copies it includes are small "
                      "next to the inference"))
    if len(args) != 2:
        raise VbenchError("study 'kernels' takes two kernel variants: vbench study kernels A B "
                          "(names under firmware/kernels/, reference, optimized, or directory paths)")
    from vbench.compiler.kernel_sources import variant_dir

    for spec in args:
        if spec != "optimized":
            variant_dir(spec)  # unknown name or missing directory: fail before any work
    la, lb = _variant_label(args[0]), _variant_label(args[1])
    if la == lb:
        la, lb = f"A_{la}", f"B_{lb}"
    return Study(name, f"kernels {args[0]} vs {args[1]} (int8 models)",
                 f"How do the kernel variants {args[0]} and {args[1]} compare on the four workloads?",
                 Config(la, "int8", None if args[0] == "reference" else args[0]),
                 Config(lb, "int8", None if args[1] == "reference" else args[1]))


# ====================================================================== models and inputs


def _build_root() -> Path:
    from vbench.compiler.host_build import build_root

    return build_root()


def compile_cached(path: Path, dtype: str):
    """compile_model into a stable directory keyed by the model's sha256 and dtype (the firmware
    build cache hashes include paths, so a stable directory reuses the images). int8 models share
    the directory of `vbench check-models`."""
    from vbench.compiler import compile_model, default_name

    if dtype == "int8":
        from vbench.modelcheck import compile_cached as int8_cached

        return int8_cached(path, default_name(path))
    name = default_name(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    root = _build_root() / "study"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{name}-{dtype}-{sha[:12]}"
    tmp = Path(tempfile.mkdtemp(prefix=".compile-", dir=root))
    try:
        cm = compile_model(path, tmp, name, dtype=dtype)
        final.mkdir(parents=True, exist_ok=True)
        for f in sorted(tmp.iterdir()):
            dst = final / f.name
            if not dst.is_file() or dst.read_bytes() != f.read_bytes():
                os.replace(f, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return replace(cm, out_dir=final, c_file=final / cm.c_file.name, h_file=final / cm.h_file.name,
                   summary_file=final / cm.summary_file.name)


def input_codes(workload: str, count: int, seed: int) -> list[np.ndarray]:
    """Seeded random int8 codes for the input of the workload's int8 model."""
    from vbench.compiler.tflite_reader import read_tflite

    g = read_tflite(MODELS_DIR / MODEL_FILES[workload]["int8"])
    n = g.tensors[g.inputs[0]].elements
    rng = np.random.default_rng([seed, WORKLOADS.index(workload)])
    return [rng.integers(-128, 128, n, dtype=np.int8) for _ in range(count)]


def _int8_io(workload: str):
    """(input scale, input zero point, output scale, output zero point) of the int8 model."""
    from vbench.compiler.tflite_reader import read_tflite

    g = read_tflite(MODELS_DIR / MODEL_FILES[workload]["int8"])
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

    path = MODELS_DIR / MODEL_FILES[workload][config.dtype]
    compiled = compile_cached(path, config.dtype)
    data = model_input(workload, config.dtype, input_codes(workload, 1, seed)[0])
    expected = GoldenModel(path).run_bytes(data)
    case = ModelCase(path.stem, path, compiled, [data], ["random#0"], [expected], 0, [], 1, 0)
    return Prepared(workload, config, case)


# ====================================================================== one board run


@dataclass
class MeasureJob:
    study: str
    prepared: Prepared
    platform: str


def _output_check(workload: str, dtype: str, got: bytes, expected: bytes) -> dict[str, Any]:
    if dtype == "int8":
        a, b = np.frombuffer(got, np.uint8), np.frombuffer(expected, np.uint8)
        diff = int(np.count_nonzero(a != b)) if len(a) == len(b) else max(len(a), len(b))
        return {"output_ok": diff == 0, "output_check": "bit-exact" if diff == 0 else f"{diff} bytes differ",
                "output_rel_error": 0.0 if diff == 0 else None}
    y, ref = output_values(workload, dtype, got), output_values(workload, dtype, expected)
    rel = float(np.max(np.abs(y - ref))) / (float(np.max(np.abs(ref))) or 1.0) if len(y) == len(ref) else float("inf")
    ok = rel <= FLOAT_RTOL and (workload not in CLASSIFIERS or int(np.argmax(y)) == int(np.argmax(ref)))
    text = "bit-exact" if rel == 0.0 else f"max err {rel:.1e} of range"
    return {"output_ok": bool(ok), "output_check": text if ok else f"OUT OF TOLERANCE ({text})",
            "output_rel_error": rel}


def measure(job: MeasureJob) -> dict[str, Any]:
    """Build the model_check image, run the study input once, profile the layers; one record."""
    from vbench.compiler.kernel_sources import resolve_kernels
    from vbench.modelcheck import (MAX_INSTRUCTIONS, STACK_FILL, FitError, build_check_image, fit_problems,
                                   peek, poke)
    from vbench.sim.board import Board
    from vbench.sim.elf import load_image

    prep, plat = job.prepared, load_platform(job.platform)
    case, cfg, c = prep.case, prep.config, prep.case.compiled
    variant = resolve_kernels(cfg.kernels, plat)
    rec: dict[str, Any] = {
        "study": job.study, "workload": prep.workload, "platform": plat.name, "config": cfg.label,
        "model": case.path.name, "dtype": cfg.dtype, "kernels": str(variant or "reference"),
        "cycles": None, "instructions": None, "latency_ms": None, "energy_uj": None,
        "flash_bytes": None, "ram_bytes": None, "arena_bytes": c.arena_bytes, "const_bytes": c.const_bytes,
        "weight_bytes": c.weight_bytes, "macs": c.total_macs, "accuracy": None, "fits": None, "error": None,
    }
    t0 = time.perf_counter()
    try:
        check = build_check_image(case, plat, kernels=variant)
    except FitError as exc:
        rec.update(fits=False, error=str(exc))
        return rec
    syms = check.symbol_sizes
    board = Board(plat, load_image(check.elf), max_instructions=MAX_INSTRUCTIONS)
    try:
        poke(board, syms["vb_check_input"][0], case.inputs[0])
        result = board.run()
        prof = board.profile()
        out = peek(board, syms["vb_check_output"][0], c.output.bytes)
        status = int.from_bytes(peek(board, syms["vb_check_status"][0], 4), "little", signed=True)
        bottom, top = syms["__stack_bottom"][0], syms["__stack_top"][0]
        words = np.frombuffer(peek(board, bottom, top - bottom), "<u4")
    finally:
        board.close()
    used = np.flatnonzero(words != STACK_FILL)
    first = int(used[0]) if used.size else len(words)
    stack_hw = (len(words) - first) * 4
    marks = [r for r in prof["layers"] if r["layer"] is not None]
    by_index = {layer.index: layer for layer in c.layers}
    layers = []
    for r in marks:
        s = by_index.get(r["layer"])
        kernel = "float32" if s is not None and "float32" in s.notes else "int8"
        if s is not None and "hybrid int8 weights" in s.notes:
            kernel = "hybrid"
        layers.append({
            "layer": r["layer"], "op": s.op if s else "", "kernel": kernel,
            "output_shape": "x".join(map(str, s.output_shape)) if s else "", "macs": int(s.macs) if s else 0,
            "cycles": r["cycles"], "instructions": r["instructions"],
            "latency_ms": r["cycles"] / result.clock_hz * 1e3 if result.clock_hz else None,
            "energy_uj": r["energy_uj"],
        })
    cycles = sum(x["cycles"] for x in layers)
    loads = int(result.features.get("flash_reads", 0) + result.features.get("sram_reads", 0))  # whole run
    sizes = check.sizes
    arena = syms.get("vb_arena", (0, c.arena_bytes))[1]
    static = sizes["data"] + sizes["bss"] - arena
    flash, ram = sizes["text"] + sizes["data"], arena + static + stack_hw
    failed = result.exit != "exit" or result.exit_code != 0 or status != 0
    problems = fit_problems(plat, flash, ram, sizes["data"])
    if first == 0 and len(words):
        problems.append("stack used all of its reservation (overflow)")
    rec.update({
        "cycles": cycles, "instructions": sum(x["instructions"] for x in layers),
        "latency_ms": cycles / result.clock_hz * 1e3 if result.clock_hz else None,
        "energy_uj": sum(x["energy_uj"] for x in layers), "clock_hz": result.clock_hz,
        "macs_per_cycle": c.total_macs / cycles if cycles else None,
        "data_loads": loads, "loads_per_mac": loads / c.total_macs if c.total_macs else None,
        "flash_bytes": flash, "ram_bytes": ram, "arena_linked_bytes": arena, "arena_section": check.arena_section,
        "static_bytes": static, "stack_bytes": stack_hw,
        "io_buffer_bytes": sum(syms[s][1] for s in ("vb_check_input", "vb_check_output")),
        "text_bytes": sizes["text"], "fits": not problems, "layers": layers, "model_layers": len(c.layers),
        "elf": str(check.elf), "wall_s": round(time.perf_counter() - t0, 2),
    })
    if failed:
        rec["error"] = (f"firmware run ended with {result.exit} code {result.exit_code}, runtime status {status}"
                        + (f": {result.message}" if result.message else ""))
        rec.update(output_ok=False, output_check="run failed")
    else:
        rec.update(_output_check(prep.workload, cfg.dtype, out, case.expected[0]))
        if len(layers) != len(c.layers):
            rec["error"] = f"the layer markers saw {len(layers)} of {len(c.layers)} layers"
        elif problems:
            rec["error"] = f"{case.label} does not fit {plat.name}: " + "; ".join(problems)
    return rec


def _run_jobs(jobs: list[MeasureJob], workers: int, progress: Progress) -> list[dict[str, Any]]:
    workers = max(1, min(workers, len(jobs)))
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.isfile(main_file):
        workers = 1  # spawned workers re-import __main__, which a script read from stdin is not

    def done(rec):
        what = f"{rec['workload']}/{rec['config']} on {rec['platform']}"
        progress(f"{what}: {rec['cycles']:,} cycles, {rec['output_check']}" if rec.get("cycles") is not None
                 else f"{what}: {rec.get('error')}")
        return rec

    if workers == 1:
        return [done(measure(j)) for j in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].prepared.case.compiled.total_macs)
    results: dict[int, dict[str, Any]] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {i: pool.submit(measure, jobs[i]) for i in order}
        for i in order:
            results[i] = done(futures[i].result())
    return [results[i] for i in range(len(jobs))]


# ====================================================================== accuracy (host builds)


def _kws_dir(dataset: Path | None) -> Path | None:
    from vbench.modelcheck import default_dataset_dir

    if dataset is None:
        return default_dataset_dir()
    dataset = Path(dataset)
    if (dataset / "kws01" / "y_labels.csv").is_file():
        return dataset / "kws01"
    if (dataset / "y_labels.csv").is_file():
        return dataset
    raise VbenchError(f"--dataset {dataset}: no kws01/y_labels.csv (EEMBC layout) or y_labels.csv in it")


def kws_accuracy(hosts: dict[str, Any], folder: Path, limit: int | None) -> dict[str, Any]:
    """Top-1 accuracy of each host model (by dtype) on the KWS accuracy files (int8 features;
    the float model gets them dequantized with the int8 model's input quantization)."""
    rows = []
    with open(folder / "y_labels.csv", newline="") as f:
        for r in csv.reader(f):
            if len(r) >= 3 and (folder / r[0]).is_file():
                rows.append((r[0], int(r[2])))
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        return {}
    correct = {dtype: 0 for dtype in hosts}
    same = 0
    for name, label in rows:
        codes = np.frombuffer((folder / name).read_bytes(), np.int8)
        top = {}
        for dtype, host in hosts.items():
            top[dtype] = int(np.argmax(output_values("kws", dtype, host.run(model_input("kws", dtype, codes)))))
            correct[dtype] += top[dtype] == label
        same += len(set(top.values())) == 1
    out: dict[str, Any] = {dtype: {"accuracy": correct[dtype] / len(rows), "files": len(rows)} for dtype in hosts}
    out["top1_agreement"] = same / len(rows)
    return out


def agreement(workload: str, hosts: dict[str, Any], count: int, seed: int) -> dict[str, Any]:
    """How the int8 model's output follows the float32 model's on `count` random inputs (host
    builds): top-1 agreement for classifiers; for AD the anomaly score (mean squared
    reconstruction error, the score the benchmark uses) relative difference."""
    top1 = 0
    errors, score_diffs = [], []
    for codes in input_codes(workload, count, seed + 1):
        y = {d: output_values(workload, d, h.run(model_input(workload, d, codes))) for d, h in hosts.items()}
        ref = y["float32"]
        errors.append(float(np.max(np.abs(y["int8"] - ref))) / (float(np.max(np.abs(ref))) or 1.0))
        if workload in CLASSIFIERS:
            top1 += int(np.argmax(y["int8"]) == np.argmax(ref))
        else:
            x = output_values(workload, "float32", model_input(workload, "float32", codes))
            s8, s32 = float(np.mean((x - y["int8"]) ** 2)), float(np.mean((x - ref) ** 2))
            score_diffs.append(abs(s8 - s32) / (abs(s32) or 1.0))
    out: dict[str, Any] = {"inputs": count, "max_output_error": max(errors), "mean_output_error": float(np.mean(errors))}
    if workload in CLASSIFIERS:
        out["top1_agreement"] = top1 / count
    else:
        out["score_rel_diff_mean"] = float(np.mean(score_diffs))
        out["score_rel_diff_max"] = float(np.max(score_diffs))
    return out


# ====================================================================== the study


def align_layers(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[dict | None, dict | None]]:
    """Pair the layers of two runs by (op, output shape) in order; unmatched layers (e.g. a
    QUANTIZE only one model has) pair with None."""
    key = lambda x: (x["op"], x["output_shape"])  # noqa: E731
    sm = difflib.SequenceMatcher(None, [key(x) for x in a], [key(x) for x in b], autojunk=False)
    pairs: list[tuple[dict | None, dict | None]] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            pairs += list(zip(a[i1:i2], b[j1:j2]))
        else:
            pairs += [(x, None) for x in a[i1:i2]] + [(None, y) for y in b[j1:j2]]
    return pairs


def _ratio(b, a):
    return b / a if a and b is not None else None


def comparisons(study: Study, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per workload x platform: B over A for each total metric."""
    index = {(r["workload"], r["platform"], r["config"]): r for r in records}
    out = []
    for (w, p, label), ra in index.items():
        if label != study.a.label:
            continue
        rb = index.get((w, p, study.b.label))
        if rb is None:
            continue
        row = {"workload": w, "platform": p, "a": study.a.label, "b": study.b.label}
        for key, _ in METRICS:
            row[f"{key}_ratio"] = _ratio(rb.get(key), ra.get(key))
        row["speedup"] = _ratio(ra.get("cycles"), rb.get("cycles"))
        out.append(row)
    return out


def layer_rows(study: Study, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aligned per-layer rows for every workload x platform (A and B side by side)."""
    index = {(r["workload"], r["platform"], r["config"]): r for r in records}
    la, lb = study.a.label, study.b.label
    rows = []
    for (w, p, label), ra in index.items():
        rb = index.get((w, p, lb))
        if label != la or rb is None or not ra.get("layers") or not rb.get("layers"):
            continue
        for x, y in align_layers(ra["layers"], rb["layers"]):
            ref = x or y
            row = {"workload": w, "platform": p, f"layer_{la}": x["layer"] if x else None,
                   f"layer_{lb}": y["layer"] if y else None, "op": ref["op"], "output_shape": ref["output_shape"],
                   "macs": ref["macs"]}
            for key in ("cycles", "instructions", "latency_ms", "energy_uj"):
                row[f"{key}_{la}"] = x[key] if x else None
                row[f"{key}_{lb}"] = y[key] if y else None
            row["cycles_ratio"] = _ratio(row[f"cycles_{lb}"], row[f"cycles_{la}"])
            rows.append(row)
    return rows


def run_study(study: Study, workloads: list[str] | None = None, platforms: list[str] | None = None,
              seed: int = DEFAULT_SEED, workers: int = 1, dataset: Path | None | bool = None,
              accuracy_limit: int | None = None, agreement_inputs: int = DEFAULT_AGREEMENT_INPUTS,
              progress: Progress = _quiet) -> dict[str, Any]:
    """Run every workload x configuration x board once; returns the study result (records,
    comparisons, per-layer rows, accuracy). `dataset`: None = the KWS set when present, False =
    no dataset accuracy, a Path = that folder (EEMBC root or kws01 itself)."""
    from vbench.compiler.kernel_sources import resolve_kernels

    workloads = list(workloads or WORKLOADS)
    bad = [w for w in workloads if w not in WORKLOADS]
    if bad:
        raise VbenchError(f"unknown workload {', '.join(bad)} (known: {', '.join(WORKLOADS)})")
    plats = [load_platform(p).name for p in (platforms or DEFAULT_PLATFORMS)]
    for p in plats:
        for cfg in study.configs:
            resolve_kernels(cfg.kernels, load_platform(p))  # a board without optimized kernels: fail now
    if accuracy_limit is not None and accuracy_limit < 1:
        raise VbenchError(f"--accuracy-limit must be at least 1, not {accuracy_limit}")
    if agreement_inputs < 0:
        raise VbenchError(f"--inputs must be 0 or more, not {agreement_inputs}")
    folder = None if dataset is False else _kws_dir(dataset if isinstance(dataset, Path) else None)
    t0 = time.perf_counter()
    prepared = {}
    for w in workloads:
        for cfg in study.configs:
            progress(f"{w}/{cfg.label}: compiling {MODEL_FILES[w][cfg.dtype]} and its golden output")
            prepared[(w, cfg.label)] = prepare(w, cfg, seed)
    jobs = [MeasureJob(study.name, prepared[(w, cfg.label)], p) for w in workloads for cfg in study.configs
            for p in plats]
    progress(f"{len(jobs)} board runs on {workers} worker(s)")
    records = _run_jobs(jobs, workers, progress)

    accuracy: dict[str, Any] = {}
    if study.name == "precision":
        from vbench.compiler import HostModel

        for w in workloads:
            hosts = {cfg.dtype: HostModel(prepared[(w, cfg.label)].case.compiled.out_dir) for cfg in study.configs}
            entry: dict[str, Any] = {}
            if agreement_inputs:
                progress(f"{w}: int8 vs float32 agreement on {agreement_inputs} random inputs (host builds)")
                entry["agreement"] = agreement(w, hosts, agreement_inputs, seed)
            if w == "kws" and folder is not None:
                progress(f"kws: accuracy on {folder} (host builds)")
                entry["dataset"] = {"folder": str(folder), **kws_accuracy(hosts, folder, accuracy_limit)}
            accuracy[w] = entry
        for r in records:
            ds = accuracy.get(r["workload"], {}).get("dataset", {}).get(r["dtype"])
            if ds:
                r["accuracy"] = ds["accuracy"]
                r["accuracy_note"] = f"top-1 on {ds['files']} kws01 files, host build of the same kernels"
    return {
        "study": study.name, "title": study.title, "question": study.question,
        "configs": [asdict(c) for c in study.configs], "baseline": study.a.label, "notes": list(study.notes),
        "workloads": workloads, "platforms": plats, "seed": seed, "float_rtol": FLOAT_RTOL,
        "vbench_version": __version__, "created_unix": int(time.time()), "wall_s": round(time.perf_counter() - t0, 1),
        "records": records, "comparisons": comparisons(study, records), "layers": layer_rows(study, records),
        "accuracy": accuracy,
    }


# ====================================================================== report


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "layers"}


RANDOM_CAVEAT = {w: " (noise, unlike the training data: a sensitivity figure; the dataset figures, where "
                    "present, are the accuracy)" for w in CLASSIFIERS}


def markdown(result: dict[str, Any]) -> str:
    out = io.StringIO()
    a, b = result["configs"][0]["label"], result["configs"][1]["label"]
    out.write(f"# vbench study {result['study']}: {result['title']}\n\n{result['question']}\n\n")
    out.write(f"A = **{a}** (baseline), B = **{b}**; workloads {', '.join(result['workloads'])}; boards "
              f"{', '.join(result['platforms'])}; one inference of a seeded random input (seed {result['seed']}) "
              "per run, model_check firmware, per-layer profile from the runtime's layer markers.\n\n")
    for note in result["notes"]:
        out.write(f"- {note}\n")
    out.write("- flash = text + data of the linked image; RAM = arena + static data (including the check "
              "firmware's input/output buffers) + stack high-water; energy from the board's power model; "
              "loads/MAC = load instructions of the whole run per multiply-accumulate\n")
    out.write("\n## Totals\n\n| workload | platform | config | kernels | cycles | latency (ms) | energy (uJ) | "
              "flash (B) | RAM (B) | MACs/cycle | loads/MAC | accuracy | output vs TFLite |\n"
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for r in result["records"]:
        acc = f"{r['accuracy'] * 100:.1f}%" if r.get("accuracy") is not None else "-"
        out.write(f"| {r['workload']} | {r['platform']} | {r['config']} | {r['kernels']} | {_fmt(r['cycles'])} | "
                  f"{_fmt(r['latency_ms'], 3)} | {_fmt(r['energy_uj'], 1)} | {_fmt(r['flash_bytes'])} | "
                  f"{_fmt(r['ram_bytes'])} | {_fmt(r.get('macs_per_cycle'), 3)} | {_fmt(r.get('loads_per_mac'), 2)} | {acc} | "
                  f"{r.get('output_check') or r.get('error') or '-'} |\n")
    out.write(f"\n## {b} relative to {a} (B / A)\n\n| workload | platform | speedup (A/B cycles) | cycles | latency | "
              "energy | flash | RAM |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
    for c in result["comparisons"]:
        out.write(f"| {c['workload']} | {c['platform']} | {_fmt(c['speedup'])}x | " + " | ".join(
            f"{_fmt(c[f'{k}_ratio'])}x" for k, _ in METRICS[:3]) + " | " + " | ".join(
            f"{_fmt(c[f'{k}_ratio'])}x" for k, _ in METRICS[3:]) + " |\n")
    acc = result.get("accuracy") or {}
    if acc:
        out.write("\n## Accuracy (host builds of the same kernels)\n\n")
        for w, entry in acc.items():
            ds = entry.get("dataset")
            if ds and ds.get(a) is not None:
                out.write(f"- {w}: top-1 accuracy on {ds[a]['files']} files of {ds['folder']}: " + ", ".join(
                    f"{d} {ds[d]['accuracy'] * 100:.2f}%" for d in (a, b) if d in ds)
                    + f"; the two models pick the same class on {ds['top1_agreement'] * 100:.1f}% of the files\n")
            ag = entry.get("agreement")
            if ag:
                extra = (f"top-1 agreement {ag['top1_agreement'] * 100:.0f}%" if "top1_agreement" in ag else
                         f"anomaly score differs by {ag['score_rel_diff_mean'] * 100:.2f}% on average "
                         f"(max {ag['score_rel_diff_max'] * 100:.2f}%)")
                out.write(f"- {w}: int8 vs float32 on {ag['inputs']} uniform random inputs{RANDOM_CAVEAT.get(w, '')}: "
                          f"{extra}; output difference {ag['mean_output_error'] * 100:.2f}% of the float output range "
                          f"on average (max {ag['max_output_error'] * 100:.2f}%)\n")
    out.write(f"\nfloat32 outputs are checked against TFLite's float reference kernels: max error <= "
              f"{result['float_rtol']:g} x output range and the same top-1 class; int8 outputs bit-exact.\n")
    for w in result["workloads"]:
        for p in result["platforms"]:
            rows = [r for r in result["layers"] if r["workload"] == w and r["platform"] == p]
            if not rows:
                continue
            out.write(f"\n## Layers: {w} on {p}\n\n| # {a} | # {b} | op | output | MACs | cycles {a} | cycles {b} | "
                      f"B/A | energy {a} (uJ) | energy {b} (uJ) |\n|---:|---:|---|---|---:|---:|---:|---:|---:|---:|\n")
            for r in rows:
                out.write(f"| {_fmt(r[f'layer_{a}'])} | {_fmt(r[f'layer_{b}'])} | {r['op']} | {r['output_shape']} | "
                          f"{_fmt(r['macs'])} | {_fmt(r[f'cycles_{a}'])} | {_fmt(r[f'cycles_{b}'])} | "
                          f"{_fmt(r['cycles_ratio'])} | {_fmt(r[f'energy_uj_{a}'], 2)} | {_fmt(r[f'energy_uj_{b}'], 2)} |\n")
    errors = [f"{r['workload']}/{r['config']} on {r['platform']}: {r['error']}" for r in result["records"] if r.get("error")]
    if errors:
        out.write("\n## Errors\n\n" + "".join(f"- {e}\n" for e in errors))
    out.write(f"\nvbench {result['vbench_version']}, wall time {result['wall_s']} s\n")
    return out.getvalue()


def summary_text(result: dict[str, Any]) -> str:
    """The table printed at the end of `vbench study`."""
    head = ["workload", "platform", "config", "cycles", "latency ms", "energy uJ", "flash B", "RAM B", "output"]
    rows = [[r["workload"], r["platform"], r["config"], _fmt(r["cycles"]), _fmt(r["latency_ms"], 3),
             _fmt(r["energy_uj"], 1), _fmt(r["flash_bytes"]), _fmt(r["ram_bytes"]),
             r.get("output_check") or r.get("error") or "-"] for r in result["records"]]
    widths = [max(len(h), *(len(x[i]) for x in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if 3 <= i <= 7 else c.ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    text = [line(head), line(["-" * w for w in widths])] + [line(x) for x in rows]
    a, b = result["configs"][0]["label"], result["configs"][1]["label"]
    text.append("")
    for c in result["comparisons"]:
        text.append(f"{c['workload']}/{c['platform']}: {b} vs {a}: speedup {_fmt(c['speedup'])}x, energy "
                    f"{_fmt(c['energy_uj_ratio'])}x, flash {_fmt(c['flash_bytes_ratio'])}x, RAM {_fmt(c['ram_bytes_ratio'])}x")
    return "\n".join(text)


def _plot(path: Path, draw) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = draw(plt)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    write_text_atomic(path, buf.getvalue())


COLORS = ("#4472c4", "#ed7d31")


def write_plots(out_dir: Path, result: dict[str, Any]) -> list[Path]:
    labels = [c["label"] for c in result["configs"]]
    recs = result["records"]
    groups = [(w, p) for w in result["workloads"] for p in result["platforms"]]
    index = {(r["workload"], r["platform"], r["config"]): r for r in recs}
    written = []
    panels = list(METRICS)
    if any(r.get("accuracy") is not None for r in recs):
        panels.append(("accuracy", "accuracy (top-1)"))

    def draw_totals(plt):
        cols = 3
        rows = (len(panels) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
        x = np.arange(len(groups))
        for ax, (key, title) in zip(axes.flat, panels):
            for k, label in enumerate(labels):
                vals = [index.get((w, p, label), {}).get(key) for w, p in groups]
                ax.bar(x + (k - 0.5) * 0.4, [v if v is not None else 0 for v in vals], 0.4, label=label,
                       color=COLORS[k])
            ax.set_title(title, fontsize=10)
            ax.set_xticks(x, [f"{w}\n{p.split('-')[0]}" for w, p in groups], fontsize=7)
            positive = [r[key] for r in recs if isinstance(r.get(key), (int, float)) and r[key] > 0]
            if positive and max(positive) / min(positive) > 30:   # workloads differ by orders of magnitude
                ax.set_yscale("log")
                ax.set_ylim(bottom=min(positive) / 3)
                ax.set_title(title + " (log)", fontsize=10)
            ax.grid(axis="y", alpha=0.3)
        for ax in list(axes.flat)[len(panels):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"vbench study {result['study']}: {result['title']}", fontsize=11)
        fig.tight_layout()
        return fig

    _plot(out_dir / "totals.png", draw_totals)
    written.append(out_dir / "totals.png")
    a, b = labels
    comps = result["comparisons"]
    if comps:
        def draw_ratios(plt):
            fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(comps) + 2), 3.6))
            x = np.arange(len(comps))
            keys = [k for k, _ in METRICS if k != "latency_ms"]
            width = 0.8 / len(keys)
            for k, key in enumerate(keys):
                ax.bar(x + (k - (len(keys) - 1) / 2) * width, [c[f"{key}_ratio"] or 0 for c in comps], width,
                       label=dict(METRICS)[key].split(" (")[0])
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_xticks(x, [f"{c['workload']}\n{c['platform'].split('-')[0]}" for c in comps], fontsize=8)
            ax.set_ylabel(f"{b} / {a}")
            ax.set_title(f"vbench study {result['study']}: {b} relative to {a}", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            return fig

        _plot(out_dir / "ratios.png", draw_ratios)
        written.append(out_dir / "ratios.png")
    for w, p in groups:
        rows = [r for r in result["layers"] if r["workload"] == w and r["platform"] == p]
        if not rows:
            continue

        def draw_layers(plt, rows=rows, w=w, p=p):
            fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(rows) + 2), 3.6))
            x = np.arange(len(rows))
            for k, label in enumerate((a, b)):
                ax.bar(x + (k - 0.5) * 0.4, [r[f"cycles_{label}"] or 0 for r in rows], 0.4, label=label,
                       color=COLORS[k])
            names = [f"{r[f'layer_{a}'] if r[f'layer_{a}'] is not None else r[f'layer_{b}']} "
                     f"{r['op'].replace('DEPTHWISE_CONV_2D', 'DW').replace('FULLY_CONNECTED', 'FC')[:8]}" for r in rows]
            ax.set_xticks(x, names, fontsize=6, rotation=90)
            ax.set_ylabel("cycles per inference")
            ax.set_yscale("log")
            ax.set_title(f"{w} on {p}: cycles per layer ({a} vs {b})", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            return fig

        name = f"layers_{w}_{p}.png"
        _plot(out_dir / name, draw_layers)
        written.append(out_dir / name)
    return written


def write_study(out_dir: str | Path, result: dict[str, Any], plots: bool = True) -> list[Path]:
    """study.md, study.csv (totals), layers.csv, comparisons.csv, plots, then study.json (written last:
    its presence marks a complete set); every file replaced atomically."""
    out_dir = Path(out_dir)
    write_csv_atomic(out_dir / "study.csv", [_flat(r) for r in result["records"]])
    write_csv_atomic(out_dir / "layers.csv", result["layers"])
    write_csv_atomic(out_dir / "comparisons.csv", result["comparisons"])
    write_text_atomic(out_dir / "study.md", markdown(result))
    files = [out_dir / "study.md", out_dir / "study.csv", out_dir / "layers.csv", out_dir / "comparisons.csv"]
    if plots:
        files += write_plots(out_dir, result)
    write_json_atomic(out_dir / "study.json", result)
    return [out_dir / "study.json"] + files
