"""RV32: exact instruction and cycle counts (CV32E40P table), and the counter CSRs the firmware
reads come from vbench's own count, not from the host clock."""

from pathlib import Path

from vbench.platform import load_platform
from vbench.sim.board import Board

from asm import assemble_rv

BARE = Path(__file__).parent / "platforms" / "bare-rv.toml"
RESULT = 0x00810000


def run(tmp_path, body):
    board = Board(load_platform(BARE), assemble_rv(tmp_path, body))
    r = board.run()
    words = [int.from_bytes(board.uc.mem_read(RESULT + 4 * i, 4), "little") for i in range(4)]
    board.close()
    return r, words


def test_counted_loop_then_counter_csrs(tmp_path):
    body = """
    li t0, 5
1:  addi t0, t0, -1
    bnez t0, 1b
    csrr a0, mcycle
    csrr a1, minstret
    lui t1, 0x810
    sw a0, 0(t1)
    sw a1, 4(t1)
2:  j 2b
"""
    r, (mcycle, minstret, _, _) = run(tmp_path, body)
    assert r.exit == "halt"
    # li 1; 5 x (addi 1 + bnez 1), 4 taken (+2 each)
    assert mcycle == 1 + 5 * 2 + 4 * 2
    # instructions before the minstret read: li, 10 loop, csrr mcycle
    assert minstret == 12
    # csrr mcycle/minstret take 4 cycles each; lui, sw, sw 1 each; the `j .` runs twice before the
    # self-loop is recognised (once falling into it, once jumping to itself), 2 cycles each
    assert r.instructions == 12 + 1 + 3 + 2
    assert r.cycles == 19 + 4 + 4 + 3 + 2 * 2


def test_load_use_stall_and_mulh_and_divide(tmp_path):
    body = """
    lui t1, 0x810
    li t2, 7
    sw t2, 8(t1)
    lw t3, 8(t1)
    addi t4, t3, 1
    mulh t5, t2, t2
    li a2, 1000
    li a3, 10
    divu a4, a2, a3
    csrr a0, mcycle
    sw a0, 0(t1)
3:  j 3b
"""
    r, (mcycle, _, _, _) = run(tmp_path, body)
    # lui 1, li 1, sw 1, lw 1, addi 1 + 1 load-use, mulh 5, li 1, li 1,
    # divu 3 + clz(10) = 3 + 28 = 31
    assert mcycle == 1 + 1 + 1 + 1 + 2 + 5 + 1 + 1 + 31
    assert r.stalls["load_use"] == 1 and r.stalls["divide"] == 28


def test_same_image_twice_is_identical(tmp_path):
    body = "    li t0, 300\n1:  addi t0, t0, -1\n    bnez t0, 1b\n2:  j 2b\n"
    a, _ = run(tmp_path, body)
    b, _ = run(tmp_path, body)
    assert (a.instructions, a.cycles, a.energy_uj) == (b.instructions, b.cycles, b.energy_uj)
