"""Result sets, reports and the regression gate (vbench compare) on crafted results."""

import json
import os
import re
import subprocess
import sys

import pytest

from vbench.report import RECORD_KEYS, make_result_set, summary_table, write_result_set


def record(workload="kws", platform="nucleo-l4r5zi", mode="performance", cycles=1_000_000, energy=100.0,
           layers=((0, "CONV_2D", 600_000), (1, "FULLY_CONNECTED", 400_000)), accuracy=None):
    return {"workload": workload, "platform": platform, "mode": mode, "latency_ms": cycles / 120e3,
            "energy_uj": energy, "accuracy": accuracy, "cycles": cycles, "instructions": cycles // 2,
            "firmware_sha256": "f" * 64, "model_sha256": "a" * 64, "overrides": {}, "vbench_version": "test",
            "layers": [{"layer": i, "op": op, "cycles": c, "instructions": c // 2, "energy_uj": 1.0} for i, op, c in layers]}


def vbench(*args):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True)


def save(tmp_path, name, records):
    d = tmp_path / name
    write_result_set(d, make_result_set(records), plots=False)
    return d


def test_result_files_have_the_contract_keys_and_load_with_pandas(tmp_path):
    pd = pytest.importorskip("pandas")
    d = tmp_path / "out"
    files = write_result_set(d, make_result_set([record(), record("ic", cycles=5_000_000)]))
    data = json.loads((d / "results.json").read_text())
    assert set(RECORD_KEYS) <= set(data["results"][0])
    frame = pd.read_csv(d / "results.csv")
    assert list(frame["workload"]) == ["kws", "ic"]
    assert re.search(r"^\| kws +\| nucleo-l4r5zi +\| performance +\|", (d / "report.md").read_text(), re.M)
    assert (d / "latency.png").stat().st_size > 1000 and (d / "layers_kws_nucleo-l4r5zi.png").exists()
    assert all(f.exists() for f in files)
    assert "kws" in summary_table(data["results"])


def test_compare_passes_identical_and_improved_runs(tmp_path):
    base = save(tmp_path, "base", [record()])
    same = save(tmp_path, "same", [record(cycles=990_000, layers=((0, "CONV_2D", 590_000), (1, "FULLY_CONNECTED", 400_000)))])
    r = vbench("compare", base, same)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no regression" in r.stdout


def test_compare_fails_on_a_grown_layer_and_names_it(tmp_path):
    base = save(tmp_path, "base", [record()])
    # total +1.5 %, all of it in layer 1
    slow = save(tmp_path, "slow", [record(cycles=1_015_000, layers=((0, "CONV_2D", 600_000), (1, "FULLY_CONNECTED", 415_000)))])
    r = vbench("compare", base, slow)
    assert r.returncode == 1
    assert "kws/nucleo-l4r5zi" in r.stdout and "1 FULLY_CONNECTED" in r.stdout
    assert "layer 0 CONV_2D" not in r.stdout.split("regressions:")[1]
    assert vbench("compare", base, slow, "--max-regression", "5").returncode == 0


def test_compare_energy_threshold_is_separate(tmp_path):
    base = save(tmp_path, "base", [record()])
    hot = save(tmp_path, "hot", [record(energy=103.0)])
    assert vbench("compare", base, hot).returncode == 1
    assert vbench("compare", base, hot, "--max-energy-regression", "5").returncode == 0


def test_compare_incompatible_or_broken_inputs_exit_2(tmp_path):
    base = save(tmp_path, "base", [record()])
    other = save(tmp_path, "other", [record(workload="vww")])
    assert vbench("compare", base, other).returncode == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = vbench("compare", base, bad)
    assert r.returncode == 2 and "bad.json" in r.stderr
    assert vbench("compare", base, tmp_path / "missing").returncode == 2


def test_interrupted_write_keeps_the_previous_results(tmp_path, monkeypatch):
    d = save(tmp_path, "out", [record()])
    before = (d / "results.json").read_text()
    import vbench.report_io as rio

    real_replace = os.replace

    def crash(src, dst):
        if str(dst).endswith("results.json"):
            raise KeyboardInterrupt  # simulated interruption just before the final rename
        real_replace(src, dst)

    monkeypatch.setattr(rio.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_result_set(d, make_result_set([record(cycles=7)]), plots=False)
    assert (d / "results.json").read_text() == before
    assert not [p for p in d.iterdir() if p.name.startswith(".")]  # no temporary file left behind
