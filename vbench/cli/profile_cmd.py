"""`vbench profile`: where the cycles go, per function and (with the runtime's layer markers) per layer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vbench.cli.argtypes import positive_int
from vbench.outputs import check_writable_file
from vbench.cli.exec_cmd import exit_status
from vbench.platform import load_platform
from vbench.report_io import write_csv_atomic
from vbench.sim.board import Board
from vbench.sim.native import STALL_CAUSES

NAME = "profile"
HELP = "run a firmware and print cycles, instructions, stalls by cause and energy per function and per layer"


def add_arguments(p) -> None:
    p.add_argument("firmware", type=Path)
    p.add_argument("--platform", default="nucleo-l4r5zi")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--max-instructions", type=positive_int, default=None, metavar="N",
                   help="instruction budget, a positive whole number (default 20e9)")
    p.add_argument("--top", type=int, default=25, help="functions shown in the table (default %(default)s)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", type=Path, help="write the per-function and per-layer rows to this CSV file")


def _table(rows, key_name: str, top: int) -> None:
    total = sum(r["cycles"] for r in rows) or 1
    head = f"{key_name:<32} {'cycles':>12} {'%':>6} {'instr':>12} {'CPI':>5} " + " ".join(
        f"{'st_' + c:>10}" for c in STALL_CAUSES) + f" {'uJ':>10}"
    print(head)
    print("-" * len(head))
    for r in rows[:top]:
        cpi = r["cycles"] / r["instructions"] if r["instructions"] else 0
        print(f"{r['name'][:32]:<32} {r['cycles']:>12,} {100 * r['cycles'] / total:>6.1f} {r['instructions']:>12,} "
              f"{cpi:>5.2f} " + " ".join(f"{r['stall_' + c]:>10,}" for c in STALL_CAUSES) + f" {r['energy_uj']:>10.3f}")


def run(args) -> int:
    if args.csv:
        check_writable_file(args.csv, "--csv")  # before the simulation, not after it
    plat = load_platform(args.platform, args.set)
    board = Board(plat, args.firmware, max_instructions=args.max_instructions)
    try:
        result = board.run()
        prof = board.profile()
    finally:
        board.close()
    if args.csv and result.exit in ("fault", "budget"):  # a run that did not end is no profile to keep
        print(f"vbench: no profile written to {args.csv}: the run ended in a {result.exit}", file=sys.stderr)
    elif args.csv:
        rows = [{"kind": "function", **r} for r in prof["functions"]] + [{"kind": "layer", **r} for r in prof["layers"]]
        write_csv_atomic(args.csv, rows)
    if args.json:
        print(json.dumps({"run": result.to_json(), **prof}))
        return exit_status(result)
    print(f"{plat.name}: {result.exit}" + (f": {result.message}" if result.message else "")
          + f"\ninstructions {result.instructions:,}  cycles {result.cycles:,}  "
          f"time {result.time_s * 1e3:.3f} ms  energy {result.energy_uj:.3f} uJ")
    print()
    _table(prof["functions"], "function", args.top)
    if len(prof["layers"]) > 1:
        print()
        _table(prof["layers"], "layer", 10_000)
    if result.exit in ("fault", "budget"):
        print(f"vbench: {result.exit}: {result.message}", file=sys.stderr)
    return exit_status(result)
