"""Register-level tests of the peripheral models (RCC, PWR, FLASH, USART, SysTick, DWT, TIM2, GPIO,
the RISC-V board's devices, NVIC/SCB registers). The models talk to a board through a handful of
calls; `FakeBoard` records them and lets a test move virtual time by hand."""

from __future__ import annotations


import pytest


from vbench.sim.cortexm import PENDSV, SYSTICK
from vbench.sim.peripherals import load_all
from vbench.sim.peripherals.base import UnmodelledAccess

load_all()


from fakeboard import FakeBoard, r, w  # noqa: E402


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
