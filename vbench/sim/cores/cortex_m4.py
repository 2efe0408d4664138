"""Arm Cortex-M4(F): Thumb-2 + FPv4-SP in Unicorn's Cortex-M4 model, Cortex-M4 TRM timing classes
(vbench/sim/isa_arm.py), the ARMv7-M exception model (vbench/sim/cortexm.py), Arm semihosting
for the exit (BKPT 0xAB), AAPCS registers (r0 argument, lr return address, sp)."""

from __future__ import annotations

import unicorn
from unicorn import arm_const as UA

from vbench.sim import native as N
from vbench.sim.cores import register
from vbench.sim.cores.base import CoreModel
from vbench.sim.isa_arm import _REG_NUM, ArmDecoder

SEMIHOSTING_BKPT = 0xAB
SYS_WRITEC, SYS_WRITE0, SYS_EXIT, SYS_EXIT_EXTENDED = 0x03, 0x04, 0x18, 0x20
ADP_STOPPED_APPLICATION_EXIT = 0x20026  # Arm semihosting v2, SYS_EXIT reason "application exit"
UC_INTNO = {1: "UsageFault (undefined instruction)", 2: "SVC", 3: "prefetch abort", 4: "data abort",
            5: "interrupt", 6: "fast interrupt", 7: "BKPT", 8: "exception exit"}


@register
class CortexM4(CoreModel):
    TIMING_MODEL = "cortex-m4"
    ELF_MACHINE = "arm"
    DIVIDE_MODEL = 0
    ARG_REG, LINK_REG, SP_REG = 0, 14, 13
    THUMB = True

    def create_cpu(self):
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB)
        # Must come first: MCLASS mode alone would select a Cortex-M33.
        uc.ctl_set_cpu_model(UA.UC_CPU_ARM_CORTEX_M4)
        regs = [getattr(UA, f"UC_ARM_REG_R{i}") for i in range(13)] + [UA.UC_ARM_REG_SP, UA.UC_ARM_REG_LR, UA.UC_ARM_REG_PC]
        return uc, regs + [0] * 16, UA.UC_ARM_REG_PC, UA.UC_ARM_REG_SP

    def decoder(self):
        return ArmDecoder(self.timing)

    def reset(self, board) -> int:
        """ARMv7-M reset: SP from word 0 of the vector table, the entry from word 1 (DDI0403E B1.5.5)."""
        board.uc.reg_write(board.backend.sp_reg, board.read_word(0))
        return board.read_word(4) & ~1

    def attach(self, board) -> None:
        scs = next((p for p in board.platform.peripherals if p.type == "armv7m.scs"), None)
        if scs is None:
            return
        from vbench.sim.cortexm import ExceptionController

        ctl = ExceptionController(int(scs.params.get("irqs", 240)), int(scs.params.get("priority_bits", 4)))
        ctl.attach(board.uc)
        ctl.on_timing = board.exception_timing
        board.exceptions = ctl

    def on_interrupt(self, board, intno: int) -> None:
        pc = board.backend.pc
        if intno == 7:
            insn = bytes(board.uc.mem_read(pc & ~1, 2))
            if insn[1] == 0xBE and insn[0] == SEMIHOSTING_BKPT:
                self._semihosting(board, pc & ~1)
            else:
                board.fault(f"BKPT #{insn[0]} at {board.image.describe(pc)}")
            return
        if board.exceptions is not None and board.exceptions.on_unicorn_exception(intno):
            return
        board.fault(f"{UC_INTNO.get(intno, f'exception {intno}')} at {board.image.describe(pc)}")

    def _semihosting(self, board, pc: int) -> None:
        op, arg = board.backend.reg(0), board.backend.reg(1)
        board.cut_at(pc)
        if op == SYS_EXIT:
            board.finish("exit", 0 if arg == ADP_STOPPED_APPLICATION_EXIT else 1)
            return
        if op == SYS_EXIT_EXTENDED:  # r1 -> {reason, code}
            reason, code = (int.from_bytes(board.uc.mem_read(arg + i, 4), "little") for i in (0, 4))
            board.finish("exit", code if reason == ADP_STOPPED_APPLICATION_EXIT else (code or 1))
            return
        if op == SYS_WRITEC:
            board.uart_tx("semihosting", bytes(board.uc.mem_read(arg, 1)))
        elif op == SYS_WRITE0:
            out = bytearray()
            while len(out) < 65536:
                ch = bytes(board.uc.mem_read(arg + len(out), 1))
                if ch == b"\0":
                    break
                out += ch
            board.uart_tx("semihosting", bytes(out))
        else:
            board.fault(f"unsupported semihosting call {op:#x} at {board.image.describe(pc)}")
            return
        board.uc.reg_write(board.backend.pc_reg, (pc + 2) | 1)  # continue after the BKPT

    def instruction_hook(self, board, d) -> bool:
        if d.insn.flags & N.F_DIVIDE and board.timing_on:
            board.backend.add_native_hook(unicorn.UC_HOOK_CODE, N.symbol_address("vb_hook_divide"), board.core,
                                          d.address, d.address)
            return True
        return False

    def effective_address(self, board, d) -> int | None:
        from capstone import arm_const as A

        insn = next(board.codemap.decoder.md.disasm(bytes(board.uc.mem_read(d.address, d.size)), d.address), None)
        if insn is None:
            return None
        for op in insn.operands:
            if op.type == A.ARM_OP_MEM:
                base = board.backend.reg(_REG_NUM[op.mem.base]) if op.mem.base in _REG_NUM else 0
                if op.mem.base == A.ARM_REG_PC:
                    base = (d.address + 4) & ~3
                idx = board.backend.reg(_REG_NUM[op.mem.index]) << op.mem.lshift if op.mem.index in _REG_NUM else 0
                return (base + idx + op.mem.disp) & 0xFFFFFFFF
        regs = [op.reg for op in insn.operands if op.type == A.ARM_OP_REG]
        if regs and regs[0] in _REG_NUM:  # ldm/stm base
            return board.backend.reg(_REG_NUM[regs[0]])
        return None
