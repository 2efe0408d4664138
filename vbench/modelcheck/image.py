"""The model_check firmware of one model for one board, and one inference run on it: the image
(arena in .bss, else in .sram3), input and output through the simulated memory, the run's layer
profile and stack high-water mark, and the measured footprint against the board's memories."""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vbench.errors import VbenchError
from vbench.modelcheck.models import ModelCase, Progress, _quiet
from vbench.platform import Platform

APP = "model_check"
STACK_FILL = 0xA5A5A5A5
MAX_INSTRUCTIONS = 4_000_000_000  # per inference run; the biggest reference model needs < 0.3 G
STATUS_NOT_FINISHED = 0x7FFFFFFF
ARENA_IN_SRAM3 = '__attribute__((section(".sram3.vb_arena")))'


class FitError(VbenchError):
    """A model does not fit a board (link overflow, stack overflow or measured total too big)."""

    exit_code = 1


_OVERFLOW_RE = re.compile(r"region [`'](\w+)' overflowed by (\d+) bytes")
_ASSERT_RE = re.compile(r"(vbench: [^\n]*overlap[^\n]*)")


def _link_overflow(msg: str) -> tuple[list[tuple[str, int]], list[str]] | None:
    regions = [(m.group(1), int(m.group(2))) for m in _OVERFLOW_RE.finditer(msg)]
    asserts = sorted(set(_ASSERT_RE.findall(msg)))
    if regions or asserts or "will not fit in region" in msg:
        return regions, asserts
    return None


@dataclass
class CheckImage:
    elf: Path
    arena_section: str             # ".bss" or ".sram3"
    sizes: dict[str, int]          # elf_sizes: text, data, bss
    symbol_sizes: dict[str, tuple[int, int]]  # name -> (address, size)


def _symbol_table(elf: Path) -> dict[str, tuple[int, int]]:
    from elftools.elf.elffile import ELFFile

    out: dict[str, tuple[int, int]] = {}
    with open(elf, "rb") as f:
        symtab = ELFFile(f).get_section_by_name(".symtab")
        for sym in symtab.iter_symbols() if symtab is not None else ():
            if sym.name and not sym.name.startswith("$"):
                out.setdefault(sym.name, (sym["st_value"], sym["st_size"]))
    return out


def build_check_image(case: ModelCase, plat: Platform, progress: Progress = _quiet,
                      kernels: str | None = None) -> CheckImage:
    """The model_check firmware with this model for this board (cached by content), with the
    reference kernels or the `kernels` choice (see kernels.resolve_kernels). Raises
    FitError naming the model, the board and the overflow when it cannot be linked."""
    from vbench.firmware import firmware_sources
    from vbench.firmware.kernels import resolve_kernels
    from vbench.firmware import build_firmware, elf_sizes

    fw = firmware_sources(case.compiled.out_dir, resolve_kernels(kernels, plat))
    base = {"VB_CHECK_INPUT_BYTES": case.compiled.input.bytes,
            "VB_CHECK_OUTPUT_BYTES": case.compiled.output.bytes}
    failures = []
    for section, extra in ((".bss", {}), (".sram3", {"VB_ARENA_ATTRIBUTES": ARENA_IN_SRAM3})):
        try:
            elf = build_firmware(APP, plat, extra_sources=fw.sources, include_dirs=fw.include_dirs,
                                 defines={**base, **fw.defines, **extra})
        except VbenchError as exc:
            over = _link_overflow(str(exc))
            if over is None:
                raise
            failures.append((section, over))
            progress(f"{case.label} on {plat.name}: arena in {section} does not link")
            continue
        syms = _symbol_table(elf)
        return CheckImage(elf, section, elf_sizes(elf), syms)
    parts = []
    for section, (regions, asserts) in failures:
        what = ", ".join(f"region {r} overflowed by {n:,} B" for r, n in regions) or "; ".join(asserts) \
            or "a section does not fit its region"
        parts.append(f"arena in {section}: {what}")
    c = case.compiled
    raise FitError(f"model {case.label} does not fit {plat.name}: {'; '.join(parts)} "
                   f"(arena {c.arena_bytes:,} B, check I/O buffers {c.input.bytes + c.output.bytes:,} B, "
                   f"constants {c.const_bytes:,} B)")


def _host_buffer(board, addr: int, length: int):
    """(ctypes address) of the host memory backing [addr, addr + length), or None."""
    return board.memory.host_address(addr, length)


def poke(board, addr: int, data: bytes) -> None:
    """Write bytes into the simulated memory before (or between) runs. Flash pages that the
    timing model serves through MMIO are written in their backing store."""
    host = _host_buffer(board, addr, len(data))
    if host is not None:
        ctypes.memmove(host, bytes(data), len(data))
    else:
        board.uc.mem_write(addr, bytes(data))


def peek(board, addr: int, length: int) -> bytes:
    host = _host_buffer(board, addr, length)
    if host is not None:
        return ctypes.string_at(host, length)
    return bytes(board.uc.mem_read(addr, length))


@dataclass
class InferenceRun:
    name: str
    output: bytes
    status: int
    exit: str
    exit_code: int | None
    message: str
    instructions: int              # per inference (sum over the layer markers)
    cycles: int
    energy_uj: float
    time_ms: float                 # at the clock the run ended with (inference runs after clock set-up)
    layers: int                    # layers seen by the markers
    run_instructions: int          # whole run (start-up, init, copy, exit)
    run_cycles: int
    target_cycles: int             # on-target counter across set_input + invoke + copy
    stack_high_water: int
    stack_overflow: bool
    clock_hz: float


def run_inference(plat: Platform, image, check: CheckImage, case: ModelCase, data: bytes, name: str,
                  flips: tuple[tuple[str, int], ...] = ()) -> InferenceRun:
    """One fresh board, the input written into vb_check_input, one run to exit."""
    from vbench.sim.board import Board

    syms = check.symbol_sizes
    board = Board(plat, image, max_instructions=MAX_INSTRUCTIONS)
    try:
        poke(board, syms["vb_check_input"][0], data)
        for symbol, offset in flips:
            if symbol not in syms:
                raise VbenchError(f"no symbol '{symbol}' in {check.elf}")
            addr = syms[symbol][0] + offset
            poke(board, addr, bytes([peek(board, addr, 1)[0] ^ 0xFF]))
        result = board.run()
        prof = board.profile()
        layers = [r for r in prof["layers"] if r["layer"] is not None]
        out = peek(board, syms["vb_check_output"][0], case.compiled.output.bytes)
        status = int.from_bytes(peek(board, syms["vb_check_status"][0], 4), "little", signed=True)
        target = int.from_bytes(peek(board, syms["vb_check_cycles"][0], 4), "little")
        bottom, top = syms["__stack_bottom"][0], syms["__stack_top"][0]
        words = np.frombuffer(peek(board, bottom, top - bottom), "<u4")
        used = np.flatnonzero(words != STACK_FILL)
        first = int(used[0]) if used.size else len(words)
        high_water = (len(words) - first) * 4
        return InferenceRun(
            name=name, output=out, status=status, exit=result.exit, exit_code=result.exit_code,
            message=result.message, instructions=sum(r["instructions"] for r in layers),
            cycles=sum(r["cycles"] for r in layers), energy_uj=sum(r["energy_uj"] for r in layers),
            time_ms=sum(r["cycles"] for r in layers) / result.clock_hz * 1e3 if result.clock_hz else 0.0,
            layers=len(layers),
            run_instructions=result.instructions, run_cycles=result.cycles, target_cycles=target,
            stack_high_water=high_water, stack_overflow=first == 0 and len(words) > 0,
            clock_hz=result.clock_hz)
    finally:
        board.close()


def capacities(plat: Platform) -> tuple[int, int]:
    flash = sum(m.size for m in plat.memories if m.kind == "flash")
    sram = sum(m.size for m in plat.memories if m.kind == "sram")
    return flash, sram


def fit_problems(plat: Platform, flash_bytes: int, ram_bytes: int, data_bytes: int) -> list[str]:
    """Measured footprint against the board: code and weights in flash and the rest in SRAM,
    or (no flash, code runs from SRAM) everything in SRAM, .data counted once."""
    flash_cap, sram_cap = capacities(plat)
    problems = []
    if flash_cap:
        if flash_bytes > flash_cap:
            problems.append(f"flash {flash_bytes:,} B > {flash_cap:,} B (overflow {flash_bytes - flash_cap:,} B)")
        if ram_bytes > sram_cap:
            problems.append(f"SRAM {ram_bytes:,} B > {sram_cap:,} B (overflow {ram_bytes - sram_cap:,} B)")
    else:
        total = flash_bytes + ram_bytes - data_bytes
        if total > sram_cap:
            problems.append(f"image + RAM {total:,} B > SRAM {sram_cap:,} B (overflow {total - sram_cap:,} B)")
    return problems
