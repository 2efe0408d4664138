"""Cycle counters read in the middle of a block equal vbench's count at the reading instruction,
with every stall charged to the instructions before it, and nothing charged to those after it.
DWT CYCCNT on the Nucleo (ARMv7-M ARM DDI0403E §C1.8.8); the sequences are Cortex-M4 TRM
Table 3-1 straight-line code."""

from pathlib import Path

import pytest

from vbench.platform import load_platform
from vbench.sim.board import Board

from asm import assemble_arm

DWT_ON = """
    ldr r0, =0xE000EDFC       @ DEMCR.TRCENA
    ldr r1, [r0]
    orr r1, r1, #0x01000000
    str r1, [r0]
    ldr r0, =0xE0001000       @ DWT_CTRL.CYCCNTENA
    ldr r1, [r0]
    orr r1, r1, #1
    str r1, [r0]
    ldr r3, =0xE0001004       @ DWT_CYCCNT
    b 1f
    .ltorg
    .balign 8
1:  ldr r4, [r3]              @ first read: a 16-bit load, then three nops fill its 8-byte flash word
    nop
    nop
    nop
"""
AFTER = """
    ldr r5, [r3]              @ second read
    subs r6, r5, r4
"""
ART_OFF_5WS = ["flash.wait_states=5", "flash.prefetch=false", "flash.icache=false", "flash.dcache=false"]


def delta(tmp_path, body: str, sets=()) -> int:
    elf = assemble_arm(tmp_path, DWT_ON + body + AFTER, name="dwt")
    board = Board(load_platform("nucleo-l4r5zi", list(sets)), elf)
    r = board.run()
    value = board.backend.reg(6)
    board.close()
    assert r.exit == "exit", r.message
    return value


@pytest.mark.parametrize("insn", ["adds r1, r1, #1", "muls r1, r2, r1", "smlad r1, r2, r7, r1"])
def test_hundred_single_cycle_instructions_read_as_a_hundred_cycles(tmp_path, insn):
    empty = delta(tmp_path, "")
    # the first read's LDR (2) and three NOPs (1 each) come before the second read
    assert empty == 2 + 3
    assert delta(tmp_path, f"    {insn}\n" * 100) - empty == 100


@pytest.mark.parametrize("insn,width", [("adds r1, r1, #1", 2), ("muls r1, r2, r1", 2), ("smlad r1, r2, r7, r1", 4)])
def test_wait_states_show_in_straight_line_code(tmp_path, insn, width):
    """ART off at LATENCY 5: each 8-byte flash word costs 5 wait cycles before it issues
    (RM0432 §3.3.2 read latency; no prefetch, no cache), the second read's word included."""
    empty = delta(tmp_path, "", ART_OFF_5WS)
    assert empty == 2 + 3 + 5
    words = 100 * width // 8
    got = delta(tmp_path, f"    {insn}\n" * 100, ART_OFF_5WS)
    assert got - empty == 100 + 5 * words
    assert 0 < got < 1 << 31  # never a wrapped (negative) delta


def test_counter_never_runs_backwards_across_blocks_and_calls(tmp_path):
    """Deltas of CYCCNT around a call, a loop and a taken branch equal vbench's cycle count."""
    body = """
    movs r2, #10
2:  muls r1, r2, r1
    subs r2, r2, #1
    bne 2b
    bl leaf
    b 3f
leaf:
    adds r1, r1, #1
    bx lr
3:
"""
    got = delta(tmp_path, body, ART_OFF_5WS)
    fast = delta(tmp_path, body)
    # at 0 wait states: movs 1, 10 x (muls, subs, bne) with 9 taken (1+2) and one not (1),
    # bl 1+2, adds 1, bx 1+2, b 1+2, then the three NOPs and the first read's LDR
    assert fast == 5 + 1 + 10 * 2 + 9 * 3 + 1 + 3 + 1 + 3 + 3
    assert got > fast and got < 1 << 31
