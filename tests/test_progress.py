"""Progress on the long commands (issue 16, item 4): `vbench study`, `vbench validate` (and its
--fit), `vbench calibrate` log one line per finished unit on stderr with its count and the time
elapsed (and the ETA while units are left) when stderr is a pipe, draw a bar with an ETA on a
terminal, print nothing with --quiet, and leave stdout (tables, JSON) as it was."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vbench.progress import Progress, as_progress

TFLM = Path(__file__).resolve().parents[2] / "shared" / "firmware" / "tflm-2.3.1"
AD = TFLM / "ad_cmsis.elf"
needs_tflm = pytest.mark.skipif(not AD.is_file(), reason="../shared/firmware/tflm-2.3.1 is absent")
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc not installed")

TIMES = r"\d\d:\d\d elapsed(, ETA \d\d:\d\d)?"


def vbench_cli(*args) -> subprocess.CompletedProcess:
    """The command with stdout and stderr on pipes, as in a CI log."""
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def units(stderr: str, prefix: str) -> list[tuple[int, int | None, str, bool]]:
    """(count, total, text, has ETA) of every finished-unit line; every stderr line must be either one
    of those or a note with the command's prefix (no bar, no carriage returns in a pipe)."""
    assert "\r" not in stderr
    found = []
    for line in stderr.splitlines():
        assert line.startswith(prefix), line
        m = re.fullmatch(re.escape(prefix) + r"\[(\d+)(?:/(\d+))?\] (.*) \| " + TIMES, line)
        if m:
            found.append((int(m[1]), int(m[2]) if m[2] else None, m[3], m[4] is not None))
    return found


def check_phases(found, phases: list[int]) -> None:
    """The units count 1..n per phase, with an ETA on every line but a phase's last."""
    k = 0
    for n in phases:
        seen = found[k:k + n]
        assert [(c, t) for c, t, *_ in seen] == [(i, n) for i in range(1, n + 1)], found
        assert [eta for *_, eta in seen] == [True] * (n - 1) + [False]
        k += n
    assert k == len(found), found


# ------------------------------------------------------------------ the Progress itself


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_done_lines_carry_count_elapsed_and_eta_on_any_stream():
    pipe = io.StringIO()
    with Progress(0, "vbench x", quiet=False, stream=pipe, prefix="x: ") as bar:
        bar.phase(2, "compiling")
        bar.done("a")
        bar.done("b")
        bar.note("a note")
        bar.phase(0, "fit")      # a phase whose length is not known in advance: a count, no ETA
        bar.done("c")
    assert pipe.getvalue().splitlines() == ["x: [1/2] a | 00:00 elapsed, ETA 00:00", "x: [2/2] b | 00:00 elapsed",
                                            "x: a note", "x: [1] c | 00:00 elapsed"]

    term = FakeTerminal()   # a terminal: the same lines above a bar with its own ETA
    with Progress(0, "vbench x", stream=term, refresh_s=0, prefix="x: ") as bar:
        bar.phase(3, "board runs")
        bar.working("ad/int8 on nucleo")
        bar.done("a")
    text = term.getvalue()
    assert "x: [1/3] a | 00:00 elapsed, ETA 00:00\n" in text
    assert re.search(r"board runs: +33%.*1/3 \[\d\d:\d\d<\d\d:\d\d", text) and "ad/int8 on nucleo" in text

    quiet = FakeTerminal()
    with Progress(3, "vbench x", stream=quiet, quiet=True) as bar:
        bar.phase(2)
        bar.working("w")
        bar.done("a")
        bar.note("n")
    assert quiet.getvalue() == ""


def test_a_plain_callback_gets_the_same_lines():
    """Library callers (validate(), calibrate(), run_study()) may pass a (line) -> None callback."""
    lines: list[str] = []
    bar = as_progress(lines.append)
    bar.phase(2)
    bar.working("not logged")
    bar.done("first")
    bar.note("note")
    assert lines == ["[1/2] first | 00:00 elapsed, ETA 00:00", "note"]
    silent = as_progress(None)
    silent.phase(1)
    silent.done("x")   # no stream, no callback: nothing, no error
    own = Progress(1, "x", quiet=True)
    assert as_progress(own) is own


# ------------------------------------------------------------------ the commands in a pipe


@needs_arm
def test_study_progress(tmp_path):
    """precision on AD: 2 compiles, 2 board runs and 1 accuracy step (output agreement on 2 inputs)."""
    args = ["study", "precision", "--workload", "ad", "--platform", "nucleo-l4r5zi", "--no-plots", "-j", "1",
            "--inputs", "2", "--no-dataset"]
    loud = vbench_cli(*args, "--out", tmp_path / "a")
    assert loud.returncode == 0, loud.stderr
    found = units(loud.stderr, "study precision: ")
    check_phases(found, [2, 2, 1])
    assert "ad/float32: compiled ad01_fp32.tflite" in found[1][2]
    assert re.fullmatch(r"ad/int8 on nucleo-l4r5zi: [\d,]+ cycles, bit-exact", found[2][2])
    assert found[4][2].startswith("ad: output agreement on 2 random inputs")

    quiet = vbench_cli(*args, "--out", tmp_path / "b", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""

    def table(r, out):   # but for the wall time and the output folder
        return re.sub(r"wall time [\d.]+ s", "", r.stdout.replace(str(tmp_path / out), "OUT"))
    assert table(loud, "a") == table(quiet, "b") and "speedup" in loud.stdout


@needs_tflm
def test_validate_progress(tmp_path):
    """Two rows of ad_cmsis.elf (one at 80 MHz): a line per row; --json stays parseable and equal."""
    data = tmp_path / "m.csv"
    measure = r"uart:inference \d+ cycles (\d+)"
    data.write_text("firmware,platform,overrides,measure,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,role,source\n"
                   f"{AD},nucleo-l4r5zi,,{measure},8.0,300,,1.8,120e6,calibration,test figures\n"
                   f"{AD},nucleo-l4r5zi,core.clock_hz=80e6,{measure},8.0,300,,1.8,120e6,held-out,test figures\n")
    loud = vbench_cli("validate", data, "--json")
    assert loud.returncode == 0, loud.stderr
    found = units(loud.stderr, "validate: ")
    check_phases(found, [2])
    assert re.fullmatch(r"line 2: ad_cmsis\.elf: [\d.]+ ms, ok, [\d.]+ s wall", found[0][2])
    quiet = vbench_cli("validate", data, "--json", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""

    def figures(out: str):
        return [{k: v for k, v in r.items() if k != "wall_s"} for r in json.loads(out)]
    assert figures(loud.stdout) == figures(quiet.stdout) and len(figures(loud.stdout)) == 2

    # --fit: a line per grid point
    fit = vbench_cli("validate", data, "--fit", "flash.fill_bytes=8,16")
    assert fit.returncode == 0, fit.stderr
    found = units(fit.stderr, "validate: ")
    check_phases(found, [2])
    assert found[0][2].startswith("flash.fill_bytes=8: ad_cmsis.elf ") and found[0][2].endswith(" %")
    quiet = vbench_cli("validate", data, "--fit", "flash.fill_bytes=8,16", "--quiet")
    assert quiet.stderr == "" and quiet.stdout == fit.stdout and "chosen" in fit.stdout


@needs_arm
def test_calibrate_progress(tmp_path):
    """Evaluation of three rows (a line per row), then a timing fit on latencies the current model
    gives: the rows, the fit's points (no total known: count and elapsed), the rows at the fit."""
    from vbench.calibration.measurements import COLUMNS

    rows = ["demo LOOP_N=3000", "demo LOOP_N=100", 'microbench MB_ONLY="branch_taken"']

    def write(path: Path, role: str, latency) -> Path:
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=[*COLUMNS, "role"], restval="")
            w.writeheader()
            w.writerows({"firmware": fw, "platform": "nucleo-l4r5zi", "latency_ms": repr(latency(fw)),
                         "energy_uj": "10" if role == "held-out" else "", "source": "test figures", "role": role}
                        for fw in rows)
        return path

    evaluate = write(tmp_path / "e.csv", "held-out", lambda fw: 1.0)
    args = ["calibrate", evaluate, "--platform", "nucleo-l4r5zi", "--report", tmp_path / "r", "--no-cache", "--json"]
    loud = vbench_cli(*args)
    assert loud.returncode == 0, loud.stderr
    found = units(loud.stderr, "calibrate: ")
    check_phases(found, [3])
    assert re.fullmatch(r"row 3: demo LOOP_N=100 on nucleo-l4r5zi: [\d.]+ ms", found[1][2])
    quiet = vbench_cli(*args, "-q")
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout
    before = {r["firmware"]: r["latency_ms"]["before"] for r in json.loads(loud.stdout)["rows"]}

    fit = write(tmp_path / "f.csv", "calibration", before.get)
    r = vbench_cli("calibrate", fit, "--platform", "nucleo-l4r5zi", "--fit", "timing.branch_refill",
                   "--out", tmp_path / "cal.toml", "--report", tmp_path / "r2")
    assert r.returncode == 0, r.stderr
    found = units(r.stderr, "calibrate: ")
    points = [u for u in found if u[1] is None]
    assert len(points) >= 2 and [c for c, *_ in points] == list(range(1, len(points) + 1))
    assert all(re.fullmatch(r"timing point timing\.branch_refill=\d: 3 rows simulated", u[2]) for u in points)
    assert not any(u[3] for u in points)     # no ETA without a total
    check_phases([u for u in found if u[1] is not None], [3, 3])   # rows, then the rows at the fitted timing
    assert "calibrate: timing fit of timing.branch_refill on 3 rows" in r.stderr.splitlines()
    assert "branch_refill" in r.stdout and "leave-one-out" in r.stdout
