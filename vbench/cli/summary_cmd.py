"""`vbench summary FILE...`: Markdown for a CI job summary (GitHub's $GITHUB_STEP_SUMMARY).

Each FILE is a result set (results.json or the folder holding it, from `vbench run` or `vbench
measure`) or the output of `vbench compare --json`; the kind is read from the JSON itself. A result
set becomes one table with the layers and busiest functions folded under it; a comparison becomes
the gate's verdict, the regressions (naming the layers), the reasons it could not compare, and all
deltas folded. A file that is neither is refused (exit 2) naming it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vbench.errors import VbenchError
from vbench.results import ResultSet, read_results_json

NAME = "summary"
HELP = "Markdown of result sets and `vbench compare --json` verdicts, for a CI job summary"


def add_arguments(p) -> None:
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help="results.json (or its folder) or a `vbench compare --json` output")
    p.add_argument("--title", default=None, help="a heading above everything")


def _table(head: list[str], rows: list[list[Any]], text_columns: int = 1) -> str:
    """A GitHub Markdown table: the first `text_columns` columns left-aligned, the numbers right."""
    from tabulate import tabulate

    align = ["left"] * text_columns + ["right"] * (len(head) - text_columns)
    return tabulate(rows, headers=head, tablefmt="pipe", colalign=align, disable_numparse=True)


def _num(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) else f"{v:,.{digits}f}"


def _folded(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>\n"


def result_set_markdown(rs: ResultSet, source: str) -> str:
    rows = [[r.workload, r.platform, r.mode, "FAILED: " + (r.reason or "") if r.failing else _num(r.latency_ms),
             _num(r.energy_uj), _num(r.top1 if r.top1 is not None else r.auc if r.auc is not None else r.accuracy),
             _num(r.cycles), _num(r.instructions)] for r in rs]
    out = [f"### vbench results ({source})\n",
           _table(["workload", "platform", "mode", "latency (ms)", "energy (uJ)", "accuracy", "cycles",
                   "instructions"], rows, text_columns=3) + "\n"]
    for r in rs:
        name = f"{r.workload} on {r.platform} ({r.mode})"
        if r.layers:
            out.append(_folded(f"layers: {name}", _table(
                ["#", "op", "cycles", "instructions", "energy (uJ)"],
                [[x.layer, x.op, _num(x.cycles), _num(x.instructions), _num(x.energy_uj)] for x in r.layers],
                text_columns=2)))
        functions = r.extra.get("functions")
        if isinstance(functions, list) and functions:
            out.append(_folded(f"busiest functions: {name}", _table(
                ["function", "cycles", "instructions", "energy (uJ)"],
                [[f"`{f.get('name')}`", _num(f.get("cycles")), _num(f.get("instructions")), _num(f.get("energy_uj"))]
                 for f in functions if isinstance(f, dict)])))
    return "\n".join(out)


def _delta_rows(deltas: list[dict[str, Any]]) -> list[list[Any]]:
    def pct(d):
        return "from 0" if d.get("pct") is None else f"{d['pct']:+.2f}%"

    def value(d, key):  # cycles are whole numbers (JSON carries them as floats)
        v = d.get(key)
        return _num(int(v) if d.get("metric") == "cycles" and isinstance(v, float) and v.is_integer() else v)

    return [[f"{d.get('workload')}/{d.get('platform')}", d.get("mode"), d.get("metric"), d.get("layer") or "(total)",
             value(d, "base"), value(d, "new"), pct(d)] for d in deltas]


def comparison_markdown(c: dict[str, Any], source: str) -> str:
    code = c.get("exit_code")
    verdict = {0: "no regression above the thresholds", 1: "REGRESSION",
               2: "the runs cannot be compared (the gate fails closed)"}.get(code, f"exit {code}")
    head = ["workload/platform", "mode", "metric", "layer", "base", "new", "change"]
    out = [f"### vbench regression gate ({source}): {verdict}\n"]
    if c.get("regressions"):
        out.append(_table(head, _delta_rows(c["regressions"]), text_columns=4) + "\n")
    if c.get("problems"):
        out.append("Cannot compare:\n\n" + "\n".join(f"- {p}" for p in c["problems"]) + "\n")
    if c.get("allowed_differences"):
        out.append("Declared expected:\n\n" + "\n".join(f"- {a}" for a in c["allowed_differences"]) + "\n")
    if c.get("deltas"):
        out.append(_folded(f"all {len(c['deltas'])} deltas", _table(head, _delta_rows(c["deltas"]), text_columns=4)))
    return "\n".join(out)


def markdown(path: Path) -> str:
    _file, data = read_results_json(path)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return result_set_markdown(ResultSet.from_dict(data, path), str(path))
    if isinstance(data, dict) and "exit_code" in data and isinstance(data.get("regressions"), list):
        return comparison_markdown(data, str(path))
    raise VbenchError(f"{path}: neither a result set (no 'results' list) nor a `vbench compare --json` output")


def run(args) -> int:
    parts = [markdown(p) for p in args.files]  # all read before anything is printed
    if args.title:
        print(f"## {args.title}\n")
    print("\n".join(parts))
    return 0
