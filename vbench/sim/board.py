"""A virtual board: a platform file, a firmware image, the core plug-in and its emulator CPU, the
memory map, peripherals, the flash model and the native accounting core, and the run loop that
ends in exit, halt, budget or fault. What differs between cores lives in vbench/sim/cores/;
decoding lives in codemap.py; time and energy in accounting.py."""

from __future__ import annotations

import ctypes
import heapq
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import unicorn

from vbench.errors import FirmwareFault, VbenchError
from vbench.platform import Platform, load_platform
from vbench.power import PowerModel, load_power_model
from vbench.sim import native as N
from vbench.sim.accounting import MAX_LAYERS, Accounting, CallWatch, Counters  # noqa: F401 (Counters re-exported)
from vbench.sim.backend_unicorn import UnicornBackend
from vbench.sim.codemap import CodeMap
from vbench.sim.cores import core_for
from vbench.sim.elf import Image, load_image
from vbench.sim.flash_models import flash_model_for
from vbench.sim.memory_map import MemoryMap
from vbench.sim.run_limits import DEFAULT_BUDGET, DEFAULT_MAX_SECONDS, RunLimits
from vbench.sim.peripherals import load_all as load_peripheral_models
from vbench.sim.peripherals.base import Peripheral



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


class Board:
    def __init__(self, platform: Platform | str, firmware: str | Path | Image, *, max_instructions: int | None = None,
                 uart_input: bytes = b"", power: PowerModel | None = None, timing: bool = True):
        self.platform = load_platform(platform) if isinstance(platform, str) else platform
        self.image = firmware if isinstance(firmware, Image) else load_image(firmware)
        self.cpu = core_for(self.platform)
        if self.image.machine != self.cpu.ELF_MACHINE:
            raise VbenchError(f"{self.image.path}: {self.image.machine} firmware cannot run on {self.platform.name} "
                              f"({self.platform.isa})")
        self.power = power or load_power_model(self.platform)
        self.backend = UnicornBackend(self.cpu)
        self.uc = self.backend.uc
        self.lib = N.library()
        self.core = self.lib.vb_create()
        self.timing_on = timing
        self.budget = int(max_instructions or self.platform.get("run.max_instructions", DEFAULT_BUDGET))
        self.limits = RunLimits(self, float(self.platform.get("run.max_seconds", DEFAULT_MAX_SECONDS)))
        self.account = Accounting(self)
        self.flash_model = flash_model_for(self.platform, self.lib) if timing else None  # no timing: plain flash
        self.exceptions = None
        self._uart_out: dict[str, bytearray] = {}
        self.gpio_log: list[tuple[int, float, str, int, int]] = []
        self._events: list = []
        self._event_ids = itertools.count()
        self._stop: tuple[str, int | None, str] | None = None
        self._fault_pc: int | None = None
        self._access: list | None = None  # [address, is_write, located] of the MMIO access in progress
        self._last_write: int | None = None
        self._pc: int | None = None  # where a run paused for input continues
        self._waiting_input = False
        self._sleeping = False
        self._wall = 0.0
        pinned = self.platform.get("core.clock_hz", None)
        self.clock_pinned = pinned is not None
        self.clock_hz = float(pinned or self.platform.get("core.reset_clock_hz"))
        self.voltage_range = self.platform.get("core.reset_voltage_range", "nominal")
        self.memories = self.platform.memories
        self.memory = MemoryMap(self)
        self.memory.load_and_map()
        self.codemap = CodeMap(self, self.cpu)
        self.codemap.attach()
        self._setup_native()
        load_peripheral_models()
        self.peripherals: dict[str, Peripheral] = {}
        self.memory.map_peripherals()
        self.cpu.attach(self)
        self._install_python_hooks()
        self.entry = self.cpu.reset(self)
        self.account.new_segment(self.clock_hz, self.voltage_range)
        for p in self.peripherals.values():
            if p.params.get("console") and uart_input and hasattr(p, "feed"):
                p.feed(uart_input)

    # ================================================================ set-up (memory and peripherals: memory_map.py)
    def _setup_native(self) -> None:
        lib, core, t, cpu = self.lib, self.core, self.cpu.timing, self.cpu
        uc_h, reg_read, emu_stop = self.backend.native_api()
        lib.vb_set_unicorn(core, uc_h, reg_read, emu_stop)
        lib.vb_set_functions(core, len(self.image.functions))
        lib.vb_set_layers(core, MAX_LAYERS)
        if self.flash_model is not None:
            lib.vb_attach_art(core, self.flash_model.handle)
        p = N.VbParams()
        p.branch_taken_extra = t.get("branch_cond_taken_extra", 0)
        p.load_use_stall = t.get("load_use_stall", 0)
        p.agu_stall = t.get("agu_stall", 0)
        p.ldr_pipeline_saving = t.get("ldr_pipeline_saving", 0)
        p.div_model = cpu.DIVIDE_MODEL
        p.div_min, p.div_max = t.get("divide_min", 1), t.get("divide_max", 1)
        p.div_bits_per_cycle, p.div_by_zero = t.get("divide_bits_per_cycle", 1), t.get("divide_by_zero", 1)
        self._charge_params(p)
        p.instruction_budget = self.budget
        marker = self.image.symbols.get("vb_layer_marker")
        p.marker_addr = (marker & ~1) if marker else 0
        regs = self.backend.reg_ids
        p.marker_arg_reg, p.link_reg, p.sp_reg = regs[cpu.ARG_REG], regs[cpu.LINK_REG], regs[cpu.SP_REG]
        for i, rid in enumerate(regs[:32]):
            p.reg_ids[i] = rid
        if not self.timing_on:  # CPI = 1 baseline
            p.branch_taken_extra = p.load_use_stall = p.agu_stall = p.ldr_pipeline_saving = 0
        self.params = p
        if lib.vb_set_params(core, ctypes.byref(p)):
            raise VbenchError("native core: out of memory")
        self.backend.add_native_hook(unicorn.UC_HOOK_BLOCK, N.symbol_address("vb_hook_block"), core)

    def _charge_params(self, p: N.VbParams) -> None:
        from vbench.sim.energy_classes import ENERGY_CLASSES

        pm = self.power
        scale = pm.range_scale.get(self.voltage_range, 1.0)
        for i, name in enumerate(ENERGY_CLASSES):
            p.charge_fc[i] = pm.femto(pm.class_pc[name], scale)
        p.charge_stall_fc = pm.femto(pm.stall_pc, scale)
        p.charge_flash_read_fc = pm.femto(pm.flash_read_pc, scale)
        p.charge_sram_read_fc = pm.femto(pm.sram_read_pc, scale)
        p.charge_sram_write_fc = pm.femto(pm.sram_write_pc, scale)

    def _install_python_hooks(self) -> None:
        self.uc.hook_add(unicorn.UC_HOOK_INTR, lambda uc, intno, _u: self.cpu.on_interrupt(self, intno))
        self.uc.hook_add(unicorn.UC_HOOK_MEM_UNMAPPED | unicorn.UC_HOOK_MEM_FETCH_PROT | unicorn.UC_HOOK_MEM_WRITE_PROT,
                         self._on_bad_access)
        self.uc.hook_add(unicorn.UC_HOOK_INSN_INVALID, self._on_invalid)

    def exception_timing(self, kind: str, extended: bool) -> None:
        """Exception entry/return latency (stacking, vector fetch, unstacking), as a stall."""
        t = self.cpu.timing
        cycles = t.get(f"exception_{kind}", 0) + (t.get("exception_fp_frame", 0) if extended else 0)
        if cycles and self.timing_on:
            self.lib.vb_add_stall(self.core, N.STALL_CAUSES.index("exception"), cycles)

    def memory_at(self, addr: int, size: int = 1):
        return self.memory.memory_at(addr, size)

    def read_word(self, addr: int) -> int:
        return self.memory.read_word(addr)

    # ================================================================ services for peripherals and cores
    def note_access(self, addr: int, is_write: bool) -> None:
        """An MMIO access begins: now() and exit() locate its instruction only if they need it."""
        self._access = [addr, is_write, False]
        if is_write:
            self._last_write = addr

    def now(self) -> tuple[int, int]:
        """(cycles, instructions) at the start of the instruction making the current access."""
        acc = self._access
        if acc is not None and not acc[2]:
            self.codemap.locate_access(acc[0], acc[1])
            acc[2] = True
        return self._now(self.codemap.located())

    def now_at(self, pc: int) -> tuple[int, int]:
        """(cycles, instructions) before the instruction at pc in the executing block."""
        return self._now(self.codemap.index_of(pc))

    def _now(self, k: int) -> tuple[int, int]:
        c, n = ctypes.c_uint64(), ctypes.c_uint64()
        self.lib.vb_now(self.core, k, ctypes.byref(c), ctypes.byref(n))
        return c.value, n.value

    def cut_at(self, pc: int) -> None:
        """Account the executing block up to and including the instruction at pc."""
        self.lib.vb_cut(self.core, self.codemap.index_of(pc, inclusive=True))

    def locate_current_access(self, addr: int, is_write: bool) -> None:
        """Pin `now()` to the load/store in the executing block that touched `addr`."""
        self.codemap.locate_access(addr, is_write)

    def set_core_clock(self, hz: float) -> None:
        if self.clock_pinned or hz == self.clock_hz:
            return
        self.clock_hz = float(hz)
        self.account.new_segment(self.clock_hz, self.voltage_range)
        self.limits.clock_changed()  # the same board time is a different cycle count now

    def set_voltage_range(self, name: str) -> None:
        if name != self.voltage_range:
            self.voltage_range = name
            cur = N.VbParams()
            self.lib.vb_get_params(self.core, ctypes.byref(cur))
            self._charge_params(cur)
            self._charge_params(self.params)
            self.lib.vb_set_params(self.core, ctypes.byref(cur))
            self.account.new_segment(self.clock_hz, self.voltage_range)

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

    def next_event(self, excluding: int | None = None) -> int | None:
        return min((at for at, h, _cb in self._events if h != excluding), default=None)  # cycles, or None

    def cancel(self, handle: int) -> None:
        self._events = [e for e in self._events if e[1] != handle]
        heapq.heapify(self._events)
        self.lib.vb_set_next_event(self.core, self._events[0][0] if self._events else 0)

    def exit(self, code: int) -> None:
        """End the run; called by an exit device from inside the store that requested it."""
        if self._last_write is not None:
            self.lib.vb_cut(self.core, self.codemap.locate_access(self._last_write, True) + 1)
        self.finish("exit", code)

    def request_reset(self) -> None:
        self.finish("exit", None, "firmware requested a system reset (AIRCR.SYSRESETREQ)")

    def finish(self, kind: str, code: int | None, message: str = "") -> None:
        """End the run as `kind` ("exit", "halt", "fault") once the current instruction is done."""
        if self._stop is None:
            self._stop = (kind, code, message)
        self.lib.vb_request_stop(self.core)

    def fault(self, message: str) -> None:
        self.finish("fault", None, message)

    def peripheral(self, name: str) -> Peripheral:
        return self.peripherals[name]

    def sleep(self) -> None:
        """The core executed WFI: the run loop advances time to a wake-up or halts (run_limits.py)."""
        self._sleeping = True
        self.lib.vb_request_stop(self.core)

    def wait_for_input(self) -> None:
        """A UART model found the firmware polling an empty receiver: hand control back to the
        host (a harness feeds the next command), or end the run if nobody will."""
        self._waiting_input = True
        self.lib.vb_request_stop(self.core)

    def feed_console(self, data: bytes) -> None:
        dev = next((p for p in self.peripherals.values() if p.params.get("console")), None)
        if dev is None or not hasattr(dev, "feed"):
            raise VbenchError(f"{self.platform.name}: no console UART to feed")
        dev.feed(data)

    def watch_calls(self, name: str) -> CallWatch:
        """Record every outermost call of a function (C name, demangled C++ name or symbol)."""
        from vbench.sim.demangle import demangle

        addr = next((a for a, _s, sym in self.image.functions if name in (sym, demangle(sym))), None)
        if addr is None:
            addr = next((a for a, _s, sym in self.image.functions if demangle(sym).split("(")[0] == name), None)
        if addr is None:
            raise VbenchError(f"{self.image.path}: no function named {name!r}")
        self.lib.vb_watch_calls(self.core, addr)
        return CallWatch(self, name, addr)

    # ================================================================ faults seen by the emulator
    def _on_bad_access(self, uc, access, address, size, value, _user):
        kinds = {unicorn.UC_MEM_READ_UNMAPPED: "read of unmapped", unicorn.UC_MEM_WRITE_UNMAPPED: "write to unmapped",
                 unicorn.UC_MEM_FETCH_UNMAPPED: "instruction fetch from unmapped",
                 unicorn.UC_MEM_WRITE_PROT: "write to read-only", unicorn.UC_MEM_FETCH_PROT: "fetch from non-executable"}
        pc = self.backend.pc if access != unicorn.UC_MEM_FETCH_UNMAPPED else address
        if access in (unicorn.UC_MEM_READ_UNMAPPED, unicorn.UC_MEM_WRITE_UNMAPPED, unicorn.UC_MEM_WRITE_PROT):
            pc = self.codemap.address_of(self.codemap.locate_access(address, access != unicorn.UC_MEM_READ_UNMAPPED))
        self._fault_pc = pc
        what = kinds.get(access, "bad access to")
        if access == unicorn.UC_MEM_WRITE_PROT and self.memory_at(address) is not None:
            what = "store to flash"  # code pages of flash are read-only: programming goes through FLASH_CR
        self._pending_fault = f"{what} address {address:#010x} at PC {self.image.describe(pc)}"
        return False

    def _on_invalid(self, uc, _user):
        self._fault_pc = pc = self.backend.pc
        self._pending_fault = f"UsageFault (undefined instruction) at PC {self.image.describe(pc)}"
        return False

    # ================================================================ run
    def run(self, until_input: bool = False) -> RunResult | None:
        """Run to the end (exit, halt, budget, fault). With until_input, return None instead when the
        firmware waits for console input; feed_console() then run() again continues."""
        t0 = time.perf_counter()
        pc = self._pc if self._pc is not None else self.entry
        self._pending_fault = None
        self.limits.start()
        while True:
            try:
                self.lib.vb_trap_signals(1)  # Ctrl-C / SIGTERM reach a run that is busy in native code
                self.backend.start(pc)
            except FirmwareFault as exc:  # raised by a hook (exception model) and passed through Unicorn
                self.finish("fault", None, str(exc))
            except unicorn.UcError as exc:
                self.finish("fault", None, self._pending_fault or f"{exc} at PC {self.image.describe(self.backend.pc)}")
            finally:
                self.lib.vb_trap_signals(0)
            if self.lib.vb_take_signal():
                self.lib.vb_clear_stop(self.core)
                raise KeyboardInterrupt  # the pending block stays pending: run() may be called again
            self.codemap.check()
            if self._pending_fault:
                self.finish("fault", None, self._pending_fault)
            reason = self.lib.vb_stop_reason(self.core)
            self.lib.vb_clear_stop(self.core)
            if self._stop is not None:
                break
            pc = self.backend.pc
            if self._waiting_input:
                self._waiting_input = False
                if until_input:
                    self._pc = pc
                    self._wall += time.perf_counter() - t0
                    return None
                self._stop = ("halt", None, f"waiting for UART input at {self.image.describe(pc)}")
                break
            if reason in (N.STOP_BUDGET, N.STOP_FLASH_WRITE, N.STOP_NO_DECODE):
                if reason == N.STOP_FLASH_WRITE:  # the faulting store: the block is cut before it
                    pc = self._fault_pc = self.codemap.address_of(self.codemap.locate_access(self.lib.vb_fault_addr(self.core), True))
                self._stop = ("budget" if reason == N.STOP_BUDGET else "fault", None, self.limits.stop_message(reason, pc))
                break
            if reason == N.STOP_RETRANSLATE:
                self.codemap.retranslate()
                continue
            if reason == N.STOP_SELF_LOOP and not self.limits.idle_until_event():
                self._stop = self._halted(f"halted in a self-loop at {self.image.describe(pc)}")
                break
            sleeping, self._sleeping = reason == N.STOP_WFI or self._sleeping, False
            if sleeping and not self.limits.idle_until_event():
                self._stop = self._halted(f"halted: waiting for an interrupt (WFI/WFE) before "
                                          f"{self.image.describe(pc)} with no enabled source that can wake the core")
                break
            self._run_due_events()
            if self._stop is not None:
                break
            if self.exceptions is not None and self.exceptions.take_pending(self.uc):
                pc = self.backend.pc
        self.limits.stop()
        return self._result(self._wall + time.perf_counter() - t0)

    def _halted(self, message: str) -> tuple[str, int | None, str]:
        """A halt inside a fault handler (HardFault_Handler as `b .`) is that fault, not a clean end."""
        fault = self.exceptions.fault_in_handler() if self.exceptions is not None else None
        return ("fault", None, f"{fault}; then {message}") if fault else ("halt", None, message)

    def _run_due_events(self) -> None:
        self._access = None
        now = self.account.raw().cycles
        while self._events and self._events[0][0] <= now:
            _at, _h, cb = heapq.heappop(self._events)
            cb()
        self.lib.vb_set_next_event(self.core, self._events[0][0] if self._events else 0)

    def _result(self, wall: float) -> RunResult:
        if self._stop and self._stop[0] == "fault" and self._fault_pc is not None:
            self.lib.vb_cut(self.core, self.codemap.index_of(self._fault_pc))  # the faulting instruction did not complete
        self.lib.vb_cut(self.core, 1 << 30)  # the last block ran to its end (or was cut already)
        raw = self.account.raw()
        c = self.account.counters(raw)
        kind, code, msg = self._stop or ("halt", None, "")
        semi = bytes(self._uart_out.get("semihosting", b"")).decode("latin-1")
        return RunResult(
            platform=self.platform.name, exit=kind, exit_code=code, instructions=c.instructions, cycles=c.cycles,
            time_s=c.time_s, energy_uj=c.energy_uj, uart=self.uart_output().decode("latin-1") + semi, message=msg,
            stalls=dict(zip(N.STALL_CAUSES, (int(x) for x in raw.stall))), clock_hz=self.clock_hz,
            supply_v=self.power.supply_v, gpio=list(self.gpio_log), wall_s=wall,
            features=self.account.features(raw, c.time_s))

    # ================================================================ counters (see accounting.py)
    def counters(self) -> Counters:
        """Totals so far: instructions, cycles, time_s, energy_uj (exact at a block boundary)."""
        return self.account.counters()

    def cycles_to_seconds(self, cycles: int) -> float:
        return self.account.seconds(cycles)

    def energy_features(self, c: N.VbCounters | None = None, time_s: float | None = None) -> dict[str, float]:
        return self.account.features(c, time_s)

    def profile(self) -> dict[str, list[dict[str, Any]]]:
        return self.account.profile()

    def set_instruction_budget(self, instructions: int) -> None:
        """Stop after this many instructions in total (a harness sets it per command)."""
        self.budget = int(instructions)
        self.params.instruction_budget = self.budget
        self.lib.vb_set_budget(self.core, self.budget)

    def close(self) -> None:
        if getattr(self, "memory", None) is not None:
            self.memory.close()
        if getattr(self, "core", None):
            self.lib.vb_destroy(self.core)
            self.core = None
        if getattr(self, "flash_model", None) is not None:
            self.flash_model.close()

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
