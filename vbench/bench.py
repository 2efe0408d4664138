"""`vbench bench`: simulation speed of the accounted board against raw Unicorn on the same image.

The raw run maps the platform's memories (plus the System Control Space page the start-up code
writes CPACR to) and nothing else: no hooks but the exit, so it is the speed ceiling."""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass

import unicorn

from vbench.errors import VbenchError
from vbench.platform import Platform
from vbench.sim.backend_unicorn import UnicornBackend
from vbench.sim.cores import core_for
from vbench.sim.board import Board
from vbench.sim.elf import load_image

SCS_PAGE = 0xE000E000


@dataclass
class BenchResult:
    platform: str
    instructions: int
    cycles: int
    time_s: float
    energy_uj: float
    wall_raw_s: float
    wall_accounted_s: float
    exit_code_raw: int | None
    exit_code_accounted: int | None
    wall_counting_s: float  # instruction accounting only (CPI = 1, no flash model)

    def to_json(self) -> dict:
        mips_raw = self.instructions / self.wall_raw_s / 1e6
        mips_acc = self.instructions / self.wall_accounted_s / 1e6
        return {
            "platform": self.platform, "instructions": self.instructions, "cycles": self.cycles,
            "time_s": self.time_s, "energy_uj": self.energy_uj,
            "mips_raw": round(mips_raw, 1), "mips_accounted": round(mips_acc, 1),
            "ratio": round(mips_acc / mips_raw, 3),
            "wall_raw_s": round(self.wall_raw_s, 3), "wall_accounted_s": round(self.wall_accounted_s, 3),
            "mips_counting_only": round(self.instructions / self.wall_counting_s / 1e6, 1),
            "ratio_counting_only": round(self.wall_raw_s / self.wall_counting_s, 3),
        }


def run_raw(elf_path, platform: Platform) -> tuple[float, int | None]:
    """Wall time of emu_start and the exit code, with no accounting at all."""
    image = load_image(elf_path)
    core = core_for(platform)
    be = UnicornBackend(core)
    uc = be.uc
    buffers = []
    for m in platform.memories:
        buf = (ctypes.c_uint8 * m.size)()  # one host buffer behind a memory and its aliases
        buffers.append(buf)
        for base in (m.base, *m.aliases):
            be.map_host(base, m.size, ctypes.addressof(buf))
    for seg in image.segments:
        uc.mem_write(seg.paddr, seg.data)
    exit_code: list[int | None] = [None]
    if core.ELF_MACHINE == "arm":  # semihosting exit; RV32 boards end through their exit register
        if not any(m.base <= SCS_PAGE < m.base + m.size for m in platform.memories):
            uc.mem_map(SCS_PAGE, 0x1000)
        uc.reg_write(be.sp_reg, int.from_bytes(uc.mem_read(0, 4), "little"))
        entry = int.from_bytes(uc.mem_read(4, 4), "little") & ~1

        def on_intr(uc, intno, _):
            pc = be.pc
            op, arg = be.reg(0), be.reg(1)
            if op == 0x20:
                exit_code[0] = int.from_bytes(uc.mem_read(arg + 4, 4), "little")
            elif op == 0x18:
                exit_code[0] = 0 if arg == 0x20026 else 1
            else:
                be.set_reg(15, pc + 2)
                return
            uc.emu_stop()

        uc.hook_add(unicorn.UC_HOOK_INTR, on_intr)
    else:
        entry = image.entry
        spec = next((p for p in platform.peripherals if p.type == "vbench.exit"), None)
        if spec is None:
            raise VbenchError(f"{platform.path}: no vbench.exit device for the raw run")

        def on_exit(uc, offset, size, value, _):
            exit_code[0] = value
            uc.emu_stop()

        uc.mmio_map(spec.base, spec.size, lambda *a: 0, None, on_exit, None)
    t0 = time.perf_counter()
    be.start(entry)
    return time.perf_counter() - t0, exit_code[0]


def _accounted(elf_path, platform: Platform, timing: bool):
    board = Board(platform, elf_path, timing=timing)
    try:
        return board.run()
    finally:
        board.close()


def bench(elf_path, platform: Platform) -> BenchResult:
    """Raw Unicorn, then vbench with timing and energy (the figure that counts), then vbench
    counting instructions only (what the block accounting alone costs)."""
    wall_raw, code_raw = run_raw(elf_path, platform)
    r = _accounted(elf_path, platform, timing=True)
    counting = _accounted(elf_path, platform, timing=False)
    if r.exit != "exit":
        raise VbenchError(f"bench firmware did not exit on {platform.name}: {r.exit} {r.message}")
    if code_raw != r.exit_code:
        raise VbenchError(f"raw and accounted runs disagree on the checksum: {code_raw} vs {r.exit_code}")
    if counting.instructions != r.instructions:
        raise VbenchError("the timing model changed the instruction count: a bug in the accounting")
    return BenchResult(platform.name, r.instructions, r.cycles, r.time_s, r.energy_uj, wall_raw, r.wall_s,
                       code_raw, r.exit_code, counting.wall_s)
