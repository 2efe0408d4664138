"""The free parameters `vbench calibrate --fit` accepts, with their physically sensible bounds.

Energy parameters (the power model is linear in them; fitted by linear least squares):

    power.class_pc.<class>   charge per issue cycle of one energy class (pC = uA/MHz)
    power.stall_pc           charge per stall cycle
    power.flash_read_pc      charge per flash read (fetch-buffer or cache line refill)
    power.sram_read_pc, power.sram_write_pc
    power.static_ua          static current (uA), charged over time
    power.cycle_pc           one charge for every cycle: all class_pc and stall_pc tied together
    power.class_pc           all class_pc tied together (stall_pc kept)
    power.sram_pc            sram_read_pc and sram_write_pc tied together

Their bounds come from the power model file: a record may carry `bounds = [lo, hi]` and
`bounds_source = "..."` next to its value and source (a tied group takes the intersection of
its members' bounds); a record without bounds is only required to be non-negative.

Timing parameters (each fit evaluation is a simulation; fitted by bounded nonlinear least
squares): any integer record of the platform's [timing] or [flash] section, e.g.
`timing.branch_refill`. The simulator takes integers, so a timing parameter's domain is a set of
integers: `LO:HI` (every integer in between) or `a,b,c`. Known Cortex-M4 parameters have a
default domain from the TRM (KNOWN_TIMING below); others need one on the command line.

`--fit NAME=LO:HI` (or `=a,b,c` for timing) replaces the bounds of any parameter.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from vbench.errors import VbenchError
from vbench.paths import data_file
from vbench.platform import Platform
from vbench.sim.energy_classes import ENERGY_CLASSES

SCALARS = ("stall_pc", "flash_read_pc", "sram_read_pc", "sram_write_pc", "static_ua")
FEATURE = {"stall_pc": "stall_cycles", "flash_read_pc": "flash_reads", "sram_read_pc": "sram_reads",
           "sram_write_pc": "sram_writes", "static_ua": "time_s",
           **{f"class_pc.{c}": f"cycles_{c}" for c in ENERGY_CLASSES}}
MODEL_KEYS = tuple(FEATURE)
GROUPS = {
    "cycle_pc": tuple(f"class_pc.{c}" for c in ENERGY_CLASSES) + ("stall_pc",),
    "class_pc": tuple(f"class_pc.{c}" for c in ENERGY_CLASSES),
    "sram_pc": ("sram_read_pc", "sram_write_pc"),
}

GROUP_TEXT = {
    "cycle_pc": "one charge for every issue cycle of every energy class and every stall cycle",
    "class_pc": "one charge for every issue cycle of every energy class",
    "sram_pc": "one charge for every SRAM read and write",
}

# (timing model, key) -> (low, high, source): integer ranges published for the core.
KNOWN_TIMING = {
    ("cortex-m4", "timing.branch_refill"): (
        1, 3, "Cortex-M4 TRM r0p1 (DDI 0439) §3.3.1 Table 3-1: the pipeline refill P ranges from 1 to 3 cycles"),
    ("cortex-m4", "timing.branch_cond_taken_extra"): (
        1, 3, "Cortex-M4 TRM r0p1 (DDI 0439) §3.3.1 Table 3-1: B<cond> taken is 1+P, P from 1 to 3"),
    ("cortex-m4", "timing.divide_bits_per_cycle"): (
        1, 4, "vbench divide model: 1 to 4 quotient bits per cycle puts a full 32-bit quotient at 10 to 34 "
              "cycles before the TRM's 2-12 cycle clamp (Cortex-M4 TRM Table 3-1: SDIV, UDIV 2 to 12)"),
}


@dataclass(frozen=True)
class FreeParam:
    name: str                        # power.cycle_pc, timing.branch_refill, ...
    kind: str                        # "energy" or "timing"
    members: tuple[str, ...]         # power model keys (class_pc.alu, static_ua) or the platform key
    lo: float
    hi: float
    bounds_source: str
    current: float                   # value in the model being calibrated (mean over a group)
    unit: str
    domain: tuple[int, ...] = ()     # timing: the allowed integer values, ascending
    domain_is_range: bool = True     # timing: every integer between lo and hi

    @property
    def bounds_text(self) -> str:
        if self.kind == "timing" and not self.domain_is_range:
            return "{" + ", ".join(str(v) for v in self.domain) + "}"
        hi = "inf" if math.isinf(self.hi) else f"{self.hi:g}"
        return f"[{self.lo:g}, {hi}]"


def read_power_file(platform: Platform) -> tuple[Path, dict, str]:
    """(path, parsed TOML, text) of the platform's power model file."""
    rel = platform.get("power.model", None)
    if not rel:
        raise VbenchError(f"{platform.path}: no power.model, so there is no power model to calibrate")
    path = data_file(rel, platform.path.parent)
    try:
        text = path.read_text()
        return path, tomllib.loads(text), text
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise VbenchError(f"{path}: cannot load power model: {exc}") from None


def model_record(data: dict, key: str) -> dict:
    node = data
    for part in key.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def _parse_bounds(text: str, name: str, timing: bool) -> tuple[float, float, tuple[int, ...], bool]:
    text = text.strip()
    try:
        if ":" in text:
            lo_s, hi_s = text.split(":", 1)
            lo, hi = float(lo_s), float(hi_s) if hi_s.strip() not in ("", "inf") else math.inf
            if not lo <= hi:
                raise ValueError
            if timing:
                if not (lo.is_integer() and math.isfinite(hi) and float(hi).is_integer()):
                    raise ValueError
                return lo, hi, tuple(range(int(lo), int(hi) + 1)), True
            return lo, hi, (), True
        if timing and "," in text:
            vals = sorted({int(v) for v in text.split(",") if v.strip()})
            if len(vals) < 2:
                raise ValueError
            return vals[0], vals[-1], tuple(vals), False
    except ValueError:
        pass
    form = "LO:HI (integers) or a,b,c" if timing else "LO:HI"
    raise VbenchError(f"--fit {name}={text}: bounds must be {form}")


def _energy_param(name: str, data: dict, path: Path, bounds: str | None) -> FreeParam:
    short = name.split(".", 1)[1]
    members = GROUPS.get(short) or ((short,) if short in MODEL_KEYS else ())
    if not members:
        known = ["power." + k for k in (*MODEL_KEYS, *GROUPS)]
        hint = difflib.get_close_matches(name, known, n=1)
        raise VbenchError(f"unknown parameter '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                          + f"; energy parameters: {', '.join(known)}")
    values, lo, hi, srcs = [], 0.0, math.inf, []
    for m in members:
        rec = model_record(data, m)
        if "value" not in rec:
            raise VbenchError(f"{path}: no record '{m}' to calibrate")
        values.append(float(rec["value"]))
        b = rec.get("bounds")
        if b is not None:
            if not (isinstance(b, list) and len(b) == 2 and all(isinstance(x, (int, float)) for x in b) and b[0] <= b[1]):
                raise VbenchError(f"{path}: '{m}.bounds' must be [low, high]")
            lo, hi = max(lo, float(b[0])), min(hi, float(b[1]))
            s = rec.get("bounds_source", "")
            if s and s not in srcs:
                srcs.append(s)
    if lo > hi:
        raise VbenchError(f"{name}: the bounds of its members do not overlap ({path})")
    source = "; ".join(srcs) if srcs else "non-negative: a charge or a current cannot be negative (no bounds in the power model)"
    if bounds is not None:
        lo, hi, _, _ = _parse_bounds(bounds, name, False)
        source = "given on the command line (--fit)"
    unit = "uA" if members == ("static_ua",) else "pC"
    return FreeParam(name, "energy", members, lo, hi, source, sum(values) / len(values), unit)


def _timing_param(name: str, platform: Platform, bounds: str | None) -> FreeParam:
    section = name.split(".", 1)[0]
    node = platform.section(section)
    for part in name.split(".")[1:]:
        node = node.get(part) if isinstance(node, dict) else None
    value = node.get("value") if isinstance(node, dict) else node
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        keys = [f"{section}.{k}" for k, v in platform.section(section).items()
                if isinstance(v, dict) and isinstance(v.get("value"), (int, float))]
        hint = difflib.get_close_matches(name, keys, n=1)
        raise VbenchError(f"unknown parameter '{name}' on {platform.name}"
                          + (f" (did you mean '{hint[0]}'?)" if hint else "")
                          + " : timing parameters are the numeric records of the platform's [timing] and [flash] sections")
    model = platform.get("timing.model", "")
    if bounds is not None:
        lo, hi, domain, is_range = _parse_bounds(bounds, name, True)
        source = "given on the command line (--fit)"
    elif (model, name) in KNOWN_TIMING:
        lo, hi, source = KNOWN_TIMING[(model, name)]
        domain, is_range = tuple(range(int(lo), int(hi) + 1)), True
    else:
        raise VbenchError(f"{name}: no published range is known to vbench for this {model or 'core'} parameter; "
                          f"give one: --fit {name}=LO:HI (integers) or --fit {name}=a,b,c")
    if any(v < 0 for v in domain):
        raise VbenchError(f"--fit {name}: timing values must be non-negative integers")
    return FreeParam(name, "timing", (name,), float(lo), float(hi), source, float(value), "", domain, is_range)


def parse_fit(specs: list[str], platform: Platform) -> list[FreeParam]:
    """`--fit` arguments (NAME or NAME=BOUNDS) -> free parameters, validated against the platform."""
    out: list[FreeParam] = []
    data = path = None
    for spec in specs:
        name, _, bounds = spec.partition("=")
        name = name.strip()
        if name.startswith("power."):
            if data is None:
                path, data, _ = read_power_file(platform)
            p = _energy_param(name, data, path, bounds or None)
        elif name.startswith(("timing.", "flash.")):
            p = _timing_param(name, platform, bounds or None)
        else:
            raise VbenchError(f"--fit {spec}: a parameter is power.<key> (energy) or timing.<key> / flash.<key> "
                              f"(timing)")
        clash = [q.name for q in out if set(q.members) & set(p.members)]
        if clash:
            raise VbenchError(f"--fit {name} overlaps {clash[0]} (they set the same record)")
        out.append(p)
    return out
