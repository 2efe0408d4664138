"""ELF images: loadable segments, executable sections and function symbols."""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from vbench.errors import VbenchError

EM_ARM, EM_RISCV = 40, 243
ADDRESS_SPACE = 1 << 32  # 32-bit cores: a segment must end at or below 4 GiB
# The largest segment vbench loads (file or memory size): ~500x the flash or SRAM of any MCU it
# models (the Nucleo-L4R5ZI: 2 MiB flash, 640 KiB SRAM), so a corrupt or crafted header is refused
# instead of mapping gigabytes of host memory.
MAX_SEGMENT_BYTES = 1 << 30


@dataclass
class Segment:
    paddr: int  # load address (LMA)
    vaddr: int
    data: bytes
    memsz: int


@dataclass
class CodeSection:
    name: str
    vaddr: int
    data: bytes


@dataclass
class Image:
    path: Path
    machine: str  # "arm" or "riscv"
    entry: int
    segments: list[Segment]
    code: list[CodeSection]
    functions: list[tuple[int, int, str]]  # (start, size, name), sorted
    symbols: dict[str, int]
    sha256: str
    _starts: list[int] = field(default_factory=list)

    def function_at(self, addr: int) -> tuple[int, str] | None:
        """(index, name) of the function holding addr."""
        if not self._starts:
            self._starts = [f[0] for f in self.functions]
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0:
            start, size, name = self.functions[i]
            if size == 0:  # assembly symbols often carry no size: run to the next function
                size = self.functions[i + 1][0] - start if i + 1 < len(self.functions) else 1 << 16
            if start <= addr < start + size:
                return i, name
        return None

    def describe(self, addr: int) -> str:
        hit = self.function_at(addr & ~1)
        return f"{addr:#010x} ({hit[1]}+{(addr & ~1) - self.functions[hit[0]][0]:#x})" if hit else f"{addr:#010x}"


def _check_segment(path: Path, index: int, seg) -> None:
    """A PT_LOAD segment fits the 32-bit address space and MAX_SEGMENT_BYTES; filesz <= memsz."""
    filesz, memsz = seg["p_filesz"], seg["p_memsz"]
    where = f"{path}: segment {index} (PT_LOAD at {seg['p_paddr']:#010x})"
    if filesz > memsz:
        raise VbenchError(f"{where} has p_filesz {filesz:#x} larger than p_memsz {memsz:#x}")
    if memsz > MAX_SEGMENT_BYTES:
        raise VbenchError(f"{where} has p_memsz {memsz:#x} ({memsz:,} bytes); vbench loads segments of "
                          f"at most {MAX_SEGMENT_BYTES >> 30} GiB")
    for field in ("p_paddr", "p_vaddr"):
        if seg[field] + memsz > ADDRESS_SPACE:
            raise VbenchError(f"{where} runs past the 4 GiB address space ({field} {seg[field]:#x} "
                              f"+ p_memsz {memsz:#x})")


def load_image(path: str | Path) -> Image:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise VbenchError(f"cannot read firmware {path}: {exc.strerror}") from None
    if raw[:4] != b"\x7fELF":
        raise VbenchError(f"{path}: not an ELF file (bad magic)")
    try:
        import io

        elf = ELFFile(io.BytesIO(raw))
        if elf.elfclass != 32 or not elf.little_endian:
            raise VbenchError(f"{path}: expected a 32-bit little-endian ELF, got ELF{elf.elfclass}")
        mach = elf["e_machine"]
        machine = {"EM_ARM": "arm", "EM_RISCV": "riscv"}.get(mach)
        if machine is None:
            raise VbenchError(f"{path}: unsupported machine {mach} (expected ARM or RISC-V)")
        segments = []
        for index, seg in enumerate(elf.iter_segments()):
            if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                continue
            _check_segment(path, index, seg)
            data = seg.data()
            if len(data) != seg["p_filesz"]:
                raise VbenchError(f"{path}: segment {index} at {seg['p_paddr']:#x} is truncated")
            segments.append(Segment(seg["p_paddr"], seg["p_vaddr"], data, seg["p_memsz"]))
        code = []
        for sec in elf.iter_sections():
            if sec["sh_type"] == "SHT_PROGBITS" and sec["sh_flags"] & SH_FLAGS.SHF_EXECINSTR and sec["sh_size"]:
                data = sec.data()
                if len(data) != sec["sh_size"] or sec["sh_addr"] + sec["sh_size"] > ADDRESS_SPACE:
                    raise VbenchError(f"{path}: code section '{sec.name}' ({sec['sh_size']:#x} bytes at "
                                      f"{sec['sh_addr']:#x}) is truncated or lies past the 4 GiB address space")
                code.append(CodeSection(sec.name, sec["sh_addr"], data))
        functions, symbols = [], {}
        symtab = elf.get_section_by_name(".symtab")
        if symtab is not None and not isinstance(symtab, SymbolTableSection):
            raise VbenchError(f"{path}: section '.symtab' has type {symtab['sh_type']}, not a symbol "
                              "table (SHT_SYMTAB); the file is corrupt")
        if symtab is not None:
            for sym in symtab.iter_symbols():
                if not sym.name or sym.name.startswith("$"):
                    continue
                value = sym["st_value"]
                symbols[sym.name] = value
                if sym["st_info"]["type"] == "STT_FUNC":
                    functions.append((value & ~1, sym["st_size"], sym.name))
        functions.sort()
    except VbenchError:
        raise
    except ELFError as exc:
        raise VbenchError(f"{path}: malformed ELF: {exc}") from None
    except Exception as exc:  # pyelftools on a corrupt file: construct/struct errors, bad offsets, ...
        raise VbenchError(f"{path}: malformed ELF ({type(exc).__name__}: {exc})") from None
    if not segments:
        raise VbenchError(f"{path}: no loadable segments")
    if not code:
        raise VbenchError(f"{path}: no executable section")
    return Image(path, machine, elf["e_entry"], segments, code, functions, symbols, hashlib.sha256(raw).hexdigest())
