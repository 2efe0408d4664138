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


# A firmware that reads an empty receiver this many times in a row is waiting for input: the board
# hands control to the host (or ends the run) instead of simulating the polling loop.
POLLS_BEFORE_INPUT_WAIT = 64


class InputWaitDetector:
    """Counts consecutive reads of an empty receiver's status; any other UART traffic resets it."""

    def __init__(self) -> None:
        self.empty_polls = 0

    def polled_empty(self, board) -> None:
        self.empty_polls += 1
        if self.empty_polls >= POLLS_BEFORE_INPUT_WAIT:
            self.empty_polls = 0
            if hasattr(board, "wait_for_input"):
                board.wait_for_input()

    def activity(self) -> None:
        self.empty_polls = 0
