"""Third-party firmware that vbench did not build: TensorFlow Lite Micro 2.3.1 with CMSIS-NN and with
TFLM's reference kernels, the four MLPerf Tiny models, built like the v0.5 reference submission for
the Nucleo-L4R5ZI (../shared/firmware/tflm-2.3.1, not in the repository: skipped where absent).
Each runs to a clean semihosting exit and prints TFLite's output hash (the folder's README), and
`tflite::MicroInterpreter::Invoke` issues exactly the instructions the README lists."""

from pathlib import Path

import pytest

from vbench.platform import load_platform
from vbench.sim.board import Board

TFLM = Path(__file__).resolve().parents[1].parent / "shared" / "firmware" / "tflm-2.3.1"
# firmware -> (issued instructions per Invoke(), out_fnv1a), from the folder's README.md
EXPECTED = {
    "kws_cmsis": (13_139_561, 265033096), "kws_ref": (252_603_192, 265033096),
    "vww_cmsis": (42_194_329, 979336969), "vww_ref": (714_908_858, 979336969),
    "ic_cmsis": (49_392_758, 83131075), "ic_ref": (1_088_773_512, 83131075),
    "ad_cmsis": (742_689, 122340853), "ad_ref": (4_067_060, 122340853),
}


@pytest.mark.skipif(not TFLM.is_dir(), reason="../shared/firmware/tflm-2.3.1 is not present")
@pytest.mark.parametrize("name", sorted(EXPECTED, key=lambda n: EXPECTED[n][0]))
def test_tflm_firmware_runs_bit_exact_with_its_instruction_count(name):
    instructions, digest = EXPECTED[name]
    board = Board(load_platform("nucleo-l4r5zi"), TFLM / f"{name}.elf")
    try:
        watch = board.watch_calls("tflite::MicroInterpreter::Invoke")
        r = board.run()
        calls = watch.calls
    finally:
        board.close()
    assert r.exit == "exit" and r.exit_code == 0, r.message
    lines = [line for line in r.uart.splitlines() if line.startswith("inference ")]
    assert len(lines) == 3 and all(line.endswith(f"out_fnv1a {digest}") for line in lines), r.uart[-400:]
    assert "DONE" in r.uart
    assert len(calls) == 3
    # vbench counts an IT instruction and the IT-block instructions whose condition fails, as the
    # README's "issued" count does; the call watch starts at Invoke's first instruction and ends at
    # its return, so the BL into it and the reads of CYCCNT around it (3 instructions) are outside.
    assert all(c.instructions == instructions - 3 for c in calls), [c.instructions for c in calls]
    # the firmware's own DWT reading brackets the call: a few cycles more than the call itself
    reported = [int(line.split()[3]) for line in lines]
    assert all(0 < rep - c.cycles < 32 for rep, c in zip(reported, calls)), (reported, [c.cycles for c in calls])
