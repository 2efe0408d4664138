"""Register-level tests of the peripheral models and the Cortex-M exception model.

The models talk to a board through a handful of calls; `FakeBoard` records them and lets a test
move virtual time by hand. The last part runs real Thumb code in Unicorn to check exception
entry and return, including what Unicorn 2.1.4 does on its own (see vbench/sim/cortexm.py).
"""

from __future__ import annotations

import itertools
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

from vbench.sim.cortexm import PENDSV, SVCALL, SYSTICK, ExceptionController
from vbench.sim.peripherals import load_all
from vbench.sim.peripherals.base import REGISTRY, UnmodelledAccess

load_all()


# ====================================================================== fake board
class FakeBoard:
    """Records what the models ask of the board; virtual time moves only through advance()."""

    def __init__(self, clock_hz: float = 4_000_000):
        self.cycles = 0
        self.clock_hz = clock_hz
        self.core_clocks: list[int] = []
        self.voltage_ranges: list[str] = []
        self.flash_acr: list[tuple] = []
        self.uart: list[tuple[str, bytes]] = []
        self.gpio: list[tuple[str, int, int]] = []
        self.exit_codes: list[int] = []
        self.resets = 0
        self.events: dict[int, tuple[int, object]] = {}
        self._ids = itertools.count()
        self.exceptions = ExceptionController(96, 4)
        self.peripherals: dict = {}
        self.flash_model = self  # the FLASH register model talks to the flash model directly

    def add(self, type_name: str, name: str, base: int = 0, size: int = 0x400, **params):
        dev = REGISTRY[type_name](self, name, base, size, params)
        self.peripherals[name] = dev
        return dev

    # --- the Board API
    def now(self):
        return self.cycles, self.cycles

    def set_core_clock(self, hz):
        self.core_clocks.append(hz)
        self.clock_hz = hz

    def set_voltage_range(self, name):
        self.voltage_ranges.append(name)

    def set_acr(self, *args):  # the flash model's entry point
        self.flash_acr.append(args)

    def uart_tx(self, name, data):
        self.uart.append((name, data))

    def gpio_event(self, port, pin, level):
        self.gpio.append((port, pin, level))

    def schedule(self, at_cycle, callback):
        handle = next(self._ids)
        self.events[handle] = (at_cycle, callback)
        return handle

    def cancel(self, handle):
        self.events.pop(handle, None)

    def exit(self, code):
        self.exit_codes.append(code)

    def request_reset(self):
        self.resets += 1

    def peripheral(self, name):
        return self.peripherals[name]

    # --- test helpers
    def advance_to(self, cycle: int) -> None:
        """Run due callbacks in time order (each at its own cycle), then stop at `cycle`."""
        while True:
            due = [(at, h) for h, (at, _) in self.events.items() if at <= cycle]
            if not due:
                break
            at, handle = min(due)
            self.cycles = max(self.cycles, at)
            _, callback = self.events.pop(handle)
            callback()
        self.cycles = cycle


def w(dev, offset, value, size=4):
    dev.write(offset, size, value)


def r(dev, offset, size=4):
    return dev.read(offset, size)


# ====================================================================== RCC / PWR / FLASH
RCC_CR, RCC_ICSCR, RCC_CFGR, RCC_PLLCFGR, RCC_APB1ENR1 = 0x00, 0x04, 0x08, 0x0C, 0x58
PWR_CR1, PWR_SR2, PWR_CR5 = 0x00, 0x14, 0x80


@pytest.fixture
def clocks():
    b = FakeBoard()
    return b, b.add("stm32l4.rcc", "rcc", 0x40021000), b.add("stm32l4.pwr", "pwr", 0x40007000), \
        b.add("stm32l4.flash", "flash_regs", 0x40022000)


def modify(dev, offset, clear, set_):
    w(dev, offset, (r(dev, offset) & ~clear) | set_)


def poll(dev, offset, bit, want=True, tries=10):
    for _ in range(tries):
        if bool(r(dev, offset) & bit) == want:
            return
    raise AssertionError(f"bit {bit:#x} of +{offset:#x} never became {want}")


def test_rcc_reset_values_and_clock(clocks):
    b, rcc, _, _ = clocks
    assert r(rcc, RCC_CR) == 0x63  # MSION, MSIRDY, MSIRANGE 4 MHz
    assert r(rcc, RCC_CFGR) == 0 and r(rcc, RCC_PLLCFGR) == 0x1000
    assert r(rcc, RCC_ICSCR) == 0x4000_0000 and r(rcc, 0x94) == 0x0C00_0600 and r(rcc, 0x48) == 0x100
    assert rcc.hclk_hz == 4_000_000 and b.core_clocks == []


def test_hal_120mhz_sequence_from_hsi16(clocks):
    """SystemClock_Config of the MLPerf Tiny L4R5 reference, as STM32Cube HAL performs it."""
    b, rcc, pwr, flash = clocks
    # __HAL_RCC_PWR_CLK_ENABLE()
    modify(rcc, RCC_APB1ENR1, 0, 1 << 28)
    assert r(rcc, RCC_APB1ENR1) & (1 << 28)
    # HAL_PWREx_ControlVoltageScaling(PWR_REGULATOR_VOLTAGE_SCALE1_BOOST): already range 1
    assert (r(pwr, PWR_CR1) >> 9) & 3 == 0b01
    modify(pwr, PWR_CR5, 1 << 8, 0)
    assert b.voltage_ranges == ["range1-boost"]
    assert r(pwr, PWR_SR2) & (1 << 10) == 0  # VOSF: ready
    # HAL_RCC_OscConfig: HSI on, calibration, PLL off / configure / on / output enable
    modify(rcc, RCC_CR, 0, 1 << 8)
    poll(rcc, RCC_CR, 1 << 10)
    modify(rcc, RCC_ICSCR, 0x7F << 24, 0x40 << 24)
    modify(rcc, RCC_CR, 1 << 24, 0)
    poll(rcc, RCC_CR, 1 << 25, want=False)
    pllcfgr = 2 | ((2 - 1) << 4) | (30 << 8) | (((2 >> 1) - 1) << 21) | (((2 >> 1) - 1) << 25) | (2 << 27)
    modify(rcc, RCC_PLLCFGR, 0xFF7F_7FF3 & ~(1 << 16 | 1 << 20 | 1 << 24), pllcfgr)
    modify(rcc, RCC_CR, 0, 1 << 24)
    modify(rcc, RCC_PLLCFGR, 0, 1 << 24)  # __HAL_RCC_PLLCLKOUT_ENABLE(RCC_PLL_SYSCLK)
    poll(rcc, RCC_CR, 1 << 25)
    # HAL_RCC_ClockConfig(..., FLASH_LATENCY_5)
    modify(flash, 0x00, 0xF, 5)
    assert r(flash, 0x00) & 0xF == 5
    modify(rcc, RCC_CFGR, 0xF0, 0x80)  # > 80 MHz: HCLK = SYSCLK / 2 during the switch
    modify(rcc, RCC_CFGR, 3, 3)  # SW = PLL
    assert (r(rcc, RCC_CFGR) >> 2) & 3 == 3  # SWS follows
    modify(rcc, RCC_CFGR, 0xF0, 0)  # back to /1
    modify(rcc, RCC_CFGR, 0x700, 0x400)  # APB1 /2
    modify(rcc, RCC_CFGR, 0x3800, 0)  # APB2 /1
    assert b.core_clocks == [2_000_000, 60_000_000, 120_000_000]
    assert b.core_clocks[-1] == 120_000_000
    assert r(rcc, RCC_CR) & (1 << 10) and r(rcc, RCC_CR) & (1 << 25)
    assert rcc.pclk1_hz == 60_000_000 and rcc.pclk2_hz == 120_000_000
    assert rcc.timer_clock_per_hclk(1) == (2, 2)  # TIM2 clock = 2 x PCLK1 = 120 MHz
    assert b.flash_acr[-1] == (5, False, True, True, False, False)
    # the SYSCLK source and its oscillator cannot be switched off while in use
    modify(rcc, RCC_CR, (1 << 24) | (1 << 8), 0)
    assert r(rcc, RCC_CR) & (1 << 24) and r(rcc, RCC_CR) & (1 << 8)


def test_rcc_refuses_sources_that_cannot_run(clocks):
    b, rcc, _, _ = clocks
    modify(rcc, RCC_CR, 0, 1 << 16)  # HSEON with no HSE on the board
    assert not r(rcc, RCC_CR) & (1 << 17)
    modify(rcc, RCC_CFGR, 3, 2)  # SW = HSE: refused
    assert (r(rcc, RCC_CFGR) >> 2) & 3 == 0 and b.core_clocks == []
    b2 = FakeBoard()
    rcc2 = b2.add("stm32l4.rcc", "rcc", hse_hz=8_000_000)
    modify(rcc2, RCC_CR, 0, 1 << 16)
    assert r(rcc2, RCC_CR) & (1 << 17)
    modify(rcc2, RCC_CFGR, 3, 2)
    assert b2.core_clocks == [8_000_000]


def test_msi_range_change_reaches_the_core_clock(clocks):
    b, rcc, _, _ = clocks
    modify(rcc, RCC_CR, 0xF0, (0xB << 4) | (1 << 3))  # MSIRANGE 48 MHz, MSIRGSEL
    assert b.core_clocks == [48_000_000]


def test_pwr_ranges(clocks):
    b, _, pwr, _ = clocks
    modify(pwr, PWR_CR1, 3 << 9, 2 << 9)
    modify(pwr, PWR_CR1, 0, 1 << 14)  # low-power run
    assert r(pwr, PWR_SR2) & (1 << 9)  # REGLPF
    assert b.voltage_ranges == ["range2"]
    modify(pwr, PWR_CR1, 3 << 9, 1 << 9)
    assert b.voltage_ranges == ["range2", "range1"]


def test_flash_acr_round_trip_and_keys(clocks):
    b, _, _, flash = clocks
    assert r(flash, 0x00) == 0x600
    w(flash, 0x00, 0x705)
    assert r(flash, 0x00) == 0x705
    assert b.flash_acr[-1] == (5, True, True, True, False, False)
    w(flash, 0x00, 0xFFFF_FFFF)
    assert r(flash, 0x00) == 0x7F0F  # reserved bits stay 0
    assert b.flash_acr[-1] == (15, True, True, True, True, True)
    w(flash, 0x01, 0x1A, size=1)  # byte write to bits [15:8]: ICRST/DCRST cleared, caches on
    assert r(flash, 0x00) == 0x1A0F and len(b.flash_acr) == 4  # reset state + three writes
    assert r(flash, 0x14) == 0xC000_0000  # FLASH_CR: LOCK and OPTLOCK
    w(flash, 0x08, 0x4567_0123)
    w(flash, 0x08, 0xCDEF_89AB)
    assert not r(flash, 0x14) & (1 << 31)
    assert r(flash, 0x20) == 0xFFEF_F8AA


# ====================================================================== USART
ISR_TXE, ISR_TC, ISR_RXNE, ISR_IDLE, TEACK, REACK = 1 << 7, 1 << 6, 1 << 5, 1 << 4, 1 << 21, 1 << 22


def test_usart_transmit_and_flags():
    b = FakeBoard()
    u = b.add("stm32.usart", "lpuart1", irq=70, lpuart=True)
    assert r(u, 0x1C) == 0x0080_00C0
    w(u, 0x28, ord("x"))
    assert b.uart == []  # UE/TE off: nothing leaves
    w(u, 0x00, 0b1101)  # UE, RE, TE
    isr = r(u, 0x1C)
    assert isr & TEACK and isr & REACK and isr & ISR_TXE and isr & ISR_TC
    w(u, 0x20, 1 << 6)  # TCCF
    assert not r(u, 0x1C) & ISR_TC
    w(u, 0x28, ord("A"))
    assert b.uart == [("lpuart1", b"A")] and r(u, 0x1C) & ISR_TC
    w(u, 0x0C, 0xFFFF_FFFF)
    assert r(u, 0x0C) == 0x000F_FFFF  # LPUART BRR is 20 bits


def test_usart_receive_feed_and_interrupt():
    b = FakeBoard()
    u = b.add("stm32.usart", "usart2", irq=38)
    u.feed(b"hi")
    assert not r(u, 0x1C) & ISR_RXNE  # receiver still off: the bytes wait on the line
    w(u, 0x00, 0b1101 | (1 << 5))  # UE, RE, TE, RXNEIE
    assert r(u, 0x1C) & ISR_RXNE
    assert 16 + 38 in b.exceptions.pending and 16 + 38 in b.exceptions.asserted
    assert r(u, 0x24) == ord("h") and r(u, 0x1C) & ISR_RXNE
    assert r(u, 0x24) == ord("i")
    isr = r(u, 0x1C)
    assert not isr & ISR_RXNE and isr & ISR_IDLE
    assert 16 + 38 not in b.exceptions.asserted
    assert r(u, 0x24) == ord("i")  # RDR keeps the last byte
    w(u, 0x20, 1 << 4)
    assert not r(u, 0x1C) & ISR_IDLE


# ====================================================================== SysTick
SYST_CSR, SYST_RVR, SYST_CVR = 0x010, 0x014, 0x018


@pytest.fixture
def scs_board():
    b = FakeBoard()
    scs = b.add("armv7m.scs", "scs", 0xE000E000, 0x1000, irqs=96)
    return b, scs


def test_systick_counts_down_from_reload_and_countflag(scs_board):
    b, scs = scs_board
    assert r(scs, SYST_CSR) == 0
    w(scs, SYST_RVR, 999)
    w(scs, SYST_CVR, 12345)
    assert r(scs, SYST_CVR) == 0
    b.cycles = 100
    w(scs, SYST_CSR, 0b101)  # ENABLE, CLKSOURCE = core clock
    b.cycles = 101
    assert r(scs, SYST_CVR) == 999  # first tick reloads
    b.cycles = 600
    assert r(scs, SYST_CVR) == 500 and not r(scs, SYST_CSR) & (1 << 16)
    b.cycles = 1100
    assert r(scs, SYST_CVR) == 0
    assert r(scs, SYST_CSR) & (1 << 16)  # COUNTFLAG ...
    assert not r(scs, SYST_CSR) & (1 << 16)  # ... clears on read
    b.cycles = 1101
    assert r(scs, SYST_CVR) == 999
    b.cycles = 5100  # four more wraps; one read sees them
    assert r(scs, SYST_CSR) & (1 << 16)
    w(scs, SYST_CSR, 0b100)  # disable: frozen
    frozen = r(scs, SYST_CVR)
    b.cycles = 9000
    assert r(scs, SYST_CVR) == frozen
    w(scs, SYST_CVR, 1)
    assert r(scs, SYST_CVR) == 0 and not r(scs, SYST_CSR) & (1 << 16)


def test_systick_enabled_late_has_no_stale_countflag(scs_board):
    b, scs = scs_board
    w(scs, SYST_RVR, 99)
    b.cycles = 5000
    w(scs, SYST_CSR, 0b101)
    assert not r(scs, SYST_CSR) & (1 << 16)
    b.cycles = 5100
    assert r(scs, SYST_CSR) & (1 << 16) and r(scs, SYST_CVR) == 0
    w(scs, SYST_RVR, 9)  # a new reload applies from the next wrap
    b.cycles = 5101
    assert r(scs, SYST_CVR) == 9


def test_systick_reference_clock_is_hclk_over_8(scs_board):
    b, scs = scs_board
    w(scs, SYST_RVR, 99)
    w(scs, SYST_CSR, 0b001)  # ENABLE, CLKSOURCE = HCLK/8
    b.cycles = 8 * 51
    assert r(scs, SYST_CVR) == 49


def test_systick_interrupt_is_scheduled(scs_board):
    b, scs = scs_board
    ex = b.exceptions
    w(scs, SYST_RVR, 1199)  # 1 ms at 1.2 MHz
    w(scs, SYST_CVR, 0)
    b.cycles = 10
    w(scs, SYST_CSR, 0b111)  # ENABLE, TICKINT, core clock
    fires = []
    for period in range(1, 4):
        b.advance_to(10 + 1200 * period - 1)
        assert SYSTICK not in ex.pending
        b.advance_to(10 + 1200 * period)
        assert SYSTICK in ex.pending
        fires.append(b.cycles)
        ex.clear_pending(SYSTICK)
    assert fires == [1210, 2410, 3610]
    w(scs, SYST_CSR, 0b101)  # TICKINT off: nothing scheduled any more
    assert b.events == {}


# ====================================================================== DWT
def test_dwt_cyccnt_enable_semantics(scs_board):
    b, scs = scs_board
    dwt = b.add("armv7m.dwt", "dwt", 0xE0001000, 0x1000)
    assert r(dwt, 0x000) == 0x4000_0000
    b.cycles = 50
    w(dwt, 0x000, 1)  # CYCCNTENA, but DEMCR.TRCENA is still 0
    b.cycles = 100
    assert r(dwt, 0x004) == 0
    w(scs, 0xDFC, 1 << 24)  # TRCENA
    b.cycles = 350
    assert r(dwt, 0x004) == 250
    w(dwt, 0x004, 5)
    b.cycles = 360
    assert r(dwt, 0x004) == 15
    w(dwt, 0x000, 0)  # stop
    b.cycles = 1000
    assert r(dwt, 0x004) == 15 and r(dwt, 0x000) == 0x4000_0000
    w(dwt, 0x004, 0xFFFF_FFF0)
    w(dwt, 0x000, 1)
    b.cycles = 1032
    assert r(dwt, 0x004) == 0x10  # wraps at 32 bits
    w(scs, 0xDFC, 0)  # TRCENA off also stops it
    b.cycles = 2000
    assert r(dwt, 0x004) == 0x10
    assert r(dwt, 0x008) == 0  # CPICNT modelled with zero
    w(dwt, 0xFB0, 0xC5AC_CE55)  # LAR accepted


# ====================================================================== TIM2
def test_tim2_counts_with_prescaler_and_update_interrupt():
    b = FakeBoard()
    b.add("stm32l4.rcc", "rcc", 0x40021000)
    t = b.add("stm32.tim", "tim2", 0x40000000, width=32)
    assert r(t, 0x2C) == 0xFFFF_FFFF  # ARR
    w(t, 0x28, 3)  # PSC: /4, takes effect at the next update event
    w(t, 0x2C, 99)  # ARR: period 100 (ARPE = 0: immediate)
    w(t, 0x14, 1)  # EGR.UG loads PSC, sets UIF
    assert r(t, 0x10) & 1
    w(t, 0x10, 0)  # clear SR
    w(t, 0x0C, 1)  # UIE
    b.cycles = 1000
    w(t, 0x00, 1)  # CEN
    b.advance_to(1000 + 4 * 50 + 3)
    assert r(t, 0x24) == 50 and not r(t, 0x10) & 1
    b.advance_to(1000 + 4 * 100 - 1)
    assert 16 + 28 not in b.exceptions.pending
    b.advance_to(1000 + 4 * 100)
    assert 16 + 28 in b.exceptions.pending and r(t, 0x10) & 1
    assert r(t, 0x24) == 0
    w(t, 0x10, 0)  # ISR clears UIF: the line drops
    assert 16 + 28 not in b.exceptions.asserted
    w(t, 0x28, 7)  # new PSC: only after the next update
    b.advance_to(1400 + 4 * 100)
    assert r(t, 0x24) == 0 and r(t, 0x10) & 1
    b.advance_to(1800 + 8 * 10)
    assert r(t, 0x24) == 10


def test_tim2_clock_follows_apb1_prescaler():
    b = FakeBoard()
    rcc = b.add("stm32l4.rcc", "rcc", 0x40021000)
    t = b.add("stm32.tim", "tim2", 0x40000000, width=32)
    w(t, 0x00, 1)
    b.cycles = 100
    assert r(t, 0x24) == 100  # APB1 /1: timer clock = HCLK
    w(rcc, RCC_CFGR, 0b101 << 8)  # APB1 /4: timer clock = 2 x HCLK/4
    b.cycles = 300
    assert r(t, 0x24) == 200


def test_tim2_output_compare_flag():
    b = FakeBoard()
    t = b.add("stm32.tim", "tim2", 0x40000000, width=32)
    w(t, 0x34, 500)  # CCR1
    w(t, 0x0C, 1 << 1)  # CC1IE
    w(t, 0x00, 1)
    b.advance_to(499)
    assert not r(t, 0x10) & (1 << 1)
    b.advance_to(500)
    assert r(t, 0x10) & (1 << 1) and 16 + 28 in b.exceptions.pending
    with pytest.raises(UnmodelledAccess):
        w(t, 0x00, 1 | (1 << 4))  # down-counting


# ====================================================================== GPIO
def test_gpio_reset_values_and_bsrr_edges():
    b = FakeBoard()
    g = b.add("stm32.gpio", "gpio", 0x48000000, 0x2400)
    assert r(g, 0x000) == 0xABFF_FFFF and r(g, 0x400) == 0xFFFF_FEBF and r(g, 0x800) == 0xFFFF_FFFF
    assert r(g, 0x00C) == 0x6400_0000 and r(g, 0x40C) == 0x100 and r(g, 0x408) == 0xC0
    modify(g, 0x000, 3 << 10, 1 << 10)  # PA5 output
    assert b.gpio == [("A", 5, 0)]
    w(g, 0x018, 1 << 5)  # BSRR set
    w(g, 0x018, 1 << 5)  # no change, no event
    w(g, 0x018, 1 << 21)  # BSRR reset
    w(g, 0x01A, 1 << 5, size=2)  # upper half alone: reset again (no change)
    w(g, 0x018, (1 << 5) | (1 << 21))  # set wins
    w(g, 0x028, 1 << 5)  # BRR
    assert b.gpio == [("A", 5, 0), ("A", 5, 1), ("A", 5, 0), ("A", 5, 1), ("A", 5, 0)]
    w(g, 0x014, 1 << 6)  # PA6 is analog: ODR changes, no driven edge
    assert len(b.gpio) == 5 and r(g, 0x010) & (1 << 6) == 0
    modify(g, 0x1800, 3 << 14, 1 << 14)  # PG7 output
    w(g, 0x1818, 1 << 7)
    assert b.gpio[-1] == ("G", 7, 1) and r(g, 0x1810) & (1 << 7)


def test_gpio_lock_sequence():
    b = FakeBoard()
    g = b.add("stm32.gpio", "gpio", 0x48000000, 0x2400)
    for word in ((1 << 16) | 1, 1, (1 << 16) | 1):
        w(g, 0x41C, word)
    assert r(g, 0x41C) == (1 << 16) | 1
    before = r(g, 0x400)
    w(g, 0x400, 0)
    assert r(g, 0x400) == before & 3  # PB0 kept its mode, the others changed


# ====================================================================== RISC-V board
def test_16550_lsr_dlab_and_receive():
    b = FakeBoard(336_000_000)
    u = b.add("ns16550.uart", "uart", 0x1A100000, 0x1000, console=True)
    assert r(u, 0x14) == 0x60  # THRE | TEMT
    w(u, 0x0C, 0x83)  # DLAB, 8N1
    w(u, 0x00, 0x1B)
    w(u, 0x04, 0x00)
    assert b.uart == [] and r(u, 0x00) == 0x1B
    w(u, 0x0C, 0x03)
    w(u, 0x00, ord("k"))
    assert b.uart == [("uart", b"k")]
    u.feed(b"ab")
    assert r(u, 0x14) & 1
    w(u, 0x04, 1)  # ERBFI
    assert r(u, 0x08) & 0x0F == 0x04
    assert r(u, 0x00) == ord("a") and r(u, 0x00) == ord("b")
    assert r(u, 0x14) == 0x60 and r(u, 0x08) & 1
    with pytest.raises(UnmodelledAccess):
        r(u, 0x02, size=1)


def test_clint_mtime_exact_integer():
    b = FakeBoard(336e6)
    c = b.add("riscv.clint", "clint", 0x2000000, 0x10000, timebase_hz=1_000_000)
    b.cycles = 336 * 1000 + 335
    assert r(c, 0xBFF8) == 1000 and r(c, 0xBFFC) == 0
    b.cycles = 336 * (1 << 32) * 1000
    assert r(c, 0xBFFC) == 1000 and r(c, 0xBFF8) == 0
    b.cycles = 336 * 10
    w(c, 0xBFFC, 0)
    w(c, 0xBFF8, 5)
    b.cycles = 336 * 12
    assert r(c, 0xBFF8) == 7
    assert r(c, 0x4000) == 0xFFFF_FFFF and not c.timer_pending
    fired = []
    c.on_timer = fired.append
    w(c, 0x4004, 0)
    w(c, 0x4000, 9)
    b.advance_to(336 * 14)
    assert fired == [True] and c.timer_pending
    w(c, 0x0, 1)
    assert c.software_pending


def test_exit_register_and_pulp_gpio():
    b = FakeBoard(336e6)
    e = b.add("vbench.exit", "exit", 0x1A1FF000, 0x1000)
    w(e, 0, 3)
    assert b.exit_codes == [3]
    with pytest.raises(UnmodelledAccess):
        w(e, 0, 1, size=1)
    g = b.add("pulp.gpio", "gpio", 0x1A101000, 0x1000)
    w(g, 0x8, 1 << 2)  # level on an input pad: no event
    w(g, 0x0, 1 << 2)  # pad 2 becomes an output driving 1
    w(g, 0x8, 0)
    assert b.gpio == [("0", 2, 1), ("0", 2, 0)] and r(g, 0x4) == 0


# ====================================================================== NVIC / SCB registers
def test_scs_nvic_and_scb_registers(scs_board):
    b, scs = scs_board
    ex = b.exceptions
    assert r(scs, 0xD00) == 0x410F_C241 and r(scs, 0x004) == 2 and r(scs, 0xD14) == 0x200
    w(scs, 0x104, 1 << 6)  # ISER1: IRQ 38
    assert ex.is_enabled(16 + 38) and r(scs, 0x104) == 1 << 6 and r(scs, 0x184) == 1 << 6
    w(scs, 0x204, 1 << 6)  # ISPR1
    assert r(scs, 0x284) == 1 << 6 and (r(scs, 0xD04) >> 12) & 0x1FF == 16 + 38
    assert r(scs, 0xD04) & (1 << 22)  # ISRPENDING
    w(scs, 0x426, 0xFF, size=1)  # IPR byte of IRQ 38: 4 bits implemented
    assert ex.priority[16 + 38] == 0xF0 and r(scs, 0x424) == 0xF0 << 16
    w(scs, 0xD20, 0xF0 << 24)  # SHPR3: SysTick priority 15 (HAL_InitTick)
    assert ex.priority[SYSTICK] == 0xF0 and r(scs, 0xD20) == 0xF0 << 24
    w(scs, 0xD04, 1 << 28)  # PENDSVSET
    assert PENDSV in ex.pending and r(scs, 0xD04) & (1 << 28)
    w(scs, 0xD08, 0x0800_4000)
    assert r(scs, 0xD08) == 0x0800_4000 and ex.vtor == 0x0800_4000
    w(scs, 0xD0C, 0x0000_0300)  # no VECTKEY: ignored
    assert r(scs, 0xD0C) == 0xFA05_0000
    w(scs, 0xD0C, 0x05FA_0300)
    assert r(scs, 0xD0C) == 0xFA05_0300 and ex.prigroup == 3
    w(scs, 0xD0C, 0x05FA_0304)
    assert b.resets == 1
    w(scs, 0xF00, 39)  # STIR
    assert 16 + 39 in ex.pending
    w(scs, 0xD88, 0xF << 20)
    assert r(scs, 0xD88) == 0xF << 20
    assert r(scs, 0xF34) == 0xC000_0000 and r(scs, 0xF40) == 0x1011_0021
    w(scs, 0xD24, 1 << 18)  # USGFAULTENA
    assert r(scs, 0xD24) == 1 << 18
    w(scs, 0xD9C, 0x2000_0000 | (1 << 4) | 3)  # MPU_RBAR with VALID selects region 3
    assert r(scs, 0xD98) == 3 and r(scs, 0xD9C) == 0x2000_0003


def test_unmodelled_offsets_raise(scs_board):
    b, scs = scs_board
    dwt = b.add("armv7m.dwt", "dwt", 0xE0001000, 0x1000)
    rcc = b.add("stm32l4.rcc", "rcc", 0x40021000)
    usart = b.add("stm32.usart", "usart2", 0x40004400, irq=38)
    tim = b.add("stm32.tim", "tim2", 0x40000000, width=32)
    gpio = b.add("stm32.gpio", "gpio", 0x48000000, 0x2400)
    for dev, offset in ((scs, 0xE40), (scs, 0x140), (scs, 0xD7C), (dwt, 0x01C), (rcc, 0x24), (usart, 0x30),
                        (tim, 0x4C), (gpio, 0x030)):
        with pytest.raises(UnmodelledAccess, match=f"{dev.base + offset:#010x}"):
            r(dev, offset)
    with pytest.raises(UnmodelledAccess):
        w(b.add("stm32.usart", "lpuart1", lpuart=True), 0x10, 0)  # no GTPR on LPUART


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
