"""check-models itself: per model and board, build once, run every input, compare with the golden
outputs and measure the footprint (one result row); the jobs over processes; the printed table."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vbench.errors import VbenchError
from vbench.modelcheck.image import (FitError, InferenceRun, build_check_image, capacities, fit_problems,
                                     run_inference)
from vbench.modelcheck.models import (DEFAULT_INPUTS, DEFAULT_MODELS, DEFAULT_SEED, ModelCase, _quiet,
                                      default_dataset_dir, diff_bytes, prepare_model, resolve_model_path)
from vbench.paths import models_dir
from vbench.platform import DEFAULT_PLATFORMS, load_platform


def stderr_progress(msg: str) -> None:
    print(f"check-models: {msg}", file=sys.stderr, flush=True)


@dataclass
class FirmwareJob:
    case: ModelCase
    platform: str
    flips: tuple[tuple[str, int], ...] = ()   # (symbol, byte offset) XORed with 0xFF before each run
    progress: bool = False
    kernels: str | None = None                # None/"reference", "optimized" or a variant name


def check_on_platform(job: FirmwareJob) -> dict[str, Any]:
    """Build once, run every input, compare with golden; one result row."""
    from vbench.sim.elf import load_image

    from vbench.firmware.kernels import resolve_kernels

    case, progress = job.case, (stderr_progress if job.progress else _quiet)
    plat = load_platform(job.platform)
    c = case.compiled
    variant = resolve_kernels(job.kernels, plat)
    flash_cap, sram_cap = capacities(plat)
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
        diff = diff_bytes(r.output, expected) if r.status == 0 else len(expected)
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
    from vbench.firmware.kernels import resolve_kernels

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
    paths = [resolve_model_path(m) for m in (models or [models_dir() / m for m in DEFAULT_MODELS])]
    say = stderr_progress if progress else _quiet
    cases = [prepare_model(p, inputs, seed, folder, dataset_inputs, say, weights, winograd) for p in paths]
    if folder is not None and dataset is not None and dataset is not False and not any(c.dataset_inputs for c in cases):
        say(f"no file in {folder} has the input size of a checked model; dataset not used")
    jobs = [FirmwareJob(c, p, flips, progress, kernels) for c in cases for p in plats]
    return run_jobs(jobs, workers)


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
