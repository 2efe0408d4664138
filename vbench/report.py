"""Benchmark result sets: results.json, results.csv, report.md and PNG plots, written atomically.

One record per workload x platform x mode. The keys listed in RECORD_KEYS are a contract other
tools read; extra keys may follow. A record may carry `layers`: per-layer cycles, instructions and
energy of one inference (from the runtime's layer markers).
"""

from __future__ import annotations

import io
import json
import platform as host_platform
import time
from pathlib import Path
from typing import Any

from vbench import __version__
from vbench.errors import VbenchError
from vbench.report_io import write_csv_atomic, write_json_atomic, write_png_atomic, write_text_atomic

RECORD_KEYS = ("workload", "platform", "mode", "latency_ms", "energy_uj", "accuracy", "cycles", "instructions",
               "firmware_sha256", "model_sha256", "overrides", "vbench_version")
SCHEMA_VERSION = 1


def make_result_set(records: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    for r in records:
        missing = [k for k in RECORD_KEYS if k not in r]
        if missing:
            raise VbenchError(f"result record for {r.get('workload')}/{r.get('platform')} lacks {', '.join(missing)}")
    return {"schema_version": SCHEMA_VERSION, "vbench_version": __version__,
            "created_unix": int(time.time()), "host": host_platform.platform(), **metadata, "results": records}


def load_result_set(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise VbenchError(f"cannot read results {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise VbenchError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise VbenchError(f"{path}: not a vbench result set (no 'results' list)")
    return data


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k not in ("layers", "overrides", "extra")}
    out["overrides"] = ";".join(f"{k}={v}" for k, v in (record.get("overrides") or {}).items())
    return out


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def summary_table(records: list[dict[str, Any]]) -> str:
    """The readable table printed at the end of a run."""
    head = ["workload", "platform", "mode", "latency ms", "energy uJ", "accuracy", "cycles", "instructions"]
    rows = [[r["workload"], r["platform"], r["mode"], _fmt(r.get("latency_ms")), _fmt(r.get("energy_uj")),
             _fmt(r.get("accuracy"), 4), _fmt(r.get("cycles")), _fmt(r.get("instructions"))] for r in records]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown_report(result_set: dict[str, Any]) -> str:
    recs = result_set["results"]
    out = io.StringIO()
    out.write(f"# vbench results\n\nvbench {result_set.get('vbench_version')}, schema {result_set.get('schema_version')}\n\n")
    out.write("| workload | platform | mode | latency (ms) | energy (uJ) | accuracy | cycles | instructions | exact |\n")
    out.write("|---|---|---|---:|---:|---:|---:|---:|---|\n")
    for r in recs:
        exact = "by repetition" if r.get("extrapolated") else "simulated"
        out.write(f"| {r['workload']} | {r['platform']} | {r['mode']} | {_fmt(r.get('latency_ms'))} | "
                  f"{_fmt(r.get('energy_uj'))} | {_fmt(r.get('accuracy'), 4)} | {_fmt(r.get('cycles'))} | "
                  f"{_fmt(r.get('instructions'))} | {exact} |\n")
    for r in recs:
        if r.get("layers"):
            out.write(f"\n## Layers: {r['workload']} on {r['platform']}\n\n| # | op | cycles | instructions | energy (uJ) |\n"
                      "|---:|---|---:|---:|---:|\n")
            for layer in r["layers"]:
                out.write(f"| {layer.get('layer')} | {layer.get('op', '')} | {_fmt(layer.get('cycles'))} | "
                          f"{_fmt(layer.get('instructions'))} | {_fmt(layer.get('energy_uj'))} |\n")
    models = sorted({(r["workload"], r.get("model_file") or "", r.get("weights") or "dense", bool(r.get("winograd")),
                      r.get("model_sha256") or "") for r in recs})
    if any(not f.startswith("models/") or w != "dense" or wg for _, f, w, wg, _ in models):
        out.write("\n## Models\n\n")
        for workload, f, w, wg, sha in models:
            out.write(f"- {workload}: {f} (sha256 {sha[:16]}), weights {w}{', winograd' if wg else ''}\n")
    if any(r.get("overrides") for r in recs):
        out.write("\n## Overrides\n\n")
        for r in recs:
            if r.get("overrides"):
                out.write(f"- {r['workload']}/{r['platform']}: {r['overrides']}\n")
    return out.getvalue()


def write_plots(out_dir: Path, records: list[dict[str, Any]]) -> list[Path]:
    written = []
    perf = [r for r in records if r.get("latency_ms") is not None and r["mode"] in ("performance", "energy")]
    if perf:
        def draw_bars(plt, key: str, label: str):
            rows = [r for r in perf if r.get(key) is not None]
            fig, ax = plt.subplots(figsize=(7, 3.5))
            names = [f"{r['workload']}\n{r['platform']}" for r in rows]
            ax.bar(range(len(rows)), [r[key] for r in rows], color="#4472c4")
            ax.set_xticks(range(len(rows)), names, fontsize=8)
            ax.set_ylabel(label)
            ax.set_yscale("log")
            ax.grid(axis="y", alpha=0.3)
            return fig

        for key, label, name in (("latency_ms", "latency per inference (ms)", "latency.png"),
                                 ("energy_uj", "energy per inference (uJ)", "energy.png")):
            if any(r.get(key) is not None for r in perf):
                write_png_atomic(out_dir / name, lambda plt, k=key, lab=label: draw_bars(plt, k, lab), dpi=110)
                written.append(out_dir / name)
    for r in records:
        if not r.get("layers") or r["mode"] != "performance":
            continue

        def draw_layers(plt, rec=r):
            fig, ax = plt.subplots(figsize=(7, 3.5))
            layers = rec["layers"]
            ax.bar(range(len(layers)), [x["cycles"] for x in layers], color="#ed7d31")
            ax.set_xticks(range(len(layers)), [f"{x['layer']}\n{x.get('op', '')[:6]}" for x in layers], fontsize=6)
            ax.set_ylabel("cycles per inference")
            ax.set_title(f"{rec['workload']} on {rec['platform']}: cycles per layer")
            return fig

        name = f"layers_{r['workload']}_{r['platform']}.png"
        write_png_atomic(out_dir / name, draw_layers, dpi=110)
        written.append(out_dir / name)
    return written


def write_result_set(out_dir: str | Path, result_set: dict[str, Any], plots: bool = True) -> list[Path]:
    """results.json, results.csv, report.md and plots; each file replaced atomically."""
    out_dir = Path(out_dir)
    recs = result_set["results"]
    write_csv_atomic(out_dir / "results.csv", [_flat(r) for r in recs])
    write_text_atomic(out_dir / "report.md", markdown_report(result_set))
    files = [out_dir / "results.csv", out_dir / "report.md"]
    if plots:
        files += write_plots(out_dir, recs)
    write_json_atomic(out_dir / "results.json", result_set)  # last: its presence marks a complete set
    return [out_dir / "results.json"] + files
