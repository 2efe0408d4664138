"""The Unicorn backend: CPU creation, memory mapping and native hook registration.

Everything a board needs from an instruction-set simulator goes through this narrow class, so that
another backend (Renode via pyrenode3, where installed) can stand beside it. Unicorn is pinned
(2.1.4): the native hooks are registered through its C API, and vbench relies on its semantics
(block hooks see every block including IT-skipped instructions; MMIO callbacks see the PC of the
block start, not of the accessing instruction).
"""

from __future__ import annotations

import ctypes
from typing import Callable

import unicorn
from unicorn import arm_const as UA
from unicorn import riscv_const as UR
from unicorn.unicorn_py3.unicorn import uc_hook_h, uclib

from vbench.errors import VbenchError

EXPECTED_UNICORN = "2.1.4"

ARM_REGS = [getattr(UA, f"UC_ARM_REG_R{i}") for i in range(13)] + [UA.UC_ARM_REG_SP, UA.UC_ARM_REG_LR, UA.UC_ARM_REG_PC]
RV_REGS = [getattr(UR, f"UC_RISCV_REG_X{i}") for i in range(32)]


class UnicornBackend:
    name = "unicorn"

    def __init__(self, isa: str):
        if unicorn.__version__ != EXPECTED_UNICORN:
            raise VbenchError(f"vbench needs unicorn=={EXPECTED_UNICORN}, found {unicorn.__version__}")
        self.isa = isa
        if isa == "armv7e-m":
            self.uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB)
            # Must come first: MCLASS mode alone would select a Cortex-M33.
            self.uc.ctl_set_cpu_model(UA.UC_CPU_ARM_CORTEX_M4)
            self.reg_ids = ARM_REGS + [0] * 16
            self.pc_reg, self.sp_reg = UA.UC_ARM_REG_PC, UA.UC_ARM_REG_SP
        elif isa == "rv32imaf":
            self.uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
            self.reg_ids = RV_REGS
            self.pc_reg, self.sp_reg = UR.UC_RISCV_REG_PC, UR.UC_RISCV_REG_SP
        else:  # pragma: no cover - validated by the platform loader
            raise VbenchError(f"no backend for ISA {isa}")
        self.page = self.uc.ctl_get_page_size()
        self._keep: list = []  # ctypes objects whose lifetime must cover the run
        self._hooks: list = []

    # ------------------------------------------------------------------ memory
    def map_host(self, base: int, size: int, host_addr: int) -> None:
        self.uc.mem_map_ptr(base, size, unicorn.UC_PROT_ALL, host_addr)

    def map_native_mmio(self, base: int, size: int, read_fn: int, write_fn: int, cookie: int) -> None:
        err = uclib.uc_mmio_map(self.uc._uch, ctypes.c_uint64(base), ctypes.c_size_t(size),
                                ctypes.c_void_p(read_fn), ctypes.c_void_p(cookie),
                                ctypes.c_void_p(write_fn), ctypes.c_void_p(cookie))
        if err:
            raise VbenchError(f"cannot map native MMIO at {base:#x}: {unicorn.UcError(err)}")

    def map_mmio(self, base: int, size: int, read: Callable, write: Callable) -> None:
        self.uc.mmio_map(base, size, read, None, write, None)

    # ------------------------------------------------------------------ hooks
    def add_native_hook(self, kind: int, fn_addr: int, user: int, begin: int = 1, end: int = 0) -> None:
        h = uc_hook_h()
        err = uclib.uc_hook_add(self.uc._uch, ctypes.byref(h), kind, ctypes.c_void_p(fn_addr),
                                ctypes.c_void_p(user), ctypes.c_uint64(begin), ctypes.c_uint64(end))
        if err:
            raise VbenchError(f"cannot add native hook: {unicorn.UcError(err)}")
        self._hooks.append(h)

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
        start = pc | 1 if self.isa == "armv7e-m" else pc
        self.uc.emu_start(start, 0xFFFFFFFF)
