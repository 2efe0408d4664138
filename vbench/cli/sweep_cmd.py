"""`vbench sweep SPEC.toml`: run a grid of what-if overrides in parallel and write one table.

--executor dask runs the points on a Dask cluster (--scheduler ADDRESS, or a LocalCluster here);
--journal FILE makes the sweep resumable: finished points are appended to FILE as they finish and
a rerun skips them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vbench.cli.argtypes import positive_int
from vbench.executors import EXECUTORS, make_executor
from vbench.outputs import check_build_dirs, check_writable_file
from vbench.report_io import write_csv_atomic, write_json_atomic
from vbench.sweep import load_sweep, print_progress, run_sweep

NAME = "sweep"
HELP = "run a grid of platform/power overrides (a sweep file) in parallel and write one table"


def _non_negative_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def add_arguments(p) -> None:
    p.add_argument("spec", type=Path, help="sweep file: firmware, platform, [set], [grid]")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="parallel simulations (default: all cores; with --executor dask and no --scheduler, "
                        "the LocalCluster's worker processes)")
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local: this machine's cores (default); dask: a dask.distributed cluster "
                        "(pip install 'vbench[dask]')")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a LocalCluster on this machine)")
    p.add_argument("--retries", type=_non_negative_int, default=2,
                   help="Dask: reruns of a point whose task failed (default %(default)s)")
    p.add_argument("--journal", type=Path, metavar="FILE.jsonl",
                   help="append each finished point to FILE; a rerun skips the points already in it")
    p.add_argument("--csv", type=Path, help="write the table as CSV")
    p.add_argument("--json-out", type=Path, metavar="FILE", help="write the rows as JSON")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def run(args) -> int:
    for path, flag in ((args.csv, "--csv"), (args.json_out, "--json-out"), (args.journal, "--journal")):
        if path:
            check_writable_file(path, flag)  # before the grid runs, not after it
    check_build_dirs()  # the spec's firmware may be an app built on the way
    spec = load_sweep(args.spec)
    executor = make_executor(args.executor, workers=args.workers, scheduler=args.scheduler, retries=args.retries)
    rows = run_sweep(spec, executor, journal=args.journal, progress=None if args.quiet else print_progress(sys.stderr))
    if args.csv:
        write_csv_atomic(args.csv, rows)
    if args.json_out:
        write_json_atomic(args.json_out, rows)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    keys = [k for k in rows[0] if k.startswith("set:")]
    head = " ".join(f"{k[4:]:>18}" for k in keys) + f" {'exit':>6} {'cycles':>14} {'time_ms':>10} {'energy_uJ':>11}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(" ".join(f"{str(r[k]):>18}" for k in keys)
              + f" {r['exit']:>6} {r['cycles']:>14,} {r['time_ms']:>10.3f} {r['energy_uj']:>11.3f}")
    return 0 if all(r["exit"] in ("exit", "halt") for r in rows) else 1
