"""Flashing a benchmark image onto a real board through pyOCD or OpenOCD.

vbench does not talk to debug probes itself: it finds the probe (USB, through sysfs), picks the
tool, and builds the command line the tool's own documentation gives for the board:

    pyocd flash --target stm32l4r5zitx [--uid SERIAL] [--base-address 0x08000000] IMAGE
    openocd -f interface/stlink.cfg [-c "adapter serial SERIAL"] -f target/stm32l4x.cfg \
            -c "program IMAGE [0x08000000] verify reset exit"

Sources: the Nucleo-L4R5ZI carries an on-board ST-LINK/V2-1 (ST UM2179, the STM32 Nucleo-144 user manual),
USB 0483:374b, whose virtual COM port is LPUART1 (UM2179; firmware/hal/stm32l4); pyOCD 0.46 maps that board
(id 0776, pyocd/board/board_ids.py) to the target `stm32l4r5zitx`, a part from ST's
STM32L4xx_DFP CMSIS pack (`pyocd pack install stm32l4r5zitx`); OpenOCD 0.12's
`target/stm32l4x.cfg` drives the STM32L4/L4+ flash (doc/openocd.texi, "stm32l4x" flash driver),
`program FILE [ADDR] verify reset exit` is its one-shot flash command (openocd.texi, "Flash
Programming"), and `adapter serial` selects a probe by serial number.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from vbench.errors import VbenchError

TOOLS = ("pyocd", "openocd")

# USB (vendor, product) of debug probes, for finding one attached: ST-LINK/V2, V2-1 (with and
# without mass storage), V3 variants; SEGGER J-Link (any product); Arm DAPLink (CMSIS-DAP).
ST_LINK = {(0x0483, p) for p in (0x3748, 0x374B, 0x3752, 0x374D, 0x374E, 0x374F, 0x3753, 0x3754, 0x3757)}
PROBE_VENDORS = {0x1366: "SEGGER J-Link"}
PROBE_IDS = {**{k: "ST-LINK" for k in ST_LINK}, (0x0D28, 0x0204): "DAPLink (CMSIS-DAP)"}

USB_SYSFS = Path("/sys/bus/usb/devices")


@dataclass(frozen=True)
class BoardFlash:
    """How a real board is flashed."""
    pyocd_target: str
    openocd_files: tuple[str, ...]     # OpenOCD -f scripts: interface first, then target
    flash_base: int                    # where a raw .bin goes
    elf_machine: str                   # pyelftools e_machine of images for it


BOARDS: dict[str, BoardFlash] = {
    "nucleo-l4r5zi": BoardFlash("stm32l4r5zitx", ("interface/stlink.cfg", "target/stm32l4x.cfg"), 0x0800_0000,
                                "EM_ARM"),
}


@dataclass(frozen=True)
class Probe:
    kind: str
    vendor: int
    product: int
    serial: str | None
    sysfs: str

    def describe(self) -> str:
        return f"{self.kind} {self.vendor:04x}:{self.product:04x}" + (f" serial {self.serial}" if self.serial else "")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def find_probes(root: Path = USB_SYSFS) -> list[Probe]:
    """Debug probes attached over USB, from the kernel's sysfs view (no tool needed)."""
    out = []
    if not root.is_dir():
        return out
    for dev in sorted(root.iterdir()):
        vid, pid = _read(dev / "idVendor"), _read(dev / "idProduct")
        if not vid or not pid:
            continue
        try:
            key = (int(vid, 16), int(pid, 16))
        except ValueError:
            continue
        kind = PROBE_IDS.get(key) or PROBE_VENDORS.get(key[0])
        if kind:
            out.append(Probe(kind, key[0], key[1], _read(dev / "serial"), dev.name))
    return out


def find_tool(name: str) -> str | None:
    """The tool on PATH, or (pyOCD installed as vbench's `board` extra) next to this Python."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else None


def board_flash(platform: str) -> BoardFlash:
    try:
        return BOARDS[platform]
    except KeyError:
        raise VbenchError(f"{platform}: no real board known to flash (vbench flashes: {', '.join(BOARDS)}); "
                          f"a virtual board runs its image directly: vbench serve / vbench run") from None


def image_kind(image: Path, board: BoardFlash) -> str:
    """elf, hex or bin, from the name; an ELF is checked to be for the board's core."""
    if not image.is_file():
        raise VbenchError(f"{image}: image not found")
    suffix = image.suffix.lower()
    kind = {".elf": "elf", ".axf": "elf", ".hex": "hex", ".ihex": "hex", ".bin": "bin"}.get(suffix)
    if kind is None:
        raise VbenchError(f"{image}: unknown image format '{suffix}' (expected .elf, .hex or .bin)")
    if kind == "elf":
        from elftools.common.exceptions import ELFError
        from elftools.elf.elffile import ELFFile

        try:
            with open(image, "rb") as f:
                machine = ELFFile(f)["e_machine"]
        except (ELFError, OSError) as exc:
            raise VbenchError(f"{image}: not a readable ELF file: {exc}") from None
        if machine != board.elf_machine:
            raise VbenchError(f"{image}: an ELF for {machine}, the board needs {board.elf_machine}")
    return kind


def flash_command(tool: str, image: Path, platform: str, *, probe: str | None = None,
                  base_address: int | None = None, executable: str | None = None) -> list[str]:
    """The command line that flashes `image` with `tool` (pyocd or openocd), then resets the
    board so the benchmark firmware starts. base_address: where a .bin goes (default: the
    board's flash base); ignored for ELF and HEX, which carry their addresses."""
    board = board_flash(platform)
    kind = image_kind(image, board)
    addr = (board.flash_base if base_address is None else base_address) if kind == "bin" else None
    exe = executable or tool
    if tool == "pyocd":
        cmd = [exe, "flash", "--target", board.pyocd_target]
        if probe:
            cmd += ["--uid", probe]
        if addr is not None:
            cmd += ["--base-address", f"0x{addr:08x}"]
        return cmd + ["--format", kind, str(image)]
    if tool == "openocd":
        interface, *targets = board.openocd_files
        cmd = [exe, "-f", interface]
        if probe:
            cmd += ["-c", f"adapter serial {probe}"]
        for t in targets:
            cmd += ["-f", t]
        where = f" 0x{addr:08x}" if addr is not None else ""
        # program's file name goes through Tcl: braces keep spaces and brackets literal
        return cmd + ["-c", f"program {{{image}}}{where} verify reset exit"]
    raise VbenchError(f"unknown flash tool '{tool}' (known: {', '.join(TOOLS)})")


def missing_tool_text() -> str:
    return ("no flash tool found: install pyOCD (pip install 'vbench[board]', then "
            "`pyocd pack install stm32l4r5zitx`) or OpenOCD (Debian: apt-get install openocd)")
