"""Time and energy from the native counters: clock segments (the firmware may change the clock or
the voltage range while it runs), the energy formula, the power model's features and profiles."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

from vbench.sim import native as N
from vbench.sim.energy_classes import ENERGY_CLASSES

MAX_LAYERS = 1024  # layer markers beyond this are attributed to "outside any layer"


@dataclass(frozen=True)
class Counters:
    instructions: int
    cycles: int
    time_s: float
    energy_uj: float


def energy_uj(power, charge_fc: float, time_s: float) -> float:
    """Energy = supply x (dynamic charge + static current x time): the one formula vbench uses."""
    return (power.supply_v * charge_fc * 1e-15 + power.supply_v * power.static_ua * 1e-6 * time_s) * 1e6


class Accounting:
    def __init__(self, board):
        self.board = board
        self.segments: list[list] = []  # [start_cycles, hz, voltage range]

    def raw(self) -> N.VbCounters:
        c = N.VbCounters()
        self.board.lib.vb_get_counters(self.board.core, ctypes.byref(c))
        return c

    def new_segment(self, hz: float, voltage_range: str) -> None:
        start = self.raw().cycles
        if self.segments and self.segments[-1][0] == start:
            self.segments[-1][1:3] = [hz, voltage_range]
        else:
            self.segments.append([start, hz, voltage_range])

    def seconds(self, cycles: int) -> float:
        t, segs = 0.0, self.segments
        for i, (start, hz, _r) in enumerate(segs):
            end = segs[i + 1][0] if i + 1 < len(segs) else None
            if cycles <= start:
                break
            upto = cycles if end is None or cycles < end else end
            t += (upto - start) / hz
        return t

    def counters(self, c: N.VbCounters | None = None) -> Counters:
        c = c or self.raw()
        time_s = self.seconds(int(c.cycles))
        return Counters(int(c.instructions), int(c.cycles), time_s, energy_uj(self.board.power, c.charge_fc, time_s))

    def features(self, c: N.VbCounters | None = None, time_s: float | None = None) -> dict[str, float]:
        """The energy model's inputs: cycles per class, stall cycles, accesses and time."""
        c = c or self.raw()
        time_s = self.seconds(int(c.cycles)) if time_s is None else time_s
        out = {f"cycles_{name}": float(c.class_cycles[i]) for i, name in enumerate(ENERGY_CLASSES)}
        out.update(stall_cycles=float(sum(c.stall)), flash_reads=float(c.flash_reads),
                   sram_reads=float(c.sram_reads), sram_writes=float(c.sram_writes), time_s=time_s)
        return out

    def profile(self) -> dict[str, list[dict[str, Any]]]:
        """Per-function and per-layer cycles, instructions, energy and stalls by cause."""
        b = self.board
        out: dict[str, list[dict[str, Any]]] = {"functions": [], "layers": []}
        buf = (ctypes.c_uint64 * (3 + len(N.STALL_CAUSES)))()
        total = self.raw().cycles  # mean seconds per cycle: exact when the clock did not change
        sec_per_cycle = self.seconds(total) / total if total else 0.0
        v = b.power.supply_v

        def row(name: str) -> dict[str, Any]:
            return {"name": name, "cycles": int(buf[0]), "instructions": int(buf[1]),
                    "time_ms": buf[0] * sec_per_cycle * 1e3, "energy_uj": v * buf[2] * 1e-9,
                    **{f"stall_{c}": int(buf[3 + i]) for i, c in enumerate(N.STALL_CAUSES)}}

        from vbench.sim.demangle import demangle

        names = [demangle(f[2]) for f in b.image.functions] + ["(unknown)"]  # C++ as the source spells it
        for i, name in enumerate(names):
            if b.lib.vb_get_bucket(b.core, 0, i, buf) == 0 and buf[1]:
                out["functions"].append(row(name))
        out["functions"].sort(key=lambda r: -r["cycles"])
        for i in range(MAX_LAYERS + 1):
            if b.lib.vb_get_bucket(b.core, 1, i, buf) == 0 and buf[1]:
                out["layers"].append({"layer": i - 1 if i else None, **row(f"layer {i - 1}" if i else "(outside layers)")})
        return out


@dataclass(frozen=True)
class Call:
    """One call of a watched function, from its first instruction to the return."""
    cycles: int
    instructions: int
    time_s: float
    energy_uj: float
    start_cycles: int


class CallWatch:
    """Every outermost call of one function (Board.watch_calls), recorded in native code."""

    def __init__(self, board, name: str, address: int):
        self.board, self.name, self.address = board, name, address

    @property
    def calls(self) -> list[Call]:
        b = self.board
        n = b.lib.vb_watched_calls(b.core, None, 0)
        raw = (N.VbCall * n)()
        b.lib.vb_watched_calls(b.core, raw, n)
        out = []
        for r in raw:
            t = b.account.seconds(r.exit_cycles) - b.account.seconds(r.entry_cycles)
            out.append(Call(int(r.exit_cycles - r.entry_cycles), int(r.exit_instructions - r.entry_instructions),
                            t, energy_uj(b.power, r.exit_charge_fc - r.entry_charge_fc, t), int(r.entry_cycles)))
        return out
