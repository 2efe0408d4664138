"""vbench's build of Unicorn 2.1.4 with RAM stores on the fast path (vbench/sim/unicorn_lib.py) gives
exactly the figures of the wheel's library: the same firmware runs on both, in two processes, and
every counted figure must agree. Which library a process loads follows VBENCH_UNICORN and the build
in the cache; a store to read-only memory still faults on it (tests/test_decode_executed.py runs on
whichever library vbench selected)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vbench.bench import TFLM_DIR
from vbench.errors import VbenchError
from vbench.firmware import build_firmware
from vbench.platform import load_platform
from vbench.sim import unicorn_lib

FAST = unicorn_lib.fast_library_dir() / unicorn_lib.LIBRARY
needs_fast = pytest.mark.skipif(not FAST.is_file(), reason="vbench's Unicorn build is absent (vbench unicorn --build)")


def environment(stock: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LIBUNICORN_PATH", unicorn_lib.ENV)}
    if stock:
        env[unicorn_lib.ENV] = "stock"
    return env


def vbench_json(*args: str, stock: bool) -> dict:
    """The command's JSON with its exit status (bench_mix exits with its checksum)."""
    r = subprocess.run([sys.executable, "-m", "vbench", *args], capture_output=True, text=True,
                       env=environment(stock), timeout=900)
    assert r.stdout.startswith("{"), r.stderr[-2000:]
    return {**json.loads(r.stdout), "returncode": r.returncode}


def library_of(stock: bool) -> str:
    env = environment(stock)
    code = "import vbench; from vbench.sim import unicorn_lib; print(unicorn_lib.loaded_library())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True).stdout.strip()


@needs_fast
def test_each_process_loads_the_library_it_was_told():
    assert Path(library_of(stock=False)) == FAST
    stock = Path(library_of(stock=True))
    assert stock != FAST and stock.name == unicorn_lib.LIBRARY and "site-packages" in str(stock)


def elfs() -> list[tuple[str, Path]]:
    nucleo, rv = load_platform("nucleo-l4r5zi"), load_platform("rv32imaf-mcu")
    out = [("nucleo-l4r5zi", build_firmware("bench_mix", nucleo, defines=["BENCH_ITERATIONS=20"])),
           ("rv32imaf-mcu", build_firmware("bench_mix", rv, defines=["BENCH_ITERATIONS=20"]))]
    if TFLM_DIR.is_dir():
        out.append(("nucleo-l4r5zi", TFLM_DIR / "ad_cmsis.elf"))
    return out


@needs_fast
@pytest.mark.parametrize("platform, elf", elfs(), ids=lambda x: x if isinstance(x, str) else x.name)
def test_the_fast_store_build_gives_the_stock_figures(platform, elf):
    """bench_mix reads flash and stores to SRAM on the Nucleo; on the RV32 board code and data share
    SRAM; the TFLM image adds clocks, the UART and DWT."""
    fast = vbench_json("exec", str(elf), "--platform", platform, "--json", stock=False)
    stock = vbench_json("exec", str(elf), "--platform", platform, "--json", stock=True)
    for r in (fast, stock):
        r.pop("wall_s")
    assert fast["exit"] == "exit" and fast["instructions"] > 100_000
    assert fast == stock


def test_select_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VBENCH_CACHE", str(tmp_path))
    folder = unicorn_lib.fast_library_dir()
    monkeypatch.delenv("LIBUNICORN_PATH", raising=False)
    monkeypatch.delenv(unicorn_lib.ENV, raising=False)
    monkeypatch.setattr(sys, "modules", {k: v for k, v in sys.modules.items() if k != "unicorn"})
    unicorn_lib.select()
    assert "LIBUNICORN_PATH" not in os.environ  # nothing built in this cache: the wheel's library
    folder.mkdir(parents=True)
    (folder / unicorn_lib.LIBRARY).write_bytes(b"")
    unicorn_lib.select()
    assert os.environ["LIBUNICORN_PATH"] == str(folder)
    monkeypatch.setenv(unicorn_lib.ENV, "stock")  # inherited from a vbench parent, then refused
    unicorn_lib.select()
    assert "LIBUNICORN_PATH" not in os.environ
    monkeypatch.delenv(unicorn_lib.ENV)
    monkeypatch.setenv("LIBUNICORN_PATH", "/somewhere/else")  # the user's own choice stays
    unicorn_lib.select()
    assert os.environ["LIBUNICORN_PATH"] == "/somewhere/else"


def test_the_change_applies_to_the_2_1_4_text_only(tmp_path):
    src = tmp_path / "src"
    target = src / unicorn_lib.PATCH_FILE
    target.parent.mkdir(parents=True)
    target.write_text("before\n" + unicorn_lib.PATCH_OLD + "\nafter\n")
    unicorn_lib.apply_change(src)
    text = target.read_text()
    assert unicorn_lib.PATCH_NEW in text and unicorn_lib.PATCH_OLD not in text and text.startswith("before\n")
    with pytest.raises(VbenchError, match="do not read as expected"):
        unicorn_lib.apply_change(src)  # already changed, or another version's sources
