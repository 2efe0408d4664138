"""The board's memory map: host buffers behind every memory and its aliases, the firmware image
loaded into them, flash pages without code as native MMIO (each data read reaches the flash
model) and flash pages with code read-only, and the peripherals' MMIO pages."""

from __future__ import annotations

import bisect
import ctypes
import itertools
from typing import Callable

from vbench.errors import VbenchError
from vbench.sim import native as N
from vbench.sim.peripherals.base import REGISTRY, UnmodelledAccess


class MemoryMap:
    def __init__(self, board):
        self.board = board
        self.memories = board.platform.memories
        self._hosts: dict[str, ctypes.Array] = {}
        self._flash_cookies: list = []
        self._io_log: list | None = None

    def load_and_map(self) -> None:
        """Host buffers behind every memory; flash pages without code become MMIO so that each
        data read reaches the flash model, and flash pages with code are mapped read-only."""
        page = self.board.backend.page
        code_ranges = [(c.vaddr, c.vaddr + len(c.data)) for c in self.board.image.code]
        for m in self.memories:
            buf = (ctypes.c_uint8 * m.size)()
            if m.kind == "flash":
                ctypes.memset(buf, 0xFF, m.size)  # erased flash
            self._hosts[m.name] = buf
        for seg in self.board.image.segments:
            self.write_image(seg.paddr, seg.data)
        for m in self.memories:
            host = ctypes.addressof(self._hosts[m.name])
            for base in (m.base, *m.aliases):
                if m.kind != "flash":
                    self.board.backend.map_host(base, m.size, host)
                    if self.board.lib.vb_add_ram_region(self.board.core, base, m.size, host) < 0:
                        raise VbenchError(f"{self.board.platform.path}: too many memory regions for the native core")
                    continue
                if self.board.flash_model is None:
                    self.board.backend.map_host(base, m.size, host, writable=False)
                    continue
                self.board.lib.vb_add_flash_region(self.board.core, base, m.size, host)
                code_page = [False] * (m.size // page)
                for lo, hi in code_ranges + [(m.base, m.base + page)]:  # the vector table's page too
                    for addr in range(max(lo, m.base) // page * page, min(hi, m.base + m.size), page):
                        code_page[(addr - m.base) // page] = True
                for is_code, run in itertools.groupby(enumerate(code_page), key=lambda x: x[1]):
                    run = list(run)
                    start, n = run[0][0] * page, len(run) * page
                    if is_code:
                        self.board.backend.map_host(base + start, n, host + start, writable=False)
                    else:
                        cookie = self.board.lib.vb_flash_cookie(self.board.core, base + start, n, host + start)
                        self._flash_cookies.append(cookie)
                        self.board.backend.map_native_mmio(base + start, n, N.symbol_address("vb_flash_read"),
                                                     N.symbol_address("vb_flash_write"), cookie)

    def write_image(self, addr: int, data: bytes) -> None:
        m = self.memory_at(addr, len(data))
        if m is None:
            raise VbenchError(f"{self.board.image.path}: segment at {addr:#x} ({len(data)} bytes) lies outside the memories of {self.board.platform.name}")
        ctypes.memmove(ctypes.addressof(self._hosts[m.name]) + addr - m.base, data, len(data))

    def memory_at(self, addr: int, size: int = 1):
        """The memory holding [addr, addr + size) at its own base or an alias, or None."""
        for m in self.memories:
            for base in (m.base, *m.aliases):
                if base <= addr and addr + size <= base + m.size:
                    return m if base == m.base else _Alias(m, base)
        return None

    def map_peripherals(self) -> None:
        for spec in self.board.platform.peripherals:
            cls = REGISTRY.get(spec.type)
            if cls is None:
                raise VbenchError(f"{self.board.platform.path}: peripherals.{spec.name}: unknown type '{spec.type}'")
            self.board.peripherals[spec.name] = cls(self.board, spec.name, spec.base, spec.size, spec.params)
        for base, size in peripheral_runs(self.board.platform, self.board.backend.page):
            self.board.backend.map_mmio(base, size, self._mmio(base, False), self._mmio(base, True))

    def record_io(self) -> list[tuple[int, int, bool, int]]:
        """From now on every peripheral access is appended to the returned list as (address, size,
        is_write, value): `vbench bench` replays the replies to a raw emulator running the same
        image, and checks that it made the same accesses."""
        self._io_log = []
        return self._io_log

    def _mmio(self, region_base: int, is_write: bool) -> Callable:
        # The devices of the run, found by a bisection on their bases: a UART that the firmware polls
        # for every input byte makes this the hottest Python path of a run (vww: 680k accesses).
        devices = sorted(self.board.peripherals.values(), key=lambda d: d.base)
        bases = [d.base for d in devices]
        board = self.board

        def access(uc, offset, size, *value_user):
            addr = region_base + offset
            i = bisect.bisect_right(bases, addr) - 1
            dev = devices[i] if i >= 0 and addr < devices[i].base + devices[i].size else None
            board.note_access(addr, is_write)
            try:
                if dev is None:
                    raise UnmodelledAccess(f"{'write of' if is_write else 'read of'} unmodelled address {addr:#010x}")
                if is_write:
                    dev.write(addr - dev.base, size, value_user[0])
                    if self._io_log is not None:
                        self._io_log.append((addr, size, True, value_user[0]))
                    return None
                value = dev.read(addr - dev.base, size) & ((1 << (8 * size)) - 1)
                if self._io_log is not None:
                    self._io_log.append((addr, size, False, value))
                return value
            except VbenchError as exc:
                pc = board.codemap.address_of(board.codemap.locate_access(addr, is_write))
                board.fault(f"{exc} at PC {board.image.describe(pc)}")
                return 0
        return access

    def read_word(self, addr: int) -> int:
        m = self.memory_at(addr, 4)
        if m is not None:
            off = addr - m.base
            return int.from_bytes(bytes(self._hosts[m.name][off:off + 4]), "little")
        return int.from_bytes(self.board.uc.mem_read(addr, 4), "little")

    def host_address(self, addr: int, length: int) -> int | None:
        """Host address of the bytes behind [addr, addr + length) (flash included), or None: for
        writing memory before or between runs, where flash pages served through MMIO would refuse."""
        m = self.memory_at(addr, length)
        return None if m is None else ctypes.addressof(self._hosts[m.name]) + addr - m.base

    def close(self) -> None:
        for cookie in self._flash_cookies:
            self.board.lib.vb_free_cookie(cookie)
        self._flash_cookies = []


def peripheral_runs(platform, page: int) -> list[tuple[int, int]]:
    """(base, size) of the runs of pages the platform's peripherals occupy: what is mapped as MMIO."""
    pages = sorted({a for spec in platform.peripherals for a in range(spec.base // page * page, spec.base + spec.size, page)})
    runs = itertools.groupby(pages, key=lambda a, c=itertools.count(): a - next(c) * page)
    return [(run[0], len(run) * page) for run in (list(g) for _k, g in runs)]


class _Alias:
    """A memory seen at one of its alias bases."""

    def __init__(self, mem, base: int):
        self.mem, self.base = mem, base
        self.name, self.kind, self.size = mem.name, mem.kind, mem.size
