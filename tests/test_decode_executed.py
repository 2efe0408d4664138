"""Code is decoded from the bytes that execute: literal pools between functions, data in .text,
code copied to SRAM at run time and code overwritten and run again are all decoded and timed.
Exact counts follow the Cortex-M4 TRM Table 3-1 classes of tests/platforms/bare-m4.toml."""

from pathlib import Path

from vbench.platform import load_platform
from vbench.sim.board import Board

from asm import assemble_arm, assemble_rv

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"
BARE_RV = Path(__file__).parent / "platforms" / "bare-rv.toml"


def run(tmp_path, body, sets=(), platform=BARE, asm=assemble_arm):
    board = Board(load_platform(platform, list(sets)), asm(tmp_path, body))
    r = board.run()
    regs = [board.backend.reg(i) for i in range(13 if asm is assemble_arm else 32)]
    board.close()
    assert r.exit == "exit", r.message
    return r, regs


# A data word after a function whose high halfword is a 32-bit Thumb prefix (0xF000, the first
# half of BL): a linear sweep pairs it with the next function's first instruction and loses sync.
POOL_THEN_FUNCTION = """
    bl after_pool
    adds r4, r0, #0
    b done
    .balign 4
pool:
    .word 0xF000F000
    .hword 0xF000
    .thumb_func
after_pool:
    movs r0, #7
    adds r0, r0, #1
    bx lr
done:
"""


def test_code_after_a_literal_pool_that_looks_like_an_instruction_prefix(tmp_path):
    r, regs = run(tmp_path, POOL_THEN_FUNCTION)
    assert regs[4] == 8
    # bl 1+P, movs, adds, bx 1+P, adds, b 1+P: 3 + 1 + 1 + 3 + 1 + 3, then the exit (1 + 2 + 1)
    assert r.instructions == 6 + 3
    assert r.cycles == 12 + 4


def test_literal_loads_and_a_jump_table_in_text(tmp_path):
    body = """
    ldr r4, =0x12345678
    movs r1, #2
    tbb [pc, r1]
table:
    .byte 0x02, 0x04, (case2 - table) / 2, 0xFF
    .balign 2
case2:
    ldr r2, =0xCAFEF00D
    b 1f
    .ltorg
1:
"""
    r, regs = run(tmp_path, body)
    assert regs[4] == 0x12345678 and regs[2] == 0xCAFEF00D
    # ldr 2, movs 1, tbb 2+P(2) = 4, ldr 2, b 1+P = 3
    assert r.instructions == 5 + 3
    assert r.cycles == 2 + 1 + 4 + 2 + 3 + 4


# Copy a function assembled into .text (flash) to SRAM word by word, then call the copy.
COPY_TO_SRAM = """
    ldr r0, =src
    ldr r1, =0x20001000
    movs r2, #(src_end - src) / 4
1:  ldr r3, [r0], #4
    str r3, [r1], #4
    subs r2, r2, #1
    bne 1b
    dsb
    isb
    ldr r0, =0x20001001
    blx r0
    mov r5, r0
    b done
    .ltorg
    .balign 4
src:
    movs r0, #0
    movs r1, #20
2:  adds r0, r0, r1
    subs r1, r1, #1
    bne 2b
    bx lr
    .balign 4
src_end:
done:
"""


def test_code_copied_to_sram_runs_and_is_timed_as_sram(tmp_path):
    slow, regs = run(tmp_path, COPY_TO_SRAM, ["flash.wait_states=5", "flash.icache=false", "flash.prefetch=false"])
    fast, _ = run(tmp_path, COPY_TO_SRAM, ["flash.wait_states=0"])
    assert regs[5] == sum(range(1, 21))
    # the copied function: movs, movs, 20 x (adds, subs, bne) with bne taken 19 times, bx
    copied_insns, copied_cycles = 2 + 60 + 1, 2 + 20 * 2 + 19 * 3 + 1 + 3
    copy_loop = 3 * 4  # ldr, str, subs, bne per word, 3 words
    assert fast.instructions == slow.instructions == 3 + copy_loop + 2 + 2 + copied_insns + 2 + 3
    # at 0 wait states: ldr 2, ldr 2 (pipelined: 1), movs 1; per word ldr 2, str 1, subs 1, bne 1+P = 3 (last word: 1);
    # dsb 1, isb 1+P, ldr 2, blx 1+P, mov 1, b 1+P, exit 4
    assert fast.cycles == 2 + 1 + 1 + (2 * 7 + 5) + 1 + 3 + 2 + 3 + copied_cycles + 1 + 3 + 4
    # The SRAM copy runs without flash stalls: every extra cycle at 5 wait states is a flash stall of
    # code still in flash (the copy loop and the calls around it), none of the copied function's.
    assert slow.cycles - fast.cycles == slow.stalls["flash"]
    assert slow.stalls["flash"] < 5 * 20


SELF_MODIFYING = """
    ldr r0, =0x20001000
    ldr r1, =0x47702001       @ movs r0, #1 ; bx lr
    str r1, [r0]
    dsb
    isb
    ldr r6, =0x20001001
    blx r6
    mov r4, r0
    ldr r0, =0x20001000
    movw r1, #0x2020
    strh r1, [r0]             @ the first instruction becomes `movs r0, #0x20`
    dsb
    isb
    blx r6
    mov r5, r0
    b done
    .ltorg
done:
"""


def test_code_overwritten_in_sram_is_decoded_again(tmp_path):
    r, regs = run(tmp_path, SELF_MODIFYING)
    assert regs[4] == 1 and regs[5] == 0x20
    # ldr ldr str dsb isb ldr blx, [movs bx], mov ldr movw strh dsb isb, blx, [movs bx], mov b, exit
    assert r.instructions == 7 + 2 + 6 + 1 + 2 + 2 + 3


def test_rv32_code_overwritten_is_decoded_again(tmp_path):
    body = """
    la t0, fn
    li t1, 0x00200513          # addi a0, x0, 2
    call fn
    mv s0, a0
    sw t1, 0(t0)
    fence
    call fn
    mv s1, a0
1:  j 1b
fn:
    addi a0, x0, 1
    ret
"""
    board = Board(load_platform(BARE_RV), assemble_rv(tmp_path, body))
    r = board.run()
    s0, s1 = board.backend.reg(8), board.backend.reg(9)
    board.close()
    assert r.exit == "halt", r.message
    assert (s0, s1) == (1, 2)


def test_a_store_into_flash_code_is_a_fault_naming_the_address(tmp_path):
    body = """
    ldr r0, =target
    movs r1, #0
    str r1, [r0]
    b 1f
    .ltorg
target:
    nop
    nop
1:
"""
    board = Board(load_platform(BARE), assemble_arm(tmp_path, body))
    r = board.run()
    board.close()
    assert r.exit == "fault"
    assert "store to flash address 0x080000" in r.message and "PC 0x08" in r.message
