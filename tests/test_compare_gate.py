"""The regression gate fails closed (issue 17 item 2): `vbench compare` exits 2, naming the record and
what is wrong, when a record is FAILED, null or non-finite on either side, when the runs differ in
their records, firmware, overrides, model or vbench version (unless declared expected with
--allow-differ / --allow-missing), when a threshold is not finite and positive, or when a file is
malformed; 1 stays "regression" and 0 "no regression". Results are strict JSON: NaN/Infinity are
refused before anything is written.

The result sets are built with vbench.results types from one real `vbench run` (AD, performance and
energy mode: the cheapest workload)."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from vbench.gate import IncompatibleResults, compare
from vbench.errors import VbenchError
from vbench.report import write_result_set
from vbench.report_io import write_json_atomic
from vbench.results import RECORD_KEYS, ResultSet, WorkloadResult, load_results

PERF = "ad/nucleo-l4r5zi/performance"
ENERGY = "ad/nucleo-l4r5zi/energy"


def vbench(*args):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "ad"
    r = vbench("run", "--workload", "ad", "--mode", "performance,energy", "--jobs", "1", "--no-plots", "--out", out)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.fixture
def real(real_run) -> ResultSet:
    """A fresh copy of the real result set, to edit."""
    return copy.deepcopy(load_results(real_run))


def save(tmp_path: Path, name: str, rs: ResultSet) -> Path:
    d = tmp_path / name
    write_result_set(d, rs, plots=False)
    return d


def save_raw(tmp_path: Path, name: str, data: dict) -> Path:
    """A results.json another tool (or an older vbench) wrote: json.dumps lets NaN/Infinity through."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def gate(*args):
    r = vbench("compare", *args)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def failed(rec: WorkloadResult, reason="harness: no response to 'infer' after 2e10 instructions") -> WorkloadResult:
    """The record vbench writes for a job that failed: the contract keys, nothing measured."""
    keep = {k: getattr(rec, k) for k in RECORD_KEYS}
    keep.update(latency_ms=None, energy_uj=None, accuracy=None, cycles=None, instructions=None)
    return WorkloadResult(**keep, failing=True, reason=reason)


def with_record(rs: ResultSet, i: int, **changes) -> ResultSet:
    rs.records[i] = dataclasses.replace(rs.records[i], **changes)
    return rs


# ----------------------------------------------------------------- the verdicts that stay: 0 and 1


def test_identical_runs_pass(real_run, real, tmp_path):
    r = gate(real_run, real_run)
    assert r.returncode == 0 and "no regression above the thresholds" in r.stdout, r.stdout + r.stderr
    assert gate(real_run, save(tmp_path, "copy", real)).returncode == 0   # rewritten from the objects


def test_slowed_kernel_still_exits_1_naming_the_layer(real_run, real, tmp_path):
    perf = real.records[0]
    slow_layer = dataclasses.replace(perf.layers[0], cycles=int(perf.layers[0].cycles * 1.5))
    grown = perf.layers[0].cycles // 2
    with_record(real, 0, cycles=perf.cycles + grown, layers=[slow_layer, *perf.layers[1:]])
    r = gate(real_run, save(tmp_path, "slow", real))
    assert r.returncode == 1, r.stdout + r.stderr
    verdict = r.stdout.split("regressions:")[1]
    assert "ad/nucleo-l4r5zi" in verdict and f"layer 0 {perf.layers[0].op}" in verdict
    assert "cannot compare" not in r.stdout


# ----------------------------------------------------------------- records that are no result: 2


@pytest.mark.parametrize("side", ["base", "new"])
def test_a_failed_record_on_either_side_exits_2(real_run, real, tmp_path, side):
    bad = save(tmp_path, "failed", with_record(real, 0, **vars(failed(real.records[0]))))
    r = gate(*((bad, real_run) if side == "base" else (real_run, bad)))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{PERF} in the {side} run is FAILED: harness: no response" in r.stdout
    assert "FAILED" in r.stderr and "no regression" not in r.stdout


def test_a_real_failed_job_exits_2(real_run, tmp_path):
    """A job vbench itself recorded as failed (accuracy mode without the dataset), against itself."""
    (tmp_path / "empty").mkdir()
    run = vbench("run", "--workload", "ad", "--mode", "accuracy", "--dataset", tmp_path / "empty", "--jobs", "1",
                 "--no-plots", "--out", tmp_path / "out")
    assert run.returncode == 1 and "FAILED" in run.stderr
    r = gate(tmp_path / "out", tmp_path / "out")
    assert r.returncode == 2 and "ad/nucleo-l4r5zi/accuracy in the base run is FAILED" in r.stdout, r.stdout


@pytest.mark.parametrize("metric, mode_index, where", [
    ("cycles", 0, PERF), ("energy_uj", 1, ENERGY)])
def test_a_null_metric_exits_2(real_run, real, tmp_path, metric, mode_index, where):
    r = gate(real_run, save(tmp_path, "null", with_record(real, mode_index, **{metric: None})))
    assert r.returncode == 2, r.stdout + r.stderr
    assert where in r.stdout and f"{metric} is null" in r.stdout


@pytest.mark.parametrize("edit, says", [
    (lambda d: d["results"][0].update(cycles=float("nan")), f"{PERF} in the new run: cycles is nan"),
    (lambda d: d["results"][1].update(energy_uj=float("inf")), f"{ENERGY} in the new run: energy_uj is inf"),
    (lambda d: d["results"][0].update(latency_ms=float("-inf")), f"{PERF} in the new run: latency_ms is -inf"),
    (lambda d: d["results"][0]["layers"][2].update(cycles=float("nan")), "layers[2].cycles is nan"),
    (lambda d: d["results"][0].update(cycles=-5), f"{PERF} in the new run: cycles is negative"),
])
def test_a_non_finite_record_exits_2(real_run, tmp_path, edit, says):
    data = json.loads((real_run / "results.json").read_text())
    edit(data)
    r = gate(real_run, save_raw(tmp_path, "nan", data))
    assert r.returncode == 2, r.stdout + r.stderr
    assert says in r.stdout


def test_a_nan_record_in_the_base_exits_2(real_run, tmp_path):
    data = json.loads((real_run / "results.json").read_text())
    data["results"][0]["energy_uj"] = float("nan")
    r = gate(save_raw(tmp_path, "nan", data), real_run)
    assert r.returncode == 2 and f"{PERF} in the base run: energy_uj is nan" in r.stdout


# ----------------------------------------------------------------- runs that differ: 2 unless declared


def test_a_record_missing_on_one_side_exits_2_unless_allowed(real_run, real, tmp_path):
    real.records = real.records[:1]
    only_perf = save(tmp_path, "only_perf", real)
    r = gate(real_run, only_perf)
    assert r.returncode == 2 and f"missing in the new run: {ENERGY}" in r.stdout and "--allow-missing" in r.stdout
    r = gate(only_perf, real_run)
    assert r.returncode == 2 and f"only in the new run: {ENERGY}" in r.stdout
    r = gate(real_run, only_perf, "--allow-missing")
    assert r.returncode == 0 and f"missing in the new results: {ENERGY}" in r.stdout, r.stdout + r.stderr


def test_no_shared_record_exits_2_even_when_missing_is_allowed(real_run, real, tmp_path):
    for i, rec in enumerate(real.records):
        real.records[i] = dataclasses.replace(rec, platform="rv32imaf-mcu")
    r = gate(real_run, save(tmp_path, "other", real), "--allow-missing")
    assert r.returncode == 2 and "share no workload/platform/mode" in r.stdout


def test_a_record_twice_exits_2(real_run, real, tmp_path):
    real.records.append(copy.deepcopy(real.records[0]))
    r = gate(real_run, save(tmp_path, "twice", real))
    assert r.returncode == 2 and f"{PERF} appears twice in the new run" in r.stdout


@pytest.mark.parametrize("what, change", [
    ("firmware", {"firmware_sha256": "0" * 64}),
    ("overrides", {"overrides": {"flash.wait_states": "3"}}),
    ("model", {"model_sha256": "1" * 64}),
    ("version", {"vbench_version": "0.0.9"}),
])
def test_a_differing_run_exits_2_unless_declared(real_run, real, tmp_path, what, change):
    for i in range(len(real.records)):
        with_record(real, i, **change)
    other = save(tmp_path, what, real)
    r = gate(real_run, other)
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"the {what} differs" in r.stdout and f"--allow-differ {what}" in r.stdout and PERF in r.stdout
    r = gate(real_run, other, "--allow-differ", what)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"allowed difference: {PERF}: the {what} differs" in r.stdout
    # declaring another difference does not cover this one
    others = ",".join(x for x in ("firmware", "overrides", "model", "version") if x != what)
    assert gate(real_run, other, "--allow-differ", others).returncode == 2


def test_a_differing_vbench_version_of_the_set_exits_2_unless_declared(real_run, real, tmp_path):
    real.metadata["vbench_version"] = "9.9.9"
    for i in range(len(real.records)):
        with_record(real, i, vbench_version="9.9.9", firmware_sha256="2" * 64)
    newer = save(tmp_path, "newer", real)
    r = gate(real_run, newer)
    assert r.returncode == 2 and "the vbench version differs" in r.stdout and "9.9.9 (new)" in r.stdout
    assert gate(real_run, newer, "--allow-differ", "version").returncode == 2            # firmware still differs
    assert gate(real_run, newer, "--allow-differ", "firmware,version").returncode == 0
    assert gate(real_run, newer, "--allow-differ", "firmware", "--allow-differ", "version").returncode == 0


def test_a_regression_and_a_difference_exits_2(real_run, real, tmp_path):
    """A run that both regressed and cannot be trusted is not passed as a mere regression: 2 wins."""
    with_record(real, 0, cycles=real.records[0].cycles * 2, firmware_sha256="3" * 64)
    r = gate(real_run, save(tmp_path, "both", real))
    assert r.returncode == 2 and "regressions:" in r.stdout and "cannot compare" in r.stdout


# ----------------------------------------------------------------- thresholds and options: 2 at argparse


@pytest.mark.parametrize("option, value", [
    ("--max-regression", "nan"), ("--max-regression", "inf"), ("--max-regression", "-1"), ("--max-regression", "0"),
    ("--max-regression", "abc"), ("--max-energy-regression", "nan"), ("--max-energy-regression", "-0.5"),
    ("--max-accuracy-drop", "nan"), ("--max-accuracy-drop", "-0.1"), ("--max-accuracy-drop", "Infinity"),
    ("--allow-differ", "firmware,colour"), ("--allow-differ", ","),
])
def test_a_bad_threshold_or_option_exits_2(real_run, option, value):
    r = gate(real_run, real_run, option, value)
    assert r.returncode == 2 and option in r.stderr and value in r.stderr, r.stderr


def test_the_api_refuses_a_nan_threshold(real_run):
    rs = load_results(real_run)
    with pytest.raises(IncompatibleResults, match="max_cycles_pct"):
        compare(rs, rs, float("nan"))
    with pytest.raises(IncompatibleResults, match="colour"):
        compare(rs, rs, allow_differ={"colour"})
    assert compare(rs, rs).exit_code == 0


# ----------------------------------------------------------------- malformed files: 2, never a traceback


@pytest.mark.parametrize("write", [
    lambda p: p.write_bytes(b'{"schema_version": 1, "results": [\xff]}'),                 # not UTF-8
    lambda p: p.write_text('{"schema_version": 1, "results": [{"workload": "ad"}]}'),
    lambda p: p.write_text('{"schema_version": 1, "results": [7]}'),
    lambda p: p.write_text("[1, 2]"),
    lambda p: p.write_text(""),
])
def test_a_malformed_file_exits_2_without_traceback(real_run, tmp_path, write):
    bad = tmp_path / "bad.json"
    write(bad)
    for args in ((real_run, bad), (bad, real_run)):
        r = gate(*args)
        assert r.returncode == 2 and "bad.json" in r.stderr, r.stderr


# ----------------------------------------------------------------- --json stays valid JSON


def strict_loads(text: str):
    def refuse(token):
        raise AssertionError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("case, code", [("same", 0), ("slow", 1), ("failed", 2)])
def test_json_output_is_strict_with_the_old_and_new_keys(real_run, real, tmp_path, case, code):
    if case == "slow":
        with_record(real, 1, energy_uj=real.records[1].energy_uj * 1.1)
    if case == "failed":
        with_record(real, 0, **vars(failed(real.records[0])))
    r = gate(real_run, save(tmp_path, case, real), "--json")
    assert r.returncode == code, r.stdout + r.stderr
    out = strict_loads(r.stdout)
    assert list(out)[:3] == ["regressions", "deltas", "missing"]
    assert {"added", "problems", "allowed_differences", "exit_code"} <= set(out) and out["exit_code"] == code
    assert bool(out["regressions"]) == (code == 1) and bool(out["problems"]) == (code == 2)
    if code == 1:
        assert out["regressions"][0]["metric"] == "energy_uj" and out["regressions"][0]["pct"] > 9
    if code == 2:
        assert any("FAILED" in p for p in out["problems"])


def test_json_output_of_a_change_from_zero_is_strict(real_run, real, tmp_path):
    base = with_record(copy.deepcopy(real), 1, energy_uj=0.0)
    r = gate(save(tmp_path, "zero", base), real_run, "--json")
    assert r.returncode == 1
    out = strict_loads(r.stdout)
    assert [d["pct"] for d in out["regressions"] if d["metric"] == "energy_uj"] == [None]


# ----------------------------------------------------------------- results are strict JSON


@pytest.mark.parametrize("change, key", [
    ({"energy_uj": float("nan")}, "'energy_uj' is nan"),
    ({"latency_ms": float("inf")}, "'latency_ms' is inf"),
    ({"run_latencies_ms": [1.0, float("nan")]}, "'run_latencies_ms[1]' is nan"),
    ({"extra": {"my_note": float("-inf")}}, "'my_note' is -inf"),
])
def test_writing_a_non_finite_result_is_refused_before_any_file(real, tmp_path, change, key):
    with_record(real, 0, **change)
    with pytest.raises(VbenchError, match=f"{PERF}.*{key.replace('[', '.').replace(']', '.')}"):
        real.records[0].to_dict()
    with pytest.raises(VbenchError, match=key.replace("[", ".").replace("]", ".")):
        write_result_set(tmp_path / "out", real, plots=False)
    assert not (tmp_path / "out").exists()          # nothing written, not even results.csv


def test_a_non_finite_layer_or_metadata_is_refused_and_previous_files_kept(real_run, real, tmp_path):
    out = save(tmp_path, "out", copy.deepcopy(real))
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    layered = copy.deepcopy(real)
    layered.records[0].layers[3] = dataclasses.replace(layered.records[0].layers[3], energy_uj=float("nan"))
    with pytest.raises(VbenchError, match=r"layers\[3\]\.energy_uj' is nan"):
        write_result_set(out, layered, plots=False)
    real.metadata["wall_s"] = float("inf")
    with pytest.raises(VbenchError, match="'wall_s' is inf"):
        write_result_set(out, real, plots=False)
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before  # nothing replaced


def test_the_json_writer_refuses_nan_naming_the_key(tmp_path):
    path = tmp_path / "study.json"
    with pytest.raises(VbenchError, match=r"study\.json: key 'rows\[1\]\.err' is nan"):
        write_json_atomic(path, {"rows": [{"err": 1.0}, {"err": float("nan")}]})
    assert not path.exists() and not list(tmp_path.iterdir())
    write_json_atomic(path, {"rows": [{"err": 1.0}, {"err": None}]})
    assert strict_loads(path.read_text()) == {"rows": [{"err": 1.0}, {"err": None}]}


def real_board(rs: ResultSet, i: int, latency_scale: float = 1.0) -> ResultSet:
    """Record i as `vbench run --port` writes it: the host timed the board, nothing counted cycles."""
    r = rs.records[i]
    return with_record(rs, i, cycles=None, instructions=None, layers=None, latency_ms=r.latency_ms * latency_scale)


def test_two_real_board_runs_compare_on_latency(real_run, real, tmp_path):
    base = save(tmp_path, "board_base", real_board(copy.deepcopy(real), 0))
    same = save(tmp_path, "board_same", real_board(copy.deepcopy(real), 0))
    slower = save(tmp_path, "board_slower", real_board(copy.deepcopy(real), 0, latency_scale=1.05))
    r = gate(base, same)
    assert r.returncode == 0, r.stdout + r.stderr
    r = gate(base, slower)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "latency_ms" in r.stdout and "+5.0" in r.stdout, r.stdout
    # a board run against a simulated one: cycles on one side only, which the gate cannot compare
    r = gate(real_run, slower)
    assert r.returncode == 2 and "cycles is null in the new run only" in r.stdout, r.stdout
