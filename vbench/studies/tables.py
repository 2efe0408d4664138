"""The study's derived tables: each configuration over the baseline (comparisons) and the layers of
every configuration aligned with the baseline's (layer_rows)."""

from __future__ import annotations

import difflib
from typing import Any

from vbench.studies.base import METRICS, Study


def align_layers(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[tuple[dict | None, dict | None]]:
    """Pair the layers of two runs by (op, output shape) in order; unmatched layers (e.g. a
    QUANTIZE only one model has) pair with None."""
    key = lambda x: (x["op"], x["output_shape"])  # noqa: E731
    sm = difflib.SequenceMatcher(None, [key(x) for x in a], [key(x) for x in b], autojunk=False)
    pairs: list[tuple[dict | None, dict | None]] = []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            pairs += list(zip(a[i1:i2], b[j1:j2]))
        else:
            pairs += [(x, None) for x in a[i1:i2]] + [(None, y) for y in b[j1:j2]]
    return pairs


def _ratio(b, a):
    return b / a if a and b is not None else None


def comparisons(study: Study, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per workload x platform x non-baseline configuration: that configuration over the
    baseline for each total metric."""
    index = {(r["workload"], r["platform"], r["config"]): r for r in records}
    out = []
    for (w, p, label), ra in index.items():
        if label != study.a.label:
            continue
        for other in study.others:
            rb = index.get((w, p, other.label))
            if rb is None:
                continue
            row = {"workload": w, "platform": p, "a": study.a.label, "b": other.label}
            for key, _ in METRICS:
                row[f"{key}_ratio"] = _ratio(rb.get(key), ra.get(key))
            row["speedup"] = _ratio(ra.get("cycles"), rb.get("cycles"))
            out.append(row)
    return out


def layer_rows(study: Study, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Aligned per-layer rows for every workload x platform: the baseline's layers with every other
    configuration's matching layer beside them (columns <metric>_<label>; cycles_ratio_<label> =
    that configuration over the baseline; with two configurations also cycles_ratio)."""
    index = {(r["workload"], r["platform"], r["config"]): r for r in records}
    la = study.a.label
    rows = []
    for (w, p, label), ra in index.items():
        if label != la or not ra.get("layers"):
            continue
        base = [{"workload": w, "platform": p, f"layer_{la}": x["layer"], "op": x["op"],
                 "output_shape": x["output_shape"], "macs": x["macs"], f"kernel_{la}": x["kernel"],
                 **{f"{k}_{la}": x[k] for k in ("cycles", "instructions", "latency_ms", "energy_uj")}}
                for x in ra["layers"]]
        extra = []
        for other in study.others:
            lb = other.label
            rb = index.get((w, p, lb))
            for row in base:
                row.update({f"layer_{lb}": None, f"kernel_{lb}": None,
                            **{f"{k}_{lb}": None for k in ("cycles", "instructions", "latency_ms", "energy_uj")}})
            if rb is None or not rb.get("layers"):
                continue
            position = {id(x): i for i, x in enumerate(ra["layers"])}
            for x, y in align_layers(ra["layers"], rb["layers"]):
                if y is None:
                    continue
                if x is None:   # a layer only this configuration has
                    row = {"workload": w, "platform": p, f"layer_{la}": None, "op": y["op"],
                           "output_shape": y["output_shape"], "macs": y["macs"]}
                    extra.append(row)
                else:
                    row = base[position[id(x)]]
                row.update({f"layer_{lb}": y["layer"], f"kernel_{lb}": y["kernel"],
                            **{f"{k}_{lb}": y[k] for k in ("cycles", "instructions", "latency_ms", "energy_uj")}})
        for row in base + extra:
            for other in study.others:
                row[f"cycles_ratio_{other.label}"] = _ratio(row.get(f"cycles_{other.label}"), row.get(f"cycles_{la}"))
            if len(study.configs) == 2:
                row["cycles_ratio"] = row[f"cycles_ratio_{study.b.label}"]
        rows += base + extra
    return rows
