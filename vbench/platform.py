"""Declarative platforms: one TOML file per board in `platforms/`, validated on load.

A file may `extends = "other.toml"` (a path relative to itself) and override any key; a what-if
variant is such a file, or `--set dotted.key=value` on the command line. Numbers that the timing
and power models use are records `{ value = ..., source = "..." }` so every figure carries its
provenance; `Platform.get("timing.ldr")` returns the bare value.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vbench.errors import VbenchError
from vbench.parameters import check, check_all
from vbench.sim.energy_classes import ENERGY_CLASSES
from vbench.paths import PLATFORM_PATH_ENV, platform_search_path

# the boards the multi-board commands (build, check-models, study) run by default
DEFAULT_PLATFORMS = ("nucleo-l4r5zi", "rv32imaf-mcu")

ISAS = ("armv7e-m", "rv32imaf")
MEMORY_KINDS = ("flash", "sram", "rom")


@dataclass(frozen=True)
class Memory:
    name: str
    kind: str
    base: int
    size: int
    aliases: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class PeripheralSpec:
    name: str
    type: str
    base: int
    size: int
    params: dict[str, Any]


@dataclass
class Platform:
    name: str
    path: Path
    data: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    def get(self, dotted: str, default: Any = ...) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is ...:
                    raise VbenchError(f"{self.path}: missing key '{dotted}'")
                return default
            node = node[part]
        return node["value"] if isinstance(node, dict) and "value" in node else node

    def source_of(self, dotted: str) -> str | None:
        node: Any = self.data
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node.get("source") if isinstance(node, dict) else None

    @property
    def isa(self) -> str:
        return self.data["core"]["isa"]

    @property
    def memories(self) -> list[Memory]:
        out = []
        for name, m in self.data.get("memory", {}).items():
            out.append(Memory(name, m["kind"], m["base"], m["size"], tuple(m.get("aliases", ())), m.get("source", "")))
        return out

    @property
    def peripherals(self) -> list[PeripheralSpec]:
        out = []
        for name, p in self.data.get("peripherals", {}).items():
            params = {k: v for k, v in p.items() if k not in ("type", "base", "size", "source")}
            out.append(PeripheralSpec(name, p["type"], p["base"], p.get("size", 0x400), params))
        return out

    def section(self, name: str) -> dict[str, Any]:
        return self.data.get(name, {})

    def fingerprint(self) -> str:
        """Hash of the resolved platform, so results record exactly what they ran on."""
        blob = json.dumps(self.data, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# ---------------------------------------------------------------------- loading


def available_platforms() -> list[Path]:
    """The boards found by name: the *.toml files of each search-path folder ($VBENCH_PLATFORM_PATH,
    then the built-in ones), a name in an earlier folder hiding the same name in a later one."""
    found: dict[str, Path] = {}
    for folder in platform_search_path():
        for p in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            found.setdefault(p.stem, p.resolve())
    return sorted(found.values(), key=lambda p: p.stem)


def _resolve_path(name_or_path: str | Path) -> Path:
    """A board file path (anything ending .toml or existing), or a board name on the search path."""
    p = Path(name_or_path).expanduser()
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise VbenchError(f"platform file not found: {p}")
        return p.resolve()
    for folder in platform_search_path():
        candidate = folder / f"{name_or_path}.toml"
        if candidate.is_file():
            return candidate.resolve()
    names = [q.stem for q in available_platforms()]
    hint = difflib.get_close_matches(str(name_or_path), names, n=1)
    more = f" (did you mean '{hint[0]}'?)" if hint else f" (known: {', '.join(names) or 'none'})"
    where = os.pathsep.join(str(d) for d in platform_search_path())
    raise VbenchError(f"unknown platform '{name_or_path}'{more}; searched {where} (add folders with "
                      f"${PLATFORM_PATH_ENV}, or pass a .toml path)")


def _extends_path(path: Path, parent: str) -> Path:
    """`extends` names a file relative to the board file; a user's copy of a built-in board also
    finds the built-in cores (`cores/cortex-m4f.toml`) through the search path."""
    for folder in (path.parent, *platform_search_path()):
        candidate = (folder / parent).resolve()
        if candidate.exists():
            return candidate
    raise VbenchError(f"{path}: extends '{parent}', which does not exist")


def _deep_merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "value" not in v:
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _read_toml(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    if path in chain:
        raise VbenchError(f"{path}: 'extends' forms a cycle")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise VbenchError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise VbenchError(f"{path}: cannot read: {exc.strerror}") from None
    parent = data.pop("extends", None)
    if parent:
        base_path = _extends_path(path, parent)
        data = _deep_merge(_read_toml(base_path, chain + (path,)), data)
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """`key.path=value`, the value in TOML syntax (80e6, 3, true, "x"); bare words are strings."""
    if "=" not in text:
        raise VbenchError(f"override '{text}' is not of the form key.path=value")
    key, raw = (s.strip() for s in text.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        value = int(value)
    return key, value


def _all_keys(node: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in node.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and "value" not in v:
            keys += _all_keys(v, path + ".")
        else:
            keys.append(path)
    return keys


# Keys a platform need not define but an override may set (what-if pins).
PINNABLE = ("core.clock_hz", "flash.wait_states", "flash.prefetch", "flash.icache", "flash.dcache",
            "power.supply_v", "run.max_instructions", "run.max_seconds")
# The power model's own figures (power_models/*.toml, vbench/power.py) are set with --set power.<key>.
POWER_KEYS = ("power.stall_pc", "power.flash_read_pc", "power.sram_read_pc", "power.sram_write_pc", "power.static_ua",
              *(f"power.class_pc.{c}" for c in ENERGY_CLASSES),
              *(f"power.range_scale.{r}" for r in ("range1-boost", "range1", "range2", "nominal")))


def _apply_override(data: dict, path: Path, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        if part not in node or not isinstance(node[part], dict):
            if key in PINNABLE or key in POWER_KEYS:
                node = node.setdefault(part, {})
                continue
            _unknown_key(data, path, key)
        node = node[part]
    leaf = parts[-1]
    if leaf not in node and key not in PINNABLE and key not in POWER_KEYS:
        _unknown_key(data, path, key)
    old = node.get(leaf)
    if isinstance(old, dict) and "value" in old:
        old["value"] = value
        old["source"] = "override (--set)"
    else:
        node[leaf] = value


def _unknown_key(data: dict, path: Path, key: str) -> None:
    keys = _all_keys(data) + list(PINNABLE) + list(POWER_KEYS)
    hint = difflib.get_close_matches(key, keys, n=1)
    more = f" (did you mean '{hint[0]}'?)" if hint else ""
    raise VbenchError(f"{path}: override of unknown key '{key}'{more}")


def load_platform(name_or_path: str | Path, overrides: list[str] | dict[str, Any] | None = None) -> Platform:
    path = _resolve_path(name_or_path)
    data = _read_toml(path)
    pairs = list(overrides.items()) if isinstance(overrides, dict) else [parse_override(o) for o in overrides or []]
    for key, value in pairs:
        _apply_override(data, path, key, value)
    validate(data, path)
    plat = Platform(name=data["name"], path=path, data=data, overrides=dict(pairs))
    check_models(plat)
    return plat


def check_models(plat: Platform) -> None:
    """The numbers each model reads, with that model's ranges, when the platform loads (before any
    work): the core's timing records, the flash model's [flash], the power model's figures."""
    from vbench.power import load_power_model
    from vbench.sim.cores.base import timing_params
    from vbench.sim.flash_models import check_flash

    timing_params(plat)
    check_flash(plat)
    load_power_model(plat)
    check_all("run", plat.section("run"), plat.path)


# ---------------------------------------------------------------------- validation


def _need(cond: bool, path: Path, msg: str) -> None:
    if not cond:
        raise VbenchError(f"{path}: {msg}")


def _value(v: Any) -> Any:
    return v["value"] if isinstance(v, dict) and "value" in v else v


SCHEMA = 1  # the platform-file format this vbench reads
CORE_KEYS = ("isa", "cpu", "fpu", "reset_clock_hz", "reset_voltage_range", "exit", "clock_hz")


def validate(data: dict, path: Path) -> None:
    _need(data.get("schema", SCHEMA) == SCHEMA, path,
          f"schema = {data.get('schema')!r}: this vbench reads platform files of schema {SCHEMA}")
    _need(isinstance(data.get("name"), str), path, "missing 'name' (a string)")
    core = data.get("core")
    unknown = sorted(set(core) - set(CORE_KEYS)) if isinstance(core, dict) else []
    _need(not unknown, path, f"unknown key(s) in [core]: {', '.join(unknown)} (known: {', '.join(CORE_KEYS)})")
    _need(isinstance(core, dict), path, "missing [core] section")
    _need(core.get("isa") in ISAS, path, f"core.isa must be one of {', '.join(ISAS)}, not {core.get('isa')!r}")
    check("core.reset_clock_hz", _value(core.get("reset_clock_hz")), path)
    if "clock_hz" in core:
        check("core.clock_hz", _value(core["clock_hz"]), path)
    mems = data.get("memory")
    _need(isinstance(mems, dict) and mems, path, "missing [memory.*] sections")
    spans = []
    for name, m in mems.items():
        _need(isinstance(m, dict), path, f"memory.{name} must be a table")
        _need(m.get("kind") in MEMORY_KINDS, path, f"memory.{name}.kind must be one of {', '.join(MEMORY_KINDS)}")
        for k in ("base", "size"):
            _need(isinstance(m.get(k), int) and m[k] >= 0, path, f"memory.{name}.{k} must be a non-negative integer")
        _need(m["size"] > 0 and m["size"] % 1024 == 0, path, f"memory.{name}.size must be a positive multiple of 1 KiB")
        _need(m["base"] % 1024 == 0, path, f"memory.{name}.base must be 1 KiB aligned")
        _need(m["base"] + m["size"] <= 2**32, path, f"memory.{name} ends beyond 4 GiB")
        for a in [m["base"], *m.get("aliases", [])]:
            spans.append((a, a + m["size"], name))
    spans.sort()
    for (a0, a1, n0), (b0, b1, n1) in zip(spans, spans[1:]):
        _need(a1 <= b0, path, f"memory {n0} [{a0:#x}, {a1:#x}) overlaps {n1} at {b0:#x}")
    for name, p in data.get("peripherals", {}).items():
        _need(isinstance(p, dict) and isinstance(p.get("type"), str), path, f"peripherals.{name} needs a 'type'")
        _need(isinstance(p.get("base"), int), path, f"peripherals.{name}.base must be an integer")
        for a0, a1, n in spans:
            _need(not (a0 <= p["base"] < a1), path, f"peripherals.{name} at {p['base']:#x} lies inside memory {n}")
    for section in ("timing",):
        for key in _all_keys(data.get(section, {})):
            node = data[section]
            for part in key.split("."):
                node = node[part]
            if isinstance(node, dict) and "value" in node:
                _need(isinstance(node.get("source"), str) and node["source"].strip(), path,
                      f"{section}.{key} has no 'source': every timing figure must cite where it comes from")
