"""`vbench run`: the MLPerf Tiny benchmark on virtual boards (the README's main job).

Defaults: all four workloads, performance and energy modes, on the reference board. Writes
results.json, results.csv, report.md and plots to --out, atomically; prints a summary table. The
records are vbench.results.WorkloadResult objects, the set a ResultSet (make_result_set).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from vbench.benchmark import DEFAULT_PLATFORM, MODES, Job, Suite, format_timings, parse_list
from vbench.cli.argtypes import positive_int
from vbench.compiler.encodings import WEIGHT_ENCODINGS
from vbench.errors import VbenchError
from vbench.outputs import check_build_dirs, check_writable_dir
from vbench.platform import load_platform
from vbench.report import make_result_set, summary_table, write_result_set
from vbench.report_io import write_json_atomic
from vbench.workloads import IDS, by_id

NAME = "run"
HELP = "run the MLPerf Tiny benchmark (latency, energy, accuracy) on virtual boards and write a report"


def add_arguments(p) -> None:
    p.add_argument("--platform", action="append", help=f"board (repeatable; default {DEFAULT_PLATFORM})")
    p.add_argument("--workload", default="kws,vww,ic,ad", help="comma-separated: kws, vww, ic, ad (default all)")
    p.add_argument("--mode", default="performance,energy", help="comma-separated: performance, energy, accuracy")
    p.add_argument("--dataset", type=Path, help="EEMBC dataset directory (DIR/kws01/y_labels.csv and the files)")
    p.add_argument("--accuracy-limit", type=positive_int, metavar="N", help="accuracy on the first N files only")
    p.add_argument("--kernels", default="optimized",
                   help="optimized (the platform's kernel variant, default), reference, or a variant directory name")
    p.add_argument("--model", action="append", default=[], metavar="WORKLOAD=PATH",
                   help="run an int8 .tflite with the workload's input and output sizes instead of its model, "
                        "e.g. kws=build/kws_p50.tflite (a pruned or clustered copy; repeatable)")
    p.add_argument("--weights", default="dense", choices=WEIGHT_ENCODINGS,
                   help="weight encoding of the compiled models (default %(default)s): sparse skips zero weights "
                        "of pruned layers, palette stores 4-bit indices into 16 values")
    p.add_argument("--winograd", action="store_true", help="3x3 stride-1 convolutions as Winograd F(2x2,3x3)")
    p.add_argument("--scenario", default=None,
                   help="LoadGen scenarios in virtual time, comma-separated: SingleStream, MultiStream, Server, Offline")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a platform parameter")
    p.add_argument("--out", type=Path, default=Path("results"), help="output directory (default %(default)s)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel simulations (default: all cores)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--no-share-simulation", action="store_true",
                   help="profile layers on a board of their own instead of branching off the timed run (same figures)")


def parse_models(specs: list[str], workloads: list[str]) -> dict[str, str]:
    """--model WORKLOAD=PATH entries, each file checked against its workload (int8, same input
    and output sizes) before any simulation."""
    from vbench.harness.build import check_workload_model

    models: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not path:
            raise VbenchError(f"--model {spec}: expected WORKLOAD=PATH, e.g. kws=build/kws_p50.tflite")
        if name not in IDS:
            raise VbenchError(f"--model {spec}: unknown workload '{name}' (known: {', '.join(IDS)})")
        if name in models:
            raise VbenchError(f"--model {spec}: a second model for {name} (first {models[name]})")
        if name not in workloads:
            raise VbenchError(f"--model {spec}: workload {name} is not run (--workload {','.join(workloads)})")
        models[name] = str(check_workload_model(by_id(name).model_id, Path(path)).resolve())
    return models


def run(args) -> int:
    workloads = parse_list(args.workload, IDS, "workload")
    if not workloads:
        raise VbenchError(f"--workload names no workload (known: {', '.join(IDS)})")
    modes = parse_list(args.mode, MODES, "mode")
    if not modes:
        raise VbenchError(f"--mode names no mode (known: {', '.join(MODES)})")
    # results.json, results.csv, report.md and the plots: writable before anything is simulated
    check_writable_dir(args.out, "--out", files=("results.json", "results.csv", "report.md", "latency.png", "energy.png"))
    check_build_dirs()  # firmware images and compiled models
    models = parse_models(args.model, workloads)
    platforms = args.platform or [DEFAULT_PLATFORM]
    if any(not name.strip() for name in platforms):
        from vbench.platform import available_platforms

        raise VbenchError(f"--platform '' names no board (known: {', '.join(p.stem for p in available_platforms())})")
    for name in platforms:
        load_platform(name, args.set)  # bad board or override: fail before any simulation
    if "accuracy" in modes and not args.dataset:
        raise VbenchError("--mode accuracy needs --dataset DIR (the EEMBC layout, e.g. DIR/kws01/y_labels.csv)")
    if args.dataset and not args.dataset.is_dir():
        raise VbenchError(f"--dataset {args.dataset}: not a directory")
    from vbench.loadgen import SCENARIOS

    scenarios = tuple(parse_list(args.scenario, SCENARIOS, "scenario"))
    if scenarios and "performance" not in modes:
        raise VbenchError("--scenario needs --mode performance (the scenarios use its per-input latencies)")
    variant = args.kernels
    cores = args.jobs or os.cpu_count() or 1
    n_jobs = len(platforms) * len(workloads) * len(modes)
    acc_workers = max(1, cores // min(n_jobs, cores))  # a lone accuracy job gets every core
    jobs = [Job(w, p, m, tuple(args.set), str(args.dataset) if args.dataset else None, variant, args.accuracy_limit,
                scenarios=scenarios, accuracy_workers=acc_workers, model=models.get(w), weights=args.weights,
                winograd=args.winograd)
            for p in platforms for w in workloads for m in modes]
    encoding = "" if args.weights == "dense" and not args.winograd else \
        f"; weights {args.weights}{', winograd' if args.winograd else ''}"
    print(f"vbench run: {len(jobs)} jobs ({', '.join(workloads)} x {', '.join(platforms)} x {', '.join(modes)})"
          + "".join(f"; {w}: {path}" for w, path in models.items()) + encoding, file=sys.stderr)
    t0 = time.perf_counter()
    suite = Suite(jobs) if args.jobs is None else Suite(jobs, max(1, args.jobs))
    suite.share_simulation = not args.no_share_simulation
    records = suite.run(progress=lambda line: print(line, file=sys.stderr, flush=True))
    wall = time.perf_counter() - t0
    result_set = make_result_set(records, wall_s=round(wall, 2), platforms=platforms, workloads=workloads,
                                 modes=modes, kernels=args.kernels, models=models, weights=args.weights,
                                 winograd=args.winograd, timings=suite.timings)
    t_report = time.perf_counter()
    files = write_result_set(args.out, result_set, plots=not args.no_plots)
    # results.json again (atomically) with the report stage's time, which only exists once it is written
    suite.timings["report_s"] = result_set.metadata["timings"]["report_s"] = round(time.perf_counter() - t_report, 3)
    write_json_atomic(args.out / "results.json", result_set.to_dict())
    print(summary_table(records))
    for r in records:
        for name, sc in (r.scenarios or {}).items():
            lat = f"p{sc['latency_percentile'] * 100:g} latency {sc['latency_s_at_percentile'] * 1e3:.3f} ms" \
                if sc.get("latency_s_at_percentile") is not None else ""
            print(f"{r.workload}/{r.platform} {name}: {sc['queries']} queries, {sc['samples']} samples, "
                  f"{lat} throughput {sc['throughput_sps']:.3f}/s {'VALID' if sc['valid'] else 'INVALID'}")
    print(f"\nwall time {wall:.1f} s; wrote {', '.join(str(f) for f in files[:4])}" + (" and plots" if len(files) > 4 else ""))
    print(format_timings(suite.timings), file=sys.stderr)
    failed = [r for r in records if r.failing]
    for r in failed:
        print(f"FAILED {r.workload}/{r.platform}/{r.mode}: {r.reason}", file=sys.stderr)
    return 1 if failed else 0
