"""STM32L4+ reset and clock control (RCC): RM0432 Rev 9 chapter 6.

Oscillators and PLLs lock instantly in virtual time: each ready flag (MSIRDY, HSIRDY, HSERDY,
PLLRDY, PLLSAIxRDY, HSI48RDY, LSIRDY, LSERDY) reads back set as soon as its enable bit is written,
which is what the HAL's polling loops wait for, and a SYSCLK switch (CFGR.SW) shows in CFGR.SWS
at once. The clock tree is computed as §6.2 draws it:

    SYSCLK = MSI | HSI16 | HSE | PLLCLK,  PLLCLK = f(PLLSRC) / M * N / R
    HCLK = SYSCLK / HPRE,  PCLK1 = HCLK / PPRE1,  PCLK2 = HCLK / PPRE2

and `board.set_core_clock(HCLK)` is called whenever HCLK changes. A source that cannot run is
refused as hardware refuses it: HSE without a `hse_hz` param never becomes ready (the Nucleo-144
has no HSE crystal fitted by default, UM2179 "HSE clock"), a PLL fed by it never locks, and
CFGR.SWS keeps the old source when SW names one that is not ready.

Held but without effect: peripheral reset registers (a peripheral is not reset by RSTR), Sleep
mode enables, clock-security and clock interrupts (CIFR reads 0), MSI PLL mode, the kernel
clock selections of CCIPR/CCIPR2. Reset values: RM0432 §6.4 register descriptions, as in ST's
STM32L4R5 SVD, except ICSCR (see below).
"""

from __future__ import annotations

from vbench.errors import VbenchError
from vbench.sim.peripherals.base import register
from vbench.sim.peripherals.mmio_regs import HeldRegisters, WordRegisters, merge

HSI16_HZ = 16_000_000
HSI48_HZ = 48_000_000
# MSIRANGE 0..11 (RCC_CR bits [7:4]): 100 k, 200 k, 400 k, 800 k, 1 M, 2 M, 4 M, 8 M, 16 M, 24 M,
# 32 M, 48 MHz (RM0432 §6.2.3 "MSI clock", §6.4 RCC_CR). Reset range 6 = 4 MHz.
MSI_RANGES_HZ = (100_000, 200_000, 400_000, 800_000, 1_000_000, 2_000_000, 4_000_000, 8_000_000,
                 16_000_000, 24_000_000, 32_000_000, 48_000_000)
AHB_DIVIDERS = {0b1000: 2, 0b1001: 4, 0b1010: 8, 0b1011: 16, 0b1100: 64, 0b1101: 128, 0b1110: 256, 0b1111: 512}
APB_DIVIDERS = {0b100: 2, 0b101: 4, 0b110: 8, 0b111: 16}

# RCC_CR (offset 0x00), reset 0x0000_0063: MSION, MSIRDY, MSIRANGE = 6.
CR_MSION, CR_MSIRDY, CR_MSIRGSEL = 1 << 0, 1 << 1, 1 << 3
CR_HSION, CR_HSIRDY = 1 << 8, 1 << 10
CR_HSEON, CR_HSERDY = 1 << 16, 1 << 17
CR_PLLON, CR_PLLRDY = 1 << 24, 1 << 25
CR_PLLSAI1ON, CR_PLLSAI1RDY, CR_PLLSAI2ON, CR_PLLSAI2RDY = 1 << 26, 1 << 27, 1 << 28, 1 << 29
CR_RESET = 0x0000_0063
CR_WRITABLE = 0x150D_0BFD  # every control bit; the *RDY flags are read-only
# RCC_CFGR (0x08), reset 0: SW [1:0], SWS [3:2] read-only, HPRE [7:4], PPRE1 [10:8], PPRE2 [13:11].
CFGR_WRITABLE = 0x7F00_BFF3  # + STOPWUCK 15, MCOSEL [27:24], MCOPRE [30:28]
SW_MSI, SW_HSI16, SW_HSE, SW_PLL = 0, 1, 2, 3
# RCC_PLLCFGR (0x0C), reset 0x0000_1000 (PLLN = 16): PLLSRC [1:0], PLLM [7:4] (M = PLLM + 1),
# PLLN [14:8], PLLPEN 16, PLLP 17, PLLQEN 20, PLLQ [22:21], PLLREN 24, PLLR [26:25], PLLPDIV [31:27].
PLLCFGR_RESET = 0x0000_1000
PLLCFGR_ENABLES = (1 << 16) | (1 << 20) | (1 << 24)  # writable while the PLL runs
PLLCFGR_WRITABLE = 0xFF73_7FF3
PLLREN = 1 << 24
PLLSRC_NONE, PLLSRC_MSI, PLLSRC_HSI16, PLLSRC_HSE = 0, 1, 2, 3
# RCC_CSR (0x94), reset 0x0C00_0600: PINRSTF and BORRSTF (power-on), MSISRANGE = 6 (4 MHz).
CSR_RESET = 0x0C00_0600
CSR_LSION, CSR_LSIRDY, CSR_RMVF = 1 << 0, 1 << 1, 1 << 23
CSR_WRITABLE = 0x0000_0F11  # LSION, LSIPREDIV, MSISRANGE
# RCC_BDCR (0x90): backup domain, reset 0 after a backup-domain reset.
BDCR_LSEON, BDCR_LSERDY, BDCR_LSESYSEN, BDCR_LSESYSRDY, BDCR_BDRST = 1 << 0, 1 << 1, 1 << 7, 1 << 11, 1 << 16
BDCR_WRITABLE = 0x0301_83BD
# RCC_CRRCR (0x98): HSI48ON 0, HSI48RDY 1.
CRRCR_HSI48ON, CRRCR_HSI48RDY = 1 << 0, 1 << 1

HELD = {
    # ICSCR: RM0432 gives 0x40XX 00XX (HSITRIM = 64 on L4+'s 7-bit field; the HAL's
    # RCC_HSICALIBRATION_DEFAULT is 0x40 when RCC_ICSCR_HSITRIM_6 exists); the factory
    # calibration fields MSICAL/HSICAL read 0 here. (ST's SVD carries the L4 value 0x1000_0000.)
    0x04: (0x4000_0000, 0x7F00_FF00),
    0x10: (0x0000_1000, 0xFF73_7FF0),  # PLLSAI1CFGR
    0x14: (0x0000_1000, 0xFF73_7FF0),  # PLLSAI2CFGR
    0x18: (0x0000_0000, 0x0000_07FF),  # CIER
    0x28: (0, 0xFFFF_FFFF), 0x2C: (0, 0xFFFF_FFFF), 0x30: (0, 0xFFFF_FFFF),  # AHB1/2/3RSTR
    0x38: (0, 0xFFFF_FFFF), 0x3C: (0, 0xFFFF_FFFF), 0x40: (0, 0xFFFF_FFFF),  # APB1RSTR1/2, APB2RSTR
    0x48: (0x0000_0100, 0xFFFF_FFFF),  # AHB1ENR: FLASHEN set at reset
    0x4C: (0, 0xFFFF_FFFF), 0x50: (0, 0xFFFF_FFFF),  # AHB2ENR, AHB3ENR
    0x58: (0, 0xFFFF_FFFF), 0x5C: (0, 0xFFFF_FFFF), 0x60: (0, 0xFFFF_FFFF),  # APB1ENR1/2, APB2ENR
    0x68: (0x0001_1303, 0xFFFF_FFFF),  # AHB1SMENR
    0x6C: (0x0005_32FF, 0xFFFF_FFFF),  # AHB2SMENR
    0x70: (0x0000_0101, 0xFFFF_FFFF),  # AHB3SMENR
    0x78: (0xF2FE_CA3F, 0xFFFF_FFFF),  # APB1SMENR1
    0x7C: (0x0000_0025, 0xFFFF_FFFF),  # APB1SMENR2
    0x80: (0x0167_7C01, 0xFFFF_FFFF),  # APB2SMENR
    0x88: (0, 0xFFFF_FFFF),  # CCIPR
    0x9C: (0, 0xFFFF_FFFF),  # CCIPR2
    0xA4: (0, 0x0000_00FF),  # DLYCFGR
}


@register
class Stm32l4ResetClockControl(WordRegisters):
    TYPE = "stm32l4.rcc"

    def reset(self) -> None:
        self.hse_hz = self.params.get("hse_hz")  # None: no HSE on the board
        self.cr = CR_RESET
        self.cfgr = 0
        self.pllcfgr = PLLCFGR_RESET
        self.csr = CSR_RESET
        self.bdcr = 0
        self.crrcr = 0
        self.held = HeldRegisters(HELD)
        self.clock_listeners: list = []
        self.reported_hclk = self.hclk_hz

    # ------------------------------------------------------------------ clock tree
    def msi_hz(self) -> int:
        if self.cr & CR_MSIRGSEL:
            index = (self.cr >> 4) & 0xF
        else:
            index = (self.csr >> 8) & 0xF  # MSISRANGE: only 4..7 (1, 2, 4, 8 MHz) are allowed
        if index >= len(MSI_RANGES_HZ):
            raise VbenchError(f"RCC: MSI range {index} is reserved (RM0432 RCC_CR.MSIRANGE)")
        return MSI_RANGES_HZ[index]

    def pll_input_hz(self) -> int | None:
        src = self.pllcfgr & 3
        if src == PLLSRC_MSI:
            return self.msi_hz() if self.cr & CR_MSIRDY else None
        if src == PLLSRC_HSI16:
            return HSI16_HZ if self.cr & CR_HSIRDY else None
        if src == PLLSRC_HSE:
            return self.hse_hz if self.cr & CR_HSERDY else None
        return None

    def pll_vco_hz(self) -> float | None:
        f_in = self.pll_input_hz()
        if f_in is None:
            return None
        m = ((self.pllcfgr >> 4) & 0xF) + 1
        n = (self.pllcfgr >> 8) & 0x7F
        return f_in * n / m

    def pll_outputs_hz(self) -> dict[str, int]:
        """PLLCLK (R), PLL48M1CLK (Q) and PLLSAI3CLK (P) of the main PLL, enabled or not."""
        vco = self.pll_vco_hz()
        if vco is None:
            return {}
        r = 2 * (((self.pllcfgr >> 25) & 3) + 1)
        q = 2 * (((self.pllcfgr >> 21) & 3) + 1)
        pdiv = (self.pllcfgr >> 27) & 0x1F
        p = pdiv if pdiv >= 2 else (17 if self.pllcfgr & (1 << 17) else 7)
        return {"R": round(vco / r), "Q": round(vco / q), "P": round(vco / p)}

    def source_ready(self, sw: int) -> bool:
        if sw == SW_MSI:
            return bool(self.cr & CR_MSIRDY)
        if sw == SW_HSI16:
            return bool(self.cr & CR_HSIRDY)
        if sw == SW_HSE:
            return bool(self.cr & CR_HSERDY)
        return bool(self.cr & CR_PLLRDY)

    @property
    def sysclk_source(self) -> int:
        return (self.cfgr >> 2) & 3  # SWS

    @property
    def sysclk_hz(self) -> int:
        sws = self.sysclk_source
        if sws == SW_MSI:
            return self.msi_hz()
        if sws == SW_HSI16:
            return HSI16_HZ
        if sws == SW_HSE:
            return self.hse_hz
        return self.pll_outputs_hz()["R"]

    @property
    def ahb_divider(self) -> int:
        return AHB_DIVIDERS.get((self.cfgr >> 4) & 0xF, 1)

    @property
    def apb1_divider(self) -> int:
        return APB_DIVIDERS.get((self.cfgr >> 8) & 7, 1)

    @property
    def apb2_divider(self) -> int:
        return APB_DIVIDERS.get((self.cfgr >> 11) & 7, 1)

    @property
    def hclk_hz(self) -> int:
        return self.sysclk_hz // self.ahb_divider

    @property
    def pclk1_hz(self) -> int:
        return self.hclk_hz // self.apb1_divider

    @property
    def pclk2_hz(self) -> int:
        return self.hclk_hz // self.apb2_divider

    def timer_clock_per_hclk(self, bus: int = 1) -> tuple[int, int]:
        """TIMxCLK / HCLK as (numerator, denominator): PCLK, doubled when its APB prescaler is
        not 1 (RM0432 §6.2 "Timer clock")."""
        divider = self.apb1_divider if bus == 1 else self.apb2_divider
        return (1, 1) if divider == 1 else (2, divider)

    def add_clock_listener(self, callback) -> None:
        if callback not in self.clock_listeners:
            self.clock_listeners.append(callback)

    def _clocks_changed(self) -> None:
        if self.sysclk_source == SW_PLL and not self.pllcfgr & PLLREN:
            raise VbenchError("RCC: SYSCLK runs from the PLL with PLLCFGR.PLLREN = 0: the core would stop")
        hclk = self.hclk_hz
        if hclk != self.reported_hclk:
            self.reported_hclk = hclk
            self.board.set_core_clock(hclk)
        for callback in self.clock_listeners:
            callback()

    # ------------------------------------------------------------------ registers
    def read_word(self, reg: int) -> int:
        if reg in self.held:
            return self.held[reg]
        values = {0x00: self.cr, 0x08: self.cfgr, 0x0C: self.pllcfgr, 0x1C: 0, 0x90: self.bdcr,
                  0x94: self.csr, 0x98: self.crrcr}  # CRRCR.HSI48CAL (factory trim) reads 0
        if reg in values:
            return values[reg]
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        if reg in self.held:
            self.held.write(reg, value, mask)
        elif reg == 0x00:
            self._write_cr(merge(self.cr, value, mask & CR_WRITABLE))
        elif reg == 0x08:
            self._write_cfgr(merge(self.cfgr, value, mask & CFGR_WRITABLE))
        elif reg == 0x0C:
            writable = PLLCFGR_ENABLES if self.cr & (CR_PLLON | CR_PLLRDY) else PLLCFGR_WRITABLE
            self.pllcfgr = merge(self.pllcfgr, value, mask & writable)
            self._clocks_changed()
        elif reg == 0x20:
            pass  # CICR: clears clock interrupt flags, none are raised here
        elif reg == 0x90:
            self._write_bdcr(value, mask)
        elif reg == 0x94:
            self._write_csr(value, mask)
        elif reg == 0x98:
            on = merge(self.crrcr, value, mask) & CRRCR_HSI48ON
            self.crrcr = on | (CRRCR_HSI48RDY if on else 0)
        else:
            raise self.unmodelled(reg, "write")

    def _in_use(self) -> int:
        """Enable bits the hardware will not let software clear: the SYSCLK source and the PLL's input."""
        keep = {SW_MSI: CR_MSION, SW_HSI16: CR_HSION, SW_HSE: CR_HSEON, SW_PLL: CR_PLLON}[self.sysclk_source]
        if self.sysclk_source == SW_PLL:
            keep |= {PLLSRC_MSI: CR_MSION, PLLSRC_HSI16: CR_HSION, PLLSRC_HSE: CR_HSEON}.get(self.pllcfgr & 3, 0)
        return keep

    def _write_cr(self, cr: int) -> None:
        cr |= self.cr & self._in_use()
        ready = 0
        if cr & CR_MSION:
            ready |= CR_MSIRDY
        if cr & CR_HSION:
            ready |= CR_HSIRDY
        if cr & CR_HSEON and self.hse_hz:
            ready |= CR_HSERDY
        self.cr = (cr & ~(CR_MSIRDY | CR_HSIRDY | CR_HSERDY | CR_PLLRDY | CR_PLLSAI1RDY | CR_PLLSAI2RDY)) | ready
        if cr & CR_PLLON and self.pll_input_hz() is not None:
            self.cr |= CR_PLLRDY
        if cr & CR_PLLSAI1ON:
            self.cr |= CR_PLLSAI1RDY
        if cr & CR_PLLSAI2ON:
            self.cr |= CR_PLLSAI2RDY
        self._clocks_changed()

    def _write_cfgr(self, cfgr: int) -> None:
        sw = cfgr & 3
        sws = sw if self.source_ready(sw) else self.sysclk_source
        self.cfgr = (cfgr & ~0xC) | (sws << 2)
        self._clocks_changed()

    def _write_csr(self, value: int, mask: int) -> None:
        csr = merge(self.csr, value, mask & CSR_WRITABLE)
        if value & mask & CSR_RMVF:
            csr &= 0x00FF_FFFF  # RMVF clears the reset flags [31:24]
        csr = (csr & ~CSR_LSIRDY) | (CSR_LSIRDY if csr & CSR_LSION else 0)
        self.csr = csr
        if not self.cr & CR_MSIRGSEL:
            self._clocks_changed()

    def _write_bdcr(self, value: int, mask: int) -> None:
        bdcr = merge(self.bdcr, value, mask & BDCR_WRITABLE)
        if bdcr & BDCR_BDRST:
            bdcr = BDCR_BDRST  # backup domain software reset: everything else returns to 0
        ready = 0
        if bdcr & BDCR_LSEON and self.params.get("lse", True):  # Nucleo-144: 32.768 kHz LSE fitted
            ready |= BDCR_LSERDY | (BDCR_LSESYSRDY if bdcr & BDCR_LSESYSEN else 0)
        self.bdcr = (bdcr & ~(BDCR_LSERDY | BDCR_LSESYSRDY)) | ready
