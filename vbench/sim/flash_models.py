"""Flash read-path models, selected by the platform's `[flash] type`.

`stm32l4-art`: the STM32L4/L4+ flash interface with its ART accelerator (RM0432 §3.3), timed in
native code (vbench/_native/flash_art.c). Its geometry and the parameters no document fixes come
from the [flash] section; FLASH_ACR (LATENCY, PRFTEN, ICEN, DCEN, ICRST, DCRST) comes from the
board's FLASH register peripheral, which calls `set_acr()` on every write, unless a what-if pins a
field (`flash.wait_states`, `flash.prefetch`, `flash.icache`, `flash.dcache`).
"""

from __future__ import annotations

import ctypes

from vbench.errors import VbenchError
from vbench.parameters import check
from vbench.sim import native as N

# [flash] key -> vb_art_params field, with the default used when the platform omits the key.
# Allowed ranges: vbench/parameters.py.
ART_GEOMETRY = {
    "fetch_bytes": ("fetch_bytes", 8),
    "cache_line_bytes": ("line_bytes", 32),
    "icache_lines": ("icache_lines", 1),
    "dcache_lines": ("dcache_lines", 1),
    "icache_ways": ("icache_ways", 0),
    "dcache_ways": ("dcache_ways", 0),
    "fill_bytes": ("fill_bytes", None),  # default: the whole line
    "read_overhead": ("read_overhead", 0),
}


class Stm32L4Art:
    TYPE = "stm32l4-art"

    def __init__(self, platform, lib):
        self.platform, self.lib = platform, lib
        self.handle = lib.vb_art_create()
        if not self.handle:
            raise VbenchError("native core: out of memory (flash model)")
        self.params = N.VbArtParams()
        for key, (field, default) in ART_GEOMETRY.items():
            value = _checked(platform, key, platform.get(f"flash.{key}", default))
            setattr(self.params, field, value if value is not None else self.params.line_bytes)
        if self.lib.vb_art_configure(self.handle, ctypes.byref(self.params)):
            raise VbenchError(f"{platform.path}: [flash] geometry rejected by the flash model "
                              f"(fetch_bytes, cache_line_bytes and fill_bytes positive, fill_bytes dividing the line into at most 32 parts)")
        self.pins = {k: platform.get(f"flash.{k}", None) for k in ("wait_states", "prefetch", "icache", "dcache")}
        _checked(platform, "wait_states", self.pins["wait_states"])
        self.acr = (0, False, False, False)
        self.set_acr(0, False, False, False)  # reset state until a FLASH_ACR peripheral writes it; pins apply

    def set_acr(self, latency: int, prefetch: bool, icache: bool, dcache: bool,
                icache_reset: bool = False, dcache_reset: bool = False) -> None:
        """FLASH_ACR as the firmware wrote it; a pinned field keeps the what-if's value."""
        if self.pins["wait_states"] is not None:
            latency = int(self.pins["wait_states"])
        prefetch, icache, dcache = (bool(pin) if pin is not None else val for pin, val in
                                    zip((self.pins["prefetch"], self.pins["icache"], self.pins["dcache"]),
                                        (prefetch, icache, dcache)))
        self.lib.vb_art_set_acr(self.handle, latency, int(prefetch), int(icache), int(dcache),
                                int(icache_reset), int(dcache_reset))
        self.acr = (latency, prefetch, icache, dcache)

    def close(self) -> None:
        if self.handle:
            self.lib.vb_art_destroy(self.handle)
            self.handle = None


FLASH_NUMBERS = (*ART_GEOMETRY, "wait_states")


def _checked(platform, key: str, value):
    """The value within its declared range (None passes: the key is not set), else a VbenchError naming it."""
    return None if value is None else check(f"flash.{key}", value, platform.path)


def check_flash(platform) -> None:
    """Every [flash] number within its range, caches with power-of-two lines that the fetch and fill
    widths divide (the ART's lines are 4 x 64 bits, RM0432 §3.3.3): checked when the platform loads."""
    values = {key: _checked(platform, key, platform.get(f"flash.{key}", None)) for key in FLASH_NUMBERS}
    line = values["cache_line_bytes"]
    for key in ("fetch_bytes", "fill_bytes"):
        if line is not None and values[key] is not None and values[key] > line:
            raise VbenchError(f"{platform.path}: flash.{key} = {values[key]} is larger than the "
                              f"{line}-byte cache line")


FLASH_MODELS = {Stm32L4Art.TYPE: Stm32L4Art}


def flash_model_for(platform, lib):
    """The platform's flash model, or None for flash without wait states (or no [flash] section)."""
    section = platform.section("flash")
    kind = section.get("type")
    if kind is None:
        if any(k not in ("wait_states", "prefetch", "icache", "dcache") for k in section):
            raise VbenchError(f"{platform.path}: [flash] needs a type (known: {', '.join(sorted(FLASH_MODELS))})")
        return None
    cls = FLASH_MODELS.get(kind)
    if cls is None:
        raise VbenchError(f"{platform.path}: flash.type {kind!r} is not a flash model "
                          f"(known: {', '.join(sorted(FLASH_MODELS))})")
    return cls(platform, lib)
