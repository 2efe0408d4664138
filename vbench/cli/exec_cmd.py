"""`vbench exec`: run one firmware image on a virtual board to its end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vbench.api import exec_firmware, exit_status  # noqa: F401  (exit_status: profile's and measure's exit codes)
from vbench.cli.argtypes import positive_int
from vbench.errors import VbenchError

NAME = "exec"
HELP = "run a firmware ELF on a virtual board and report instructions, cycles, time and energy"


def add_arguments(p) -> None:
    p.add_argument("firmware", type=Path, help="ELF image")
    p.add_argument("--platform", default="nucleo-l4r5zi", help="board name or platform file (default: %(default)s)")
    p.add_argument("--max-instructions", type=positive_int, default=None, metavar="N",
                   help="instruction budget, a positive whole number (default 20e9)")
    p.add_argument("--uart-in", type=Path, help="file whose bytes are fed to the console UART receiver")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a platform parameter")
    p.add_argument("--no-timing", action="store_true", help="CPI = 1, no flash model (baseline)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    uart_in = b""
    if args.uart_in:
        try:
            uart_in = args.uart_in.read_bytes()
        except OSError as exc:
            raise VbenchError(f"cannot read --uart-in {args.uart_in}: {exc.strerror}") from None
    result = exec_firmware(args.firmware, args.platform, overrides=args.set, max_instructions=args.max_instructions,
                           uart_input=uart_in, timing=not args.no_timing)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        sys.stdout.write(result.uart)
        if result.uart and not result.uart.endswith("\n"):
            sys.stdout.write("\n")
        print(f"--- {result.platform}: {result.exit}"
              + (f" (code {result.exit_code})" if result.exit_code is not None else "")
              + (f": {result.message}" if result.message else ""))
        print(f"instructions {result.instructions:,}  cycles {result.cycles:,}  time {result.time_s * 1e3:.3f} ms"
              f" at {result.clock_hz / 1e6:g} MHz  energy {result.energy_uj:.3f} uJ at {result.supply_v:g} V")
    return result.exit_status
