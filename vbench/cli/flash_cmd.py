"""`vbench flash`: put a benchmark image (from `vbench build eembc`) on a real board through
pyOCD or OpenOCD. Without a tool or a probe: a message naming what is missing, exit 2."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from vbench.errors import VbenchError

NAME = "flash"
HELP = "flash a benchmark image (ELF, HEX or BIN from `vbench build eembc`) onto a real board via pyOCD or OpenOCD"

FLASH_TIMEOUT_S = 600


def _address(text: str) -> int:
    import argparse

    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an address (e.g. 0x08000000)") from None
    if not 0 <= value < 1 << 32:
        raise argparse.ArgumentTypeError(f"{text} is outside the 32-bit address space")
    return value


def add_arguments(p) -> None:
    from vbench.flashing import BOARDS, TOOLS

    p.add_argument("image", type=Path, metavar="IMAGE", help="the image: .elf, .hex or .bin")
    p.add_argument("--platform", required=True, help=f"the board ({', '.join(BOARDS)})")
    p.add_argument("--probe", metavar="SERIAL", help="the debug probe's USB serial number (default: the one attached)")
    p.add_argument("--tool", choices=("auto", *TOOLS), default="auto",
                   help="flash tool (default: pyOCD if installed, else OpenOCD)")
    p.add_argument("--base-address", type=_address, metavar="ADDR",
                   help="where a .bin goes (default: the board's flash base)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the command that would flash the board and exit, without looking for a probe")


def run(args) -> int:
    from vbench.flashing import TOOLS, find_probes, find_tool, flash_command, missing_tool_text

    image = args.image.resolve()
    candidates = TOOLS if args.tool == "auto" else (args.tool,)
    installed = {t: find_tool(t) for t in candidates}
    chosen = next((t for t in candidates if installed[t]), None)
    # bad image or board first: that is the user's input, whatever is installed
    commands = {t: flash_command(t, image, args.platform, probe=args.probe, base_address=args.base_address,
                                 executable=installed[t]) for t in candidates}
    if args.dry_run:
        for t in ([chosen] if chosen else candidates):
            state = "" if installed[t] else f"  # {t} is not installed"
            print(shlex.join(commands[t]) + state)
        return 0
    missing = []
    if chosen is None:
        missing.append(missing_tool_text() if args.tool == "auto" else
                       f"{args.tool} not found on PATH ({missing_tool_text().split(': ', 1)[1]})")
    probes = find_probes()
    if args.probe:
        probes = [p for p in probes if p.serial == args.probe]
    if not probes:
        missing.append(f"no debug probe with serial {args.probe} attached" if args.probe else
                       "no debug probe attached: connect the board's ST-LINK USB port (no ST-LINK, J-Link or "
                       "DAPLink found on USB)")
    elif len(probes) > 1 and not args.probe:
        missing.append(f"{len(probes)} debug probes attached ({'; '.join(p.describe() for p in probes)}): "
                       f"choose one with --probe SERIAL")
    if missing:
        raise VbenchError("cannot flash: " + "; ".join(missing))
    cmd = commands[chosen]
    print(f"vbench flash: {probes[0].describe()}: {shlex.join(cmd)}", file=sys.stderr, flush=True)
    try:
        res = subprocess.run(cmd, timeout=FLASH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise VbenchError(f"{chosen} did not finish within {FLASH_TIMEOUT_S} s") from None
    except OSError as exc:
        raise VbenchError(f"cannot run {cmd[0]}: {exc.strerror}") from None
    if res.returncode != 0:
        print(f"vbench flash: {chosen} failed (exit {res.returncode})", file=sys.stderr)
        return 1
    print(f"flashed {image} onto {args.platform}; the board was reset and waits for the runner "
          f"(vbench run --port ...)")
    return 0
