"""ARMv7-M UsageFault traps that Unicorn does not raise on its own (vbench/_native/traps.c,
vbench/sim/cores/cortex_m4.py, ExceptionController.usage_fault): CCR.DIV_0_TRP, CCR.UNALIGN_TRP
and the always-faulting unaligned LDRD/STRD/LDM/STM/LDREX/STREX, on the Nucleo board, with
small bare-metal programs assembled by the real cross toolchain."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys

import pytest

from vbench.sim.board import Board

RAM = 0x2000_0000  # what the handlers record: [0] stacked PC, [4] CFSR, [8] handler runs, [12] HFSR
UNALIGNED, DIVBYZERO, FORCED = 1 << 24, 1 << 25, 1 << 30


def firmware(body: str, usage_vector: str = "usagefault + 1", hard_vector: str = "hardfault + 1") -> str:
    """A vector table with HardFault and UsageFault handlers that record what they see, count their
    runs and return past the (32-bit) faulting instruction; `body` runs in Thread mode, then exits."""
    return f"""
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20020000
    .word _start + 1
    .word 0
    .word {hard_vector}
    .word 0
    .word 0
    .word {usage_vector}
    .text
    .thumb_func
    .global _start
_start:
    ldr r2, =0x20000000
    movs r1, #0
    str r1, [r2]
    str r1, [r2, #4]
    str r1, [r2, #8]
    str r1, [r2, #12]
{body}
    movs r0, #0x18
    ldr r1, =0x20026
    bkpt 0xab
    .ltorg

    .macro record
    ldr r0, =0xE000ED28       @ CFSR
    ldr r1, [r0]
    ldr r2, =0x20000000
    str r1, [r2, #4]
    str r1, [r0]              @ write one to clear
    ldr r1, [r0, #4]          @ HFSR
    str r1, [r2, #12]
    str r1, [r0, #4]
    ldr r1, [sp, #24]         @ stacked return address: the faulting instruction
    str r1, [r2]
    adds r1, #4               @ return past it
    str r1, [sp, #24]
    ldr r1, [r2, #8]
    adds r1, #1
    str r1, [r2, #8]
    bx lr
    .ltorg
    .endm
    .thumb_func
usagefault:
    record
    .thumb_func
hardfault:
    record
    .thumb_func
retry:                        @ make the divisor (stacked r2) 1 and run the faulting instruction again
    movs r1, #1
    str r1, [sp, #8]
    ldr r0, =0xE000ED28
    ldr r1, [r0]
    str r1, [r0]
    ldr r2, =0x20000000
    str r1, [r2, #4]
    ldr r1, [sp, #24]
    str r1, [r2]
    ldr r1, [r2, #8]
    adds r1, #1
    str r1, [r2, #8]
    bx lr
    .ltorg
"""

ENABLE_USAGEFAULT = """
    ldr r0, =0xE000ED24       @ SHCSR.USGFAULTENA
    ldr r1, [r0]
    orr r1, r1, #(1 << 18)
    str r1, [r0]
"""


def set_ccr(bits: int) -> str:
    return f"""
    ldr r0, =0xE000ED14       @ CCR
    ldr r1, [r0]
    orr r1, r1, #{bits:#x}
    str r1, [r0]
    dsb
    isb
"""


def build(tmp_path, source: str):
    if shutil.which("arm-none-eabi-as") is None or shutil.which("arm-none-eabi-ld") is None:
        pytest.skip("arm-none-eabi binutils are not installed")
    src, obj, ld, elf = (tmp_path / n for n in ("t.S", "t.o", "t.ld", "t.elf"))
    src.write_text(source)
    ld.write_text("SECTIONS { . = 0x08000000; .text : { KEEP(*(.vectors)) *(.text*) } }\n")
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mthumb", str(src), "-o", str(obj)],
                   check=True)
    subprocess.run(["arm-none-eabi-ld", "-T", str(ld), str(obj), "-o", str(elf)], check=True)
    return elf


class Run:
    def __init__(self, tmp_path, source: str, timing: bool = True):
        board = Board("nucleo-l4r5zi", build(tmp_path, source), max_instructions=100_000, timing=timing)
        try:
            self.result = board.run()
            self.pc, self.cfsr, self.runs, self.hfsr, self.r5 = struct.unpack("<5I", board.uc.mem_read(RAM, 20))
            self.symbols = board.image.symbols
        finally:
            board.close()

    def at(self, label: str) -> int:
        return self.symbols[label] & ~1

    def exited(self) -> bool:
        return self.result.exit == "exit" and self.result.exit_code == 0


def divide(trap: bool, enable: bool = True) -> str:
    return (ENABLE_USAGEFAULT if enable else "") + (set_ccr(1 << 4) if trap else "") + """
    ldr r5, =0x1234
    movs r6, #7
    movs r7, #0
faulting:
    udiv r5, r6, r7
    ldr r2, =0x20000000
    str r5, [r2, #16]
"""


def test_divide_by_zero_traps_with_div_0_trp(tmp_path):
    run = Run(tmp_path, firmware(divide(trap=True)))
    assert run.exited(), run.result.message
    assert run.runs == 1 and run.cfsr == DIVBYZERO and run.hfsr == 0
    assert run.pc == run.at("faulting")
    assert run.r5 == 0x1234  # the divide did not execute
    assert run.result.stalls["exception"] > 0


def test_divide_by_zero_returns_zero_without_the_trap(tmp_path):
    for timing in (True, False):
        run = Run(tmp_path, firmware(divide(trap=False)), timing=timing)
        assert run.exited() and run.runs == 0 and run.cfsr == 0
        assert run.r5 == 0


def test_divide_trap_on_an_untimed_board(tmp_path):
    run = Run(tmp_path, firmware(divide(trap=True)), timing=False)
    assert run.exited() and run.runs == 1 and run.cfsr == DIVBYZERO and run.pc == run.at("faulting")


def test_divide_skipped_by_its_it_condition_does_not_trap(tmp_path):
    body = ENABLE_USAGEFAULT + set_ccr(1 << 4) + """
    ldr r5, =0x1234
    movs r6, #7
    movs r7, #0
    cmp r7, #0
    it ne
    udivne r5, r6, r7
    ldr r2, =0x20000000
    str r5, [r2, #16]
"""
    run = Run(tmp_path, firmware(body))
    assert run.exited() and run.runs == 0 and run.r5 == 0x1234


def test_fault_inside_an_it_block_returns_into_it(tmp_path):
    """The handler fixes the divisor and returns to the divide: the rest of the IT block must still
    follow its conditions, so the stacked xPSR carries the faulting instruction's ITSTATE."""
    body = ENABLE_USAGEFAULT + set_ccr(1 << 4) + """
    movs r1, #7
    movs r2, #0
    cmp r2, #0
    ite eq
faulting:
    udiveq r5, r1, r2
    movne r5, #9
    ldr r2, =0x20000000
    str r5, [r2, #16]
"""
    run = Run(tmp_path, firmware(body, usage_vector="retry + 1"))
    assert run.exited(), run.result.message
    assert run.runs == 1 and run.cfsr == DIVBYZERO and run.pc == run.at("faulting")
    assert run.r5 == 7  # 7 / 1, and the MOVNE skipped


def test_disabled_usagefault_escalates_to_hardfault(tmp_path):
    run = Run(tmp_path, firmware(divide(trap=True, enable=False)))
    assert run.exited(), run.result.message
    assert run.runs == 1 and run.cfsr == DIVBYZERO and run.hfsr == FORCED and run.pc == run.at("faulting")


def unaligned_single(trap: bool) -> str:
    return ENABLE_USAGEFAULT + (set_ccr(1 << 3) if trap else "") + """
    ldr r0, =0x20000101
    ldr r1, =0x44332211
    str r1, [r0, #-1]
    ldr r1, =0x88776655
    str r1, [r0, #3]
    ldr r5, =0x1234
faulting:
    ldr.w r5, [r0]
    ldr r2, =0x20000000
    str r5, [r2, #16]
"""


def test_unaligned_ldr_traps_with_unalign_trp(tmp_path):
    run = Run(tmp_path, firmware(unaligned_single(trap=True)))
    assert run.exited(), run.result.message
    assert run.runs == 1 and run.cfsr == UNALIGNED and run.pc == run.at("faulting") and run.r5 == 0x1234


def test_unaligned_ldr_works_without_the_trap(tmp_path):
    run = Run(tmp_path, firmware(unaligned_single(trap=False)))
    assert run.exited() and run.runs == 0 and run.r5 == 0x55443322


def test_unaligned_trap_set_after_the_access_was_decoded(tmp_path):
    """The same LDR runs before and after CCR.UNALIGN_TRP is set: the code already translated
    gets its hook when the bit changes."""
    body = ENABLE_USAGEFAULT + """
    ldr r0, =0x20000102
    movs r4, #0
again:
faulting:
    ldrh.w r5, [r0, #1]
    adds r4, #1
    cmp r4, #2
    beq done
""" + set_ccr(1 << 3) + """
    b again
done:
"""
    run = Run(tmp_path, firmware(body))
    assert run.exited(), run.result.message
    assert run.runs == 1 and run.cfsr == UNALIGNED and run.pc == run.at("faulting")


@pytest.mark.parametrize("insn", ["ldrd r2, r3, [r0]", "strd r2, r3, [r0, #4]", "ldm.w r0, {r2, r3}",
                                  "stmdb r0!, {r2, r3}", "ldrex r2, [r0]", "strex r1, r2, [r0]"])
@pytest.mark.parametrize("unalign_trp", [False, True])
def test_unaligned_multiword_and_exclusive_always_fault(tmp_path, insn, unalign_trp):
    """With CCR.UNALIGN_TRP set, one hook checks every access instead of a hook on each."""
    body = ENABLE_USAGEFAULT + (set_ccr(1 << 3) if unalign_trp else "") + f"""
    ldr r0, =0x20000102
faulting:
    {insn}
"""
    run = Run(tmp_path, firmware(body))
    assert run.exited(), run.result.message
    assert run.runs == 1 and run.cfsr == UNALIGNED and run.pc == run.at("faulting")


def test_aligned_multiword_accesses_never_fault(tmp_path):
    body = ENABLE_USAGEFAULT + set_ccr((1 << 3) | (1 << 4)) + """
    ldr r0, =0x20000100
    movs r4, #50
loop:
    ldrd r2, r3, [r0]
    strd r2, r3, [r0, #8]
    ldm.w r0, {r2, r3}
    stmdb r0!, {r2, r3}
    adds r0, #8
    ldrex r2, [r0]
    strex r1, r2, [r0]
    ldrh.w r2, [r0, #2]
    ldr.w r2, [r0, #4]
    vldr s0, [r0, #4]
    vstmia r0, {s0-s1}
    push {r2, r3}
    pop {r2, r3}
    vpush {s0}
    vpop {s0}
    subs r4, #1
    bne loop
"""
    run = Run(tmp_path, firmware(body))
    assert run.exited() and run.runs == 0 and run.cfsr == 0


def test_fault_without_a_handler_ends_the_run_naming_kind_and_address(tmp_path):
    run = Run(tmp_path, firmware(ENABLE_USAGEFAULT + """
    ldr r0, =0x20000102
faulting:
    ldrd r2, r3, [r0]
""", usage_vector="0"))
    assert run.result.exit == "fault"
    assert f"UsageFault: unaligned access at {run.at('faulting'):#010x}" in run.result.message
    assert "no UsageFault handler" in run.result.message


def test_a_fault_handler_that_spins_ends_the_run_as_that_fault(tmp_path):
    """The usual HardFault_Handler is `b .`: the run halts there, and that is a fault (exit 3), not
    a clean halt."""
    source = firmware(divide(trap=True, enable=False), hard_vector="spin + 1") + """
    .thumb_func
spin:
    b spin
"""
    run = Run(tmp_path, source)
    assert run.result.exit == "fault"
    assert run.result.message.startswith(f"UsageFault: divide by zero at {run.at('faulting'):#010x}")
    assert "taken as HardFault; then halted in a self-loop at" in run.result.message


def test_a_fault_inside_the_hardfault_handler_is_a_lockup(tmp_path):
    source = firmware(divide(trap=True, enable=False), hard_vector="bad + 1") + """
    .thumb_func
bad:
    ldr r0, =0x20000102
    ldrd r2, r3, [r0]
    bx lr
    .ltorg
"""
    run = Run(tmp_path, source)
    assert run.result.exit == "fault"
    assert "UsageFault: unaligned access at" in run.result.message and "lockup" in run.result.message


def test_cli_exit_status_for_an_unhandled_divide_by_zero(tmp_path):
    elf = build(tmp_path, firmware(divide(trap=True, enable=False), hard_vector="0"))
    proc = subprocess.run([sys.executable, "-m", "vbench", "exec", str(elf), "--platform", "nucleo-l4r5zi"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "UsageFault: divide by zero at 0x" in proc.stdout + proc.stderr
    assert "escalated to HardFault, with no HardFault handler" in proc.stdout + proc.stderr
