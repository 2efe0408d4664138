"""Progress of long commands on stderr: a bar with an ETA (tqdm) and log lines above it.

The bar is drawn only on a terminal (a CI log or a pipe gets no carriage-return noise); log lines
are written on any stream; `quiet` silences both. stdout stays free for results (`run --json`).
A finished unit (`done`) logs one line with its count, the time elapsed and the ETA, so a CI log
without a bar still tells how far a command is and how long it has left.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Callable


class Progress:
    """A bar over `total` units (jobs, files) with an ETA, and `note()` for log lines.

    `steps()` gives a callback for the harness's `progress(done, total, name)` that draws a second
    bar for the work inside one job (e.g. the files of an accuracy run). `prefix` starts every log
    line (e.g. "validate: "); `sink`, when given, takes every log line instead of the stream and no
    bar is drawn (a library function called with a plain callback, see `as_progress`). A Progress is
    itself a `(line) -> None` callback, so code that only logs lines takes it as is."""

    def __init__(self, total: int, desc: str, unit: str = "job", *, quiet: bool = False, stream: IO[str] | None = None,
                 refresh_s: float = 0.1, prefix: str = "", sink: Callable[[str], None] | None = None):
        from tqdm import tqdm

        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.sink = sink
        self.prefix = prefix
        self.drawn = not quiet and sink is None and _is_tty(self.stream)
        self.refresh_s = refresh_s   # at most one redraw per refresh_s
        self.total, self.count, self._t0 = total, 0, time.monotonic()
        self._tqdm = tqdm
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, disable=not self.drawn, leave=False,
                        dynamic_ncols=True, mininterval=refresh_s)
        self._inner = None

    def note(self, line: str) -> None:
        """A log line: above the bar on a terminal, as is elsewhere, nothing when quiet."""
        if self.quiet:
            return
        line = self.prefix + line
        if self.sink is not None:
            self.sink(line)
        elif self.drawn:
            self._tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    __call__ = note

    def advance(self, n: int = 1) -> None:
        self._close_inner()
        self.count += n
        self.bar.update(n)

    def phase(self, total: int, desc: str | None = None) -> None:
        """Count `total` new units from zero (a command's next phase, e.g. compiling, then board runs):
        the count, the clock and the ETA restart."""
        self._close_inner()
        self.total, self.count, self._t0 = total, 0, time.monotonic()
        if desc is not None:
            self.bar.set_description_str(desc, refresh=False)
        self.bar.set_postfix_str("", refresh=False)   # the last phase's `working` is over
        self.bar.reset(total=total)

    def working(self, what: str) -> None:
        """What runs now: shown on the bar, not logged (the log has a line per finished unit)."""
        if self.drawn:
            self.bar.set_postfix_str(what[-60:])

    def done(self, line: str) -> None:
        """One unit finished: the bar moves and `[k/n] line | mm:ss elapsed, ETA mm:ss` is logged
        (no ETA after the last unit, nor when the total is unknown: `[k] line | mm:ss elapsed`)."""
        self.advance()
        if self.quiet:
            return
        elapsed = time.monotonic() - self._t0
        times = f"{_interval(elapsed)} elapsed"
        if self.total and self.count < self.total:
            times += f", ETA {_interval(elapsed / self.count * (self.total - self.count))}"
        count = f"{self.count}/{self.total}" if self.total else f"{self.count}"
        self.note(f"[{count}] {line} | {times}")

    def steps(self):
        """A `progress(done, total, name)` callback drawing the work inside the current job."""
        def show(done: int, total: int, name: str) -> None:
            if not self.drawn:
                return
            if self._inner is None or self._inner.total != total:
                self._close_inner()
                self._inner = self._tqdm(total=total, unit="step", file=self.stream, position=1, leave=False,
                                         dynamic_ncols=True, mininterval=self.refresh_s)
            self._inner.set_postfix_str(name[-40:], refresh=False)
            self._inner.update(done - self._inner.n)

        return show

    def _close_inner(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None

    def close(self) -> None:
        self._close_inner()
        self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def as_progress(progress: Progress | Callable[[str], None] | None) -> Progress:
    """A library function's `progress` argument as a Progress: the command's own (with its bar) as
    is, a plain `(line) -> None` callback fed the same log lines, None silent."""
    if isinstance(progress, Progress):
        return progress
    return Progress(0, "", quiet=progress is None, sink=progress)


def _interval(seconds: float) -> str:
    from tqdm import tqdm

    return tqdm.format_interval(seconds)


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["Progress", "as_progress"]
