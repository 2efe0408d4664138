"""Arm Cortex-M4(F): Thumb-2 + FPv4-SP in Unicorn's Cortex-M4 model, Cortex-M4 TRM timing classes
(vbench/sim/isa_arm.py), the ARMv7-M exception model (vbench/sim/cortexm.py) with the UsageFault
traps Unicorn lacks, Arm semihosting for the exit (BKPT 0xAB), AAPCS registers (r0 argument, lr
return address, sp)."""

from __future__ import annotations

import unicorn
from capstone import arm_const as A
from unicorn import arm_const as UA

from vbench.errors import FirmwareFault
from vbench.sim import native as N
from vbench.sim.cores import register
from vbench.sim.cores.base import CoreModel
from vbench.sim.isa_arm import _CONDS, _REG_NUM, ArmDecoder

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
    traps = None  # UsageFaultTraps, once attached to a board with an SCS

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
        self.traps = UsageFaultTraps(board)
        ctl.on_ccr = self.traps.ccr_written

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
        if d.insn.flags & N.F_DIVIDE:  # latency (with timing) and CCR.DIV_0_TRP
            hook = "vb_hook_divide" if board.timing_on else "vb_hook_divide_trap"
            board.backend.add_native_hook(unicorn.UC_HOOK_CODE, N.symbol_address(hook), board.core,
                                          d.address, d.address)
            return True
        return self.traps is not None and self.traps.decoded(d)

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


# ---------------------------------------------------------------------- UsageFault traps
# Alignment each access needs (DDI0403E A3.2.1 "Alignment behavior"): LDRD/STRD/LDM/STM and the
# exclusives fault when unaligned whatever CCR says; single word and halfword accesses and TBH only
# with CCR.UNALIGN_TRP. VLDR/VSTR/VLDM/VSTM also always fault on the chip but are not checked: a
# hook on each made a float32 model run 2.3x slower (docs/timing.md, "Faults").
_ALWAYS = {"ldrd": 3, "strd": 3, "ldrex": 3, "strex": 3, "ldrexh": 1, "strexh": 1}
_WITH_UNALIGN_TRP = {"ldr": 3, "str": 3, "ldrt": 3, "strt": 3, "tbh": 1,
                     "ldrh": 1, "ldrsh": 1, "strh": 1, "ldrht": 1, "ldrsht": 1, "strht": 1}
_MULTIPLE = {"ldm", "ldmia", "ldmdb", "ldmfd", "ldmea", "stm", "stmia", "stmdb", "stmfd", "stmea"}
_STACK_ONLY = ("push", "pop")  # SP-based: never unaligned
XPSR_IT = (0x3 << 25) | (0x3F << 10)  # ITSTATE in xPSR: IT[1:0] at 26:25, IT[7:2] at 15:10 (B1.4.2)


def _condition_holds(cond: int, psr: int) -> bool:
    """ConditionHolds() of DDI0403E A7.3 on the APSR flags."""
    n, z, c, v = (bool(psr >> bit & 1) for bit in (31, 30, 29, 28))
    result = (z, c, n, v, c and not z, n == v, n == v and not z, True)[cond >> 1]
    return not result if cond & 1 and cond != 0xF else result


def _it_advance(it: int) -> int:
    """ITAdvance() of DDI0403E A7.3.3."""
    return 0 if it & 0x7 == 0 else (it & 0xE0) | ((it << 1) & 0x1F)


def _base_mnemonic(mnemonic: str) -> str:
    """'ldrdne.w' -> 'ldrd': capstone names an instruction inside an IT block with its condition."""
    m = mnemonic.split(".")[0]
    known = m in _ALWAYS or m in _WITH_UNALIGN_TRP or m in _MULTIPLE
    return m[:-2] if not known and m[-2:] in _CONDS else m


class UsageFaultTraps:
    """The UsageFaults Unicorn 2.1.4 does not raise, for one board: sites for the native alignment
    hook (vbench/_native/traps.c), the CCR copy the hooks read, and taking the fault.

    Unicorn performs unaligned LDRD/STRD/LDM/STM and plain accesses whatever CCR says, divides by
    zero to 0, and checks an LDREX's alignment (as a data abort) but not a STREX's when the monitor
    is clear. Unicorn scans its whole list of code hooks at each hooked instruction, so: a hook is
    added at decode to each LDRD/STRD/LDM/STM/LDREX/STREX whose base is not SP (SP bits [1:0] are
    RAZ/WI, B1.4.1) nor an aligned PC-relative literal; the single word/halfword accesses and TBH
    (most loads and stores) get a site, and one hook on every instruction finds it by address,
    once the firmware has set CCR.UNALIGN_TRP.
    """

    def __init__(self, board):
        self.board = board
        self.sites: dict[int, object] = {}  # address -> VbTrapSite pointer
        self.hooks: dict[int, object] = {}  # address -> handle of its vb_hook_alignment hook
        self.unalign_trp_hooked = False
        self._callback = N.TRAP_FN(self._trapped)
        board.lib.vb_set_trap_handler(board.core, N.ctypes.cast(self._callback, N.c_void_p))
        board.lib.vb_set_traps(board.core, board.exceptions.ccr)

    # ------------------------------------------------------------------ CCR
    def ccr_written(self, ccr: int) -> None:
        """From the SCS model, inside the store: the native copy changes now. The first time
        UNALIGN_TRP is set, the single accesses decoded so far get sites and one code hook covers
        them all, from the next block boundary (outside the emulator)."""
        b = self.board
        b.lib.vb_set_traps(b.core, ccr)
        if ccr & N.CCR_UNALIGN_TRP and not self.unalign_trp_hooked:
            self.unalign_trp_hooked = True
            b.schedule(b.now()[0], self._hook_single_accesses)

    def _hook_single_accesses(self) -> None:
        b = self.board
        b.backend.add_native_hook(unicorn.UC_HOOK_CODE, N.symbol_address("vb_hook_unaligned_trp"), b.core)
        for h in self.hooks.values():  # the one hook checks every site from now on
            b.backend.remove_hook(h)
        self.hooks.clear()
        for d in list(b.codemap.insns.values()):
            self.decoded(d)
        for m in b.memories:  # the translations lack the new hook
            for base in (m.base, *m.aliases):
                b.backend.forget_translations(base, base + m.size)

    # ------------------------------------------------------------------ sites
    def decoded(self, d) -> bool:
        """An instruction was decoded at d.address: (re)describe its site. True if a hook was added."""
        spec = self._site_spec(d, _base_mnemonic(d.mnemonic))
        site = self.sites.get(d.address)
        if spec is None:
            if site is not None:  # code rewritten: the hook stays, the site no longer checks
                site[0].when = N.SITE_OFF
            return False
        if site is None:
            site = self.board.lib.vb_trap_site_at(self.board.core, d.address)
            if not site:
                raise MemoryError("native trap site")
            self.sites[d.address] = site
        s = site[0]
        s.when, s.base, s.index, s.shift, s.align_mask, s.offset = spec
        if s.when != N.SITE_ALWAYS or d.address in self.hooks or self.unalign_trp_hooked:
            return False  # the UNALIGN_TRP hook looks sites up by address
        self.hooks[d.address] = self.board.backend.add_native_hook(
            unicorn.UC_HOOK_CODE, N.symbol_address("vb_hook_alignment"), N.ctypes.cast(site, N.c_void_p).value,
            d.address, d.address)
        return True

    def _site_spec(self, d, m: str):
        """(when, base, index, shift, align_mask, offset) of an access that can fault, else None."""
        if not d.insn.flags & (N.F_LOAD | N.F_STORE | N.F_MULTI) or m in _STACK_ONLY:
            return None
        if m in _ALWAYS:
            when, align = N.SITE_ALWAYS, _ALWAYS[m]
        elif m in _WITH_UNALIGN_TRP and self.unalign_trp_hooked:
            when, align = N.SITE_IF_UNALIGN_TRP, _WITH_UNALIGN_TRP[m]
        elif m in _MULTIPLE:
            when, align = N.SITE_ALWAYS, 3
        else:
            return None
        insn = next(self.board.codemap.decoder.md.disasm(bytes(self.board.uc.mem_read(d.address, d.size)), d.address),
                    None)
        if insn is None:
            return None
        regs = [op.reg for op in insn.operands if op.type == A.ARM_OP_REG]
        mem = next((op for op in insn.operands if op.type == A.ARM_OP_MEM), None)
        if mem is None:  # LDM/STM: the base is the first register
            base, index, shift, offset = _REG_NUM.get(regs[0], 13) if regs else 13, N.NO_INDEX, 0, 0
        else:
            base = _REG_NUM.get(mem.mem.base, 15)
            index = _REG_NUM.get(mem.mem.index, N.NO_INDEX)
            shift = mem.shift.value if index != N.NO_INDEX else 0
            offset = 0 if insn.post_index else mem.mem.disp
        if base == 15 and m == "tbh":  # PC + 4 + 2 * Rm: always halfword aligned
            return None
        if index == N.NO_INDEX and base in (13, 15):  # SP is word aligned (B1.4.1), PC-relative is static
            static = ((d.address + 4) & ~3) if base == 15 else 0
            if not (static + offset) & align:
                return None
        return when, base, index, shift, align, offset

    # ------------------------------------------------------------------ faults
    def _it_state(self, address: int) -> int:
        """ITSTATE at the instruction at address (0 outside an IT block), from the IT instruction
        up to four instructions before it: inside a hook the emulator's copy is not current."""
        insns, uc = self.board.codemap.insns, self.board.uc
        a, between = address, 0
        for _ in range(5):
            prev = next((insns[a - n] for n in (2, 4) if a - n in insns and insns[a - n].size == n), None)
            if prev is None:
                return 0
            a = prev.address
            hw = int.from_bytes(uc.mem_read(a, 2), "little")
            if prev.size == 2 and hw & 0xFF00 == 0xBF00 and hw & 0xF:  # IT firstcond, mask (A7.7.38)
                it = hw & 0xFF
                for _ in range(between):
                    it = _it_advance(it)
                return it
            between += 1
        return 0

    def _trapped(self, ufsr_bit: int, address: int) -> int:
        """From a native hook: the instruction at address would fault. Takes the exception (the
        hook's PC write means the instruction does not run) or ends the run; 0 if an IT condition
        skips the instruction after all."""
        b = self.board
        try:
            it = self._it_state(address)
            psr = b.uc.reg_read(UA.UC_ARM_REG_XPSR)
            if it and not _condition_holds(it >> 4, psr):
                return 0
            # the stacked xPSR carries the ITSTATE of the faulting instruction (B1.5.6)
            b.uc.reg_write(UA.UC_ARM_REG_XPSR, (psr & ~XPSR_IT) | ((it & 0x3) << 25) | ((it >> 2) << 10))
            b.lib.vb_cut(b.core, b.codemap.index_of(address))  # the faulting instruction did not complete
            b.exceptions.usage_fault(b.uc, 1 << ufsr_bit, address, b.image.describe(address))
        except FirmwareFault as exc:
            b.fault(str(exc))
        except BaseException as exc:  # noqa: BLE001 - raised again by the run loop, not lost in ctypes
            b.codemap.report(exc)
            b.lib.vb_request_stop(b.core)
        return 1
