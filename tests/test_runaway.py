"""Firmware that would not end by itself still ends: a budget of simulated board time, WFI with
nothing that can wake the core, and Ctrl-C / SIGTERM while the run is busy in native code."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vbench.platform import load_platform
from vbench.sim.board import run_firmware

from asm import assemble_arm

BUSY = "1:  adds r0, r0, #1\n    b 1b\n"  # no `b .`: never a self-loop


def test_time_budget_ends_a_busy_loop_at_the_board_time(tmp_path):
    r = run_firmware(assemble_arm(tmp_path, BUSY, exit_seq=False), load_platform("nucleo-l4r5zi", ["run.max_seconds=0.001"]))
    assert r.exit == "budget" and "simulated time budget of 0.001 s" in r.message
    # MSI 4 MHz after reset: 1 ms is 4000 cycles; the run ends at the first block boundary past it
    assert 4000 <= r.cycles < 4000 + 8
    assert abs(r.time_s - 0.001) < 1e-5


def test_wfi_with_nothing_to_wake_the_core_halts_at_once(tmp_path):
    r = run_firmware(assemble_arm(tmp_path, "    wfi\n    b .\n", exit_seq=False), load_platform("nucleo-l4r5zi"))
    assert r.exit == "halt" and "WFI" in r.message, r.message
    assert r.instructions == 1 and r.wall_s < 5


def test_wfi_loop_on_rv32_halts(tmp_path):
    from asm import assemble_rv

    r = run_firmware(assemble_rv(tmp_path, "1:  wfi\n    j 1b\n"), load_platform(Path(__file__).parent / "platforms" / "bare-rv.toml"))
    assert r.exit == "halt" and "WFI" in r.message and r.instructions == 1


def test_ctrl_c_stops_a_busy_native_run_promptly(tmp_path):
    elf = assemble_arm(tmp_path, BUSY, exit_seq=False)
    p = subprocess.Popen([sys.executable, "-m", "vbench", "exec", str(elf), "--platform", "nucleo-l4r5zi",
                          "--set", "run.max_seconds=100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # well inside the busy loop (the interpreter and the board start first)
    assert p.poll() is None
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=30)
    assert time.monotonic() - t0 < 1.0
    assert p.returncode == 130 and "interrupted" in err and "Traceback" not in err


# Reads USART2's ISR, then the register after PRESC (0x30), which no model implements.
USART_READS = """
    ldr r1, =0x40004400
    ldr r0, [r1, #0x1c]
    ldr r0, [r1, #0x30]
"""


def test_peripheral_access_errors_reach_the_caller(tmp_path, monkeypatch):
    """MMIO callbacks go through the C API (vbench/sim/backend_unicorn.py): the firmware's access to
    an unmodelled register is a fault naming it, and a bug in a model is raised, not swallowed."""
    elf = assemble_arm(tmp_path, USART_READS)
    r = run_firmware(elf, load_platform("nucleo-l4r5zi"))
    assert r.exit == "fault" and "usart2+0x30" in r.message and "0x40004430" in r.message, r.message
    assert "at PC 0x0800000c" in r.message, r.message  # the second load, not the ISR read before it

    from vbench.sim.peripherals import stm32_usart

    def broken(self):
        raise ZeroDivisionError("a bug in the USART model")

    monkeypatch.setattr(stm32_usart.Stm32UniversalSyncAsyncReceiverTransmitter, "isr", broken)
    with pytest.raises(ZeroDivisionError, match="a bug in the USART model"):
        run_firmware(elf, load_platform("nucleo-l4r5zi"))
