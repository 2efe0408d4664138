"""The CI regression gate end to end: a deliberately slowed kernel (a variant directory whose
FULLY_CONNECTED wastes cycles) is caught by `vbench compare --allow-differ firmware`, which names the
workload and layers (without the option the changed firmware alone makes it exit 2)."""

import subprocess
import sys
from pathlib import Path

REFERENCE_FC = Path(__file__).resolve().parent.parent / "firmware" / "kernels" / "reference" / "fully_connected.c"


def vbench(*args):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True)


def test_slowed_kernel_is_reported_as_a_regression(tmp_path):
    slow = tmp_path / "slow_kernels"
    slow.mkdir()
    src = REFERENCE_FC.read_text()
    marker = "{\n"
    head, body = src.split(marker, 1)
    # the same arithmetic (bit-exact), plus a few thousand wasted cycles per call
    (slow / "fully_connected.c").write_text(
        head + marker + "    for (volatile int spin = 0; spin < 500; spin++) {\n    }\n" + body)
    run = ["run", "--workload", "ad", "--mode", "performance", "--jobs", "1", "--no-plots"]
    base = vbench(*run, "--kernels", "reference", "--out", tmp_path / "base")
    assert base.returncode == 0, base.stderr[-2000:]
    new = vbench(*run, "--kernels", slow, "--out", tmp_path / "new")
    assert new.returncode == 0, new.stderr[-2000:]
    # the kernels changed, so the firmware differs: the gate refuses that unless it is declared expected
    refused = vbench("compare", tmp_path / "base", tmp_path / "new")
    assert refused.returncode == 2 and "firmware differs" in refused.stdout and "--allow-differ firmware" in refused.stdout
    gate = vbench("compare", tmp_path / "base", tmp_path / "new", "--allow-differ", "firmware")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    verdict = gate.stdout.split("regressions:")[1]
    assert "ad/nucleo-l4r5zi" in verdict and "FULLY_CONNECTED" in verdict
    assert vbench("compare", tmp_path / "base", tmp_path / "base").returncode == 0
