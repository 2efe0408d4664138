"""Transports between the host runner and a device under test: the same runner code drives a
virtual board (`VirtualTransport`) or a real one on a serial port (`SerialTransport`).

A transport moves bytes (`write`, `read`). A virtual one can also say more than a wire can:
the simulated counters at the moment the firmware paused for input (`counters`) and the
timestamp-pin falling edges with the energy counter at each edge (`marks`), which play the part
of the energy monitor of a real EEMBC set-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vbench.errors import VbenchError
from vbench.harness.protocol import ProtocolError, Timeout
from vbench.sim.accounting import Counters, energy_uj

# The EEMBC timestamp GPIO that each vbench HAL drives (firmware/hal/vb_hal.h): the STM32L4 HAL
# PF13 (Arduino D7 on the Nucleo), the RV32 HAL GPIO 0 of the PULPino GPIO block. Keyed by the HAL
# (the board's `toolchain.hal`), so a user's copy of a board under its own name keeps its pin; a board
# whose firmware drives another pin says so with `[harness] timestamp_pin = ["F", 13]`.
TIMESTAMP_PINS: dict[str, tuple[str, int]] = {"stm32l4": ("F", 13), "rv32": ("0", 0)}


def timestamp_pin_of(platform) -> tuple[str, int] | None:
    """The board file's `harness.timestamp_pin`, else the pin of the board's HAL, else None."""
    pin = platform.get("harness.timestamp_pin", None)
    if pin is None:
        return TIMESTAMP_PINS.get(platform.get("toolchain.hal", None))
    if not (isinstance(pin, list) and len(pin) == 2 and isinstance(pin[1], int) and not isinstance(pin[1], bool)):
        raise VbenchError(f"{platform.path}: harness.timestamp_pin = {pin!r} must be [port, pin], e.g. [\"F\", 13]")
    return str(pin[0]), pin[1]


@dataclass(frozen=True)
class Mark:
    """A falling edge of the timestamp pin: what an energy monitor records as an event."""
    cycles: int
    time_s: float
    energy_uj: float
    instructions: int | None = None


class Transport(Protocol):
    #: True when the device is a deterministic simulation: the runner may then extrapolate a
    #: timed window from repeated inferences instead of running all of them.
    deterministic: bool

    def write(self, data: bytes) -> None: ...

    def read(self, timeout: Timeout) -> bytes:
        """Bytes the device sent since the last read. A virtual board runs until the firmware
        waits for input; a serial port waits up to timeout.seconds for the first byte."""

    @property
    def waiting_for_input(self) -> bool:
        """True when nothing more will arrive until the host writes (known on a virtual board)."""

    def close(self) -> None: ...


# ---------------------------------------------------------------------- virtual board


class VirtualTransport:
    """The console UART of a virtual board: write -> feed_console, read -> run(until_input=True)
    then the new UART output."""

    deterministic = True

    def __init__(self, board, timestamp_pin: tuple[str, int] | None = None):
        self.board = board
        self._sent = 0
        self._waiting = False
        self._marks: list[Mark] = []
        self.ended = None  # the RunResult once the firmware has stopped for good
        pin = timestamp_pin or timestamp_pin_of(board.platform)
        if pin is None:
            raise VbenchError(f"{board.platform.path}: no EEMBC timestamp pin known for this board: set "
                              f"[harness] timestamp_pin = [port, pin] in its file")
        self.timestamp_pin = (str(pin[0]), int(pin[1]))
        self._wrap_gpio_event()

    @classmethod
    def open(cls, platform, elf: str | Path, overrides=None, **board_kw) -> "VirtualTransport":
        from vbench.platform import load_platform
        from vbench.sim.board import Board

        plat = load_platform(platform, overrides) if isinstance(platform, str) else platform
        return cls(Board(plat, elf, **board_kw))

    def _wrap_gpio_event(self) -> None:
        """Record the energy and instruction counters at every timestamp falling edge. The Board
        logs (cycles, time) per GPIO event and `now()` gives the instructions at the store; the
        charge is read at the same moment from the native counters, which include every completed
        block (the block holding the GPIO store is the same at both edges of a window, so it
        cancels in the difference)."""
        board, original = self.board, self.board.gpio_event
        port, pin = self.timestamp_pin

        def gpio_event(p: str, n: int, level: int) -> None:
            original(p, n, level)
            if str(p) == port and int(n) == pin and level == 0:
                entry = board.gpio_log[-1]
                energy = energy_uj(board.power, board.account.raw().charge_fc, float(entry[1]))
                self._marks.append(Mark(int(entry[0]), float(entry[1]), float(energy), int(board.now()[1])))

        board.gpio_event = gpio_event

    # ---------------------------------------------------------------- Transport
    def write(self, data: bytes) -> None:
        if self.ended is not None:
            raise ProtocolError(f"cannot write to the device: the firmware has stopped ({self._end_text()})")
        self.board.feed_console(bytes(data))
        self._waiting = False

    def read(self, timeout: Timeout) -> bytes:
        if self.ended is not None or self._waiting:
            return b""
        board = self.board
        board.set_instruction_budget(board.counters().instructions + timeout.instructions)
        result = board.run(until_input=True)
        if result is not None:
            self.ended = result
        else:
            self._waiting = True
        out = board.uart_output()
        new, self._sent = out[self._sent:], len(out)
        if result is not None and not new:
            raise ProtocolError(self._end_text(timeout))
        return new

    @property
    def waiting_for_input(self) -> bool:
        return self._waiting or self.ended is not None

    def close(self) -> None:
        self.board.close()

    # ---------------------------------------------------------------- what a wire cannot carry
    def counters(self) -> Counters:
        return self.board.counters()

    def marks(self) -> list[Mark]:
        """Every timestamp falling edge since reset, in order."""
        return list(self._marks)

    @property
    def clock_hz(self) -> float:
        return float(self.board.clock_hz)

    def _end_text(self, timeout: Timeout | None = None) -> str:
        r = self.ended
        if r is None:
            return "running"
        if r.exit == "budget" and timeout is not None:
            return f"no answer within {timeout.instructions:,} simulated instructions ({r.message})"
        return f"{r.exit}{'' if r.exit_code is None else f' code {r.exit_code}'}: {r.message}".rstrip(": ")


# ---------------------------------------------------------------------- serial port


# A pseudo-terminal is not a board's USB serial port: it is a virtual board served by `vbench
# serve` (or a bridge), which simulates every inference and runs several times slower than the
# board in real time (more on a loaded host). The host's timeouts, set for a real board, are
# stretched by this factor on a pty; a served board whose firmware hangs still ends (its bridge
# gives up after a fixed amount of simulated work, and the host then reads end of file).
PTY_TIME_SCALE = 20.0


def _serial_errors() -> tuple[type[BaseException], ...]:
    try:
        from serial import SerialException
    except ImportError:
        return (OSError,)
    return (OSError, SerialException)


def is_pseudo_terminal(port: str) -> bool:
    """True for a Unix98 pty slave (/dev/pts/N), also behind a symlink such as `vbench serve`'s."""
    try:
        return os.path.realpath(port).startswith("/dev/pts/")
    except OSError:
        return False


class SerialTransport:
    """A real board (or anything else) on a serial port, through pyserial, 8N1."""

    deterministic = False

    def __init__(self, port: str, baud: int = 115200, *, serial_obj=None, time_scale: float | None = None):
        self.time_scale = time_scale if time_scale is not None else (
            PTY_TIME_SCALE if serial_obj is None and is_pseudo_terminal(port) else 1.0)
        if serial_obj is None:
            try:
                import serial
            except ImportError:
                raise VbenchError("pyserial is not installed (pip install pyserial)") from None
            try:
                serial_obj = serial.Serial(port, baudrate=baud, bytesize=8, parity="N", stopbits=1, timeout=0.05)
            except (serial.SerialException, OSError) as exc:
                raise VbenchError(f"{port}: cannot open the serial port: {exc}") from None
        self.port = port
        self.serial = serial_obj

    def write(self, data: bytes) -> None:
        try:
            self.serial.write(bytes(data))
            self.serial.flush()
        except _serial_errors() as exc:  # the device went away
            raise ProtocolError(f"{self.port}: cannot write to the device: {exc}") from None

    def read(self, timeout: Timeout) -> bytes:
        """Waits up to timeout.seconds (x time_scale) for the first byte, then takes whatever
        follows at once."""
        import time

        deadline = time.monotonic() + timeout.seconds * self.time_scale
        try:
            while True:
                waiting = self.serial.in_waiting
                if waiting:
                    return self.serial.read(waiting)
                first = self.serial.read(1)
                if first:
                    return first + self.serial.read(self.serial.in_waiting)
                if time.monotonic() >= deadline:
                    return b""
        except _serial_errors() as exc:  # unplugged, or the served board ended
            raise ProtocolError(f"{self.port}: the device went away: {exc}") from None

    def drain(self, quiet_s: float = 0.2) -> bytes:
        """Discard what the device sent before the runner started (e.g. a boot banner)."""
        got = b""
        while True:
            chunk = self.read(Timeout(seconds=quiet_s))
            if not chunk:
                return got
            got += chunk

    @property
    def waiting_for_input(self) -> bool:
        return False  # a wire cannot tell

    def close(self) -> None:
        self.serial.close()


def open_pty_pair() -> tuple[int, int, str]:
    """A pseudo-terminal in raw mode: (master fd, slave fd, slave device path). The slave end
    behaves as a serial port (pyserial opens it by path); whoever holds the master plays the
    device. While no slave fd is open, reads on the master fail with EIO, so the device side
    usually keeps the slave fd open too."""
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)  # no echo, no CR/LF translation, before anyone writes
    return master, slave, os.ttyname(slave)
