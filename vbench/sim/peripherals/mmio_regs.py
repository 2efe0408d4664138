"""Word-register plumbing shared by the register-compatible models.

Firmware reaches 32-bit registers with byte, halfword and word accesses (HAL writes GPIO BSRR as
a word, some drivers write its upper half alone; CMSIS writes NVIC_IPR and SHPR bytes one at a
time). `WordRegisters` turns every access into one call on the aligned 32-bit register with a
byte-lane mask, so a model only implements `read_word(reg)` and `write_word(reg, value, mask)`:

* `value` holds the written bytes at their lane positions, `mask` has 0xFF in each written lane;
* a plain read/write register updates `(old & ~mask) | (value & mask)`;
* an action register (BSRR, ICR, ISER, ...) acts on `value & mask` only, as the bus does: the
  lanes that were not written carry zeros, which those registers define as "no action".

Peripherals are little-endian, as the buses of both boards are.
"""

from __future__ import annotations

from vbench.sim.peripherals.base import Peripheral

LANE_MASKS = {1: 0xFF, 2: 0xFFFF, 4: 0xFFFF_FFFF}


def merge(old: int, value: int, mask: int) -> int:
    """A plain register after a (partial) write."""
    return (old & ~mask) | (value & mask)


class WordRegisters(Peripheral):
    """Peripheral whose registers are 32-bit words at 4-byte aligned offsets."""

    def read(self, offset: int, size: int) -> int:
        reg, shift = offset & ~3, (offset & 3) * 8
        if shift + size * 8 > 32:
            raise self.unmodelled(offset, f"{size}-byte read across a word boundary at")
        return (self.read_word(reg) >> shift) & LANE_MASKS[size]

    def write(self, offset: int, size: int, value: int) -> None:
        reg, shift = offset & ~3, (offset & 3) * 8
        if shift + size * 8 > 32:
            raise self.unmodelled(offset, f"{size}-byte write across a word boundary at")
        lanes = LANE_MASKS[size]
        self.write_word(reg, (value & lanes) << shift, lanes << shift)

    # ------------------------------------------------------------------ for subclasses
    def read_word(self, reg: int) -> int:
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        raise self.unmodelled(reg, "write")


class HeldRegisters:
    """A table of plain read/write registers: {offset: (reset value, writable-bit mask)}.

    Bits outside the writable mask keep their reset value (reserved bits read as the manual
    states them, normally zero).
    """

    def __init__(self, layout: dict[int, tuple[int, int]]):
        self.layout = layout
        self.values = {reg: reset for reg, (reset, _) in layout.items()}

    def __contains__(self, reg: int) -> bool:
        return reg in self.layout

    def __getitem__(self, reg: int) -> int:
        return self.values[reg]

    def __setitem__(self, reg: int, value: int) -> None:
        self.values[reg] = value & 0xFFFF_FFFF

    def write(self, reg: int, value: int, mask: int) -> int:
        writable = self.layout[reg][1] & mask
        self.values[reg] = (self.values[reg] & ~writable) | (value & writable)
        return self.values[reg]
