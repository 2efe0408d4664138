"""A benchmark run from its parameters, shared by `vbench run` and `vbench.run()`: every input is
checked before anything is simulated (`plan`), the jobs run (`execute`, vbench/benchmark.py), and the
result set is written (`write`: results.json/csv, report.md, plots, the EEMBC runner's layout)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from vbench.benchmark import DEFAULT_PLATFORM, MODES, Job, Suite, parse_list
from vbench.errors import VbenchError
from vbench.results import ResultSet
from vbench.workloads import IDS, by_id

# The files `write` puts directly in the output folder (checked to be writable before the work).
OUTPUT_FILES = ("results.json", "results.csv", "report.md", "latency.png", "energy.png")


@dataclass
class RunPlan:
    """What a run will do: its jobs and the metadata its result set carries."""

    jobs: list[Job]
    workloads: list[str]
    platforms: list[str]
    modes: list[str]
    kernels: str
    models: dict[str, str] = field(default_factory=dict)   # workload -> absolute .tflite path
    weights: str = "dense"
    winograd: bool = False
    workers: int | None = None   # None: every core

    def describe(self) -> str:
        encoding = "" if self.weights == "dense" and not self.winograd else \
            f"; weights {self.weights}{', winograd' if self.winograd else ''}"
        return (f"{len(self.jobs)} jobs ({', '.join(self.workloads)} x {', '.join(self.platforms)} x "
                f"{', '.join(self.modes)})" + "".join(f"; {w}: {p}" for w, p in self.models.items()) + encoding)


def _names(value: str | Iterable[str] | None, known, what: str) -> list[str]:
    """A comma-separated string or a list of names, each known."""
    if value is None:
        return []
    text = value if isinstance(value, str) else ",".join(value)
    return parse_list(text, known, what)


def override_list(overrides: Mapping[str, object] | Iterable[str] | None) -> list[str]:
    """Platform overrides as `key=value` strings, from a mapping or a list of strings."""
    if not overrides:
        return []
    if isinstance(overrides, Mapping):
        return [f"{k}={v}" for k, v in overrides.items()]
    if isinstance(overrides, str):
        return [overrides]
    return list(overrides)


def check_models(specs: Mapping[str, str | Path] | Iterable[str] | None, workloads: list[str]) -> dict[str, str]:
    """--model WORKLOAD=PATH entries (or a {workload: path} mapping), each file checked against its
    workload (int8, same input and output sizes) before any simulation."""
    from vbench.harness.build import check_workload_model

    pairs: list[tuple[str, str, str]] = []   # (name, path, how the user wrote it)
    if isinstance(specs, Mapping):
        pairs = [(str(k), str(v), f"{k}={v}") for k, v in specs.items()]
    else:
        for spec in specs or []:
            name, sep, path = spec.partition("=")
            if not sep or not path:
                raise VbenchError(f"--model {spec}: expected WORKLOAD=PATH, e.g. kws=build/kws_p50.tflite")
            pairs.append((name.strip(), path, spec))
    models: dict[str, str] = {}
    for name, path, spec in pairs:
        if name not in IDS:
            raise VbenchError(f"--model {spec}: unknown workload '{name}' (known: {', '.join(IDS)})")
        if name in models:
            raise VbenchError(f"--model {spec}: a second model for {name} (first {models[name]})")
        if name not in workloads:
            raise VbenchError(f"--model {spec}: workload {name} is not run (--workload {','.join(workloads)})")
        models[name] = str(check_workload_model(by_id(name).model_id, Path(path)).resolve())
    return models


def plan(*, workloads: str | Iterable[str] = IDS, platforms: str | Iterable[str] | None = None,
         modes: str | Iterable[str] = ("performance", "energy"), kernels: str = "optimized",
         overrides: Mapping[str, object] | Iterable[str] | None = None, out: str | Path | None = None,
         dataset: str | Path | None = None, accuracy_limit: int | None = None,
         models: Mapping[str, str | Path] | Iterable[str] | None = None, weights: str = "dense", winograd: bool = False,
         scenarios: str | Iterable[str] | None = None, workers: int | None = None) -> RunPlan:
    """Check every parameter (a VbenchError naming the bad one, exit 2) and build the jobs."""
    from vbench.compiler.encodings import WEIGHT_ENCODINGS
    from vbench.loadgen import SCENARIOS
    from vbench.outputs import check_build_dirs, check_writable_dir
    from vbench.platform import available_platforms, load_platform

    workloads = _names(workloads, IDS, "workload")
    if not workloads:
        raise VbenchError(f"--workload names no workload (known: {', '.join(IDS)})")
    modes = _names(modes, MODES, "mode")
    if not modes:
        raise VbenchError(f"--mode names no mode (known: {', '.join(MODES)})")
    if accuracy_limit is not None and (isinstance(accuracy_limit, bool) or not isinstance(accuracy_limit, int)
                                       or accuracy_limit < 1):
        raise VbenchError(f"--accuracy-limit {accuracy_limit!r}: must be a positive whole number")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise VbenchError(f"--jobs {workers!r}: must be a positive whole number")
    if weights not in WEIGHT_ENCODINGS:
        raise VbenchError(f"--weights {weights!r}: one of {', '.join(WEIGHT_ENCODINGS)}")
    if out is not None:   # results, report and plots: writable before anything is simulated
        check_writable_dir(out, "--out", files=OUTPUT_FILES)
    check_build_dirs()  # firmware images and compiled models
    checked_models = check_models(models, workloads)
    platforms = [platforms] if isinstance(platforms, str) else list(platforms or [DEFAULT_PLATFORM])
    if not platforms or any(not isinstance(p, str) or not p.strip() for p in platforms):
        raise VbenchError(f"--platform '' names no board (known: {', '.join(p.stem for p in available_platforms())})")
    sets = override_list(overrides)
    for name in platforms:
        load_platform(name, sets)  # bad board or override: fail before any simulation
    if "accuracy" in modes and not dataset:
        raise VbenchError("--mode accuracy needs --dataset DIR (the EEMBC layout, e.g. DIR/kws01/y_labels.csv)")
    if dataset and not Path(dataset).is_dir():
        raise VbenchError(f"--dataset {dataset}: not a directory")
    scenarios = tuple(_names(scenarios, SCENARIOS, "scenario"))
    if scenarios and "performance" not in modes:
        raise VbenchError("--scenario needs --mode performance (the scenarios use its per-input latencies)")
    cores = workers or os.cpu_count() or 1
    n_jobs = len(platforms) * len(workloads) * len(modes)
    acc_workers = max(1, cores // min(n_jobs, cores))  # a lone accuracy job gets every core
    jobs = [Job(w, p, m, tuple(sets), str(dataset) if dataset else None, kernels, accuracy_limit,
                scenarios=scenarios, accuracy_workers=acc_workers, model=checked_models.get(w), weights=weights,
                winograd=winograd)
            for p in platforms for w in workloads for m in modes]
    return RunPlan(jobs, workloads, platforms, modes, kernels, checked_models, weights, winograd, workers)


def execute(run_plan: RunPlan, progress=None, share_simulation: bool = True) -> ResultSet:
    """Run the jobs (in parallel over `workers` processes); `progress`: a vbench.progress.Progress
    (a bar over the jobs, a line per finished job) or None for silence. The set's `timings` holds
    the wall time of every job's stages (vbench.benchmark.Suite; not a figure)."""
    t0 = time.perf_counter()
    suite = Suite(run_plan.jobs) if run_plan.workers is None else Suite(run_plan.jobs, run_plan.workers)
    suite.share_simulation = share_simulation

    def done(line: str) -> None:
        progress.note(line)
        progress.advance()

    records = suite.run(progress=done if progress else None, steps=progress.steps() if progress else None)
    return ResultSet.create(records, wall_s=round(time.perf_counter() - t0, 2), platforms=run_plan.platforms,
                            workloads=run_plan.workloads, modes=run_plan.modes, kernels=run_plan.kernels,
                            models=run_plan.models, weights=run_plan.weights, winograd=run_plan.winograd,
                            timings=suite.timings)


def write(out: str | Path, result_set: ResultSet, plots: bool = True) -> list[Path]:
    """results.json, results.csv, report.md, plots and the EEMBC runner's layout under `out`."""
    from vbench.report import write_result_set
    from vbench.report_io import write_json_atomic

    t0 = time.perf_counter()
    files = write_result_set(out, result_set, plots=plots)
    timings = result_set.metadata.get("timings")
    if isinstance(timings, dict):  # the report stage's time exists once it is written: results.json again
        timings["report_s"] = round(time.perf_counter() - t0, 3)
        write_json_atomic(Path(out) / "results.json", result_set.to_dict())
    return files


__all__ = ["OUTPUT_FILES", "RunPlan", "check_models", "execute", "override_list", "plan", "write"]
