"""A stand-in for vbench.sim.board.Board in register-level tests: it records what the peripheral
models ask of the board and lets a test move virtual time by hand."""

from __future__ import annotations

import itertools

from vbench.sim.cortexm import ExceptionController
from vbench.sim.peripherals import load_all
from vbench.sim.peripherals.base import REGISTRY

load_all()


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
