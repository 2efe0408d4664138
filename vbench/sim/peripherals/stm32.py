"""STM32 peripheral models (RM0432 Rev 9, the STM32L4+ reference manual).

Importing this module registers every STM32 type: `stm32l4.rcc` (stm32_rcc), `stm32l4.pwr` and
`stm32l4.flash` (stm32_pwr_flash), `stm32.gpio` (stm32_gpio), `stm32.usart` (stm32_usart),
`stm32.tim` (stm32_tim) and `stm32.dbgmcu` (here).
"""

from __future__ import annotations

from vbench.sim.peripherals import stm32_gpio, stm32_pwr_flash, stm32_rcc, stm32_tim, stm32_usart  # noqa: F401
from vbench.sim.peripherals.base import register
from vbench.sim.peripherals.mmio_regs import WordRegisters, merge

# DBGMCU (RM0432 "DBGMCU registers"): IDCODE 0x00 (read-only), CR 0x04, APB1FZR1 0x08,
# APB1FZR2 0x0C, APB2FZR 0x10; all writable registers reset to 0.
DBGMCU_HELD = {0x04: 0x0000_00E7, 0x08: 0xFFFF_FFFF, 0x0C: 0xFFFF_FFFF, 0x10: 0xFFFF_FFFF}


@register
class Stm32DebugMcu(WordRegisters):
    """IDCODE = REV_ID[31:16] | DEV_ID[11:0] from params `dev_id` and `rev_id`; the stop/freeze
    bits are held (no debug halt exists in which a timer could be frozen)."""

    TYPE = "stm32.dbgmcu"

    def reset(self) -> None:
        self.regs = {reg: 0 for reg in DBGMCU_HELD}

    @property
    def idcode(self) -> int:
        # rev_id default 0x1000: the first revision code of the STM32L4Rx list in RM0432 DBGMCU_IDCODE
        return ((self.params.get("rev_id", 0x1000) & 0xFFFF) << 16) | (self.params.get("dev_id", 0x470) & 0xFFF)

    def read_word(self, reg: int) -> int:
        if reg == 0x00:
            return self.idcode
        if reg in self.regs:
            return self.regs[reg]
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        if reg == 0x00:
            return  # read-only
        if reg not in self.regs:
            raise self.unmodelled(reg, "write")
        self.regs[reg] = merge(self.regs[reg], value, mask & DBGMCU_HELD[reg])
