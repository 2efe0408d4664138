"""A copy-on-write copy of this process, to branch a simulation without re-simulating its past.

    value = in_forked_copy(lambda: measure(runner))

A virtual board is deterministic and lives entirely in this process (Unicorn's memory, the
native accounting core), so `os.fork()` copies it exactly at this instant: the child continues
from the same state the parent's board is in, runs `fn`, sends back its (picklable) result and
exits; the parent's board is untouched. Used where two measurements share a prefix of commands
(the performance run's first `infer 1 1` and the per-layer profile after it).
"""

from __future__ import annotations

import os
import pickle
import select
import time
from typing import Any, Callable

from vbench.errors import VbenchError

CHILD_TIMEOUT_S = 900.0   # a bound on the child, so a stuck branch cannot hang the run


def can_fork() -> bool:
    return hasattr(os, "fork")


def in_forked_copy(fn: Callable[[], Any], timeout_s: float = CHILD_TIMEOUT_S) -> Any:
    """fn() run in a forked copy of this process; its return value, or its exception re-raised
    here as a VbenchError naming it."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into the caller's code, never run atexit handlers
        status = 0
        try:
            os.close(read_fd)
            try:
                payload = pickle.dumps(("ok", fn()))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent
                payload = pickle.dumps(("error", f"{type(exc).__name__}: {exc}"))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + timeout_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                os.kill(pid, 9)
                raise VbenchError(f"forked simulation branch did not finish within {timeout_s:.0f} s")
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    if not chunks:
        raise VbenchError("forked simulation branch exited without a result")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "error":
        raise VbenchError(f"forked simulation branch failed: {value}")
    return value
