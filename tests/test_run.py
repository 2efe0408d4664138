"""`vbench run` end to end on the smallest workload: records with the contract keys, deterministic
figures, report files; bad options rejected before any simulation."""

import json
import subprocess
import sys


def vbench(*args):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True)


def test_run_ad_twice_gives_identical_figures(tmp_path):
    outs = []
    for name in ("a", "b"):
        r = vbench("run", "--workload", "ad", "--mode", "performance,energy", "--out", tmp_path / name,
                   "--jobs", "1", "--no-plots")
        assert r.returncode == 0, r.stderr[-2000:]
        outs.append(json.loads((tmp_path / name / "results.json").read_text()))
    a, b = outs
    for ra, rb in zip(a["results"], b["results"]):
        for key in ("latency_ms", "energy_uj", "cycles", "instructions", "firmware_sha256", "model_sha256"):
            assert ra[key] == rb[key], key
    perf = next(r for r in a["results"] if r["mode"] == "performance")
    assert perf["workload"] == "ad" and perf["platform"] == "nucleo-l4r5zi"
    assert 5 < perf["latency_ms"] < 100 and perf["energy_uj"] > 0 and perf["exact"]
    assert [layer["op"] for layer in perf["layers"]][:1] == ["FULLY_CONNECTED"] and len(perf["layers"]) == 10
    assert sum(layer["cycles"] for layer in perf["layers"]) <= perf["cycles"]
    assert (tmp_path / "a" / "report.md").exists() and (tmp_path / "a" / "results.csv").exists()
    assert "ad" in vbench("compare", tmp_path / "a", tmp_path / "b").stdout


def test_run_rejects_bad_options_before_simulating(tmp_path):
    r = vbench("run", "--workload", "kws,xyz", "--out", tmp_path)
    assert r.returncode == 2 and "xyz" in r.stderr
    r = vbench("run", "--mode", "accuracy", "--out", tmp_path)
    assert r.returncode == 2 and "--dataset" in r.stderr
    r = vbench("run", "--set", "flash.wait_statez=3", "--out", tmp_path)
    assert r.returncode == 2 and "wait_states" in r.stderr
