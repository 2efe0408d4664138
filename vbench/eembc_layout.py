"""Results in the folders and lines of the MLCommons/EEMBC runner, so a virtual run sits next to a
submission and is read by the same scripts (docs/sources.md §Harness 3.4-3.7; the research note
harness_protocol.md quotes the runner's format strings).

    <out>/<model id>/performance/results.txt   median throughput (inf./sec.)
    <out>/<model id>/energy/results.txt        per-window energy, median energy per inference (uJ/inf.)
    <out>/<model id>/accuracy/results.txt      Top 1% (classifiers) and AUC
    <out>/<model id>/<mode>/log.txt            what the runner prints as it goes (per window / per run),
                                               then the results.txt lines

with the model ids the runner uses (kws01, vww01, ic01, ad01). A run over several boards puts each
board's tree under its name: <out>/<platform>/<model id>/<mode>/, as a submission puts each system
under its own folder.

results.txt holds what the runner writes there (its `print_tee` lines): performance, the median
throughput between dashed lines (an `ERROR 2` line instead when a window is shorter than 10 s);
energy, "Power Edition Output", each window's elapsed time, inferences, power, total energy and
energy per inference, and the median; accuracy, "Top 1% = " (percent, classifiers only: the
runner's AD figure is a precision/recall score vbench does not compute) and "AUC = ". The runner
stamps its lines with the host's clock (`%m%d.%H%M%S`); vbench stamps them with the run's
`created_unix` (UTC), so the files follow from results.json alone. A FAILED job gets its reason
as an `ERROR` line and no figure, so a parser finds no result rather than a wrong one.
"""

from __future__ import annotations

import time
from pathlib import Path

from vbench.report_io import write_text_atomic
from vbench.results import ResultSet, WorkloadResult
from vbench.workloads import by_id

DASHES = "-" * 57
MIN_WINDOW_S = 10.0  # the runner's per-window minimum (EEMBC: at least 10 s)
RUNS = 5             # the runner's number of windows in performance and energy mode


def model_id(record: WorkloadResult) -> str:
    """The runner's name of the record's model (kws01, vww01, ic01, ad01)."""
    return record.model_id or by_id(record.workload).model_id


def layout_dir(out_dir: str | Path, record: WorkloadResult, platforms: set[str]) -> Path:
    """<out>/<model id>/<mode>, or <out>/<platform>/<model id>/<mode> when the run has several boards."""
    base = Path(out_dir) / record.platform if len(platforms) > 1 else Path(out_dir)
    return base / model_id(record) / record.mode


def _stamp(created_unix: int | None) -> str:
    return time.strftime("%m%d.%H%M%S", time.gmtime(created_unix or 0))


def _performance(r: WorkloadResult, ts: str) -> tuple[list[str], list[str]]:
    tag = f"{ts} ulp-mlperf: "
    log: list[str] = []
    for i, w in enumerate(r.windows or [], 1):
        if w.seconds > MIN_WINDOW_S:
            log.append(f"{tag}Runtime requirements have been met.")
        log += [f"{tag}Performance results for window {i}:",
                f"{tag}  # Inferences : {w.inferences:>13}",
                f"{tag}  Runtime      : {w.seconds:>10.3f} sec.",
                f"{tag}  Throughput   : {w.throughput_ips:>10.3f} inf./sec."]
    if r.runs != RUNS:
        res = [f"{tag}ERROR 1 - loop_count was not exactly {RUNS}."]
    elif not r.valid:
        res = [f"{tag}ERROR 2 - loop exited before {MIN_WINDOW_S:g} seconds elapsed."]
    else:
        res = [f"{tag}{DASHES}", f"{tag}Median throughput is {r.throughput_ips:>10.3f} inf./sec.", f"{tag}{DASHES}"]
    return log, res


def _energy(r: WorkloadResult, ts: str) -> tuple[list[str], list[str]]:
    res = ["Power Edition Output"]
    windows = r.windows or []
    for i, w in enumerate(windows):
        if w.energy_uj is None:
            continue
        short = "" if w.seconds >= MIN_WINDOW_S else "  <<<< below minimum duration"
        res += [f"Energy data for trial {i}",
                f"  Elapsed time  : {w.seconds}{short}",
                f"  Inferences    : {w.inferences}",
                f"  Power         : {w.energy_uj / w.seconds * 1e-3:5.4f} mW.",
                f"  Total Energy  : {w.energy_uj:.3f} uJ",
                f"  Energy/Inf    : {w.energy_uj / w.inferences:.3f} uJ/inf"]
    res += [DASHES, f"Median energy cost is {r.energy_uj:5.4f} uJ/inf.", DASHES]
    if any(w.seconds < MIN_WINDOW_S for w in windows):
        res.append(f"ERROR: Not valid for submission.  All inference times must be at least {MIN_WINDOW_S:g} seconds.")
    if len(windows) != RUNS:
        res.append(f"ERROR: Not valid for submission.  Energy mode must include exactly {RUNS} measurements.")
    return [], res


def _accuracy(r: WorkloadResult, ts: str) -> tuple[list[str], list[str]]:
    tag = f"{ts} ulp-mlperf: "
    log = [f"{tag}{r.files} files scored" + ("" if r.complete else " (a prefix of y_labels.csv: --accuracy-limit)")]
    res = []
    if r.top1 is not None:
        res.append(f"{tag}Top 1% = {r.top1 * 100:2.1f}")
    if r.auc is not None:
        res.append(f"{tag}AUC = {r.auc:.3f}")
    return log, res


WRITERS = {"performance": _performance, "energy": _energy, "accuracy": _accuracy}


def runner_lines(record: WorkloadResult, created_unix: int | None = None) -> tuple[list[str], list[str]]:
    """(log lines, results.txt lines) of one record, as the runner prints them."""
    ts = _stamp(created_unix)
    if record.failing:
        return [], [f"{ts} ulp-mlperf: ERROR - vbench job failed: {record.reason}"]
    figure = {"performance": record.throughput_ips, "energy": record.energy_uj}.get(record.mode, 0)
    if figure is None:  # a record read from a file that measured nothing: no figure to print
        return [], [f"{ts} ulp-mlperf: ERROR - the record has no {record.mode} figure"]
    return WRITERS[record.mode](record, ts)


def _header(r: WorkloadResult, ts: str) -> list[str]:
    board = f"the {r.platform} board on {r.extra['port']}" if r.extra.get("port") else f"the virtual {r.platform}"
    what = (f"vbench {r.vbench_version}: {model_id(r)} on {board}, {r.mode} mode, kernels "
            f"{r.kernels or '-'}, model {r.model_file or '-'} (sha256 {(r.model_sha256 or '-')[:16]}), "
            f"firmware sha256 {(r.firmware_sha256 or '-')[:16]}")
    lines = [f"{ts} {what}"]
    if r.overrides:
        lines.append(f"{ts} overrides: " + ", ".join(f"{k}={v}" for k, v in r.overrides.items()))
    if r.extrapolated:
        lines.append(f"{ts} windows completed by repetition once two inferences cost the same cycles "
                     f"({'exact' if r.exact else 'NOT exact'}); inputs {r.inputs}")
    return lines


def write_eembc_layout(out_dir: str | Path, result_set: ResultSet) -> list[Path]:
    """Write results.txt and log.txt of every record (each file replaced atomically); returns them."""
    created = result_set.metadata.get("created_unix")
    ts = _stamp(created)
    platforms = {r.platform for r in result_set.records}
    written = []
    for r in result_set.records:
        folder = layout_dir(out_dir, r, platforms)
        log, res = runner_lines(r, created)
        write_text_atomic(folder / "results.txt", "".join(line + "\n" for line in res))
        write_text_atomic(folder / "log.txt", "".join(line + "\n" for line in _header(r, ts) + log + res))
        written += [folder / "results.txt", folder / "log.txt"]
    return written


__all__ = ["layout_dir", "model_id", "runner_lines", "write_eembc_layout"]
