"""One board run of a study: the model_check firmware with one workload x configuration, the study
input run once from reset, profiled per layer; `run_jobs` spreads the runs over processes."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbench.platform import load_platform
from vbench.progress import Progress
from vbench.studies.base import FLOAT_RTOL
from vbench.studies.models import Prepared, output_values
from vbench.workloads import by_id


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
    from vbench.firmware.kernels import resolve_kernels
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


def run_jobs(jobs: list[MeasureJob], workers: int, progress: Progress) -> list[dict[str, Any]]:
    workers = max(1, min(workers, len(jobs)))
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_file is not None and not os.path.isfile(main_file):
        workers = 1  # spawned workers re-import __main__, which a script read from stdin is not

    def done(rec):
        what = f"{rec['workload']}/{rec['config']} on {rec['platform']}"
        progress.done(f"{what}: {rec['cycles']:,} cycles, {rec['output_check']}" if rec.get("cycles") is not None
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
