"""`vbench calibrate`: fit the documented free parameters of a platform to board measurements,
cross-validate, and report the error that is left.

    calibrate("../shared/firmware/tflm-2.3.1/measurements.csv", "nucleo-l4r5zi", ["power.cycle_pc"])

1. Read the measurement CSV (vbench/calibration/measurements.py: calibrate's columns or vbench
   validate's) and keep the rows of the platform. Only rows whose role is `calibration` are fitted
   (and cross-validated); held-out rows are predicted by the fit and reported apart, never fitted.
   A fit on a file without calibration rows is refused.
2. Simulate every row's firmware once with the current parameters ("before"); a row of a
   validate-format file runs through vbench validate's `run_row` (workloads.simulate_window), so the
   measured window is exactly the one `vbench validate` measures.
3. Timing parameters (timing.*, flash.*): bounded nonlinear least squares on the rows with a
   measured latency; every evaluation is a simulation (cached), so keep these fits small.
4. Energy parameters (power.*): the energy of a simulated window is linear in the power model's
   coefficients (vbench/sim/board.py `energy_features`), so one simulation per row (at the fitted
   timing) and a linear least squares fit on the rows with a measured power or energy. A
   validate-format row has no features, only its window's energy: its column for each parameter is
   the difference of two runs (the model is linear, so the difference is exact); timing parameters
   of such a file are fitted by `vbench validate --fit`. A row with
   `power_mw` is fitted on power (energy / simulated time; independent of timing errors to first
   order), a row with only `energy_uj` on energy.
5. Errors per row before and after the fit, and leave-one-out cross-validated errors (each row
   predicted by a fit on the others; the energy folds reuse the full-data timing fit).
6. A fitted value outside its bounds (params.py) is rejected, with the report written; a fit with
   fewer independent rows than parameters is refused.
7. Write the calibrated file with provenance (data sha256, rows used, method, residuals, CV) and
   the report (report.md, rows.csv, calibration.json, predicted_vs_measured.png).

Without parameters to fit, the command evaluates the current model against the measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench.calibration.fit import CalibrationRefused, LinearFit, TimingFit, linear_fit, timing_fit
from vbench.calibration.measurements import Measurement, MeasurementFile, read_measurements
from vbench.calibration.output import default_out, write_parameter_files, write_report
from vbench.calibration.params import FEATURE, MODEL_KEYS, FreeParam, parse_fit
from vbench.calibration.workloads import (Firmware, SimResult, default_cache_dir, resolve_firmware, simulate,
                                          simulate_window)
from vbench.errors import VbenchError
from vbench.paths import cache_dir
from vbench.platform import load_platform
from vbench.power import PowerModel, load_power_model
from vbench.progress import Progress, as_progress

CLOCK_TOLERANCE = 0.005   # measured vs simulated core clock
QUANTITIES = ("latency_ms", "power_mw", "energy_uj")
UNITS = {"latency_ms": "ms", "power_mw": "mW", "energy_uj": "uJ"}

# ====================================================================== energy model on features


def coefficients(pm: PowerModel, power_overrides: dict[str, float]) -> dict[str, float]:
    out = {f"class_pc.{c}": v for c, v in pm.class_pc.items()}
    out.update(stall_pc=pm.stall_pc, flash_read_pc=pm.flash_read_pc, sram_read_pc=pm.sram_read_pc,
               sram_write_pc=pm.sram_write_pc, static_ua=pm.static_ua)
    out.update({k: v for k, v in power_overrides.items() if k in out})
    return out


def energy_columns(sim: SimResult, supply_v: float, scale: float) -> dict[str, float]:
    """dE/d(coefficient) in uJ per pC (charges) or per uA (static current)."""
    cols = {}
    for key in MODEL_KEYS:
        feat = sim.features[FEATURE[key]]
        cols[key] = supply_v * feat if key == "static_ua" else supply_v * scale * feat * 1e-6
    return cols


def energy_uj(sim: SimResult, coeffs: dict[str, float], supply_v: float, scale: float) -> float:
    cols = energy_columns(sim, supply_v, scale)
    return float(sum(cols[k] * coeffs[k] for k in MODEL_KEYS))


def window_energy_uj(row, sim: SimResult) -> float:
    """The row's energy at its own (unfitted) power model."""
    if row.window is not None:
        return sim.energy_uj if sim.energy_uj is not None else math.nan
    return energy_uj(sim, coefficients(row.pm, row.power_overrides), row.supply_v, row.scale(sim))


def power_mw(sim: SimResult, e_uj: float) -> float:
    return e_uj / sim.time_s / 1e3 if sim.time_s > 0 else math.nan


# ====================================================================== rows


@dataclass
class Row:
    m: Measurement
    used: bool = True
    note: str = ""
    fw: Firmware | None = None
    overrides: list[str] = field(default_factory=list)     # platform overrides (timing fit adds its own)
    power_overrides: dict[str, float] = field(default_factory=dict)
    pm: PowerModel | None = None
    supply_v: float = 0.0
    before: SimResult | None = None
    after: SimResult | None = None
    pred: dict[str, dict[str, float]] = field(default_factory=dict)  # quantity -> before/after/cv
    window: Any = None            # vbench.validate.Row of a validate-format file
    design: tuple[np.ndarray, float] | None = None  # energy (uJ) = offset + design . parameters

    @property
    def fitted(self) -> bool:
        """Whether a fit may use the row: only rows marked `calibration` (the fidelity rule)."""
        return self.used and self.m.role == "calibration"

    @property
    def role(self) -> str:
        return self.m.role

    @property
    def energy_target(self) -> str | None:
        return "power_mw" if self.m.power_mw else "energy_uj" if self.m.energy_uj else None

    def measured(self, q: str) -> float | None:
        return getattr(self.m, q)

    def scale(self, sim: SimResult) -> float:
        return self.pm.range_scale.get(sim.voltage_range, 1.0) if self.pm else 1.0


def _platform_matches(row_platform: str | None, name: str) -> bool:
    if not row_platform:
        return True
    norm = lambda s: s.strip().lower().replace("_", "-")  # noqa: E731
    return norm(row_platform) == norm(name)


def _split_overrides(m: Measurement) -> tuple[list[str], dict[str, float]]:
    plat, power = [], {}
    for o in m.overrides:
        key, _, raw = o.partition("=")
        key = key.strip()
        if key.startswith("power.") and key != "power.model":
            try:
                power[key[len("power."):]] = float(raw)
            except ValueError:
                raise VbenchError(f"{m.label}: override {o}: a power model figure must be a number") from None
        else:
            plat.append(o)
    return plat, power


# ====================================================================== result


@dataclass
class CalibrationResult:
    data: MeasurementFile
    platform: str
    platform_fingerprint: str
    params: list[FreeParam]
    rows: list[Row]
    fitted: dict[str, float] = field(default_factory=dict)
    stderr: dict[str, float] = field(default_factory=dict)
    continuous: dict[str, float] = field(default_factory=dict)
    methods: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    simulations: int = 0
    outputs: dict[str, str] = field(default_factory=dict)
    energy_condition: float | None = None

    @property
    def status(self) -> str:
        return "rejected" if self.rejected else "fitted" if self.params else "evaluated"

    def summary(self, role: str = "calibration") -> dict[str, dict[str, Any]]:
        """Per quantity, over the rows of one role: rows, RMS and max relative error before and after,
        and the cross-validated RMS (calibration rows only: a held-out row's "after" is already a
        prediction)."""
        out = {}
        for q in QUANTITIES:
            errs = {k: [] for k in ("before", "after", "cv")}
            for r in self.rows:
                if not r.used or r.role != role or q not in r.pred:
                    continue
                for k in errs:
                    e = r.pred[q].get(f"{k}_err_pct")
                    if e is not None and not math.isnan(e):
                        errs[k].append(e)
            if not errs["before"]:
                continue
            rms = lambda v: float(np.sqrt(np.mean(np.square(v)))) if v else None  # noqa: E731
            out[q] = {"rows": len(errs["before"]),
                      "rms_before_pct": rms(errs["before"]), "max_before_pct": max(map(abs, errs["before"])),
                      "rms_after_pct": rms(errs["after"]),
                      "max_after_pct": max(map(abs, errs["after"])) if errs["after"] else None,
                      "cv_rms_pct": rms(errs["cv"]), "cv_rows": len(errs["cv"]),
                      "fitted": q in self.fitted_quantities}
        return out

    @property
    def fitted_quantities(self) -> set[str]:
        qs = set()
        if any(p.kind == "timing" for p in self.params):
            qs.add("latency_ms")
        if any(p.kind == "energy" for p in self.params):
            qs |= {"power_mw", "energy_uj"}
        return qs

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status, "platform": self.platform, "platform_fingerprint": self.platform_fingerprint,
            "data_file": str(self.data.path), "data_sha256": self.data.sha256,
            "data_format": self.data.format,
            "rows_used": [r.m.line for r in self.rows if r.fitted],
            "rows_held_out": [r.m.line for r in self.rows if r.used and not r.fitted],
            "rows_skipped": {r.m.line: r.note for r in self.rows if not r.used},
            "fit_method": self.methods,
            "parameters": [{"name": p.name, "kind": p.kind, "unit": p.unit, "before": p.current,
                            "after": self.fitted.get(p.name), "stderr": self.stderr.get(p.name),
                            "continuous_optimum": self.continuous.get(p.name), "bounds": p.bounds_text,
                            "bounds_source": p.bounds_source, "members": list(p.members)} for p in self.params],
            "rejected": self.rejected, "notes": self.notes, "summary": self.summary(),
            "held_out_summary": self.summary("held-out"),
            "rows": [{"row": r.m.line, "firmware": r.m.firmware, "overrides": list(r.m.overrides),
                      "source": r.m.source, "role": r.role, "used": r.used, "note": r.note,
                      "energy_target": r.energy_target if r.used else None,
                      **{q: v for q, v in r.pred.items()}} for r in self.rows],
            "simulations": self.simulations, "energy_condition_number": self.energy_condition,
            "outputs": self.outputs,
        }


# ====================================================================== the calibration


def _err(pred: float | None, meas: float | None) -> float | None:
    if pred is None or meas is None or not math.isfinite(pred):
        return None
    return (pred - meas) / meas * 100.0


def calibrate(data: str | Path, platform: str, fit: list[str] | tuple[str, ...] = (), *, out: str | Path | None = None,
              report_dir: str | Path | None = None, cache_dir: Path | None | str = "default",
              progress: Progress | Callable[[str], None] | None = None, write: bool = True) -> CalibrationResult:
    """Run the calibration; see the module doc. Raises VbenchError for bad input, CalibrationRefused
    (after writing the report) when the fit is refused or rejected. progress: a line per finished
    simulation step with its count and ETA (vbench.progress.as_progress)."""
    bar = as_progress(progress)
    cache = default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
    mf = read_measurements(data)
    base = load_platform(platform)
    params = parse_fit(list(fit), base)
    result = CalibrationResult(mf, base.name, base.fingerprint(), params, [])
    if params:
        _check_fittable(mf, base.name, params)

    # ---- rows of this platform, resolved and simulated with the current parameters
    for m in mf.rows:
        row = Row(m)
        result.rows.append(row)
        if not _platform_matches(m.platform, base.name):
            row.used, row.note = False, f"measured on {m.platform}, not {base.name}"
        elif not (m.latency_ms or m.energy_uj or m.power_mw):
            row.used, row.note = False, "no latency, energy or power to compare"
    bar.phase(sum(r.used for r in result.rows), "simulating rows")
    for row in (r for r in result.rows if r.used):
        m = row.m
        if m.measured_window is not None:
            result.simulations += _set_up_window_row(row, mf, base, params, cache, bar)
            bar.done(f"{m.label}: {m.firmware} on {base.name}: {_simulated(row.before)}")
            continue
        row.overrides, row.power_overrides = _split_overrides(m)
        try:
            plat = load_platform(platform, row.overrides) if row.overrides else base
            row.pm = load_power_model(plat)
        except VbenchError as exc:
            raise VbenchError(f"{mf.path}: {m.label}: {exc}") from None
        if "supply_v" in row.power_overrides and m.voltage_v and abs(row.power_overrides["supply_v"] - m.voltage_v) > 1e-9:
            raise VbenchError(f"{mf.path}: {m.label}: voltage_v {m.voltage_v} contradicts the override "
                              f"power.supply_v={row.power_overrides['supply_v']}")
        row.supply_v = m.voltage_v or row.power_overrides.get("supply_v") or row.pm.supply_v
        for p in params:
            hit = [k for k in p.members if k in row.power_overrides] if p.kind == "energy" else \
                [o for o in row.overrides if o.split("=", 1)[0].strip() == p.name]
            if hit:
                raise VbenchError(f"{mf.path}: {m.label} overrides {hit[0]}, which is being fitted ({p.name})")
        try:
            row.fw = resolve_firmware(m.firmware, plat, mf.path.parent)
            bar.working(f"{m.label}: {m.firmware}")
            row.before = simulate(row.fw, plat, cache)
        except VbenchError as exc:
            raise VbenchError(f"{mf.path}: {m.label}: {exc}") from None
        result.simulations += 0 if row.before.cached else 1
        bar.done(f"{m.label}: {m.firmware} on {base.name}: {_simulated(row.before)}")
        if m.clock_hz and abs(row.before.clock_hz - m.clock_hz) > CLOCK_TOLERANCE * m.clock_hz:
            raise VbenchError(
                f"{mf.path}: {m.label}: measured at {m.clock_hz:,.0f} Hz but '{m.firmware}' runs at "
                f"{row.before.clock_hz:,.0f} Hz on {base.name}; a row of the same firmware at another clock needs "
                f"the override core.clock_hz={m.clock_hz:g}")
        row.after = row.before
    used = [r for r in result.rows if r.used]
    if not used:
        names = sorted({r.m.platform for r in result.rows if r.m.platform})
        raise VbenchError(f"{mf.path}: no row to compare on {base.name}"
                          + (f" (rows are for {', '.join(names)})" if names else ""))

    tparams = [p for p in params if p.kind == "timing"]
    eparams = [p for p in params if p.kind == "energy"]
    timing_values: dict[str, int] = {}

    # ---- timing: bounded nonlinear least squares on the latency rows
    tfit: TimingFit | None = None
    lat_rows = [r for r in used if r.fitted and r.m.latency_ms]
    if tparams:
        if not lat_rows:
            raise CalibrationRefused(f"{mf.path}: no row on {base.name} has a measured latency, so "
                                     f"{', '.join(p.name for p in tparams)} cannot be fitted")
        y = np.array([r.m.latency_ms for r in lat_rows])

        def evaluate(values: tuple[int, ...], i: int) -> float:
            r = lat_rows[i]
            extra = [f"{p.name}={v}" for p, v in zip(tparams, values)]
            plat = load_platform(platform, r.overrides + extra)
            sim = simulate(r.fw, plat, cache)
            result.simulations += 0 if sim.cached else 1
            if i == len(lat_rows) - 1:   # the fit asks for every row at a point, in order
                bar.done(f"timing point {', '.join(extra)}: {len(lat_rows)} rows simulated")
            return sim.latency_ms

        bar.note(f"timing fit of {', '.join(p.name for p in tparams)} on {len(lat_rows)} rows")
        bar.phase(0, "timing fit")   # the points the fit visits are not known in advance: no ETA
        try:
            tfit = timing_fit(tparams, y, evaluate, tuple(p.current for p in tparams))
        except CalibrationRefused as exc:
            result.rejected.append(str(exc))
            _finish(result, out, report_dir, write)
            raise
        timing_values = {p.name: v for p, v in zip(tparams, tfit.values)}
        result.fitted.update(timing_values)
        result.continuous.update({p.name: c for p, c in zip(tparams, tfit.continuous)})
        result.methods.append(
            f"timing: bounded nonlinear least squares (scipy.optimize.least_squares, trf) of the relative latency "
            f"error over {len(lat_rows)} rows, on the multilinear interpolation of simulated latencies between "
            f"integer parameter values, then the best integer values around the optimum; {tfit.nfev} evaluations")
        if tfit.cv_note:
            result.notes.append(f"timing: {tfit.cv_note}")
        bar.phase(len(used), "rows at the fitted timing")
        for r in used:  # the rows at the fitted timing
            plat = load_platform(platform, r.overrides + [f"{k}={v}" for k, v in timing_values.items()])
            r.after = simulate(r.fw, plat, cache)
            result.simulations += 0 if r.after.cached else 1
            bar.done(f"{r.m.label} at the fitted timing: {_simulated(r.after)}")

    # ---- energy: linear least squares on the power/energy rows
    efit: LinearFit | None = None
    e_rows = [r for r in used if r.fitted and r.energy_target]
    if eparams:
        if not e_rows:
            raise CalibrationRefused(f"{mf.path}: no calibration row on {base.name} has a measured power or energy, "
                                     f"so {', '.join(p.name for p in eparams)} cannot be fitted")
        bar.phase(sum(1 for r in used if r.energy_target and r.window is not None), "energy slopes")
        for r in used:  # held-out rows too: the fit predicts them
            if r.energy_target:
                r.design = _energy_design(r, eparams, cache, result, bar)
        A = np.zeros((len(e_rows), len(eparams)))
        offset, y = np.zeros(len(e_rows)), np.zeros(len(e_rows))
        for i, r in enumerate(e_rows):
            div = r.after.time_s * 1e3 if r.energy_target == "power_mw" else 1.0
            A[i] = r.design[0] / div
            offset[i] = r.design[1] / div
            y[i] = r.measured(r.energy_target)
        try:
            efit = linear_fit(A, offset, y, eparams)
        except CalibrationRefused as exc:
            result.rejected.append(str(exc))
            _finish(result, out, report_dir, write)
            raise
        result.energy_condition = efit.condition
        for j, p in enumerate(eparams):
            result.fitted[p.name] = float(efit.values[j])
            se = float(efit.stderr[j])
            result.stderr[p.name] = se if math.isfinite(se) else None  # undefined without spare rows: null in JSON
        how = ("one simulation per row" if mf.format == "calibrate" else
               f"{1 + len(eparams)} runs of the measured window per row, the columns from their differences")
        result.methods.append(
            f"energy: linear least squares of the relative {'/'.join(sorted({r.energy_target for r in e_rows}))} "
            f"error over {len(e_rows)} calibration rows (the model is linear in its coefficients; {how})")
        if efit.cv_note:
            result.notes.append(f"energy: {efit.cv_note}")
        for p in eparams:
            v = result.fitted[p.name]
            if not (p.lo <= v <= p.hi):
                result.rejected.append(f"{p.name} = {v:.4g} {p.unit} is outside its bounds {p.bounds_text} "
                                       f"({p.bounds_source}): rejected, not clipped")

    # ---- predictions before / after / cross-validated
    e_index = {id(r): i for i, r in enumerate(e_rows)}
    l_index = {id(r): i for i, r in enumerate(lat_rows)}
    theta = np.array([result.fitted.get(p.name, math.nan) for p in eparams])
    for r in used:
        eb = window_energy_uj(r, r.before)
        ea = float(r.design[1] + r.design[0] @ theta) if r.design is not None else window_energy_uj(r, r.after)
        values = {
            "latency_ms": (r.before.latency_ms, r.after.latency_ms),
            "energy_uj": (eb, ea),
            "power_mw": (power_mw(r.before, eb), power_mw(r.after, ea)),
        }
        for q in QUANTITIES:
            meas = r.measured(q)
            if meas is None:
                continue
            b, a = values[q]
            cv = None
            if q == "latency_ms" and tfit is not None and id(r) in l_index:
                cv = float(tfit.cv_predicted[l_index[id(r)]])
            if q == r.energy_target and efit is not None and id(r) in e_index:  # calibration rows only
                cv = float(efit.cv_predicted[e_index[id(r)]])
            if cv is not None and math.isnan(cv):
                cv = None
            if not params:
                a = None  # evaluation only: nothing was fitted
            r.pred[q] = {"measured": meas, "before": b, "after": a, "cv": cv,
                         "before_err_pct": _err(b, meas), "after_err_pct": _err(a, meas), "cv_err_pct": _err(cv, meas)}
    _finish(result, out, report_dir, write)
    if result.rejected:
        raise CalibrationRefused("; ".join(result.rejected)
                                 + (f" (report: {result.outputs['report']})" if "report" in result.outputs else ""))
    return result


def _check_fittable(mf: MeasurementFile, platform: str, params: list[FreeParam]) -> None:
    """Refuse, before anything runs, a fit the file cannot feed: no calibration row, or timing
    parameters on a validate-format file (`vbench validate --fit` fits those)."""
    mine = [m for m in mf.rows if _platform_matches(m.platform, platform)]
    if not any(m.role == "calibration" for m in mine):
        raise CalibrationRefused(
            f"{mf.path}: no row on {platform} is marked `calibration` (column role), so nothing may be fitted: "
            f"parameters are calibrated only on calibration rows, and held-out rows are kept back to judge the model "
            f"(evaluate them without --fit)")
    timing = [p.name for p in params if p.kind == "timing"]
    if timing and mf.format == "validate":
        raise VbenchError(f"{mf.path}: timing parameters ({', '.join(timing)}) of a vbench validate file are fitted "
                          f"with `vbench validate {mf.path} --fit KEY=V1,V2,...` (docs/validation.md)")


def _set_up_window_row(row: Row, mf: MeasurementFile, base, params: list[FreeParam], cache,
                       progress: Progress) -> int:
    """A row of a validate-format file: checked by validate's preflight, run by its run_row.
    Returns the number of simulations made."""
    import dataclasses

    from vbench.validate import preflight, row_overrides

    m = row.m
    window = m.measured_window if m.measured_window.platform else dataclasses.replace(m.measured_window,
                                                                                      platform=base.name)
    row.window = window
    plat = preflight([window], mf.path)[window.line]
    row.overrides, row.power_overrides = row_overrides(window), {}
    row.pm = load_power_model(plat)
    row.supply_v = row.pm.supply_v
    keys = {o.split("=", 1)[0].strip() for o in row.overrides}
    for p in params:
        hit = [k for k in p.members if f"power.{k}" in keys] if p.kind == "energy" else []
        if hit:
            raise VbenchError(f"{mf.path}: {m.label} overrides power.{hit[0]}, which is being fitted ({p.name})")
    progress.working(f"{m.label}: {window.name} ({window.measure.text})")
    try:
        row.before = simulate_window(window, plat, cache)
    except VbenchError as exc:
        raise VbenchError(f"{mf.path}: {m.label}: {exc}") from None
    if m.clock_hz and abs(row.before.clock_hz - m.clock_hz) > CLOCK_TOLERANCE * m.clock_hz:
        raise VbenchError(f"{mf.path}: {m.label}: measured at {m.clock_hz:,.0f} Hz but '{m.firmware}' runs at "
                          f"{row.before.clock_hz:,.0f} Hz on {base.name}; set core.clock_hz={m.clock_hz:g} in the "
                          f"row's overrides")
    row.after = row.before
    return 0 if row.before.cached else 1


def _probe_value(p: FreeParam, at: float) -> float:
    """A second value of a parameter, to read the energy's slope from two runs (exact: linear)."""
    step = abs(at) * 0.5 if at else (p.hi - p.lo) / 2 if math.isfinite(p.hi) else 100.0
    return at + step if at + step <= p.hi or at - step < p.lo else at - step


def _energy_design(r: Row, eparams: list[FreeParam], cache, result: CalibrationResult,
                   progress: Progress) -> tuple[np.ndarray, float]:
    """(a, offset): the row's energy in uJ is offset + a . (parameter values)."""
    if r.window is None:  # features: the columns directly
        cols = energy_columns(r.after, r.supply_v, r.scale(r.after))
        coeffs = coefficients(r.pm, r.power_overrides)
        fitted_keys = {k for p in eparams for k in p.members}
        offset = sum(cols[k] * coeffs[k] for k in MODEL_KEYS if k not in fitted_keys)
        return np.array([sum(cols[k] for k in p.members) for p in eparams]), float(offset)
    # the window's energy only: runs with every parameter at a known value, then each one moved
    coeffs = coefficients(r.pm, {})
    at = [p.current for p in eparams]
    pin = [f"power.{k}={v!r}" for p, v in zip(eparams, at) for k in p.members if coeffs[k] != v]

    def energy(extra: list[str]) -> float:
        if not extra:
            return r.after.energy_uj
        sim = simulate_window(r.window, load_platform(r.window.platform, r.overrides + extra), cache)
        result.simulations += 0 if sim.cached else 1
        return sim.energy_uj

    progress.working(f"{r.m.label}: energy slopes")
    e0 = energy(pin)
    a = np.zeros(len(eparams))
    for j, p in enumerate(eparams):
        v = _probe_value(p, at[j])
        moved = [o for o in pin if o.split("=", 1)[0][len("power."):] not in p.members]
        a[j] = (energy(moved + [f"power.{k}={v!r}" for k in p.members]) - e0) / (v - at[j])
    progress.done(f"{r.m.label}: energy slopes of {', '.join(p.name for p in eparams)}")
    return a, float(e0 - a @ np.array(at))


def _simulated(sim: SimResult) -> str:
    energy = f", {sim.energy_uj:.1f} uJ" if sim.energy_uj is not None else ""
    return f"{sim.latency_ms:.3f} ms{energy}" + (" (cached)" if sim.cached else "")


def _finish(result: CalibrationResult, out, report_dir, write: bool) -> None:
    if not write:
        return
    rdir = Path(report_dir) if report_dir else cache_dir() / "calibration" / result.platform
    result.outputs.update(write_report(result, rdir))
    if result.params and not result.rejected and all(r.pred or not r.used for r in result.rows):
        result.outputs.update(write_parameter_files(result, Path(out) if out else None))


__all__ = ["calibrate", "CalibrationResult", "CalibrationRefused", "default_out", "energy_uj", "coefficients",
           "energy_columns"]
