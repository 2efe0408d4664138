"""`vbench sweep SPEC.toml`: run a grid of what-if overrides in parallel and write one table."""

from __future__ import annotations

import json
from pathlib import Path

from vbench.cli.argtypes import positive_int
from vbench.outputs import check_build_dirs, check_writable_file
from vbench.report_io import write_csv_atomic
from vbench.sweep import LocalExecutor, load_sweep, run_sweep

NAME = "sweep"
HELP = "run a grid of platform/power overrides (a sweep file) in parallel and write one table"


def add_arguments(p) -> None:
    p.add_argument("spec", type=Path, help="sweep file: firmware, platform, [set], [grid]")
    p.add_argument("--workers", type=positive_int, default=None, help="parallel simulations (default: all cores)")
    p.add_argument("--csv", type=Path, help="write the table as CSV")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    if args.csv:
        check_writable_file(args.csv, "--csv")  # before the grid runs, not after it
    check_build_dirs()  # the spec's firmware may be an app built on the way
    spec = load_sweep(args.spec)
    rows = run_sweep(spec, LocalExecutor(args.workers))
    if args.csv:
        write_csv_atomic(args.csv, rows)
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
