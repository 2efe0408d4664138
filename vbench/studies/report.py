"""A study result as files: study.md, study.csv (totals), layers.csv, comparisons.csv, PNG plots and
study.json; and the summary `vbench study` prints."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from vbench.report_io import write_csv_atomic, write_json_atomic, write_png_atomic, write_text_atomic
from vbench.studies.base import METRICS
from vbench.workloads import WORKLOADS


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _flat(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "layers"}


RANDOM_CAVEAT = {w: " (noise, unlike the training data: a sensitivity figure; the dataset figures, where "
                    "present, are the accuracy)" for w in (x.id for x in WORKLOADS if x.classifier)}


def markdown(result: dict[str, Any]) -> str:
    out = io.StringIO()
    labels = [c["label"] for c in result["configs"]]
    a, others = labels[0], labels[1:]
    out.write(f"# vbench study {result['study']}: {result['title']}\n\n{result['question']}\n\n")
    out.write(f"Baseline **{a}**, compared with " + ", ".join(f"**{x}**" for x in others) + f"; workloads {', '.join(result['workloads'])}; boards "
              f"{', '.join(result['platforms'])}; one inference of a seeded random input (seed {result['seed']}) "
              "per run, model_check firmware, per-layer profile from the runtime's layer markers.\n\n")
    for note in result["notes"]:
        out.write(f"- {note}\n")
    out.write("- flash = text + data of the linked image; RAM = arena + static data (including the check "
              "firmware's input/output buffers) + stack high-water; energy from the board's power model; "
              "loads/MAC = load instructions of the whole run per multiply-accumulate\n")
    out.write("\n## Totals\n\n| workload | platform | config | kernels | cycles | latency (ms) | energy (uJ) | "
              "flash (B) | RAM (B) | MACs/cycle | loads/MAC | accuracy | output vs TFLite |\n"
              "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    for r in result["records"]:
        acc = f"{r['accuracy'] * 100:.1f}%" if r.get("accuracy") is not None else "-"
        out.write(f"| {r['workload']} | {r['platform']} | {r['config']} | {r['kernels']} | {_fmt(r['cycles'])} | "
                  f"{_fmt(r['latency_ms'], 3)} | {_fmt(r['energy_uj'], 1)} | {_fmt(r['flash_bytes'])} | "
                  f"{_fmt(r['ram_bytes'])} | {_fmt(r.get('macs_per_cycle'), 3)} | {_fmt(r.get('loads_per_mac'), 2)} | {acc} | "
                  f"{r.get('output_check') or r.get('error') or '-'} |\n")
    out.write(f"\n## Relative to {a} (config / {a})\n\n| workload | platform | config | speedup ({a}/config cycles) | "
              "cycles | latency | energy | flash | RAM |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
    for c in result["comparisons"]:
        out.write(f"| {c['workload']} | {c['platform']} | {c['b']} | {_fmt(c['speedup'])}x | " + " | ".join(
            f"{_fmt(c[f'{k}_ratio'])}x" for k, _ in METRICS[:3]) + " | " + " | ".join(
            f"{_fmt(c[f'{k}_ratio'])}x" for k, _ in METRICS[3:]) + " |\n")
    acc = result.get("accuracy") or {}
    if acc:
        out.write("\n## Accuracy (host builds of the same kernels, bit-exact with the boards)\n\n")
        for w, entry in acc.items():
            same = entry.get("same_model_as", {})
            ds = entry.get("dataset")
            if ds and ds.get(a) is not None:
                parts = [f"{x} {ds[same.get(x, x)]['accuracy'] * 100:.2f}%" for x in labels if same.get(x, x) in ds]
                agree = ds.get("agreement_with_baseline", {})
                out.write(f"- {w}: top-1 accuracy on {ds[a]['files']} files of {ds['folder']}: " + ", ".join(parts)
                          + ("; same class as " + a + ": " + ", ".join(f"{x} {v * 100:.1f}%" for x, v in agree.items())
                             if agree else "") + "\n")
            ag = entry.get("agreement")
            if ag:
                for x, m in ag["configs"].items():
                    extra = (f"top-1 agreement {m['top1_agreement'] * 100:.0f}%" if "top1_agreement" in m else
                             f"anomaly score differs by {m['score_rel_diff_mean'] * 100:.2f}% on average "
                             f"(max {m['score_rel_diff_max'] * 100:.2f}%)")
                    out.write(f"- {w}: {x} vs {ag['reference']} on {ag['inputs']} uniform random inputs"
                              f"{RANDOM_CAVEAT.get(w, '')}: {extra}; output difference "
                              f"{m['mean_output_error'] * 100:.2f}% of the {ag['reference']} output range on average "
                              f"(max {m['max_output_error'] * 100:.2f}%)\n")
            shared = sorted({x for x, y in same.items() if x != y})
            if shared:
                out.write(f"- {w}: " + ", ".join(f"{x} computes what {same[x]} computes" for x in shared)
                          + " (same model, another weight encoding)\n")
    out.write(f"\nfloat32 outputs are checked against TFLite's float reference kernels: max error <= "
              f"{result['float_rtol']:g} x output range and the same top-1 class; int8 outputs bit-exact.\n")
    for w in result["workloads"]:
        for p in result["platforms"]:
            rows = [r for r in result["layers"] if r["workload"] == w and r["platform"] == p]
            if not rows:
                continue
            head = (f"| # {a} | op | output | MACs | " + " | ".join(f"cycles {x}" for x in labels) + " | "
                    + " | ".join(f"{x}/{a}" for x in others) + " | " + " | ".join(f"energy {x} (uJ)" for x in labels)
                    + " | kernels |")
            out.write(f"\n## Layers: {w} on {p}\n\n{head}\n|---:|---|---|---:|" + "---:|" * (2 * len(labels) + len(others))
                      + "---|\n")
            for r in rows:
                kinds = [r.get(f"kernel_{x}") or "-" for x in labels]
                kinds_text = kinds[0] if len(set(kinds)) == 1 else "/".join(kinds)
                out.write(f"| {_fmt(r[f'layer_{a}'])} | {r['op']} | {r['output_shape']} | {_fmt(r['macs'])} | "
                          + " | ".join(_fmt(r.get(f"cycles_{x}")) for x in labels) + " | "
                          + " | ".join(_fmt(r.get(f"cycles_ratio_{x}")) for x in others) + " | "
                          + " | ".join(_fmt(r.get(f"energy_uj_{x}"), 2) for x in labels) + f" | {kinds_text} |\n")
    errors = [f"{r['workload']}/{r['config']} on {r['platform']}: {r['error']}" for r in result["records"] if r.get("error")]
    if errors:
        out.write("\n## Errors\n\n" + "".join(f"- {e}\n" for e in errors))
    out.write(f"\nvbench {result['vbench_version']}, wall time {result['wall_s']} s\n")
    return out.getvalue()


def summary_text(result: dict[str, Any]) -> str:
    """The table printed at the end of `vbench study`."""
    head = ["workload", "platform", "config", "cycles", "latency ms", "energy uJ", "flash B", "RAM B", "output"]
    rows = [[r["workload"], r["platform"], r["config"], _fmt(r["cycles"]), _fmt(r["latency_ms"], 3),
             _fmt(r["energy_uj"], 1), _fmt(r["flash_bytes"]), _fmt(r["ram_bytes"]),
             r.get("output_check") or r.get("error") or "-"] for r in result["records"]]
    widths = [max(len(h), *(len(x[i]) for x in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.rjust(w) if 3 <= i <= 7 else c.ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    text = [line(head), line(["-" * w for w in widths])] + [line(x) for x in rows]
    text.append("")
    for c in result["comparisons"]:
        text.append(f"{c['workload']}/{c['platform']}: {c['b']} vs {c['a']}: speedup {_fmt(c['speedup'])}x, energy "
                    f"{_fmt(c['energy_uj_ratio'])}x, flash {_fmt(c['flash_bytes_ratio'])}x, RAM {_fmt(c['ram_bytes_ratio'])}x")
    return "\n".join(text)


COLORS = ("#4472c4", "#ed7d31", "#a5a5a5", "#ffc000", "#5b9bd5", "#70ad47")


def write_plots(out_dir: Path, result: dict[str, Any]) -> list[Path]:
    labels = [c["label"] for c in result["configs"]]
    recs = result["records"]
    groups = [(w, p) for w in result["workloads"] for p in result["platforms"]]
    index = {(r["workload"], r["platform"], r["config"]): r for r in recs}
    written = []
    panels = list(METRICS)
    if any(r.get("accuracy") is not None for r in recs):
        panels.append(("accuracy", "accuracy (top-1)"))

    def draw_totals(plt):
        cols = 3
        rows = (len(panels) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.4 * rows), squeeze=False)
        x = np.arange(len(groups))
        for ax, (key, title) in zip(axes.flat, panels):
            width = 0.8 / len(labels)
            for k, label in enumerate(labels):
                vals = [index.get((w, p, label), {}).get(key) for w, p in groups]
                ax.bar(x + (k - (len(labels) - 1) / 2) * width, [v if v is not None else 0 for v in vals], width,
                       label=label, color=COLORS[k % len(COLORS)])
            ax.set_title(title, fontsize=10)
            ax.set_xticks(x, [f"{w}\n{p.split('-')[0]}" for w, p in groups], fontsize=7)
            positive = [r[key] for r in recs if isinstance(r.get(key), (int, float)) and r[key] > 0]
            if positive and max(positive) / min(positive) > 30:   # workloads differ by orders of magnitude
                ax.set_yscale("log")
                ax.set_ylim(bottom=min(positive) / 3)
                ax.set_title(title + " (log)", fontsize=10)
            ax.grid(axis="y", alpha=0.3)
        for ax in list(axes.flat)[len(panels):]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"vbench study {result['study']}: {result['title']}", fontsize=11)
        fig.tight_layout()
        return fig

    write_png_atomic(out_dir / "totals.png", draw_totals, dpi=100)
    written.append(out_dir / "totals.png")
    a = labels[0]
    comps = result["comparisons"]
    if comps:
        def draw_ratios(plt):
            fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(comps) + 2), 3.6))
            x = np.arange(len(comps))
            keys = [k for k, _ in METRICS if k != "latency_ms"]
            width = 0.8 / len(keys)
            for k, key in enumerate(keys):
                ax.bar(x + (k - (len(keys) - 1) / 2) * width, [c[f"{key}_ratio"] or 0 for c in comps], width,
                       label=dict(METRICS)[key].split(" (")[0])
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_xticks(x, [f"{c['workload']}\n{c['platform'].split('-')[0]}\n{c['b']}" for c in comps], fontsize=7)
            ax.set_ylabel(f"config / {a}")
            ax.set_title(f"vbench study {result['study']}: relative to {a}", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            return fig

        write_png_atomic(out_dir / "ratios.png", draw_ratios, dpi=100)
        written.append(out_dir / "ratios.png")
    for w, p in groups:
        rows = [r for r in result["layers"] if r["workload"] == w and r["platform"] == p]
        if not rows:
            continue

        def draw_layers(plt, rows=rows, w=w, p=p):
            fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(rows) + 2), 3.6))
            x = np.arange(len(rows))
            width = 0.8 / len(labels)
            for k, label in enumerate(labels):
                ax.bar(x + (k - (len(labels) - 1) / 2) * width, [r.get(f"cycles_{label}") or 0 for r in rows], width,
                       label=label, color=COLORS[k % len(COLORS)])
            names = [f"{r[f'layer_{a}'] if r[f'layer_{a}'] is not None else ''} "
                     f"{r['op'].replace('DEPTHWISE_CONV_2D', 'DW').replace('FULLY_CONNECTED', 'FC')[:8]}" for r in rows]
            ax.set_xticks(x, names, fontsize=6, rotation=90)
            ax.set_ylabel("cycles per inference")
            ax.set_yscale("log")
            ax.set_title(f"{w} on {p}: cycles per layer ({' vs '.join(labels)})", fontsize=10)
            ax.legend(fontsize=8)
            ax.grid(axis="y", alpha=0.3)
            return fig

        name = f"layers_{w}_{p}.png"
        write_png_atomic(out_dir / name, draw_layers, dpi=100)
        written.append(out_dir / name)
    return written


def write_study(out_dir: str | Path, result: dict[str, Any], plots: bool = True) -> list[Path]:
    """study.md, study.csv (totals), layers.csv, comparisons.csv, plots, then study.json (written last:
    its presence marks a complete set); every file replaced atomically."""
    out_dir = Path(out_dir)
    write_csv_atomic(out_dir / "study.csv", [_flat(r) for r in result["records"]])
    write_csv_atomic(out_dir / "layers.csv", result["layers"])
    write_csv_atomic(out_dir / "comparisons.csv", result["comparisons"])
    write_text_atomic(out_dir / "study.md", markdown(result))
    files = [out_dir / "study.md", out_dir / "study.csv", out_dir / "layers.csv", out_dir / "comparisons.csv"]
    if plots:
        files += write_plots(out_dir, result)
    write_json_atomic(out_dir / "study.json", result)
    return [out_dir / "study.json"] + files
