"""A resumable results file: one JSON line per finished point, appended as the point finishes.

    journal = PointJournal(path)            # reads what an earlier, interrupted run finished
    journal.done(key) -> row | None
    journal.append(key, row)                # one os.write of one whole line (O_APPEND)

Each line is `{"key": ..., "row": {...}}`; a key names everything a point's result depends on
(vbench.sweep.point_key), so after the firmware or the grid changed, old lines simply match
nothing. A run killed in the middle of a write leaves at most one partial last line: it is cut
off when the file is opened again and that point runs again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vbench.errors import VbenchError


class PointJournal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._done: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self._read()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise VbenchError(f"--journal {self.path}: cannot open for appending: {exc.strerror}") from None

    def _read(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise VbenchError(f"--journal {self.path}: cannot read: {exc.strerror}") from None
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) != len(data):  # a write cut short by a kill: that point runs again
            with open(self.path, "r+b") as f:
                f.truncate(len(complete))
        for n, line in enumerate(complete.splitlines(), 1):
            try:
                entry = json.loads(line)
                key, row = entry["key"], entry["row"]
            except (ValueError, KeyError, TypeError):
                raise VbenchError(f"--journal {self.path}: line {n} is not a sweep journal entry "
                                  f"({{\"key\": ..., \"row\": ...}})") from None
            self._done[key] = row

    def done(self, key: str) -> dict[str, Any] | None:
        return self._done.get(key)

    def __len__(self) -> int:
        return len(self._done)

    def append(self, key: str, row: dict[str, Any]) -> None:
        line = (json.dumps({"key": key, "row": row}, separators=(",", ":"), allow_nan=False) + "\n").encode()
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: refuse rather than leave a torn line behind
            raise VbenchError(f"--journal {self.path}: short write ({written} of {len(line)} bytes)")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "PointJournal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
