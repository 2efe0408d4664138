"""ARMv7-M core peripherals: the System Control Space page and the DWT cycle counter.

`armv7m.scs` (0xE000E000, 4 KiB) holds, at DDI0403E's offsets (B3.2 Table B3-3, B3.3, B3.4,
B3.5, C1.6): ICTR, ACTLR, SysTick, the NVIC, the SCB, the MPU registers, CoreDebug and the FP
control registers. NVIC and SCB exception state lives in the board's ExceptionController
(vbench/sim/cortexm.py): this page is its register view. Identification values are Cortex-M4F
r0p1's (Cortex-M4 TRM DDI0439, and QEMU's cortex-m4 model for the ID_* words).

Modelled with stated limits:
* MPU registers are held and read back (Mbed and Zephyr program them at boot); regions are not
  enforced.
* CPACR/FPCCR are held only: Unicorn's CPU keeps its own copies. CCR.UNALIGN_TRP/DIV_0_TRP take
  effect: a CCR write reaches the native trap hooks (ExceptionController.write_ccr).
* DHCSR reads C_DEBUGEN = 1 by default (param `debugger_attached`): vbench services semihosting
  BKPTs, i.e. it is the attached debugger; writes are ignored.
Offsets not listed here raise UnmodelledAccess.
"""

from __future__ import annotations

from vbench.sim.cortexm import (
    BUSFAULT,
    FIRST_IRQ,
    MEMMANAGE,
    NMI,
    PENDSV,
    SVCALL,
    SYSTICK,
    USAGEFAULT,
)
from vbench.sim.peripherals.armv7m_systick import SysTick
from vbench.sim.peripherals.base import register
from vbench.sim.peripherals.mmio_regs import HeldRegisters, WordRegisters, merge

CPUID_CORTEX_M4_R0P1 = 0x410F_C241  # implementer 0x41, variant 0, arch 0xF, part 0xC24, rev 1
VECTKEY_WRITE, VECTKEY_READ = 0x05FA, 0xFA05  # AIRCR (DDI0403E B3.2)

# Read-only identification words (offset: value).
ID_WORDS = {
    0xD00: CPUID_CORTEX_M4_R0P1,
    0xD40: 0x0000_0030,  # ID_PFR0
    0xD44: 0x0000_0200,  # ID_PFR1
    0xD48: 0x0010_0000,  # ID_DFR0
    0xD4C: 0x0000_0000,  # ID_AFR0
    0xD50: 0x0000_0030,  # ID_MMFR0
    0xD90: 0x0000_0800,  # MPU_TYPE: 8 unified regions (the STM32L4 Cortex-M4 MPU, PM0214 §4.2)
    0xF40: 0x1011_0021,  # MVFR0: single precision, FP registers 16 x 64-bit (FPv4-SP)
    0xF44: 0x1100_0011,  # MVFR1
}

# Plain registers: offset -> (reset value, writable bits).
HELD = {
    0x008: (0x0000_0000, 0x0000_0307),  # ACTLR: DISMCYCINT, DISDEFWBUF, DISFOLD, DISFPCA, DISOOFP
    0xD10: (0x0000_0000, 0x0000_0016),  # SCR: SLEEPONEXIT 1, SLEEPDEEP 2, SEVONPEND 4
    0xD30: (0x0000_0000, 0x0000_0000),  # DFSR (debug events never happen here)
    0xD3C: (0x0000_0000, 0x0000_0000),  # AFSR (implementation defined, none on M4)
    0xD88: (0x0000_0000, 0x00F0_0000),  # CPACR: CP10/CP11 only (B3.2, CPACR)
    0xD94: (0x0000_0000, 0x0000_0007),  # MPU_CTRL: ENABLE, HFNMIENA, PRIVDEFENA
    0xDFC: (0x0000_0000, 0x010F_07F1),  # DEMCR: VC_* 0,4-10; MON_* 16-19; TRCENA 24 (C1.6, DEMCR)
    0xF34: (0xC000_0000, 0xC000_017B),  # FPCCR: ASPEN 31 and LSPEN 30 set at reset (B3.2, FPCCR)
    0xF38: (0x0000_0000, 0xFFFF_FFF8),  # FPCAR
    0xF3C: (0x0000_0000, 0x07C0_0000),  # FPDSCR: AHP, DN, FZ, RMode
}
DEMCR, TRCENA = 0xDFC, 1 << 24
CCR_WRITABLE = 0x0000_031B  # NONBASETHRDENA, USERSETMPEND, UNALIGN_TRP, DIV_0_TRP, BFHFNMIGN, STKALIGN

# ICSR bits: B3.2 (Interrupt Control and State Register).
ICSR_NMIPENDSET, ICSR_PENDSVSET, ICSR_PENDSVCLR = 1 << 31, 1 << 28, 1 << 27
ICSR_PENDSTSET, ICSR_PENDSTCLR, ICSR_ISRPENDING, ICSR_RETTOBASE = 1 << 26, 1 << 25, 1 << 22, 1 << 11
# SHCSR: active bits 0-11, pended bits 12-15, enables 16-18 (B3.2, SHCSR).
SHCSR_ACTIVE_BIT = {MEMMANAGE: 0, BUSFAULT: 1, USAGEFAULT: 3, SVCALL: 7, 12: 8, PENDSV: 10, SYSTICK: 11}
SHCSR_PENDED_BIT = {USAGEFAULT: 12, MEMMANAGE: 13, BUSFAULT: 14, SVCALL: 15}
SHCSR_ENABLES = 0x0007_0000
MPU_REGIONS = 8


@register
class ArmV7mSystemControlSpace(WordRegisters):
    TYPE = "armv7m.scs"

    def reset(self) -> None:
        self.systick = SysTick(self.board, self.params.get("systick_calib", 0x4000_0000))
        self.held = HeldRegisters(HELD)
        self.mpu_rnr = 0
        self.mpu_rbar = [0] * MPU_REGIONS
        self.mpu_rasr = [0] * MPU_REGIONS
        self.trace_listeners: list = []

    @property
    def exceptions(self):
        """The board's ExceptionController (created after the peripherals, with this page's
        `irqs` and `priority_bits` params)."""
        ex = self.board.exceptions
        if ex.on_pending is None:
            ex.on_pending = self._hand_back_control
        return ex

    def _hand_back_control(self) -> None:
        """A newly pending exception: an event due now makes the board stop at the next block
        boundary, where it calls take_pending() (firmware pending an interrupt by a register write,
        or a peripheral raising its line, would otherwise wait for the next scheduled event)."""
        self.board.schedule(self.board.now()[0], lambda *_: None)

    # ------------------------------------------------------------------ for other models
    @property
    def trace_enabled(self) -> bool:
        """CoreDebug DEMCR.TRCENA: the global enable of the DWT (C1.6, DEMCR)."""
        return bool(self.held[DEMCR] & TRCENA)

    def add_trace_listener(self, callback) -> None:
        if callback not in self.trace_listeners:
            self.trace_listeners.append(callback)

    # ------------------------------------------------------------------ dispatch
    def read_word(self, reg: int) -> int:
        ex = self.exceptions
        if reg in ID_WORDS:
            return ID_WORDS[reg]
        if reg in self.held:
            return self.held[reg]
        if reg == 0x004:  # ICTR.INTLINESNUM: lines in groups of 32, minus one (B3.4, ICTR)
            return (ex.irq_lines + 31) // 32 - 1
        if 0x010 <= reg <= 0x01C:
            return self._read_systick(reg)
        if 0x100 <= reg < 0x340 and (reg - 0x100) % 0x80 < 0x40:
            return self._read_nvic_bits(reg)
        if 0x400 <= reg < 0x5F0:
            return self._read_priorities(FIRST_IRQ + reg - 0x400)
        if reg == 0xD04:
            return self._read_icsr()
        if reg == 0xD08:
            return ex.vtor
        if reg == 0xD0C:
            return (VECTKEY_READ << 16) | (ex.prigroup << 8)  # ENDIANNESS 0: little-endian
        if reg == 0xD14:
            return ex.ccr
        if 0xD18 <= reg <= 0xD20:
            return self._read_priorities(4 + reg - 0xD18)
        if reg == 0xD24:
            return self._read_shcsr()
        if reg in (0xD28, 0xD2C, 0xD34, 0xD38):
            return {0xD28: ex.cfsr, 0xD2C: ex.hfsr, 0xD34: ex.mmfar, 0xD38: ex.bfar}[reg]
        if reg == 0xD98:
            return self.mpu_rnr
        if reg in (0xD9C, 0xDA4, 0xDAC, 0xDB4):  # MPU_RBAR and its aliases A1-A3: B3.5 (MPU)
            return self.mpu_rbar[self.mpu_rnr] | self.mpu_rnr
        if reg in (0xDA0, 0xDA8, 0xDB0, 0xDB8):
            return self.mpu_rasr[self.mpu_rnr]
        if reg == 0xDF0:  # DHCSR: C_DEBUGEN (C1.6, DHCSR)
            return 1 if self.params.get("debugger_attached", True) else 0
        if reg == 0xDF8:  # DCRDR
            return 0
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        ex = self.exceptions
        if reg in self.held:
            old_trace = self.trace_enabled
            self.held.write(reg, value, mask)
            if reg == DEMCR and self.trace_enabled != old_trace:
                for callback in self.trace_listeners:
                    callback()
        elif 0x010 <= reg <= 0x01C:
            self._write_systick(reg, value, mask)
        elif 0x100 <= reg < 0x300 and (reg - 0x100) % 0x80 < 0x40:
            self._write_nvic_bits(reg, value & mask)
        elif 0x300 <= reg < 0x340:
            pass  # IABR is read-only
        elif 0x400 <= reg < 0x5F0:
            self._write_priorities(FIRST_IRQ + reg - 0x400, value, mask)
        elif reg == 0xD04:
            self._write_icsr(value & mask)
        elif reg == 0xD08:
            ex.vtor = merge(ex.vtor, value, mask) & 0xFFFF_FF80  # TBLOFF bits [31:7]: B3.2 (VTOR)
        elif reg == 0xD0C:
            self._write_aircr(value, mask)
        elif reg == 0xD14:
            ex.write_ccr(merge(ex.ccr, value, mask & CCR_WRITABLE))
        elif 0xD18 <= reg <= 0xD20:
            self._write_priorities(4 + reg - 0xD18, value, mask)
        elif reg == 0xD24:
            self._write_shcsr(value, mask)
        elif reg in (0xD28, 0xD2C):  # write-one-to-clear status (B3.2, CFSR and HFSR)
            if reg == 0xD28:
                ex.cfsr &= ~(value & mask)
            else:
                ex.hfsr &= ~(value & mask)
        elif reg in (0xD34, 0xD38):
            if reg == 0xD34:
                ex.mmfar = merge(ex.mmfar, value, mask)
            else:
                ex.bfar = merge(ex.bfar, value, mask)
        elif reg in (0xD98, 0xD9C, 0xDA0, 0xDA4, 0xDA8, 0xDAC, 0xDB0, 0xDB4, 0xDB8):
            self._write_mpu(reg, value, mask)
        elif reg in (0xDF0, 0xDF4, 0xDF8):
            pass  # DHCSR (needs DBGKEY), DCRSR, DCRDR: debugger-side registers, writes ignored
        elif reg == 0xF00:  # STIR: software-trigger interrupt INTID (B3.4, STIR)
            irq = (value & mask) & 0x1FF
            if irq < ex.irq_lines:
                ex.set_pending(FIRST_IRQ + irq)
        elif reg in ID_WORDS or reg in (0x004, 0xD30):
            pass  # read-only: writes ignored
        else:
            raise self.unmodelled(reg, "write")

    # ------------------------------------------------------------------ SysTick (B3.3)
    def _read_systick(self, reg: int) -> int:
        st = self.systick
        return {0x010: st.read_csr, 0x014: lambda: st.rvr, 0x018: st.current_value, 0x01C: lambda: st.calib}[reg]()

    def _write_systick(self, reg: int, value: int, mask: int) -> None:
        st = self.systick
        if reg == 0x010:
            st.write_csr(merge(st.csr, value, mask))
        elif reg == 0x014:
            st.write_rvr(merge(st.rvr, value, mask))
        elif reg == 0x018:
            st.write_cvr()

    # ------------------------------------------------------------------ NVIC (B3.4)
    def _lines_of_word(self, reg: int):
        first = FIRST_IRQ + ((reg & 0x3F) // 4) * 32
        return [(bit, first + bit) for bit in range(32) if first + bit < self.exceptions.exception_count()]

    def _read_nvic_bits(self, reg: int) -> int:
        ex, out = self.exceptions, 0
        group = (reg - 0x100) // 0x80  # 0 ISER, 1 ICER, 2 ISPR, 3 ICPR, 4 IABR
        for bit, number in self._lines_of_word(reg):
            state = ex.irq_enabled[number] if group < 2 else (number in ex.pending if group < 4 else number in ex.active)
            out |= int(state) << bit
        return out

    def _write_nvic_bits(self, reg: int, bits: int) -> None:
        ex = self.exceptions
        group = (reg - 0x100) // 0x80
        for bit, number in self._lines_of_word(reg):
            if bits >> bit & 1:
                if group == 0:
                    ex.set_enabled(number, True)
                elif group == 1:
                    ex.set_enabled(number, False)
                elif group == 2:
                    ex.set_pending(number)
                else:
                    ex.clear_pending(number)

    def _priority_slots(self, first: int):
        return [(lane, n) for lane, n in enumerate(range(first, first + 4)) if n < self.exceptions.exception_count()]

    def _read_priorities(self, first: int) -> int:
        """Four priority bytes (NVIC_IPR or SHPR1-3), one per exception."""
        out = 0
        for lane, number in self._priority_slots(first):
            if number >= FIRST_IRQ or number in SHCSR_ACTIVE_BIT:  # reserved SHPR bytes read 0
                out |= self.exceptions.priority[number] << (8 * lane)
        return out

    def _write_priorities(self, first: int, value: int, mask: int) -> None:
        for lane, number in self._priority_slots(first):
            if mask >> (8 * lane) & 0xFF and (number >= FIRST_IRQ or number in SHCSR_ACTIVE_BIT):
                self.exceptions.set_priority(number, value >> (8 * lane))

    # ------------------------------------------------------------------ SCB (B3.2)
    def _read_icsr(self) -> int:
        ex = self.exceptions
        number = ex.highest_pending() or 0
        out = ex.current | (number << 12)
        out |= ICSR_ISRPENDING if any(n >= FIRST_IRQ for n in ex.pending) else 0
        out |= ICSR_RETTOBASE if len(ex.active) <= 1 else 0
        out |= ICSR_PENDSTSET if SYSTICK in ex.pending else 0
        out |= ICSR_PENDSVSET if PENDSV in ex.pending else 0
        out |= ICSR_NMIPENDSET if NMI in ex.pending else 0
        return out

    def _write_icsr(self, bits: int) -> None:
        ex = self.exceptions
        if bits & ICSR_NMIPENDSET:
            ex.set_pending(NMI)
        if bits & ICSR_PENDSVSET:
            ex.set_pending(PENDSV)
        elif bits & ICSR_PENDSVCLR:
            ex.clear_pending(PENDSV)
        if bits & ICSR_PENDSTSET:
            ex.set_pending(SYSTICK)
        elif bits & ICSR_PENDSTCLR:
            ex.clear_pending(SYSTICK)

    def _write_aircr(self, value: int, mask: int) -> None:
        if mask != 0xFFFF_FFFF or value >> 16 != VECTKEY_WRITE:
            return  # writes without VECTKEY are ignored: B3.2 (AIRCR)
        self.exceptions.prigroup = (value >> 8) & 7
        if value & (1 << 2):  # SYSRESETREQ
            self.board.request_reset()

    def _read_shcsr(self) -> int:
        ex = self.exceptions
        out = ex.shcsr_enables
        for number, bit in SHCSR_ACTIVE_BIT.items():
            out |= int(number in ex.active) << bit
        for number, bit in SHCSR_PENDED_BIT.items():
            out |= int(number in ex.pending) << bit
        return out

    def _write_shcsr(self, value: int, mask: int) -> None:
        ex = self.exceptions
        ex.shcsr_enables = merge(ex.shcsr_enables, value, mask & SHCSR_ENABLES)
        for number, bit in SHCSR_PENDED_BIT.items():  # pended bits are writable (B3.2, SHCSR)
            if mask >> bit & 1:
                (ex.pending.add if value >> bit & 1 else ex.pending.discard)(number)

    def _write_mpu(self, reg: int, value: int, mask: int) -> None:
        if reg == 0xD98:
            self.mpu_rnr = merge(self.mpu_rnr, value, mask) & (MPU_REGIONS - 1)
        elif reg in (0xD9C, 0xDA4, 0xDAC, 0xDB4):
            word = merge(self.mpu_rbar[self.mpu_rnr] | self.mpu_rnr, value, mask)
            if word & (1 << 4):  # VALID: REGION field selects the region (B3.5, MPU_RBAR)
                self.mpu_rnr = word & (MPU_REGIONS - 1)
            self.mpu_rbar[self.mpu_rnr] = word & 0xFFFF_FFE0
        else:
            self.mpu_rasr[self.mpu_rnr] = merge(self.mpu_rasr[self.mpu_rnr], value, mask) & 0x173F_FF3F


# ---------------------------------------------------------------------- DWT (C1.8)

DWT_CTRL_RESET = 0x4000_0000  # NUMCOMP = 4 comparators, cycle/profiling counters present (M4)
DWT_CTRL_WRITABLE = 0x007F_1FFF
CYCCNTENA = 1 << 0
# CPICNT, EXCCNT, SLEEPCNT, LSUCNT, FOLDCNT: modelled with zero (no event source is counted).
DWT_ZERO_COUNTERS = (0x008, 0x00C, 0x010, 0x014, 0x018)
DWT_LAR = 0xFB0


@register
class ArmV7mDataWatchpointTrace(WordRegisters):
    """DWT_CTRL and DWT_CYCCNT from virtual time; comparators held without matching.

    CYCCNT counts core cycles while CTRL.CYCCNTENA and DEMCR.TRCENA are both set, wraps at 32
    bits, and a write sets it. The platform window must be 4 KiB for DWT_LAR (0xFB0) to be
    reachable.
    """

    TYPE = "armv7m.dwt"

    def reset(self) -> None:
        self.ctrl = DWT_CTRL_RESET
        self.cyccnt_base = 0  # value while stopped, or at the cycle counting (re)started
        self.counting_since: int | None = None
        self.comparators = {0x020 + 16 * n + k: 0 for n in range(4) for k in (0, 4, 8)}
        self._scs = None

    def _scs_model(self):
        if self._scs is None:
            self._scs = self.board.peripheral(self.params.get("scs", "scs"))
            self._scs.add_trace_listener(self._gate_changed)
        return self._scs

    def _cyccnt(self) -> int:
        if self.counting_since is None:
            return self.cyccnt_base
        return (self.cyccnt_base + self.board.now()[0] - self.counting_since) & 0xFFFF_FFFF

    def _gate_changed(self) -> None:
        counting = bool(self.ctrl & CYCCNTENA) and self._scs_model().trace_enabled
        if counting and self.counting_since is None:
            self.counting_since = self.board.now()[0]
        elif not counting and self.counting_since is not None:
            self.cyccnt_base = self._cyccnt()
            self.counting_since = None

    def read_word(self, reg: int) -> int:
        if reg == 0x000:
            return self.ctrl
        if reg == 0x004:
            return self._cyccnt()
        if reg in DWT_ZERO_COUNTERS:
            return 0
        if reg in self.comparators:
            return self.comparators[reg]
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        if reg == 0x000:
            self.ctrl = merge(self.ctrl, value, mask & DWT_CTRL_WRITABLE)
            self._gate_changed()
        elif reg == 0x004:
            self.cyccnt_base = merge(self._cyccnt(), value, mask)
            if self.counting_since is not None:
                self.counting_since = self.board.now()[0]
        elif reg in DWT_ZERO_COUNTERS or reg == DWT_LAR:
            pass  # counters modelled with zero; the lock access key is accepted
        elif reg in self.comparators:
            self.comparators[reg] = merge(self.comparators[reg], value, mask)
        else:
            raise self.unmodelled(reg, "write")
