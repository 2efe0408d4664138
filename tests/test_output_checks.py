"""Output paths are checked before the work (issue 17, item 5), and numeric options are checked by
argparse: every command that writes files refuses an unwritable output with exit 2 and a one-line
message naming the path, at once (nothing simulated or compiled, nothing left behind).

Tests run as root, where permission bits do not stop writes: an unwritable folder is one below an
existing regular file (file-as-parent), and the folder-where-a-file-is-expected case is tested too."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from vbench.errors import VbenchError
from vbench.outputs import check_writable_dir, check_writable_file

REPO = Path(__file__).resolve().parent.parent
KWS = REPO / "models" / "kws_ref_model.tflite"
SWEEP = REPO / "examples" / "sweep_flash_wait_states.toml"
FAST_S = 20  # interpreter start and imports only; a simulation or a compile takes far longer


def vbench(*args, **kw):
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True,
                       cwd=kw.pop("cwd", None), **kw)
    r.elapsed = time.perf_counter() - t0
    return r


def assert_refused(r, *names):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    for name in names:
        assert str(name) in r.stderr, (name, r.stderr)
    assert r.elapsed < FAST_S, f"took {r.elapsed:.1f} s: the work ran before the check"


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.fixture
def bad(tmp_path):
    """A regular file (no folder can be made below it) and an existing folder."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    return blocker, folder


# --- the module ------------------------------------------------------------------------------

def test_check_writable_dir_and_file(tmp_path, bad):
    blocker, folder = bad
    before = snapshot(tmp_path)
    assert check_writable_dir(tmp_path / "new" / "deeper", "--out") == tmp_path / "new" / "deeper"
    assert check_writable_dir(folder, "--out") == folder
    assert check_writable_file(tmp_path / "new" / "x.csv", "--csv") == tmp_path / "new" / "x.csv"
    assert check_writable_file(blocker, "--csv") == blocker  # replaced atomically
    with pytest.raises(VbenchError, match="not a folder"):
        check_writable_dir(blocker, "--out")
    with pytest.raises(VbenchError, match=f"{blocker}.*not a folder"):
        check_writable_dir(blocker / "sub" / "deeper", "--out")
    with pytest.raises(VbenchError, match="is a folder, expected a file"):
        check_writable_file(folder, "--csv")
    with pytest.raises(VbenchError, match=f"{blocker / 'x.csv'}.*not a folder"):
        check_writable_file(blocker / "x.csv", "--csv")
    (folder / "results.json").mkdir()
    with pytest.raises(VbenchError, match="results.json is a folder"):
        check_writable_dir(folder, "--out", files=("results.json",))
    with pytest.raises(VbenchError, match="empty path"):
        check_writable_dir("", "--out")
    # nothing created by the checks: no folders, no probe files
    assert snapshot(tmp_path) == before | {"folder/results.json"}


def test_unwritable_mount_is_refused():
    """A place where even root cannot create files (sysfs) is refused by the write probe."""
    if not Path("/sys/kernel").is_dir():
        pytest.skip("no sysfs")
    with pytest.raises(VbenchError, match="cannot write in /sys/kernel"):
        check_writable_file("/sys/kernel/results.csv", "--csv")


# --- every command that writes files ---------------------------------------------------------

def test_run_out(tmp_path, bad):
    blocker, folder = bad
    before = snapshot(tmp_path)
    for out in (blocker, blocker / "results"):
        r = vbench("run", "--workload", "kws", "--mode", "performance", "--no-plots", "--out", out)
        assert_refused(r, out)
        assert "jobs" not in r.stderr  # the suite never started
    (folder / "results.json").mkdir()
    r = vbench("run", "--workload", "kws", "--mode", "performance", "--no-plots", "--out", folder)
    assert_refused(r, folder / "results.json")
    assert snapshot(tmp_path) == before | {"folder/results.json"}


def test_profile_and_sweep_csv(tmp_path, bad):
    blocker, folder = bad
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")  # never read: the --csv check comes first
    before = snapshot(tmp_path)
    for csv in (blocker / "p.csv", folder):
        assert_refused(vbench("profile", elf, "--csv", csv), csv)
        assert_refused(vbench("sweep", SWEEP, "--csv", csv), csv)
    assert snapshot(tmp_path) == before


def test_compile_output(tmp_path, bad):
    blocker, folder = bad
    before = snapshot(tmp_path)
    for out in (blocker, blocker / "gen"):
        assert_refused(vbench("compile", KWS, "-o", out), out)
    (folder / "kws_ref_model_model.c").mkdir()
    assert_refused(vbench("compile", KWS, "-o", folder), folder / "kws_ref_model_model.c")
    (folder / "net_model.h").mkdir()
    assert_refused(vbench("compile", KWS, "-o", folder, "--name", "net"), folder / "net_model.h")
    assert snapshot(tmp_path) == before | {"folder/kws_ref_model_model.c", "folder/net_model.h"}


def test_transform_output(tmp_path, bad):
    blocker, folder = bad
    before = snapshot(tmp_path)
    for out in (folder, blocker / "p50.tflite"):
        assert_refused(vbench("transform", "prune", KWS, "-o", out), out)
        assert_refused(vbench("transform", "cluster", KWS, "-o", out), out)
    assert snapshot(tmp_path) == before


def test_study_out(tmp_path, bad):
    blocker, folder = bad
    before = snapshot(tmp_path)
    for out in (blocker, blocker / "study"):
        r = vbench("study", "sparsity", "--workload", "kws", "--no-dataset", "--no-plots", "--out", out)
        assert_refused(r, out)
    (folder / "study.json").mkdir()
    r = vbench("study", "sparsity", "--workload", "kws", "--no-dataset", "--no-plots", "--out", folder)
    assert_refused(r, folder / "study.json")
    assert snapshot(tmp_path) == before | {"folder/study.json"}


def test_validate_out(tmp_path, bad):
    blocker, folder = bad
    meas = tmp_path / "meas.csv"
    meas.write_text("firmware,platform\n")  # never read: the --out check comes first
    before = snapshot(tmp_path)
    for out in (blocker, blocker / "v"):
        assert_refused(vbench("validate", meas, "--out", out), out)
        assert_refused(vbench("validate", meas, "--out", out, "--fit", "flash.fill_bytes=8,16"), out)
    (folder / "validate.csv").mkdir()
    assert_refused(vbench("validate", meas, "--out", folder), folder / "validate.csv")
    assert snapshot(tmp_path) == before | {"folder/validate.csv"}


def test_calibrate_out_and_report(tmp_path, bad):
    blocker, folder = bad
    meas = tmp_path / "meas.csv"
    meas.write_text("firmware,platform\n")  # never read: the output checks come first
    before = snapshot(tmp_path)
    base = ("calibrate", meas, "--platform", "nucleo-l4r5zi", "--no-cache")
    for report in (blocker, blocker / "r"):
        assert_refused(vbench(*base, "--report", report), report)
    (folder / "report.md").mkdir()
    assert_refused(vbench(*base, "--report", folder), folder / "report.md")
    good = tmp_path / "report"
    for out in (folder, blocker / "cal.toml"):
        assert_refused(vbench(*base, "--report", good, "--fit", "power.static_ua", "--out", out), out)
    # a timing fit also writes the fitted power model beside --out
    (tmp_path / "cal-power.toml").mkdir()
    assert_refused(vbench(*base, "--report", good, "--fit", "timing.branch_refill", "--out", tmp_path / "cal.toml"),
                   tmp_path / "cal-power.toml")
    assert snapshot(tmp_path) == before | {"folder/report.md", "cal-power.toml"}


# --- argument checks -------------------------------------------------------------------------

def test_run_empty_workload_or_mode(tmp_path):
    out = tmp_path / "results"
    for opt in ("--workload", "--mode"):
        for value in ("", ",", " "):
            r = vbench("run", opt, value, "--out", out)
            assert_refused(r)
            assert "ZeroDivisionError" not in r.stderr
    r = vbench("run", "--workload", "", "--out", out)
    assert all(w in r.stderr for w in ("kws", "vww", "ic", "ad")), r.stderr
    r = vbench("run", "--mode", "", "--out", out)
    assert all(m in r.stderr for m in ("performance", "energy", "accuracy")), r.stderr
    assert not out.exists()


@pytest.mark.parametrize("value", ["-5", "0", "2.5", "x"])
def test_accuracy_limit_positive(tmp_path, value):
    r = vbench("run", "--workload", "kws", "--mode", "accuracy", "--dataset", tmp_path, "--accuracy-limit", value,
               "--out", tmp_path / "out")
    assert_refused(r, "--accuracy-limit")
    assert "usage:" in r.stderr
    r = vbench("study", "sparsity", "--workload", "kws", "--accuracy-limit", value, "--out", tmp_path / "s")
    assert_refused(r, "--accuracy-limit")
    assert not (tmp_path / "out").exists() and not (tmp_path / "s").exists()


@pytest.mark.parametrize("value", ["0", "-1", "-1e9", "1.5", "nan", "inf"])
def test_max_instructions_positive(tmp_path, value):
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    meas = tmp_path / "meas.csv"
    meas.write_text("firmware,platform\n")
    for cmd in (("exec", elf), ("profile", elf), ("validate", meas)):
        r = vbench(*cmd, f"--max-instructions={value}")  # "=": argparse reads "-1e9" alone as an option
        assert_refused(r, "--max-instructions")
        assert "usage:" in r.stderr and ("positive" in r.stderr or "whole number" in r.stderr), r.stderr


def test_max_instructions_accepts_scientific_notation():
    from vbench.cli import build_parser

    parser = build_parser()
    for cmd in ("exec", "profile", "validate"):
        args = parser.parse_args([cmd, "x", "--max-instructions", "5e9"])
        assert args.max_instructions == 5_000_000_000


def test_build_folder_checked_before_building(tmp_path, bad):
    """Commands that build firmware or compile models refuse an unwritable build folder at once."""
    import os

    blocker, _ = bad
    env = {**os.environ, "VBENCH_BUILD_DIR": str(blocker / "build")}
    before = snapshot(tmp_path)
    for cmd in (("build", "demo"), ("bench",), ("check-models", "--inputs", "1"),
                ("run", "--workload", "kws", "--mode", "performance", "--no-plots", "--out", tmp_path / "res"),
                ("study", "sparsity", "--workload", "kws", "--no-dataset", "--out", tmp_path / "st"),
                ("sweep", SWEEP)):
        r = vbench(*cmd, env=env)
        assert_refused(r, blocker / "build", "VBENCH_BUILD_DIR")
    assert snapshot(tmp_path) == before


def test_sweep_workers_and_run_platform(tmp_path):
    for value in ("0", "-1"):
        assert_refused(vbench("sweep", SWEEP, f"--workers={value}"), "--workers")
    r = vbench("run", "--platform", "", "--out", tmp_path / "out")
    assert_refused(r, "--platform", "nucleo-l4r5zi")
    assert not (tmp_path / "out").exists()


def test_good_outputs_still_written(tmp_path):
    """The checks do not get in the way: missing folders are created by the command itself."""
    r = vbench("compile", KWS, "-o", tmp_path / "gen" / "deeper", "--json")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "gen" / "deeper").iterdir()) == [
        "kws_ref_model_model.c", "kws_ref_model_model.h", "kws_ref_model_model.json"]
    r = vbench("transform", "prune", KWS, "-o", tmp_path / "t" / "p50.tflite", "--json")
    assert r.returncode == 0, r.stderr
    assert [p.name for p in (tmp_path / "t").iterdir()] == ["p50.tflite"]  # no temporary files left
