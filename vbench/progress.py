"""Progress of long commands on stderr: a bar with an ETA (tqdm) and log lines above it.

The bar is drawn only on a terminal (a CI log or a pipe gets no carriage-return noise); log lines
are written on any stream; `quiet` silences both. stdout stays free for results (`run --json`).
"""

from __future__ import annotations

import sys
from typing import IO


class Progress:
    """A bar over `total` units (jobs, files) with an ETA, and `note()` for log lines.

    `steps()` gives a callback for the harness's `progress(done, total, name)` that draws a second
    bar for the work inside one job (e.g. the files of an accuracy run)."""

    def __init__(self, total: int, desc: str, unit: str = "job", *, quiet: bool = False, stream: IO[str] | None = None,
                 refresh_s: float = 0.1):
        from tqdm import tqdm

        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.drawn = not quiet and _is_tty(self.stream)
        self.refresh_s = refresh_s   # at most one redraw per refresh_s
        self._tqdm = tqdm
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream, disable=not self.drawn, leave=False,
                        dynamic_ncols=True, mininterval=refresh_s)
        self._inner = None

    def note(self, line: str) -> None:
        """A log line: above the bar on a terminal, as is elsewhere, nothing when quiet."""
        if self.quiet:
            return
        if self.drawn:
            self._tqdm.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def advance(self, n: int = 1) -> None:
        self._close_inner()
        self.bar.update(n)

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


def _is_tty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["Progress"]
