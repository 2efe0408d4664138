"""ctypes view of the native accounting core (vbench/_native/vbcore.{h,c}).

The core is built as an extension module at install time (setup.py). Layouts here mirror the
header field for field; `vb_params` is filled once per run from the platform file.
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
F_AGU_DEP = 1 << 10
F_VALID = 1 << 15

STOP_NONE, STOP_BUDGET, STOP_FLASH_WRITE, STOP_NO_DECODE, STOP_EVENT, STOP_SELF_LOOP, STOP_EXTERNAL = range(7)
STALL_CAUSES = ("flash", "branch", "load_use", "divide", "exception")

MAX_ENERGY_CLASSES = 32


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
        ("flash_latency", c_uint32),
        ("flash_prefetch", c_uint32),
        ("flash_icache", c_uint32),
        ("flash_dcache", c_uint32),
        ("flash_fetch_bytes", c_uint32),
        ("icache_lines", c_uint32),
        ("dcache_lines", c_uint32),
        ("cache_line_bytes", c_uint32),
        ("charge_fc", c_uint64 * MAX_ENERGY_CLASSES),
        ("charge_stall_fc", c_uint64),
        ("charge_flash_read_fc", c_uint64),
        ("charge_sram_read_fc", c_uint64),
        ("charge_sram_write_fc", c_uint64),
        ("instruction_budget", c_uint64),
        ("marker_addr", c_uint32),
        ("marker_arg_reg", c_int),
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


TRANSLATE_FN = ctypes.CFUNCTYPE(None, c_uint32, c_uint32)

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
    sig = {
        "vb_create": (c_void_p, []),
        "vb_destroy": (None, [c_void_p]),
        "vb_set_unicorn": (None, [c_void_p, c_void_p, c_void_p, c_void_p]),
        "vb_set_translate": (None, [c_void_p, c_void_p]),
        "vb_set_params": (c_int, [c_void_p, POINTER(VbParams)]),
        "vb_get_params": (None, [c_void_p, POINTER(VbParams)]),
        "vb_set_flash_config": (None, [c_void_p] + [c_uint32] * 6),
        "vb_add_code_region": (c_int, [c_void_p, c_uint32, c_uint32]),
        "vb_code_table": (POINTER(VbInsn), [c_void_p, c_int]),
        "vb_add_flash_region": (c_int, [c_void_p, c_uint32, c_uint32, c_void_p]),
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
    }
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib


def symbol_address(name: str) -> int:
    """Address of a C function in the core, for registering it as a Unicorn hook."""
    return ctypes.cast(getattr(library(), name), c_void_p).value
