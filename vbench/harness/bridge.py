"""Serve a virtual board's console UART on a file descriptor, e.g. the master end of a
pseudo-terminal, so that a runner on the other end sees a serial device:

    python -m vbench.harness.bridge --platform nucleo-l4r5zi --elf build/.../eembc.elf --fd 5

Bytes read from the descriptor are fed to the console UART; after each batch the board runs
until the firmware waits for input again and everything it printed is written back. The
bridge ends when the firmware stops, or when the descriptor reports end of file.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import sys
import time

from vbench.harness.protocol import Timeout

# Per batch of input: a hung firmware ends the bridge after this much simulated work.
BATCH_TIMEOUT = Timeout(instructions=20_000_000_000)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        n = os.write(fd, data)
        data = data[n:]


def serve(transport, fd: int, timeout: Timeout = BATCH_TIMEOUT) -> int:
    """Bridge until the firmware stops or the peer goes away; returns an exit status."""
    _write_all(fd, transport.read(timeout))  # the boot banner
    while transport.ended is None:
        select.select([fd], [], [])
        try:
            data = os.read(fd, 4096)
        except OSError as exc:
            if exc.errno == errno.EIO:  # pty with no slave open (yet): wait for the peer
                time.sleep(0.01)
                continue
            raise
        if not data:
            return 0
        transport.write(data)
        _write_all(fd, transport.read(timeout))
    return 0 if transport.ended.exit == "exit" and transport.ended.exit_code == 0 else 1


def main(argv: list[str] | None = None) -> int:
    from vbench.errors import VbenchError
    from vbench.harness.transport import VirtualTransport

    p = argparse.ArgumentParser(prog="python -m vbench.harness.bridge", description=__doc__.split("\n\n")[0])
    p.add_argument("--platform", required=True)
    p.add_argument("--elf", required=True)
    p.add_argument("--fd", type=int, required=True, help="descriptor to serve (inherited)")
    p.add_argument("--hold-fd", type=int, action="append", default=[],
                   help="descriptor to keep open for the bridge's lifetime (a pty slave, so reads do not fail)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    try:
        transport = VirtualTransport.open(args.platform, args.elf, args.set)
        return serve(transport, args.fd)
    except VbenchError as exc:
        print(f"bridge: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
