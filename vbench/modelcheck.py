"""`vbench check-models`: each int8 model through the golden model, the host build and the real
firmware on every virtual board, with measured footprints.

Per model: compile once (`compile_model`), load the golden model (TFLite BUILTIN_REF) and the
host build (`HostModel`), make the inputs (random with a fixed seed, plus dataset files whose
size matches the input tensor, e.g. the KWS accuracy set) and compute the golden outputs.

Per model and board: build `firmware/apps/model_check` with the model once (reference kernels, or
with `kernels="optimized"` the variant the board's platform file names in `[toolchain] kernels`,
or a named variant directory), then for every input
start a fresh board from the same image, write the input bytes into `vb_check_input` (a NOLOAD
buffer that start-up leaves alone), run to exit and read `vb_check_output`. Instructions and
cycles per inference are the sums over the runtime's layer markers (`Board.profile()` layers);
the stack high-water mark is what the run left of the 0xA5A5A5A5 fill pattern between
`__stack_bottom` and `__stack_top`.

Footprint (all measured on the linked image and the run, nothing estimated):
    flash_bytes = text + rodata + data of the image (code, weights, initial values)
    ram_bytes   = arena + static (.data + .bss + NOLOAD sections, arena excluded) + stack high-water
The arena goes into .bss; when the linker says the main RAM region overflows it is moved to the
.sram3 section (SRAM3 on the Nucleo). A model that cannot be linked, whose stack use reaches the
end of the reserved stack, or whose measured total exceeds the board's memories, is reported as
not fitting, with the model, the board and the overflow in bytes.
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench.errors import VbenchError
from vbench.paths import MODELS_DIR, REPO_ROOT, build_root
from vbench.platform import DEFAULT_PLATFORMS, Platform, load_platform
from vbench.workloads import WORKLOADS

DEFAULT_MODELS = tuple(w.model_file for w in WORKLOADS)
DEFAULT_INPUTS = 5
DEFAULT_SEED = 20240
APP = "model_check"
STACK_FILL = 0xA5A5A5A5
MAX_INSTRUCTIONS = 4_000_000_000  # per inference run; the biggest reference model needs < 0.3 G
STATUS_NOT_FINISHED = 0x7FFFFFFF
ARENA_IN_SRAM3 = '__attribute__((section(".sram3.vb_arena")))'

Progress = Callable[[str], None]


class FitError(VbenchError):
    """A model does not fit a board (link overflow, stack overflow or measured total too big)."""

    exit_code = 1


def _quiet(_msg: str) -> None:
    pass


def stderr_progress(msg: str) -> None:
    print(f"check-models: {msg}", file=sys.stderr, flush=True)


# ====================================================================== models and inputs


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
    folder next to the repository. The files are never shipped with vbench."""
    env = os.environ.get("VBENCH_DATASETS")
    root = Path(env) if env else REPO_ROOT.parent / "shared" / "datasets"
    d = root / "kws01"
    return d if d.is_dir() else None


def resolve_model_path(spec: str | Path) -> Path:
    """A path to a .tflite file, or the name of one in models/ (with or without .tflite)."""
    p = Path(spec)
    if not p.exists():
        for cand in (MODELS_DIR / str(spec), MODELS_DIR / f"{spec}.tflite"):
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
    root = build_root() / "check-models"
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
        diff = _diff_bytes(h, g)
        if diff:
            host_mismatches += diff
            host_bad.append(name)
    progress(f"{label}: {len(data)} inputs ({len(data) - len(files)} random, {len(files)} from dataset), "
             f"host build {'bit-exact' if not host_bad else f'differs on {len(host_bad)}'}")
    return ModelCase(label, path, compiled, data, names, expected, host_mismatches, host_bad,
                     len(data) - len(files), len(files), dataset if files else None)


def _diff_bytes(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return max(len(a), len(b))
    diff = int(np.count_nonzero(np.frombuffer(a[:n], np.uint8) != np.frombuffer(b[:n], np.uint8)))
    return diff + abs(len(a) - len(b))


# ====================================================================== firmware


_OVERFLOW_RE = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes")
_ASSERT_RE = re.compile(r"(vbench: [^\n]*overlap[^\n]*)")


def _link_overflow(msg: str) -> tuple[list[tuple[str, int]], list[str]] | None:
    regions = [(m.group(1), int(m.group(2))) for m in _OVERFLOW_RE.finditer(msg)]
    asserts = sorted(set(_ASSERT_RE.findall(msg)))
    if regions or asserts or "will not fit in region" in msg:
        return regions, asserts
    return None


@dataclass
class CheckImage:
    elf: Path
    arena_section: str             # ".bss" or ".sram3"
    sizes: dict[str, int]          # elf_sizes: text, data, bss
    symbol_sizes: dict[str, tuple[int, int]]  # name -> (address, size)


def _symbol_table(elf: Path) -> dict[str, tuple[int, int]]:
    from elftools.elf.elffile import ELFFile

    out: dict[str, tuple[int, int]] = {}
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab is not None else ():
            if sym.name and not sym.name.startswith("$"):
                out.setdefault(sym.name, (sym["st_value"], sym["st_size"]))
    return out


def build_check_image(case: ModelCase, plat: Platform, progress: Progress = _quiet,
                      kernels: str | None = None) -> CheckImage:
    """The model_check firmware with this model for this board (cached by content), with the
    reference kernels or the `kernels` choice (see kernel_sources.resolve_kernels). Raises
    FitError naming the model, the board and the overflow when it cannot be linked."""
    from vbench.compiler import firmware_sources
    from vbench.compiler.kernel_sources import resolve_kernels
    from vbench.firmware import build_firmware, elf_sizes

    fw = firmware_sources(case.compiled.out_dir, resolve_kernels(kernels, plat))
    base = {"VB_CHECK_INPUT_BYTES": case.compiled.input.bytes,
            "VB_CHECK_OUTPUT_BYTES": case.compiled.output.bytes}
    failures = []
    for section, extra in ((".bss", {}), (".sram3", {"VB_ARENA_ATTRIBUTES": ARENA_IN_SRAM3})):
        try:
            elf = build_firmware(APP, plat, extra_sources=fw.sources, include_dirs=fw.include_dirs,
                                 defines={**base, **fw.defines, **extra})
        except VbenchError as exc:
            over = _link_overflow(str(exc))
            if over is None:
                raise
            failures.append((section, over))
            progress(f"{case.label} on {plat.name}: arena in {section} does not link")
            continue
        syms = _symbol_table(elf)
        return CheckImage(elf, section, elf_sizes(elf), syms)
    parts = []
    for section, (regions, asserts) in failures:
        what = ", ".join(f"region {r} overflowed by {n:,} B" for r, n in regions) or "; ".join(asserts) \
            or "a section does not fit its region"
        parts.append(f"arena in {section}: {what}")
    c = case.compiled
    raise FitError(f"model {case.label} does not fit {plat.name}: {'; '.join(parts)} "
                   f"(arena {c.arena_bytes:,} B, check I/O buffers {c.input.bytes + c.output.bytes:,} B, "
                   f"constants {c.const_bytes:,} B)")


def _host_buffer(board, addr: int, length: int):
    """(ctypes address) of the host memory backing [addr, addr + length) if it is a plain memory
    of the board (flash included), else None."""
    hosts = getattr(board, "_hosts", None)
    if not hosts:
        return None
    for m in board.memories:
        for base in (m.base, *m.aliases):
            if base <= addr and addr + length <= base + m.size and m.name in hosts:
                return ctypes.addressof(hosts[m.name]) + (addr - base)
    return None


def poke(board, addr: int, data: bytes) -> None:
    """Write bytes into the simulated memory before (or between) runs. Flash pages that the
    timing model serves through MMIO are written in their backing store."""
    host = _host_buffer(board, addr, len(data))
    if host is not None:
        ctypes.memmove(host, bytes(data), len(data))
    else:
        board.uc.mem_write(addr, bytes(data))


def peek(board, addr: int, length: int) -> bytes:
    host = _host_buffer(board, addr, length)
    if host is not None:
        return ctypes.string_at(host, length)
    return bytes(board.uc.mem_read(addr, length))


@dataclass
class InferenceRun:
    name: str
    output: bytes
    status: int
    exit: str
    exit_code: int | None
    message: str
    instructions: int              # per inference (sum over the layer markers)
    cycles: int
    energy_uj: float
    time_ms: float                 # at the clock the run ended with (inference runs after clock set-up)
    layers: int                    # layers seen by the markers
    run_instructions: int          # whole run (start-up, init, copy, exit)
    run_cycles: int
    target_cycles: int             # on-target counter across set_input + invoke + copy
    stack_high_water: int
    stack_overflow: bool
    clock_hz: float


def run_inference(plat: Platform, image, check: CheckImage, case: ModelCase, data: bytes, name: str,
                  flips: tuple[tuple[str, int], ...] = ()) -> InferenceRun:
    """One fresh board, the input written into vb_check_input, one run to exit."""
    from vbench.sim.board import Board

    syms = check.symbol_sizes
    board = Board(plat, image, max_instructions=MAX_INSTRUCTIONS)
    try:
        poke(board, syms["vb_check_input"][0], data)
        for symbol, offset in flips:
            if symbol not in syms:
                raise VbenchError(f"no symbol '{symbol}' in {check.elf}")
            addr = syms[symbol][0] + offset
            poke(board, addr, bytes([peek(board, addr, 1)[0] ^ 0xFF]))
        result = board.run()
        prof = board.profile()
        layers = [r for r in prof["layers"] if r["layer"] is not None]
        out = peek(board, syms["vb_check_output"][0], case.compiled.output.bytes)
        status = int.from_bytes(peek(board, syms["vb_check_status"][0], 4), "little", signed=True)
        target = int.from_bytes(peek(board, syms["vb_check_cycles"][0], 4), "little")
        bottom, top = syms["__stack_bottom"][0], syms["__stack_top"][0]
        words = np.frombuffer(peek(board, bottom, top - bottom), "<u4")
        used = np.flatnonzero(words != STACK_FILL)
        first = int(used[0]) if used.size else len(words)
        high_water = (len(words) - first) * 4
        return InferenceRun(
            name=name, output=out, status=status, exit=result.exit, exit_code=result.exit_code,
            message=result.message, instructions=sum(r["instructions"] for r in layers),
            cycles=sum(r["cycles"] for r in layers), energy_uj=sum(r["energy_uj"] for r in layers),
            time_ms=sum(r["cycles"] for r in layers) / result.clock_hz * 1e3 if result.clock_hz else 0.0,
            layers=len(layers),
            run_instructions=result.instructions, run_cycles=result.cycles, target_cycles=target,
            stack_high_water=high_water, stack_overflow=first == 0 and len(words) > 0,
            clock_hz=result.clock_hz)
    finally:
        board.close()


@dataclass
class FirmwareJob:
    case: ModelCase
    platform: str
    flips: tuple[tuple[str, int], ...] = ()   # (symbol, byte offset) XORed with 0xFF before each run
    progress: bool = False
    kernels: str | None = None                # None/"reference", "optimized" or a variant name


def _capacities(plat: Platform) -> tuple[int, int]:
    flash = sum(m.size for m in plat.memories if m.kind == "flash")
    sram = sum(m.size for m in plat.memories if m.kind == "sram")
    return flash, sram


def fit_problems(plat: Platform, flash_bytes: int, ram_bytes: int, data_bytes: int) -> list[str]:
    """Measured footprint against the board: code and weights in flash and the rest in SRAM,
    or (no flash, code runs from SRAM) everything in SRAM, .data counted once."""
    flash_cap, sram_cap = _capacities(plat)
    problems = []
    if flash_cap:
        if flash_bytes > flash_cap:
            problems.append(f"flash {flash_bytes:,} B > {flash_cap:,} B (overflow {flash_bytes - flash_cap:,} B)")
        if ram_bytes > sram_cap:
            problems.append(f"SRAM {ram_bytes:,} B > {sram_cap:,} B (overflow {ram_bytes - sram_cap:,} B)")
    else:
        total = flash_bytes + ram_bytes - data_bytes
        if total > sram_cap:
            problems.append(f"image + RAM {total:,} B > SRAM {sram_cap:,} B (overflow {total - sram_cap:,} B)")
    return problems


def check_on_platform(job: FirmwareJob) -> dict[str, Any]:
    """Build once, run every input, compare with golden; one result row."""
    from vbench.sim.elf import load_image

    from vbench.compiler.kernel_sources import resolve_kernels

    case, progress = job.case, (stderr_progress if job.progress else _quiet)
    plat = load_platform(job.platform)
    c = case.compiled
    variant = resolve_kernels(job.kernels, plat)
    flash_cap, sram_cap = _capacities(plat)
    row: dict[str, Any] = {
        "model": case.label, "platform": plat.name, "bit_exact": False, "mismatches": None,
        "flash_bytes": None, "ram_bytes": None, "instructions": None, "cycles": None,
        "inputs": len(case.inputs), "random_inputs": case.random_inputs, "dataset_inputs": case.dataset_inputs,
        "host_bit_exact": not case.host_bad_inputs, "arena_bytes": c.arena_bytes,
        "arena_lower_bound": c.arena_lower_bound, "weight_bytes": c.weight_bytes, "const_bytes": c.const_bytes,
        "flash_capacity": flash_cap, "sram_capacity": sram_cap, "fits": None, "error": None,
        "kernels": variant or "reference", "weights": c.weights, "winograd": c.winograd,
    }
    t0 = time.perf_counter()
    progress(f"{case.label} on {plat.name}: building")
    try:
        check = build_check_image(case, plat, progress, variant)
    except FitError as exc:
        row.update(fits=False, error=str(exc))
        progress(str(exc))
        return row
    image = load_image(check.elf)
    runs: list[InferenceRun] = []
    for i, (name, data) in enumerate(zip(case.input_names, case.inputs)):
        r = run_inference(plat, image, check, case, data, name, job.flips)
        runs.append(r)
        if r.exit != "exit" or r.exit_code != 0 or r.status != 0:
            break
        if job.progress and (i + 1 == len(case.inputs) or (i + 1) % 5 == 0):
            progress(f"{case.label} on {plat.name}: {i + 1}/{len(case.inputs)} inputs "
                     f"({time.perf_counter() - t0:.1f} s)")

    per_input, mismatches, bad = [], 0, []
    for r, expected in zip(runs, case.expected):
        diff = _diff_bytes(r.output, expected) if r.status == 0 else len(expected)
        mismatches += diff
        if diff:
            bad.append(r.name)
        per_input.append({"input": r.name, "bit_exact": diff == 0, "mismatches": diff,
                          "instructions": r.instructions, "cycles": r.cycles})
    last = runs[-1]
    failed = last.exit != "exit" or last.exit_code != 0 or last.status != 0
    sizes = check.sizes
    arena_size = check.symbol_sizes.get("vb_arena", (0, c.arena_bytes))[1]
    static = sizes["data"] + sizes["bss"] - arena_size
    # the check's own input and output copies (a real harness also holds a receive buffer)
    io_buffers = sum(check.symbol_sizes[s][1] for s in ("vb_check_input", "vb_check_output"))
    stack_hw = max(r.stack_high_water for r in runs)
    stack_reserved = check.symbol_sizes["__stack_top"][0] - check.symbol_sizes["__stack_bottom"][0]
    flash_bytes = sizes["text"] + sizes["data"]
    ram_bytes = arena_size + static + stack_hw
    instr = [r.instructions for r in runs]
    cyc = [r.cycles for r in runs]
    problems = fit_problems(plat, flash_bytes, ram_bytes, sizes["data"])
    if any(r.stack_overflow for r in runs):
        problems.append(f"stack used all of its {stack_reserved:,} B reservation (overflow)")
    row.update({
        "bit_exact": not failed and mismatches == 0 and len(runs) == len(case.inputs),
        "mismatches": mismatches + sum(len(e) for e in case.expected[len(runs):]),
        "mismatching_inputs": bad,
        "flash_bytes": flash_bytes, "ram_bytes": ram_bytes,
        "instructions": int(round(float(np.mean(instr)))), "cycles": int(round(float(np.mean(cyc)))),
        "instructions_min": min(instr), "instructions_max": max(instr),
        "cycles_min": min(cyc), "cycles_max": max(cyc),
        "time_ms": float(np.mean([r.time_ms for r in runs])),
        "energy_uj": float(np.mean([r.energy_uj for r in runs])),
        "clock_hz": last.clock_hz, "layers": last.layers, "model_layers": len(c.layers),
        "target_cycles": last.target_cycles, "run_instructions": last.run_instructions,
        "static_bytes": static, "io_buffer_bytes": io_buffers, "stack_bytes": stack_hw, "stack_reserved": stack_reserved,
        "text_bytes": sizes["text"], "data_bytes": sizes["data"], "bss_bytes": sizes["bss"],
        "arena_section": check.arena_section, "arena_linked_bytes": arena_size,
        "fits": not problems, "elf": str(check.elf), "wall_s": round(time.perf_counter() - t0, 3),
        "per_input": per_input,
    })
    if failed:
        row["error"] = (f"firmware run '{last.name}' ended with {last.exit} code {last.exit_code}, "
                        f"runtime status {last.status}" + (f": {last.message}" if last.message else ""))
    elif problems:
        row["error"] = f"model {case.label} does not fit {plat.name}: " + "; ".join(problems)
    if row["error"]:
        progress(row["error"])
    progress(f"{case.label} on {plat.name}: {'bit-exact' if row['bit_exact'] else f'{mismatches} mismatching bytes'}, "
             f"{row['instructions']:,} instructions, {row['cycles']:,} cycles per inference "
             f"({row['wall_s']:.1f} s)")
    return row


def run_jobs(jobs: list[FirmwareJob], workers: int = 1) -> list[dict[str, Any]]:
    """Results in job order. Workers are spawned processes (the parent holds TFLite and ctypes
    libraries, which fork does not copy safely); the most expensive jobs start first."""
    workers = max(1, min(workers, len(jobs)))
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.isfile(main_file):
        workers = 1  # spawned workers re-import __main__, which a script read from stdin is not
    if workers == 1:
        return [check_on_platform(j) for j in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].case.compiled.total_macs * len(jobs[i].case.inputs))
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {i: pool.submit(check_on_platform, jobs[i]) for i in order}
            return [futures[i].result() for i in range(len(jobs))]
    except BrokenProcessPool:
        # e.g. a parent whose __main__ cannot be re-imported (a script read from stdin)
        print("check-models: worker processes unavailable; running the checks one by one",
              file=sys.stderr, flush=True)
        return [check_on_platform(j) for j in jobs]


def check_models(models: list[str | Path] | None = None, platforms: list[str] | None = None,
                 inputs: int = DEFAULT_INPUTS, seed: int = DEFAULT_SEED, dataset: Path | None | bool = None,
                 dataset_inputs: int | None = None, workers: int = 1, progress: bool = False,
                 flips: tuple[tuple[str, int], ...] = (), kernels: str | None = None, weights: str = "dense",
                 winograd: bool = False) -> list[dict[str, Any]]:
    """The whole check; rows model-major, platform-minor. `dataset=None` uses the default KWS set
    when present, False none, a Path that folder. `kernels`: None/"reference", "optimized" (each
    board's `[toolchain] kernels` variant) or a variant directory name. `weights` / `winograd`:
    the compiler's weight encodings (vbench.compiler.encodings), checked against TFLite on the
    model as it is. Raises VbenchError on bad input."""
    from vbench.compiler.kernel_sources import resolve_kernels

    if inputs < 1:
        raise VbenchError(f"--inputs must be at least 1, not {inputs}")
    if dataset_inputs is not None and dataset_inputs < 0:
        raise VbenchError(f"--dataset-inputs must be 0 or more, not {dataset_inputs}")
    plats = [load_platform(p).name for p in (platforms or DEFAULT_PLATFORMS)]
    for p in plats:
        resolve_kernels(kernels, load_platform(p))  # unknown variant / board without one: fail early
    if dataset is None:
        folder = default_dataset_dir()
    elif dataset is False:
        folder = None
    else:
        folder = Path(dataset)
        if not folder.is_dir():
            raise VbenchError(f"dataset directory not found: {dataset}")
    paths = [resolve_model_path(m) for m in (models or [MODELS_DIR / m for m in DEFAULT_MODELS])]
    say = stderr_progress if progress else _quiet
    cases = [prepare_model(p, inputs, seed, folder, dataset_inputs, say, weights, winograd) for p in paths]
    if folder is not None and dataset is not None and dataset is not False and not any(c.dataset_inputs for c in cases):
        say(f"no file in {folder} has the input size of a checked model; dataset not used")
    jobs = [FirmwareJob(c, p, flips, progress, kernels) for c in cases for p in plats]
    return run_jobs(jobs, workers)


# ====================================================================== report


def _fmt(v, spec=","):
    return "-" if v is None else format(v, spec)


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'model':<18} {'platform':<15} {'exact':<5} {'mism':>5} {'inputs':>7} {'instr/inf':>13} "
            f"{'cycles/inf':>13} {'ms/inf':>8} {'flash B':>10} {'RAM B':>9}  {'arena/static/stack B':<24} fits")
    lines = [head, "-" * len(head)]
    for r in rows:
        inputs = f"{r['random_inputs']}+{r['dataset_inputs']}" if r.get("dataset_inputs") else str(r["inputs"])
        split = (f"{_fmt(r.get('arena_linked_bytes'))}/{_fmt(r.get('static_bytes'))}/{_fmt(r.get('stack_bytes'))}"
                 if r.get("ram_bytes") is not None else "-")
        ms = f"{r['time_ms']:.2f}" if r.get("time_ms") is not None else "-"
        fits = "-" if r.get("fits") is None else ("yes" if r["fits"] else "NO")
        lines.append(f"{r['model'][:18]:<18} {r['platform']:<15} {'yes' if r['bit_exact'] else 'NO':<5} "
                     f"{_fmt(r['mismatches'], 'd'):>5} {inputs:>7} {_fmt(r['instructions']):>13} "
                     f"{_fmt(r['cycles']):>13} {ms:>8} {_fmt(r['flash_bytes']):>10} {_fmt(r['ram_bytes']):>9}  "
                     f"{split:<24} {fits}")
    lines.append("")
    kernels = {r["platform"]: r.get("kernels", "reference") for r in rows}
    lines.append("kernels: " + ", ".join(f"{k} on {p}" for p, k in kernels.items()))
    encodings = sorted({(r.get("weights") or "dense", bool(r.get("winograd"))) for r in rows})
    if any(e != ("dense", False) for e in encodings):
        lines.append("weights: " + ", ".join(w + (" + winograd" if wg else "") for w, wg in encodings))
    lines.append("footprint: arena (linked) vs the peak live-tensor lower bound, measured RAM and flash vs the board")
    seen = set()
    for r in rows:
        key = r["model"]
        if key not in seen:
            seen.add(key)
            lb, ab = r["arena_lower_bound"], r["arena_bytes"]
            pct = 100.0 * ab / lb if lb else 100.0
            lines.append(f"  {key}: arena {ab:,} B, lower bound {lb:,} B ({pct:.1f}%), "
                         f"weights+biases {r['weight_bytes']:,} B, constants {r['const_bytes']:,} B")
        if r.get("ram_bytes") is not None:
            where = "code from SRAM" if not r["flash_capacity"] else f"flash {r['flash_bytes']:,}/{r['flash_capacity']:,} B"
            lines.append(f"    {r['platform']}: RAM {r['ram_bytes']:,}/{r['sram_capacity']:,} B "
                         f"(arena {r['arena_linked_bytes']:,} in {r['arena_section']}, static {r['static_bytes']:,} "
                         f"incl. {r['io_buffer_bytes']:,} of check I/O buffers, "
                         f"stack high-water {r['stack_bytes']:,} of {r['stack_reserved']:,}), {where}")
    errors = [r["error"] for r in rows if r.get("error")]
    host = sorted({r["model"] for r in rows if not r.get("host_bit_exact", True)})
    if host:
        errors.append(f"host build differs from the golden model: {', '.join(host)}")
    if errors:
        lines.append("")
        lines += [f"error: {e}" for e in errors]
    return "\n".join(lines)


def all_ok(rows: list[dict[str, Any]]) -> bool:
    return all(r["bit_exact"] and r.get("host_bit_exact", True) and r.get("fits") and not r.get("error")
               for r in rows)
