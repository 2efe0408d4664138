"""Exact instruction and cycle counts of hand-written Thumb-2 sequences."""

from pathlib import Path

import pytest

from vbench.errors import VbenchError
from vbench.platform import load_platform
from vbench.sim.board import run_firmware

from asm import assemble_arm

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"
EXIT_INSNS = 3  # movs, ldr (literal), bkpt
EXIT_CYCLES = 1 + 2 + 1  # movs 1, ldr 2, bkpt 1 (system)


def run(tmp_path, body, **kw):
    return run_firmware(assemble_arm(tmp_path, body), load_platform(BARE), **kw)


def test_straight_line_count_and_cycles(tmp_path):
    r = run(tmp_path, "    adds r0, r0, #1\n" * 10)
    assert r.exit == "exit" and r.exit_code == 0
    assert r.instructions == 10 + EXIT_INSNS
    assert r.cycles == 10 + EXIT_CYCLES


def test_counted_loop(tmp_path):
    # 1 mov + 10 x (subs, bne) ; bne taken 9 times (1 + P = 3), not taken once (1)
    r = run(tmp_path, "    movs r2, #10\n1:  subs r2, r2, #1\n    bne 1b\n")
    assert r.instructions == 1 + 20 + EXIT_INSNS
    assert r.cycles == 1 + 10 * 1 + 9 * 3 + 1 + EXIT_CYCLES
    assert r.stalls["branch"] == 9 * 2


def test_it_block_with_failed_conditions_counts_every_instruction(tmp_path):
    body = """
    movs r0, #1
    cmp r0, #2
    ite eq
    moveq r1, #1
    movne r1, #2
    itt eq
    addeq r1, r1, #5
    addeq r1, r1, #6
"""
    r = run(tmp_path, body)
    assert r.instructions == 8 + EXIT_INSNS
    assert r.cycles == 8 + EXIT_CYCLES


def test_ldr_pipelining_and_address_dependency(tmp_path):
    body = """
    ldr r1, =0x20000000
    ldr r2, =0x20000010
    ldr r0, [r1]
    ldr r3, [r2]
    ldr r4, [r1, #4]
    nop
    mov r5, r1
    ldr r6, [r5]
"""
    r = run(tmp_path, body)
    # two literal LDRs pipeline (2 + 1), three independent LDRs pipeline (2 + 1 + 1) after them
    # (the first of them also follows an LDR), nop 1, mov 1, LDR with an address from the mov: 2 + 1 AGU stall
    expected = (2 + 1) + (1 + 1 + 1) + 1 + 1 + (2 + 1)
    assert r.instructions == 8 + EXIT_INSNS
    assert r.cycles == expected + EXIT_CYCLES


def test_same_elf_twice_is_identical(tmp_path):
    elf = assemble_arm(tmp_path, "    movs r2, #200\n1:  subs r2, r2, #1\n    bne 1b\n")
    a = run_firmware(elf, load_platform(BARE))
    b = run_firmware(elf, load_platform(BARE))
    assert (a.instructions, a.cycles, a.energy_uj) == (b.instructions, b.cycles, b.energy_uj)


def test_budget_stops_an_infinite_loop(tmp_path):
    r = run(tmp_path, "    movs r0, #0\n1:  adds r0, r0, #1\n    b 1b\n", max_instructions=100_000)
    assert r.exit == "budget"
    assert 100_000 <= r.instructions < 100_010
    assert "budget" in r.message


def test_self_loop_is_a_halt(tmp_path):
    r = run(tmp_path, "    cpsid i\n1:  b 1b\n")
    assert r.exit == "halt"


@pytest.mark.parametrize("body, words", [
    ("    ldr r0, =0x30000000\n    ldr r1, [r0]\n", ["read of unmapped", "0x30000000", "_start"]),
    ("    ldr r0, =0x30000000\n    str r1, [r0]\n", ["write to unmapped", "0x30000000"]),
    ("    udf #0\n", ["UsageFault", "_start"]),
    ("    ldr r0, =0x08000400\n    str r0, [r0]\n", ["store to flash", "0x08000400"]),
])
def test_faults_name_address_and_symbol(tmp_path, body, words):
    r = run(tmp_path, body)
    assert r.exit == "fault"
    for w in words:
        assert w in r.message


def test_malformed_elf_is_rejected_with_file_name(tmp_path):
    bad = tmp_path / "broken.elf"
    bad.write_bytes(b"\x7fELF" + b"\x01\x01\x01" + b"\0" * 9 + b"\x02\x00")
    with pytest.raises(VbenchError, match="broken.elf"):
        run_firmware(bad, load_platform(BARE))


def test_wrong_architecture_is_rejected(tmp_path):
    elf = assemble_arm(tmp_path, "    nop\n")
    with pytest.raises(VbenchError, match="cannot run on rv32imaf-mcu"):
        run_firmware(elf, load_platform("rv32imaf-mcu"))


def test_scheduled_events_do_not_perturb_the_counts(tmp_path):
    """Stopping Unicorn for a timer event and resuming must neither lose nor repeat a block."""
    from vbench.sim.board import Board

    elf = assemble_arm(tmp_path, "    movs r2, #200\n1:  adds r3, r3, r2\n    subs r2, r2, #1\n    bne 1b\n")
    plain = run_firmware(elf, load_platform(BARE))
    board = Board(load_platform(BARE), elf)
    fired = []

    def tick():
        fired.append(board.now()[0])
        board.schedule(fired[-1] + 37, tick)

    board.schedule(50, tick)
    r = board.run()
    board.close()
    assert len(fired) > 10
    assert (r.instructions, r.cycles) == (plain.instructions, plain.cycles)
