"""Instruction-level power models (power_models/<board>.toml).

Energy = supply voltage x charge, where charge is integrated in the native core per cycle of each
instruction energy class (pC per cycle, numerically uA per MHz), per memory access, and per stall
cycle, plus static current x time. Every coefficient is a record with its source; coefficients
fitted by `vbench calibrate` say so in their source.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from vbench.errors import VbenchError
from vbench.parameters import check
from vbench.paths import data_file
from vbench.platform import Platform
from vbench.sim.energy_classes import ENERGY_CLASSES


@dataclass
class PowerModel:
    path: Path | None
    supply_v: float
    class_pc: dict[str, float]  # charge per cycle of each class, pC
    stall_pc: float
    flash_read_pc: float
    sram_read_pc: float
    sram_write_pc: float
    static_ua: float
    range_scale: dict[str, float] = field(default_factory=dict)  # dynamic charge scale per voltage range
    sources: dict[str, str] = field(default_factory=dict)

    def femto(self, pc: float, scale: float = 1.0) -> int:
        return int(round(pc * scale * 1000))


def _num(node, path: Path, key: str) -> tuple[float, str]:
    if isinstance(node, dict):
        if "value" not in node or not isinstance(node.get("source"), str):
            raise VbenchError(f"{path}: '{key}' needs a value and a source")
        node, src = node["value"], node["source"]
    else:
        raise VbenchError(f"{path}: '{key}' must be a record {{ value = ..., source = \"...\" }}")
    where = f"{path} ({src})" if src.startswith("override") else path
    return check(f"power.{key}", node, where, shown=key), src  # ranges: vbench/parameters.py


def load_power_model(platform: Platform) -> PowerModel:
    rel = platform.get("power.model", None)
    if not rel:
        return flat_power_model()
    path = data_file(rel, platform.path.parent)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise VbenchError(f"{path}: cannot load power model: {exc}") from None
    for key, value in platform.overrides.items():  # --set power.<key>=v reaches the model file
        if key.startswith("power.") and key != "power.model":
            sub = key.split(".")[1:]
            node = data
            for p in sub[:-1]:
                node = node.setdefault(p, {})
            if isinstance(node.get(sub[-1]), dict):
                node[sub[-1]] = {"value": value, "source": "override (--set)"}
            else:
                node[sub[-1]] = {"value": value, "source": "override (--set)"}
    sources = {}
    vals = {}
    for key in ("supply_v", "stall_pc", "flash_read_pc", "sram_read_pc", "sram_write_pc", "static_ua"):
        vals[key], sources[key] = _num(data.get(key), path, key)
    cls = {}
    table = data.get("class_pc", {})
    for name in ENERGY_CLASSES:
        cls[name], sources[f"class_pc.{name}"] = _num(table.get(name), path, f"class_pc.{name}")
    ranges = {}
    for name, node in data.get("range_scale", {}).items():
        ranges[name], sources[f"range_scale.{name}"] = _num(node, path, f"range_scale.{name}")
    return PowerModel(path, vals["supply_v"], cls, vals["stall_pc"], vals["flash_read_pc"], vals["sram_read_pc"],
                      vals["sram_write_pc"], vals["static_ua"], ranges, sources)


def flat_power_model() -> PowerModel:
    """Trivial baseline: every cycle costs the same; for differential tests."""
    return PowerModel(None, 1.0, {c: 100.0 for c in ENERGY_CLASSES}, 100.0, 0.0, 0.0, 0.0, 0.0)
