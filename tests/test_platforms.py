"""Platform files: the shipped boards load, cite their timing figures, and bad files are rejected
with a message naming the file and the problem."""

import pytest

from vbench.errors import VbenchError
from vbench.platform import available_platforms, load_platform

GOOD = """
name = "t"
[core]
isa = "armv7e-m"
reset_clock_hz = 4000000
[memory.flash]
kind = "flash"
base = 0x08000000
size = 0x100000
"""


def test_shipped_boards_load_with_the_reference_memory_map():
    names = {p.stem for p in available_platforms()}
    assert {"nucleo-l4r5zi", "rv32imaf-mcu"} <= names
    nucleo = load_platform("nucleo-l4r5zi")
    mems = {m.name: (m.base, m.size, m.aliases) for m in nucleo.memories}
    assert mems["flash"] == (0x08000000, 2 << 20, (0,))
    assert mems["sram1"] == (0x20000000, 192 << 10, ())
    assert mems["sram2"] == (0x10000000, 64 << 10, (0x20030000,))
    assert mems["sram3"] == (0x20040000, 384 << 10, ())
    assert sum(m.size for m in nucleo.memories if m.kind == "sram") == 640 << 10
    rv = load_platform("rv32imaf-mcu")
    assert rv.get("core.reset_clock_hz") == 336_000_000
    assert {m.name: m.size for m in rv.memories}["sram"] == 2 << 20


@pytest.mark.parametrize("name", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_every_timing_figure_cites_a_source(name):
    plat = load_platform(name)
    records = {k: v for k, v in plat.section("timing").items() if isinstance(v, dict)}
    assert len(records) >= 15
    for key, rec in records.items():
        assert rec["source"].strip(), key


def test_overrides_are_applied_and_recorded():
    plat = load_platform("nucleo-l4r5zi", ["core.clock_hz=80e6", "flash.wait_states=3", "timing.load=3"])
    assert plat.get("core.clock_hz") == 80_000_000
    assert plat.get("flash.wait_states") == 3
    assert plat.get("timing.load") == 3 and plat.source_of("timing.load") == "override (--set)"
    assert plat.overrides["core.clock_hz"] == 80_000_000
    assert plat.fingerprint() != load_platform("nucleo-l4r5zi").fingerprint()


@pytest.mark.parametrize("text, words", [
    ("name = \"t\"\n[core\n", ["not valid TOML"]),
    (GOOD.replace('isa = "armv7e-m"', 'isa = "mips"'), ["core.isa"]),
    (GOOD.replace("size = 0x100000", "size = 1000"), ["memory.flash.size"]),
    (GOOD + '[memory.ram]\nkind = "sram"\nbase = 0x08080000\nsize = 0x10000\n', ["overlaps"]),
    (GOOD + '[timing]\nload = { value = 2 }\n', ["timing.load", "source"]),
    (GOOD + '[peripherals.u]\nbase = 0x40000000\n', ["peripherals.u", "type"]),
    (GOOD.replace("reset_clock_hz = 4000000", "reset_clock_hz = -1"), ["reset_clock_hz"]),
    ('extends = "missing.toml"\n' + GOOD, ["missing.toml"]),
])
def test_malformed_platform_files_are_rejected(tmp_path, text, words):
    f = tmp_path / "board.toml"
    f.write_text(text)
    with pytest.raises(VbenchError) as err:
        load_platform(f)
    assert "board.toml" in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_unknown_platform_and_unknown_override_suggest_names():
    with pytest.raises(VbenchError, match="did you mean 'nucleo-l4r5zi'"):
        load_platform("nucleo-l4r5z")
    with pytest.raises(VbenchError, match="did you mean 'timing.load'"):
        load_platform("nucleo-l4r5zi", ["timing.lod=3"])


@pytest.mark.parametrize("name", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_power_model_figures_cite_sources(name):
    from vbench.power import load_power_model

    pm = load_power_model(load_platform(name))
    assert pm.supply_v > 0
    assert len(pm.sources) >= 15 and all(s.strip() for s in pm.sources.values())


def test_power_model_without_source_is_rejected(tmp_path):
    bad = tmp_path / "pm.toml"
    bad.write_text('supply_v = 1.8\n')
    with pytest.raises(VbenchError, match="pm.toml: 'supply_v' must be a record"):  # when the platform loads
        load_platform("nucleo-l4r5zi", [f'power.model="{bad}"'])
