"""The serial path: a second process runs the virtual board and bridges its console UART to a
pseudo-terminal; the runner drives it through SerialTransport (pyserial), exactly as it would a
real board on /dev/ttyACM0, and must get the same answers as over the virtual transport."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

PLATFORM = "nucleo-l4r5zi"
REPO = Path(__file__).resolve().parent.parent
AD_SAMPLE = Path("/work/shared/datasets/ad01/normal_id_01_00000000_hist_librosa.bin")


def _ad_dataset(root: Path) -> Path:
    """A tiny ad01 folder in the EEMBC layout: 4 files of one 2560-byte window each, two
    'normal' windows and two with a strong offset (labelled anomalous)."""
    from vbench.harness.dataset import synthetic_input

    folder = root / "ad01"
    folder.mkdir(parents=True)
    base = AD_SAMPLE.read_bytes() if AD_SAMPLE.is_file() else synthetic_input("ad01", 0, 102400)
    rows = []
    for i in range(4):
        x = np.frombuffer(base[i * 512:i * 512 + 2560], "<f4").copy()
        anomalous = i % 2
        if anomalous:
            x += np.float32(12.0)
        (folder / f"w{i}.bin").write_bytes(x.astype("<f4").tobytes())
        rows.append(f"w{i}.bin,2,{anomalous},2560,512")
    (folder / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture()
def bridged_board():
    """(pty path, bridge process): the ad01 harness on a virtual Nucleo in another process."""
    from vbench.firmware import toolchain_of
    from vbench.harness.build import build_harness
    from vbench.harness.transport import open_pty_pair
    from vbench.platform import load_platform

    if shutil.which(toolchain_of(load_platform(PLATFORM)).gcc) is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    pytest.importorskip("serial")
    elf = build_harness("ad01", PLATFORM)
    master, slave, path = open_pty_pair()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vbench.harness.bridge", "--platform", PLATFORM, "--elf", str(elf),
         "--fd", str(master), "--hold-fd", str(slave)],
        pass_fds=(master, slave), cwd=REPO, stderr=subprocess.PIPE)
    os.close(master)
    os.close(slave)
    try:
        yield path, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_runner_over_a_pty_matches_the_virtual_transport(bridged_board, tmp_path):
    from vbench.harness.modes import SerialTarget, VirtualTarget, run_mode
    from vbench.harness.runner import Runner
    from vbench.harness.transport import SerialTransport

    path, proc = bridged_board
    root = _ad_dataset(tmp_path)

    runner = Runner(SerialTransport(path))
    info = runner.connect()
    assert (info.name, info.vendor, info.model_id) == ("dut", "unspecified", "ad01")
    data = (root / "ad01" / "w0.bin").read_bytes()
    runner.load(data)
    result = runner.infer(1, 0)
    assert result.elapsed_us is not None and result.elapsed_us > 0 and result.window_s is None
    assert runner.results() == result.results
    runner.close()

    serial = run_mode("accuracy", SerialTarget(path), root)
    virtual = run_mode("accuracy", VirtualTarget("ad01", PLATFORM), root, workers=1)
    assert proc.poll() is None, "the bridge process ended early"
    assert serial["model_id"] == "ad01" and serial["target"]["kind"] == "serial"
    assert [p["score"] for p in serial["predictions"]] == [p["score"] for p in virtual["predictions"]]
    assert serial["predictions"][0]["score"] == result.results[0]
    assert serial["auc"] == virtual["auc"] == 1.0
