"""The result type (vbench/results.py): a real results.json from `vbench run` reads into
WorkloadResult/LayerResult records and writes back byte for byte (results.json and results.csv);
a malformed file is refused with the file and the key named; to_dataframe has the columns of
results.csv; `import vbench` exposes load_results without importing the module up front."""

from __future__ import annotations

import copy
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import vbench
from vbench.errors import VbenchError
from vbench.report import make_result_set, write_result_set
from vbench.results import CSV_LEAD, RECORD_KEYS, LayerResult, ResultSet, WorkloadResult, load_results

DATASETS = Path(os.environ.get("VBENCH_DATASETS", "/work/shared/datasets"))


def vbench_cli(*args):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The smallest real run: AD (the cheapest workload) in performance and energy mode, with a
    LoadGen scenario and an override, so every key of a timing record is there."""
    out = tmp_path_factory.mktemp("run") / "ad"
    r = vbench_cli("run", "--workload", "ad", "--mode", "performance,energy", "--scenario", "SingleStream",
                   "--set", "core.clock_hz=120e6", "--jobs", "1", "--no-plots", "--out", out)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """A job that fails (accuracy mode on a folder without the dataset): a record with failing/reason."""
    base = tmp_path_factory.mktemp("failed")
    (base / "empty").mkdir()
    r = vbench_cli("run", "--workload", "ad", "--mode", "accuracy", "--dataset", base / "empty", "--jobs", "1",
                   "--no-plots", "--out", base / "out")
    assert r.returncode == 1 and "FAILED" in r.stderr
    return base / "out"


def json_text(result_set: ResultSet) -> str:
    return json.dumps(result_set.to_dict(), indent=2, sort_keys=False, default=str) + "\n"


def test_real_results_round_trip_byte_for_byte(real_run, tmp_path):
    text = (real_run / "results.json").read_text()
    rs = load_results(real_run)
    assert json_text(rs) == text
    assert json_text(ResultSet.from_dict(json.loads(text))) == text
    perf, energy = rs.records
    assert isinstance(perf, WorkloadResult) and (perf.mode, energy.mode) == ("performance", "energy")
    assert perf.key == ("ad", "nucleo-l4r5zi", "performance") and perf.overrides == {"core.clock_hz": "120e6"}
    assert perf.exact and perf.runs == 5 and perf.inputs == "synthetic" and "SingleStream" in perf.scenarios
    assert all(isinstance(x, LayerResult) for x in perf.layers) and len(perf.layers) == 10
    assert perf.layers[0].op == "FULLY_CONNECTED" and perf.layers[0].stall_flash is not None
    assert energy.layers is None and energy.average_power_mw > 0 and energy.files is None
    assert rs.metadata["workloads"] == ["ad"] and rs.schema_version == 1
    # each record alone, and the files written from the objects: the same bytes
    for record, data in zip(rs.records, json.loads(text)["results"]):
        assert record.to_dict() == data and list(record.to_dict()) == list(data)
        assert WorkloadResult.from_dict(data) == record
    write_result_set(tmp_path / "again", rs, plots=False)
    assert (tmp_path / "again" / "results.json").read_text() == text
    assert (tmp_path / "again" / "results.csv").read_text() == (real_run / "results.csv").read_text()
    assert (tmp_path / "again" / "report.md").read_text() == (real_run / "report.md").read_text()


def test_failed_job_record_round_trips(failed_run):
    text = (failed_run / "results.json").read_text()
    rs = load_results(failed_run / "results.json")
    assert json_text(rs) == text
    (rec,) = rs.records
    assert rec.failing is True and "y_labels.csv" in rec.reason and rec.cycles is None and rec.wall_s is None
    assert list(rec.to_dict())[-2:] == ["failing", "reason"] and "model_id" not in rec.to_dict()


@pytest.mark.skipif(not (DATASETS / "kws01" / "y_labels.csv").exists(), reason="kws01 dataset files absent")
def test_accuracy_record_round_trips(tmp_path):
    r = vbench_cli("run", "--workload", "kws", "--mode", "accuracy", "--dataset", DATASETS, "--accuracy-limit", "2",
                   "--jobs", "1", "--no-plots", "--out", tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    text = (tmp_path / "results.json").read_text()
    rs = load_results(tmp_path)
    assert json_text(rs) == text
    (rec,) = rs.records
    assert rec.files == 2 and rec.accuracy is not None and rec.predictions_sha256 and rec.runs is None
    assert "quality_target" in rec.to_dict() and "run_latencies_ms" not in rec.to_dict()


def _broken(real_run, tmp_path, edit) -> Path:
    data = json.loads((real_run / "results.json").read_text())
    edit(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("edit, key", [
    (lambda d: d["results"][0].pop("cycles"), "'cycles' missing"),
    (lambda d: d["results"][1].pop("vbench_version"), "'vbench_version' missing"),
    (lambda d: d["results"][0].update(cycles="many"), "'cycles' is str"),
    (lambda d: d["results"][0].update(workload=None), "'workload' is null"),
    (lambda d: d["results"][0].update(overrides=[]), "'overrides' is list"),
    (lambda d: d["results"][0].pop("exact"), "'exact' missing"),          # a timing record lacks one timing key
    (lambda d: d["results"][0]["layers"][3].pop("op"), "layers[3]: key 'op' missing"),
    (lambda d: d["results"][0]["layers"][0].update(cycles=True), "'cycles' is bool"),
    (lambda d: d["results"][0].update(failing=True), "'reason' missing"),
    (lambda d: d.pop("schema_version"), "'schema_version' missing"),
    (lambda d: d.update(schema_version=99), "schema_version 99"),
    (lambda d: d.update(results={}), "'results'"),
])
def test_malformed_results_are_refused_naming_file_and_key(real_run, tmp_path, edit, key):
    path = _broken(real_run, tmp_path, edit)
    with pytest.raises(VbenchError) as exc:
        load_results(path)
    assert str(path) in str(exc.value) and key in str(exc.value)


def test_compare_refuses_a_malformed_file_naming_the_key(real_run, tmp_path):
    path = _broken(real_run, tmp_path, lambda d: d["results"][0].pop("model_sha256"))
    r = vbench_cli("compare", real_run, path)
    assert r.returncode == 2 and "broken.json" in r.stderr and "model_sha256" in r.stderr
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(VbenchError, match="bad.json"):
        load_results(tmp_path / "bad.json")
    with pytest.raises(VbenchError, match="missing"):
        load_results(tmp_path / "missing")


def test_unknown_keys_are_kept_in_place_after_the_known_ones(real_run):
    data = json.loads((real_run / "results.json").read_text())
    rec = copy.deepcopy(data["results"][1])
    rec["my_tool_note"] = {"checked": True}
    back = WorkloadResult.from_dict(rec)
    assert back.extra == {"my_tool_note": {"checked": True}} and back.to_dict() == rec
    assert list(back.to_dict()) == list(rec)


def test_make_result_set_checks_dict_records_naming_the_key():
    with pytest.raises(VbenchError, match=r"kws/b/performance.*'instructions' missing"):
        make_result_set([{k: None for k in RECORD_KEYS if k != "instructions"}
                         | {"workload": "kws", "platform": "b", "mode": "performance", "overrides": {},
                            "vbench_version": "x"}])


def test_to_dataframe_has_the_columns_of_results_csv(real_run):
    rs = load_results(real_run)
    frame = rs.to_dataframe()
    with open(real_run / "results.csv", newline="") as f:
        header = next(csv.reader(f))
    assert list(frame.columns) == header
    assert list(frame.columns[:len(CSV_LEAD)]) == list(CSV_LEAD)
    assert set(RECORD_KEYS) - {"accuracy"} <= set(frame.columns) and "accuracy" not in frame.columns  # top1, auc
    assert [c for c in frame.columns if c.startswith("run_")] == [f"run_{i}_latency_ms" for i in range(1, 6)]
    assert list(frame.loc[0, [f"run_{i}_latency_ms" for i in range(1, 6)]]) == rs.records[0].run_latencies_ms
    assert frame.columns[-1] == "overrides" and "layers" not in frame.columns and "windows" not in frame.columns
    assert list(frame["mode"]) == ["performance", "energy"] and frame.loc[0, "cycles"] == rs.records[0].cycles
    assert frame.loc[0, "overrides"] == "core.clock_hz=120e6"
    layers = rs.to_dataframe(layers=True)
    assert list(layers.columns) == ["workload", "platform", "mode", "layer", "op", "cycles", "instructions",
                                    "energy_uj", "stall_flash", "stall_branch", "stall_load_use", "stall_divide"]
    assert len(layers) == 10 and layers["cycles"].sum() == sum(x.cycles for x in rs.records[0].layers)


def test_import_vbench_is_light_and_exposes_the_api(real_run):
    code = ("import sys, vbench; light = 'vbench.results' not in sys.modules; "
            f"rs = vbench.load_results({str(real_run)!r}); "
            "print(light, type(rs).__name__, type(rs.records[0]).__name__, 'load_results' in dir(vbench))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["True", "ResultSet", "WorkloadResult", "True"], r.stderr
    assert vbench.ResultSet is ResultSet and vbench.LayerResult is LayerResult
    with pytest.raises(AttributeError):
        vbench.no_such_name  # noqa: B018
