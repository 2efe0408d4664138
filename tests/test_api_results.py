"""The Python API and the result files (issue 16 items 3 and 4): the README's example runs and gives a
DataFrame with the contract columns; `vbench run --json`; the EEMBC runner's layout, read back with a
parser written from the runner's documented line formats (harness_protocol.md §3.4-3.6 and the
submission checker's patterns); flat CSV; file modes under the umask; linear plots labelled with
the mode; progress on stderr only where it belongs; exec_firmware and compare as the commands do."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vbench
from vbench.eembc_layout import write_eembc_layout
from vbench.errors import VbenchError
from vbench.progress import Progress
from vbench.results import CSV_LEAD, RECORD_KEYS, ResultSet, WindowResult

from asm import assemble_arm

ROOT = Path(__file__).resolve().parent.parent
BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"
DATASETS = Path(os.environ.get("VBENCH_DATASETS", "/work/shared/datasets"))


def vbench_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True, **kw)


# ------------------------------------------------------------------ the runner's format, parsed


STAMP = r"\d{4}\.\d{6} "   # the runner's `%m%d.%H%M%S ` before "ulp-mlperf:"


def parse_results_txt(path: Path) -> dict[str, float]:
    """The figures a submission checker reads from results.txt: its patterns, as it applies them
    (re.match for throughput, top-1 and AUC; re.search for energy)."""
    found = {}
    for line in path.read_text().splitlines():
        if m := re.match(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*", line):
            found["throughput"] = float(m.group(1))
        if m := re.search(r"Median energy cost is ([\d\.]+) uJ/inf", line):
            found["energy"] = float(m.group(1))
        if m := re.match(r".* Top[- ]1%?\s?[:=] ([\d\.]+).*", line):
            found["top1_percent"] = float(m.group(1))
        if m := re.match(r".* AUC\s?[:=] ([\d\.]+).*", line):
            found["auc"] = float(m.group(1))
    return found


def parse_windows(text: str) -> list[dict[str, float]]:
    """The runner's per-window performance blocks (script.py `_print_performance_results`)."""
    windows = []
    for line in text.splitlines():
        if m := re.fullmatch(STAMP + r"ulp-mlperf: Performance results for window (\d+):", line):
            assert int(m.group(1)) == len(windows) + 1
            windows.append({})
        elif m := re.fullmatch(STAMP + r"ulp-mlperf:   # Inferences : +(\d+)", line):
            windows[-1]["inferences"] = int(m.group(1))
        elif m := re.fullmatch(STAMP + r"ulp-mlperf:   Runtime      : +([\d.]+) sec\.", line):
            windows[-1]["seconds"] = float(m.group(1))
        elif m := re.fullmatch(STAMP + r"ulp-mlperf:   Throughput   : +([\d.]+) inf\./sec\.", line):
            windows[-1]["throughput"] = float(m.group(1))
    return windows


def parse_energy_trials(text: str) -> list[dict[str, float]]:
    """The runner's per-trial energy blocks (main.py `print_energy_results`)."""
    trials = []
    for line in text.splitlines():
        if m := re.fullmatch(r"Energy data for trial (\d+)", line):
            assert int(m.group(1)) == len(trials)
            trials.append({})
        elif m := re.fullmatch(r"  Inferences    : (\d+)", line):
            trials[-1]["inferences"] = int(m.group(1))
        elif m := re.fullmatch(r"  Total Energy  : ([\d.]+) uJ", line):
            trials[-1]["energy"] = float(m.group(1))
        elif m := re.fullmatch(r"  Energy/Inf    : ([\d.]+) uJ/inf", line):
            trials[-1]["per_inference"] = float(m.group(1))
    return trials


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """The smallest real run (AD, performance and energy) through `vbench run --json`."""
    out = tmp_path_factory.mktemp("cli") / "out"
    r = vbench_cli("run", "--workload", "ad", "--mode", "performance,energy", "--jobs", "1", "--out", out, "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    return out, r


# ------------------------------------------------------------------ the README's example


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs_and_gives_the_contract_columns(tmp_path):
    code = readme_example() + ("\nimport json, pandas\nassert isinstance(frame, pandas.DataFrame)\n"
                               "print('COLUMNS=' + json.dumps(list(frame.columns)))\n"
                               "print('ROWS=' + json.dumps(frame[['workload', 'mode']].values.tolist()))\n"
                               "print('EXIT=%d' % gate.exit_code)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = dict(line.split("=", 1) for line in r.stdout.splitlines() if line.split("=", 1)[0] in
               ("COLUMNS", "ROWS", "EXIT"))
    columns = json.loads(out["COLUMNS"])
    assert columns[:len(CSV_LEAD)] == list(CSV_LEAD)
    assert set(RECORD_KEYS) - {"accuracy"} <= set(columns) and {"top1", "auc"} <= set(columns)
    assert [f"run_{i}_latency_ms" for i in range(1, 6)] == [c for c in columns if c.startswith("run_")]
    assert json.loads(out["ROWS"]) == [["ad", "performance"]] and out["EXIT"] == "0"
    written = tmp_path / "results-ad"
    assert (written / "results.json").is_file() and (written / "ad01" / "performance" / "results.txt").is_file()
    with open(written / "results.csv", newline="") as f:
        assert next(csv.reader(f)) == columns   # the DataFrame is results.csv


# ------------------------------------------------------------------ vbench run --json and the layout


def test_run_json_prints_results_on_stdout_and_progress_on_stderr(cli_run):
    out, r = cli_run
    assert r.stdout == (out / "results.json").read_text()
    data = json.loads(r.stdout)
    assert [x["mode"] for x in data["results"]] == ["performance", "energy"]
    assert "vbench run: 2 jobs" in r.stderr and "done ad/nucleo-l4r5zi/performance" in r.stderr
    assert "workload" in r.stderr and "latency (ms)" in r.stderr    # the table, on stderr with --json
    assert "\r" not in r.stderr and "it/s" not in r.stderr and "job/s" not in r.stderr  # no bar: not a TTY


def test_eembc_layout_parses_with_the_runners_format(cli_run):
    out, _ = cli_run
    rs = vbench.load(out)
    perf, energy = rs.records
    folder = out / "ad01"
    assert sorted(p.name for p in folder.iterdir()) == ["energy", "performance"]
    assert sorted(p.name for p in (folder / "performance").iterdir()) == ["log.txt", "results.txt"]

    figures = parse_results_txt(folder / "performance" / "results.txt")
    assert figures == {"throughput": pytest.approx(perf.throughput_ips, abs=5e-4)}
    assert 1e3 / figures["throughput"] == pytest.approx(perf.latency_ms, rel=1e-5)   # 5 windows: medians agree
    windows = parse_windows((folder / "performance" / "log.txt").read_text())
    assert len(windows) == 5 and len(perf.windows) == 5
    for parsed, w in zip(windows, perf.windows):
        assert isinstance(w, WindowResult) and parsed["inferences"] == w.inferences
        assert parsed["seconds"] == pytest.approx(w.seconds, abs=5e-4) and parsed["seconds"] >= 10
        assert parsed["throughput"] == pytest.approx(w.inferences / w.seconds, abs=5e-4)
    assert parse_results_txt(folder / "performance" / "log.txt") == figures   # log.txt ends with the results

    figures = parse_results_txt(folder / "energy" / "results.txt")
    assert figures == {"energy": pytest.approx(energy.energy_uj, abs=5e-5)}
    trials = parse_energy_trials((folder / "energy" / "results.txt").read_text())
    assert len(trials) == 5
    for parsed, w in zip(trials, energy.windows):
        assert parsed["inferences"] == w.inferences and parsed["energy"] == pytest.approx(w.energy_uj, abs=5e-4)
        assert parsed["per_inference"] == pytest.approx(w.energy_per_inference_uj, abs=5e-4)
    assert "ERROR" not in (folder / "energy" / "results.txt").read_text()
    # the stamp is the run's, so the layout follows from results.json: rewriting gives the same bytes
    again = out.parent / "again"
    write_eembc_layout(again, rs)
    for mode in ("performance", "energy"):
        for name in ("results.txt", "log.txt"):
            assert (again / "ad01" / mode / name).read_bytes() == (folder / mode / name).read_bytes()


def test_layout_for_several_boards_and_a_failed_job(cli_run, tmp_path):
    out, _ = cli_run
    rs = vbench.load(out)
    other = copy.deepcopy(rs.records[0])
    other.platform = "rv32imaf-mcu"
    failed = copy.deepcopy(rs.records[1])
    failed.platform, failed.failing, failed.reason = "rv32imaf-mcu", True, "the firmware faulted at 0x08001234"
    write_eembc_layout(tmp_path, ResultSet(rs.schema_version, rs.metadata, [rs.records[0], other, failed]))
    for board in ("nucleo-l4r5zi", "rv32imaf-mcu"):
        assert "throughput" in parse_results_txt(tmp_path / board / "ad01" / "performance" / "results.txt")
    text = (tmp_path / "rv32imaf-mcu" / "ad01" / "energy" / "results.txt").read_text()
    assert parse_results_txt(tmp_path / "rv32imaf-mcu" / "ad01" / "energy" / "results.txt") == {}
    assert re.fullmatch(STAMP + r"ulp-mlperf: ERROR - vbench job failed: the firmware faulted at 0x08001234\n", text)


@pytest.mark.skipif(not (DATASETS / "kws01" / "y_labels.csv").exists(), reason="kws01 dataset files absent")
def test_accuracy_layout_and_csv_have_top1_and_auc_apart(tmp_path):
    r = vbench_cli("run", "--workload", "kws", "--mode", "accuracy", "--dataset", DATASETS, "--accuracy-limit", "12",
                   "--no-plots", "--out", tmp_path, "--quiet")
    assert r.returncode == 0, r.stderr[-2000:]
    (rec,) = vbench.load(tmp_path).records
    assert rec.files == 12 and rec.top1 is not None and rec.auc is not None and rec.accuracy == rec.top1
    figures = parse_results_txt(tmp_path / "kws01" / "accuracy" / "results.txt")
    assert figures["top1_percent"] == pytest.approx(rec.top1 * 100, abs=0.05)
    assert figures["auc"] == pytest.approx(rec.auc, abs=5e-4)
    with open(tmp_path / "results.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert "accuracy" not in row and float(row["top1"]) == rec.top1 and float(row["auc"]) == rec.auc
    assert row["quality_target.metric"] == "top1_percent" and row["latency_ms"] == ""
    assert json.loads((tmp_path / "results.json").read_text())["results"][0]["accuracy"] == rec.top1


def test_failed_job_quiet_json(tmp_path):
    (tmp_path / "empty").mkdir()
    r = vbench_cli("run", "--workload", "ad", "--mode", "accuracy", "--dataset", tmp_path / "empty", "--jobs", "1",
                   "--no-plots", "--out", tmp_path / "out", "--json", "--quiet")
    assert r.returncode == 1
    assert r.stderr.startswith("FAILED ad/nucleo-l4r5zi/accuracy:") and r.stderr.count("\n") == 1   # errors only
    (rec,) = json.loads(r.stdout)["results"]
    assert rec["failing"] is True and "y_labels.csv" in rec["reason"]
    assert "ERROR - vbench job failed" in (tmp_path / "out" / "ad01" / "accuracy" / "results.txt").read_text()


# ------------------------------------------------------------------ files: modes, CSV, plots


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_result_files_follow_the_umask(cli_run, tmp_path, umask, mode):
    from vbench.report import write_result_set

    rs = vbench.load(cli_run[0])
    old = os.umask(umask)
    try:
        files = write_result_set(tmp_path / "out", rs, plots=False)
    finally:
        os.umask(old)
    assert len(files) == 3 + 4
    for f in files:
        assert f.stat().st_mode & 0o777 == mode, f
    assert not [p for p in (tmp_path / "out").rglob(".*")]   # no temporary files left


def test_plots_are_linear_and_name_the_mode(cli_run, tmp_path, monkeypatch):
    import vbench.report as report

    drawn = {}

    def capture(path, draw, dpi=110):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = draw(plt)
        ax = fig.axes[0]
        drawn[Path(path).name] = (ax.get_yscale(), ax.get_ylabel(), ax.get_title(), ax.get_ylim()[0],
                                  [p.get_height() for p in ax.patches])
        plt.close(fig)

    monkeypatch.setattr(report, "write_png_atomic", capture)
    rs = vbench.load(cli_run[0])
    report.write_plots(tmp_path, rs.records)
    perf, energy = rs.records
    scale, label, title, bottom, heights = drawn["latency.png"]
    assert scale == "linear" and bottom == 0 and "performance mode" in label and "performance" in title
    assert heights == [pytest.approx(perf.latency_ms)]            # only the performance record
    scale, label, title, bottom, heights = drawn["energy.png"]
    assert scale == "linear" and bottom == 0 and "energy mode" in label and "energy" in title
    assert heights == [pytest.approx(energy.energy_uj)]
    assert drawn["layers_ad_nucleo-l4r5zi.png"][0] == "linear"


# ------------------------------------------------------------------ progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_an_eta_on_a_terminal_only():
    term = FakeTerminal()
    with Progress(4, "vbench run", stream=term, refresh_s=0) as bar:
        bar.note("  done kws/nucleo-l4r5zi/performance")
        bar.advance()
        step = bar.steps()
        for i in range(1, 4):
            step(i, 3, f"tst_{i}.bin")
        bar.advance()
    text = term.getvalue()
    assert "done kws" in text and "vbench run" in text and re.search(r"\d+/4 \[\d\d:\d\d<\d\d:\d\d", text)  # ETA
    assert re.search(r"3/3 \[", text) and "tst_3.bin" in text
    pipe = io.StringIO()   # not a terminal: the log line, no bar
    with Progress(4, "vbench run", stream=pipe) as bar:
        bar.note("line")
        bar.advance()
        bar.steps()(1, 3, "f")
    assert pipe.getvalue() == "line\n"
    quiet = FakeTerminal()
    with Progress(4, "vbench run", stream=quiet, quiet=True) as bar:
        bar.note("line")
        bar.advance()
    assert quiet.getvalue() == ""


# ------------------------------------------------------------------ the API: compare, load, exec, bad input


def test_compare_api_and_cli_agree_on_a_regression(cli_run, tmp_path):
    from vbench.report import write_result_set

    out, _ = cli_run
    base = vbench.load(out)
    slow = copy.deepcopy(base)
    perf = slow.records[0]
    perf.cycles = int(perf.cycles * 1.05)
    perf.layers[1].cycles = int(perf.layers[1].cycles * 1.2)
    gate = vbench.compare(base, slow, threshold=1.0)
    assert isinstance(gate, vbench.Comparison) and gate.exit_code == 1 and not gate.problems
    assert {(d.metric, d.layer) for d in gate.regressions} >= {("cycles", None), ("cycles", f"1 {perf.layers[1].op}")}
    write_result_set(tmp_path / "slow", slow, plots=False, eembc=False)
    r = vbench_cli("compare", out, tmp_path / "slow")
    assert r.returncode == gate.exit_code == 1 and "REGRESSION" in r.stdout
    assert vbench.compare(out, out).exit_code == 0                      # paths work too
    assert vbench.compare(base, slow, threshold=30.0).exit_code == 0
    broken = copy.deepcopy(base)
    broken.records[1].failing, broken.records[1].reason = True, "crashed"
    assert vbench.compare(base, broken).exit_code == 2
    with pytest.raises(VbenchError) as exc:
        vbench.compare(tmp_path / "nowhere", base)
    assert exc.value.exit_code == 2 and "nowhere" in str(exc.value)


def test_exec_firmware_is_vbench_exec(tmp_path):
    prog = assemble_arm(tmp_path, "    movs r0, #7\n    adds r0, r0, #1\n", name="prog")
    res = vbench.exec_firmware(prog, platform=str(BARE), overrides={"core.clock_hz": "48e6"})
    assert isinstance(res, vbench.ExecResult) and res.exit == "exit" and res.exit_status == 0 and res.cycles > 0
    r = vbench_cli("exec", prog, "--platform", BARE, "--set", "core.clock_hz=48e6", "--json")
    cli = json.loads(r.stdout)
    assert r.returncode == res.exit_status
    ours = res.to_json()
    for key in ("wall_s",):
        cli.pop(key), ours.pop(key)
    assert ours == cli | {"firmware": str(prog)}
    fault = assemble_arm(tmp_path, "    ldr r0, =0x30000000\n    ldr r1, [r0]\n", name="fault")
    res = vbench.exec_firmware(fault, platform=str(BARE))
    assert res.exit == "fault" and res.exit_status == 3 == vbench_cli("exec", fault, "--platform", BARE).returncode
    with pytest.raises(VbenchError, match="max_instructions"):
        vbench.exec_firmware(prog, platform=str(BARE), max_instructions=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"workloads": "nope"}, "unknown workload nope"),
    ({"workloads": ""}, "names no workload"),
    ({"modes": ["performance", "fast"]}, "unknown mode fast"),
    ({"accuracy_limit": 0}, "accuracy-limit"),
    ({"platform": "no-such-board"}, "no-such-board"),
    ({"overrides": {"no.such_key": 1}}, "no.such_key"),
    ({"modes": "accuracy"}, "needs --dataset"),
    ({"jobs": 0}, "--jobs"),
])
def test_run_api_refuses_bad_input_before_any_work(kwargs, message, tmp_path):
    with pytest.raises(VbenchError, match=re.escape(message)) as exc:
        vbench.run(**{"workloads": "ad", "out": tmp_path / "out", **kwargs})
    assert exc.value.exit_code == 2 and not (tmp_path / "out").exists()


def test_import_vbench_exposes_the_api_lazily():
    code = ("import sys, vbench; light = 'vbench.api' not in sys.modules and 'vbench.results' not in sys.modules; "
            "names = [n for n in ('run', 'exec_firmware', 'compare', 'load') if callable(getattr(vbench, n))]; "
            "import vbench.gate; print(light, names, vbench.compare.__module__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split(None, 1) == ["True", "['run', 'exec_firmware', 'compare', 'load'] vbench.api\n"], r.stderr
