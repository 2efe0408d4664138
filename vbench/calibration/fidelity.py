"""`vbench fidelity`: for every platform, the free parameters of its power and timing models, their
values and sources, which of them were calibrated against measurements, and the cross-validated
error the calibration left (from the [calibration] provenance `vbench calibrate` writes)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from vbench.calibration.params import KNOWN_TIMING, MODEL_KEYS, model_record, read_power_file
from vbench.paths import data_label
from vbench.platform import Platform, available_platforms, load_platform

CALIBRATED = ("vbench calibrate", "vbench validate --fit")  # how a fitted source begins


def _rel(path: Path) -> str:
    return data_label(path)


def _status(source: str) -> str:
    return "calibrated" if source.startswith(CALIBRATED) else "fixed"


def _errors_text(cal: dict[str, Any]) -> str:
    parts = []
    for q, e in (cal.get("errors") or {}).items():
        cv = e.get("cv_rms_pct")
        parts.append(f"{q}: residual RMS {e.get('rms_after_pct', math.nan):.2f}% over {e.get('rows')} rows, "
                     f"leave-one-out CV RMS " + (f"{cv:.2f}%" if isinstance(cv, (int, float)) else "not available"))
    return "; ".join(parts)


def platform_fidelity(plat: Platform) -> dict[str, Any]:
    out: dict[str, Any] = {"platform": plat.name, "file": _rel(plat.path)}
    # ---- power model
    try:
        path, data, _ = read_power_file(plat)
    except Exception as exc:  # a platform without a power model still has a timing model
        out["power"] = {"model": None, "note": str(exc), "parameters": [], "calibration": None}
        data, path = None, None
    if data is not None:
        records = []
        for key in ("supply_v", *MODEL_KEYS):
            rec = model_record(data, key)
            if "value" in rec:
                records.append({"parameter": key, "value": rec["value"],
                                "unit": "V" if key == "supply_v" else "uA" if key == "static_ua" else "pC",
                                "source": rec.get("source", ""), "status": _status(rec.get("source", "")),
                                "bounds": rec.get("bounds")})
        for key, rec in (data.get("range_scale") or {}).items():
            if isinstance(rec, dict) and "value" in rec:
                records.append({"parameter": f"range_scale.{key}", "value": rec["value"], "unit": "",
                                "source": rec.get("source", ""), "status": _status(rec.get("source", "")),
                                "bounds": rec.get("bounds")})
        cal = data.get("calibration")
        if cal:
            summary = (f"calibrated: {', '.join(cal.get('fitted', []))} fitted to {cal.get('data_file')} "
                       f"(sha256 {str(cal.get('data_sha256', ''))[:16]}, rows {cal.get('rows_used')}); {_errors_text(cal)}")
        else:
            summary = ("not calibrated against board measurements: every figure is the literature or datasheet "
                       "estimate its source names; no cross-validated error exists")
        if cal and not cal.get("fitted"):
            summary = f"not calibrated: {cal.get('reason') or 'no board measurements'}; no cross-validated error exists"
        out["power"] = {"model": _rel(path), "summary": summary, "parameters": records, "calibration": cal}
    # ---- timing model: the published-range parameters of the core and anything calibrated
    model = plat.get("timing.model", "")
    trecs = []
    for section in ("timing", "flash"):
        for key, rec in plat.section(section).items():
            if not (isinstance(rec, dict) and isinstance(rec.get("value"), (int, float))):
                continue
            name = f"{section}.{key}"
            src = rec.get("source", "")
            lo_hi = KNOWN_TIMING.get((model, name))  # every timing parameter, with its source
            trecs.append({"parameter": name, "value": rec["value"], "source": src, "status": _status(src),
                          "range": [lo_hi[0], lo_hi[1]] if lo_hi else None})
    tcal = plat.data.get("calibration") if isinstance(plat.data.get("calibration"), dict) else None
    if tcal and any(str(f).startswith(("timing.", "flash.")) for f in tcal.get("fitted", [])):
        tsummary = (f"calibrated: {', '.join(f for f in tcal['fitted'] if f.startswith(('timing.', 'flash.')))} fitted "
                    f"to {tcal.get('data_file')}; {_errors_text({'errors': {k: v for k, v in (tcal.get('errors') or {}).items() if k == 'latency_ms'}})}")
    elif any(r["status"] == "calibrated" for r in trecs):
        tsummary = ("instruction timings are the TRM figures their sources cite; calibrated on board measurements "
                    "(vbench validate --fit, leave-one-out errors in the source): "
                    + ", ".join(r["parameter"] for r in trecs if r["status"] == "calibrated"))
    else:
        tsummary = ("not fitted to board measurements: instruction timings are the TRM figures their sources cite "
                    "(checked by the microbenchmark tests); published MLPerf Tiny latencies come from other software "
                    "stacks and are not used to fit the core timing model")
    out["timing"] = {"model": model, "summary": tsummary, "parameters": trecs, "calibration": tcal}
    return out


def fidelity(platforms: list[str] | None = None) -> list[dict[str, Any]]:
    names = platforms or [p.stem for p in available_platforms()]
    return [platform_fidelity(load_platform(n)) for n in names]


def _group(records: list[dict[str, Any]]) -> list[tuple[list[str], dict[str, Any]]]:
    groups: list[tuple[list[str], dict[str, Any]]] = []
    for r in records:
        for names, g in groups:
            if g["value"] == r["value"] and g["source"] == r["source"]:
                names.append(r["parameter"])
                break
        else:
            groups.append(([r["parameter"]], r))
    return groups


def _names(names: list[str]) -> str:
    cls = [n for n in names if n.startswith("class_pc.")]
    if len(cls) > 3:
        rest = [n for n in names if not n.startswith("class_pc.")]
        return ", ".join(["class_pc.* (all classes)"] + rest)
    return ", ".join(names)


def format_fidelity(rows: list[dict[str, Any]]) -> str:
    lines = []
    for f in rows:
        lines.append(f"{f['platform']} ({f['file']})")
        p = f["power"]
        lines.append(f"  power model {p.get('model') or '-'}: {p.get('summary') or p.get('note')}")
        for names, r in _group(p["parameters"]):
            unit = f" {r['unit']}" if r["unit"] else ""
            bounds = f", bounds {r['bounds']}" if r.get("bounds") else ""
            lines.append(f"    {_names(names)} = {r['value']:g}{unit} [{r['status']}{bounds}]")
            lines.append(f"        source: {r['source']}")
        t = f["timing"]
        lines.append(f"  timing model {t['model'] or '-'}: {t['summary']}")
        for r in t["parameters"]:
            rng = f", fit range {r['range'][0]}..{r['range'][1]}" if r.get("range") else ""
            lines.append(f"    {r['parameter']} = {r['value']:g} [{r['status']}{rng}]")
            lines.append(f"        source: {r['source']}")
        lines.append("")
    return "\n".join(lines)
