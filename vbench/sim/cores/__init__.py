"""Core plug-ins: one module per core family, registered by the timing model it implements.

A platform's core file names its timing model (`[timing] model = "cortex-m4"`); `core_for()` finds
the plug-in that implements it. A plug-in supplies what differs between cores: the emulator's
CPU model, the decoder, reset, the exit mechanism and exceptions, the divide model, the calling
convention (argument, return-address and stack registers) and how a load/store's address is
computed. Adding a core is one module here plus one core TOML in platforms/cores/.
"""

from __future__ import annotations

import importlib
import pkgutil

from vbench.errors import VbenchError
from vbench.sim.cores.base import CoreModel

_REGISTRY: dict[str, type[CoreModel]] = {}


def register(cls: type[CoreModel]) -> type[CoreModel]:
    """Class decorator: make a core plug-in available under its TIMING_MODEL name."""
    _REGISTRY[cls.TIMING_MODEL] = cls
    return cls


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")


def core_for(platform) -> CoreModel:
    """The core plug-in for a platform, configured with its [timing] records."""
    _load_all()
    model = platform.get("timing.model", None)
    cls = _REGISTRY.get(model)
    if cls is None:
        raise VbenchError(f"{platform.path}: timing.model {model!r} has no core plug-in "
                          f"(known: {', '.join(sorted(_REGISTRY))})")
    return cls(platform)


def known_cores() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)
