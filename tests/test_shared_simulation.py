"""One simulation per image where measurements share commands: the performance run's layer profile
branches off the timed run's own board (a forked copy after its first `infer 1 1`) instead of
booting a second board, with records identical to the separate path; `vbench run` reports the
wall time of its stages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from vbench.benchmark import Job, run_job


def _need_arm() -> None:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")


def _comparable(record) -> dict:
    d = record.to_dict()
    d.pop("wall_s")  # host time, not a figure
    return d


def test_shared_and_separate_layer_profile_give_identical_records(monkeypatch):
    _need_arm()
    from vbench.harness import modes

    branches = []
    real = modes.in_forked_copy
    monkeypatch.setattr(modes, "in_forked_copy", lambda fn: branches.append(1) or real(fn))
    job = Job("ad", "nucleo-l4r5zi", "performance", variant="optimized")
    shared = run_job(job, share_simulation=True)
    assert branches == [1]  # the profile came from the timed run's board
    separate = run_job(job, share_simulation=False)
    assert branches == [1]
    assert shared.layers and sum(layer.cycles for layer in shared.layers) > 0
    assert _comparable(shared) == _comparable(separate)


def test_run_reports_stage_times(tmp_path):
    _need_arm()
    r = subprocess.run([sys.executable, "-m", "vbench", "run", "--workload", "ad", "--out", tmp_path, "--no-plots",
                        "--jobs", "2"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "stage times" in r.stderr and "ad/nucleo-l4r5zi/energy: build" in r.stderr
    timings = json.loads((tmp_path / "results.json").read_text())["timings"]
    assert timings["workers"] == 2 and timings["report_s"] >= 0
    assert {(j["workload"], j["mode"]) for j in timings["jobs"]} == {("ad", "performance"), ("ad", "energy")}
    assert all(j["simulate_s"] > 0 and j["build_s"] >= 0 for j in timings["jobs"])
