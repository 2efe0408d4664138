"""The Cortex-M exception model (vbench/sim/cortexm.py): priority resolution, and real Thumb code in
Unicorn for exception entry and return, including what Unicorn 2.1.4 does on its own, and
interrupts on the Nucleo board."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from unicorn import UC_ARCH_ARM, UC_HOOK_INTR, UC_MODE_THUMB, Uc
from unicorn.arm_const import (
    UC_ARM_REG_CONTROL,
    UC_ARM_REG_CPSR,
    UC_ARM_REG_D0,
    UC_ARM_REG_FPSCR,
    UC_ARM_REG_IPSR,
    UC_ARM_REG_LR,
    UC_ARM_REG_MSP,
    UC_ARM_REG_PC,
    UC_ARM_REG_PSP,
    UC_ARM_REG_R0,
    UC_ARM_REG_R1,
    UC_ARM_REG_R2,
    UC_ARM_REG_R3,
    UC_ARM_REG_R12,
    UC_ARM_REG_SP,
    UC_CPU_ARM_CORTEX_M4,
)

from vbench.sim.cortexm import SVCALL, ExceptionController
from vbench.sim.peripherals import load_all

load_all()

from fakeboard import FakeBoard  # noqa: E402



# ====================================================================== priority resolution
class RegisterFile:
    """Stands in for Unicorn where only PRIMASK/FAULTMASK/BASEPRI are read."""

    def __init__(self, **regs):
        from unicorn.arm_const import UC_ARM_REG_BASEPRI, UC_ARM_REG_FAULTMASK, UC_ARM_REG_PRIMASK

        self.regs = {UC_ARM_REG_PRIMASK: regs.get("primask", 0), UC_ARM_REG_FAULTMASK: regs.get("faultmask", 0),
                     UC_ARM_REG_BASEPRI: regs.get("basepri", 0)}

    def reg_read(self, reg):
        return self.regs[reg]


def test_priority_resolution():
    ex = ExceptionController(96, 4)
    for irq, prio in ((5, 0x80), (6, 0x40), (7, 0x40)):
        ex.set_enabled(16 + irq, True)
        ex.set_priority(16 + irq, prio)
        ex.set_pending(16 + irq)
    assert ex.deliverable(RegisterFile()) == 16 + 6  # lowest value, then lowest number
    assert ex.deliverable(RegisterFile(primask=1)) is None
    assert ex.deliverable(RegisterFile(basepri=0x40)) is None  # BASEPRI masks >= its value
    assert ex.deliverable(RegisterFile(basepri=0x50)) == 16 + 6
    ex.set_pending(SVCALL)
    assert ex.deliverable(RegisterFile()) == SVCALL  # priority 0
    ex.clear_pending(SVCALL)
    ex.active = [16 + 6]  # running at 0x40: an equal priority does not preempt
    ex.clear_pending(16 + 6)
    assert ex.deliverable(RegisterFile()) is None
    ex.prigroup = 6  # group = bit 7 only: 0x40 and 0x80 differ in group priority
    assert ex.deliverable(RegisterFile()) is None
    ex.active = [16 + 5]
    ex.prigroup = 7  # no group bits: nothing preempts an active handler
    assert ex.deliverable(RegisterFile()) is None
    ex.set_pending(3)  # HardFault (-1) preempts everything but FAULTMASK
    assert ex.deliverable(RegisterFile(primask=1)) == 3
    assert ex.deliverable(RegisterFile(faultmask=1)) is None


def test_disabled_fault_escalates_to_hardfault():
    ex = ExceptionController(96, 4)
    ex.set_pending(6)  # UsageFault, not enabled in SHCSR
    assert ex.pending == {3} and ex.hfsr & (1 << 30)


# ====================================================================== Unicorn: entry and return
FLASH, RAM, SCS_BASE = 0x0800_0000, 0x2000_0000, 0xE000_E000


def assemble(tmp_path, source: str) -> bytes:
    if shutil.which("arm-none-eabi-as") is None:
        pytest.skip("arm-none-eabi-as is not installed")
    src, obj, binary = tmp_path / "t.S", tmp_path / "t.o", tmp_path / "t.bin"
    src.write_text("    .syntax unified\n    .thumb\n    .fpu fpv4-sp-d16\n" + source)
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m4", "-mthumb", str(src), "-o", str(obj)], check=True,
                   capture_output=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(obj), str(binary)], check=True)
    return binary.read_bytes()


class Machine:
    """Unicorn Cortex-M4 with flash, SRAM and the SCS page served by the SCS model."""

    def __init__(self, code: bytes, vectors: dict[int, int]):
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
        self.uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M4)  # before anything else
        self.uc.mem_map(FLASH, 0x10000)
        self.uc.mem_map(RAM, 0x10000)
        self.uc.mem_write(FLASH, code)
        for number, offset in vectors.items():
            self.uc.mem_write(FLASH + 4 * number, struct.pack("<I", (FLASH + offset) | 1))
        self.board = FakeBoard()
        self.ex = self.board.exceptions
        self.ex.vtor = FLASH
        self.scs = self.board.add("armv7m.scs", "scs", SCS_BASE, 0x1000, irqs=96)
        self.uc.mmio_map(SCS_BASE, 0x1000, lambda uc, off, size, _: self.scs.read(off, size), None,
                         lambda uc, off, size, value, _: self.scs.write(off, size, value), None)
        self.ex.attach(self.uc)
        self.uc.reg_write(UC_ARM_REG_SP, RAM + 0x1000)

    def run(self, start: int, until: int, count: int = 1000) -> None:
        self.uc.emu_start((FLASH + start) | 1, FLASH + until, count=count)

    def resume(self, until: int) -> None:
        self.uc.emu_start(self.uc.reg_read(UC_ARM_REG_PC) | 1, FLASH + until, count=1000)

    def reg(self, reg):
        return self.uc.reg_read(reg)

    def word(self, address):
        return struct.unpack("<I", self.uc.mem_read(address, 4))[0]


BASIC_PROGRAM = """
    .org 0x100
thread:
    ldr r0, =0xE000E100      @ NVIC_ISER0: enable IRQ 5
    movs r1, #(1 << 5)
    str r1, [r0]
    ldr r0, =0xE000E200      @ NVIC_ISPR0: pend it
    str r1, [r0]
    movs r0, #10
    movs r1, #11
    movs r2, #12
    movs r3, #13
    movs r4, #14
    mov r12, r4
    ldr r5, =0x01234567
    mov lr, r5
    .org 0x140
interrupted:
    nop
    adds r0, r0, r1
    .org 0x160
done:
    b done
    .ltorg
    .org 0x200
irq5_handler:
    movs r0, #0x55
    movs r1, #0x66
    movs r2, #0x77
    movs r3, #0x88
    mov r12, r0
    ldr r1, =0x20000800
    movs r2, #0xAA
    str r2, [r1]
    mrs r3, ipsr
    str r3, [r1, #4]
    bx lr
    .ltorg
"""


def test_unicorn_exception_entry_and_return(tmp_path):
    m = Machine(assemble(tmp_path, BASIC_PROGRAM), {16 + 5: 0x200})
    m.uc.reg_write(UC_ARM_REG_SP, RAM + 0x1004)  # not 8-byte aligned: the frame gets padded
    m.run(0x100, 0x140)
    assert m.ex.pending == {16 + 5} and m.scs.read(0x200, 4) == 1 << 5
    assert m.ex.take_pending(m.uc)
    assert m.reg(UC_ARM_REG_PC) == FLASH + 0x200
    assert m.reg(UC_ARM_REG_LR) == 0xFFFF_FFF9 and m.reg(UC_ARM_REG_IPSR) == 21
    frame = RAM + 0x1004 - 4 - 0x20
    assert m.reg(UC_ARM_REG_SP) == frame
    stacked = struct.unpack("<8I", m.uc.mem_read(frame, 32))
    assert stacked[:7] == (10, 11, 12, 13, 14, 0x01234567, FLASH + 0x140)
    assert stacked[7] & (1 << 9) and stacked[7] & (1 << 24)  # alignment pad recorded, Thumb
    assert m.scs.read(0x300, 4) == 1 << 5 and m.scs.read(0xD04, 4) & 0x1FF == 21  # IABR, VECTACTIVE
    m.resume(0x160)
    assert m.reg(UC_ARM_REG_PC) == FLASH + 0x160
    assert m.word(RAM + 0x800) == 0xAA and m.word(RAM + 0x804) == 21  # handler ran, MRS IPSR saw 21
    assert m.reg(UC_ARM_REG_R0) == 21  # 10 + 11 after the return
    assert (m.reg(UC_ARM_REG_R1), m.reg(UC_ARM_REG_R2), m.reg(UC_ARM_REG_R3)) == (11, 12, 13)
    assert m.reg(UC_ARM_REG_R12) == 14 and m.reg(UC_ARM_REG_LR) == 0x01234567
    assert m.reg(UC_ARM_REG_SP) == RAM + 0x1004 and m.reg(UC_ARM_REG_IPSR) == 0
    assert m.ex.active == [] and m.ex.pending == set() and (m.ex.entries, m.ex.returns) == (1, 1)


def test_unicorn_primask_defers_the_interrupt(tmp_path):
    m = Machine(assemble(tmp_path, "    .org 0x100\n    cpsid i\n    nop\n    cpsie i\n    nop\n    b .\n"), {16 + 5: 0x100})
    m.ex.set_enabled(16 + 5, True)
    m.ex.set_pending(16 + 5)
    m.run(0x100, 0x104)
    assert not m.ex.take_pending(m.uc) and not m.ex.can_wake()
    m.resume(0x108)
    assert m.ex.can_wake() and m.ex.take_pending(m.uc)


FP_PROGRAM = """
    .org 0x100
    vmov.f32 s0, #1.0
    vmov.f32 s15, #0.5
    .org 0x120
interrupted:
    vadd.f32 s1, s0, s15
    .org 0x140
done:
    b done
    .org 0x200
handler:
    vmov.f32 s0, #2.0
    vmov.f32 s15, #3.0
    vmrs r0, fpscr
    orr r0, r0, #(1 << 24)    @ FZ
    vmsr fpscr, r0
    bx lr
"""


def test_unicorn_extended_frame_preserves_fp_state(tmp_path):
    m = Machine(assemble(tmp_path, FP_PROGRAM), {16 + 5: 0x200})
    m.run(0x100, 0x120)
    assert m.reg(UC_ARM_REG_CONTROL) & 4  # FPCA set by the FP instructions
    fpscr = m.reg(UC_ARM_REG_FPSCR)
    m.ex.set_enabled(16 + 5, True)
    m.ex.set_pending(16 + 5)
    assert m.ex.take_pending(m.uc)
    assert m.reg(UC_ARM_REG_LR) == 0xFFFF_FFE9 and not m.reg(UC_ARM_REG_CONTROL) & 4
    assert m.reg(UC_ARM_REG_SP) == RAM + 0x1000 - 0x68
    m.resume(0x140)
    s0_s1 = m.reg(UC_ARM_REG_D0)
    assert s0_s1 & 0xFFFF_FFFF == 0x3F80_0000  # s0 = 1.0 again
    assert s0_s1 >> 32 == 0x3FC0_0000  # s1 = 1.0 + 0.5 computed with the restored s15
    assert m.reg(UC_ARM_REG_FPSCR) == fpscr and m.reg(UC_ARM_REG_CONTROL) & 4
    assert m.reg(UC_ARM_REG_SP) == RAM + 0x1000


PSP_SVC_PROGRAM = """
    .org 0x100
    ldr r0, =0x20000C00
    msr psp, r0
    movs r0, #2
    msr control, r0           @ Thread mode on the process stack
    isb
    movs r0, #7
    svc #3
after_svc:
    adds r0, r0, #1
    .org 0x140
done:
    b done
    .ltorg
    .org 0x200
svc_handler:
    mrs r1, psp
    ldr r2, [r1]              @ stacked r0 (7)
    adds r2, r2, #33
    str r2, [r1]              @ becomes r0 = 40 after the return
    bx lr
"""


def test_unicorn_svc_from_process_stack(tmp_path):
    m = Machine(assemble(tmp_path, PSP_SVC_PROGRAM), {SVCALL: 0x200})
    msp = RAM + 0x1000
    m.run(0x100, 0x140)
    assert m.reg(UC_ARM_REG_PC) == FLASH + 0x140
    assert m.reg(UC_ARM_REG_R0) == 41
    assert m.reg(UC_ARM_REG_CONTROL) & 2 and m.reg(UC_ARM_REG_SP) == 0x2000_0C00
    assert m.reg(UC_ARM_REG_PSP) == 0x2000_0C00 and m.reg(UC_ARM_REG_MSP) == msp
    assert m.ex.entries == m.ex.returns == 1


NESTED_PROGRAM = """
    .org 0x100
thread:
    nop
    .org 0x110
resumed:
    nop
    .org 0x120
done:
    b done
    .org 0x200
irq5:                         @ priority 0x80
    ldr r0, =0xE000E200
    movs r1, #(1 << 6) | (1 << 7)
    str r1, [r0]              @ pend IRQ 6 (0x40: preempts) and IRQ 7 (0xC0: waits)
    .org 0x210
irq5_preempted:
    ldr r0, =0x20000900
    ldr r1, [r0]
    adds r1, r1, #1
    str r1, [r0]              @ count: 1 after irq6 ran
    bx lr
    .ltorg
    .org 0x300
irq6:
    ldr r0, =0x20000904
    str lr, [r0]
    bx lr
    .ltorg
    .org 0x400
irq7:
    ldr r0, =0x20000908
    mrs r1, ipsr
    str r1, [r0]
    bx lr
    .ltorg
"""


def test_unicorn_nesting_and_tail_chaining(tmp_path):
    m = Machine(assemble(tmp_path, NESTED_PROGRAM), {21: 0x200, 22: 0x300, 23: 0x400})
    for irq, prio in ((5, 0x80), (6, 0x40), (7, 0xC0)):
        m.scs.write(0x400 + irq, 1, prio)
    m.scs.write(0x100, 4, 0b1110_0000)
    m.scs.write(0x200, 4, 1 << 5)
    m.run(0x100, 0x102)
    assert m.ex.take_pending(m.uc)  # IRQ 5
    m.resume(0x210)
    assert m.ex.pending == {22, 23}
    assert m.ex.take_pending(m.uc)  # IRQ 6 preempts IRQ 5
    assert m.ex.active == [21, 22] and m.reg(UC_ARM_REG_LR) == 0xFFFF_FFF1
    m.resume(0x120)  # irq6 returns to irq5, irq5 returns, irq7 tail-chains, returns to thread
    assert m.word(RAM + 0x904) == 0xFFFF_FFF1
    assert m.word(RAM + 0x900) == 1 and m.word(RAM + 0x908) == 23
    assert m.ex.active == [] and m.ex.pending == set() and m.ex.entries == 3
    assert m.reg(UC_ARM_REG_SP) == RAM + 0x1000 and m.reg(UC_ARM_REG_IPSR) == 0


def test_unicorn_2_1_4_exception_return_findings(tmp_path):
    """What the module docstring of vbench/sim/cortexm.py reports about Unicorn itself."""
    code = assemble(tmp_path, "    .org 0x100\n    nop\n    .org 0x200\n    bx lr\n")

    def trial(rebuild_flags: bool) -> list[tuple[int, int]]:
        uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB)
        uc.ctl_set_cpu_model(UC_CPU_ARM_CORTEX_M4)
        uc.mem_map(FLASH, 0x10000)
        uc.mem_map(RAM, 0x10000)
        uc.mem_write(FLASH, code)
        seen = []

        def hook(uc_, intno, _):
            seen.append((intno, uc_.reg_read(UC_ARM_REG_PC)))
            if len(seen) == 3:
                uc_.emu_stop()

        uc.hook_add(UC_HOOK_INTR, hook)
        uc.reg_write(UC_ARM_REG_SP, RAM + 0x1000)
        uc.reg_write(UC_ARM_REG_LR, 0xFFFF_FFF9)
        uc.reg_write(UC_ARM_REG_IPSR, 21)  # "Handler mode"
        if rebuild_flags:
            uc.reg_write(UC_ARM_REG_CPSR, uc.reg_read(UC_ARM_REG_CPSR))
        uc.emu_start((FLASH + 0x200) | 1, FLASH + 0x100, count=10)
        return seen

    # IPSR alone: `bx lr` is a plain branch to 0xFFFFFFF8, which prefetch-aborts (3) forever.
    assert trial(False) == [(3, 0xFFFF_FFF8)] * 3
    # After the CPSR write the translator knows it is in Handler mode: EXCP_EXCEPTION_EXIT (8),
    # and nothing is unstacked by Unicorn (the next fetch at 0xFFFFFFF8 aborts).
    assert trial(True) == [(8, 0xFFFF_FFF8), (3, 0xFFFF_FFF8), (3, 0xFFFF_FFF8)]


def test_unicorn_illegal_exc_return_is_a_firmware_fault(tmp_path):
    from vbench.errors import FirmwareFault

    code = assemble(tmp_path, "    .org 0x100\n    nop\n    b .\n    .org 0x200\n    ldr r0, =0xFFFFFFF5\n    bx r0\n    .ltorg\n")
    m = Machine(code, {16 + 5: 0x200})
    m.ex.set_enabled(16 + 5, True)
    m.ex.set_pending(16 + 5)
    m.run(0x100, 0x102)
    assert m.ex.take_pending(m.uc)
    with pytest.raises(FirmwareFault, match="illegal EXC_RETURN 0xfffffff5"):
        m.resume(0x104)  # Unicorn re-raises the hook's exception from emu_start


SYSTICK_FIRMWARE = """
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20020000
    .word _start + 1
    .rept 13
    .word 0
    .endr
    .word systick_handler + 1
    .text
    .thumb_func
    .global _start
_start:
    ldr r2, =0x20000000
    movs r1, #0
    str r1, [r2]
    ldr r0, =0xE000E010       @ SysTick: RVR 999, CVR 0, CSR = CLKSOURCE | TICKINT | ENABLE
    ldr r1, =999
    str r1, [r0, #4]
    movs r1, #0
    str r1, [r0, #8]
    movs r1, #7
    str r1, [r0]
wait:
    ldr r1, [r2]
    cmp r1, #5
    blt wait
    ldr r0, =0x40008000       @ LPUART1: UE | TE, then "OK"
    movs r1, #9
    str r1, [r0]
    movs r1, #'O'
    str r1, [r0, #0x28]
    movs r1, #'K'
    str r1, [r0, #0x28]
    movs r0, #0x18            @ semihosting SYS_EXIT
    ldr r1, =0x20026
    bkpt 0xab
    .ltorg
    .thumb_func
systick_handler:
    ldr r0, =0x20000000
    ldr r1, [r0]
    adds r1, r1, #1
    str r1, [r0]
    bx lr
    .ltorg
"""


def run_on_nucleo(tmp_path, source: str):
    board = pytest.importorskip("vbench.sim.board")
    if shutil.which("arm-none-eabi-ld") is None:
        pytest.skip("arm-none-eabi-ld is not installed")
    src, obj, ld, elf = (tmp_path / n for n in ("s.S", "s.o", "s.ld", "s.elf"))
    src.write_text(source)
    ld.write_text("SECTIONS { . = 0x08000000; .text : { KEEP(*(.vectors)) *(.text*) } }\n")
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m4", "-mthumb", str(src), "-o", str(obj)], check=True)
    subprocess.run(["arm-none-eabi-ld", "-T", str(ld), str(obj), "-o", str(elf)], check=True)
    return board.run_firmware(elf, "nucleo-l4r5zi", max_instructions=200_000)


def test_systick_interrupts_on_the_nucleo_board(tmp_path):
    """End to end on the real Board: SysTick pends through board.schedule(), the board takes the
    exception at a block boundary, the handler returns through the UC_HOOK_INTR path."""
    result = run_on_nucleo(tmp_path, SYSTICK_FIRMWARE)
    assert result.exit == "exit" and result.exit_code == 0, result.message
    assert result.uart == "OK"
    assert 5 * 1000 <= result.cycles < 6 * 1000  # five SysTick periods of 1000 core cycles


SOFTWARE_PEND_FIRMWARE = """
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20020000
    .word _start + 1
    .rept 19
    .word 0
    .endr
    .word irq5_handler + 1    @ exception 21
    .text
    .thumb_func
    .global _start
_start:
    ldr r2, =0x20000000
    movs r1, #0
    str r1, [r2]
    ldr r0, =0xE000E100       @ NVIC_ISER0: enable IRQ 5
    movs r1, #(1 << 5)
    str r1, [r0]
    ldr r0, =0xE000E200       @ NVIC_ISPR0: pend it; no timer event is scheduled
    str r1, [r0]
wait:
    ldr r1, [r2]
    cmp r1, #1
    bne wait
    movs r0, #0x18
    ldr r1, =0x20026
    bkpt 0xab
    .ltorg
    .thumb_func
irq5_handler:
    ldr r0, =0x20000000
    movs r1, #1
    str r1, [r0]
    bx lr
    .ltorg
"""


def test_software_pended_interrupt_is_taken_promptly_on_the_board(tmp_path):
    result = run_on_nucleo(tmp_path, SOFTWARE_PEND_FIRMWARE)
    assert result.exit == "exit" and result.exit_code == 0, result.message
    assert result.instructions < 50
    # one entry (12 cycles) and one return (10 cycles), basic frame: Cortex-M4 TRM latencies
    assert result.stalls["exception"] == 12 + 10
