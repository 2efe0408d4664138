"""The shipped boards run real firmware: the vbench demo (UART round trip) and a firmware written
only against the RM0432 register map (clock tree, flash latency, LPUART1, DWT)."""

import re

import pytest

from vbench.firmware import build_firmware
from vbench.platform import load_platform
from vbench.sim.board import Board


def test_register_level_firmware_sets_up_the_reference_clock_and_reads_dwt():
    plat = load_platform("nucleo-l4r5zi")
    board = Board(plat, build_firmware("bare_rm0432", plat))
    dwt = board.peripheral("dwt")
    reads = []
    real_read = dwt.read_word

    def spy(reg):
        value = real_read(reg)
        if reg == 0x4:  # DWT_CYCCNT: what vbench's own count says at that instruction
            reads.append((value, board.now()[0]))
        return value

    dwt.read_word = spy
    r = board.run()
    board.close()
    assert r.exit == "exit" and r.exit_code == 0, r.message
    assert "bare: hclk=120000000 pclk1=60000000 flash_acr=0x00000705" in r.uart  # LATENCY 5, PRFTEN, ICEN, DCEN
    assert r.clock_hz == 120_000_000 and board.flash_model.acr[0] == 5
    printed = int(re.search(r"cycles=(\d+)", r.uart)[1])
    (v0, c0), (v1, c1) = reads[-2:]
    assert printed == v1 - v0 == c1 - c0


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_demo_prints_its_own_cycle_count_and_echoes_uart_input(platform):
    plat = load_platform(platform)
    board = Board(plat, build_firmware("demo", plat), uart_input=b"hello vbench\n")
    r = board.run()
    board.close()
    assert r.exit == "exit" and r.exit_code == 0
    assert "echo: hello vbench" in r.uart
    assert re.search(r"loop=10000 cycles=\d+ checksum=0x6e00278c", r.uart)
    assert r.cycles > r.instructions > 10_000


def test_budget_on_a_real_board_reports_where_it_stopped():
    plat = load_platform("nucleo-l4r5zi")
    board = Board(plat, build_firmware("demo", plat), max_instructions=5_000)
    r = board.run()
    board.close()
    assert r.exit == "budget" and "PC 0x08" in r.message


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_energy_is_linear_in_the_reported_features(platform):
    """Calibration fits the power model on these features, so they must reproduce the energy."""
    from vbench.power import load_power_model
    from vbench.sim.board import run_firmware
    from vbench.sim.energy_classes import ENERGY_CLASSES

    plat = load_platform(platform)
    r = run_firmware(build_firmware("demo", plat), plat)
    pm, f = load_power_model(plat), r.features
    charge_pc = (sum(f[f"cycles_{c}"] * pm.class_pc[c] for c in ENERGY_CLASSES) + f["stall_cycles"] * pm.stall_pc
                 + f["flash_reads"] * pm.flash_read_pc + f["sram_reads"] * pm.sram_read_pc
                 + f["sram_writes"] * pm.sram_write_pc)
    energy_uj = pm.supply_v * (charge_pc * 1e-6 + pm.static_ua * f["time_s"])
    assert energy_uj == pytest.approx(r.energy_uj, rel=1e-4)


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_firmware_waiting_for_uart_input_hands_control_back(platform):
    """A firmware blocked on an empty receiver pauses the run (for a host harness) instead of
    spinning to the instruction budget; fed a line, it continues where it was."""
    plat = load_platform(platform)
    board = Board(plat, build_firmware("demo", plat, defines=["DEMO_WAIT_FOR_INPUT=1"]), max_instructions=50_000_000)
    assert board.run(until_input=True) is None  # waiting: the host's turn
    before = board.uart_output()
    board.feed_console(b"late line\n")
    r = board.run()
    board.close()
    assert r.exit == "exit", r.message
    assert b"echo: late line" in board.uart_output() and len(board.uart_output()) > len(before)
