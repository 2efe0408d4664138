"""ctypes view of the native accounting core (vbench/_native/vbcore.h, flash_art.h).

The core is built as an extension module at install time (setup.py). Layouts here mirror the
headers field for field; at load, `vb_abi()` reports the header's ABI version and struct sizes
and a library built from another version of the headers is refused (no silent field shifts).
"""

from __future__ import annotations

import ctypes
import importlib.util
from ctypes import POINTER, c_int, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p
from pathlib import Path

from vbench.errors import VbenchError

# Flags, stop reasons and stall causes: keep in step with vbcore.h.
F_LOAD, F_STORE, F_LDR_PIPE, F_BRANCH_COND, F_BRANCH = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 4
F_DATA_PROC, F_DIVIDE, F_LITERAL, F_MULTI, F_WIDE = 1 << 5, 1 << 6, 1 << 7, 1 << 8, 1 << 9
F_AGU_DEP, F_HOOKED, F_WFI = 1 << 10, 1 << 11, 1 << 12
F_VALID = 1 << 15

ABI_VERSION = 7  # vbcore.h VB_ABI_VERSION
(STOP_NONE, STOP_BUDGET, STOP_FLASH_WRITE, STOP_NO_DECODE, STOP_EVENT, STOP_SELF_LOOP, STOP_EXTERNAL,
 STOP_RETRANSLATE, STOP_WFI, STOP_SIGNAL) = range(10)
STALL_CAUSES = ("flash", "branch", "load_use", "divide", "exception")

MAX_ENERGY_CLASSES = 32

# UsageFault traps (vbcore.h): CCR enables, the UFSR bit a trap reports, when a site faults.
CCR_UNALIGN_TRP, CCR_DIV_0_TRP = 1 << 3, 1 << 4
TRAP_UNALIGNED, TRAP_DIVBYZERO = 24, 25
SITE_OFF, SITE_ALWAYS, SITE_IF_UNALIGN_TRP = 0, 1, 2
NO_INDEX = 0xFF


class VbInsn(ctypes.Structure):
    _fields_ = [
        ("flags", c_uint16),
        ("length", c_uint8),
        ("cycles", c_uint8),
        ("energy_class", c_uint8),
        ("n_loads", c_uint8),
        ("n_stores", c_uint8),
        ("_pad", c_uint8),
        ("regs_read", c_uint32),
        ("regs_addr", c_uint32),
        ("regs_written", c_uint32),
        ("aux", c_uint32),
        ("func_id", c_uint32),
    ]


class VbParams(ctypes.Structure):
    _fields_ = [
        ("branch_taken_extra", c_uint32),
        ("load_use_stall", c_uint32),
        ("agu_stall", c_uint32),
        ("ldr_pipeline_saving", c_uint32),
        ("div_model", c_uint32),
        ("div_min", c_uint32),
        ("div_max", c_uint32),
        ("div_bits_per_cycle", c_uint32),
        ("div_by_zero", c_uint32),
        ("charge_fc", c_uint64 * MAX_ENERGY_CLASSES),
        ("charge_stall_fc", c_uint64),
        ("charge_flash_read_fc", c_uint64),
        ("charge_sram_read_fc", c_uint64),
        ("charge_sram_write_fc", c_uint64),
        ("instruction_budget", c_uint64),
        ("marker_addr", c_uint32),
        ("marker_arg_reg", c_int),
        ("link_reg", c_int),
        ("sp_reg", c_int),
        ("reg_ids", c_int * 32),
    ]


class VbCounters(ctypes.Structure):
    _fields_ = [
        ("instructions", c_uint64),
        ("cycles", c_uint64),
        ("charge_fc", c_uint64),
        ("stall", c_uint64 * len(STALL_CAUSES)),
        ("flash_reads", c_uint64),
        ("sram_reads", c_uint64),
        ("sram_writes", c_uint64),
        ("class_cycles", c_uint64 * MAX_ENERGY_CLASSES),
    ]


class VbCall(ctypes.Structure):
    _fields_ = [(f"{when}_{what}", c_uint64) for when in ("entry", "exit")
                for what in ("cycles", "instructions", "charge_fc")]


class VbArtParams(ctypes.Structure):
    _fields_ = [(name, c_uint32) for name in (
        "fetch_bytes", "line_bytes", "icache_lines", "dcache_lines", "icache_ways", "dcache_ways",
        "fill_bytes", "read_overhead", "latency", "prefetch", "icache", "dcache")]


class VbTrapSite(ctypes.Structure):
    _fields_ = [("when", c_uint8), ("base", c_uint8), ("index", c_uint8), ("shift", c_uint8),
                ("align_mask", c_uint8), ("_pad", c_uint8 * 3), ("offset", ctypes.c_int32)]


# In vb_abi()'s order (VB_ABI_INSN, VB_ABI_PARAMS, ...).
ABI_STRUCTS = (VbInsn, VbParams, VbCounters, VbCall, VbArtParams, VbTrapSite)

TRANSLATE_FN = ctypes.CFUNCTYPE(c_int, c_uint32, c_uint32)
TRAP_FN = ctypes.CFUNCTYPE(c_int, c_int, c_uint32)  # (UFSR bit, address of the instruction) -> taken

_lib: ctypes.CDLL | None = None


def library() -> ctypes.CDLL:
    """Load the extension once and declare the signatures."""
    global _lib
    if _lib is not None:
        return _lib
    spec = importlib.util.find_spec("vbench._native._vbcore")
    if spec is None or not spec.origin or not Path(spec.origin).exists():
        raise VbenchError("the native core vbench._native._vbcore is not built: reinstall with `pip install -e .`")
    lib = ctypes.CDLL(spec.origin)
    check_abi(lib, spec.origin)
    sig = {
        "vb_create": (c_void_p, []),
        "vb_destroy": (None, [c_void_p]),
        "vb_set_unicorn": (None, [c_void_p, c_void_p, c_void_p, c_void_p]),
        "vb_set_translate": (None, [c_void_p, c_void_p]),
        "vb_decode_ns": (c_uint64, [c_void_p]),
        "vb_set_reference_paths": (None, [c_void_p, c_int]),
        "vb_art_set_reference": (None, [c_void_p, c_uint32]),
        "vb_art_fetch": (c_uint32, [c_void_p, c_uint32, c_uint32]),
        "vb_art_data_read": (c_uint32, [c_void_p, c_uint32]),
        "vb_set_params": (c_int, [c_void_p, POINTER(VbParams)]),
        "vb_get_params": (None, [c_void_p, POINTER(VbParams)]),
        "vb_attach_art": (None, [c_void_p, c_void_p]),
        "vb_art_create": (c_void_p, []),
        "vb_art_destroy": (None, [c_void_p]),
        "vb_art_configure": (c_int, [c_void_p, POINTER(VbArtParams)]),
        "vb_art_get_params": (None, [c_void_p, POINTER(VbArtParams)]),
        "vb_art_set_acr": (None, [c_void_p] + [c_uint32] * 6),
        "vb_add_code_region": (c_int, [c_void_p, c_uint32, c_uint32]),
        "vb_insn_slot": (POINTER(VbInsn), [c_void_p, c_uint32]),
        "vb_code_rewritten": (None, [c_void_p, POINTER(c_uint32), POINTER(c_uint32)]),
        "vb_watch_calls": (None, [c_void_p, c_uint32]),
        "vb_trap_signals": (None, [c_int]),
        "vb_take_signal": (c_int, []),
        "vb_watched_calls": (c_uint32, [c_void_p, c_void_p, c_uint32]),
        "vb_add_flash_region": (c_int, [c_void_p, c_uint32, c_uint32, c_void_p]),
        "vb_add_ram_region": (c_int, [c_void_p, c_uint32, c_uint32, c_void_p]),
        "vb_flash_cookie": (c_void_p, [c_void_p, c_uint32, c_uint32, c_void_p]),
        "vb_free_cookie": (None, [c_void_p]),
        "vb_set_functions": (c_int, [c_void_p, c_uint32]),
        "vb_set_layers": (c_int, [c_void_p, c_uint32]),
        "vb_now": (None, [c_void_p, c_uint32, POINTER(c_uint64), POINTER(c_uint64)]),
        "vb_cut": (None, [c_void_p, c_uint32]),
        "vb_pending_addr": (c_uint32, [c_void_p]),
        "vb_pending_size": (c_uint32, [c_void_p]),
        "vb_add_stall": (None, [c_void_p, c_int, c_uint64]),
        "vb_get_counters": (None, [c_void_p, POINTER(VbCounters)]),
        "vb_reset_counters": (None, [c_void_p]),
        "vb_stop_reason": (c_int, [c_void_p]),
        "vb_fault_addr": (c_uint32, [c_void_p]),
        "vb_clear_stop": (None, [c_void_p]),
        "vb_set_next_event": (None, [c_void_p, c_uint64]),
        "vb_blocks_cached": (c_uint32, [c_void_p]),
        "vb_add_idle": (None, [c_void_p, c_uint64]),
        "vb_request_stop": (None, [c_void_p]),
        "vb_set_budget": (None, [c_void_p, c_uint64]),
        "vb_layer_calls": (c_uint32, [c_void_p]),
        "vb_get_bucket": (c_int, [c_void_p, c_int, c_uint32, POINTER(c_uint64)]),
        "vb_set_trap_handler": (None, [c_void_p, c_void_p]),
        "vb_set_traps": (None, [c_void_p, c_uint32]),
        "vb_trap_site_at": (POINTER(VbTrapSite), [c_void_p, c_uint32]),
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def abi_expectation() -> list[int]:
    """What vb_abi() must report: the mirrored struct sizes, then the stall-cause and stop-reason counts."""
    return [ctypes.sizeof(s) for s in ABI_STRUCTS] + [len(STALL_CAUSES), STOP_SIGNAL + 1]


def check_abi(lib: ctypes.CDLL, origin: str, want: list[int] | None = None, version: int = ABI_VERSION) -> None:
    """Refuse a native library built from other headers than the mirrors above."""
    fn = getattr(lib, "vb_abi", None)
    if fn is None:
        raise VbenchError(f"the native core {origin} predates the ABI check: reinstall vbench (`pip install .`)")
    want = want or abi_expectation()
    fn.restype, fn.argtypes = c_uint32, [POINTER(c_uint32), c_uint32]
    sizes = (c_uint32 * len(want))()
    got = fn(sizes, len(want))
    if got != version or list(sizes) != want:
        raise VbenchError(
            f"the native core {origin} was built from other headers (ABI {got}, sizes and counts {list(sizes)}) than "
            f"this vbench expects (ABI {version}, {want}): reinstall vbench (`pip install .`)")


def symbol_address(name: str) -> int:
    """Address of a C function in the core, for registering it as a Unicorn hook."""
    return ctypes.cast(getattr(library(), name), c_void_p).value
