"""RV32IMAF with CV32E40P timing (OpenHW CV32E40P user manual, pipeline.rst): Unicorn's RV32 CPU,
the decoder in vbench/sim/isa_rv.py, an exit register device for the end of the run, the serial
divider model, and the standard calling convention (a0 argument, ra return address, sp). Reads
of the counter CSRs are answered from vbench's own count (QEMU's would read host time)."""

from __future__ import annotations

import unicorn
from unicorn import riscv_const as UR

from vbench.sim import native as N
from vbench.sim.cores import register
from vbench.sim.cores.base import CoreModel
from vbench.sim.isa_rv import RvDecoder

UC_INTNO = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
            3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
            6: "store address misaligned", 7: "store access fault", 8: "ecall", 11: "ecall"}


@register
class Cv32e40p(CoreModel):
    TIMING_MODEL = "cv32e40p"
    ELF_MACHINE = "riscv"
    DIVIDE_MODEL = 1
    ARG_REG, LINK_REG, SP_REG = 10, 1, 2

    def create_cpu(self):
        uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
        return uc, [getattr(UR, f"UC_RISCV_REG_X{i}") for i in range(32)], UR.UC_RISCV_REG_PC, UR.UC_RISCV_REG_SP

    def decoder(self):
        return RvDecoder(self.timing)

    def reset(self, board) -> int:
        return board.image.entry

    def on_interrupt(self, board, intno: int) -> None:
        board.fault(f"{UC_INTNO.get(intno, f'exception {intno}')} at {board.image.describe(board.backend.pc)}")

    def instruction_hook(self, board, d) -> bool:
        if d.insn.flags & N.F_DIVIDE and board.timing_on:
            board.backend.add_native_hook(unicorn.UC_HOOK_CODE, N.symbol_address("vb_hook_divide"), board.core,
                                          d.address, d.address)
            return True
        if d.csr_read:
            board.uc.hook_add(unicorn.UC_HOOK_CODE, self._on_counter_csr, (board, d), d.address, d.address)
            return True
        if d.insn.flags & N.F_WFI:  # QEMU halts the hart on WFI and never returns: vbench sleeps it instead
            board.uc.hook_add(unicorn.UC_HOOK_CODE, self._on_wfi, board, d.address, d.address)
            return True
        return False

    @staticmethod
    def _on_wfi(uc, address, size, board):
        board.cut_at(address)
        uc.reg_write(board.backend.pc_reg, address + size)
        board.sleep()

    @staticmethod
    def _on_counter_csr(uc, address, size, user):
        """csrr of a counter CSR: vbench's count at this instruction instead of QEMU's."""
        board, d = user
        cycles, instructions = board.now_at(address)
        name = d.csr_read
        if name.startswith(("mcycle", "cycle")):
            value = cycles
        elif name.startswith(("minstret", "instret")):
            value = instructions
        else:
            clint = next((p for p in board.peripherals.values() if p.TYPE == "riscv.clint"), None)
            value = clint.mtime() if clint is not None and hasattr(clint, "mtime") else 0
        value = (value >> 32) if name.endswith("h") else value & 0xFFFFFFFF
        board.cut_at(address)
        board.backend.set_reg(d.insn.aux, value)
        uc.reg_write(board.backend.pc_reg, address + size)

    def effective_address(self, board, d) -> int | None:
        w = int.from_bytes(board.uc.mem_read(d.address, 4), "little")
        rs1 = (w >> 15) & 31
        op = w & 0x7F
        imm = (w >> 20) if op in (0x03, 0x07) else (((w >> 25) << 5) | ((w >> 7) & 31))
        if imm & 0x800:
            imm -= 0x1000
        return (board.backend.reg(rs1) + imm) & 0xFFFFFFFF
