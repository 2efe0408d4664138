"""Regression gate: compare two result sets (vbench.results.ResultSet, or results.json dicts), per
workload and per layer.

Exit status (a CI contract): 0 no regression above the thresholds, 1 regression, 2 incompatible or
unreadable inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vbench.errors import VbenchError
from vbench.results import ResultSet


class IncompatibleResults(VbenchError):
    exit_code = 2


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
    missing: list[str] = field(default_factory=list)


def _result_set(data: ResultSet | dict[str, Any]) -> ResultSet:
    return data if isinstance(data, ResultSet) else ResultSet.from_dict(data)


def compare(base: ResultSet | dict[str, Any], new: ResultSet | dict[str, Any], max_cycles_pct: float = 1.0,
            max_energy_pct: float = 1.0, max_accuracy_drop: float = 0.0) -> Comparison:
    b = {r.key: r for r in _result_set(base).records}
    n = {r.key: r for r in _result_set(new).records}
    common = sorted(set(b) & set(n))
    if not common:
        raise IncompatibleResults("the two result sets share no workload/platform/mode: nothing to compare")
    out = Comparison(missing=[f"{w}/{p}/{m}" for (w, p, m) in sorted(set(b) - set(n))])
    for key in common:
        rb, rn = b[key], n[key]
        w, p, m = key
        if rb.model_sha256 and rn.model_sha256 and rb.model_sha256 != rn.model_sha256:
            raise IncompatibleResults(f"{w}/{p}: the model differs between the two runs ({rb.model_sha256[:12]} vs "
                                      f"{rn.model_sha256[:12]}); compare runs of the same model")
        for metric, limit in (("cycles", max_cycles_pct), ("energy_uj", max_energy_pct)):
            vb, vn = getattr(rb, metric), getattr(rn, metric)
            if vb is None or vn is None:
                continue
            d = Delta(w, p, m, metric, float(vb), float(vn))
            out.deltas.append(d)
            if d.pct > limit:
                out.regressions.append(d)
        if rb.accuracy is not None and rn.accuracy is not None:
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


def render(c: Comparison) -> str:
    lines = [f"{'workload':<8} {'platform':<16} {'mode':<12} {'metric':<10} {'layer':<22} {'base':>14} {'new':>14} {'change':>9}"]
    for d in c.deltas:
        flag = "  REGRESSION" if d in c.regressions else ""
        lines.append(f"{d.workload:<8} {d.platform:<16} {d.mode:<12} {d.metric:<10} {(d.layer or '-'):<22} "
                     f"{d.base:>14,.3f} {d.new:>14,.3f} {d.pct:>+8.2f}%{flag}")
    for m in c.missing:
        lines.append(f"missing in the new results: {m}")
    if c.regressions:
        grown = sorted({f"{d.workload}/{d.platform}" + (f" layer {d.layer}" if d.layer else f" {d.metric}") for d in c.regressions})
        lines.append("regressions: " + "; ".join(grown))
    else:
        lines.append("no regression above the thresholds")
    return "\n".join(lines)
