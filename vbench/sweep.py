"""Parameter sweeps: a grid of platform overrides, each point one simulation, run in parallel.

Points run on an executor (vbench.executors): the local process pool by default, or a Dask
cluster. With a journal (vbench.journal) every finished point is on disk as soon as it finishes,
and a rerun of the same sweep skips it; the rows come back in grid order whatever ran where.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from vbench.errors import VbenchError
from vbench.executors import Executor
from vbench.journal import PointJournal
from vbench.paths import platforms_dir

Progress = Callable[[int, int, int], None]   # (finished, total, taken from the journal)


@dataclass
class SweepSpec:
    path: Path
    firmware: str  # an app under firmware/apps, or an ELF path
    platform: str
    defines: list[str]
    fixed: dict[str, Any]
    grid: dict[str, list[Any]]
    max_instructions: int | None

    def points(self) -> list[dict[str, Any]]:
        keys = list(self.grid)
        return [{**self.fixed, **dict(zip(keys, combo))} for combo in itertools.product(*(self.grid[k] for k in keys))]


def load_sweep(path: str | Path) -> SweepSpec:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise VbenchError(f"cannot read sweep file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise VbenchError(f"{path}: not valid TOML: {exc}") from None
    for key in ("firmware", "platform"):
        if not isinstance(data.get(key), str):
            raise VbenchError(f"{path}: missing '{key}' (a string)")
    grid = data.get("grid", {})
    if not isinstance(grid, dict) or not grid:
        raise VbenchError(f"{path}: [grid] must map parameter names to lists of values")
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            raise VbenchError(f"{path}: grid.{k} must be a non-empty list")
    fw = data["firmware"]
    if fw.endswith(".elf") and not Path(fw).is_absolute():
        fw = str((path.parent / fw).resolve())
    return SweepSpec(path, fw, data["platform"], list(data.get("defines", [])), dict(data.get("set", {})),
                     grid, data.get("max_instructions"))


@dataclass(frozen=True)
class Firmware:
    """The image every point runs, sent to the workers as bytes (a cluster's workers do not see
    the driver's build folder) and named by its hash."""
    sha256: str
    data: bytes

    @classmethod
    def read(cls, path: Path) -> "Firmware":
        data = path.read_bytes()
        return cls(hashlib.sha256(data).hexdigest(), data)

    def local_path(self) -> Path:
        """A file holding the image on this machine (written once per machine, atomically)."""
        path = Path(tempfile.gettempdir()) / f"vbench-sweep-{self.sha256[:24]}.elf"
        if not path.is_file():
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".elf.tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(self.data)
            os.replace(tmp, path)
        return path


def _run_point(firmware: Firmware, job: tuple[str, dict[str, Any], int | None]) -> dict[str, Any]:
    from vbench.platform import load_platform
    from vbench.sim.board import run_firmware

    platform, overrides, budget = job
    plat = load_platform(platform, overrides)
    r = run_firmware(firmware.local_path(), plat, max_instructions=budget)
    return {**{f"set:{k}": v for k, v in overrides.items()}, "exit": r.exit, "instructions": r.instructions,
            "cycles": r.cycles, "time_ms": r.time_s * 1e3, "energy_uj": r.energy_uj,
            "clock_hz": r.clock_hz, **{f"stall_{k}": v for k, v in r.stalls.items()}}


def point_key(firmware: Firmware, platform_sha256: str, job: tuple[str, dict[str, Any], int | None]) -> str:
    """Everything a point's row depends on: the image, the platform file, the overrides, the
    instruction budget and the vbench version (its models)."""
    from vbench import __version__

    platform, overrides, budget = job
    ident = [__version__, firmware.sha256, platform, platform_sha256, sorted(overrides.items()), budget]
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:32]


def print_progress(stream=None, every_s: float = 1.0) -> Progress:
    """`sweep: 120/10000 points (100 from the journal), 3.2 points/s` on stderr, at most once a second."""
    out = stream or sys.stderr
    state = {"last": 0.0, "t0": time.monotonic(), "resumed": None}

    def show(done: int, total: int, resumed: int) -> None:
        now = time.monotonic()
        if state["resumed"] is None:
            state["resumed"], state["t0"] = resumed, now
        if now - state["last"] < every_s and done != total:
            return
        state["last"] = now
        rate = (done - state["resumed"]) / max(now - state["t0"], 1e-9)
        out.write(f"sweep: {done}/{total} points" + (f" ({resumed} from the journal)" if resumed else "")
                  + (f", {rate:.1f} points/s" if done > state["resumed"] else "") + "\n")
        out.flush()

    return show


def run_sweep(spec: SweepSpec, executor: Executor | None = None, *, journal: str | Path | None = None,
              progress: Progress | None = None) -> list[dict[str, Any]]:
    """Every grid point's row, in grid order. journal: a JSONL file of finished points (see
    vbench.journal): points already in it are not run again; new ones are appended as they finish."""
    from vbench.executors.local import LocalExecutor
    from vbench.firmware import build_firmware
    from vbench.platform import load_platform

    points = spec.points()
    for p in points:  # reject a bad key before starting any simulation
        load_platform(spec.platform, p)
    if Path(spec.firmware).suffix == ".elf":
        elf = Path(spec.firmware)
    else:
        elf = build_firmware(spec.firmware, load_platform(spec.platform), defines=spec.defines)
    firmware = Firmware.read(elf)
    platform_path = load_platform(spec.platform).path
    # a platform of vbench's own by name (workers have it), any other file by its absolute path
    platform = spec.platform if platform_path.parent == platforms_dir().resolve() else str(platform_path)
    platform_sha = hashlib.sha256(platform_path.read_bytes()).hexdigest()
    jobs = [(platform, p, spec.max_instructions) for p in points]
    keys = [point_key(firmware, platform_sha, j) for j in jobs]
    rows: list[dict[str, Any] | None] = [None] * len(jobs)
    book = PointJournal(journal) if journal is not None else None
    try:
        todo = []
        for i, key in enumerate(keys):
            rows[i] = book.done(key) if book is not None else None
            if rows[i] is None:
                todo.append(i)
        resumed = len(jobs) - len(todo)
        if progress:
            progress(resumed, len(jobs), resumed)
        finished = resumed
        for j, row in (executor or LocalExecutor()).run(_run_point, firmware, [jobs[i] for i in todo]):
            i = todo[j]
            rows[i] = row
            if book is not None:
                book.append(keys[i], row)
            finished += 1
            if progress:
                progress(finished, len(jobs), resumed)
    finally:
        if book is not None:
            book.close()
    return rows  # type: ignore[return-value]
