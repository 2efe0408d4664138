"""`vbench serve`: a virtual board on a pseudo-terminal. The benchmark firmware runs on the
simulated board and its console UART is the pty, so a host script (or `vbench run --port`)
talks to it with real serial bytes, exactly as to a board on /dev/ttyACM0.

The first line on stdout is the serial device to open (the pty, or LINK: a symlink to it);
the board serves until Ctrl-C / SIGTERM, or until the firmware stops."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from vbench.errors import VbenchError

NAME = "serve"
HELP = "serve the benchmark firmware on a virtual board over a pseudo-terminal (a serial port for host scripts)"


def add_arguments(p) -> None:
    p.add_argument("link", nargs="?", default="auto", metavar="PTY",
                   help="auto (default: print the new pty's path) or a path to create as a symlink to it, "
                        "e.g. /tmp/ttyVB0")
    p.add_argument("--platform", required=True, help="the virtual board, e.g. nucleo-l4r5zi")
    p.add_argument("--workload", help="kws, vww, ic or ad: serve its benchmark image (as `vbench run` builds it)")
    p.add_argument("--elf", type=Path, help="serve this harness image instead (e.g. from `vbench build eembc`)")
    p.add_argument("--kernels", default="optimized",
                   help="optimized (the platform's variant, default), reference, or a variant name")
    p.add_argument("--energy-mode", action="store_true", help="the EE_CFG_ENERGY_MODE=1 image (no m-lap-us lines)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a platform parameter")


def _image(args) -> str:
    from vbench.firmware.kernels import resolve_kernels
    from vbench.harness.modes import VirtualTarget
    from vbench.platform import load_platform
    from vbench.workloads import IDS, by_id

    plat = load_platform(args.platform, args.set)
    if args.elf is not None:
        if args.workload:
            raise VbenchError("give --workload or --elf, not both")
        if not args.elf.is_file():
            raise VbenchError(f"--elf {args.elf}: not found")
        return str(args.elf.resolve())
    if not args.workload:
        raise VbenchError(f"--workload (one of {', '.join(IDS)}) or --elf is needed")
    if args.workload not in IDS:
        raise VbenchError(f"--workload {args.workload}: unknown workload (known: {', '.join(IDS)})")
    from vbench.outputs import check_build_dirs

    check_build_dirs()
    target = VirtualTarget(by_id(args.workload).model_id, plat.name, tuple(args.set),
                           energy_mode=args.energy_mode, variant=resolve_kernels(args.kernels, plat))
    return target.prepare().elf


def _terminate(signum, frame):  # SIGTERM ends the server as Ctrl-C does: the link is removed
    raise KeyboardInterrupt


def run(args) -> int:
    from vbench.harness.bridge import serve
    from vbench.harness.transport import VirtualTransport, open_pty_pair

    link = None if args.link == "auto" else Path(args.link)
    if link is not None and (link.exists() or link.is_symlink()):
        raise VbenchError(f"{link}: exists; give a new path for the link to the pty (or auto)")
    if link is not None and not link.parent.is_dir():
        raise VbenchError(f"{link}: folder {link.parent} does not exist")
    elf = _image(args)
    transport = VirtualTransport.open(args.platform, elf, args.set)
    master, slave, path = open_pty_pair()  # the slave stays open here: the master never reads EIO
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if link is not None:
            os.symlink(path, link)
        print(link if link is not None else path, flush=True)
        print(f"vbench serve: {Path(elf).name} on a virtual {args.platform} at {link or path} "
              f"({path}); Ctrl-C to stop", file=sys.stderr, flush=True)
        status = serve(transport, master)
        print(f"vbench serve: the firmware stopped ({transport._end_text()})", file=sys.stderr)
        return status
    finally:
        signal.signal(signal.SIGTERM, previous)
        if link is not None and link.is_symlink():
            link.unlink()
        os.close(master)
        os.close(slave)
        transport.close()
