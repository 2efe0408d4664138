"""The benchmark job behind `vbench run`: workloads x platforms x modes through the EEMBC harness
(vbench/harness), turned into result records (vbench/results.py: WorkloadResult, with per-layer
LayerResult profiles) that vbench/report.py writes.

Jobs are independent simulations, so they run in parallel over local cores; each record carries
the hashes of the firmware and the model it measured and the overrides it ran with.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from vbench import __version__
from vbench.errors import VbenchError
from vbench.results import LayerResult, WindowResult, WorkloadResult
from vbench.workloads import by_id

MODES = ("performance", "energy", "accuracy")
DEFAULT_PLATFORM = "nucleo-l4r5zi"


@dataclass(frozen=True)
class Job:
    workload: str            # kws, vww, ic, ad
    platform: str
    mode: str
    overrides: tuple[str, ...] = ()
    dataset: str | None = None
    variant: str | None = None   # None/"reference", "optimized" (the platform's variant) or a variant name
    accuracy_limit: int | None = None
    synthetic: bool = True   # time with generated inputs where the dataset files are absent
    scenarios: tuple[str, ...] = ()  # LoadGen scenarios computed from the performance latencies
    accuracy_workers: int = 1    # processes for an accuracy job (each with its own board)
    model: str | None = None     # a .tflite run instead of the workload's model (e.g. a pruned copy)
    weights: str = "dense"       # weight encoding (vbench.compiler.encodings): dense, sparse, palette
    winograd: bool = False       # 3x3 stride-1 CONV_2D layers as Winograd F(2x2,3x3)
    port: str | None = None      # a real board (or `vbench serve`) on this serial port instead of a simulation
    baud: int = 115200


def parse_list(text: str | None, known: tuple[str, ...] | dict, what: str) -> list[str]:
    if not text:
        return []
    items = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in items if t not in known]
    if bad:
        raise VbenchError(f"unknown {what} {', '.join(bad)} (known: {', '.join(known)})")
    return items


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


LAYER_COUNTERS = ("cycles", "instructions", "energy_uj", "stall_flash", "stall_branch", "stall_load_use", "stall_divide")


def _layer_results(target, counters: dict) -> list[LayerResult]:
    """Cycles, instructions and energy per layer of one warm inference (modes.layer_counters)."""
    from vbench.harness.build import compile_workload_model

    before = {r["layer"]: r for r in counters["before"]}
    model_dir = compile_workload_model(target.model_id, target.model, weights=target.weights, winograd=target.winograd)
    summary = next(model_dir.glob("*_model.json"), None)
    ops = [layer["op"] for layer in json.loads(summary.read_text())["layers"]] if summary else []
    out = []
    for r in counters["after"]:
        if r["layer"] is None:
            continue
        b = before.get(r["layer"], {})
        out.append(LayerResult(layer=r["layer"], op=ops[r["layer"]] if r["layer"] < len(ops) else "",
                               **{key: r.get(key, 0) - b.get(key, 0) for key in LAYER_COUNTERS}))
    return out


def _new_record(job: Job, firmware_sha256: str | None = None, model_sha256: str | None = None,
                model_id: str | None = None, kernels: str | None = None) -> WorkloadResult:
    """A record of `job` with nothing measured yet. model_file: the .tflite the job runs
    (models/<file> for the workload's own model)."""
    own = f"models/{by_id(job.workload).model_file}"
    return WorkloadResult(
        workload=job.workload, platform=job.platform, mode=job.mode, latency_ms=None, energy_uj=None, accuracy=None,
        cycles=None, instructions=None, firmware_sha256=firmware_sha256, model_sha256=model_sha256,
        overrides=dict(o.split("=", 1) for o in job.overrides), vbench_version=__version__, model_id=model_id,
        kernels=kernels, model_file=str(Path(job.model).resolve()) if job.model else own, weights=job.weights,
        winograd=job.winograd)


def _predictions_sha256(predictions: list[dict[str, Any]]) -> str:
    """One digest of every file's printed results (AD: mean scores), in file order: two runs
    (e.g. dense and sparse weights) produced the same outputs iff their digests are equal."""
    rows = [[p["file"], p.get("results", p.get("score"))] for p in predictions]
    return hashlib.sha256(json.dumps(rows, separators=(",", ":")).encode()).hexdigest()


def run_job(job: Job, steps: Callable[[int, int, str], None] | None = None,
            share_simulation: bool = True) -> WorkloadResult:
    """One record: workload x platform x mode. Failures become records with `failing` set, so a
    report still shows them. steps(done, total, file): the harness's progress within the job.
    share_simulation=False measures the performance mode's layer profile on a board of its own
    instead of branching it off the timed run's board (same figures; kept to check exactly that)."""
    return _run_job_timed(job, steps, share_simulation)[0]


def _run_job_timed(job: Job, steps: Callable[[int, int, str], None] | None = None,
                   share_simulation: bool = True) -> tuple[WorkloadResult, dict[str, float]]:
    """The record and the wall time of its stages: build (images, hashes), simulate; cpu_s: this
    process's CPU time over both (on a shared machine, wall time also measures the others)."""
    from vbench.harness.modes import SerialTarget, VirtualTarget, run_mode

    from vbench.firmware.kernels import resolve_kernels
    from vbench.platform import load_platform

    t_build, cpu0 = time.perf_counter(), time.process_time()
    spec = by_id(job.workload)
    model_id = spec.model_id
    if job.port:  # a real board: the same runner and modes, over the wire; it runs what was flashed
        target = SerialTarget(job.port, job.baud, model_id)
        record = _new_record(job, model_id=model_id)
        record.extra = {"port": job.port, "baud": job.baud}
    else:
        variant = resolve_kernels(job.variant, load_platform(job.platform, list(job.overrides)))
        model_path = Path(job.model).resolve() if job.model else spec.model_path()
        target = VirtualTarget(model_id, job.platform, job.overrides, variant=variant,
                               energy_mode=job.mode == "energy", model=str(model_path) if job.model else None,
                               weights=job.weights, winograd=job.winograd).prepare()
        record = _new_record(job, firmware_sha256=_sha256(target.elf), model_sha256=_sha256(model_path),
                             model_id=model_id, kernels=variant or "reference")
    t0 = time.perf_counter()
    stages = {"build_s": t0 - t_build}
    if job.mode == "accuracy":
        if not job.dataset:
            raise VbenchError("accuracy mode needs --dataset DIR (EEMBC layout: DIR/kws01/y_labels.csv ...)")
        res = run_mode("accuracy", target, job.dataset, limit=job.accuracy_limit, workers=job.accuracy_workers,
                       progress=steps)
        auc = res.get("auc")
        record.top1, record.auc = (res["top1_percent"] / 100 if spec.classifier else None), auc
        record.accuracy = record.top1 if spec.classifier else auc
        record.files, record.complete, record.quality_target = res["files"], res["complete"], res["quality_target"]
        record.predictions_sha256 = _predictions_sha256(res["predictions"])
    else:
        profile = job.mode == "performance" and not job.port  # per-layer counters exist on a virtual board only
        res = run_mode(job.mode, target, job.dataset, synthetic=job.synthetic, progress=steps, layer_profile=profile,
                       share_simulation=share_simulation)
        runs = res["runs"]
        # a wire carries no cycle count: a real board's records have cycles null
        cycles = sorted(r.get("per_inference_cycles") or r["cycles"] / max(r["inferences"], 1)
                        for r in runs if r.get("per_inference_cycles") or r.get("cycles") is not None)
        record.latency_ms, record.energy_uj = res["median_latency_ms"], res.get("median_energy_per_inference_uj")
        record.average_power_mw = res.get("median_average_power_mw")
        record.cycles = int(round(cycles[len(cycles) // 2])) if cycles else None
        record.instructions = res.get("median_instructions_per_inference")
        record.throughput_ips = res["median_throughput_ips"]
        record.valid, record.exact, record.extrapolated = res["valid"], res["exact"], res["extrapolated"]
        record.inputs, record.runs = res["inputs"], len(runs)
        record.simulated_inferences = sum(r.get("simulated_inferences") or 0 for r in runs)
        record.run_latencies_ms = [r["latency_ms"] for r in runs]
        record.windows = [WindowResult.from_harness(r) for r in runs]
        if job.scenarios and job.mode == "performance":
            from vbench.loadgen import run_scenario

            lat_s = [ms / 1e3 for ms in record.run_latencies_ms]
            record.scenarios = {name: run_scenario(name, lat_s).to_dict() for name in job.scenarios}
        if profile:
            record.layers = _layer_results(target, res["layer_profile"])
    record.wall_s = round(time.perf_counter() - t0, 3)
    stages["simulate_s"] = time.perf_counter() - t0
    stages["cpu_s"] = time.process_time() - cpu0
    return record, {k: round(v, 3) for k, v in stages.items()}


@dataclass
class Suite:
    jobs: list[Job]
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    share_simulation: bool = True   # False: the layer profile on a board of its own (run_job)
    timings: dict[str, Any] = field(default_factory=dict, init=False)  # filled by run()

    def run(self, progress: Callable[[str], None] | None = None,
            steps: Callable[[int, int, str], None] | None = None) -> list[WorkloadResult]:
        """Longest jobs first over a process pool, so the last job to start is a short one and
        no core idles while another finishes a long job; results come back in job order.
        progress(line) after each job; steps(done, total, file) within a job run in this process.
        `timings` then holds the wall time of every job's stages (`format_timings`)."""
        order = sorted(range(len(self.jobs)), key=lambda i: -_cost(self.jobs[i]))
        done: list[tuple[WorkloadResult, dict[str, float]] | None] = [None] * len(self.jobs)
        t0 = time.perf_counter()
        workers = 1 if len(self.jobs) == 1 else max(1, min(self.workers, len(self.jobs)))

        def finished(i: int, out: tuple[WorkloadResult, dict[str, float]]) -> None:
            done[i] = out
            if progress:
                progress(_line(out[0]))

        if workers == 1:
            for i in order:
                finished(i, _safe(self.jobs[i], steps, self.share_simulation))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_safe, self.jobs[i], None, self.share_simulation): i for i in order}
                for fut in as_completed(futures):
                    finished(futures[fut], fut.result())
        jobs = [{"workload": j.workload, "platform": j.platform, "mode": j.mode, **stages}
                for j, (_, stages) in zip(self.jobs, filter(None, done))]
        self.timings = {"workers": workers, "suite_wall_s": round(time.perf_counter() - t0, 3),
                        "build_s": round(sum(j.get("build_s", 0.0) for j in jobs), 3),
                        "simulate_s": round(sum(j.get("simulate_s", 0.0) for j in jobs), 3),
                        "cpu_s": round(sum(j.get("cpu_s", 0.0) for j in jobs), 3), "jobs": jobs}
        return [r for r, _ in filter(None, done)]


def format_timings(timings: dict[str, Any]) -> str:
    """The stage times of a run, for stderr: one line per job, then the totals."""
    lines = [f"stage times (wall s; {timings.get('workers', 1)} workers):"]
    for j in timings.get("jobs", []):
        lines.append(f"  {j['workload']}/{j['platform']}/{j['mode']}: build {j.get('build_s', 0):.2f}, "
                     f"simulate {j.get('simulate_s', 0):.2f} (cpu {j.get('cpu_s', 0):.2f})")
    lines.append(f"  build {timings.get('build_s', 0):.2f} + simulate {timings.get('simulate_s', 0):.2f} over the jobs "
                 f"(cpu {timings.get('cpu_s', 0):.2f}); "
                 f"suite wall {timings.get('suite_wall_s', 0):.2f}"
                 + (f"; report {timings['report_s']:.2f}" if "report_s" in timings else ""))
    return "\n".join(lines)


def _cost(job: Job) -> int:
    """Relative run time: the workload's cost per inference x the inferences the job simulates
    (window.py: about 12 per window, 6 without warm-ups; accuracy: many files)."""
    spec = by_id(job.workload)
    if job.mode == "accuracy":
        return spec.cost * 10 * 5 * 12
    _, warmups = spec.energy_script if job.mode == "energy" else spec.performance_script
    return spec.cost * (5 * (12 if warmups else 6) + (1 if job.mode == "performance" else 0))


def _safe(job: Job, steps: Callable[[int, int, str], None] | None = None,
          share_simulation: bool = True) -> tuple[WorkloadResult, dict[str, float]]:
    t0 = time.perf_counter()
    try:
        return _run_job_timed(job, steps, share_simulation)
    except VbenchError as exc:
        record = _new_record(job)
        record.failing, record.reason = True, str(exc)
        return record, {"build_s": 0.0, "simulate_s": round(time.perf_counter() - t0, 3)}


def _line(r: WorkloadResult) -> str:
    if r.failing:
        return f"  {r.workload}/{r.platform}/{r.mode}: FAILED: {r.reason}"
    what = (f"accuracy {r.accuracy:.4f}" if r.mode == "accuracy"
            else f"latency {r.latency_ms:.3f} ms" + (f", energy {r.energy_uj:.1f} uJ" if r.energy_uj else ""))
    return f"  done {r.workload}/{r.platform}/{r.mode}: {what} ({r.wall_s or 0:.1f} s)"
