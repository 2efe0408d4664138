"""Benchmark result sets: results.json, results.csv, report.md and PNG plots, written atomically.

One record per workload x platform x mode, typed in vbench/results.py (WorkloadResult, ResultSet):
the keys listed in RECORD_KEYS are a contract other tools read; extra keys may follow. A record may
carry `layers`: per-layer cycles, instructions and energy of one inference (from the runtime's
layer markers). The functions here take result objects, or the dicts of results.json.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable

from vbench.report_io import write_csv_atomic, write_json_atomic, write_png_atomic, write_text_atomic
from vbench.results import RECORD_KEYS, SCHEMA_VERSION, ResultSet, WorkloadResult, load_results

__all__ = ["RECORD_KEYS", "SCHEMA_VERSION", "load_result_set", "make_result_set", "markdown_report", "summary_table",
           "write_plots", "write_result_set"]


def make_result_set(records: Iterable[WorkloadResult | dict[str, Any]], **metadata: Any) -> ResultSet:
    """A new result set of `records` (dicts are read as results.json records, checked)."""
    return ResultSet.create(list(records), **metadata)


def load_result_set(path: str | Path) -> ResultSet:
    """results.json (or a folder holding it), checked: vbench.results.load_results."""
    return load_results(path)


def _records(records: Iterable[WorkloadResult | dict[str, Any]]) -> list[WorkloadResult]:
    return [r if isinstance(r, WorkloadResult) else WorkloadResult.from_dict(r) for r in records]


def _result_set(result_set: ResultSet | dict[str, Any]) -> ResultSet:
    return result_set if isinstance(result_set, ResultSet) else ResultSet.from_dict(result_set)


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def summary_table(records: Iterable[WorkloadResult | dict[str, Any]]) -> str:
    """The readable table printed at the end of a run."""
    head = ["workload", "platform", "mode", "latency ms", "energy uJ", "accuracy", "cycles", "instructions"]
    rows = [[r.workload, r.platform, r.mode, _fmt(r.latency_ms), _fmt(r.energy_uj), _fmt(r.accuracy, 4),
             _fmt(r.cycles), _fmt(r.instructions)] for r in _records(records)]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def markdown_report(result_set: ResultSet | dict[str, Any]) -> str:
    result_set = _result_set(result_set)
    recs = result_set.records
    out = io.StringIO()
    out.write(f"# vbench results\n\nvbench {result_set.vbench_version}, schema {result_set.schema_version}\n\n")
    out.write("| workload | platform | mode | latency (ms) | energy (uJ) | accuracy | cycles | instructions | exact |\n")
    out.write("|---|---|---|---:|---:|---:|---:|---:|---|\n")
    for r in recs:
        exact = "by repetition" if r.extrapolated else "simulated"
        out.write(f"| {r.workload} | {r.platform} | {r.mode} | {_fmt(r.latency_ms)} | {_fmt(r.energy_uj)} | "
                  f"{_fmt(r.accuracy, 4)} | {_fmt(r.cycles)} | {_fmt(r.instructions)} | {exact} |\n")
    for r in recs:
        if r.layers:
            out.write(f"\n## Layers: {r.workload} on {r.platform}\n\n| # | op | cycles | instructions | energy (uJ) |\n"
                      "|---:|---|---:|---:|---:|\n")
            for layer in r.layers:
                out.write(f"| {layer.layer} | {layer.op} | {_fmt(layer.cycles)} | {_fmt(layer.instructions)} | "
                          f"{_fmt(layer.energy_uj)} |\n")
    models = sorted({(r.workload, r.model_file or "", r.weights or "dense", bool(r.winograd), r.model_sha256 or "")
                     for r in recs})
    if any(not f.startswith("models/") or w != "dense" or wg for _, f, w, wg, _ in models):
        out.write("\n## Models\n\n")
        for workload, f, w, wg, sha in models:
            out.write(f"- {workload}: {f} (sha256 {sha[:16]}), weights {w}{', winograd' if wg else ''}\n")
    if any(r.overrides for r in recs):
        out.write("\n## Overrides\n\n")
        for r in recs:
            if r.overrides:
                out.write(f"- {r.workload}/{r.platform}: {r.overrides}\n")
    return out.getvalue()


def write_plots(out_dir: Path, records: Iterable[WorkloadResult | dict[str, Any]]) -> list[Path]:
    records = _records(records)
    written = []
    perf = [r for r in records if r.latency_ms is not None and r.mode in ("performance", "energy")]
    if perf:
        def draw_bars(plt, key: str, label: str):
            rows = [r for r in perf if getattr(r, key) is not None]
            fig, ax = plt.subplots(figsize=(7, 3.5))
            names = [f"{r.workload}\n{r.platform}" for r in rows]
            ax.bar(range(len(rows)), [getattr(r, key) for r in rows], color="#4472c4")
            ax.set_xticks(range(len(rows)), names, fontsize=8)
            ax.set_ylabel(label)
            ax.set_yscale("log")
            ax.grid(axis="y", alpha=0.3)
            return fig

        for key, label, name in (("latency_ms", "latency per inference (ms)", "latency.png"),
                                 ("energy_uj", "energy per inference (uJ)", "energy.png")):
            if any(getattr(r, key) is not None for r in perf):
                write_png_atomic(out_dir / name, lambda plt, k=key, lab=label: draw_bars(plt, k, lab), dpi=110)
                written.append(out_dir / name)
    for r in records:
        if not r.layers or r.mode != "performance":
            continue

        def draw_layers(plt, rec=r):
            fig, ax = plt.subplots(figsize=(7, 3.5))
            layers = rec.layers
            ax.bar(range(len(layers)), [x.cycles for x in layers], color="#ed7d31")
            ax.set_xticks(range(len(layers)), [f"{x.layer}\n{x.op[:6]}" for x in layers], fontsize=6)
            ax.set_ylabel("cycles per inference")
            ax.set_title(f"{rec.workload} on {rec.platform}: cycles per layer")
            return fig

        name = f"layers_{r.workload}_{r.platform}.png"
        write_png_atomic(out_dir / name, draw_layers, dpi=110)
        written.append(out_dir / name)
    return written


def write_result_set(out_dir: str | Path, result_set: ResultSet | dict[str, Any], plots: bool = True) -> list[Path]:
    """results.json, results.csv, report.md and plots; each file replaced atomically. A NaN or
    Infinity in the set is refused (VbenchError naming the key) before any file is written."""
    out_dir = Path(out_dir)
    result_set = _result_set(result_set)
    recs = result_set.records
    data = result_set.to_dict()  # first: a NaN or Infinity is refused before any file is written
    write_csv_atomic(out_dir / "results.csv", [r.to_row() for r in recs])
    write_text_atomic(out_dir / "report.md", markdown_report(result_set))
    files = [out_dir / "results.csv", out_dir / "report.md"]
    if plots:
        files += write_plots(out_dir, recs)
    write_json_atomic(out_dir / "results.json", data)  # last: its presence marks a complete set
    return [out_dir / "results.json"] + files
