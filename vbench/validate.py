"""`vbench validate`: the fidelity suite. Runs each firmware of a board-measurement CSV on its
virtual board, measures the latency of the same thing the board measurement covered, and reports
the error of vbench against the board per row, for the rows the model was calibrated on and for
the rows held out to judge it (docs/validation.md).

The CSV (one header line naming all of COLUMNS, any order; cells may be empty except firmware and
measure; lines whose first cell starts with `#` are comments):

    firmware    ELF path, relative to the CSV's folder (or absolute)
    platform    vbench platform (empty: the `--platform` default)
    overrides   `key=value;key=value` platform overrides for this row (as `--set`)
    measure     what the board latency covers: `function:NAME` (median over the calls of the named
                C function or C++ function, e.g. `tflite::MicroInterpreter::Invoke`, of its cycles
                per call) or `uart:REGEX` (median of the cycle counts the firmware prints; REGEX has
                one group, the cycle count, e.g. `inference \\d+ cycles (\\d+)`)
    latency_ms, energy_uj, power_mw   board figures per measured call (any may be empty)
    voltage_v   supply of the measurement: the row is simulated at this supply (power.supply_v)
    clock_hz    core clock of the measurement (a row whose simulated clock differs gets a note)
    role        `calibration` (a figure the model was fitted to), `validation` or `held-out`
                (kept back to judge the model; both are reported as held-out)
    source      where the figures come from
"""

from __future__ import annotations

import csv
import difflib
import math
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from vbench.calibration.measurements import (ROLES, parse_overrides, parse_positive,  # noqa: F401 (parse_overrides: part of this module's API)
                                             read_csv_records)
from vbench.errors import VbenchError
from vbench.progress import Progress, as_progress

COLUMNS = ("firmware", "platform", "overrides", "measure", "latency_ms", "energy_uj", "power_mw", "voltage_v",
           "clock_hz", "role", "source")
NUMERIC = ("latency_ms", "energy_uj", "power_mw", "voltage_v", "clock_hz")
MEASURE_KINDS = ("function", "uart")
DEFAULT_PLATFORM = "nucleo-l4r5zi"
DEFAULT_BUDGET = 5_000_000_000
CLOCK_TOLERANCE = 0.005  # a simulated clock further than this from the measured one is noted
BAND = 0.05              # the +-5 % band of the plot

# The record of a row, in this order in validate.json / .csv / .md.
RECORD_KEYS = (
    "line", "firmware", "platform", "overrides", "measure", "role", "status", "clean", "exit", "exit_code",
    "calls", "board_latency_ms", "vbench_latency_ms", "latency_error_pct", "cycles", "cycles_min", "cycles_max",
    "instructions", "cpi", "clock_hz", "board_energy_uj", "vbench_energy_uj", "energy_error_pct",
    "board_power_mw", "vbench_power_mw", "power_error_pct", "energy_basis", "voltage_v", "wall_s", "message",
    "notes", "source",
)


# ====================================================================== the CSV
@dataclass(frozen=True)
class Measure:
    kind: str    # "function" or "uart"
    arg: str     # the function name or the regex text
    text: str    # as written

    @property
    def regex(self) -> re.Pattern:
        return re.compile(self.arg)


@dataclass(frozen=True)
class Row:
    line: int
    firmware: str       # as written in the CSV
    elf: Path           # resolved
    platform: str
    overrides: tuple[str, ...]
    measure: Measure
    latency_ms: float | None
    energy_uj: float | None
    power_mw: float | None
    voltage_v: float | None
    clock_hz: float | None
    role: str           # "calibration" or "held-out"
    source: str

    @property
    def name(self) -> str:
        return Path(self.firmware).name


def parse_measure(text: str, where: str) -> Measure:
    kind, sep, arg = text.strip().partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in MEASURE_KINDS or not arg.strip():
        raise VbenchError(f"{where}: '{text}' is not a measure; use function:NAME (e.g. "
                          f"function:tflite::MicroInterpreter::Invoke) or uart:REGEX with one group, the cycles "
                          f"(e.g. uart:inference \\d+ cycles (\\d+))")
    if kind == "function":
        return Measure(kind, arg.strip(), text.strip())
    try:
        rx = re.compile(arg)
    except re.error as exc:
        raise VbenchError(f"{where}: uart regex '{arg}' does not compile: {exc}") from None
    if rx.groups != 1:
        raise VbenchError(f"{where}: uart regex '{arg}' has {rx.groups} groups; it needs exactly one, the cycle count")
    return Measure(kind, arg, text.strip())


def read_csv(path: str | Path, default_platform: str = DEFAULT_PLATFORM) -> list[Row]:
    """Parse a measurement CSV; every problem is a VbenchError naming the file, the line and the column."""
    path = Path(path)
    rows = []
    for line, get in read_csv_records(path, COLUMNS):
        at = lambda col: f"{path}: line {line}, column {col}"  # noqa: E731
        fw = get["firmware"].strip()
        if not fw:
            raise VbenchError(f"{at('firmware')}: empty (an ELF path relative to the CSV's folder is needed)")
        elf = Path(fw) if Path(fw).is_absolute() else path.parent / fw
        if not elf.is_file():
            raise VbenchError(f"{at('firmware')}: firmware file not found: {elf}")
        if not get["measure"].strip():
            raise VbenchError(f"{at('measure')}: empty (function:NAME or uart:REGEX)")
        role_text = get["role"].strip().lower() or "validation"
        if role_text not in ROLES:
            raise VbenchError(f"{at('role')}: '{get['role'].strip()}' is not a role (calibration, validation or "
                              f"held-out)")
        rows.append(Row(
            line=line, firmware=fw, elf=elf, platform=get["platform"].strip() or default_platform,
            overrides=parse_overrides(get["overrides"], at("overrides")),
            measure=parse_measure(get["measure"], at("measure")),
            role=ROLES[role_text], source=get["source"].strip(),
            **{c: parse_positive(get[c], at(c), c) for c in NUMERIC}))
    if not rows:
        raise VbenchError(f"{path}: no measurement rows (only a header)")
    return rows


# ====================================================================== checks before any run
def row_overrides(row: Row, cli_sets: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The platform overrides a row runs with: its supply (voltage_v), its own overrides, then the
    command line's --set (which win)."""
    keys = [o.split("=", 1)[0].strip() for o in row.overrides]
    out = []
    if row.voltage_v is not None and "power.supply_v" not in keys:
        out.append(f"power.supply_v={row.voltage_v!r}")
    return out + list(row.overrides) + list(cli_sets)


def function_names(image) -> dict[str, str]:
    """Every name a function of the image answers to (C name, mangled, demangled with and without
    parameters) -> its symbol."""
    from vbench.sim.demangle import demangle

    out: dict[str, str] = {}
    for _start, _size, sym in image.functions:
        for alias in (sym, demangle(sym), demangle(sym, params=True)):
            out.setdefault(alias, sym)
    return out


def preflight(rows: list[Row], csv_path: Path, cli_sets: list[str] | tuple[str, ...] = ()) -> dict[int, Any]:
    """Load every row's platform and image and check that the function to measure exists, so that
    a bad CSV stops before anything runs. Returns the platforms by line."""
    from vbench.platform import load_platform, parse_override
    from vbench.power import load_power_model
    from vbench.sim.elf import load_image

    platforms = {}
    for row in rows:
        where = f"{csv_path}: line {row.line}"
        try:
            plat = load_platform(row.platform, row_overrides(row, cli_sets))
        except VbenchError as exc:
            if cli_sets:
                try:
                    load_platform(row.platform, row_overrides(row))
                except VbenchError:
                    pass
                else:  # the row is fine: the command line's --set is at fault
                    raise VbenchError(f"--set: {exc}") from None
            raise VbenchError(f"{where}, columns platform/overrides: {exc}") from None
        try:
            load_power_model(plat)
        except VbenchError as exc:
            raise VbenchError(f"{where}, columns platform/overrides/voltage_v: {exc}") from None
        supply = dict(parse_override(o) for o in row.overrides).get("power.supply_v")
        if row.voltage_v is not None and supply is not None and supply != row.voltage_v:
            raise VbenchError(f"{where}: voltage_v {row.voltage_v:g} contradicts the override power.supply_v={supply}")
        try:
            image = load_image(row.elf)
        except VbenchError as exc:
            raise VbenchError(f"{where}, column firmware: {exc}") from None
        from vbench.sim.cores import core_for

        want = core_for(plat).ELF_MACHINE
        if image.machine != want:
            raise VbenchError(f"{where}, column firmware: {row.elf} is {image.machine} firmware; it cannot run on "
                              f"{plat.name} ({plat.isa})")
        if row.measure.kind == "function":
            names = function_names(image)
            if row.measure.arg not in names:
                close = difflib.get_close_matches(row.measure.arg, list(names), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise VbenchError(f"{where}, column measure: {row.elf} has no function '{row.measure.arg}'{hint}")
        platforms[row.line] = plat
    return platforms


# ====================================================================== running
def _pct(sim: float | None, board: float | None) -> float | None:
    if sim is None or board is None or board == 0:
        return None
    return (sim - board) / board * 100.0


def _median(values: list[float]) -> float:
    m = statistics.median(values)
    return int(m) if float(m).is_integer() else float(m)


def _base_record(row: Row) -> dict[str, Any]:
    board_power = row.power_mw
    board_energy = row.energy_uj
    if board_energy is None and board_power is not None and row.latency_ms is not None:
        board_energy = board_power * row.latency_ms  # mW x ms = uJ
    if board_power is None and board_energy is not None and row.latency_ms:
        board_power = board_energy / row.latency_ms
    rec: dict[str, Any] = {k: None for k in RECORD_KEYS}
    rec.update(line=row.line, firmware=row.firmware, platform=row.platform, overrides=";".join(row.overrides),
               measure=row.measure.text, role=row.role, board_latency_ms=row.latency_ms,
               board_energy_uj=board_energy, board_power_mw=board_power, voltage_v=row.voltage_v,
               source=row.source, notes="", message="")
    return rec


def run_row(row: Row, platform, max_instructions: int = DEFAULT_BUDGET) -> dict[str, Any]:
    """Run one row's firmware to its end and measure it; never raises for a firmware problem (the
    record says FAILED and why)."""
    from vbench.sim.board import Board

    rec = _base_record(row)
    t0 = time.perf_counter()
    board = None
    watch = None
    try:
        board = Board(platform, row.elf, max_instructions=max_instructions)
        if row.measure.kind == "function":
            if not hasattr(board, "watch_calls"):
                raise VbenchError("function measures need Board.watch_calls, which this vbench does not have yet "
                                  "(use a uart: measure)")
            # the symbol itself: the name as written may be a form only function_names() knows
            watch = board.watch_calls(function_names(board.image).get(row.measure.arg, row.measure.arg))
        result = board.run()
        calls = list(watch.calls) if watch is not None else []  # read before close(): the records live in the core
    except VbenchError as exc:
        rec.update(status="FAILED", clean=False, message=str(exc), wall_s=round(time.perf_counter() - t0, 3))
        return rec
    finally:
        if board is not None:
            board.close()
    rec["wall_s"] = round(time.perf_counter() - t0, 3)
    rec.update(exit=result.exit, exit_code=result.exit_code, clock_hz=result.clock_hz)
    clean = result.exit == "exit" and result.exit_code == 0
    rec["clean"] = clean
    problems = []
    if not clean:
        what = result.exit + (f" code {result.exit_code}" if result.exit_code is not None else "")
        problems.append(f"run ended in {what}" + (f": {result.message}" if result.message else ""))

    energy = None
    if row.measure.kind == "function":
        rec["calls"] = len(calls)
        if calls:
            cycles = [c.cycles for c in calls]
            rec.update(cycles=_median(cycles), cycles_min=min(cycles), cycles_max=max(cycles),
                       instructions=_median([c.instructions for c in calls]))
            energy = float(statistics.median([c.energy_uj for c in calls]))
            rec["energy_basis"] = "per call"
        elif clean:
            problems.append(f"{row.measure.arg} was never called")
    else:
        found = row.measure.regex.findall(result.uart)
        rec["calls"] = len(found)
        try:
            counts = [int(m.replace(",", "").replace("_", "")) for m in found]
        except ValueError:
            counts = []
            bad = next(m for m in found if not m.replace(",", "").replace("_", "").isdigit())
            problems.append(f"/{row.measure.arg}/ matched '{bad}', which is not a cycle count")
        if counts:
            rec.update(cycles=_median(counts), cycles_min=min(counts), cycles_max=max(counts))
            rec["energy_basis"] = "run average power"
        elif clean and not found:
            problems.append(f"no console line matched /{row.measure.arg}/")

    if rec["cycles"] is not None and result.clock_hz:
        latency_ms = rec["cycles"] / result.clock_hz * 1e3
        rec["vbench_latency_ms"] = latency_ms
        if rec["instructions"]:
            rec["cpi"] = rec["cycles"] / rec["instructions"]
        if energy is None and result.time_s > 0:
            # the firmware reports cycles only: the run's average power over the reported time
            energy = result.energy_uj / (result.time_s * 1e3) * latency_ms
        rec["vbench_energy_uj"] = energy
        rec["vbench_power_mw"] = energy / latency_ms if energy is not None and latency_ms > 0 else None
    rec["latency_error_pct"] = _pct(rec["vbench_latency_ms"], rec["board_latency_ms"])
    rec["energy_error_pct"] = _pct(rec["vbench_energy_uj"], rec["board_energy_uj"])
    rec["power_error_pct"] = _pct(rec["vbench_power_mw"], rec["board_power_mw"])
    if row.clock_hz and result.clock_hz and abs(result.clock_hz - row.clock_hz) > CLOCK_TOLERANCE * row.clock_hz:
        rec["notes"] = (f"simulated clock {result.clock_hz / 1e6:g} MHz, measured at {row.clock_hz / 1e6:g} MHz "
                        f"(set core.clock_hz in the row's overrides?)")
    rec["status"] = "FAILED" if problems else "ok"
    rec["message"] = "; ".join(problems)
    return rec


@dataclass
class ValidationResult:
    csv: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["status"] != "ok"]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per role: rows, mean and max |latency error| and mean |energy error| in %."""
        out = {}
        for role in ("calibration", "held-out"):
            rs = [r for r in self.records if r["role"] == role and r["status"] == "ok"]
            lat = [abs(r["latency_error_pct"]) for r in rs if r["latency_error_pct"] is not None]
            en = [abs(r["energy_error_pct"]) for r in rs if r["energy_error_pct"] is not None]
            out[role] = {"rows": len([r for r in self.records if r["role"] == role]),
                         "latency_mape_pct": statistics.fmean(lat) if lat else None,
                         "latency_max_abs_pct": max(lat) if lat else None,
                         "energy_mape_pct": statistics.fmean(en) if en else None}
        return out


def validate(csv_path: str | Path, *, platform: str = DEFAULT_PLATFORM, sets: list[str] | tuple[str, ...] = (),
             max_instructions: int = DEFAULT_BUDGET, out_dir: str | Path | None = None,
             progress: Progress | Callable[[str], None] | None = None) -> ValidationResult:
    """Check the CSV (VbenchError, exit 2, on any problem), run every row, write the outputs.
    progress: a line per finished row with its count and ETA (vbench.progress.as_progress)."""
    csv_path = Path(csv_path)
    rows = read_csv(csv_path, platform)
    platforms = preflight(rows, csv_path, sets)
    res = ValidationResult(csv_path)
    bar = as_progress(progress)
    bar.phase(len(rows))
    for row in rows:
        bar.working(f"line {row.line}: {row.name} on {platforms[row.line].name}")
        rec = run_row(row, platforms[row.line], max_instructions)
        figure = f"{rec['vbench_latency_ms']:.3f} ms" if rec["vbench_latency_ms"] is not None else "no latency"
        bar.done(f"line {row.line}: {row.name}: {figure}, {rec['status']}"
                 + (f" ({rec['message']})" if rec["message"] else "") + f", {rec['wall_s']:.1f} s wall")
        res.records.append(rec)
    if out_dir is not None:
        res.outputs = write_outputs(res, Path(out_dir))
    return res


# ====================================================================== output
def _count(v: float | int | None) -> str:
    if v is None:
        return "-"
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def _sig(v: float | None) -> str:
    """A figure with four significant digits (no exponent)."""
    if v is None:
        return "-"
    if v == 0:
        return "0"
    digits = max(0, 3 - int(math.floor(math.log10(abs(v)))))
    return f"{v:,.{digits}f}"


def _err(v: float | None) -> str:
    return "-" if v is None else f"{v:+.2f}"


TABLE = (  # header, record key, formatter
    ("line", "line", str),
    ("firmware", "firmware", lambda v: Path(v).name),
    ("role", "role", str),
    ("board ms", "board_latency_ms", _sig),
    ("vbench ms", "vbench_latency_ms", _sig),
    ("err %", "latency_error_pct", _err),
    ("cycles/call", "cycles", _count),
    ("instr/call", "instructions", _count),
    ("CPI", "cpi", lambda v: "-" if v is None else f"{v:.3f}"),
    ("board uJ", "board_energy_uj", _sig),
    ("vbench uJ", "vbench_energy_uj", _sig),
    ("err %", "energy_error_pct", _err),
    ("board mW", "board_power_mw", _sig),
    ("vbench mW", "vbench_power_mw", _sig),
    ("exit", "exit", lambda v: v or "-"),
    ("status", "status", str),
)
LEFT = {0, 1, 2, 14, 15}  # text columns of TABLE


def _cells(records: list[dict[str, Any]]) -> list[list[str]]:
    return [[fmt(r[key]) for _h, key, fmt in TABLE] for r in records]


def table(res: ValidationResult) -> str:
    """The fixed-width table printed on stdout, then the summary, notes and failures."""
    head = [h for h, _k, _f in TABLE]
    body = _cells(res.records)
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i in LEFT else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(head), "  ".join("-" * w for w in widths)] + [line(c) for c in body]
    out.append("")
    out += _summary_lines(res)
    for r in res.records:
        if r["message"]:
            out.append(f"line {r['line']} {r['firmware']}: {r['status']}: {r['message']}")
        if r["notes"]:
            out.append(f"line {r['line']} {r['firmware']}: note: {r['notes']}")
        if r["energy_basis"] == "run average power":
            out.append(f"line {r['line']} {r['firmware']}: energy = the run's average power x the reported latency "
                       f"(a uart measure reports cycles only)")
    return "\n".join(out) + "\n"


def _summary_lines(res: ValidationResult) -> list[str]:
    out = []
    for role, s in res.summary().items():
        if not s["rows"]:
            continue
        mape = "-" if s["latency_mape_pct"] is None else f"{s['latency_mape_pct']:.2f} %"
        worst = "-" if s["latency_max_abs_pct"] is None else f"{s['latency_max_abs_pct']:.2f} %"
        en = "-" if s["energy_mape_pct"] is None else f"{s['energy_mape_pct']:.2f} %"
        out.append(f"{role}: {s['rows']} row(s), latency mean |error| {mape} (worst {worst}), "
                   f"energy mean |error| {en}")
    failed = res.failed
    out.append(f"{len(res.records) - len(failed)} of {len(res.records)} row(s) ran cleanly"
               + (f"; FAILED: lines {', '.join(str(r['line']) for r in failed)}" if failed else ""))
    return out


def markdown(res: ValidationResult) -> str:
    head = [h for h, _k, _f in TABLE]
    out = [f"# vbench validate: {res.csv.name}", "",
           f"Board measurements: `{res.csv}`. Latency error = (vbench - board) / board. "
           "Held-out rows were not used to fit the model.", "",
           "| " + " | ".join(head) + " |", "|" + "|".join("---" if i in LEFT else "---:" for i in range(len(head)))
           + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |" for cells in _cells(res.records)]
    out += ["", "## Summary", ""] + [f"- {x}" for x in _summary_lines(res)]
    out += ["", "## Rows", ""]
    for r in res.records:
        extra = [f"measure `{r['measure']}`", f"platform {r['platform']}"]
        if r["overrides"]:
            extra.append(f"overrides `{r['overrides']}`")
        if r["calls"] is not None:
            extra.append(f"{r['calls']} call(s)" + (f", cycles per call {r['cycles_min']:,}..{r['cycles_max']:,}"
                                                    if r["cycles"] is not None else ""))
        if r["clock_hz"]:
            extra.append(f"{r['clock_hz'] / 1e6:g} MHz")
        if r["energy_basis"]:
            extra.append(f"energy {r['energy_basis']}")
        out.append(f"- line {r['line']} `{r['firmware']}` ({r['role']}): " + ", ".join(extra)
                   + (f". {r['status']}: {r['message']}" if r["message"] else "")
                   + (f". Note: {r['notes']}" if r["notes"] else "")
                   + (f". Source: {r['source']}" if r["source"] else ""))
    return "\n".join(out) + "\n"


def plot(res: ValidationResult, plt):
    """Predicted (vbench) against measured (board) latency, log-log, y = x and a +-5 % band."""
    pts = [r for r in res.records if r["board_latency_ms"] and r["vbench_latency_ms"]]
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    if pts:
        lo = min(min(r["board_latency_ms"], r["vbench_latency_ms"]) for r in pts) / 2
        hi = max(max(r["board_latency_ms"], r["vbench_latency_ms"]) for r in pts) * 2
    else:
        lo, hi = 0.1, 1000.0
    xs = [lo * (hi / lo) ** (i / 100) for i in range(101)]
    ax.fill_between(xs, [x * (1 - BAND) for x in xs], [x * (1 + BAND) for x in xs], color="0.88",
                    label=f"±{BAND * 100:.0f} %")
    ax.plot(xs, xs, color="0.4", lw=1, label="y = x")
    for role, marker, color in (("calibration", "o", "tab:blue"), ("held-out", "s", "tab:orange")):
        rs = [r for r in pts if r["role"] == role]
        if not rs:
            continue
        ax.scatter([r["board_latency_ms"] for r in rs], [r["vbench_latency_ms"] for r in rs], marker=marker,
                   color=color, s=40, zorder=3, label=role)
        for r in rs:
            ax.annotate(f"{Path(r['firmware']).stem} ({r['latency_error_pct']:+.1f} %)",
                        (r["board_latency_ms"], r["vbench_latency_ms"]), textcoords="offset points", xytext=(6, -10),
                        fontsize=8)
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda v, _pos: f"{v:g}" if str(f"{v:g}")[0] in "25" else ""))
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("measured latency on the board (ms)")
    ax.set_ylabel("vbench latency (ms)")
    ax.set_title(f"vbench validate: {res.csv.name}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return fig


def write_outputs(res: ValidationResult, out_dir: Path) -> dict[str, Path]:
    from vbench.report_io import write_csv_atomic, write_json_atomic, write_png_atomic, write_text_atomic

    paths = {"json": out_dir / "validate.json", "csv": out_dir / "validate.csv", "md": out_dir / "validate.md",
             "png": out_dir / "validate.png"}
    write_json_atomic(paths["json"], res.records)
    write_csv_atomic(paths["csv"], res.records)
    write_text_atomic(paths["md"], markdown(res))
    write_png_atomic(paths["png"], lambda plt: plot(res, plt))
    return paths
