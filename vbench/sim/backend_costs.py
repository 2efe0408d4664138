"""What the emulator itself charges for the operations that bound vbench's speed, measured on this
machine with the installed Unicorn (`vbench bench` reports it as `unicorn_costs`).

Three loops of the same shape run under bare Unicorn (no hook at all): four loads from RAM, four
stores to RAM, four loads from a flash page served by vbench's native MMIO read (`vb_flash_read`,
the path every flash data read takes in an accounted run), each with `subs` and `bne`. The extra
wall time per access over the load loop is the access's own cost. Multiplied by an image's counts
(`sram_writes`, `flash_reads`) it is the floor that the emulator puts under that image's run: the
store cost under raw Unicorn as well, the MMIO cost only under full accounting.

The loops are Thumb machine code written out here (the encodings of ARMv7-M ARM DDI0403E A7.7),
so the probe needs no cross toolchain.
"""

from __future__ import annotations

import ctypes
import struct
import time

import unicorn
from unicorn import arm_const as UA

from vbench.platform import Platform
from vbench.sim import native as N
from vbench.sim import unicorn_lib
from vbench.sim.backend_unicorn import UnicornBackend
from vbench.sim.cores import core_for

CODE, RAM, FLASH_DATA = 0x0800_0000, 0x2000_0000, 0x0810_0000
PAGE = 0x1_0000
ACCESSES_PER_ROUND = 4

LDR_R3_R1 = 0x680B   # LDR r3, [r1]       (A7.7.42 T1)
STR_R2_R1 = 0x600A   # STR r2, [r1]       (A7.7.158 T1)
SUBS_R0_1 = 0x3801   # SUBS r0, r0, #1    (A7.7.175 T2)
BNE_LOOP = 0xD1F9    # BNE to the first access: PC + 4 - 14 (A7.7.12 T1, imm8 = -7)
B_SELF = 0xE7FE      # B .


def _loop(access: int) -> bytes:
    return struct.pack(f"<{ACCESSES_PER_ROUND + 3}H", *([access] * ACCESSES_PER_ROUND), SUBS_R0_1, BNE_LOOP, B_SELF)


def _time_loop(code: bytes, base: int, rounds: int, lib, core, platform) -> float:
    """Best of three wall times of `rounds` rounds with r1 = base."""
    backend = UnicornBackend(core_for(platform))
    uc = backend.uc
    keep = []
    for addr in (CODE, RAM):
        buf = (ctypes.c_uint8 * PAGE)()
        keep.append(buf)
        backend.map_host(addr, PAGE, ctypes.addressof(buf))
    flash = (ctypes.c_uint8 * PAGE)()
    cookie = lib.vb_flash_cookie(core, FLASH_DATA, PAGE, ctypes.addressof(flash))
    backend.map_native_mmio(FLASH_DATA, PAGE, N.symbol_address("vb_flash_read"), N.symbol_address("vb_flash_write"),
                            cookie)
    uc.mem_write(CODE, code)
    best = float("inf")
    try:
        for _ in range(3):
            uc.reg_write(UA.UC_ARM_REG_R0, rounds)
            uc.reg_write(UA.UC_ARM_REG_R1, base)
            t0 = time.perf_counter()
            uc.emu_start(CODE | 1, CODE + len(code) - 2)
            best = min(best, time.perf_counter() - t0)
            if uc.reg_read(UA.UC_ARM_REG_R0) != 0:
                raise RuntimeError("cost probe loop did not run to its end")
    finally:
        lib.vb_free_cookie(cookie)
    return best


def unicorn_costs(platform: Platform, rounds: int = 500_000) -> dict[str, float | str]:
    """ns per RAM store, per flash data read through native MMIO, and the RAM load loop's speed,
    on the CPU model of `platform` (an ARM board)."""
    lib = N.library()
    core = lib.vb_create()
    try:
        loads = _time_loop(_loop(LDR_R3_R1), RAM, rounds, lib, core, platform)
        stores = _time_loop(_loop(STR_R2_R1), RAM, rounds, lib, core, platform)
        mmio = _time_loop(_loop(LDR_R3_R1), FLASH_DATA, rounds, lib, core, platform)
    finally:
        lib.vb_destroy(core)
    n = rounds * ACCESSES_PER_ROUND
    return {
        "unicorn": unicorn.__version__,
        "library": unicorn_lib.loaded_library(),
        "fast_stores_build": unicorn_lib.fast_stores_loaded(),
        "ram_load_loop_mips": round(rounds * (ACCESSES_PER_ROUND + 2) / loads / 1e6, 1),
        "ram_store_ns": round(max(stores - loads, 0.0) / n * 1e9, 1),
        "flash_mmio_read_ns": round(max(mmio - loads, 0.0) / n * 1e9, 1),
    }
