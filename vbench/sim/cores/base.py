"""What every core plug-in provides (see vbench/sim/cores/__init__.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from vbench.sim.board import Board
    from vbench.sim.isa_arm import Decoded


class CoreModel:
    TIMING_MODEL = ""       # the platform's [timing] model this plug-in implements
    ELF_MACHINE = ""        # "arm" or "riscv": which firmware it runs
    DIVIDE_MODEL = 0        # vb_params.div_model: 0 quotient bits (Cortex-M4), 1 divisor leading zeros
    ARG_REG = LINK_REG = SP_REG = 0  # architectural register numbers of the calling convention
    THUMB = False           # execution addresses carry the Thumb bit

    def __init__(self, platform):
        self.platform = platform
        self.timing = timing_params(platform)

    # --- emulator
    def create_cpu(self) -> tuple[Any, list[int], int, int]:
        """(Unicorn engine, register ids of r0..rN, pc register id, sp register id)."""
        raise NotImplementedError

    def decoder(self):
        """An object with decode(bytes, address) -> list[Decoded], one instruction per entry."""
        raise NotImplementedError

    # --- run
    def reset(self, board: Board) -> int:
        """Set the stack pointer and return the entry address."""
        raise NotImplementedError

    def attach(self, board: Board) -> None:
        """Extra per-core machinery (exception controller, ...), once the peripherals exist."""

    def on_interrupt(self, board: Board, intno: int) -> None:
        """A CPU exception from the emulator: an exit request, a handled exception or a fault."""
        raise NotImplementedError

    def instruction_hook(self, board: Board, d: Decoded) -> bool:
        """Register a per-instruction hook this instruction needs (True if one was added)."""
        return False

    def effective_address(self, board: Board, d: Decoded) -> int | None:
        """Address a load/store is about to access, from the current registers."""
        raise NotImplementedError


def timing_params(platform) -> dict[str, int]:
    """The platform's numeric [timing] records, as whole cycles (ranges: vbench/parameters.py)."""
    from vbench.parameters import check_all

    return check_all("timing", platform.section("timing"), platform.path)
