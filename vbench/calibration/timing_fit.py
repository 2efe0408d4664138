"""Fit the timing parameters that no document fixes on board measurements, with leave-one-out.

Every combination of a small grid of platform overrides (e.g. flash.fill_bytes = 8, 16, 32) runs
each `calibration` row of a measurements CSV (vbench validate's format). The chosen combination
minimises the RMS latency error over the calibration rows; leave-one-out refits without each row
and reports that row's error with the parameters the others chose. A grid rather than a
continuous optimiser: these parameters are discrete hardware choices (bytes per fill, cycles),
and the simulation is deterministic, so each point is exact. Rows of other roles are never used.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from vbench.errors import VbenchError
from vbench.progress import as_progress


def parse_grid(specs: list[str]) -> dict[str, list[str]]:
    """`KEY=V1,V2,...` per spec -> {key: [values]}."""
    grid: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, values = spec.partition("=")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key.strip() or not vals:
            raise VbenchError(f"--fit {spec!r}: expected KEY=V1,V2,... (e.g. flash.fill_bytes=8,16,32)")
        grid[key.strip()] = vals
    return grid


@dataclass
class TimingFit:
    grid: dict[str, list[str]]
    rows: list[str]                               # calibration rows, by firmware name
    points: list[dict[str, Any]] = field(default_factory=list)  # {"sets": {...}, "errors": {row: pct}, "rms": pct}
    best: dict[str, str] = field(default_factory=dict)
    loo: dict[str, dict[str, Any]] = field(default_factory=dict)  # row -> {"sets": chosen without it, "error_pct": ...}

    def to_json(self) -> dict[str, Any]:
        return {"grid": self.grid, "rows": self.rows, "points": self.points, "best": self.best, "loo": self.loo}


def _rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else math.inf


def fit_timing(csv_path: str | Path, grid: dict[str, list[str]], *, platform: str, sets=(), max_instructions: int,
               progress: Callable[[str], None] | None = None) -> TimingFit:
    from vbench.validate import preflight, read_csv, run_row

    bar = as_progress(progress)
    rows = [r for r in read_csv(Path(csv_path), platform) if r.role == "calibration"]
    if not rows:
        raise VbenchError(f"{csv_path}: no row has role 'calibration': nothing to fit on")
    fit = TimingFit(grid, [r.name for r in rows])
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    bar.phase(len(combos))
    for combo in combos:
        extra = [f"{k}={v}" for k, v in zip(keys, combo)]
        platforms = preflight(rows, Path(csv_path), list(sets) + extra)
        errors = {}
        for row in rows:
            rec = run_row(row, platforms[row.line], max_instructions)
            if rec["status"] != "ok" or rec["latency_error_pct"] is None:
                raise VbenchError(f"{csv_path}: line {row.line} ({row.name}) failed with {', '.join(extra)}: {rec['message']}")
            errors[row.name] = rec["latency_error_pct"]
        point = {"sets": dict(zip(keys, combo)), "errors": errors, "rms": _rms(list(errors.values()))}
        fit.points.append(point)
        bar.done(f"{', '.join(extra)}: " + ", ".join(f"{k} {v:+.2f} %" for k, v in errors.items()))
    fit.best = min(fit.points, key=lambda p: p["rms"])["sets"]
    for row in fit.rows:  # leave this row out, choose on the others, report this row's error
        others = [r for r in fit.rows if r != row]
        if not others:
            break
        chosen = min(fit.points, key=lambda p: _rms([p["errors"][r] for r in others]))
        fit.loo[row] = {"sets": chosen["sets"], "error_pct": chosen["errors"][row]}
    return fit


def report(fit: TimingFit) -> str:
    keys = list(fit.grid)
    head = keys + [f"{r} %" for r in fit.rows] + ["RMS %"]
    lines = [head] + [[p["sets"][k] for k in keys] + [f"{p['errors'][r]:+.2f}" for r in fit.rows] + [f"{p['rms']:.2f}"]
                      for p in fit.points]
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    out = ["  ".join(str(c).rjust(w) for c, w in zip(line, widths)) for line in lines]
    out.append("")
    out.append("chosen (lowest RMS latency error over the calibration rows): "
               + ", ".join(f"{k} = {v}" for k, v in fit.best.items()))
    for row, loo in fit.loo.items():
        out.append(f"leave-one-out: {row} predicted with {', '.join(f'{k}={v}' for k, v in loo['sets'].items())} "
                   f"(chosen on the other rows): {loo['error_pct']:+.2f} %")
    return "\n".join(out) + "\n"
