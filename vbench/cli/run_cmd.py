"""`vbench run`: the main job. For now (virtual boards issue) it builds the demo firmware and runs
it on every selected platform; the MLPerf Tiny harness replaces the body (benchmark issue)."""

from __future__ import annotations

import json

from vbench.platform import load_platform
from vbench.sim.board import run_firmware

NAME = "run"
HELP = "build the firmware and run it on the virtual boards (default: both platforms)"


def add_arguments(p) -> None:
    p.add_argument("--platform", action="append", help="board name (repeatable; default: all boards)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a platform parameter")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from vbench.firmware import build_firmware  # the firmware build driver

    names = args.platform or ["nucleo-l4r5zi", "rv32imaf-mcu"]
    rows, status = [], 0
    for name in names:
        plat = load_platform(name, args.set)
        elf = build_firmware("demo", plat)
        r = run_firmware(elf, plat)
        rows.append(r.to_json())
        if not args.json:
            print(r.uart, end="" if r.uart.endswith("\n") else "\n")
            print(f"{name}: {r.exit} code={r.exit_code} instructions={r.instructions:,} cycles={r.cycles:,} "
                  f"time={r.time_s * 1e3:.3f} ms energy={r.energy_uj:.3f} uJ wall={r.wall_s:.2f} s\n")
        if r.exit != "exit" or r.exit_code != 0:
            status = 1
    if args.json:
        print(json.dumps(rows, indent=2))
    return status
