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


def _table(head: list[str], rows: list[list[Any]], fmt: str, align: str) -> str:
    """A table by tabulate: `fmt` "simple" (terminal) or "pipe" (Markdown); `align` one letter
    per column, l or r."""
    from tabulate import tabulate

    return tabulate(rows, headers=head, tablefmt=fmt, colalign=["left" if a == "l" else "right" for a in align],
                    disable_numparse=True)


RECORD_HEAD = ["workload", "platform", "mode", "latency (ms)", "energy (uJ)", "top-1", "AUC", "cycles", "instructions"]


def _record_cells(r: WorkloadResult) -> list[Any]:
    return [r.workload, r.platform, r.mode, _fmt(r.latency_ms), _fmt(r.energy_uj), _fmt(r.top1, 4),
            _fmt(r.auc, 4), _fmt(r.cycles), _fmt(r.instructions)]


def summary_table(records: Iterable[WorkloadResult | dict[str, Any]]) -> str:
    """The readable table printed at the end of a run (top-1 and AUC in their own columns)."""
    recs = _records(records)
    if any(r.failing for r in recs):  # a status column only when there is something to say
        return _table(RECORD_HEAD + ["status"], [_record_cells(r) + ["FAILED" if r.failing else "ok"] for r in recs],
                      "simple", "lllrrrrrrl")
    return _table(RECORD_HEAD, [_record_cells(r) for r in recs], "simple", "lllrrrrrr")


def markdown_report(result_set: ResultSet | dict[str, Any]) -> str:
    result_set = _result_set(result_set)
    recs = result_set.records
    out = io.StringIO()
    out.write(f"# vbench results\n\nvbench {result_set.vbench_version}, schema {result_set.schema_version}\n\n")
    rows = [_record_cells(r) + ["FAILED" if r.failing else "by repetition" if r.extrapolated else "simulated"]
            for r in recs]
    out.write(_table(RECORD_HEAD + ["timing"], rows, "pipe", "lllrrrrrrl") + "\n")
    for r in recs:
        if r.layers:
            out.write(f"\n## Layers: {r.workload} on {r.platform}\n\n")
            out.write(_table(["#", "op", "cycles", "instructions", "energy (uJ)"],
                             [[x.layer, x.op, _fmt(x.cycles), _fmt(x.instructions), _fmt(x.energy_uj)]
                              for x in r.layers], "pipe", "rlrrr") + "\n")
    models = sorted({(r.workload, r.model_file, r.weights or "dense", bool(r.winograd), r.model_sha256 or "")
                     for r in recs if r.model_file})  # firmware run by `vbench measure` has no model
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
    # One bar per record of the mode the figure belongs to: latency from the performance runs,
    # energy from the energy runs (each mode runs its own firmware image). Linear axes from 0, so a
    # bar's height is its value and a 0.04 % difference looks like one.
    for key, mode, label, name in (("latency_ms", "performance", "latency per inference (ms)", "latency.png"),
                                   ("energy_uj", "energy", "energy per inference (uJ)", "energy.png")):
        rows = [r for r in records if r.mode == mode and getattr(r, key) is not None and not r.failing]
        if not rows:
            continue

        def draw_bars(plt, rows=rows, key=key, mode=mode, label=label):
            fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(rows) + 2), 3.5))
            values = [getattr(r, key) for r in rows]
            bars = ax.bar(range(len(rows)), values, color="#4472c4" if mode == "performance" else "#70ad47")
            ax.bar_label(bars, [f"{v:,.3f}" for v in values], fontsize=7)
            ax.set_xticks(range(len(rows)), [f"{r.workload}\n{r.platform}" for r in rows], fontsize=8)
            ax.set_ylabel(f"{label}, {mode} mode")
            ax.set_title(f"{mode} mode: {label}", fontsize=10)
            ax.set_ylim(0, max(values) * 1.15 or 1)
            ax.grid(axis="y", alpha=0.3)
            return fig

        write_png_atomic(out_dir / name, draw_bars, dpi=110)
        written.append(out_dir / name)
    for r in records:
        if not r.layers or r.mode != "performance":
            continue

        def draw_layers(plt, rec=r):
            fig, ax = plt.subplots(figsize=(7, 3.5))
            layers = rec.layers
            ax.bar(range(len(layers)), [x.cycles for x in layers], color="#ed7d31")
            ax.set_xticks(range(len(layers)), [f"{x.layer}\n{x.op[:6]}" for x in layers], fontsize=6)
            ax.set_ylabel("cycles per inference, performance mode")
            ax.set_title(f"{rec.workload} on {rec.platform}: cycles per layer (performance mode)")
            return fig

        name = f"layers_{r.workload}_{r.platform}.png"
        write_png_atomic(out_dir / name, draw_layers, dpi=110)
        written.append(out_dir / name)
    return written


def write_result_set(out_dir: str | Path, result_set: ResultSet | dict[str, Any], plots: bool = True,
                     eembc: bool = True) -> list[Path]:
    """results.json, results.csv, report.md, plots and (eembc) the runner's layout
    (vbench/eembc_layout.py); each file replaced atomically. A NaN or Infinity in the set is
    refused (VbenchError naming the key) before any file is written."""
    from vbench.eembc_layout import write_eembc_layout

    out_dir = Path(out_dir)
    result_set = _result_set(result_set)
    recs = result_set.records
    data = result_set.to_dict()  # first: a NaN or Infinity is refused before any file is written
    write_csv_atomic(out_dir / "results.csv", result_set.csv_rows())
    write_text_atomic(out_dir / "report.md", markdown_report(result_set))
    files = [out_dir / "results.csv", out_dir / "report.md"]
    if plots:
        files += write_plots(out_dir, recs)
    if eembc:
        files += write_eembc_layout(out_dir, result_set)
    write_json_atomic(out_dir / "results.json", data)  # last: its presence marks a complete set
    return [out_dir / "results.json"] + files
