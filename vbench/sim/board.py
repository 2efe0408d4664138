"""A virtual board: a platform file, a firmware image, the backend CPU, peripherals and the native
accounting core, and the run loop that ends in exit, halt, budget or fault."""

from __future__ import annotations

import ctypes
import heapq
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import unicorn

from vbench.errors import FirmwareFault, VbenchError
from vbench.platform import Platform, load_platform
from vbench.power import PowerModel, load_power_model
from vbench.sim import native as N
from vbench.sim.backend_unicorn import UnicornBackend
from vbench.sim.elf import Image, load_image
from vbench.sim.isa_arm import ArmDecoder, Decoded
from vbench.sim.isa_rv import RvDecoder
from vbench.sim.peripherals import load_all as load_peripheral_models
from vbench.sim.peripherals.base import REGISTRY, Peripheral, UnmodelledAccess

DEFAULT_BUDGET = 20_000_000_000
MAX_LAYERS = 1024  # layer markers beyond this are attributed to "outside any layer"
SEMIHOSTING_BKPT = 0xAB


@dataclass
class RunResult:
    platform: str
    exit: str  # "exit", "halt", "budget", "fault"
    exit_code: int | None
    instructions: int
    cycles: int
    time_s: float
    energy_uj: float
    uart: str
    message: str = ""
    stalls: dict[str, int] = field(default_factory=dict)
    clock_hz: float = 0.0
    supply_v: float = 0.0
    gpio: list[tuple[int, float, str, int, int]] = field(default_factory=list)
    wall_s: float = 0.0
    features: dict[str, float] = field(default_factory=dict)  # what the power model is linear in

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform, "exit": self.exit, "exit_code": self.exit_code,
            "instructions": self.instructions, "cycles": self.cycles, "time_s": self.time_s,
            "energy_uj": self.energy_uj, "uart": self.uart, "message": self.message, "stalls": self.stalls,
            "clock_hz": self.clock_hz, "supply_v": self.supply_v, "wall_s": round(self.wall_s, 3),
        }


@dataclass(frozen=True)
class Counters:
    instructions: int
    cycles: int
    time_s: float
    energy_uj: float


class Board:
    def __init__(self, platform: Platform | str, firmware: str | Path | Image, *, max_instructions: int | None = None,
                 uart_input: bytes = b"", power: PowerModel | None = None, timing: bool = True):
        self.platform = load_platform(platform) if isinstance(platform, str) else platform
        self.image = firmware if isinstance(firmware, Image) else load_image(firmware)
        isa = self.platform.isa
        want = "arm" if isa == "armv7e-m" else "riscv"
        if self.image.machine != want:
            raise VbenchError(f"{self.image.path}: {self.image.machine} firmware cannot run on {self.platform.name} ({isa})")
        self.power = power or load_power_model(self.platform)
        self.backend = UnicornBackend(isa)
        self.uc = self.backend.uc
        self.lib = N.library()
        self.core = self.lib.vb_create()
        self.timing_on = timing
        self.budget = int(max_instructions or self.platform.get("run.max_instructions", DEFAULT_BUDGET))
        self._uart_out: dict[str, bytearray] = {}
        self.gpio_log: list[tuple[int, float, str, int, int]] = []
        self._events: list = []
        self._event_ids = itertools.count()
        self._stop: tuple[str, int | None, str] | None = None
        self._pending_fault: str | None = None
        self._access_cursor: tuple = ((0, 0), -1)
        self._access: list | None = None
        self._pc: int | None = None  # where a run paused for input continues
        self._waiting_input = False
        self._wall = 0.0  # [address, is_write, located] of the MMIO access in progress
        pinned = self.platform.get("core.clock_hz", None)
        self.clock_pinned = pinned is not None
        self.clock_hz = float(pinned or self.platform.get("core.reset_clock_hz"))
        self.voltage_range = self.platform.get("core.reset_voltage_range", "nominal")
        self._segments: list[list] = []  # [start_cycles, hz, range, start_charge_fc]
        self._map_memory()
        self._decode()
        self._setup_native()
        load_peripheral_models()
        self.peripherals: dict[str, Peripheral] = {}
        self._map_peripherals()
        self.exceptions = self._make_exception_controller()
        self._install_python_hooks()
        self._reset_cpu()
        self._new_segment()
        for p in self.peripherals.values():
            if p.params.get("console") and uart_input and hasattr(p, "feed"):
                p.feed(uart_input)

    # ================================================================ set-up
    def _map_memory(self) -> None:
        page = self.backend.page
        self._hosts: dict[str, ctypes.Array] = {}
        self.memories = self.platform.memories
        code_ranges = [(c.vaddr, c.vaddr + len(c.data)) for c in self.image.code]
        # Load the image into host buffers first: flash pages without code become MMIO.
        for m in self.memories:
            buf = (ctypes.c_uint8 * m.size)()
            if m.kind == "flash":
                ctypes.memset(buf, 0xFF, m.size)  # erased flash
            self._hosts[m.name] = buf
        for seg in self.image.segments:
            self._write_image(seg.paddr, seg.data, seg.memsz)
        self._flash_cookies = []
        for m in self.memories:
            host = ctypes.addressof(self._hosts[m.name])
            for base in (m.base, *m.aliases):
                if m.kind != "flash" or not self.timing_on:
                    self.backend.map_host(base, m.size, host)
                    continue
                self.lib.vb_add_flash_region(self.core, base, m.size, host)
                # Pages holding code (or the vector table) stay RAM-mapped so they can execute.
                code_page = [False] * (m.size // page)
                for lo, hi in code_ranges + [(m.base, m.base + page)]:
                    for addr in range(max(lo, m.base) // page * page, min(hi, m.base + m.size), page):
                        code_page[(addr - m.base) // page] = True
                for is_code, run in itertools.groupby(enumerate(code_page), key=lambda x: x[1]):
                    run = list(run)
                    start, n = run[0][0] * page, len(run) * page
                    if is_code:
                        self.backend.map_host(base + start, n, host + start)
                    else:
                        cookie = self.lib.vb_flash_cookie(self.core, base + start, n, host + start)
                        self._flash_cookies.append(cookie)
                        self.backend.map_native_mmio(base + start, n, N.symbol_address("vb_flash_read"),
                                                     N.symbol_address("vb_flash_write"), cookie)

    def _write_image(self, addr: int, data: bytes, memsz: int) -> None:
        for m in self.memories:
            if m.base <= addr and addr + len(data) <= m.base + m.size:
                off = addr - m.base
                ctypes.memmove(ctypes.addressof(self._hosts[m.name]) + off, data, len(data))
                return
        raise VbenchError(f"{self.image.path}: segment at {addr:#x} ({len(data)} bytes) lies outside the memories of {self.platform.name}")

    def _timing_params(self) -> dict[str, int]:
        t = {}
        for key, node in self.platform.section("timing").items():
            val = node["value"] if isinstance(node, dict) else node
            if isinstance(val, (int, float)):
                t[key] = int(val)
        return t

    def _decode(self) -> None:
        t = self._timing_params()
        self.decoder = ArmDecoder(t) if self.platform.isa == "armv7e-m" else RvDecoder(t)
        self.insns: dict[int, Decoded] = {}
        for sec in self.image.code:
            for d in self.decoder.decode(sec.data, sec.vaddr):
                self.insns[d.address] = d

    def _setup_native(self) -> None:
        lib, core, t = self.lib, self.core, self._timing_params()
        uc_h, reg_read, emu_stop = self.backend.native_api()
        lib.vb_set_unicorn(core, uc_h, reg_read, emu_stop)
        self.lib.vb_set_functions(core, len(self.image.functions))
        self.lib.vb_set_layers(core, MAX_LAYERS)
        for sec in self.image.code:
            rid = lib.vb_add_code_region(core, sec.vaddr, len(sec.data) + 4)
            table = lib.vb_code_table(core, rid)
            for addr in range(sec.vaddr, sec.vaddr + len(sec.data), 2):
                d = self.insns.get(addr)
                if d is None:
                    continue
                hit = self.image.function_at(addr)
                d.insn.func_id = hit[0] if hit else len(self.image.functions)
                table[(addr - sec.vaddr) >> 1] = d.insn
        p = N.VbParams()
        p.branch_taken_extra = t.get("branch_cond_taken_extra", 0)
        p.load_use_stall = t.get("load_use_stall", 0)
        p.agu_stall = t.get("agu_stall", 0)
        p.ldr_pipeline_saving = t.get("ldr_pipeline_saving", 0)
        p.div_model = 0 if self.platform.isa == "armv7e-m" else 1
        p.div_min, p.div_max = t.get("divide_min", 1), t.get("divide_max", 1)
        p.div_bits_per_cycle, p.div_by_zero = t.get("divide_bits_per_cycle", 1), t.get("divide_by_zero", 1)
        flash = self.platform.section("flash")
        get = lambda k, d: int(flash[k]["value"] if isinstance(flash.get(k), dict) else flash.get(k, d))  # noqa: E731
        p.flash_fetch_bytes, p.cache_line_bytes = get("fetch_bytes", 8), get("cache_line_bytes", 32)
        p.icache_lines, p.dcache_lines = get("icache_lines", 1), get("dcache_lines", 1)
        self._charge_params(p)
        p.instruction_budget = self.budget
        marker = self.image.symbols.get("vb_layer_marker")
        p.marker_addr = (marker & ~1) if marker else 0
        p.marker_arg_reg = self.backend.reg_ids[0 if self.platform.isa == "armv7e-m" else 10]
        for i, rid in enumerate(self.backend.reg_ids[:32]):
            p.reg_ids[i] = rid
        if not self.timing_on:  # CPI = 1 baseline
            p.branch_taken_extra = p.load_use_stall = p.agu_stall = p.ldr_pipeline_saving = 0
        self.params = p
        if lib.vb_set_params(core, ctypes.byref(p)):
            raise VbenchError("native core: out of memory")
        self.wait_states_pinned = self.platform.get("flash.wait_states", None)
        self.set_flash_acr(0, False, False, False, False, False)
        self._translate_cb = N.TRANSLATE_FN(self._translate)
        lib.vb_set_translate(core, ctypes.cast(self._translate_cb, ctypes.c_void_p))
        self.backend.add_native_hook(unicorn.UC_HOOK_BLOCK, N.symbol_address("vb_hook_block"), core)
        for addr, d in self.insns.items():
            if d.insn.flags & N.F_DIVIDE and self.timing_on:
                self.backend.add_native_hook(unicorn.UC_HOOK_CODE, N.symbol_address("vb_hook_divide"), core, addr, addr)

    def _charge_params(self, p: N.VbParams) -> None:
        pm = self.power
        scale = pm.range_scale.get(self.voltage_range, 1.0)
        from vbench.sim.energy_classes import ENERGY_CLASSES

        for i, name in enumerate(ENERGY_CLASSES):
            p.charge_fc[i] = pm.femto(pm.class_pc[name], scale)
        p.charge_stall_fc = pm.femto(pm.stall_pc, scale)
        p.charge_flash_read_fc = pm.femto(pm.flash_read_pc, scale)
        p.charge_sram_read_fc = pm.femto(pm.sram_read_pc, scale)
        p.charge_sram_write_fc = pm.femto(pm.sram_write_pc, scale)

    def _translate(self, addr: int, size: int) -> None:
        """Code the image did not declare (copied or generated at run time): decode it from memory."""
        try:
            data = bytes(self.uc.mem_read(addr, size))
        except unicorn.UcError:
            return
        for d in self.decoder.decode(data, addr):
            self.insns[d.address] = d
        # The native table covers only the image's code sections; code elsewhere is not timed.

    def _map_peripherals(self) -> None:
        page = self.backend.page
        pages: dict[int, list[Peripheral]] = {}
        for spec in self.platform.peripherals:
            cls = REGISTRY.get(spec.type)
            if cls is None:
                raise VbenchError(f"{self.platform.path}: peripherals.{spec.name}: unknown type '{spec.type}'")
            dev = cls(self, spec.name, spec.base, spec.size, spec.params)
            self.peripherals[spec.name] = dev
            for a in range(spec.base // page * page, spec.base + spec.size, page):
                pages.setdefault(a, []).append(dev)
        for start, group in itertools.groupby(sorted(pages), key=lambda a, c=itertools.count(): a - next(c) * page):
            run = list(group)
            base = run[0]
            self.backend.map_mmio(base, len(run) * page, self._mmio_read(base), self._mmio_write(base))

    def _device_at(self, addr: int) -> Peripheral | None:
        for dev in self.peripherals.values():
            if dev.base <= addr < dev.base + dev.size:
                return dev
        return None

    def _mmio_read(self, region_base: int) -> Callable:
        def read(uc, offset, size, _user):
            addr = region_base + offset
            dev = self._device_at(addr)
            self._access = [addr, False, False]
            try:
                if dev is None:
                    raise UnmodelledAccess(f"read of unmodelled address {addr:#010x}")
                return dev.read(addr - dev.base, size) & ((1 << (8 * size)) - 1)
            except VbenchError as exc:
                self._fault_in_access(exc, addr, False)
                return 0
        return read

    def _mmio_write(self, region_base: int) -> Callable:
        def write(uc, offset, size, value, _user):
            addr = region_base + offset
            dev = self._device_at(addr)
            self._last_write = addr
            self._access = [addr, True, False]
            try:
                if dev is None:
                    raise UnmodelledAccess(f"write of unmodelled address {addr:#010x}")
                dev.write(addr - dev.base, size, value)
            except VbenchError as exc:
                self._fault_in_access(exc, addr, True)
        return write

    def _fault_in_access(self, exc: Exception, addr: int, is_write: bool) -> None:
        k = self._locate_access(addr, is_write)
        pc = self._insn_addr(k)
        self._pending_fault = f"{exc} at PC {self.image.describe(pc)}"
        self._request_stop()

    def _make_exception_controller(self):
        """Cortex-M exception model, present when the board has a System Control Space."""
        scs = next((p for p in self.platform.peripherals if p.type == "armv7m.scs"), None)
        if self.platform.isa != "armv7e-m" or scs is None:
            return None
        from vbench.sim.cortexm import ExceptionController

        ctl = ExceptionController(int(scs.params.get("irqs", 240)), int(scs.params.get("priority_bits", 4)))
        if hasattr(ctl, "attach"):
            ctl.attach(self.uc)
        ctl.on_timing = self._exception_timing
        return ctl

    def _exception_timing(self, kind: str, extended: bool) -> None:
        """Exception entry/return latency (stacking, vector fetch, unstacking), as a stall."""
        t = self._timing_params()
        cycles = t.get(f"exception_{kind}", 0) + (t.get("exception_fp_frame", 0) if extended else 0)
        if cycles and self.timing_on:
            self.lib.vb_add_stall(self.core, N.STALL_CAUSES.index("exception"), cycles)

    def _install_python_hooks(self) -> None:
        self.uc.hook_add(unicorn.UC_HOOK_INTR, self._on_interrupt)
        self.uc.hook_add(unicorn.UC_HOOK_MEM_UNMAPPED | unicorn.UC_HOOK_MEM_FETCH_PROT | unicorn.UC_HOOK_MEM_WRITE_PROT,
                         self._on_bad_access)
        self.uc.hook_add(unicorn.UC_HOOK_INSN_INVALID, self._on_invalid)
        for addr, d in self.insns.items():
            if d.csr_read:
                self.uc.hook_add(unicorn.UC_HOOK_CODE, self._on_counter_csr, d, addr, addr)

    def _reset_cpu(self) -> None:
        if self.platform.isa == "armv7e-m":
            vt = self.read_word(0)
            self.backend.uc.reg_write(self.backend.sp_reg, vt)
            self.entry = self.read_word(4) & ~1
        else:
            self.entry = self.image.entry

    def read_word(self, addr: int) -> int:
        for m in self.memories:
            for base in (m.base, *m.aliases):
                if base <= addr < base + m.size - 3:
                    return int.from_bytes(bytes(self._hosts[m.name][addr - base:addr - base + 4]), "little")
        return int.from_bytes(self.uc.mem_read(addr, 4), "little")

    # ================================================================ services for peripherals
    def now(self) -> tuple[int, int]:
        """(cycles, instructions) at the start of the instruction making the current access."""
        acc = self._access
        if acc is not None and not acc[2]:
            self._locate_access(acc[0], acc[1])
            acc[2] = True
        k = self._access_cursor[1] if self._access_cursor[0] == self._block_key() else -1
        if k < 0:
            k = 0
        c, n = ctypes.c_uint64(), ctypes.c_uint64()
        self.lib.vb_now(self.core, k, ctypes.byref(c), ctypes.byref(n))
        return c.value, n.value

    def now_at(self, pc: int) -> tuple[int, int]:
        """(cycles, instructions) before the instruction at pc in the executing block; for code
        hooks that observe the run (tests, tracing)."""
        k, a = 0, self.lib.vb_pending_addr(self.core)
        while a < pc and a in self.insns:
            k += 1
            a += self.insns[a].size
        c, n = ctypes.c_uint64(), ctypes.c_uint64()
        self.lib.vb_now(self.core, k, ctypes.byref(c), ctypes.byref(n))
        return c.value, n.value

    def locate_current_access(self, addr: int, is_write: bool) -> None:
        """Pin `now()` to the load/store in the executing block that touched `addr`."""
        self._locate_access(addr, is_write)

    def set_core_clock(self, hz: float) -> None:
        if self.clock_pinned or hz == self.clock_hz:
            return
        self.clock_hz = float(hz)
        self._new_segment()

    def set_voltage_range(self, name: str) -> None:
        if name != self.voltage_range:
            self.voltage_range = name
            self._charge_params(self.params)
            self._sync_params()
            self._new_segment()

    def set_flash_acr(self, latency: int, prefetch: bool, icache: bool, dcache: bool,
                      icache_reset: bool, dcache_reset: bool) -> None:
        # A what-if override pins what the firmware would set (flash.wait_states, flash.prefetch, ...).
        if self.wait_states_pinned is not None:
            latency = int(self.wait_states_pinned)
        pins = [self.platform.get(f"flash.{k}", None) for k in ("prefetch", "icache", "dcache")]
        prefetch, icache, dcache = (bool(p) if p is not None else v for p, v in zip(pins, (prefetch, icache, dcache)))
        if not self.timing_on:
            latency = 0
        self.lib.vb_set_flash_config(self.core, latency, int(prefetch), int(icache), int(dcache),
                                     int(icache_reset), int(dcache_reset))
        self.flash_acr = (latency, prefetch, icache, dcache)

    def uart_tx(self, name: str, data: bytes) -> None:
        self._uart_out.setdefault(name, bytearray()).extend(data)

    def uart_output(self, name: str | None = None) -> bytes:
        if name is None:
            name = next((n for n, p in self.peripherals.items() if p.params.get("console")), "")
        return bytes(self._uart_out.get(name, b""))

    def gpio_event(self, port: str, pin: int, level: int) -> None:
        cycles, _ = self.now()
        self.gpio_log.append((cycles, self.cycles_to_seconds(cycles), port, pin, level))

    def schedule(self, at_cycle: int, callback: Callable[[], None]) -> int:
        handle = next(self._event_ids)
        heapq.heappush(self._events, (int(at_cycle), handle, callback))
        self.lib.vb_set_next_event(self.core, self._events[0][0])
        return handle

    def cancel(self, handle: int) -> None:
        self._events = [e for e in self._events if e[1] != handle]
        heapq.heapify(self._events)
        self.lib.vb_set_next_event(self.core, self._events[0][0] if self._events else 0)

    def exit(self, code: int) -> None:
        """End the run; called by an exit device from inside the store that requested it."""
        if getattr(self, "_last_write", None) is not None:
            k = self._locate_access(self._last_write, True)
            self.lib.vb_cut(self.core, k + 1)
        self._stop = ("exit", code, "")
        self._request_stop()

    def request_reset(self) -> None:
        self._stop = ("exit", None, "firmware requested a system reset (AIRCR.SYSRESETREQ)")
        self._request_stop()

    def peripheral(self, name: str) -> Peripheral:
        return self.peripherals[name]

    # ================================================================ time and energy
    def _counters(self) -> N.VbCounters:
        c = N.VbCounters()
        self.lib.vb_get_counters(self.core, ctypes.byref(c))
        return c

    def _new_segment(self) -> None:
        c = self._counters() if hasattr(self, "core") else None
        start = c.cycles if c else 0
        if self._segments and self._segments[-1][0] == start:
            self._segments[-1][1:3] = [self.clock_hz, self.voltage_range]
        else:
            self._segments.append([start, self.clock_hz, self.voltage_range])

    def cycles_to_seconds(self, cycles: int) -> float:
        t, segs = 0.0, self._segments
        for i, (start, hz, _r) in enumerate(segs):
            end = segs[i + 1][0] if i + 1 < len(segs) else None
            if cycles <= start:
                break
            upto = cycles if end is None or cycles < end else end
            t += (upto - start) / hz
        return t

    def _sync_params(self) -> None:
        cur = N.VbParams()
        self.lib.vb_get_params(self.core, ctypes.byref(cur))
        cur.charge_fc[:] = self.params.charge_fc[:]
        for k in ("charge_stall_fc", "charge_flash_read_fc", "charge_sram_read_fc", "charge_sram_write_fc"):
            setattr(cur, k, getattr(self.params, k))
        self.lib.vb_set_params(self.core, ctypes.byref(cur))

    # ================================================================ hooks (rare events only)
    def _insn_addr(self, k: int) -> int:
        """Address of the k-th instruction (from 0) of the executing block."""
        addr = self.lib.vb_pending_addr(self.core)
        for _ in range(k):
            d = self.insns.get(addr)
            if d is None:
                break
            addr += d.size
        return addr

    def _block_insns(self) -> list[Decoded]:
        addr, size = self.lib.vb_pending_addr(self.core), self.lib.vb_pending_size(self.core)
        out, a = [], addr
        while a < addr + size and a in self.insns:
            out.append(self.insns[a])
            a += self.insns[a].size
        return out

    def _locate_access(self, target: int, is_write: bool) -> int:
        """Which load/store of the executing block made this MMIO access? Unicorn does not update
        the PC before an MMIO callback, so compute each candidate's effective address from the
        current registers and take the first match after the previous one in this block."""
        block_addr = self._block_key()
        start = self._access_cursor[1] + 1 if self._access_cursor[0] == block_addr else 0
        insns = self._block_insns()
        want = N.F_STORE if is_write else N.F_LOAD
        candidates = [k for k in range(start, len(insns)) if insns[k].insn.flags & want]
        for k in candidates:
            ea = self._effective_address(insns[k])
            if ea is not None and ea <= target < ea + 64:
                self._access_cursor = (block_addr, k)
                return k
        k = candidates[0] if candidates else max(start, 0)
        self._access_cursor = (block_addr, k)
        return k

    def _block_key(self) -> tuple[int, int]:
        """Identifies one execution of the pending block: its address and the instructions
        committed before it (a block that runs again gets a new key)."""
        c = N.VbCounters()
        self.lib.vb_get_counters(self.core, ctypes.byref(c))
        return self.lib.vb_pending_addr(self.core), int(c.instructions)

    def _effective_address(self, d: Decoded) -> int | None:
        if self.platform.isa == "armv7e-m":
            from capstone import arm_const as A

            from vbench.sim.isa_arm import _REG_NUM

            insn = next(self.decoder.md.disasm(bytes(self.uc.mem_read(d.address, d.size)), d.address), None)
            if insn is None:
                return None
            for op in insn.operands:
                if op.type == A.ARM_OP_MEM:
                    base = self.backend.reg(_REG_NUM[op.mem.base]) if op.mem.base in _REG_NUM else 0
                    if op.mem.base == A.ARM_REG_PC:
                        base = (d.address + 4) & ~3
                    idx = self.backend.reg(_REG_NUM[op.mem.index]) << op.mem.lshift if op.mem.index in _REG_NUM else 0
                    return (base + idx + op.mem.disp) & 0xFFFFFFFF
            regs = [op.reg for op in insn.operands if op.type == A.ARM_OP_REG]
            if regs and regs[0] in _REG_NUM:  # ldm/stm base
                return self.backend.reg(_REG_NUM[regs[0]])
            return None
        w = int.from_bytes(self.uc.mem_read(d.address, 4), "little")
        rs1 = (w >> 15) & 31
        op = w & 0x7F
        imm = (w >> 20) if op in (0x03, 0x07) else (((w >> 25) << 5) | ((w >> 7) & 31))
        if imm & 0x800:
            imm -= 0x1000
        return (self.backend.reg(rs1) + imm) & 0xFFFFFFFF

    def _on_interrupt(self, uc, intno, _user):
        pc = self.backend.pc
        if self.platform.isa == "armv7e-m" and intno == 7:
            insn = bytes(uc.mem_read(pc & ~1, 2))
            if insn[1] == 0xBE and insn[0] == SEMIHOSTING_BKPT:
                self._semihosting(pc & ~1)
                return
            self._fault(f"BKPT #{insn[0]} at {self.image.describe(pc)}", pc)
            return
        names = {1: "UsageFault (undefined instruction)", 2: "SVC", 3: "prefetch abort", 4: "data abort",
                 5: "interrupt", 6: "fast interrupt", 8: "exception exit"}
        if self.platform.isa == "rv32imaf":
            names = {0: "instruction address misaligned", 1: "instruction access fault", 2: "illegal instruction",
                     3: "breakpoint", 4: "load address misaligned", 5: "load access fault",
                     6: "store address misaligned", 7: "store access fault", 8: "ecall", 11: "ecall"}
        if self.exceptions is not None and hasattr(self.exceptions, "on_unicorn_exception"):
            if self.exceptions.on_unicorn_exception(intno):
                return
        self._fault(f"{names.get(intno, f'exception {intno}')} at {self.image.describe(pc)}", pc)

    def _semihosting(self, pc: int) -> None:
        op, arg = self.backend.reg(0), self.backend.reg(1)
        self._cut_at(pc)
        if op == 0x18:  # SYS_EXIT: r1 = reason (ADP_Stopped_ApplicationExit = 0x20026)
            self._stop = ("exit", 0 if arg == 0x20026 else 1, "")
        elif op == 0x20:  # SYS_EXIT_EXTENDED: r1 -> {reason, code}
            reason, code = (int.from_bytes(self.uc.mem_read(arg + i, 4), "little") for i in (0, 4))
            self._stop = ("exit", code if reason == 0x20026 else (code or 1), "")
        elif op == 0x03:  # SYS_WRITEC
            self.uart_tx("semihosting", bytes(self.uc.mem_read(arg, 1)))
        elif op == 0x04:  # SYS_WRITE0
            out = bytearray()
            while len(out) < 65536:
                ch = bytes(self.uc.mem_read(arg + len(out), 1))
                if ch == b"\0":
                    break
                out += ch
            self.uart_tx("semihosting", bytes(out))
        else:
            self._fault(f"unsupported semihosting call {op:#x} at {self.image.describe(pc)}", pc)
            return
        if self._stop:
            self._request_stop()
        else:  # continue after the BKPT; the next block starts there
            self.uc.reg_write(self.backend.pc_reg, (pc + 2) | 1)

    def _cut_at(self, pc: int) -> None:
        """Account the executing block up to and including the instruction at pc."""
        k, a = 0, self.lib.vb_pending_addr(self.core)
        while a <= pc and a in self.insns:
            k += 1
            a += self.insns[a].size
        self.lib.vb_cut(self.core, k)

    def _cut_before(self, pc: int) -> None:
        k, a = 0, self.lib.vb_pending_addr(self.core)
        while a < pc and a in self.insns:
            k += 1
            a += self.insns[a].size
        self.lib.vb_cut(self.core, k)

    def _on_counter_csr(self, uc, address, size, d: Decoded):
        """csrr of a counter CSR: give vbench's count instead of QEMU's host-time value."""
        k, a = 0, self.lib.vb_pending_addr(self.core)
        while a < address and a in self.insns:
            k += 1
            a += self.insns[a].size
        c, n = ctypes.c_uint64(), ctypes.c_uint64()
        self.lib.vb_now(self.core, k, ctypes.byref(c), ctypes.byref(n))
        name = d.csr_read
        if name.startswith(("mcycle", "cycle")):
            value = c.value
        elif name.startswith(("minstret", "instret")):
            value = n.value
        else:
            clint = next((p for p in self.peripherals.values() if p.TYPE == "riscv.clint"), None)
            value = clint.mtime() if clint is not None and hasattr(clint, "mtime") else 0
        value = (value >> 32) if name.endswith("h") else value & 0xFFFFFFFF
        self._cut_at(address)
        self.backend.set_reg(d.insn.aux, value)
        uc.reg_write(self.backend.pc_reg, address + size)

    def _on_bad_access(self, uc, access, address, size, value, _user):
        kinds = {unicorn.UC_MEM_READ_UNMAPPED: "read of unmapped", unicorn.UC_MEM_WRITE_UNMAPPED: "write to unmapped",
                 unicorn.UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped",
                 unicorn.UC_MEM_WRITE_PROT: "write to read-only", unicorn.UC_MEM_FETCH_PROT: "fetch from non-executable"}
        pc = self.backend.pc if access != unicorn.UC_MEM_FETCH_UNMAPPED else address
        if access in (unicorn.UC_MEM_READ_UNMAPPED, unicorn.UC_MEM_WRITE_UNMAPPED, unicorn.UC_MEM_WRITE_PROT):
            k = self._locate_access(address, access != unicorn.UC_MEM_READ_UNMAPPED)
            pc = self._insn_addr(k)
        self._fault_pc = pc
        self._pending_fault = f"{kinds.get(access, 'bad access to')} address {address:#010x} at PC {self.image.describe(pc)}"
        return False

    def _on_invalid(self, uc, _user):
        pc = self.backend.pc
        self._fault_pc = pc
        self._pending_fault = f"UsageFault (undefined instruction) at PC {self.image.describe(pc)}"
        return False

    def _request_stop(self) -> None:
        self.lib.vb_request_stop(self.core)

    def _fault(self, message: str, pc: int) -> None:
        self._stop = ("fault", None, message)
        self._request_stop()

    # ================================================================ run
    def wait_for_input(self) -> None:
        """Called by a UART model when the firmware polls an empty receiver: hand control back to
        the host (a harness feeds the next command), or end the run if nobody will."""
        self._waiting_input = True
        self._request_stop()

    def feed_console(self, data: bytes) -> None:
        dev = next((p for p in self.peripherals.values() if p.params.get("console")), None)
        if dev is None or not hasattr(dev, "feed"):
            raise VbenchError(f"{self.platform.name}: no console UART to feed")
        dev.feed(data)

    def run(self, until_input: bool = False) -> RunResult | None:
        """Run to the end (exit, halt, budget, fault). With until_input, return None instead when the
        firmware waits for console input; feed_console() then run() again continues."""
        import time

        t0 = time.perf_counter()
        pc = self._pc if self._pc is not None else self.entry
        while True:
            try:
                self.backend.start(pc)
            except FirmwareFault as exc:  # raised by a hook (exception model) and passed through Unicorn
                if self._stop is None:
                    self._stop = ("fault", None, str(exc))
            except unicorn.UcError as exc:
                if self._stop is None:
                    msg = self._pending_fault or f"{exc} at PC {self.image.describe(self.backend.pc)}"
                    self._stop = ("fault", None, msg)
            if self._pending_fault and self._stop is None:
                self._stop = ("fault", None, self._pending_fault)
            reason = self.lib.vb_stop_reason(self.core)
            self.lib.vb_clear_stop(self.core)
            if self._stop is not None:
                break
            if self._waiting_input:
                self._waiting_input = False
                if until_input:
                    self._pc = self.backend.pc
                    self._wall += time.perf_counter() - t0
                    return None
                self._stop = ("halt", None, f"waiting for UART input at {self.image.describe(self.backend.pc)}")
                break
            if reason == N.STOP_BUDGET:
                self._stop = ("budget", None, f"instruction budget of {self.budget:,} exhausted at PC {self.image.describe(self.backend.pc)}")
                break
            if reason == N.STOP_FLASH_WRITE:
                addr = self.lib.vb_fault_addr(self.core)
                self._fault_pc = self._insn_addr(self._locate_access(addr, True))
                self._stop = ("fault", None, f"store to flash address {addr:#010x} at PC {self.image.describe(self._fault_pc)}"
                              " (flash is programmed through FLASH_CR, not by plain stores)")
                break
            if reason == N.STOP_NO_DECODE:
                addr = self.lib.vb_fault_addr(self.core)
                self._stop = ("fault", None, f"execution reached {self.image.describe(addr)}, which holds no decodable code")
                break
            pc = self.backend.pc
            if reason == N.STOP_SELF_LOOP and not self._idle_until_event():
                self._stop = ("halt", None, f"halted in a self-loop at {self.image.describe(pc)}")
                break
            self._run_due_events()
            if self.exceptions is not None and hasattr(self.exceptions, "take_pending"):
                if self.exceptions.take_pending(self.uc):
                    pc = self.backend.pc
        return self._result(self._wall + time.perf_counter() - t0)

    def _idle_until_event(self) -> bool:
        """A self-loop that an interrupt can end: advance time to the next event instead of spinning."""
        if not self._events:
            return False
        if self.exceptions is not None and hasattr(self.exceptions, "can_wake") and not self.exceptions.can_wake():
            return False
        self.lib.vb_cut(self.core, 1 << 30)
        now = self._counters().cycles
        if self._events[0][0] > now:
            self.lib.vb_add_idle(self.core, self._events[0][0] - now)
        return True

    def _run_due_events(self) -> None:
        self._access = None
        now = self._counters().cycles
        while self._events and self._events[0][0] <= now:
            _at, _h, cb = heapq.heappop(self._events)
            cb()
        self.lib.vb_set_next_event(self.core, self._events[0][0] if self._events else 0)

    def _result(self, wall: float) -> RunResult:
        fault_pc = getattr(self, "_fault_pc", None)
        if self._stop and self._stop[0] == "fault" and fault_pc is not None:
            self._cut_before(fault_pc)  # the faulting instruction did not complete
        self.lib.vb_cut(self.core, 1 << 30)  # the last block ran to its end (or was cut already)
        c = self._counters()
        cycles = int(c.cycles)
        time_s = self.cycles_to_seconds(cycles)
        energy_j = self.power.supply_v * c.charge_fc * 1e-15 + self.power.supply_v * self.power.static_ua * 1e-6 * time_s
        kind, code, msg = self._stop or ("halt", None, "")
        uart = self.uart_output().decode("latin-1")
        semi = bytes(self._uart_out.get("semihosting", b"")).decode("latin-1")
        return RunResult(
            platform=self.platform.name, exit=kind, exit_code=code, instructions=int(c.instructions), cycles=cycles,
            time_s=time_s, energy_uj=energy_j * 1e6, uart=uart + semi, message=msg,
            stalls=dict(zip(N.STALL_CAUSES, (int(x) for x in c.stall))), clock_hz=self.clock_hz,
            supply_v=self.power.supply_v, gpio=list(self.gpio_log), wall_s=wall,
            features=self.energy_features(c, time_s),
        )

    def energy_features(self, c: N.VbCounters | None = None, time_s: float | None = None) -> dict[str, float]:
        """The run's energy model inputs: energy = supply_v x (sum(features x coefficients)) with
        cycles per class, stall cycles and accesses weighted by their charge, plus static current x time."""
        from vbench.sim.energy_classes import ENERGY_CLASSES

        c = c or self._counters()
        time_s = self.cycles_to_seconds(int(c.cycles)) if time_s is None else time_s
        out = {f"cycles_{name}": float(c.class_cycles[i]) for i, name in enumerate(ENERGY_CLASSES)}
        out.update(stall_cycles=float(sum(c.stall)), flash_reads=float(c.flash_reads),
                   sram_reads=float(c.sram_reads), sram_writes=float(c.sram_writes), time_s=time_s)
        return out

    def set_instruction_budget(self, instructions: int) -> None:
        """Stop after this many instructions in total (a harness sets it per command)."""
        self.budget = int(instructions)
        self.params.instruction_budget = self.budget
        self.lib.vb_set_budget(self.core, self.budget)

    def counters(self) -> "Counters":
        """Totals so far: instructions, cycles, time_s, energy_uj (exact at a block boundary)."""
        c = self._counters()
        time_s = self.cycles_to_seconds(int(c.cycles))
        energy_j = self.power.supply_v * (c.charge_fc * 1e-15 + self.power.static_ua * 1e-6 * time_s)
        return Counters(int(c.instructions), int(c.cycles), time_s, energy_j * 1e6)

    def profile(self) -> dict[str, list[dict[str, Any]]]:
        """Per-function and per-layer cycles, instructions, energy and stalls by cause."""
        out: dict[str, list[dict[str, Any]]] = {"functions": [], "layers": []}
        buf = (ctypes.c_uint64 * (3 + len(N.STALL_CAUSES)))()
        # mean seconds per cycle over the run: exact when the clock did not change
        total = self._counters().cycles
        sec_per_cycle = self.cycles_to_seconds(total) / total if total else 0.0
        v = self.power.supply_v

        def row(name: str) -> dict[str, Any]:
            return {"name": name, "cycles": int(buf[0]), "instructions": int(buf[1]),
                    "time_ms": buf[0] * sec_per_cycle * 1e3, "energy_uj": v * buf[2] * 1e-9,
                    **{f"stall_{c}": int(buf[3 + i]) for i, c in enumerate(N.STALL_CAUSES)}}

        names = [f[2] for f in self.image.functions] + ["(unknown)"]
        for i, name in enumerate(names):
            if self.lib.vb_get_bucket(self.core, 0, i, buf) == 0 and buf[1]:
                out["functions"].append(row(name))
        out["functions"].sort(key=lambda r: -r["cycles"])
        for i in range(MAX_LAYERS + 1):
            if self.lib.vb_get_bucket(self.core, 1, i, buf) == 0 and buf[1]:
                out["layers"].append({"layer": i - 1 if i else None, **row(f"layer {i - 1}" if i else "(outside layers)")})
        return out

    def close(self) -> None:
        for cookie in getattr(self, "_flash_cookies", []):
            self.lib.vb_free_cookie(cookie)
        self._flash_cookies = []
        if self.core:
            self.lib.vb_destroy(self.core)
            self.core = None

    def __del__(self):  # pragma: no cover
        try:
            self.close()
        except Exception:
            pass


def run_firmware(firmware: str | Path, platform: str | Platform, **kw) -> RunResult:
    board = Board(platform if isinstance(platform, Platform) else load_platform(platform), firmware, **kw)
    try:
        return board.run()
    finally:
        board.close()
