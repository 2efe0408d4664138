"""What ends a run that would not end by itself: the instruction budget, a budget of simulated board
time (an event at the cycle where board time runs out, re-armed when the firmware changes the clock),
and the core going to sleep (a self-loop or WFI/WFE) with nothing that can wake it. Sleep that a
device event can end is skipped over in one step: time advances to the event."""

from __future__ import annotations

from vbench.errors import VbenchError
from vbench.sim import native as N

DEFAULT_BUDGET = 20_000_000_000   # instructions per run
DEFAULT_MAX_SECONDS = 60.0        # simulated board time per run() before the run ends as "budget"


class RunLimits:
    def __init__(self, board, max_seconds: float):
        self.board, self.max_seconds = board, max_seconds
        if not (board.budget > 0 and 0 < max_seconds < float("inf")):
            raise VbenchError(f"{board.platform.path}: the run budget must be positive (run.max_instructions = "
                              f"{board.budget}, run.max_seconds = {max_seconds:g})")
        self._deadline: tuple[float, int] | None = None  # (board seconds, event handle)

    def start(self) -> None:
        """A run() begins: max_seconds of board time from now."""
        acc = self.board.account
        self._arm(acc.seconds(acc.raw().cycles) + self.max_seconds)

    def stop(self) -> None:
        if self._deadline is not None:
            self.board.cancel(self._deadline[1])
            self._deadline = None

    def clock_changed(self) -> None:
        if self._deadline is not None:
            self._arm(self._deadline[0])

    def _arm(self, deadline_s: float) -> None:
        b = self.board
        self.stop()
        c = b.account.raw().cycles
        left = max(0.0, deadline_s - b.account.seconds(c))
        self._deadline = (deadline_s, b.schedule(c + max(1, int(left * b.clock_hz)), self._spent))

    def _spent(self) -> None:
        b = self.board
        self._deadline = None
        b.finish("budget", None, f"simulated time budget of {self.max_seconds:g} s of board time exhausted at "
                                 f"PC {b.image.describe(b.backend.pc)} (raise it with --set run.max_seconds=N)")

    def idle_until_event(self) -> bool:
        """A self-loop or WFI that an interrupt can end: advance time to the next device event instead
        of spinning. The time budget is not a device: it wakes nothing."""
        b = self.board
        wake = b.next_event(excluding=self._deadline[1] if self._deadline else None)
        if wake is None or (b.exceptions is not None and not b.exceptions.can_wake()):
            return False
        b.lib.vb_cut(b.core, 1 << 30)
        now = b.account.raw().cycles
        if wake > now:
            b.lib.vb_add_idle(b.core, wake - now)
        return True

    def stop_message(self, reason: int, pc: int) -> str:
        b = self.board
        addr = b.lib.vb_fault_addr(b.core)
        if reason == N.STOP_BUDGET:
            return f"instruction budget of {b.budget:,} exhausted at PC {b.image.describe(pc)}"
        if reason == N.STOP_FLASH_WRITE:  # pc: the store (Board.run located it)
            return (f"store to flash address {addr:#010x} at PC {b.image.describe(pc)}"
                    " (flash is programmed through FLASH_CR, not by plain stores)")
        return f"execution reached {b.image.describe(addr)}, which holds no decodable code"
