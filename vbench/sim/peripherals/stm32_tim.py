"""STM32 general-purpose timer, up-counting (TIM2: RM0432 Rev 9, "TIM2/TIM3/TIM4/TIM5 registers").

The counter is derived from virtual time, never stepped and never from the host clock. It counts
ticks of the timer clock TIMxCLK = PCLK1, times 2 when the APB1 prescaler is not 1 (RM0432 §6.2
"Timer clock"), divided by PSC + 1. As the board counts HCLK cycles and TIMxCLK/HCLK is a
ratio fixed by the APB1 prescaler alone, the timer tick index is cycles * num // den with (num,
den) taken from the RCC model (param `rcc`, default "rcc"; 1:1 without one); a prescaler change
re-anchors that arithmetic at the cycle it happens.

Modelled: CR1 CEN/UDIS/URS/OPM/ARPE/UIFREMAP, PSC (preloaded: takes effect at the next update
event, as the HAL's EGR.UG after PSC relies on), ARR (preloaded when ARPE), CNT read/write,
EGR UG/CCxG/TG, SR flags (cleared by writing 0), DIER, output-compare match flags CCxIF on
channels in output mode (CCxS = 00), and the interrupt line `irq` (default 28, RM0432 vector
table: TIM2 global interrupt), level-sensitive, with the next interrupt-enabled event handed to
`board.schedule()`.
Not modelled: down and center-aligned counting, slave/external clock modes and input capture
(writing those modes raises UnmodelledAccess); output pins, dead time, DMA (DCR/DMAR).
"""

from __future__ import annotations

from vbench.errors import VbenchError
from vbench.sim.peripherals.base import register
from vbench.sim.peripherals.mmio_regs import WordRegisters, merge

CR1, CR2, SMCR, DIER, SR, EGR, CCMR1, CCMR2, CCER, CNT, PSC, ARR = range(0, 0x30, 4)
CCR = (0x34, 0x38, 0x3C, 0x40)
OR1, OR2 = 0x50, 0x60
# CR1 bits.
CEN, UDIS, URS, OPM, DIR, CMS, ARPE, UIFREMAP = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4, 3 << 5, 1 << 7, 1 << 11
CR1_WRITABLE = 0x0000_0BFF
# SR / DIER / EGR share bit positions: UIF/UIE/UG 0, CCxIF/CCxIE/CCxG 1..4, TIF/TIE/TG 6.
UIF, TIF = 1 << 0, 1 << 6
SR_FLAGS = 0x0000_1E5F  # UIF, CC1IF-CC4IF, TIF, CC1OF-CC4OF
DIER_INTERRUPTS = 0x0000_005F
HELD_MASKS = {CR2: 0x0000_00F8, SMCR: 0x0001_FFF7, DIER: 0x0000_5F5F, CCMR1: 0x0101_FFFF, CCMR2: 0x0101_FFFF,
              CCER: 0x0000_BBBB, OR1: 0x0000_0003, OR2: 0x0000_0007}
SMCR_SLAVE = 0x0001_4007  # SMS[2:0], SMS[3], ECE
TIM2_IRQ = 28


@register
class Stm32GeneralPurposeTimer(WordRegisters):
    TYPE = "stm32.tim"

    def reset(self) -> None:
        self.max_count = (1 << self.params.get("width", 16)) - 1
        self.cr1 = 0
        self.regs = {reg: 0 for reg in HELD_MASKS}
        self.ccr = [0, 0, 0, 0]
        self.psc = self.psc_active = 0
        self.arr = self.arr_active = self.max_count  # ARR resets to all ones (0xFFFF_FFFF on TIM2)
        self.sr = 0
        # Counter course: at timer tick `seg_tick` the counter held `seg_count` with the prescaler
        # counter at `seg_phase`.
        self.seg_tick = 0
        self.seg_count = 0
        self.seg_phase = 0
        # Tick arithmetic anchor: tick(cycles) = anchor_tick + (cycles - anchor_cycle) * num // den.
        self.anchor_cycle = self.anchor_tick = 0
        self.ratio = None
        self._handle = None
        self._generation = 0
        self._irq_level = False

    # ------------------------------------------------------------------ time base
    def _rcc(self):
        try:
            return self.board.peripheral(self.params.get("rcc", "rcc"))
        except (KeyError, LookupError, VbenchError):
            return None

    def _ensure_ratio(self) -> None:
        if self.ratio is None:
            rcc = self._rcc()
            self.ratio = rcc.timer_clock_per_hclk(1) if rcc is not None else (1, 1)
            if rcc is not None:
                rcc.add_clock_listener(self._clock_changed)
            self.anchor_cycle = self.board.now()[0]
            self.anchor_tick = 0

    def _tick_at(self, cycles: int) -> int:
        num, den = self.ratio
        return self.anchor_tick + (cycles - self.anchor_cycle) * num // den

    def _cycle_of(self, tick: int) -> int:
        num, den = self.ratio
        return self.anchor_cycle + -(-(tick - self.anchor_tick) * den // num)

    def _now_tick(self) -> int:
        self._ensure_ratio()
        return self._tick_at(self.board.now()[0])

    def _clock_changed(self) -> None:
        rcc = self._rcc()
        new = rcc.timer_clock_per_hclk(1)
        if new != self.ratio:
            self._sync()
            now = self.board.now()[0]
            self.anchor_tick, self.anchor_cycle, self.ratio = self._tick_at(now), now, new
            self._reschedule()

    # ------------------------------------------------------------------ counting
    def _top(self) -> int:
        return self.arr_active if self.seg_count <= self.arr_active else self.max_count

    def _output_compare_channels(self) -> list[int]:
        ccmr = (self.regs[CCMR1], self.regs[CCMR1] >> 8, self.regs[CCMR2], self.regs[CCMR2] >> 8)
        return [ch for ch in range(4) if ccmr[ch] & 3 == 0]

    def _flag_matches(self, low: int, high: int) -> None:
        """Compare flags for the counter taking the values low+1 .. high."""
        for ch in self._output_compare_channels():
            if low < self.ccr[ch] <= high:
                self.sr |= 1 << (ch + 1)

    def _update_event(self, from_ug: bool) -> None:
        if self.cr1 & UDIS:
            return  # UEV disabled: no flag and no shadow load
        self.psc_active = self.psc
        self.arr_active = self.arr
        if not (from_ug and self.cr1 & URS):
            self.sr |= UIF

    def _sync(self) -> None:
        """Bring the counter course up to now, setting the flags of the events passed."""
        now = self._now_tick()
        while self.cr1 & CEN and now > self.seg_tick:
            p = self.psc_active + 1
            top = self._top()
            to_update = (top - self.seg_count + 1) * p - self.seg_phase
            available = now - self.seg_tick
            if to_update > available:
                steps = (self.seg_phase + available) // p
                self._flag_matches(self.seg_count, self.seg_count + steps)
                self.seg_count += steps
                self.seg_phase = (self.seg_phase + available) % p
                self.seg_tick = now
                break
            self._flag_matches(self.seg_count, top)
            self.seg_tick += to_update
            self.seg_count = self.seg_phase = 0
            self._flag_matches(-1, 0)  # the counter reaching 0 matches CCRx = 0
            self._update_event(from_ug=False)
            if self.cr1 & OPM:
                self.cr1 &= ~CEN  # one-pulse mode: the counter stops at the update event
                break
            period = (self.arr_active + 1) * (self.psc_active + 1)
            whole = (now - self.seg_tick) // period
            if whole:  # identical periods: every flag they would set is set once
                self.seg_tick += whole * period
                self._flag_matches(-1, self.arr_active)
                self._update_event(from_ug=False)

    def _next_event_tick(self) -> int | None:
        if not self.cr1 & CEN:
            return None
        wanted = self.regs[DIER] & DIER_INTERRUPTS
        p, top = self.psc_active + 1, self._top()
        to_update = (top - self.seg_count + 1) * p - self.seg_phase
        update_tick = self.seg_tick + to_update
        events = []
        if wanted & UIF and not self.cr1 & UDIS:
            events.append(update_tick)
        next_p = (self.psc if not self.cr1 & UDIS else self.psc_active) + 1
        for ch in self._output_compare_channels():
            if not wanted & (1 << (ch + 1)):
                continue
            value = self.ccr[ch]
            if self.seg_count < value <= top:
                events.append(self.seg_tick + (value - self.seg_count) * p - self.seg_phase)
            elif value <= self.arr:
                events.append(update_tick + value * next_p)
        return min(events, default=None)

    def _reschedule(self) -> None:
        if self._handle is not None:
            self.board.cancel(self._handle)
            self._handle = None
        self._generation += 1
        tick = self._next_event_tick()
        if tick is not None:
            generation = self._generation
            self._handle = self.board.schedule(self._cycle_of(tick), lambda *_: self._expired(generation))

    def _expired(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._handle = None
        self._sync()
        self._update_irq()
        self._reschedule()

    def _update_irq(self) -> None:
        level = bool(self.sr & self.regs[DIER] & DIER_INTERRUPTS)
        if level or self._irq_level:
            self.board.exceptions.set_irq_level(self.params.get("irq", TIM2_IRQ), level)
        self._irq_level = level

    # ------------------------------------------------------------------ registers
    def read_word(self, reg: int) -> int:
        self._sync()
        if reg in self.regs:
            return self.regs[reg]
        if reg == CR1:
            return self.cr1
        if reg == SR:
            return self.sr
        if reg == CNT:
            if self.cr1 & UIFREMAP:
                return (self.seg_count & 0x7FFF_FFFF) | ((self.sr & UIF) << 31)
            return self.seg_count
        if reg == PSC:
            return self.psc
        if reg == ARR:
            return self.arr
        if reg in CCR:
            return self.ccr[CCR.index(reg)]
        if reg == EGR:
            return 0  # write-only
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        self._sync()
        if reg == CR1:
            new = merge(self.cr1, value, mask & CR1_WRITABLE)
            if new & (DIR | CMS):
                raise self.unmodelled(reg, "down/center-aligned counting (CR1.DIR/CMS) in write")
            if new & CEN and not self.cr1 & CEN:
                self.seg_tick = self._now_tick()
            self.cr1 = new
        elif reg in self.regs:
            new = merge(self.regs[reg], value, mask & HELD_MASKS[reg])
            if reg == SMCR and new & SMCR_SLAVE:
                raise self.unmodelled(reg, "slave/external clock mode (SMCR.SMS/ECE) in write")
            self.regs[reg] = new
        elif reg == SR:
            self.sr &= ~(mask & ~value) | ~SR_FLAGS  # rc_w0: written zeros clear
        elif reg == EGR:
            self._write_egr(value & mask)
        elif reg == CNT:
            self.seg_count = merge(self.seg_count, value, mask) & self.max_count
            self.seg_tick = self._now_tick()
        elif reg == PSC:
            self.psc = merge(self.psc, value, mask) & 0xFFFF
        elif reg == ARR:
            self.arr = merge(self.arr, value, mask) & self.max_count
            if not self.cr1 & ARPE:
                self.arr_active = self.arr
        elif reg in CCR:
            ch = CCR.index(reg)
            self.ccr[ch] = merge(self.ccr[ch], value, mask) & self.max_count
        else:
            raise self.unmodelled(reg, "write")
        self._update_irq()
        self._reschedule()

    def _write_egr(self, bits: int) -> None:
        if bits & 1:  # UG: re-initialise counter and prescaler, then the update event
            self.seg_count = self.seg_phase = 0
            self.seg_tick = self._now_tick()
            self._update_event(from_ug=True)
        self.sr |= bits & 0x5E  # CCxG and TG set their flags
