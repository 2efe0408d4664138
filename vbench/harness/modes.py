"""The three MLPerf Tiny runner modes, on a virtual board or a real one.

    from vbench.harness.modes import VirtualTarget, SerialTarget, run_mode
    r = run_mode("performance", VirtualTarget("kws01", "nucleo-l4r5zi"), "/data/mlperf_tiny")
    r = run_mode("accuracy", VirtualTarget("kws01", "rv32imaf-mcu"), "/data/mlperf_tiny", limit=40)
    r = run_mode("performance", SerialTarget("/dev/ttyACM0"), "/data/mlperf_tiny")

performance  5 runs on the first 5 files of y_labels.csv (AD: their first window); each run's N
             makes the window last >= 10 s and >= 10 inferences; median latency and throughput.
             On a virtual board the window is extrapolated exactly by repetition (window.py).
energy       the same 5 runs on the energy image (EE_CFG_ENERGY_MODE=1): energy between the two
             timestamp-pin falling edges, per inference; median of the 5 windows. A real board
             runs the same windows (the energy script's warm-ups) on the image it was flashed
             with; its energy comes from an external meter (vbench run --energy-import).
accuracy     every file (AD: every window), `infer 1 0` each; top-1 for kws01/vww01/ic01, ROC
             AUC of the per-file mean window score for ad01. Files are spread over worker
             processes, each with its own board.

Every mode returns a JSON-ready dict; the CLI and the reports are built on these.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from vbench.errors import VbenchError
from vbench.harness import dataset as ds
from vbench.harness import metrics
from vbench.harness import window as wr
from vbench.harness.build import build_harness
from vbench.harness.fork import can_fork, in_forked_copy
from vbench.harness.runner import Runner
from vbench.workloads import by_model_id

MODES = ("performance", "energy", "accuracy")
RUNS = 5
# The (N, W) scripts are per workload (vbench.workloads); N is then raised to fill 10 s.

Progress = Callable[[int, int, str], None]


def print_progress(stream=None) -> Progress:
    """A progress callback that rewrites one line: `accuracy 120/1000 tst_000119_Up_8.bin`."""
    import sys

    out = stream or sys.stderr

    def show(done: int, total: int, name: str) -> None:
        out.write(f"\r{done}/{total} {name[:60]:<60}" + ("\n" if done == total else ""))
        out.flush()

    return show


# ---------------------------------------------------------------------- targets


@dataclass(frozen=True)
class VirtualTarget:
    """The harness firmware for `model_id` on a virtual board (built on first use). `model`: a
    .tflite to run instead of the workload's (e.g. a pruned copy; same input and output sizes);
    `weights` / `winograd`: the compiler's weight encodings (vbench.compiler.encodings)."""
    model_id: str
    platform: str
    overrides: tuple[str, ...] = ()
    energy_mode: bool = False
    variant: str | None = None
    elf: str | None = None
    max_instructions: int | None = None
    model: str | None = None
    weights: str = "dense"
    winograd: bool = False

    def prepare(self) -> "VirtualTarget":
        if self.elf is not None:
            return self
        from vbench.platform import load_platform

        plat = load_platform(self.platform, list(self.overrides))
        elf = build_harness(self.model_id, plat, energy_mode=self.energy_mode, variant=self.variant,
                            model=self.model, weights=self.weights, winograd=self.winograd)
        return dataclasses.replace(self, elf=str(elf))

    def open(self):
        from vbench.harness.transport import VirtualTransport

        t = self.prepare()
        kw = {"max_instructions": self.max_instructions} if self.max_instructions else {}
        return VirtualTransport.open(t.platform, t.elf, list(t.overrides), **kw)

    def describe(self) -> dict:
        return {"kind": "virtual", "platform": self.platform, "model_id": self.model_id,
                "overrides": list(self.overrides), "energy_image": self.energy_mode,
                "variant": self.variant or "reference", "elf": self.elf, "model": self.model,
                "weights": self.weights, "winograd": self.winograd}


@dataclass(frozen=True)
class SerialTarget:
    """A real board (or a bridge) on a serial port."""
    port: str
    baud: int = 115200
    model_id: str | None = None  # None: whatever the device reports

    def prepare(self) -> "SerialTarget":
        return self

    def open(self):
        from vbench.harness.transport import SerialTransport

        return SerialTransport(self.port, self.baud)

    def describe(self) -> dict:
        return {"kind": "serial", "port": self.port, "baud": self.baud}


def _connect(target, log=None) -> tuple[Runner, str]:
    runner = Runner(target.open(), log=log)
    try:
        info = runner.connect()
    except Exception:
        runner.close()
        raise
    expected = getattr(target, "model_id", None)
    if expected and info.model_id != expected:
        runner.close()
        raise VbenchError(f"the device reports model '{info.model_id}', expected '{expected}'")
    by_model_id(info.model_id)  # a model id vbench does not know is an error here
    return runner, info.model_id


# ---------------------------------------------------------------------- performance / energy


def _timing_inputs(model_id: str, dataset_dir, synthetic: bool) -> tuple[list[tuple[str, bytes]], str]:
    """The first 5 files (AD: first windows), or stand-ins when the files are absent."""
    size = by_model_id(model_id).db_bytes
    folder = None
    try:
        folder = ds.dataset_folder(dataset_dir, model_id) if dataset_dir is not None else None
    except VbenchError:
        if not synthetic:
            raise
    if folder is not None:
        rows = ds.read_labels(folder)[:RUNS]
        if all((folder / r.file).is_file() for r in rows):
            return [(r.file, ds.windows(r, ds.read_input(folder, r), first_only=True)[0]) for r in rows], "dataset"
        if not synthetic:
            missing = next(r.file for r in rows if not (folder / r.file).is_file())
            raise VbenchError(f"{folder / missing}: input file missing (pass synthetic=True to time "
                              f"{model_id} with generated inputs)")
    elif not synthetic:
        raise VbenchError(f"{model_id}: no dataset directory given (pass synthetic=True to time with generated inputs)")
    return [(f"synthetic_{i}", ds.synthetic_input(model_id, i, size)) for i in range(RUNS)], "synthetic"


# The per-layer profile: `infer 1 0` after the first input's `infer 1 1` on a fresh board. The
# performance run starts with the same commands, so it can branch the profile off its own board.
PROFILE_WARMUP_COMMAND = (1, 1)


def layer_counters(runner: Runner) -> dict:
    """The board's cumulative per-layer counters before and after one `infer 1 0`."""
    board = runner.transport.board
    before = board.profile()["layers"]
    runner.infer(1, 0)
    return {"before": before, "after": board.profile()["layers"]}


def separate_layer_profile(target, data: bytes) -> dict:
    """The profile on a board of its own (re-simulates boot, load and `infer 1 1`)."""
    runner, _ = _connect(target)
    try:
        runner.load(data)
        runner.infer(*PROFILE_WARMUP_COMMAND)
        return {**layer_counters(runner), "shared": False}
    finally:
        runner.close()


class _BranchProfile:
    """Stands in for the runner during the first window: right after its `infer 1 1`, a forked
    copy of the board measures the layer profile, so that prefix is simulated once."""

    def __init__(self, runner: Runner):
        self.runner, self.profile, self.commands = runner, None, 0

    def infer(self, n: int, warmups: int):
        result = self.runner.infer(n, warmups)
        self.commands += 1
        if self.commands == 1 and (n, warmups) == PROFILE_WARMUP_COMMAND:  # the same history as the fresh board
            self.profile = {**in_forked_copy(lambda: layer_counters(self.runner)), "shared": True}
        return result


def _timed_runs(runner: Runner, inputs, warmups: int, extrapolate: bool,
                all_warmups: bool, progress: Progress | None, branch: _BranchProfile | None = None) -> list[dict]:
    runs, n = [], None
    for i, (name, data) in enumerate(inputs):
        runner.load(data)
        if runner.virtual and extrapolate:
            sampling = wr.sample_window(branch if branch and i == 0 else runner, warmups, all_warmups=all_warmups)
            rep = sampling.repetition
            need = wr.choose_inferences(rep.per_inference_s, rep.overhead_s)
            n = need if n is None else max(n, need)  # N from the first run, raised if a run falls short
            window = wr.extrapolate(sampling, n, warmups)
        else:
            if n is None:  # EnergyRunner style: one inference first, then N fills 10 s
                probe = runner.infer(1, warmups)
                n = wr.choose_inferences(probe.seconds)
            result = runner.infer(n, warmups)
            if result.seconds < wr.MIN_WINDOW_S:  # the probe's overhead made N too small: 2% margin
                n = math.ceil(wr.choose_inferences(result.seconds / n) * 1.02)
                result = runner.infer(n, warmups)
            window = wr.measured(result)
        runs.append({"file": name, **window.to_dict()})
        if progress:
            progress(i + 1, len(inputs), name)
    return runs


def _timing_mode(mode: str, target, dataset_dir, *, synthetic: bool, extrapolate: bool, all_warmups: bool,
                 progress: Progress | None, log, layer_profile: bool = False, share_simulation: bool = True) -> dict:
    if mode == "energy" and isinstance(target, VirtualTarget):
        target = dataclasses.replace(target, energy_mode=True, elf=None if not target.energy_mode else target.elf)
    elif isinstance(target, VirtualTarget) and target.energy_mode:
        target = dataclasses.replace(target, energy_mode=False, elf=None)
    if layer_profile and not isinstance(target, VirtualTarget):
        raise VbenchError("a layer profile needs a virtual board (it reads the simulated per-layer counters)")
    target = target.prepare()
    t0 = time.perf_counter()
    runner, model_id = _connect(target, log)
    try:
        inputs, source = _timing_inputs(model_id, dataset_dir, synthetic)
        spec = by_model_id(model_id)
        n_script, warmups = spec.energy_script if mode == "energy" else spec.performance_script
        branch = _BranchProfile(runner) if layer_profile and share_simulation and can_fork() else None
        runs = _timed_runs(runner, inputs, warmups, extrapolate, all_warmups, progress, branch)
    finally:
        runner.close()
    profile = None
    if layer_profile:  # the first window did not start with `infer 1 1` (or sharing is off): a board of its own
        profile = branch.profile if branch and branch.profile else separate_layer_profile(target, inputs[0][1])
    out = {
        "mode": mode, "model_id": model_id, "target": target.describe(), "inputs": source,
        "script": {"inferences": n_script, "warmups": warmups},
        "runs": runs, "valid": all(r["valid"] for r in runs),
        "median_latency_ms": metrics.median([r["latency_ms"] for r in runs]),
        "median_throughput_ips": metrics.median([r["throughput_ips"] for r in runs]),
        "extrapolated": any(r["extrapolated"] for r in runs),
        "exact": all(r["exact"] for r in runs),
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    energies = [r.get("energy_per_inference_uj") for r in runs]
    if all(e is not None for e in energies):
        out["median_energy_per_inference_uj"] = metrics.median(energies)
        out["median_average_power_mw"] = metrics.median([r["average_power_mw"] for r in runs])
    ipi = [r["instructions_per_inference"] for r in runs if r.get("instructions_per_inference")]
    if ipi:
        out["median_instructions_per_inference"] = int(metrics.median(ipi))
    if profile is not None:
        out["layer_profile"] = profile
    return out


# ---------------------------------------------------------------------- accuracy

_worker: dict = {}


def _score_file(runner: Runner, model_id: str, folder: Path, row: ds.LabelRow) -> dict:
    data = ds.read_input(folder, row)
    spec = by_model_id(model_id)
    expected = spec.results
    values = []
    for win in ds.windows(row, data):
        runner.load(win)
        res = runner.infer(1, 0).results
        if res is None or len(res) != expected:
            raise VbenchError(f"{row.file}: expected {expected} result values, got {res}")
        values.append(res)
    if not spec.classifier:
        scores = [v[0] for v in values]
        return {"file": row.file, "label": row.label, "score": float(sum(scores) / len(scores)),
                "windows": len(scores)}
    return {"file": row.file, "label": row.label, "results": values[0]}


def _worker_init(target, model_id: str, folder: str) -> None:
    # An exception here would make the pool restart the worker forever: keep it for the tasks.
    try:
        runner, got = _connect(target)
        _worker.update(runner=runner, model_id=got, folder=Path(folder), error=None)
    except Exception as exc:
        _worker.update(error=f"{type(exc).__name__}: {exc}")


def _worker_task(item: tuple[int, ds.LabelRow]) -> tuple[int, dict]:
    index, row = item
    if _worker.get("error"):
        return index, {"file": row.file, "error": f"worker start-up failed: {_worker['error']}"}
    try:
        return index, _score_file(_worker["runner"], _worker["model_id"], _worker["folder"], row)
    except Exception as exc:  # exceptions with custom constructors do not cross processes
        return index, {"file": row.file, "error": f"{type(exc).__name__}: {exc}"}


def _accuracy_mode(target, dataset_dir, *, limit: int | None, workers: int | None,
                   progress: Progress | None, log) -> dict:
    if isinstance(target, VirtualTarget) and target.energy_mode:
        target = dataclasses.replace(target, energy_mode=False, elf=None)
    target = target.prepare()
    model_id = getattr(target, "model_id", None)
    t0 = time.perf_counter()
    runner = None
    if model_id is None:  # a serial device says what it runs
        runner, model_id = _connect(target, log)
    folder = ds.dataset_folder(dataset_dir, model_id)
    rows = ds.read_labels(folder)
    if limit is not None:
        rows = rows[:limit]
    for r in rows:
        if not (folder / r.file).is_file():
            raise VbenchError(f"{folder / r.file}: input file listed in y_labels.csv is missing")
    items = list(enumerate(rows))
    done: dict[int, dict] = {}
    n_workers = 1 if not isinstance(target, VirtualTarget) else max(1, min(workers or os.cpu_count() or 1, len(rows)))

    def record(index: int, res: dict) -> None:
        if "error" in res:
            raise VbenchError(f"{folder / res['file']}: {res['error']}")
        done[index] = res
        if progress:
            progress(len(done), len(rows), res["file"])

    if n_workers == 1:
        if runner is None:
            runner, _ = _connect(target, log)
        try:
            for index, row in items:
                record(index, _score_file(runner, model_id, folder, row))
        finally:
            runner.close()
    else:
        ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no forked Unicorn state
        with ctx.Pool(n_workers, initializer=_worker_init, initargs=(target, model_id, str(folder))) as pool:
            for index, res in pool.imap_unordered(_worker_task, items):
                record(index, res)
    predictions = [done[i] for i in range(len(rows))]
    labels = [p["label"] for p in predictions]
    out = {"mode": "accuracy", "model_id": model_id, "target": target.describe(), "dataset": str(folder),
           "files": len(rows), "complete": limit is None or limit >= len(ds.read_labels(folder)),
           "workers": n_workers}
    spec = by_model_id(model_id)
    if not spec.classifier:
        out["auc"] = metrics.roc_auc(labels, [p["score"] for p in predictions])
        out["windows"] = sum(p["windows"] for p in predictions)
    else:
        vectors = [p["results"] for p in predictions]
        out["top1_percent"] = metrics.top1_percent(labels, vectors)
        out["auc"] = metrics.roc_auc_ovr(labels, vectors)
    metric, goal = spec.metric, spec.quality_target
    out["quality_target"] = {"metric": metric, "target": goal, "met": out[metric] is not None and out[metric] >= goal}
    out["predictions"] = predictions
    out["wall_s"] = round(time.perf_counter() - t0, 3)
    return out


# ---------------------------------------------------------------------- entry point


def run_mode(mode: str, target, dataset_dir=None, *, limit: int | None = None, workers: int | None = None,
             synthetic: bool = False, extrapolate: bool = True, all_warmups: bool = False,
             progress: Progress | None = None, log: Callable[[str], None] | None = None,
             layer_profile: bool = False, share_simulation: bool = True) -> dict:
    """Run one runner mode on `target` (VirtualTarget or SerialTarget) with the EEMBC dataset
    layout under `dataset_dir`.

    limit: accuracy on the first `limit` files only. workers: accuracy processes (default: all
    cores). synthetic: time with generated inputs when the dataset files are absent.
    extrapolate=False simulates every timed inference (slow: 10 s of virtual time per run).
    all_warmups simulates every warm-up instead of one. progress(done, total, file) and
    log(line) are called as the run goes. layer_profile (virtual timing modes): the per-layer
    counters of `infer 1 0` after the first input's `infer 1 1` (`layer_profile`: before, after,
    shared), branched off the first window's board when share_simulation (same figures, one
    simulation less), else measured on a board of its own. Accuracy workers are spawned
    interpreters, so a script that calls this at module level needs the usual
    `if __name__ == "__main__":` guard."""
    if mode not in MODES:
        raise VbenchError(f"unknown mode '{mode}' (known: {', '.join(MODES)})")
    if mode == "accuracy":
        return _accuracy_mode(target, dataset_dir, limit=limit, workers=workers, progress=progress, log=log)
    return _timing_mode(mode, target, dataset_dir, synthetic=synthetic, extrapolate=extrapolate,
                        all_warmups=all_warmups, progress=progress, log=log, layer_profile=layer_profile,
                        share_simulation=share_simulation)
