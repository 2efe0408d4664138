"""`vbench study NAME`: named comparisons over the four MLPerf Tiny workloads on the virtual boards,
written as a table (study.md, study.csv, layers.csv, comparisons.csv, study.json) and PNG plots.

Studies (the first configuration is the baseline every other one is compared with):

    precision     int8 model vs float32 model, on one kernel set (default: reference)
    data-reuse    reference kernels vs the board's optimized kernels (`[toolchain] kernels`: im2col and
                  register blocking reuse each loaded operand many times); int8 models
    sparsity      dense vs the same model on sparse kernels vs models pruned to 50% and 75% zeros
                  (transforms.prune_model) on sparse kernels (compile --weights sparse)
    compression   dense vs the model clustered to 16 weight values per layer (transforms.cluster_model),
                  stored dense and stored as 4-bit indices + table (compile --weights palette)
    winograd      direct vs Winograd F(2x2,3x3) 3x3 stride-1 convolutions (compile --winograd)
    kernels A B   two kernel variants (names under firmware/kernels/, `reference`, `optimized`, or
                  paths to directories of kernel files); int8 models

sparsity, compression and winograd run every configuration on one kernel set (`kernels`, default the
board's optimized variant).

Method. Per workload and configuration the model is transformed if the configuration says so (a new
.tflite, so TFLite's interpreter stays the golden model), compiled once, and the golden output of one
seeded random input is computed with TFLite's reference kernels. Per board, the model_check firmware
runs that input once from reset; the runtime's layer markers give cycles, instructions and energy per
layer (energy from the board's power model) and their sums give the inference. Latency is cycles over
the core clock. Footprint is measured as `vbench check-models` measures it: flash = text + data of the
linked image, RAM = arena + other static data (including the check firmware's input/output buffers)
+ the stack high-water mark. The output of every run is checked against TFLite: bit-exact for int8
(every encoding included), within FLOAT_RTOL of the output range (and the same top-1 class) for float32.

Accuracy where it can be measured (precision, sparsity, compression, the studies that change the
arithmetic): the KWS accuracy set (kws01, when present) runs through the host build of every distinct
model (the same C kernels as the firmware, bit-exact with the boards: every board run above is checked
against TFLite) and gives top-1 accuracy; for every workload each model's outputs are compared with the
reference model's (float32 for precision, the baseline otherwise) on N random inputs (top-1 agreement for
the classifiers, the anomaly score for AD). VWW, IC and AD have no public accuracy inputs here.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench import __version__
from vbench.errors import VbenchError
from vbench.paths import build_root
from vbench.platform import DEFAULT_PLATFORMS, load_platform
from vbench.report_io import write_csv_atomic, write_json_atomic, write_png_atomic, write_text_atomic
from vbench.workloads import IDS, WORKLOADS, by_id

DEFAULT_SEED = 20240
DEFAULT_AGREEMENT_INPUTS = 20
FLOAT_RTOL = 1e-4        # float32 outputs: max |y - y_tflite| <= FLOAT_RTOL * max |y_tflite|
IMPLEMENTED = ("precision", "data-reuse", "kernels", "sparsity", "compression", "winograd")
DEFAULT_SPARSITIES = (0.5, 0.75)
PALETTE_CLUSTERS = 16
METRICS = (("cycles", "cycles"), ("latency_ms", "latency (ms)"), ("energy_uj", "energy (uJ)"),
           ("flash_bytes", "flash (B)"), ("ram_bytes", "RAM (B)"))

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


# ====================================================================== what a study compares


@dataclass(frozen=True)
class Config:
    label: str                   # column name in the tables ("int8", "reference", ...)
    dtype: str = "int8"          # which model of the workload: "int8" or "float32"
    kernels: str | None = None   # None = reference, "optimized", a variant name or a directory path
    transform: str | None = None  # model transform first: "prune:<sparsity>" or "cluster:<k>" (int8)
    weights: str = "dense"       # weight encoding: dense, sparse, palette (vbench.compiler.encodings)
    winograd: bool = False       # 3x3 stride-1 CONV_2D as Winograd F(2x2,3x3)


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    question: str
    configs: tuple[Config, ...]  # the first is the baseline every other one is compared with
    notes: tuple[str, ...] = ()

    @property
    def a(self) -> Config:
        return self.configs[0]

    @property
    def b(self) -> Config:
        return self.configs[1]

    @property
    def others(self) -> tuple[Config, ...]:
        return self.configs[1:]


def _variant_label(spec: str) -> str:
    if spec in ("reference", "optimized"):
        return spec
    return Path(spec).name or spec


STUDY_DEFAULT_KERNELS = "default"


def make_study(name: str, args: list[str] | tuple[str, ...] = (), kernels: str | None = STUDY_DEFAULT_KERNELS,
               sparsities: tuple[float, ...] = DEFAULT_SPARSITIES) -> Study:
    """The Study for a name and its arguments (`kernels` takes two variants). `kernels` is the
    kernel set of every configuration of precision, sparsity, compression and winograd: "optimized"
    (each board's variant), None or "reference", or a variant name / directory; the default is the
    reference kernels for precision and the optimized ones for the others. `sparsities`: the pruning
    levels of the sparsity study. Raises VbenchError for anything unknown."""
    args = list(args)
    if name not in IMPLEMENTED:
        raise VbenchError(f"unknown study '{name}' (studies: {', '.join(IMPLEMENTED)})")
    if name != "kernels" and args:
        raise VbenchError(f"study '{name}' takes no arguments (got {' '.join(args)})")
    if name in ("data-reuse", "kernels") and kernels != STUDY_DEFAULT_KERNELS:
        raise VbenchError(f"study '{name}' compares kernel sets itself: --kernels does not apply")
    if kernels == STUDY_DEFAULT_KERNELS:
        kernels = None if name == "precision" else "optimized"
    if kernels == "reference":
        kernels = None
    if name in ENCODING_STUDIES:
        return _encoding_study(name, kernels, sparsities)
    if name == "precision":
        kset = kernels or "reference"
        return Study(name, f"int8 vs float32 models ({kset} kernels)",
                     "What does float32 cost over int8 in cycles, energy, flash and RAM, and what does it buy "
                     "in accuracy?",
                     (Config("int8", "int8", kernels), Config("float32", "float32", kernels)),
                     ("float32 runs the float models of the same workloads (models/*float*.tflite, "
                      "ad01_fp32.tflite); KWS float keeps int8 weights on its CONV_2D layers (TFLite hybrid "
                      "conv: input quantized at run time), so its flash is not 4x the int8 model's",
                      f"both use the {kset} kernels (int8 and float32 variants of the same set); the boards' "
                      "FPUs run the float kernels (fpv4-sp-d16 / RV32F)"))
    if name == "data-reuse":
        return Study(name, "reference vs optimized kernels (int8 models)",
                     "How much do the optimized kernels (im2col, register blocking: each loaded weight and "
                     "activation reused across several outputs) save over the reference kernels?",
                     (Config("reference", "int8", None), Config("optimized", "int8", "optimized")),
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
                 (Config(la, "int8", None if args[0] == "reference" else args[0]),
                  Config(lb, "int8", None if args[1] == "reference" else args[1])))


ENCODING_STUDIES = ("sparsity", "compression", "winograd")
ACCURACY_STUDIES = ("precision", "sparsity", "compression")   # the ones that change the arithmetic


def _encoding_study(name: str, kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    """sparsity, compression, winograd: the int8 model as it is (dense weights) against transformed
    and/or encoded versions of it, all on the same kernel set."""
    kset = kernels or "reference"
    on = f"{kset} kernels"
    if name == "sparsity":
        bad = [x for x in sparsities if not 0.0 < x < 1.0]
        if bad or not sparsities:
            raise VbenchError(f"sparsity levels must be in (0, 1), got {', '.join(map(str, sparsities)) or 'none'}")
        levels = sorted(set(sparsities))
        return Study(name, f"dense vs pruned models on sparse kernels ({on})",
                     "What do magnitude pruning and kernels that skip zero weights buy in cycles, energy and "
                     "flash, and what do they cost in accuracy?",
                     (Config("dense", "int8", kernels),
                      Config("sparse-kernels", "int8", kernels, None, "sparse"),
                      *(Config(f"pruned{round(x * 100)}", "int8", kernels, f"prune:{x:g}", "sparse") for x in levels)),
                     ("dense = the int8 model and dense kernels; sparse-kernels = the same model with --weights "
                      "sparse (only layers that are already mostly zeros change: VWW's late pointwise layers)",
                      "prunedNN = every CONV_2D and FULLY_CONNECTED layer pruned to NN% zeros by weight magnitude "
                      "(transforms.prune_model, no fine-tuning: the accuracy loss is an upper bound), on --weights "
                      "sparse: layers with >= SPARSE_MIN_ZEROS zeros keep only their non-zero weights",
                      "depthwise layers are not pruned (few weights, large accuracy cost)"))
    if name == "compression":
        k = PALETTE_CLUSTERS
        return Study(name, f"dense vs clustered {k}-value weights stored as 4-bit indices ({on})",
                     "What does 4-bit weight compression (clustering to 16 values per layer, indices + table in "
                     "flash, expanded into SRAM per layer) save in flash, and what does it cost in cycles, RAM and "
                     "accuracy?",
                     (Config("dense", "int8", kernels),
                      Config(f"clustered{k}", "int8", kernels, f"cluster:{k}"),
                      Config(f"palette{k}", "int8", kernels, f"cluster:{k}", "palette")),
                     (f"clustered{k} = every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layer reduced to {k} "
                      "int8 values (optimal 1-D k-means over its codes, transforms.cluster_model, no fine-tuning), "
                      "stored dense: the accuracy of the compressed model at the dense model's speed",
                      f"palette{k} = the same model with --weights palette: 4-bit indices and a 16-entry table per "
                      "layer in flash, expanded into an arena buffer before each CONV_2D / DEPTHWISE_CONV_2D "
                      "layer (the arena grows by the largest such buffer that does not fit beside the activations "
                      "live at its layer; those kernels then read weights from SRAM, without flash wait states); "
                      "FULLY_CONNECTED layers, whose weights are used once, look them up in the table as they go"))
    return Study(name, f"direct vs Winograd F(2x2,3x3) convolution ({on})",
                 "Does Winograd F(2x2,3x3) (16 instead of 36 multiplies per 2x2 output tile and input channel, "
                 "bit-exact in int8 with integer-scaled transforms) pay on these cores?",
                 (Config("direct", "int8", kernels), Config("winograd", "int8", kernels, None, "dense", True)),
                 ("only 3x3 stride-1 CONV_2D layers are eligible: IC (ResNet-8) has them; KWS and VWW have only "
                  "depthwise 3x3 and strided first layers, AD none, so their figures do not change",
                  "transformed weights are int16 and 16 per 9 taps: 3.6x the flash of the layer's int8 weights"))


# ====================================================================== models and inputs


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
    dst = build_root() / "study" / "transforms" / f"{path.stem}-{kind}{value}-{sha}.tflite"
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
    ok = rel <= FLOAT_RTOL and (not by_id(workload).classifier or int(np.argmax(y)) == int(np.argmax(ref)))
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
        "transform": cfg.transform, "weights": cfg.weights, "winograd": cfg.winograd,
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
        elif s is not None and s.encoding:
            kernel = s.encoding
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


def kws_accuracy(hosts: dict[str, Any], folder: Path, limit: int | None,
                 dtypes: dict[str, str] | None = None, baseline: str | None = None) -> dict[str, Any]:
    """Top-1 accuracy of each host model (keyed by configuration label; `dtypes` maps a label to its
    model's dtype, default: the label itself, "int8" or "float32") on the KWS accuracy files (int8
    features; a float model gets them dequantized with the int8 model's input quantization).
    top1_agreement: the share of files on which every model picks the same class;
    agreement_with_baseline[label]: the share on which that model picks the baseline's class."""
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
    for name, label in rows:
        codes = np.frombuffer((folder / name).read_bytes(), np.int8)
        top = {}
        for cfg, host in hosts.items():
            d = dtypes[cfg]
            top[cfg] = int(np.argmax(output_values("kws", d, host.run(model_input("kws", d, codes)))))
            correct[cfg] += top[cfg] == label
        same += len(set(top.values())) == 1
        for cfg in hosts:
            with_base[cfg] += top[cfg] == top[baseline]
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
    """Per workload x platform x non-baseline configuration: that configuration over the
    baseline for each total metric."""
    index = {(r["workload"], r["platform"], r["config"]): r for r in records}
    out = []
    for (w, p, label), ra in index.items():
        if label != study.a.label:
            continue
        for other in study.others:
            rb = index.get((w, p, other.label))
            if rb is None:
                continue
            row = {"workload": w, "platform": p, "a": study.a.label, "b": other.label}
            for key, _ in METRICS:
                row[f"{key}_ratio"] = _ratio(rb.get(key), ra.get(key))
            row["speedup"] = _ratio(ra.get("cycles"), rb.get("cycles"))
            out.append(row)
    return out


def layer_rows(study: Study, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aligned per-layer rows for every workload x platform: the baseline's layers with every other
    configuration's matching layer beside them (columns <metric>_<label>; cycles_ratio_<label> =
    that configuration over the baseline; with two configurations also cycles_ratio)."""
    index = {(r["workload"], r["platform"], r["config"]): r for r in records}
    la = study.a.label
    rows = []
    for (w, p, label), ra in index.items():
        if label != la or not ra.get("layers"):
            continue
        base = [{"workload": w, "platform": p, f"layer_{la}": x["layer"], "op": x["op"],
                 "output_shape": x["output_shape"], "macs": x["macs"], f"kernel_{la}": x["kernel"],
                 **{f"{k}_{la}": x[k] for k in ("cycles", "instructions", "latency_ms", "energy_uj")}}
                for x in ra["layers"]]
        extra = []
        for other in study.others:
            lb = other.label
            rb = index.get((w, p, lb))
            for row in base:
                row.update({f"layer_{lb}": None, f"kernel_{lb}": None,
                            **{f"{k}_{lb}": None for k in ("cycles", "instructions", "latency_ms", "energy_uj")}})
            if rb is None or not rb.get("layers"):
                continue
            position = {id(x): i for i, x in enumerate(ra["layers"])}
            for x, y in align_layers(ra["layers"], rb["layers"]):
                if y is None:
                    continue
                if x is None:   # a layer only this configuration has
                    row = {"workload": w, "platform": p, f"layer_{la}": None, "op": y["op"],
                           "output_shape": y["output_shape"], "macs": y["macs"]}
                    extra.append(row)
                else:
                    row = base[position[id(x)]]
                row.update({f"layer_{lb}": y["layer"], f"kernel_{lb}": y["kernel"],
                            **{f"{k}_{lb}": y[k] for k in ("cycles", "instructions", "latency_ms", "energy_uj")}})
        for row in base + extra:
            for other in study.others:
                row[f"cycles_ratio_{other.label}"] = _ratio(row.get(f"cycles_{other.label}"), row.get(f"cycles_{la}"))
            if len(study.configs) == 2:
                row["cycles_ratio"] = row[f"cycles_ratio_{study.b.label}"]
        rows += base + extra
    return rows


def run_study(study: Study, workloads: list[str] | None = None, platforms: list[str] | None = None,
              seed: int = DEFAULT_SEED, workers: int = 1, dataset: Path | None | bool = None,
              accuracy_limit: int | None = None, agreement_inputs: int = DEFAULT_AGREEMENT_INPUTS,
              progress: Progress = _quiet) -> dict[str, Any]:
    """Run every workload x configuration x board once; returns the study result (records,
    comparisons, per-layer rows, accuracy). `dataset`: None = the KWS set when present, False =
    no dataset accuracy, a Path = that folder (EEMBC root or kws01 itself)."""
    from vbench.compiler.kernel_sources import resolve_kernels

    workloads = list(workloads or IDS)
    bad = [w for w in workloads if w not in IDS]
    if bad:
        raise VbenchError(f"unknown workload {', '.join(bad)} (known: {', '.join(IDS)})")
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
            progress(f"{w}/{cfg.label}: compiling {by_id(w).model_path(cfg.dtype).name} and its golden output")
            prepared[(w, cfg.label)] = prepare(w, cfg, seed)
    jobs = [MeasureJob(study.name, prepared[(w, cfg.label)], p) for w in workloads for cfg in study.configs
            for p in plats]
    progress(f"{len(jobs)} board runs on {workers} worker(s)")
    records = _run_jobs(jobs, workers, progress)

    accuracy: dict[str, Any] = {}
    if study.name in ACCURACY_STUDIES:   # the others change no arithmetic (checked bit-exact per run)
        from vbench.compiler import HostModel

        dtypes = {cfg.label: cfg.dtype for cfg in study.configs}
        for w in workloads:
            # one host build per distinct model (the encodings of one model compute the same outputs)
            hosts, seen = {}, {}
            for cfg in study.configs:
                case = prepared[(w, cfg.label)].case
                key = (str(case.path), cfg.dtype)
                if key not in seen:
                    seen[key] = cfg.label
                    hosts[cfg.label] = HostModel(case.compiled.out_dir)
            entry: dict[str, Any] = {"same_model_as": {c.label: seen[(str(prepared[(w, c.label)].case.path), c.dtype)]
                                                       for c in study.configs}}
            if agreement_inputs and len(hosts) > 1:
                progress(f"{w}: output agreement of {', '.join(hosts)} on {agreement_inputs} random inputs (host builds)")
                entry["agreement"] = agreement(w, hosts, agreement_inputs, seed, dtypes,
                                               "float32" if study.name == "precision" else study.a.label)
            if w == "kws" and folder is not None:
                progress(f"kws: accuracy of {', '.join(hosts)} on {folder} (host builds)")
                entry["dataset"] = {"folder": str(folder),
                                    **kws_accuracy(hosts, folder, accuracy_limit, dtypes, study.a.label)}
            accuracy[w] = entry
        for r in records:
            entry = accuracy.get(r["workload"], {})
            source = entry.get("same_model_as", {}).get(r["config"], r["config"])
            ds = entry.get("dataset", {}).get(source)
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
                    "present, are the accuracy)" for w in (x.id for x in WORKLOADS if x.classifier)}


def markdown(result: dict[str, Any]) -> str:
    out = io.StringIO()
    labels = [c["label"] for c in result["configs"]]
    a, others = labels[0], labels[1:]
    out.write(f"# vbench study {result['study']}: {result['title']}\n\n{result['question']}\n\n")
    out.write(f"Baseline **{a}**, compared with " + ", ".join(f"**{x}**" for x in others) + f"; workloads {', '.join(result['workloads'])}; boards "
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
    out.write(f"\n## Relative to {a} (config / {a})\n\n| workload | platform | config | speedup ({a}/config cycles) | "
              "cycles | latency | energy | flash | RAM |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
    for c in result["comparisons"]:
        out.write(f"| {c['workload']} | {c['platform']} | {c['b']} | {_fmt(c['speedup'])}x | " + " | ".join(
            f"{_fmt(c[f'{k}_ratio'])}x" for k, _ in METRICS[:3]) + " | " + " | ".join(
            f"{_fmt(c[f'{k}_ratio'])}x" for k, _ in METRICS[3:]) + " |\n")
    acc = result.get("accuracy") or {}
    if acc:
        out.write("\n## Accuracy (host builds of the same kernels, bit-exact with the boards)\n\n")
        for w, entry in acc.items():
            same = entry.get("same_model_as", {})
            ds = entry.get("dataset")
            if ds and ds.get(a) is not None:
                parts = [f"{x} {ds[same.get(x, x)]['accuracy'] * 100:.2f}%" for x in labels if same.get(x, x) in ds]
                agree = ds.get("agreement_with_baseline", {})
                out.write(f"- {w}: top-1 accuracy on {ds[a]['files']} files of {ds['folder']}: " + ", ".join(parts)
                          + ("; same class as " + a + ": " + ", ".join(f"{x} {v * 100:.1f}%" for x, v in agree.items())
                             if agree else "") + "\n")
            ag = entry.get("agreement")
            if ag:
                for x, m in ag["configs"].items():
                    extra = (f"top-1 agreement {m['top1_agreement'] * 100:.0f}%" if "top1_agreement" in m else
                             f"anomaly score differs by {m['score_rel_diff_mean'] * 100:.2f}% on average "
                             f"(max {m['score_rel_diff_max'] * 100:.2f}%)")
                    out.write(f"- {w}: {x} vs {ag['reference']} on {ag['inputs']} uniform random inputs"
                              f"{RANDOM_CAVEAT.get(w, '')}: {extra}; output difference "
                              f"{m['mean_output_error'] * 100:.2f}% of the {ag['reference']} output range on average "
                              f"(max {m['max_output_error'] * 100:.2f}%)\n")
            shared = sorted({x for x, y in same.items() if x != y})
            if shared:
                out.write(f"- {w}: " + ", ".join(f"{x} computes what {same[x]} computes" for x in shared)
                          + " (same model, another weight encoding)\n")
    out.write(f"\nfloat32 outputs are checked against TFLite's float reference kernels: max error <= "
              f"{result['float_rtol']:g} x output range and the same top-1 class; int8 outputs bit-exact.\n")
    for w in result["workloads"]:
        for p in result["platforms"]:
            rows = [r for r in result["layers"] if r["workload"] == w and r["platform"] == p]
            if not rows:
                continue
            head = (f"| # {a} | op | output | MACs | " + " | ".join(f"cycles {x}" for x in labels) + " | "
                    + " | ".join(f"{x}/{a}" for x in others) + " | " + " | ".join(f"energy {x} (uJ)" for x in labels)
                    + " | kernels |")
            out.write(f"\n## Layers: {w} on {p}\n\n{head}\n|---:|---|---|---:|" + "---:|" * (2 * len(labels) + len(others))
                      + "---|\n")
            for r in rows:
                kinds = [r.get(f"kernel_{x}") or "-" for x in labels]
                kinds_text = kinds[0] if len(set(kinds)) == 1 else "/".join(kinds)
                out.write(f"| {_fmt(r[f'layer_{a}'])} | {r['op']} | {r['output_shape']} | {_fmt(r['macs'])} | "
                          + " | ".join(_fmt(r.get(f"cycles_{x}")) for x in labels) + " | "
                          + " | ".join(_fmt(r.get(f"cycles_ratio_{x}")) for x in others) + " | "
                          + " | ".join(_fmt(r.get(f"energy_uj_{x}"), 2) for x in labels) + f" | {kinds_text} |\n")
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
    text.append("")
    for c in result["comparisons"]:
        text.append(f"{c['workload']}/{c['platform']}: {c['b']} vs {c['a']}: speedup {_fmt(c['speedup'])}x, energy "
                    f"{_fmt(c['energy_uj_ratio'])}x, flash {_fmt(c['flash_bytes_ratio'])}x, RAM {_fmt(c['ram_bytes_ratio'])}x")
    return "\n".join(text)


COLORS = ("#4472c4", "#ed7d31", "#a5a5a5", "#ffc000", "#5b9bd5", "#70ad47")


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
            width = 0.8 / len(labels)
            for k, label in enumerate(labels):
                vals = [index.get((w, p, label), {}).get(key) for w, p in groups]
                ax.bar(x + (k - (len(labels) - 1) / 2) * width, [v if v is not None else 0 for v in vals], width,
                       label=label, color=COLORS[k % len(COLORS)])
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

    write_png_atomic(out_dir / "totals.png", draw_totals, dpi=100)
    written.append(out_dir / "totals.png")
    a = labels[0]
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
            ax.set_xticks(x, [f"{c['workload']}\n{c['platform'].split('-')[0]}\n{c['b']}" for c in comps], fontsize=7)
            ax.set_ylabel(f"config / {a}")
            ax.set_title(f"vbench study {result['study']}: relative to {a}", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            return fig

        write_png_atomic(out_dir / "ratios.png", draw_ratios, dpi=100)
        written.append(out_dir / "ratios.png")
    for w, p in groups:
        rows = [r for r in result["layers"] if r["workload"] == w and r["platform"] == p]
        if not rows:
            continue

        def draw_layers(plt, rows=rows, w=w, p=p):
            fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(rows) + 2), 3.6))
            x = np.arange(len(rows))
            width = 0.8 / len(labels)
            for k, label in enumerate(labels):
                ax.bar(x + (k - (len(labels) - 1) / 2) * width, [r.get(f"cycles_{label}") or 0 for r in rows], width,
                       label=label, color=COLORS[k % len(COLORS)])
            names = [f"{r[f'layer_{a}'] if r[f'layer_{a}'] is not None else ''} "
                     f"{r['op'].replace('DEPTHWISE_CONV_2D', 'DW').replace('FULLY_CONNECTED', 'FC')[:8]}" for r in rows]
            ax.set_xticks(x, names, fontsize=6, rotation=90)
            ax.set_ylabel("cycles per inference")
            ax.set_yscale("log")
            ax.set_title(f"{w} on {p}: cycles per layer ({' vs '.join(labels)})", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            return fig

        name = f"layers_{w}_{p}.png"
        write_png_atomic(out_dir / name, draw_layers, dpi=100)
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
