"""STM32L4+ power control (PWR, RM0432 Rev 9 chapter 5) and flash interface registers (chapter 3).

PWR: the regulator settles instantly in virtual time, so SR2.VOSF reads 0 ("regulator ready in the
selected range") and SR2.REGLPF follows CR1.LPR at once; every change of the effective range
(CR1.VOS with CR5.R1MODE) is reported through `board.set_voltage_range()`. Wakeup pins, PVD/PVM
monitors, standby/shutdown entry and the I/O pull-up/down registers are held without effect.

FLASH: FLASH_ACR is held and every write goes to the board's flash model, `board.flash_model.set_acr()` (the ART
and wait-state model belongs to the board). The unlock key sequences of KEYR/OPTKEYR work;
erase, programming and option-byte loading are not modelled and raise UnmodelledAccess when
started. Reset values: RM0432 §3.7 and §5.4 register descriptions (as in ST's STM32L4R5 SVD).
"""

from __future__ import annotations

from vbench.errors import VbenchError
from vbench.sim.peripherals.base import register
from vbench.sim.peripherals.mmio_regs import HeldRegisters, WordRegisters, merge

# ---------------------------------------------------------------------- PWR
PWR_CR1, PWR_SR2, PWR_CR5 = 0x00, 0x14, 0x80
CR1_RESET, CR1_WRITABLE = 0x0000_0200, 0x0000_4707  # VOS [10:9] = 01 (range 1); LPMS, DBP, VOS, LPR
CR1_LPR = 1 << 14
CR5_RESET, CR5_R1MODE = 0x0000_0100, 1 << 8  # R1MODE = 1: range 1 normal mode (0 = boost)
SR2_REGLPS, SR2_REGLPF = 1 << 8, 1 << 9  # VOSF (bit 10) always reads 0 = ready
VOS_RANGE1, VOS_RANGE2 = 0b01, 0b10

PWR_HELD = {
    0x04: (0x0000_0000, 0x0000_06FF),  # CR2: PVDE, PLS, PVME1-4, IOSV (VDDIO2 valid), USV
    0x08: (0x0000_8000, 0x0000_971F),  # CR3: EWUP1-5, RRS, APC, EIWUL (reset 1)
    0x0C: (0x0000_0000, 0x0000_031F),  # CR4: WP1-5, VBE, VBRS
    **{off: (0x0000_0000, 0x0000_FFFF) for off in range(0x20, 0x68, 4)},  # PUCRA..PDCRI
}


@register
class Stm32l4PowerControl(WordRegisters):
    TYPE = "stm32l4.pwr"

    def reset(self) -> None:
        self.cr1 = CR1_RESET
        self.cr5 = CR5_RESET
        self.held = HeldRegisters(PWR_HELD)
        self.reported_range = self.voltage_range

    @property
    def voltage_range(self) -> str:
        vos = (self.cr1 >> 9) & 3
        if vos == VOS_RANGE2:
            return "range2"
        return "range1" if self.cr5 & CR5_R1MODE else "range1-boost"

    def _range_maybe_changed(self) -> None:
        if (self.cr1 >> 9) & 3 not in (VOS_RANGE1, VOS_RANGE2):
            raise VbenchError(f"PWR_CR1.VOS = {(self.cr1 >> 9) & 3:02b} is not allowed (RM0432 PWR_CR1: 01 or 10 only)")
        if self.voltage_range != self.reported_range:
            self.reported_range = self.voltage_range
            self.board.set_voltage_range(self.reported_range)

    def read_word(self, reg: int) -> int:
        if reg in self.held:
            return self.held[reg]
        if reg == PWR_CR1:
            return self.cr1
        if reg == PWR_CR5:
            return self.cr5
        if reg == 0x10:
            return 0  # SR1: no wakeup or standby event ever happens
        if reg == PWR_SR2:
            return SR2_REGLPS | (SR2_REGLPF if self.cr1 & CR1_LPR else 0)
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        if reg in self.held:
            self.held.write(reg, value, mask)
        elif reg == PWR_CR1:
            self.cr1 = merge(self.cr1, value, mask & CR1_WRITABLE)
            self._range_maybe_changed()
        elif reg == PWR_CR5:
            self.cr5 = merge(self.cr5, value, mask & CR5_R1MODE)
            self._range_maybe_changed()
        elif reg == 0x18:
            pass  # SCR: clears SR1 flags, which never set
        else:
            raise self.unmodelled(reg, "write")


# ---------------------------------------------------------------------- FLASH
FLASH_ACR, FLASH_KEYR, FLASH_OPTKEYR, FLASH_SR, FLASH_CR = 0x00, 0x08, 0x0C, 0x10, 0x14
ACR_RESET = 0x0000_0600  # ICEN and DCEN set at reset (RM0432 FLASH_ACR)
ACR_WRITABLE = 0x0000_7F0F  # LATENCY [3:0], PRFTEN 8, ICEN 9, DCEN 10, ICRST 11, DCRST 12, RUN_PD 13, SLEEP_PD 14
ACR_PRFTEN, ACR_ICEN, ACR_DCEN, ACR_ICRST, ACR_DCRST = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
CR_RESET = 0xC000_0000  # LOCK 31 and OPTLOCK 30 set
CR_LOCK, CR_OPTLOCK = 1 << 31, 1 << 30
CR_STARTS = (1 << 16) | (1 << 17) | (1 << 27)  # STRT, OPTSTRT, OBL_LAUNCH
CR_WRITABLE = 0x0F07_8FFF  # PG, PER, MER1, PNB, BKER, MER2, STRT, OPTSTRT, FSTPG, EOPIE, ERRIE, RDERRIE, OBL_LAUNCH
SR_CLEARABLE = 0x0000_C3FB  # EOP, OPERR, PROGERR, WRPERR, PGAERR, SIZERR, PGSERR, MISERR, FASTERR, RDERR, OPTVERR
FLASH_KEYS = (0x4567_0123, 0xCDEF_89AB)  # RM0432 "Unlocking the Flash memory"
OPTION_KEYS = (0x0819_2A3B, 0x4C5D_6E7F)  # RM0432 "Option bytes programming"

FLASH_HELD = {
    0x18: (0x0000_0000, 0x0100_0000),  # ECCR: ECCIE writable; ECCC/ECCD never set
    0x20: (0xFFEF_F8AA, 0xFFFF_FFFF),  # OPTR: factory option bytes (RDP level 0 = 0xAA, DBANK set)
    0x130: (0x0000_0000, 0x0000_0001),  # CFGR: LVEN
}


@register
class Stm32l4FlashInterface(WordRegisters):
    TYPE = "stm32l4.flash"

    def reset(self) -> None:
        self.acr = ACR_RESET
        self.cr = CR_RESET
        self.sr = 0
        self.key_step = self.option_key_step = 0
        self.held = HeldRegisters(FLASH_HELD)
        self._publish_acr()

    def _publish_acr(self) -> None:
        """The timing model follows FLASH_ACR from reset on (I- and D-cache enabled at reset)."""
        a = self.acr
        if self.board.flash_model is not None:
            self.board.flash_model.set_acr(a & 0xF, bool(a & ACR_PRFTEN), bool(a & ACR_ICEN), bool(a & ACR_DCEN),
                                           bool(a & ACR_ICRST), bool(a & ACR_DCRST))

    def read_word(self, reg: int) -> int:
        if reg in self.held:
            return self.held[reg]
        if reg == FLASH_ACR:
            return self.acr
        if reg == FLASH_SR:
            return self.sr
        if reg == FLASH_CR:
            return self.cr
        if reg in (0x04, FLASH_KEYR, FLASH_OPTKEYR):
            return 0  # write-only key registers read 0
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        if reg in self.held:
            self.held.write(reg, value, mask)
        elif reg == FLASH_ACR:
            self.acr = merge(self.acr, value, mask & ACR_WRITABLE)
            self._publish_acr()
        elif reg == 0x04:
            pass  # PDKEYR: run power-down unlock keys; power-down is not modelled
        elif reg == FLASH_KEYR:
            self.key_step = self._key(self.key_step, value, FLASH_KEYS)
            if self.key_step == 2:
                self.cr &= ~CR_LOCK
        elif reg == FLASH_OPTKEYR:
            self.option_key_step = self._key(self.option_key_step, value, OPTION_KEYS)
            if self.option_key_step == 2 and not self.cr & CR_LOCK:
                self.cr &= ~CR_OPTLOCK
        elif reg == FLASH_SR:
            self.sr &= ~(value & mask & SR_CLEARABLE)
        elif reg == FLASH_CR:
            self._write_cr(value, mask)
        else:
            raise self.unmodelled(reg, "write")

    @staticmethod
    def _key(step: int, value: int, keys: tuple[int, int]) -> int:
        """Key sequence position: a wrong key locks until reset (step 3), as the bus error does."""
        if step < 2 and value == keys[step]:
            return step + 1
        return 2 if step == 2 else 3

    def _write_cr(self, value: int, mask: int) -> None:
        relock = value & mask & (CR_LOCK | CR_OPTLOCK)
        if self.cr & CR_LOCK:
            self.cr |= relock
            return  # FLASH_CR cannot be written while locked
        if value & mask & CR_STARTS:
            raise self.unmodelled(FLASH_CR, "flash erase/program/option load (STRT, OPTSTRT or OBL_LAUNCH) in write")
        self.cr = merge(self.cr, value, mask & CR_WRITABLE) | relock
        if relock & CR_LOCK:
            self.key_step = self.option_key_step = 0
