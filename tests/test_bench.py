"""`vbench bench` runs the same firmware raw, accounted and counting only, and they must agree
(instructions, checksum). Speed itself is a benchmark figure, never asserted here."""

import json
import subprocess
import sys

import pytest


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_bench_json_contract(platform):
    r = subprocess.run([sys.executable, "-m", "vbench", "bench", "--platform", platform, "--iterations", "20", "--json"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["platform"] == platform
    assert out["instructions"] > 1_000_000 and out["cycles"] >= out["instructions"]
    for key in ("mips_raw", "mips_accounted", "ratio", "mips_counting_only", "ratio_counting_only"):
        assert out[key] > 0, key
