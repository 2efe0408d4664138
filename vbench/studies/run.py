"""run_study: every workload x configuration x board once, then accuracy where the study changes
the arithmetic; returns the study result (the dict study.json holds)."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from vbench import __version__
from vbench.errors import VbenchError
from vbench.platform import DEFAULT_PLATFORMS, load_platform
from vbench.studies.accuracy import agreement, kws_accuracy, kws_dir
from vbench.progress import Progress, as_progress
from vbench.studies.base import DEFAULT_AGREEMENT_INPUTS, DEFAULT_SEED, FLOAT_RTOL, STUDIES, Study
from vbench.studies.measure import MeasureJob, run_jobs
from vbench.studies.models import prepare
from vbench.studies.tables import comparisons, layer_rows
from vbench.workloads import IDS, by_id


def run_study(study: Study, workloads: list[str] | None = None, platforms: list[str] | None = None,
              seed: int = DEFAULT_SEED, workers: int = 1, dataset: Path | None | bool = None,
              accuracy_limit: int | None = None, agreement_inputs: int = DEFAULT_AGREEMENT_INPUTS,
              progress: Progress | Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every workload x configuration x board once; returns the study result (records,
    comparisons, per-layer rows, accuracy). `dataset`: None = the KWS set when present, False =
    no dataset accuracy, a Path = that folder (EEMBC root or kws01 itself). progress: a line per
    finished compile, board run and accuracy step, with its count and ETA (vbench.progress)."""
    from vbench.firmware.kernels import resolve_kernels

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
    folder = None if dataset is False else kws_dir(dataset if isinstance(dataset, Path) else None)
    bar = as_progress(progress)
    t0 = time.perf_counter()
    prepared = {}
    bar.phase(len(workloads) * len(study.configs), "compiling")
    for w in workloads:
        for cfg in study.configs:
            model = by_id(w).model_path(cfg.dtype).name
            bar.working(f"{w}/{cfg.label}: compiling {model}")
            prepared[(w, cfg.label)] = prepare(w, cfg, seed)
            bar.done(f"{w}/{cfg.label}: compiled {model} and its golden output")
    jobs = [MeasureJob(study.name, prepared[(w, cfg.label)], p) for w in workloads for cfg in study.configs
            for p in plats]
    bar.note(f"{len(jobs)} board runs on {workers} worker(s)")
    bar.phase(len(jobs), "board runs")
    records = run_jobs(jobs, workers, bar)

    accuracy: dict[str, Any] = {}
    spec = STUDIES.get(study.name)
    if spec is not None and spec.accuracy:   # the others change no arithmetic (checked bit-exact per run)
        from vbench.compiler import HostModel

        dtypes = {cfg.label: cfg.dtype for cfg in study.configs}
        # one host build per distinct model (the encodings of one model compute the same outputs)
        same = {w: {c.label: _first_of_model(prepared, w, study.configs, c) for c in study.configs}
                for w in workloads}
        distinct = {w: list(dict.fromkeys(same[w].values())) for w in workloads}
        todo = {w: (bool(agreement_inputs) and len(distinct[w]) > 1, w == "kws" and folder is not None)
                for w in workloads}
        bar.phase(sum(any(t) for t in todo.values()), "accuracy (host builds)")
        for w in workloads:
            entry: dict[str, Any] = {"same_model_as": same[w]}
            agree, on_dataset = todo[w]
            if agree or on_dataset:
                bar.working(f"{w}: host builds of {', '.join(distinct[w])}")
                hosts = {label: HostModel(prepared[(w, label)].case.compiled.out_dir) for label in distinct[w]}
                what = []
                if agree:
                    bar.working(f"{w}: output agreement on {agreement_inputs} inputs")
                    entry["agreement"] = agreement(w, hosts, agreement_inputs, seed, dtypes,
                                                   "float32" if study.name == "precision" else study.a.label)
                    what.append(f"output agreement on {agreement_inputs} random inputs")
                if on_dataset:
                    bar.working(f"kws: accuracy on {folder.name}")
                    entry["dataset"] = {"folder": str(folder),
                                        **kws_accuracy(hosts, folder, accuracy_limit, dtypes, study.a.label,
                                                      steps=bar.steps())}
                    what.append(f"top-1 on {folder}")
                bar.done(f"{w}: {' and '.join(what)} of {', '.join(hosts)} (host builds)")
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


def _first_of_model(prepared, workload: str, configs, cfg) -> str:
    """The label of the first configuration that runs the same model file and dtype as `cfg`."""
    key = (str(prepared[(workload, cfg.label)].case.path), cfg.dtype)
    return next(c.label for c in configs if (str(prepared[(workload, c.label)].case.path), c.dtype) == key)
