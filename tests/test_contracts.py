"""Contracts between the parts: core plug-ins are found by the platform's timing model alone, the
native library is refused when built from other headers, and the tables Python mirrors from C
(operator kinds, stall causes) match their C definitions."""

import ctypes
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from vbench.errors import VbenchError
from vbench.platform import load_platform
from vbench.sim import native as N
from vbench.sim.board import run_firmware
from vbench.sim.cores import core_for, register
from vbench.sim.cores.cortex_m4 import CortexM4

from asm import assemble_arm

ROOT = Path(__file__).resolve().parents[1]
TOY = Path(__file__).parent / "platforms" / "toy-core.toml"
BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"


@register
class ToyM4(CortexM4):
    """A third core, added from outside vbench/sim: the M4's decoder and exits, other timings."""
    TIMING_MODEL = "toy-m4"


def test_a_core_plug_in_needs_only_its_module_and_a_toml(tmp_path):
    assert isinstance(core_for(load_platform(TOY)), ToyM4)
    body = "    adds r0, r0, #1\n" * 10
    base = run_firmware(assemble_arm(tmp_path, body, name="m4"), load_platform(BARE))
    toy = run_firmware(assemble_arm(tmp_path, body, name="toy"), load_platform(TOY))
    assert toy.exit == base.exit == "exit"
    assert toy.instructions == base.instructions
    # ten ADDs and the exit's MOVS are ALU instructions: one more cycle each
    assert toy.cycles == base.cycles + 11


def test_unknown_timing_model_names_the_file_and_the_known_cores(tmp_path):
    plat = tmp_path / "odd.toml"
    plat.write_text(TOY.read_text().replace('"toy-m4"', '"no-such-core"').replace('"bare-m4.toml"', f'"{BARE}"'))
    with pytest.raises(VbenchError, match=r"odd.toml: timing.model 'no-such-core' has no core plug-in .*cortex-m4"):
        core_for(load_platform(plat))


def _stale_library(tmp_path, source: str) -> str:
    if shutil.which("cc") is None:
        pytest.skip("no host C compiler")
    src, lib = tmp_path / "stale.c", tmp_path / "libstale.so"
    src.write_text(source)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, capture_output=True)
    return str(lib)


def test_a_library_built_from_other_headers_is_refused(tmp_path):
    want = N.abi_expectation()
    sizes = ", ".join(str(v) for v in want[:1] + [want[1] - 8] + want[2:])  # vb_params lost a field
    path = _stale_library(tmp_path, "#include <stdint.h>\n"
                          f"uint32_t vb_abi(uint32_t *s, uint32_t n) {{ uint32_t a[] = {{{sizes}}};"
                          " for (uint32_t i = 0; i < n && i < sizeof a / 4; i++) s[i] = a[i];"
                          f" return {N.ABI_VERSION}; }}\n")
    with pytest.raises(VbenchError, match="was built from other headers.*reinstall vbench"):
        N.check_abi(ctypes.CDLL(path), path)


def test_a_library_from_before_the_abi_check_is_refused(tmp_path):
    path = _stale_library(tmp_path, "int vb_create(void) { return 0; }\n")
    with pytest.raises(VbenchError, match="predates the ABI check"):
        N.check_abi(ctypes.CDLL(path), path)


def test_the_installed_library_matches_its_mirrors():
    N.check_abi(N.library(), "installed")  # also done at load; here the expectation is explicit
    sizes = (ctypes.c_uint32 * len(N.abi_expectation()))()
    assert N.library().vb_abi(sizes, len(sizes)) == N.ABI_VERSION
    assert list(sizes)[-2:] == [len(N.STALL_CAUSES), N.STOP_SIGNAL + 1]


def test_operator_kinds_match_the_runtime_header():
    from vbench.compiler.fold import OP_KINDS

    header = (ROOT / "firmware" / "kernels" / "kernels.h").read_text()
    enum = {name: int(value) for name, value in re.findall(r"VB_OP_(\w+)\s*=\s*(\d+)", header)}
    assert enum == OP_KINDS


@pytest.mark.parametrize("setting", ["flash.cache_line_bytes=0", "flash.icache_lines=-1", "flash.wait_states=-1",
                                     "flash.wait_states=16", "flash.fetch_bytes=0", "flash.read_overhead=nan",
                                     "flash.dcache_lines=1e9", "flash.wait_states=2.5"])
def test_flash_parameters_out_of_range_are_refused_naming_the_key(tmp_path, setting):
    elf = assemble_arm(tmp_path, "    nop\n")
    with pytest.raises(VbenchError, match=rf"flash\.{setting.split('=')[0].split('.')[1]} = .* must be a whole number from"):
        run_firmware(elf, load_platform("nucleo-l4r5zi", [setting]))


def test_flash_fill_that_does_not_divide_the_line_is_refused(tmp_path):
    with pytest.raises(VbenchError, match=r"flash\.fill_bytes = 3 must be .*a power of two"):
        load_platform("nucleo-l4r5zi", ["flash.fill_bytes=3"])
    with pytest.raises(VbenchError, match=r"flash\.fill_bytes = 64 is larger than the 32-byte cache line"):
        load_platform("nucleo-l4r5zi", ["flash.fill_bytes=64"])


@pytest.mark.parametrize("setting,culprit", [
    ("timing.alu=-1", r"timing\.alu = -1 must be a whole number from 0 to 255 cycles"),
    ("timing.load=1000", r"timing\.load = 1000 must be"), ("timing.branch_refill=nan", r"timing\.branch_refill = nan"),
    ("timing.alu=1.5", r"timing\.alu = 1\.5"), ("power.supply_v=nan", r"supply_v = nan must be a number from 1 to 3\.6 V"),
    ("power.supply_v=0", r"supply_v = 0 must be"), ("power.class_pc.alu=-3", r"class_pc\.alu = -3"),
    ("power.stall_pc=1e9", r"stall_pc = 1000000000"), ("run.max_seconds=0", r"run\.max_seconds = 0 must be a number above 0")])
def test_timing_power_and_run_numbers_out_of_range_are_refused(tmp_path, setting, culprit):
    elf = assemble_arm(tmp_path, "    nop\n")
    with pytest.raises(VbenchError, match=culprit):
        run_firmware(elf, load_platform("nucleo-l4r5zi", [setting]))


def test_power_model_figures_are_overrides(tmp_path):
    """The README's example: --set power.static_ua=500 reaches the power model."""
    elf = assemble_arm(tmp_path, "    nop\n" * 100)
    base = run_firmware(elf, load_platform("nucleo-l4r5zi"))
    more = run_firmware(elf, load_platform("nucleo-l4r5zi", ["power.static_ua=500"]))
    assert more.cycles == base.cycles
    assert more.energy_uj - base.energy_uj == pytest.approx(1.8 * 500e-6 * base.time_s * 1e6, rel=1e-9)


def test_every_number_a_model_reads_has_one_declared_range():
    """vbench/parameters.py is the one table: every pinnable key, power key and [flash] key has a
    declaration, and a value just outside each declared range is refused with the key and the range."""
    from vbench.parameters import check, spec
    from vbench.platform import PINNABLE, POWER_KEYS
    from vbench.sim.flash_models import FLASH_NUMBERS

    keys = [k for k in (*PINNABLE, *POWER_KEYS) if k not in ("flash.prefetch", "flash.icache", "flash.dcache")]
    keys += [f"flash.{k}" for k in FLASH_NUMBERS] + ["timing.alu", "core.reset_clock_hz"]
    for key in keys:
        p = spec(key)
        assert p is not None, key
        outside = p.lo if p.above_lo else (p.lo - 1)
        with pytest.raises(VbenchError, match=rf"here: {re.escape(key)} = .* must be .*{re.escape(format(p.hi, 'g'))}"):
            check(key, outside, "here")
        assert check(key, p.hi, "here") == p.hi
