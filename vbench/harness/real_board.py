"""`vbench run --port`: the benchmark jobs of a run on a real board, checked before any work.

The jobs are the same `benchmark.Job`s a virtual run plans (vbench.runs.plan), with the port set: `run_job` then
opens a SerialTarget instead of a VirtualTarget and the same runner and modes drive the wire
(vbench/harness/modes.py). Only one job talks to the port at a time. What the board runs was
flashed (`vbench build eembc`, `vbench flash`), so options that change the image are refused.
"""

from __future__ import annotations

import dataclasses
import os

from vbench.errors import VbenchError
from vbench.harness.energy_import import MeterEnergy, apply_meter_energy, read_meter_csv

__all__ = ["check_board_options", "on_board", "apply_meter_energy"]


def check_board_options(args, platforms: list[str]) -> dict[str, MeterEnergy] | None:
    """The --port/--baud/--energy-import options of `vbench run`; the meter's figures if given."""
    if not args.port:
        if args.energy_import:
            raise VbenchError("--energy-import needs --port: a virtual board's energy comes from its power model")
        return None
    if not os.path.exists(args.port):
        raise VbenchError(f"--port {args.port}: no such serial device (is the board connected? `vbench serve` prints "
                          f"the pty of a virtual one)")
    if len(platforms) != 1:
        raise VbenchError(f"--port drives one board; --platform names {len(platforms)} ({', '.join(platforms)})")
    image_options = [name for name, given in (("--set", args.set), ("--model", args.model),
                                               ("--weights", args.weights != "dense"), ("--winograd", args.winograd))
                     if given]
    if image_options:
        raise VbenchError(f"{', '.join(image_options)}: not applicable with --port (the board runs the image it was "
                          f"flashed with: build it with `vbench build eembc`, then `vbench flash`)")
    return read_meter_csv(args.energy_import) if args.energy_import else None


def on_board(run_plan, port: str, baud: int) -> None:
    """A checked run plan (vbench.runs.plan) turned to the board on `port`: one job at a time."""
    run_plan.jobs = [dataclasses.replace(j, port=port, baud=baud, variant=None, accuracy_workers=1)
                     for j in run_plan.jobs]
    run_plan.workers = 1
    run_plan.kernels = "as flashed"
