"""Firmware build driver: compile an application for a virtual board with the board's cross compiler.

An application is a directory of C and assembly sources with a `main()`: `firmware/apps/<name>/`,
`firmware/microbench/`, or any directory given as a path. Sources in a subdirectory named after
the platform's ISA (`armv7e-m/`, `rv32imaf/`) are added for that ISA only. An optional
`app.toml` in the directory may say `hal = false` (the application brings its own register
code), restrict `platforms = [...]`, and add `defines = [...]`.

Each image is linked from the application, the board start-up code and linker script
(`toolchain.startup_dir`), the vbench HAL (`firmware/hal/*.c` and `firmware/hal/<toolchain.hal>/`)
and any extra sources, with the platform's `toolchain.prefix`, `cflags` and `ldflags`. The output
goes to `build/firmware/<platform>/<app>-<hash>/<app>.elf`, where the hash covers every source and
header, every flag, the linker script and the compiler version, so an unchanged build is reused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from vbench.errors import VbenchError
from vbench.paths import cache_dir, data_file, data_label, data_root, firmware_dir
from vbench.platform import Platform, load_platform

APPS_DIR = firmware_dir() / "apps"
HAL_DIR = firmware_dir() / "hal"

# Flags every image gets on top of the platform's own (order: platform, these, opt, -D, -I).
COMMON_CFLAGS = ("-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections", "-g")
SOURCE_SUFFIXES = (".c", ".S", ".s")
HEADER_SUFFIXES = (".h", ".inc", ".hpp")
# Bump when the recipe below changes in a way the hash inputs would not show.
RECIPE_VERSION = "1"

# Debian packages that provide each cross toolchain and its C library.
DEBIAN_PACKAGES = {
    "arm-none-eabi-": ("gcc-arm-none-eabi", "picolibc-arm-none-eabi"),
    "riscv64-unknown-elf-": ("gcc-riscv64-unknown-elf", "picolibc-riscv64-unknown-elf"),
}


@dataclass(frozen=True)
class App:
    name: str
    path: Path
    hal: bool = True
    platforms: tuple[str, ...] | None = None
    defines: tuple[str, ...] = ()


# ---------------------------------------------------------------------- applications


def _has_sources(d: Path) -> bool:
    return d.is_dir() and any(p.suffix in SOURCE_SUFFIXES for p in d.iterdir() if p.is_file())


def list_apps() -> list[str]:
    """Names `build_firmware` accepts: the directories in firmware/apps plus `microbench`."""
    names = sorted(d.name for d in APPS_DIR.iterdir() if _has_sources(d)) if APPS_DIR.is_dir() else []
    for d in sorted(firmware_dir().iterdir()) if firmware_dir().is_dir() else []:
        if d.name not in names and (d / "main.c").is_file():
            names.append(d.name)
    return names


def _read_app_toml(d: Path) -> dict:
    f = d / "app.toml"
    if not f.exists():
        return {}
    try:
        data = tomllib.loads(f.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise VbenchError(f"{f}: not valid TOML: {exc}") from None
    unknown = set(data) - {"hal", "platforms", "defines"}
    if unknown:
        raise VbenchError(f"{f}: unknown key(s) {', '.join(sorted(unknown))} (known: hal, platforms, defines)")
    return data


def resolve_app(app: str | Path) -> App:
    """An application name (see `list_apps`) or a directory path."""
    p = Path(app)
    if isinstance(app, Path) or os.sep in str(app) or str(app).startswith("."):
        d = p if p.is_absolute() else (Path.cwd() / p)
        if not d.is_dir():
            raise VbenchError(f"firmware directory not found: {app}")
    elif (APPS_DIR / str(app)).is_dir():
        d = APPS_DIR / str(app)
    elif (firmware_dir() / str(app) / "main.c").is_file():
        d = firmware_dir() / str(app)
    else:
        import difflib

        known = list_apps()
        hint = difflib.get_close_matches(str(app), known, n=1)
        more = f" (did you mean '{hint[0]}'?)" if hint else f" (known: {', '.join(known)})"
        raise VbenchError(f"unknown firmware application '{app}'{more}")
    d = d.resolve()
    if not _has_sources(d):
        raise VbenchError(f"{d}: no C or assembly sources")
    cfg = _read_app_toml(d)
    platforms = cfg.get("platforms")
    return App(
        name=d.name,
        path=d,
        hal=bool(cfg.get("hal", True)),
        platforms=tuple(platforms) if platforms is not None else None,
        defines=tuple(str(x) for x in cfg.get("defines", ())),
    )


def _sources_in(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES)


def _headers_under(d: Path) -> list[Path]:
    if not d.is_dir():
        return []
    return sorted(p for p in d.rglob("*") if p.is_file() and p.suffix in HEADER_SUFFIXES)


# ---------------------------------------------------------------------- toolchain


@dataclass(frozen=True)
class Toolchain:
    prefix: str
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    startup_dir: Path
    hal: str

    @property
    def gcc(self) -> str:
        return self.prefix + "gcc"

    @property
    def linker_script(self) -> Path:
        return self.startup_dir / "linker.ld"


def toolchain_of(platform: Platform) -> Toolchain:
    tc = platform.section("toolchain")
    for key in ("prefix", "startup_dir", "hal"):
        if not isinstance(tc.get(key), str) or not tc.get(key):
            raise VbenchError(f"{platform.path}: [toolchain] needs '{key}' (a string) to build firmware")
    startup = data_file(tc["startup_dir"], platform.path.parent)
    t = Toolchain(tc["prefix"], tuple(tc.get("cflags", ())), tuple(tc.get("ldflags", ())), startup, tc["hal"])
    if not t.linker_script.is_file():
        raise VbenchError(f"{platform.path}: toolchain.startup_dir has no linker.ld ({t.linker_script})")
    return t


def _missing_compiler(prefix: str, what: str) -> VbenchError:
    pkgs = DEBIAN_PACKAGES.get(prefix)
    if pkgs:
        hint = f"install the Debian package(s): apt-get install --no-install-recommends {' '.join(pkgs)}"
    else:
        hint = f"install a {prefix}gcc cross compiler and put it on PATH"
    return VbenchError(f"{what}: {hint}")


def find_compiler(tc: Toolchain) -> str:
    path = shutil.which(tc.gcc)
    if path is None:
        raise _missing_compiler(tc.prefix, f"cross compiler {tc.gcc} not found on PATH")
    return path


@functools.lru_cache(maxsize=None)
def _prefix_maps() -> list[str]:
    # GCC tries the last map first, so the cache (often inside a checkout) comes last.
    return [f"-ffile-prefix-map={data_root().resolve()}=/vbench", f"-ffile-prefix-map={cache_dir().resolve()}=/vbench-cache"]


def _compiler_version_cached(path: str, mtime_ns: int) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VbenchError(f"cannot run {path} --version: {exc}") from None
    return out.stdout.splitlines()[0].strip() if out.stdout else f"unknown ({path})"


def compiler_version(path: str) -> str:
    return _compiler_version_cached(path, os.stat(path).st_mtime_ns)


# ---------------------------------------------------------------------- build


def _normalise_defines(defines: Iterable[str] | Mapping[str, object]) -> list[str]:
    if isinstance(defines, Mapping):
        items = [k if v is None else f"{k}={v}" for k, v in defines.items()]
    else:
        items = [str(d) for d in defines]
    for d in items:
        name = d.split("=", 1)[0]
        if not name or not (name[0].isalpha() or name[0] == "_") or not all(c.isalnum() or c == "_" for c in name):
            raise VbenchError(f"bad define '{d}': expected NAME or NAME=VALUE")
    return [f"-D{d}" for d in items]


def _check_opt(opt: str) -> str:
    if not (opt.startswith("-O") and len(opt) <= 6):
        raise VbenchError(f"bad optimisation flag '{opt}' (expected -O0, -O1, -O2, -O3, -Os, -Og, -Oz)")
    return opt


def _file_digest(h, path: Path, label: str) -> None:
    h.update(label.encode() + b"\0")
    try:
        h.update(path.read_bytes())
    except OSError as exc:
        raise VbenchError(f"cannot read {path}: {exc.strerror}") from None
    h.update(b"\0")


def _label(p: Path) -> str:
    return data_label(p)


def build_firmware(
    app: str | Path,
    platform: str | Platform,
    *,
    extra_sources: Iterable[str | Path] = (),
    include_dirs: Iterable[str | Path] = (),
    defines: Iterable[str] | Mapping[str, object] = (),
    opt: str = "-O2",
    out_dir: str | Path | None = None,
    ldflags: Iterable[str] = (),
) -> Path:
    """Build `app` for `platform` and return the ELF path (reused if nothing changed).

    `defines` are NAME or NAME=VALUE strings (or a mapping); `include_dirs` and `extra_sources` are
    paths; `ldflags` are extra linker-driver flags (e.g. `-Wl,--defsym=__stack_size=0x8000`).
    Compiler errors raise VbenchError carrying the compiler's message.
    """
    plat = platform if isinstance(platform, Platform) else load_platform(platform)
    a = resolve_app(app)
    if a.platforms is not None and plat.name not in a.platforms:
        raise VbenchError(f"firmware '{a.name}' is for {', '.join(a.platforms)} only, not {plat.name} "
                          f"(see {a.path / 'app.toml'})")
    tc = toolchain_of(plat)
    gcc = find_compiler(tc)
    version = compiler_version(gcc)

    isa_dir = a.path / plat.isa
    sources = _sources_in(a.path) + _sources_in(isa_dir)
    startup = [p for p in _sources_in(tc.startup_dir)]
    if not startup:
        raise VbenchError(f"{tc.startup_dir}: no start-up source")
    hal_sources: list[Path] = []
    if a.hal:
        hal_impl = HAL_DIR / tc.hal
        if not hal_impl.is_dir():
            raise VbenchError(f"{plat.path}: toolchain.hal = '{tc.hal}' but {hal_impl} does not exist")
        hal_sources = _sources_in(HAL_DIR) + _sources_in(hal_impl)
    extra = []
    for s in extra_sources:
        p = Path(s).resolve()
        if not p.is_file():
            raise VbenchError(f"extra source not found: {s}")
        extra.append(p)
    all_sources = sources + startup + hal_sources + extra

    incs = [a.path, isa_dir] if isa_dir.is_dir() else [a.path]
    if a.hal:
        incs += [HAL_DIR, HAL_DIR / tc.hal]
    for d in include_dirs:
        p = Path(d).resolve()
        if not p.is_dir():
            raise VbenchError(f"include directory not found: {d}")
        incs.append(p)

    cflags = [
        *tc.cflags, *COMMON_CFLAGS, _check_opt(opt),
        f'-DVB_PLATFORM_NAME="{plat.name}"',
        *_normalise_defines(a.defines), *_normalise_defines(defines),
        *[f"-I{p}" for p in incs],
        # The image must not depend on where vbench or its cache lives (debug info names source paths):
        # the same sources give the same ELF, and the same firmware_sha256, in any checkout or cache.
        *_prefix_maps(),
    ]
    link = [f"-T{tc.linker_script}", *tc.ldflags, *[str(f) for f in ldflags]]

    # Everything that decides the output goes into the hash.
    h = hashlib.sha256()
    h.update(json.dumps({"recipe": RECIPE_VERSION, "compiler": version, "gcc": gcc, "cflags": cflags,
                         "link": link, "platform": plat.name}, sort_keys=True).encode())
    headers = sorted({hdr for d in [*incs, tc.startup_dir] for hdr in _headers_under(d)})
    for f in [*all_sources, tc.linker_script, *headers]:
        _file_digest(h, f, _label(f))
    digest = h.hexdigest()[:16]

    if out_dir is None:
        out = cache_dir() / "firmware" / plat.name / f"{a.name}-{digest}"
    else:
        out = Path(out_dir).resolve()
    elf = out / f"{a.name}.elf"
    info_path = out / f"{a.name}.build.json"
    if elf.is_file() and info_path.is_file():
        try:
            if json.loads(info_path.read_text()).get("hash") == digest:
                return elf
        except (OSError, ValueError):
            pass
    out.mkdir(parents=True, exist_ok=True)

    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{a.name}.", suffix=".elf.tmp")
    os.close(fd)
    tmp_map = tmp[:-len(".elf.tmp")] + ".map.tmp"
    cmd = [gcc, *cflags, *[str(s) for s in all_sources], *link, f"-Wl,-Map={tmp_map}", "-o", tmp]
    try:
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=data_root(), timeout=600)
        except OSError as exc:
            raise _missing_compiler(tc.prefix, f"cannot run {gcc}: {exc.strerror}") from None
        except subprocess.TimeoutExpired:
            raise VbenchError(f"building {a.name} for {plat.name} took more than 600 s") from None
        if res.returncode != 0:
            msg = (res.stderr or res.stdout).strip()
            if "picolibc.specs" in msg and ("No such file" in msg or "cannot read" in msg):
                raise _missing_compiler(tc.prefix, f"picolibc for {tc.prefix.rstrip('-')} is missing")
            raise VbenchError(f"building firmware '{a.name}' for {plat.name} failed:\n{msg}")
        os.replace(tmp_map, out / f"{a.name}.map")
        os.replace(tmp, elf)
        info = {
            "hash": digest, "app": a.name, "platform": plat.name, "compiler": version,
            "command": cmd[:-3] + ["-o", str(elf)],
            "sources": [_label(s) for s in all_sources],
            "warnings": res.stderr.strip(),
        }
        fd, tmp_info = tempfile.mkstemp(dir=out, prefix=f".{a.name}.", suffix=".json.tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(info, f, indent=1)
        os.replace(tmp_info, info_path)
    finally:
        for t in (tmp, tmp_map):
            if os.path.exists(t):
                os.unlink(t)
    return elf


# ---------------------------------------------------------------------- image facts


def elf_sizes(path: str | Path) -> dict[str, int]:
    """Berkeley-style sizes: text (code + read-only data), data (initialised RAM), bss (zeroed RAM,
    including NOLOAD arenas); TLS zero-fill is counted once."""
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    sizes = {"text": 0, "data": 0, "bss": 0}
    with open(path, "rb") as f:
        elf = ELFFile(f)
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or sec["sh_size"] == 0:
                continue
            if sec["sh_type"] == "SHT_NOBITS":
                if flags & SH_FLAGS.SHF_TLS:
                    continue  # .tbss: its space is reserved again by .tbss_space
                sizes["bss"] += sec["sh_size"]
            elif flags & SH_FLAGS.SHF_EXECINSTR or not flags & SH_FLAGS.SHF_WRITE:
                sizes["text"] += sec["sh_size"]
            else:
                sizes["data"] += sec["sh_size"]
    return sizes
