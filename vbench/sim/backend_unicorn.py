"""The Unicorn backend: CPU creation, memory mapping and native hook registration.

Everything a board needs from an instruction-set simulator goes through this narrow class, so that
another backend (Renode via pyrenode3, where installed) can stand beside it. Unicorn is pinned
(2.1.4): the native hooks are registered through its C API, and vbench relies on its semantics
(block hooks see every block including IT-skipped instructions; MMIO callbacks see the PC of the
block start, not of the accessing instruction).
"""

from __future__ import annotations

import ctypes
import gc
from typing import Callable

import unicorn
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

from vbench.errors import VbenchError
from vbench.sim import unicorn_lib

EXPECTED_UNICORN = unicorn_lib.VERSION

# uc_cb_mmio_read_t and uc_cb_mmio_write_t (unicorn.h)
_MMIO_READ = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_void_p)
_MMIO_WRITE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint, ctypes.c_uint64, ctypes.c_void_p)


class UnicornBackend:
    name = "unicorn"

    def __init__(self, core):
        """`core` is a core plug-in (vbench/sim/cores): it creates the CPU model."""
        if unicorn.__version__ != EXPECTED_UNICORN:
            raise VbenchError(f"vbench needs unicorn=={EXPECTED_UNICORN}, found {unicorn.__version__}")
        self.thumb = core.THUMB
        self.uc, self.reg_ids, self.pc_reg, self.sp_reg = core.create_cpu()
        self.page = self.uc.ctl_get_page_size()
        self._keep: list = []  # ctypes objects whose lifetime must cover the run
        self._hooks: list = []
        self.native_hook_kinds: list[int] = []  # UC_HOOK_* of each native hook, in order (tests read it)

    # ------------------------------------------------------------------ memory
    def map_host(self, base: int, size: int, host_addr: int, writable: bool = True) -> None:
        perms = unicorn.UC_PROT_ALL if writable else unicorn.UC_PROT_READ | unicorn.UC_PROT_EXEC
        self.uc.mem_map_ptr(base, size, perms, host_addr)

    def map_native_mmio(self, base: int, size: int, read_fn: int, write_fn: int, cookie: int) -> None:
        err = uclib.uc_mmio_map(self.uc._uch, ctypes.c_uint64(base), ctypes.c_size_t(size),
                                ctypes.c_void_p(read_fn), ctypes.c_void_p(cookie),
                                ctypes.c_void_p(write_fn), ctypes.c_void_p(cookie))
        if err:
            raise VbenchError(f"cannot map native MMIO at {base:#x}: {unicorn.UcError(err)}")

    def map_mmio(self, base: int, size: int, read: Callable, write: Callable) -> None:
        """Python callbacks read(uc, offset, size) -> value and write(uc, offset, size, value), registered
        through the C API: the binding's own wrappers cost a third of a polled UART's time. An exception
        stops the run and is raised by emu_start, as the binding does for its hooks."""
        uc = self.uc

        def failed(exc: BaseException) -> None:
            if uc._hook_exception is None:
                uc._hook_exception = exc
            uc.emu_stop()

        def on_read(_uch, offset, size, _user):
            try:
                return read(uc, offset, size)
            except BaseException as exc:  # noqa: BLE001 - raised again by emu_start
                failed(exc)
                return 0

        def on_write(_uch, offset, size, value, _user):
            try:
                write(uc, offset, size, value)
            except BaseException as exc:  # noqa: BLE001 - raised again by emu_start
                failed(exc)

        read_cb, write_cb = _MMIO_READ(on_read), _MMIO_WRITE(on_write)
        self._keep += [read_cb, write_cb]
        err = uclib.uc_mmio_map(uc._uch, ctypes.c_uint64(base), ctypes.c_size_t(size), read_cb, None, write_cb, None)
        if err:
            raise VbenchError(f"cannot map MMIO at {base:#x}: {unicorn.UcError(err)}")

    # ------------------------------------------------------------------ hooks
    def add_native_hook(self, kind: int, fn_addr: int, user: int, begin: int = 1, end: int = 0):
        """Register a C function as a Unicorn hook; returns its handle (for remove_hook)."""
        h = uc_hook_h()
        err = uclib.uc_hook_add(self.uc._uch, ctypes.byref(h), kind, ctypes.c_void_p(fn_addr),
                                ctypes.c_void_p(user), ctypes.c_uint64(begin), ctypes.c_uint64(end))
        if err:
            raise VbenchError(f"cannot add native hook: {unicorn.UcError(err)}")
        self._hooks.append(h)
        self.native_hook_kinds.append(kind)
        return h

    def remove_hook(self, h) -> None:
        """Remove a hook (between runs: Unicorn deletes it when emulation stops)."""
        uclib.uc_hook_del(self.uc._uch, h)

    def native_api(self) -> tuple[int, int, int]:
        """(uc_engine*, uc_reg_read, uc_emu_stop) for the native core."""
        reg_read = ctypes.cast(uclib.uc_reg_read, ctypes.c_void_p).value
        emu_stop = ctypes.cast(uclib.uc_emu_stop, ctypes.c_void_p).value
        return self.uc._uch.value, reg_read, emu_stop

    # ------------------------------------------------------------------ registers
    def reg(self, n: int) -> int:
        """Architectural register n (r0-r15 / x0-x31)."""
        return self.uc.reg_read(self.reg_ids[n])

    def set_reg(self, n: int, value: int) -> None:
        self.uc.reg_write(self.reg_ids[n], value & 0xFFFFFFFF)

    @property
    def pc(self) -> int:
        return self.uc.reg_read(self.pc_reg)

    def start(self, pc: int) -> None:
        """Run from pc until a hook stops the emulator. Python's cyclic garbage collector is off
        meanwhile: the objects the decode callbacks create are not cyclic, and a collection pass
        inside a callback scans every object of the process (several per cent of a TFLM run)."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.uc.emu_start(pc | 1 if self.thumb else pc, 0xFFFFFFFF)
        finally:
            if was_enabled:
                gc.enable()

    def forget_translations(self, begin: int, end: int) -> None:
        """Drop the emulator's translated code for [begin, end): it is translated again when run."""
        self.uc.ctl_remove_cache(begin, end)
