"""Parameter sweeps: a grid of platform overrides, each point one simulation, run in parallel.

The executor is an interface (`map(fn, items)`): the local process pool is the default, and a
cluster scheduler (Ray, Dask) can stand in by providing the same method.
"""

from __future__ import annotations

import itertools
import os
import tomllib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from vbench.errors import VbenchError


class Executor(Protocol):
    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterable[Any]: ...


class LocalExecutor:
    """Local cores. One worker per point; results come back in grid order."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1

    def map(self, fn, items):
        items = list(items)
        if self.workers == 1 or len(items) == 1:
            return [fn(i) for i in items]
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(fn, items))


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


def _run_point(job: tuple[str, str, dict[str, Any], int | None]) -> dict[str, Any]:
    from vbench.platform import load_platform
    from vbench.sim.board import run_firmware

    elf, platform, overrides, budget = job
    plat = load_platform(platform, overrides)
    r = run_firmware(elf, plat, max_instructions=budget)
    return {**{f"set:{k}": v for k, v in overrides.items()}, "exit": r.exit, "instructions": r.instructions,
            "cycles": r.cycles, "time_ms": r.time_s * 1e3, "energy_uj": r.energy_uj,
            "clock_hz": r.clock_hz, **{f"stall_{k}": v for k, v in r.stalls.items()}}


def run_sweep(spec: SweepSpec, executor: Executor | None = None) -> list[dict[str, Any]]:
    from vbench.firmware import build_firmware
    from vbench.platform import load_platform

    points = spec.points()
    for p in points:  # reject a bad key before starting any simulation
        load_platform(spec.platform, p)
    if Path(spec.firmware).suffix == ".elf":
        elf = Path(spec.firmware)
    else:
        elf = build_firmware(spec.firmware, load_platform(spec.platform), defines=spec.defines)
    jobs = [(str(elf), spec.platform, p, spec.max_instructions) for p in points]
    return list((executor or LocalExecutor()).map(_run_point, jobs))
