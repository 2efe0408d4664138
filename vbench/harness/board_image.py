"""The benchmark firmware as files a flash tool takes: ELF, raw binary and Intel HEX.

    from vbench.harness.board_image import export_image
    image = export_image("kws01", "nucleo-l4r5zi", out_dir="fw")   # fw/kws01-nucleo-l4r5zi.{elf,bin,hex}

The ELF is the harness image `build_harness` links (the same bytes the virtual board runs); BIN
and HEX come from the platform toolchain's `objcopy` (the `<prefix>objcopy` next to the
compiler). A raw binary carries no address, so the image records where it starts (the lowest
loadable address, the flash base on the Nucleo) for `vbench flash`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vbench.errors import VbenchError
from vbench.platform import Platform, load_platform

FORMATS = {"bin": "binary", "hex": "ihex"}  # suffix -> objcopy output target


@dataclass(frozen=True)
class BoardImage:
    model_id: str
    platform: str
    elf: Path
    bin: Path
    hex: Path
    base_address: int       # where the first byte of the .bin goes
    bin_bytes: int
    energy_mode: bool
    kernels: str

    def to_dict(self) -> dict:
        return {"model_id": self.model_id, "platform": self.platform, "elf": str(self.elf), "bin": str(self.bin),
                "hex": str(self.hex), "base_address": f"0x{self.base_address:08x}", "bin_bytes": self.bin_bytes,
                "energy_mode": self.energy_mode, "kernels": self.kernels}


def loadable_span(elf: Path) -> tuple[int, int]:
    """(lowest, highest + 1) load address (LMA) of the bytes an image stores: what objcopy's
    binary output spans."""
    from elftools.elf.elffile import ELFFile

    spans = []
    with open(elf, "rb") as f:
        for seg in ELFFile(f).iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0:
                spans.append((seg["p_paddr"], seg["p_paddr"] + seg["p_filesz"]))
    if not spans:
        raise VbenchError(f"{elf}: no loadable bytes (no PT_LOAD segment with file contents)")
    return min(s for s, _ in spans), max(e for _, e in spans)


def _flash_region(plat: Platform) -> tuple[int, int] | None:
    for name, mem in plat.section("memory").items():
        if isinstance(mem, dict) and mem.get("kind") == "flash":
            return int(mem["base"]), int(mem["size"])
    return None


def objcopy_path(plat: Platform) -> str:
    from vbench.firmware.build import DEBIAN_PACKAGES, toolchain_of

    prefix = toolchain_of(plat).prefix
    tool = shutil.which(prefix + "objcopy")
    if tool is None:
        pkgs = DEBIAN_PACKAGES.get(prefix, ())
        hint = f" (Debian: apt-get install {pkgs[0]})" if pkgs else ""
        raise VbenchError(f"{prefix}objcopy not found on PATH: it writes the .bin and .hex images{hint}")
    return tool


def _objcopy(tool: str, elf: Path, target: str, out: Path) -> None:
    """objcopy into a temporary file next to `out`, then rename: never a half-written image."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        res = subprocess.run([tool, "-O", target, str(elf), tmp], capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise VbenchError(f"{tool} -O {target} {elf} failed: {(res.stderr or res.stdout).strip()}")
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _copy(src: Path, dst: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export_image(model_id: str, platform: str | Platform, *, kernels: str | None = "optimized",
                 energy_mode: bool = False, out_dir: str | Path | None = None) -> BoardImage:
    """Build the harness for `model_id` on `platform` and write ELF, BIN and HEX.

    out_dir None: next to the cached ELF (build/harness/...); else `<out_dir>/<model id>-<platform>
    [-energy].{elf,bin,hex}`. kernels: as `vbench run --kernels` (optimized, reference, a variant)."""
    from vbench.firmware.kernels import resolve_kernels
    from vbench.harness.build import build_harness

    plat = platform if isinstance(platform, Platform) else load_platform(platform)
    tool = objcopy_path(plat)
    variant = resolve_kernels(kernels, plat)
    elf = build_harness(model_id, plat, energy_mode=energy_mode, variant=variant)
    lo, hi = loadable_span(elf)
    flash = _flash_region(plat)
    if flash is not None and not (flash[0] <= lo and hi <= flash[0] + flash[1]):
        raise VbenchError(f"{elf}: stored bytes span 0x{lo:08x}-0x{hi:08x}, outside {plat.name}'s flash "
                          f"0x{flash[0]:08x}-0x{flash[0] + flash[1]:08x}: a .bin of it could not be flashed")
    if out_dir is None:
        folder, stem = elf.parent, elf.stem
        out_elf = elf
    else:
        folder = Path(out_dir)
        if folder.exists() and not folder.is_dir():
            raise VbenchError(f"-o {folder}: exists and is not a directory")
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{model_id}-{plat.name}{'-energy' if energy_mode else ''}"
        out_elf = folder / f"{stem}.elf"
        _copy(elf, out_elf)
    paths = {suffix: folder / f"{stem}.{suffix}" for suffix in FORMATS}
    for suffix, target in FORMATS.items():
        _objcopy(tool, elf, target, paths[suffix])
    size = paths["bin"].stat().st_size
    if size != hi - lo:
        raise VbenchError(f"{paths['bin']}: {size} bytes, expected {hi - lo} (0x{lo:08x}-0x{hi:08x} of {elf})")
    return BoardImage(model_id, plat.name, out_elf.resolve(), paths["bin"].resolve(), paths["hex"].resolve(), lo,
                      size, energy_mode, variant or "reference")
