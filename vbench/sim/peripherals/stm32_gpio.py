"""STM32L4+ GPIO ports A..I in one window, 0x400 per port (RM0432 Rev 9 chapter 8, "GPIO registers").

Registers per port: MODER 0x00, OTYPER 0x04, OSPEEDR 0x08, PUPDR 0x0C, IDR 0x10, ODR 0x14,
BSRR 0x18, LCKR 0x1C, AFRL 0x20, AFRH 0x24, BRR 0x28, ASCR 0x2C. Reset values (RM0432 "GPIO registers"):
MODER 0xABFF_FFFF (A), 0xFFFF_FEBF (B), 0xFFFF_FFFF (others: analog mode); OSPEEDR 0x0C00_0000 (A),
0x0000_00C0 (B); PUPDR 0x6400_0000 (A), 0x0000_0100 (B) (the debug pins); all others 0.

Every change of a driven output level calls `board.gpio_event(port, pin, level)` (port "A".."I"):
an ODR/BSRR/BRR change on a pin in output mode (MODER = 01), and a pin entering output mode
(it starts driving its ODR level). The energy harness takes a GPIO edge as its timestamp.

IDR: output pins read their ODR level; input pins read `set_input()` levels, else their pull
(pull-up 1, pull-down or none 0); analog and alternate-function pins read 0. LCKR implements the
lock key sequence (RM0432 "GPIO locking mechanism"): locked pins ignore configuration writes.
"""

from __future__ import annotations

from vbench.sim.peripherals.base import register
from vbench.sim.peripherals.mmio_regs import WordRegisters, merge

PORT_STRIDE = 0x400
PORT_LETTERS = "ABCDEFGHI"
MODER, OTYPER, OSPEEDR, PUPDR, IDR, ODR, BSRR, LCKR, AFRL, AFRH, BRR, ASCR = range(0, 0x30, 4)
CONFIG_REGISTERS = (MODER, OTYPER, OSPEEDR, PUPDR, AFRL, AFRH, ASCR)
MODE_INPUT, MODE_OUTPUT, MODE_ALTERNATE, MODE_ANALOG = 0, 1, 2, 3
LCKK = 1 << 16

RESET_VALUES = {
    "A": {MODER: 0xABFF_FFFF, OSPEEDR: 0x0C00_0000, PUPDR: 0x6400_0000},
    "B": {MODER: 0xFFFF_FEBF, OSPEEDR: 0x0000_00C0, PUPDR: 0x0000_0100},
}
DEFAULT_MODER = 0xFFFF_FFFF


class GpioPort:
    def __init__(self, letter: str):
        self.letter = letter
        reset = RESET_VALUES.get(letter, {})
        self.regs = {reg: 0 for reg in CONFIG_REGISTERS + (ODR,)}
        self.regs[MODER] = reset.get(MODER, DEFAULT_MODER)
        self.regs[OSPEEDR] = reset.get(OSPEEDR, 0)
        self.regs[PUPDR] = reset.get(PUPDR, 0)
        self.inputs: dict[int, int] = {}  # pin -> level driven from outside
        self.lckr = 0
        self.lock_step = 0

    def mode(self, pin: int) -> int:
        return (self.regs[MODER] >> (2 * pin)) & 3

    def driven_levels(self) -> dict[int, int]:
        """Pins in output mode and the level each drives."""
        odr = self.regs[ODR]
        return {pin: (odr >> pin) & 1 for pin in range(16) if self.mode(pin) == MODE_OUTPUT}

    def idr(self) -> int:
        value = 0
        for pin in range(16):
            mode = self.mode(pin)
            if mode == MODE_OUTPUT:
                level = (self.regs[ODR] >> pin) & 1
            elif mode == MODE_INPUT:
                level = self.inputs.get(pin, 1 if (self.regs[PUPDR] >> (2 * pin)) & 3 == 1 else 0)
            else:
                level = 0
            value |= level << pin
        return value

    def locked_mask(self, reg: int) -> int:
        """Bits of configuration register `reg` belonging to locked pins."""
        if not self.lckr & LCKK:
            return 0
        pins = self.lckr & 0xFFFF
        width = 1 if reg in (OTYPER, ASCR) else (2 if reg in (MODER, OSPEEDR, PUPDR) else 4)
        first = 8 if reg == AFRH else 0
        out = 0
        for i in range(32 // width):
            if pins >> (first + i) & 1 and first + i < 16:
                out |= ((1 << width) - 1) << (i * width)
        return out


@register
class Stm32GeneralPurposeIo(WordRegisters):
    TYPE = "stm32.gpio"

    def reset(self) -> None:
        ports = max(1, min(len(PORT_LETTERS), self.size // PORT_STRIDE))
        self.ports = [GpioPort(PORT_LETTERS[i]) for i in range(ports)]

    def set_input(self, port: str, pin: int, level: int | None) -> None:
        """Drive an input pin from outside (None: released to its pull)."""
        inputs = self.ports[PORT_LETTERS.index(port)].inputs
        if level is None:
            inputs.pop(pin, None)
        else:
            inputs[pin] = 1 if level else 0

    def _port(self, reg: int) -> tuple[GpioPort, int]:
        index = reg // PORT_STRIDE
        if index >= len(self.ports):
            raise self.unmodelled(reg, "access to a GPIO port beyond GPIO" + PORT_LETTERS[len(self.ports) - 1] + ":")
        return self.ports[index], reg % PORT_STRIDE

    def read_word(self, reg: int) -> int:
        port, local = self._port(reg)
        if local in port.regs:
            return port.regs[local]
        if local == IDR:
            return port.idr()
        if local in (BSRR, BRR):
            return 0  # write-only
        if local == LCKR:
            if port.lock_step == 3:  # the sequence ends with a read of LCKR
                port.lckr |= LCKK
                port.lock_step = 4
            return port.lckr
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        port, local = self._port(reg)
        before = port.driven_levels()
        if local in CONFIG_REGISTERS:
            writable = mask & ~port.locked_mask(local)
            port.regs[local] = merge(port.regs[local], value, writable)
        elif local == ODR:
            port.regs[ODR] = merge(port.regs[ODR], value, mask & 0xFFFF)
        elif local == BSRR:
            bits = value & mask
            port.regs[ODR] = (port.regs[ODR] | (bits & 0xFFFF)) & ~((bits >> 16) & ~bits & 0xFFFF)  # set wins
        elif local == BRR:
            port.regs[ODR] &= ~(value & mask & 0xFFFF)
        elif local == IDR:
            pass  # read-only
        elif local == LCKR:
            self._lock_sequence(port, merge(port.lckr, value, mask))
        else:
            raise self.unmodelled(reg, "write")
        after = port.driven_levels()
        for pin, level in after.items():
            if before.get(pin) != level:
                self.board.gpio_event(port.letter, pin, level)

    @staticmethod
    def _lock_sequence(port: GpioPort, word: int) -> None:
        """WR LCKK=1+pins, WR LCKK=0+pins, WR LCKK=1+pins, RD (RM0432 "GPIO port configuration lock register")."""
        if port.lckr & LCKK:
            return  # locked until the next reset
        expect = (LCKK, 0, LCKK)
        pins = word & 0xFFFF
        step = port.lock_step
        if step < 3 and word & LCKK == expect[step] and (step == 0 or pins == port.lckr & 0xFFFF):
            port.lock_step = step + 1
            port.lckr = pins
        else:
            port.lock_step = 1 if word & LCKK else 0
            port.lckr = pins
