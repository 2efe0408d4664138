"""Board measurements for `vbench calibrate`: a CSV file a user fills from a real board.

Columns (all nine must be in the header, in any order; extra columns such as `notes` are kept
out of the fit; any cell may be empty):

    firmware    an ELF path (relative to the CSV file, else to the working directory), or a
                vbench firmware with its build options, e.g. `kws01` (one inference of a
                MLPerf Tiny workload), `bench_mix BENCH_ITERATIONS=2`, `microbench MB_ONLY="alu" -O2`
    platform    the vbench platform the row was measured on (empty: the one being calibrated;
                a row naming another platform is skipped)
    overrides   platform overrides for this row, `key=value` separated by `;`
                (e.g. `core.clock_hz=80e6; flash.wait_states=3`)
    latency_ms  measured time of the firmware's measured window (see vbench/calibration/workloads.py)
    energy_uj   measured energy of that window
    power_mw    measured average power over that window
    voltage_v   supply voltage of the measurement (the row is simulated at this supply)
    clock_hz    core clock of the measurement (checked against the simulated clock)
    source      where the figures come from (free text, carried into the calibrated file)
    role        (optional column) `calibration`: a fit may use the row; `validation` / `held-out` or
                empty: kept back to judge the model, predicted but never fitted

A file in `vbench validate`'s format (its header names a `measure` column: an ELF path per row and
the function or console line that bounds the measured window; docs/validation.md) is read with
validate's reader, and its rows carry their role and measure the same way.

Lines whose first cell starts with `#` are comments. Numbers must be finite and positive.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from vbench.errors import VbenchError
from vbench.parameters import check, spec

COLUMNS = ("firmware", "platform", "overrides", "latency_ms", "energy_uj", "power_mw", "voltage_v",
           "clock_hz", "source")
NUMERIC = ("latency_ms", "energy_uj", "power_mw", "voltage_v", "clock_hz")
# The fidelity rule: only rows marked `calibration` are fitted; any other role is kept back to judge.
ROLES = {"calibration": "calibration", "validation": "held-out", "held-out": "held-out", "heldout": "held-out",
         "held_out": "held-out"}


@dataclass(frozen=True)
class Measurement:
    line: int                       # line of the file the row is on (the header is line 1)
    firmware: str
    platform: str | None
    overrides: tuple[str, ...]
    latency_ms: float | None
    energy_uj: float | None
    power_mw: float | None
    voltage_v: float | None
    clock_hz: float | None
    source: str
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    role: str = "held-out"          # "calibration" (a fit may use it) or "held-out" (predicted only)
    measured_window: object = None  # vbench.validate.Row of a validate-format file (ELF + measure)

    @property
    def label(self) -> str:
        return f"row {self.line}"


@dataclass(frozen=True)
class MeasurementFile:
    path: Path
    sha256: str
    rows: tuple[Measurement, ...]
    format: str = "calibrate"       # or "validate" (vbench validate's columns: measure, role)


def parse_positive(text: str, where: str, column: str | None = None) -> float | None:
    """A cell that must be empty or a finite positive number (`_` separators allowed), within the
    declared range of `measurement.<column>` (vbench/parameters.py) where there is one."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise VbenchError(f"{where}: '{text}' is not a number") from None
    if not math.isfinite(value):
        raise VbenchError(f"{where}: '{text}' is not a finite number")
    if value <= 0:
        raise VbenchError(f"{where}: {text} must be positive")
    if column and spec(f"measurement.{column}"):
        check(f"measurement.{column}", value, where, shown=column)
    return value


def parse_overrides(text: str, where: str) -> tuple[str, ...]:
    out = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part or not part.split("=", 1)[0].strip():
            raise VbenchError(f"{where}: override '{part}' is not of the form key.path=value")
        out.append(part)
    return tuple(out)


def read_csv_records(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a measurement-style CSV as (line number, {column: cell}), blank and `#` comment
    lines skipped, after checking the header names every column once (extra columns come along); a VbenchError naming the file,
    the line and the column for anything wrong. Shared by `vbench calibrate` and `vbench validate`,
    whose columns differ."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise VbenchError(f"measurement file not found: {path}") from None
    except OSError as exc:
        raise VbenchError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VbenchError(f"{path}: not a UTF-8 text file (expected a CSV with the columns {', '.join(columns)})") \
            from None
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for cells in reader:
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            records.append((reader.line_num, cells))
    except csv.Error as exc:
        raise VbenchError(f"{path}: line {reader.line_num}: not valid CSV: {exc}") from None
    if not records:
        raise VbenchError(f"{path}: empty file (expected a header with the columns {', '.join(columns)})")
    header_line, header_cells = records[0]
    header = [h.strip().lower() for h in header_cells]
    dupes = sorted({h for h in header if h and header.count(h) > 1})
    if dupes:
        raise VbenchError(f"{path}: line {header_line}: column(s) {', '.join(dupes)} appear more than once")
    missing = [c for c in columns if c not in header]
    if missing:
        hints = [f"'{m[0]}' for '{c}'?" for c in missing
                 if (m := difflib.get_close_matches(c, [h for h in header if h not in columns], n=1))]
        hint = f" (did you mean {' '.join(hints)})" if hints else ""
        raise VbenchError(f"{path}: line {header_line}: missing column(s) {', '.join(missing)}{hint}; the header "
                          f"must name all of {', '.join(columns)} (cells may be empty)")
    index = {h: i for i, h in enumerate(header)}
    rows = []
    for line, cells in records[1:]:
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            raise VbenchError(f"{path}: line {line} has {len(cells)} cells but the header has {len(header)} columns")
        cells = cells + [""] * (len(header) - len(cells))
        rows.append((line, {h: cells[i] for h, i in index.items() if h}))  # extra columns (notes) kept
    return rows


def parse_role(text: str, where: str) -> str:
    role = text.strip().lower()
    if role and role not in ROLES:
        raise VbenchError(f"{where}: '{text.strip()}' is not a role (calibration, validation or held-out)")
    return ROLES[role] if role else "held-out"


def _names_measure_column(path: Path) -> bool:
    """Whether the header (first line that is not blank or a comment) names `measure`: vbench
    validate's format. Unreadable files answer False and fail in the reader with its message."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        for cells in csv.reader(io.StringIO(text)):
            if any(c.strip() for c in cells) and not cells[0].lstrip().startswith("#"):
                return "measure" in (c.strip().lower() for c in cells)
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return False


def _read_validate_format(path: Path) -> MeasurementFile:
    from vbench.validate import read_csv

    rows = tuple(Measurement(
        line=r.line, firmware=r.firmware, platform=r.platform or None, overrides=r.overrides, latency_ms=r.latency_ms,
        energy_uj=r.energy_uj, power_mw=r.power_mw, voltage_v=r.voltage_v, clock_hz=r.clock_hz, source=r.source,
        role=r.role, measured_window=r) for r in read_csv(path, default_platform=""))
    return MeasurementFile(path, hashlib.sha256(path.read_bytes()).hexdigest(), rows, "validate")


def read_measurements(path: str | Path) -> MeasurementFile:
    """Parse and validate a measurement CSV (this module's columns, or vbench validate's); every
    problem is a VbenchError naming file, line and column."""
    path = Path(path)
    if _names_measure_column(path):
        return _read_validate_format(path)
    rows = []
    for line, get in read_csv_records(path, COLUMNS):
        fw = get["firmware"].strip()
        if not fw:
            raise VbenchError(f"{path}: line {line}, column firmware: empty (an ELF path or a vbench firmware "
                              f"such as kws01 is needed)")
        nums = {c: parse_positive(get[c], f"{path}: line {line}, column {c}", c) for c in NUMERIC}
        rows.append(Measurement(
            line=line, firmware=fw, platform=get["platform"].strip() or None,
            overrides=parse_overrides(get["overrides"], f"{path}: line {line}, column overrides"),
            source=get["source"].strip(), extra={h: v for h, v in get.items() if h not in COLUMNS + ("role",)},
            role=parse_role(get.get("role", ""), f"{path}: line {line}, column role"), **nums))
    if not rows:
        raise VbenchError(f"{path}: no measurement rows (only a header)")
    return MeasurementFile(path=path, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), rows=tuple(rows))
