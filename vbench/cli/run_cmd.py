"""`vbench run`: the MLPerf Tiny benchmark on virtual boards (the README's main job).

Defaults: all four workloads, performance and energy modes, on the reference board. Writes
results.json, results.csv, report.md, plots and the EEMBC runner's layout
(<out>/<model id>/<mode>/results.txt, log.txt) to --out, atomically; prints a summary table, or
with --json the results.json object on stdout. Progress (a bar with an ETA on a terminal, a line per
job) goes to stderr; --quiet silences it. The work itself is vbench/runs.py, shared with the Python
API (`vbench.run`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from vbench.benchmark import DEFAULT_PLATFORM, format_timings
from vbench.cli.argtypes import positive_int
from vbench.compiler.encodings import WEIGHT_ENCODINGS
from vbench.progress import Progress
from vbench.report import summary_table
from vbench.report_io import strict_json
from vbench.runs import check_models, execute, plan, write

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
    p.add_argument("--jobs", "-j", type=positive_int, default=None, help="parallel simulations (default: all cores)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--json", action="store_true",
                   help="print the results.json object on stdout (the table and progress go to stderr)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr (errors still)")
    p.add_argument("--no-share-simulation", action="store_true",
                   help="profile layers on a board of their own instead of branching off the timed run (same figures)")
    board = p.add_argument_group("a real board (README: Running on a real board)")
    board.add_argument("--port", help="run on the board on this serial port (e.g. /dev/ttyACM0, or `vbench serve`)")
    board.add_argument("--baud", type=positive_int, default=115200, help="serial baud rate (default %(default)s)")
    board.add_argument("--energy-import", type=Path, metavar="CSV",
                       help="per-inference energy measured by an external meter (vbench/harness/energy_import.py)")


def parse_models(specs: list[str], workloads: list[str]) -> dict[str, str]:
    """--model WORKLOAD=PATH entries, each checked against its workload (vbench.runs.check_models)."""
    return check_models(specs, workloads)


def run(args) -> int:
    run_plan = plan(workloads=args.workload, platforms=args.platform, modes=args.mode, kernels=args.kernels,
                    overrides=args.set, out=args.out, dataset=args.dataset, accuracy_limit=args.accuracy_limit,
                    models=args.model, weights=args.weights, winograd=args.winograd, scenarios=args.scenario,
                    workers=args.jobs)
    from vbench.harness.real_board import apply_meter_energy, check_board_options, on_board

    meter = check_board_options(args, run_plan.platforms)  # --port: the same jobs, over the wire
    if args.port:
        on_board(run_plan, args.port, args.baud)
    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    say(f"vbench run: {run_plan.describe()}")
    t0 = time.perf_counter()
    with Progress(len(run_plan.jobs), "vbench run", quiet=args.quiet) as progress:
        result_set = execute(run_plan, progress, share_simulation=not args.no_share_simulation)
    if args.port:
        apply_meter_energy(result_set.records, meter, args.energy_import)
    wall = time.perf_counter() - t0
    files = write(args.out, result_set, plots=not args.no_plots)
    records = result_set.records
    report = sys.stderr if args.json else sys.stdout
    if args.json:
        sys.stdout.write(strict_json(result_set.to_dict()))
    if not (args.json and args.quiet):
        print(summary_table(records), file=report)
        for r in records:
            for name, sc in (r.scenarios or {}).items():
                lat = f"p{sc['latency_percentile'] * 100:g} latency {sc['latency_s_at_percentile'] * 1e3:.3f} ms" \
                    if sc.get("latency_s_at_percentile") is not None else ""
                print(f"{r.workload}/{r.platform} {name}: {sc['queries']} queries, {sc['samples']} samples, "
                      f"{lat} throughput {sc['throughput_sps']:.3f}/s {'VALID' if sc['valid'] else 'INVALID'}",
                      file=report)
        print(f"\nwall time {wall:.1f} s; wrote {', '.join(str(f) for f in files[:3])}"
              + (f" and {len(files) - 3} more (plots, the EEMBC layout)" if len(files) > 3 else ""), file=report)
    say(format_timings(result_set.metadata["timings"]))
    failed = [r for r in records if r.failing]
    for r in failed:
        print(f"FAILED {r.workload}/{r.platform}/{r.mode}: {r.reason}", file=sys.stderr)
    return 1 if failed else 0
