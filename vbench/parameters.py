"""Every number that enters a model, declared once: its type, unit, allowed range and where the range
comes from; and the one check that all loaders use (platform files, `--set`, sweep grids, calibration
rows, power models).

A key is looked up by its dotted name (`flash.wait_states`); a `*` in a declared name stands for one
or more parts (`timing.*`, `power.class_pc.*`). Ranges are what the hardware family can be, made wide
enough for what-if studies, and never wider than what the native core can take (a zero line length
would divide by zero there, a negative count would loop). The first refused value ends the load with
a VbenchError that names the file, the key, the value and the allowed range.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Any

from vbench.errors import VbenchError


@dataclass(frozen=True)
class Param:
    kind: type             # int (whole numbers only) or float
    lo: float              # inclusive bounds
    hi: float
    unit: str
    why: str               # where the range comes from
    power_of_two: bool = False
    above_lo: bool = False  # lo itself is excluded (a clock of 0 Hz, a budget of 0 s)

    def describe(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        lower = f"above {self.lo:g}" if self.above_lo else f"from {self.lo:g}"
        unit = f" {self.unit}" if self.unit else ""
        return f"{what} {lower} to {self.hi:g}{unit}" + (", a power of two" if self.power_of_two else "")


_ART = "RM0432 §3.3.3: ART lines of 4 x 64 bits; wider for what-ifs"
_CHARGE = "an MCU draws tens to hundreds of pC per cycle (uA/MHz); 10,000 is a generous ceiling"

PARAMS: dict[str, Param] = {
    # [core]
    "core.clock_hz": Param(float, 0, 10e9, "Hz", "up to 10 GHz", above_lo=True),
    "core.reset_clock_hz": Param(float, 0, 10e9, "Hz", "up to 10 GHz", above_lo=True),
    # [timing]: an instruction's issue cost is one byte in the native table (vb_insn.cycles)
    "timing.*": Param(int, 0, 255, "cycles", "one byte in the native instruction table"),
    # [flash] (vbench/sim/flash_models.py)
    "flash.wait_states": Param(int, 0, 15, "cycles", "FLASH_ACR.LATENCY is 4 bits (RM0432 §3.7.1)"),
    "flash.fetch_bytes": Param(int, 1, 64, "bytes", _ART, power_of_two=True),
    "flash.cache_line_bytes": Param(int, 1, 256, "bytes", _ART, power_of_two=True),
    "flash.fill_bytes": Param(int, 1, 256, "bytes", _ART, power_of_two=True),
    "flash.icache_lines": Param(int, 1, 4096, "lines", "RM0432 §3.3.3: 32 lines; wider for what-ifs"),
    "flash.dcache_lines": Param(int, 1, 4096, "lines", "RM0432 §3.3.3: 8 lines; wider for what-ifs"),
    "flash.icache_ways": Param(int, 0, 4096, "ways", "0 = fully associative"),
    "flash.dcache_ways": Param(int, 0, 4096, "ways", "0 = fully associative"),
    "flash.read_overhead": Param(int, 0, 64, "cycles", "calibrated; a few cycles at most"),
    # [power] and the power model files (vbench/power.py)
    "power.supply_v": Param(float, 1.0, 3.6, "V", "STM32L4R5 VDD 1.71-3.6 V (DS12023 §6.3.1); a 55 nm core near 1.2 V"),
    "power.static_ua": Param(float, 0, 1e6, "uA", "up to 1 A"),
    "power.range_scale.*": Param(float, 0, 10, "", "a scale of the dynamic charge per voltage range"),
    "power.*": Param(float, 0, 1e4, "pC", _CHARGE),
    # [run]: every run ends (vbench/sim/run_limits.py)
    "run.max_instructions": Param(int, 0, 2**63 - 1, "instructions", "a positive budget", above_lo=True),
    "run.max_seconds": Param(float, 0, 1e9, "s", "any finite budget of board time", above_lo=True),
    # board measurements in calibration/validation CSVs (vbench/calibration/measurements.py)
    "measurement.latency_ms": Param(float, 0, 8.64e7, "ms", "a day", above_lo=True),
    "measurement.energy_uj": Param(float, 0, 1e12, "uJ", "a megajoule", above_lo=True),
    "measurement.power_mw": Param(float, 0, 1e6, "mW", "a kilowatt", above_lo=True),
    "measurement.voltage_v": Param(float, 0, 5.0, "V", "5 V", above_lo=True),
    "measurement.clock_hz": Param(float, 0, 1e10, "Hz", "10 GHz", above_lo=True),
}


def spec(key: str) -> Param | None:
    """The declaration for a dotted key: an exact name first, then the first matching pattern."""
    if key in PARAMS:
        return PARAMS[key]
    return next((p for name, p in PARAMS.items() if "*" in name and fnmatch.fnmatchcase(key, name)), None)


def check(key: str, value: Any, where: Any, shown: str | None = None) -> int | float:
    """`value` as the declared type if it is within range, else a VbenchError naming `where` (a file or
    a row), the key (as `shown`, if the caller's file spells it differently), the value and the range."""
    p = spec(key)
    if p is None:
        raise KeyError(f"no declared range for {key}")  # a programming error, not bad input
    name = shown or key
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (p.kind is float or value == int(value))
          and (p.lo < value if p.above_lo else p.lo <= value) and value <= p.hi)
    if ok and p.power_of_two:
        ok = int(value) & (int(value) - 1) == 0
    if not ok:
        raise VbenchError(f"{where}: {name} = {value!r} must be {p.describe()} ({p.why})")
    return int(value) if p.kind is int else float(value)


def check_all(section: str, values: dict[str, Any], where: Any) -> dict[str, int | float]:
    """Every numeric entry of a section (records `{value, source}` are read by their value); strings
    and booleans that the section's models read as names or switches are left to them."""
    out = {}
    for key, node in values.items():
        val = node["value"] if isinstance(node, dict) and "value" in node else node
        if isinstance(val, (str, bool, dict)):
            continue
        out[key] = check(f"{section}.{key}", val, where)
    return out
