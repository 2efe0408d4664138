"""Energy from an external meter, for runs on a real board (`vbench run --port ... --energy-import F`).

A wire carries no energy: on a real board the EEMBC set-up measures it with an energy monitor
between the timestamp-pin edges. vbench does not drive a meter; it imports what the meter
measured, one row per measured window (or per inference), as a CSV with a header:

    # anything after '#' is a comment
    workload,energy_uj,average_power_mw
    kws,18930.5,39.98
    kws,18931.2,
    ad,884.0,41.5

workload          kws, vww, ic or ad (or the model id: kws01, ...)
energy_uj         energy per inference in microjoules (finite, > 0)
average_power_mw  optional: the window's average power in milliwatts

A workload's figure is the median of its rows, as the runner takes the median of its windows.
Records of a workload without rows keep `energy_uj` null: not measured, never 0.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from vbench.errors import VbenchError
from vbench.workloads import IDS, by_id

COLUMNS = ("workload", "energy_uj")
OPTIONAL = ("average_power_mw",)


@dataclass(frozen=True)
class MeterEnergy:
    workload: str
    energy_uj: float             # median per inference
    average_power_mw: float | None
    rows: int


def _workload(text: str, where: str) -> str:
    name = text.strip()
    for w in IDS:
        if name in (w, by_id(w).model_id):
            return w
    raise VbenchError(f"{where}: workload '{name}' unknown (known: {', '.join(IDS)} or their model ids)")


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise VbenchError(f"{where}: {column} '{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise VbenchError(f"{where}: {column} {text} must be finite and > 0")
    return value


def read_meter_csv(path: str | Path) -> dict[str, MeterEnergy]:
    """workload -> its median energy per inference; VbenchError naming file, line and column."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise VbenchError(f"--energy-import {path}: cannot read: {exc.strerror}") from None
    lines = [(n, ln.split("#", 1)[0]) for n, ln in enumerate(text.splitlines(), 1)]
    lines = [(n, ln) for n, ln in lines if ln.strip()]
    if not lines:
        raise VbenchError(f"{path}: no header line (expected {','.join(COLUMNS)}[,{','.join(OPTIONAL)}])")
    rows = list(csv.reader([ln for _, ln in lines]))
    header = [h.strip() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL]
    if missing or unknown:
        raise VbenchError(f"{path}:{lines[0][0]}: header {','.join(header)}: "
                          + (f"missing {', '.join(missing)}" if missing else f"unknown column {', '.join(unknown)}")
                          + f" (expected {','.join(COLUMNS)}[,{','.join(OPTIONAL)}])")
    energy: dict[str, list[float]] = {}
    power: dict[str, list[float]] = {}
    for (n, _), row in zip(lines[1:], rows[1:]):
        where = f"{path}:{n}"
        if len(row) != len(header):
            raise VbenchError(f"{where}: {len(row)} fields, the header has {len(header)}")
        cell = dict(zip(header, (c.strip() for c in row)))
        w = _workload(cell["workload"], where)
        energy.setdefault(w, []).append(_number(cell["energy_uj"], where, "energy_uj"))
        if cell.get("average_power_mw"):
            power.setdefault(w, []).append(_number(cell["average_power_mw"], where, "average_power_mw"))
    if not energy:
        raise VbenchError(f"{path}: no measurement rows after the header")
    return {w: MeterEnergy(w, statistics.median(v), statistics.median(power[w]) if w in power else None, len(v))
            for w, v in energy.items()}


def apply_meter_energy(records, meter: dict[str, MeterEnergy] | None, source: str | None) -> None:
    """Put the meter's figures on the performance and energy records of a real-board run; the
    others say `energy_source: not measured` and keep energy null."""
    for r in records:
        if r.failing or r.mode == "accuracy":
            continue
        m = (meter or {}).get(r.workload)
        if m is None:
            r.energy_uj, r.average_power_mw = None, None
            r.extra["energy_source"] = "not measured"
        else:
            r.energy_uj, r.average_power_mw = m.energy_uj, m.average_power_mw
            r.extra["energy_source"] = f"meter: {source} ({m.rows} rows, median)"
