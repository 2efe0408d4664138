"""What `vbench calibrate` writes: the report (markdown, CSV, JSON, PNG) and the calibrated
parameter files (a power model in the power_models/ format, a platform override file for timing),
each with its provenance. Every file is written atomically."""

from __future__ import annotations

import io
import json
import math
import os
import tomllib
from pathlib import Path
from typing import Any

from vbench.paths import cache_dir, calibrated_power_model_dir, checkout_root, data_label, data_root
from vbench.platform import load_platform
from vbench.report_io import write_csv_atomic, write_json_atomic, write_text_atomic

MARK = "# [vbench calibrate]"
ORDER = ("name", "supply_v", "static_ua", "stall_pc", "flash_read_pc", "sram_read_pc", "sram_write_pc")


def _fmt(v: float | None, spec: str = ".4g") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return format(v, spec)


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:+.2f}%"


def _rel(path: Path) -> str:
    """A path as reports spell it: relative to the data root, `../shared/...` for the research data
    beside a checkout, else the path itself."""
    label = data_label(path)
    root = checkout_root()
    if root is not None and Path(label).is_absolute() and Path(path).resolve().is_relative_to(root.parent):
        return os.path.relpath(Path(path).resolve(), root)
    return label


# ====================================================================== report


def tables(result) -> str:
    """The report's tables as markdown (also what the command prints)."""
    lines = []
    d = result.data
    used = [r for r in result.rows if r.used]
    cal = [r for r in used if r.role == "calibration"]
    lines.append(f"Data: {_rel(d.path)} (sha256 {d.sha256[:16]}), {len(used)} of {len(result.rows)} rows used on "
                 f"{result.platform} ({len(cal)} calibration, {len(used) - len(cal)} held out: predicted, never "
                 f"fitted); status: {result.status}")
    for m in result.methods:
        lines.append(f"Method: {m}")
    if result.params:
        lines += ["", "| parameter | before | after | +- 1 s.e. | bounds | bounds source |", "|---|---|---|---|---|---|"]
        for p in result.params:
            after = result.fitted.get(p.name)
            extra = ""
            unit = f" {p.unit}" if p.unit else ""
            if p.name in result.continuous and after is not None and abs(result.continuous[p.name] - after) > 1e-9:
                extra = f" (continuous optimum {result.continuous[p.name]:.3g})"
            lines.append(f"| {p.name} | {_fmt(p.current)}{unit} | {_fmt(after)}{unit}{extra} | "
                         f"{_fmt(result.stderr.get(p.name), '.2g')} | {p.bounds_text} | {p.bounds_source} |")
    fitted = bool(result.params)
    for role in ("calibration", "held-out"):
        summ = result.summary(role)
        if summ and fitted:
            what = "calibration rows (fitted)" if role == "calibration" else "held-out rows (predicted by the fit)"
            lines += ["", f"| quantity, {what} | rows | RMS error before | max before | RMS error after | max after | "
                          "leave-one-out CV RMS |", "|---|---|---|---|---|---|---|"]
            for q, s in summ.items():
                cv = f"{s['cv_rms_pct']:.2f}% ({s['cv_rows']} folds)" if s["cv_rms_pct"] is not None else \
                    ("-" if not s["fitted"] or role != "calibration" else "not available")
                lines.append(f"| {q}{' (fitted)' if s['fitted'] and role == 'calibration' else ''} | {s['rows']} | "
                             f"{s['rms_before_pct']:.2f}% | {s['max_before_pct']:.2f}% | "
                             f"{_fmt(s['rms_after_pct'], '.2f')}% | {_fmt(s['max_after_pct'], '.2f')}% | {cv} |")
        elif summ:
            lines += ["", f"| quantity, {role} rows | rows | RMS error | max error |", "|---|---|---|---|"]
            for q, s in summ.items():
                lines.append(f"| {q} | {s['rows']} | {s['rms_before_pct']:.2f}% | {s['max_before_pct']:.2f}% |")
    if fitted:
        lines += ["", "| row | firmware | role | quantity | measured | before | error | after | error | CV prediction | "
                      "CV error |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    else:
        lines += ["", "| row | firmware | role | quantity | measured | vbench | error |", "|---|---|---|---|---|---|---|"]
    for r in result.rows:
        if not r.used:
            lines.append(f"| {r.m.line} | {r.m.firmware} | {r.role} | skipped: {r.note} |" + " |" * (7 if fitted else 3))
            continue
        for q, v in r.pred.items():
            row = (f"| {r.m.line} | {r.m.firmware} | {r.role} | {q} | {_fmt(v['measured'], '.5g')} | "
                   f"{_fmt(v['before'], '.5g')} | {_pct(v['before_err_pct'])} |")
            if fitted:
                row += (f" {_fmt(v['after'], '.5g')} | {_pct(v['after_err_pct'])} | {_fmt(v['cv'], '.5g')} | "
                        f"{_pct(v['cv_err_pct'])} |")
            lines.append(row)
    for n in result.notes:
        lines.append(f"\nNote: {n}")
    for n in result.rejected:
        lines.append(f"\nREJECTED: {n}")
    return "\n".join(lines) + "\n"


def _plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    qs = [q for q in ("latency_ms", "power_mw", "energy_uj")
          if any(q in r.pred for r in result.rows if r.used)]
    ncol = max(len(qs), 1)
    fig, axes = plt.subplots(2, ncol, figsize=(5.4 * ncol, 8.6), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2]})
    summ = result.summary()
    for col, q in enumerate(qs):
        ax = axes[0][col]
        rows = [r for r in result.rows if r.used and q in r.pred]
        pts = [r.pred[q] for r in rows]
        meas = [p["measured"] for p in pts]
        allv = meas + [p[k] for p in pts for k in ("before", "after", "cv") if p[k] is not None]
        lo, hi = min(allv), max(allv)
        log = hi / lo > 20
        ax.scatter(meas, [p["before"] for p in pts], facecolors="none", edgecolors="0.55",
                   label="before" if result.params else "vbench")
        if result.params:
            ax.scatter(meas, [p["after"] for p in pts], color="C0", label="after fit")
            cv = [(m, p["cv"]) for m, p in zip(meas, pts) if p["cv"] is not None]
            if cv:
                ax.scatter(*zip(*cv), marker="x", color="C3", label="leave-one-out")
        pad = (hi - lo) * 0.08 or hi * 0.05
        lim = (lo / 1.3, hi * 1.3) if log else (lo - pad, hi + pad)
        ax.plot(lim, lim, color="0.3", lw=0.8)
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
        s = summ.get(q, {})
        title = f"{q}: RMS error {s.get('rms_before_pct', 0):.2f}%" + (" before" if result.params else "")
        if result.params and s.get("rms_after_pct") is not None:
            title += f", {s['rms_after_pct']:.2f}% after"
            if s.get("cv_rms_pct") is not None:
                title += f", CV {s['cv_rms_pct']:.2f}%"
        ax.set_title(title, fontsize=9)
        unit = {"latency_ms": "ms", "power_mw": "mW", "energy_uj": "uJ"}[q]
        ax.set_xlabel(f"measured ({unit})")
        ax.set_ylabel(f"vbench ({unit})")
        ax.legend(fontsize=8)
        labels = [f"{r.m.line}:{Path(r.m.firmware.split()[0]).name}" + ("" if r.fitted else " (held out)") for r in rows]
        for m, p, lab in zip(meas, pts, labels):
            ax.annotate(lab, (m, p["after"] if result.params else p["before"]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        # relative error per row
        ax = axes[1][col]
        x = list(range(len(rows)))
        err = lambda k: [p[f"{k}_err_pct"] if p[f"{k}_err_pct"] is not None else float("nan") for p in pts]  # noqa: E731
        ax.axhline(0, color="0.3", lw=0.8)
        ax.scatter(x, err("before"), facecolors="none", edgecolors="0.55", label="before" if result.params else "vbench")
        if result.params:
            ax.bar([i - 0.2 for i in x], err("after"), width=0.4, color="C0", label="after fit")
            ax.bar([i + 0.2 for i in x], err("cv"), width=0.4, color="C3", alpha=0.7, label="leave-one-out")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
        ax.set_ylabel("error (%)")
        ax.legend(fontsize=8)
    fig.suptitle(f"vbench calibrate: {result.platform} ({result.status})", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    write_text_atomic(path, buf.getvalue())


def write_report(result, folder: Path) -> dict[str, str]:
    folder = Path(folder)
    md = f"# vbench calibrate: {result.platform}\n\n" + tables(result)
    write_text_atomic(folder / "report.md", md)
    rows = []
    for r in result.rows:
        base = {"row": r.m.line, "firmware": r.m.firmware, "overrides": "; ".join(r.m.overrides), "role": r.role,
                "used": r.used,
                "note": r.note, "source": r.m.source}
        if not r.pred:
            rows.append({**base, "quantity": ""})
        for q, v in r.pred.items():
            rows.append({**base, "quantity": q, **v})
    write_csv_atomic(folder / "rows.csv", rows)
    out = {"report": str(folder / "report.md"), "rows": str(folder / "rows.csv"),
           "json": str(folder / "calibration.json"), "plot": str(folder / "predicted_vs_measured.png")}
    _plot(result, folder / "predicted_vs_measured.png")
    write_json_atomic(folder / "calibration.json", {**result.to_json(), "outputs": {**result.outputs, **out}})
    return out


# ====================================================================== TOML


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return json.dumps(str(v))
        r = float(f"{v:.6g}")
        return repr(r)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else json.dumps(k)


def _header(text: str) -> list[str]:
    out = []
    for ln in text.splitlines():
        if not ln.startswith("#"):
            break
        if not ln.startswith(MARK):
            out.append(ln)
    return out


def render_toml(header: list[str], data: dict[str, Any], order: tuple[str, ...] = ()) -> str:
    lines = list(header)
    top = [k for k in order if k in data and not _is_table(data[k])]
    top += [k for k in data if k not in top and not _is_table(data[k])]
    for k in top:
        lines.append(f"{_key(k)} = {_toml_value(data[k])}")
    for k, v in data.items():
        if _is_table(v):
            lines.append("")
            lines.append(f"[{_key(k)}]")
            for kk, vv in v.items():
                if isinstance(vv, list) and vv and all(isinstance(x, dict) for x in vv):
                    lines.append(f"{_key(kk)} = [")  # one inline table per line
                    lines += [f"  {_toml_value(x)}," for x in vv]
                    lines.append("]")
                else:
                    lines.append(f"{_key(kk)} = {_toml_value(vv)}")
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # what we write must read back
    return text


def _is_table(v: Any) -> bool:
    return isinstance(v, dict) and "value" not in v


def _provenance(result, kinds: set[str]) -> dict[str, Any]:
    d = result.data

    def rows_of(role: str) -> list[dict[str, Any]]:
        rows = []
        for r in result.rows:
            if not r.used or r.role != role:
                continue
            for q, v in r.pred.items():
                if ("timing" if q == "latency_ms" else "energy") not in kinds:
                    continue
                rec = {"row": r.m.line, "firmware": r.m.firmware, "quantity": q, "measured": v["measured"],
                       "before": v["before"], "after": v["after"], "cv": v["cv"], "after_err_pct": v["after_err_pct"],
                       "cv_err_pct": v["cv_err_pct"], "source": r.m.source}
                if role != "calibration":  # a prediction: no fold of its own
                    for k in ("cv", "cv_err_pct"):
                        rec.pop(k)
                rows.append(rec)
        return rows

    def errors_of(role: str) -> dict[str, Any]:
        errors = {}
        for q, s in result.summary(role).items():
            if s["fitted"] and (("timing" if q == "latency_ms" else "energy") in kinds):
                errors[q] = {"rows": s["rows"], "rms_before_pct": s["rms_before_pct"],
                             "rms_after_pct": s["rms_after_pct"], "max_after_pct": s["max_after_pct"]}
                if role == "calibration":
                    errors[q]["cv_rms_pct"] = s["cv_rms_pct"]
        return errors

    held_out = rows_of("held-out")
    extra = {"rows_held_out": sorted({r["row"] for r in held_out}), "held_out_errors": errors_of("held-out"),
             "held_out": held_out} if held_out else {}
    return {
        "tool": "vbench calibrate",
        "data_file": _rel(d.path),
        "data_sha256": d.sha256,
        "platform": result.platform,
        "platform_fingerprint": result.platform_fingerprint,
        "fitted": [p.name for p in result.params if p.kind in kinds],
        "fit_method": [m for m in result.methods if m.split(":")[0] in kinds],
        "cross_validation": "leave-one-out",
        "rows_used": [r.m.line for r in result.rows if r.fitted],
        "errors": errors_of("calibration"),
        "notes": result.notes,
        "rows": rows_of("calibration"),
        **extra,
    }


def _record_source(result, p) -> str:
    summ = result.summary()
    qs = ["latency_ms"] if p.kind == "timing" else [q for q in ("power_mw", "energy_uj") if q in summ]
    err = "; ".join(f"{q} residual RMS {summ[q]['rms_after_pct']:.2f}%, leave-one-out CV RMS "
                    + (f"{summ[q]['cv_rms_pct']:.2f}%" if summ[q]["cv_rms_pct"] is not None else "not available")
                    for q in qs if q in summ)
    se = result.stderr.get(p.name)
    v = result.fitted[p.name]
    value = f"{v:.4g} {p.unit}".strip() + (f" +- {se:.2g}" if se is not None and not math.isnan(se) else "")
    method = "bounded nonlinear least squares" if p.kind == "timing" else "linear least squares"
    from vbench.calibration.params import GROUP_TEXT

    tied = f" ({GROUP_TEXT.get(p.name.split('.', 1)[1], 'tied: ' + ', '.join(p.members))})" if len(p.members) > 1 else ""
    used = [r.m.line for r in result.rows if r.fitted]
    return (f"vbench calibrate: {p.name}{tied} fitted by {method} on {_rel(result.data.path)} "
            f"(sha256 {result.data.sha256[:16]}), rows {', '.join(map(str, used))}: {value}; {err}; "
            f"bounds {p.bounds_text}: {p.bounds_source}")


def render_power_model(result, base_text: str, base_data: dict) -> str:
    data = json.loads(json.dumps(base_data))  # deep copy of plain TOML data
    for p in result.params:
        if p.kind != "energy":
            continue
        src = _record_source(result, p)
        for key in p.members:
            node = data
            parts = key.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            rec = dict(node.get(parts[-1], {}))
            rec["value"] = float(result.fitted[p.name])
            rec["source"] = src
            order = ["value", "source"] + [k for k in rec if k not in ("value", "source")]
            node[parts[-1]] = {k: rec[k] for k in order}
    data.pop("calibration", None)
    data["calibration"] = _provenance(result, {"energy"})
    summ = result.summary()
    head = _header(base_text) + [
        f"{MARK} {', '.join(p.name for p in result.params if p.kind == 'energy')} fitted to "
        f"{_rel(result.data.path)} (sha256 {result.data.sha256[:16]}); provenance in [calibration]."]
    for q in ("power_mw", "energy_uj"):
        if q in summ and summ[q]["fitted"]:
            s = summ[q]
            head.append(f"{MARK} {q}: RMS error {s['rms_before_pct']:.2f}% before, {s['rms_after_pct']:.2f}% after, "
                        f"leave-one-out CV " + (f"{s['cv_rms_pct']:.2f}%" if s["cv_rms_pct"] is not None else "n/a")
                        + f" over {s['rows']} calibration rows.")
    return render_toml(head, data, ORDER)


def _check_power_model(platform: str, path: Path) -> None:
    from vbench.power import load_power_model

    load_power_model(load_platform(platform, [f"power.model={json.dumps(str(path))}"]))


def default_out(result) -> Path:
    """Where the calibrated file goes without --out: timing fits are what-ifs under build/, an
    energy-only fit is a power model beside the others (in the cache when vbench is installed)."""
    if any(p.kind == "timing" for p in result.params):
        return cache_dir() / "calibration" / f"{result.platform}-calibrated.toml"
    return calibrated_power_model_dir() / f"{result.platform}-calibrated.toml"


def write_parameter_files(result, out: Path | None) -> dict[str, str]:
    from vbench.calibration.params import read_power_file

    base = load_platform(result.platform)
    out = Path(out) if out else default_out(result)
    written: dict[str, str] = {}
    has_timing = any(p.kind == "timing" for p in result.params)
    has_energy = any(p.kind == "energy" for p in result.params)
    pm_path = None
    if has_energy:
        _, base_data, base_text = read_power_file(base)
        pm_path = out.with_name(out.stem + "-power.toml") if has_timing else out
        text = render_power_model(result, base_text, base_data)
        write_text_atomic(pm_path, text)
        _check_power_model(result.platform, pm_path)
        written["power_model"] = str(pm_path)
    if has_timing:
        inside = out.resolve().is_relative_to(data_root())  # a file outside the repository keeps working
        data: dict[str, Any] = {"extends": os.path.relpath(base.path, out.parent.resolve()) if inside
                                else str(base.path)}
        for p in result.params:
            if p.kind != "timing":
                continue
            section, key = p.name.split(".", 1)
            data.setdefault(section, {})[key] = {"value": int(result.fitted[p.name]),
                                                 "source": _record_source(result, p)}
        if pm_path is not None:
            data["power"] = {"model": _rel(pm_path)}
        data["calibration"] = _provenance(result, {"timing", "energy"} if has_energy else {"timing"})
        head = [f"# Platform {result.platform} with timing parameters calibrated by vbench calibrate.",
                f"{MARK} fitted to {_rel(result.data.path)} (sha256 {result.data.sha256[:16]}); provenance in "
                f"[calibration]. Use it as --platform {_rel(out)}."]
        write_text_atomic(out, render_toml(head, data, ("extends",)))
        load_platform(out)
        written["platform_file"] = str(out)
    return written
