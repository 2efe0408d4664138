"""Regression gate: compare two result sets (vbench.results.ResultSet, or results.json dicts), per
workload and per layer.

Exit status (a CI contract): 0 no regression above the thresholds, 1 regression, 2 the runs cannot
be compared. The gate fails closed: it does not pass what it could not check. Exit 2 when

- a record is FAILED (`failing`), or a metric its mode measures (performance: cycles, energy: energy
  uJ, accuracy: accuracy) is null, NaN or Infinity on either side, or null on one side only; a
  performance record of a real board (`vbench run --port`) has no cycles, and there latency_ms is
  its measure (compared against the cycles threshold: at a fixed clock the two move together);
- the two runs differ in their set of (workload, platform, mode) (unless `allow_missing`), or a
  record appears twice in one run;
- a pair of records differs in firmware (sha256), platform overrides, model (sha256) or vbench
  version, unless that difference is named in `allow_differ` (DIFFERENCES);
- a threshold is not a finite number (percentages > 0, the accuracy drop >= 0).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from vbench.errors import VbenchError
from vbench.report_io import non_finite_key
from vbench.results import ResultSet, WorkloadResult


class IncompatibleResults(VbenchError):
    exit_code = 2


# The differences between two runs a user may declare expected: name -> the record field it compares.
DIFFERENCES = {"firmware": "firmware_sha256", "overrides": "overrides", "model": "model_sha256",
               "version": "vbench_version"}

# The metric each mode measures: null on both sides is a run that measured nothing.
PRIMARY_METRIC = {"performance": "cycles", "energy": "energy_uj", "accuracy": "accuracy"}


@dataclass
class Delta:
    workload: str
    platform: str
    mode: str
    metric: str
    base: float
    new: float
    layer: str | None = None

    @property
    def pct(self) -> float:
        return (self.new - self.base) / self.base * 100 if self.base else (0.0 if self.new == self.base else float("inf"))


@dataclass
class Comparison:
    deltas: list[Delta] = field(default_factory=list)
    regressions: list[Delta] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # in the base run, not in the new one
    added: list[str] = field(default_factory=list)       # in the new run, not in the base one
    problems: list[str] = field(default_factory=list)    # why the runs cannot be compared (exit 2)
    allowed: list[str] = field(default_factory=list)     # differences found and declared expected

    @property
    def exit_code(self) -> int:
        return 2 if self.problems else 1 if self.regressions else 0


def check_thresholds(max_cycles_pct: float, max_energy_pct: float, max_accuracy_drop: float) -> None:
    for name, value, zero_ok in (("max_cycles_pct", max_cycles_pct, False), ("max_energy_pct", max_energy_pct, False),
                                 ("max_accuracy_drop", max_accuracy_drop, True)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0 or (value == 0 and not zero_ok):
            raise IncompatibleResults(f"threshold {name}={value!r}: must be a finite number "
                                      f"{'>= 0' if zero_ok else '> 0'}")


def _result_set(data: ResultSet | dict[str, Any]) -> ResultSet:
    return data if isinstance(data, ResultSet) else ResultSet.from_dict(data)


def _name(key: tuple[str, str, str]) -> str:
    return "/".join(key)


def _record_problems(r: WorkloadResult, side: str) -> list[str]:
    """Why record `r` of the `side` run (base or new) is no result to compare."""
    where = f"{_name(r.key)} in the {side} run"
    if r.failing:
        return [f"{where} is FAILED: {r.reason or 'no reason given'}"]
    found = non_finite_key(asdict(r))
    if found:
        return [f"{where}: {found[0]} is {found[1]} (not a finite number)"]
    out = []
    for metric in ("cycles", "energy_uj", "latency_ms", "instructions"):
        v = getattr(r, metric)
        if v is not None and v < 0:
            out.append(f"{where}: {metric} is negative ({v})")
    if r.accuracy is not None and not 0 <= r.accuracy <= 1:
        out.append(f"{where}: accuracy {r.accuracy} is not a fraction in [0, 1]")
    primary = PRIMARY_METRIC.get(r.mode)
    if primary == "cycles" and r.cycles is None and r.latency_ms is not None:
        primary = "latency_ms"  # a real board: the host timed it, nothing counted cycles
    if primary and getattr(r, primary) is None:
        out.append(f"{where}: {primary} is null (the {r.mode} run measured nothing)")
    elif not primary and all(getattr(r, m) is None for m in ("cycles", "energy_uj", "accuracy")):
        out.append(f"{where}: cycles, energy_uj and accuracy are all null")
    return out


def _index(rs: ResultSet, side: str, problems: list[str]) -> dict[tuple[str, str, str], WorkloadResult]:
    out: dict[tuple[str, str, str], WorkloadResult] = {}
    for r in rs.records:
        if r.key in out:
            problems.append(f"{_name(r.key)} appears twice in the {side} run")
        out[r.key] = r
    return out


def compare(base: ResultSet | dict[str, Any], new: ResultSet | dict[str, Any], max_cycles_pct: float = 1.0,
            max_energy_pct: float = 1.0, max_accuracy_drop: float = 0.0, *,
            allow_differ: set[str] | frozenset[str] | tuple[str, ...] = (),
            allow_missing: bool = False) -> Comparison:
    """Compare `new` against `base`. Problems that make the runs incomparable are collected in
    `Comparison.problems` (exit 2); regressions in `Comparison.regressions` (exit 1). A bad threshold
    or an unknown `allow_differ` name raises IncompatibleResults."""
    check_thresholds(max_cycles_pct, max_energy_pct, max_accuracy_drop)
    unknown = set(allow_differ) - set(DIFFERENCES)
    if unknown:
        raise IncompatibleResults(f"allow_differ: unknown difference {', '.join(sorted(unknown))} "
                                  f"(one of {', '.join(DIFFERENCES)})")
    bs, ns = _result_set(base), _result_set(new)
    out = Comparison()
    b, n = _index(bs, "base", out.problems), _index(ns, "new", out.problems)
    out.missing = [_name(k) for k in sorted(set(b) - set(n))]
    out.added = [_name(k) for k in sorted(set(n) - set(b))]
    if out.missing or out.added:
        what = "; ".join(x for x in (out.missing and "missing in the new run: " + ", ".join(out.missing),
                                     out.added and "only in the new run: " + ", ".join(out.added)) if x)
        (out.allowed if allow_missing else out.problems).append(
            f"the runs differ in their workload/platform/mode records ({what})"
            + ("" if allow_missing else "; pass --allow-missing if that is expected"))
    common = sorted(set(b) & set(n))
    if not common:
        out.problems.append("the two result sets share no workload/platform/mode: nothing to compare")
    bad: set[tuple[str, str, str]] = set()
    for side, recs in (("base", b), ("new", n)):
        for key, r in recs.items():
            found = _record_problems(r, side)
            if found:
                out.problems += found
                bad.add(key)
    bv, nv = bs.vbench_version, ns.vbench_version
    if bv != nv:
        (out.allowed if "version" in allow_differ else out.problems).append(
            f"the vbench version differs: {bv} (base) vs {nv} (new)"
            + ("" if "version" in allow_differ else "; pass --allow-differ version if that is expected"))
    for key in common:
        rb, rn = b[key], n[key]
        w, p, m = key
        for name, attr in DIFFERENCES.items():
            vb, vn = getattr(rb, attr), getattr(rn, attr)
            if vb == vn or (name == "version" and bv != nv):
                continue   # a differing set version is reported once, above
            show = lambda v: v[:12] if isinstance(v, str) and len(v) == 64 else v  # noqa: E731
            msg = f"{_name(key)}: the {name} differs ({show(vb)} in the base run, {show(vn)} in the new run)"
            if name in allow_differ:
                out.allowed.append(msg)
            else:
                out.problems.append(msg + f"; pass --allow-differ {name} if that is expected")
        if key in bad:
            continue
        # a real board's run on both sides counts no cycles: its time is the latency it measured
        timed = "latency_ms" if rb.cycles is None and rn.cycles is None and m == "performance" else "cycles"
        for metric, limit in ((timed, max_cycles_pct), ("energy_uj", max_energy_pct)):
            vb, vn = getattr(rb, metric), getattr(rn, metric)
            if vb is None and vn is None:
                continue
            if vb is None or vn is None:
                out.problems.append(f"{_name(key)}: {metric} is null in the {'base' if vb is None else 'new'} run only")
                continue
            d = Delta(w, p, m, metric, float(vb), float(vn))
            out.deltas.append(d)
            if d.pct > limit:
                out.regressions.append(d)
        if (rb.accuracy is None) != (rn.accuracy is None):
            out.problems.append(f"{_name(key)}: accuracy is null in the {'base' if rb.accuracy is None else 'new'} "
                                f"run only")
        elif rb.accuracy is not None:
            d = Delta(w, p, m, "accuracy", float(rb.accuracy), float(rn.accuracy))
            out.deltas.append(d)
            if rb.accuracy - rn.accuracy > max_accuracy_drop:
                out.regressions.append(d)
        lb = {str(x.layer): x for x in rb.layers or []}
        for x in rn.layers or []:
            ref = lb.get(str(x.layer))
            if ref is None or not ref.cycles:
                continue
            name = f"{x.layer} {x.op}".strip()
            d = Delta(w, p, m, "cycles", float(ref.cycles), float(x.cycles), layer=name)
            out.deltas.append(d)
            if d.pct > max_cycles_pct:
                out.regressions.append(d)
    return out


def to_json(c: Comparison) -> dict[str, Any]:
    """The `--json` object: regressions, deltas, missing (as before), then added, problems,
    allowed_differences and exit_code. Strict JSON: an infinite change (from 0) is null."""
    def row(d: Delta) -> dict[str, Any]:
        return vars(d) | {"pct": d.pct if math.isfinite(d.pct) else None}

    return {"regressions": [row(d) for d in c.regressions], "deltas": [row(d) for d in c.deltas],
            "missing": c.missing, "added": c.added, "problems": c.problems, "allowed_differences": c.allowed,
            "exit_code": c.exit_code}


def render(c: Comparison) -> str:
    """The gate's report: a table of every delta (tabulate), then what is missing, allowed or wrong."""
    from tabulate import tabulate

    rows = [[d.workload, d.platform, d.mode, d.metric, d.layer or "-", f"{d.base:,.3f}", f"{d.new:,.3f}",
             f"{d.pct:+.2f}%", "REGRESSION" if d in c.regressions else ""] for d in c.deltas]
    lines = [tabulate(rows, headers=["workload", "platform", "mode", "metric", "layer", "base", "new", "change", ""],
                      tablefmt="simple", colalign=("left",) * 5 + ("right",) * 3 + ("left",), disable_numparse=True)]
    for m in c.missing:
        lines.append(f"missing in the new results: {m}")
    for m in c.added:
        lines.append(f"only in the new results: {m}")
    for a in c.allowed:
        lines.append(f"allowed difference: {a}")
    if c.regressions:
        grown = sorted({f"{d.workload}/{d.platform}" + (f" layer {d.layer}" if d.layer else f" {d.metric}") for d in c.regressions})
        lines.append("regressions: " + "; ".join(grown))
    if c.problems:
        lines.append(f"cannot compare ({len(c.problems)} problem{'s' if len(c.problems) > 1 else ''}; the gate fails):")
        lines += [f"  - {p}" for p in c.problems]
    elif not c.regressions:
        lines.append("no regression above the thresholds")
    return "\n".join(lines)
