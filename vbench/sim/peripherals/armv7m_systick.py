"""SysTick, the ARMv7-M system timer (DDI0403E B3.3), driven by virtual time.

The 24-bit counter decrements once per tick; a tick is a core clock cycle (CSR.CLKSOURCE = 1) or,
on STM32, one HCLK/8 period (CLKSOURCE = 0, the external reference clock: RM0432 §6.2 "The RCC
feeds the Cortex System Timer (SysTick) external clock with the AHB clock (HCLK) divided by 8").
The board's cycle count is in core (HCLK) cycles, so tick n is cycle n or cycle 8n whatever the
clock frequency: no frequency ever enters the arithmetic.

The counter is never stepped. Its value is a function of the tick count since the last event
that changed its course (enable, a CVR write, a RVR write, a clock-source change): from the
value V it had then, it reaches 0 after V ticks, reloads RVR on the next tick and so on, so the
1 -> 0 transitions (which set COUNTFLAG and, with TICKINT, pend SysTick) are at V + k(RVR + 1).
With TICKINT set, the next transition is handed to `board.schedule()`.
"""

from __future__ import annotations

from vbench.sim.cortexm import SYSTICK

# SYST_CSR bits: B3.3 (SysTick Control and Status Register).
CSR_ENABLE, CSR_TICKINT, CSR_CLKSOURCE, CSR_COUNTFLAG = 1 << 0, 1 << 1, 1 << 2, 1 << 16
COUNTER_MASK = 0x00FF_FFFF  # RVR and CVR are 24-bit: B3.3
# SYST_CALIB: NOREF = 0 (the HCLK/8 reference exists), SKEW = 1 with TENMS = 0 ("calibration value
# not known", B3.3 SYST_CALIB): RM0432's TENMS figure could not be checked, so none is claimed.
CALIB_DEFAULT = 0x4000_0000
EXTERNAL_CLOCK_DIVIDER = 8  # RM0432 §6.2: SysTick external clock = HCLK / 8


class SysTick:
    def __init__(self, board, calib: int = CALIB_DEFAULT):
        self.board = board
        self.calib = calib
        self.reset()

    def reset(self) -> None:
        self.csr = 0  # ENABLE, TICKINT, CLKSOURCE as written; SYST_CSR resets to 0 (PM0214 §4.5.1)
        self.rvr = 0  # reset value UNKNOWN (B3.3): 0 here
        self.frozen_value = 0  # CVR while disabled; reset value UNKNOWN (B3.3): 0 here
        self.base_tick = 0  # while enabled: the tick at which the counter held base_value
        self.base_value = 0
        self.flag_from_tick = 0  # COUNTFLAG looks for transitions after this tick
        self.flag_latched = False
        self._handle = None
        self._generation = 0

    # ------------------------------------------------------------------ time
    def _divider(self) -> int:
        return 1 if self.csr & CSR_CLKSOURCE else EXTERNAL_CLOCK_DIVIDER

    def _now_tick(self) -> int:
        return self.board.now()[0] // self._divider()

    def _next_transition(self, after: int) -> int | None:
        """First 1 -> 0 transition at an elapsed tick count > `after` (counted from base_tick)."""
        first = self.base_value  # the counter reaches 0 after base_value ticks
        if self.base_value > 0 and after < first:
            return first
        if self.rvr == 0:  # reloading 0 stops the counter at 0: B3.3
            return None
        period = self.rvr + 1
        k = max(1, (after - first) // period + 1)
        return first + k * period

    def _value_after(self, elapsed: int) -> int:
        if elapsed <= self.base_value:
            return self.base_value - elapsed
        if self.rvr == 0:
            return 0
        phase = (elapsed - self.base_value) % (self.rvr + 1)
        return 0 if phase == 0 else self.rvr + 1 - phase

    def current_value(self) -> int:
        if not self.csr & CSR_ENABLE:
            return self.frozen_value
        return self._value_after(self._now_tick() - self.base_tick)

    def _countflag(self, now_tick: int) -> bool:
        if self.flag_latched or not self.csr & CSR_ENABLE:
            return self.flag_latched
        start = max(self.flag_from_tick, self.base_tick) - self.base_tick
        hit = self._next_transition(start)
        return hit is not None and hit <= now_tick - self.base_tick

    def _latch_flag(self) -> None:
        """Fold the transitions seen so far into COUNTFLAG before the course changes."""
        if self.csr & CSR_ENABLE:
            self.flag_latched = self._countflag(self._now_tick())

    def _rebase(self, value: int) -> None:
        """Restart the counter course from `value` now (the caller has latched COUNTFLAG)."""
        now_tick = self._now_tick()
        self.base_tick = now_tick
        self.base_value = value
        self.flag_from_tick = now_tick
        self._reschedule()

    # ------------------------------------------------------------------ interrupt scheduling
    def _reschedule(self) -> None:
        if self._handle is not None:
            self.board.cancel(self._handle)
            self._handle = None
        self._generation += 1
        if self.csr & CSR_ENABLE and self.csr & CSR_TICKINT:
            self._schedule_after(self._now_tick() - self.base_tick)

    def _schedule_after(self, elapsed: int) -> None:
        hit = self._next_transition(elapsed)
        if hit is None:
            return
        generation = self._generation
        self._handle = self.board.schedule((self.base_tick + hit) * self._divider(), lambda *_: self._expired(generation, hit))

    def _expired(self, generation: int, hit: int) -> None:
        if generation != self._generation:
            return  # superseded by a later register write
        self._handle = None
        self.board.exceptions.set_pending(SYSTICK)
        self._schedule_after(hit)

    # ------------------------------------------------------------------ registers
    def read_csr(self) -> int:
        now_tick = self._now_tick()
        value = self.csr | (CSR_COUNTFLAG if self._countflag(now_tick) else 0)
        self.flag_latched = False  # COUNTFLAG clears on read: B3.3
        self.flag_from_tick = now_tick
        return value

    def write_csr(self, value: int) -> None:
        new = value & (CSR_ENABLE | CSR_TICKINT | CSR_CLKSOURCE)
        current = self.current_value()
        self._latch_flag()  # in ticks of the old clock source
        self.csr = new
        if new & CSR_ENABLE:
            self._rebase(current)  # also re-expresses the course in ticks of the (new) clock source
        else:
            self.frozen_value = current
            self._reschedule()

    def write_rvr(self, value: int) -> None:
        current = self.current_value()
        self._latch_flag()
        self.rvr = value & COUNTER_MASK
        if self.csr & CSR_ENABLE:
            self._rebase(current)

    def write_cvr(self) -> None:
        """Any write clears the counter to 0 and clears COUNTFLAG: B3.3."""
        self.frozen_value = 0
        if self.csr & CSR_ENABLE:
            self._rebase(0)
        self.flag_latched = False
        self.flag_from_tick = self._now_tick()
