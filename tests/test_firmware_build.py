"""Firmware builds: the start-up code, linker scripts, HAL, demo, bare_rm0432 and microbench images
for both boards, and the build driver's caching and error reporting."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from vbench.firmware import build as fw
from vbench.errors import VbenchError
from vbench.paths import cache_dir
from vbench.platform import load_platform

NUCLEO, RV = "nucleo-l4r5zi", "rv32imaf-mcu"
PLATFORMS = (NUCLEO, RV)
PAGE = 1024
STACK_PATTERN_SYMBOLS = ("__stack_bottom", "__stack_top", "__stack_size")


def _need_compiler(platform: str) -> None:
    tc = fw.toolchain_of(load_platform(platform))
    if shutil.which(tc.gcc) is None:
        pytest.skip(f"{tc.gcc} not installed")


@pytest.fixture(scope="module")
def images():
    """Every (app, platform) image that should build, built once (the build cache makes reruns cheap)."""
    cache = {}

    def get(app: str, platform: str) -> Path:
        _need_compiler(platform)
        if (app, platform) not in cache:
            cache[app, platform] = fw.build_firmware(app, platform)
        return cache[app, platform]

    return get


def _elf(path: Path):
    f = open(path, "rb")
    return f, ELFFile(f)


def _symbols(elf) -> dict[str, int]:
    return {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols() if s.name}


def _alloc_sections(elf):
    return [s for s in elf.iter_sections() if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_size"]]


# ---------------------------------------------------------------------- every image


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("app", ["demo", "microbench", "bare_rm0432"])
def test_images_build_with_entry_and_stack_symbols(images, app, platform):
    if app == "bare_rm0432" and platform == RV:
        _need_compiler(platform)
        with pytest.raises(VbenchError, match="nucleo-l4r5zi only"):
            fw.build_firmware(app, platform)
        return
    path = images(app, platform)
    assert path.is_file() and path.parent.parent == cache_dir() / "firmware" / platform
    f, elf = _elf(path)
    with f:
        syms = _symbols(elf)
        for name in STACK_PATTERN_SYMBOLS + ("_sdata", "_edata", "_sbss", "_ebss", "_sidata", "__heap_start", "end"):
            assert name in syms, name
        assert syms["__stack_top"] - syms["__stack_bottom"] == syms["__stack_size"] > 0
        assert syms["_ebss"] <= syms["__stack_bottom"]
        if platform == NUCLEO:
            assert elf["e_machine"] == "EM_ARM"
            assert elf["e_entry"] & ~1 == syms["Reset_Handler"] & ~1
            assert syms["__stack_top"] == 0x2004_0000  # top of SRAM1 + SRAM2 (256 KiB)
        else:
            assert elf["e_machine"] == "EM_RISCV"
            assert elf["e_entry"] == syms["_start"] == 0x0080_0000
            assert syms["__stack_top"] == 0x00A0_0000
    sizes = fw.elf_sizes(path)
    assert sizes["text"] > 0 and sizes["data"] >= 0 and sizes["bss"] >= 0


# ---------------------------------------------------------------------- Nucleo layout


@pytest.mark.parametrize("app", ["demo", "microbench", "bare_rm0432"])
def test_nucleo_vector_table_and_data_placement(images, app):
    path = images(app, NUCLEO)
    f, elf = _elf(path)
    with f:
        syms = _symbols(elf)
        vec = elf.get_section_by_name(".isr_vector")
        assert vec is not None and vec["sh_addr"] == 0x0800_0000
        words = [int.from_bytes(vec.data()[i:i + 4], "little") for i in range(0, 8, 4)]
        assert words[0] == syms["__stack_top"]                      # initial MSP
        assert words[1] == syms["Reset_Handler"] | 1                 # Thumb entry
        assert vec["sh_size"] == 4 * (16 + 95)                       # 16 system + 95 STM32L4R5 IRQs
        data = elf.get_section_by_name(".data")
        seg = next(s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s.section_in_segment(data))
        lma = seg["p_paddr"] + data["sh_addr"] - seg["p_vaddr"]
        assert 0x0800_0000 <= lma < 0x0820_0000, "initial .data must be stored in flash"
        assert 0x2000_0000 <= data["sh_addr"] < 0x2004_0000
        assert lma == syms["_sidata"]


@pytest.mark.parametrize("app", ["demo", "microbench", "bare_rm0432"])
def test_nucleo_no_flash_page_mixes_code_and_rodata(images, app):
    """Flash/ART timing: a 1 KiB page holds code or constant data, never both. The vector table
    (read once at reset) shares the first page with code on purpose."""
    path = images(app, NUCLEO)
    f, elf = _elf(path)
    with f:
        code_pages, data_pages = set(), {}
        for s in _alloc_sections(elf):
            lo, hi = s["sh_addr"], s["sh_addr"] + s["sh_size"]
            if not 0x0800_0000 <= lo < 0x0820_0000 or s["sh_type"] == "SHT_NOBITS":
                continue
            pages = set(range(lo // PAGE, (hi - 1) // PAGE + 1))
            if s["sh_flags"] & SH_FLAGS.SHF_EXECINSTR:
                code_pages |= pages
            elif s.name != ".isr_vector":
                for p in pages:
                    data_pages.setdefault(p, s.name)
        rodata = elf.get_section_by_name(".rodata")
        assert rodata is not None and rodata["sh_addr"] % PAGE == 0
        mixed = sorted(code_pages & set(data_pages))
        assert not mixed, f"pages holding code and {[data_pages[p] for p in mixed]}: {[hex(p * PAGE) for p in mixed]}"


def test_microbench_ramfunc_runs_from_sram_and_is_loaded_from_flash(images):
    path = images("microbench", NUCLEO)
    f, elf = _elf(path)
    with f:
        syms = _symbols(elf)
        ram = elf.get_section_by_name(".ramfunc")
        assert ram is not None and ram["sh_flags"] & SH_FLAGS.SHF_EXECINSTR
        assert 0x2000_0000 <= syms["mb_loop_sram"] < 0x2004_0000
        assert 0x0800_0000 <= syms["mb_loop_flash"] < 0x0820_0000
        assert 0x0800_0000 <= syms["__ramfunc_load"] < 0x0820_0000


@pytest.mark.parametrize("platform", PLATFORMS)
def test_weights_section_lands_in_rodata(tmp_path, platform):
    _need_compiler(platform)
    src = tmp_path / "weights.c"
    src.write_text(textwrap.dedent("""\
        #include <stdint.h>
        const int8_t vb_test_weights[256] __attribute__((section(".rodata.vbench_weights.test"))) = {1, 2, 3};
    """))
    path = fw.build_firmware("demo", platform, extra_sources=[src], out_dir=tmp_path / "out",
                             ldflags=["-Wl,--undefined=vb_test_weights"])
    f, elf = _elf(path)
    with f:
        rodata = elf.get_section_by_name(".rodata")
        addr = _symbols(elf)["vb_test_weights"]
        assert rodata["sh_addr"] <= addr < rodata["sh_addr"] + rodata["sh_size"]
        assert addr % 32 == 0


# ---------------------------------------------------------------------- build driver


def test_list_apps():
    assert {"demo", "bare_rm0432", "microbench"} <= set(fw.list_apps())


def test_rebuild_is_cached_and_flags_change_the_output(images):
    first = images("demo", NUCLEO)
    stamp = first.stat().st_mtime_ns
    again = fw.build_firmware("demo", NUCLEO)
    assert again == first and again.stat().st_mtime_ns == stamp
    other = fw.build_firmware("demo", NUCLEO, defines=["LOOP_N=100u"])
    assert other != first and other.parent.name.startswith("demo-")


def test_out_dir_build_is_cached(tmp_path):
    _need_compiler(RV)
    a = fw.build_firmware("demo", RV, out_dir=tmp_path)
    stamp = a.stat().st_mtime_ns
    b = fw.build_firmware("demo", RV, out_dir=tmp_path)
    assert a == b == tmp_path / "demo.elf" and b.stat().st_mtime_ns == stamp
    assert (tmp_path / "demo.map").is_file()
    assert not list(tmp_path.glob(".*tmp")), "temporary files left behind"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_syntax_error_names_the_file(tmp_path, platform):
    _need_compiler(platform)
    app = tmp_path / "broken"
    app.mkdir()
    (app / "main.c").write_text("int main(void) { return 0 }\n")
    with pytest.raises(VbenchError) as exc:
        fw.build_firmware(app, platform, out_dir=tmp_path / "out")
    assert "main.c" in str(exc.value) and "error" in str(exc.value)


def test_missing_cross_compiler_names_the_debian_package(monkeypatch):
    monkeypatch.setattr(fw.shutil, "which", lambda name: None)
    with pytest.raises(VbenchError, match="gcc-arm-none-eabi"):
        fw.build_firmware("demo", NUCLEO)
    with pytest.raises(VbenchError, match="gcc-riscv64-unknown-elf"):
        fw.build_firmware("demo", RV)


def test_unknown_app_and_bad_define():
    with pytest.raises(VbenchError, match="unknown firmware application"):
        fw.build_firmware("no_such_app", NUCLEO)
    with pytest.raises(VbenchError, match="bad define"):
        fw.build_firmware("demo", NUCLEO, defines=["1BAD"])


def test_cli_build(images, capsys):
    from vbench.cli import main

    images("demo", NUCLEO)
    assert main(["build", "demo", "--platform", NUCLEO]) == 0
    out = capsys.readouterr().out
    assert "demo.elf" in out and "text" in out and NUCLEO in out


# ---------------------------------------------------------------------- on the virtual board


def _demo_checksum(n: int = 10000, h: int = 0x811C9DC5) -> int:
    for i in range(n):
        h ^= i & 0xFF
        h = (h * 16777619) & 0xFFFFFFFF
        h ^= h >> 13
    return h


@pytest.mark.parametrize("platform", PLATFORMS)
def test_demo_runs_on_the_virtual_board(images, platform):
    board = pytest.importorskip("vbench.sim.board")
    path = images("demo", platform)
    try:
        result = board.run_firmware(path, platform, uart_input=b"ping\n")
    except VbenchError as exc:
        if "unknown type" in str(exc):
            pytest.skip(f"board models not available yet: {exc}")
        raise
    assert result.exit == "exit" and result.exit_code == 0, result.message
    assert f"checksum=0x{_demo_checksum():08x}" in result.uart
    assert "echo: ping" in result.uart


def test_the_image_does_not_depend_on_where_the_cache_lives(tmp_path):
    """Debug info names source paths, and the model's generated sources live in the cache: with the
    prefix maps, the same sources give byte-identical ELFs (and so the same firmware_sha256 in results)
    whichever cache folder built them (each build in its own process, as two CI jobs would)."""
    import hashlib
    import os
    import subprocess
    import sys

    digests = set()
    for name in ("one", "two/deeper"):
        env = {**os.environ, "VBENCH_CACHE": str(tmp_path / name)}
        out = subprocess.run([sys.executable, "-c", "from vbench.harness.build import build_harness; "
                              "print(build_harness('ad01', 'nucleo-l4r5zi'))"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        elf = Path(out.strip().splitlines()[-1])
        assert elf.is_relative_to(tmp_path / name)
        digests.add(hashlib.sha256(elf.read_bytes()).hexdigest())
    assert len(digests) == 1
