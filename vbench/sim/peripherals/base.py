"""Peripheral models: register-compatible MMIO devices driven by the board's virtual time.

A model subclasses `Peripheral`, sets TYPE (the `type` string platform files use) and registers
itself with @register. Accesses are rare next to instructions, so models are plain Python; every
time value they expose comes from `board.now()`, never from the host clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from vbench.errors import VbenchError

if TYPE_CHECKING:  # pragma: no cover
    from vbench.sim.board import Board

REGISTRY: dict[str, type["Peripheral"]] = {}


def register(cls: type["Peripheral"]) -> type["Peripheral"]:
    if cls.TYPE in REGISTRY:
        raise VbenchError(f"peripheral type '{cls.TYPE}' registered twice")
    REGISTRY[cls.TYPE] = cls
    return cls


class UnmodelledAccess(VbenchError):
    """The firmware touched a register this model does not implement."""


class Peripheral:
    TYPE: ClassVar[str] = ""

    def __init__(self, board: "Board", name: str, base: int, size: int, params: dict[str, Any]):
        self.board = board
        self.name = name
        self.base = base
        self.size = size
        self.params = params
        self.reset()

    def reset(self) -> None:
        """Reset values, as after a power-on reset."""

    def read(self, offset: int, size: int) -> int:
        raise self.unmodelled(offset, "read")

    def write(self, offset: int, size: int, value: int) -> None:
        raise self.unmodelled(offset, "write")

    def unmodelled(self, offset: int, what: str) -> UnmodelledAccess:
        return UnmodelledAccess(f"{what} of unmodelled register {self.name}+{offset:#x} (address {self.base + offset:#010x})")
