"""`vbench validate`: the fidelity suite against board measurements, and the C++ demangler it
needs to name functions such as tflite::MicroInterpreter::Invoke."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vbench.sim.demangle import demangle

SHARED = Path(__file__).parents[1].parent / "shared"
TFLM = SHARED / "firmware" / "tflm-2.3.1"


# ====================================================================== demangler
@pytest.mark.parametrize("mangled, name, full", [
    ("_ZN6tflite16MicroInterpreter6InvokeEv", "tflite::MicroInterpreter::Invoke", "tflite::MicroInterpreter::Invoke()"),
    ("_ZNK6tflite12RuntimeShape4DimsEi", "tflite::RuntimeShape::Dims", "tflite::RuntimeShape::Dims(int) const"),
    # substitutions S_, S0_, S2_ (prefixes, qualified and reference types are candidates)
    ("_ZN6tflite11MatchingDimERKNS_12RuntimeShapeEiS2_i", "tflite::MatchingDim",
     "tflite::MatchingDim(tflite::RuntimeShape const&, int, tflite::RuntimeShape const&, int)"),
    # a function template: return type, template parameters T_ / T0_
    ("_ZN6tflite13reference_ops7SoftmaxIaaEEvRKNS_13SoftmaxParamsERKNS_12RuntimeShapeEPKT_S7_PT0_",
     "tflite::reference_ops::Softmax<signed char, signed char>",
     "void tflite::reference_ops::Softmax<signed char, signed char>(tflite::SoftmaxParams const&, "
     "tflite::RuntimeShape const&, signed char const*, tflite::RuntimeShape const&, signed char*)"),
    # constructors, destructors, literals, nested templates with "> >"
    ("_ZN6tflite16MicroInterpreterD2Ev", "tflite::MicroInterpreter::~MicroInterpreter",
     "tflite::MicroInterpreter::~MicroInterpreter()"),
    ("_ZNK11flatbuffers6VectorINS_6OffsetIN6tflite6BufferEEEE3GetEm",
     "flatbuffers::Vector<flatbuffers::Offset<tflite::Buffer> >::Get",
     "flatbuffers::Vector<flatbuffers::Offset<tflite::Buffer> >::Get(unsigned long) const"),
    ("_ZNK6tflite22MicroMutableOpResolverILj3EE6FindOpEPKc", "tflite::MicroMutableOpResolver<3u>::FindOp",
     "tflite::MicroMutableOpResolver<3u>::FindOp(char const*) const"),
    # anonymous namespace, operator(), GCC clone suffix
    ("_ZN6tflite12_GLOBAL__N_124SafeBuiltinDataAllocator18BuiltinDataDeleterclEPv.isra.0",
     "tflite::(anonymous namespace)::SafeBuiltinDataAllocator::BuiltinDataDeleter::operator()",
     "tflite::(anonymous namespace)::SafeBuiltinDataAllocator::BuiltinDataDeleter::operator()(void*) [clone .isra.0]"),
    # local names and lambdas
    ("_ZZ4mainE11interpreter", "main::interpreter", "main::interpreter"),
    ("_ZZN6tflite24EnumNamesBuiltinOperatorEvE5names", "tflite::EnumNamesBuiltinOperator()::names",
     "tflite::EnumNamesBuiltinOperator()::names"),
    # declarators: function pointer, array pointer, const pointer, member function pointer, pack
    ("_Z1fPFviE", "f", "f(void (*)(int))"),
    ("_Z1fPA4_i", "f", "f(int (*) [4])"),
    ("_Z1fKPc", "f", "f(char* const)"),
    ("_Z1fM1AKFviE", "f", "f(void (A::*)(int) const)"),
    ("_Z1fIJidEEvDpT_", "f<int, double>", "void f<int, double>(int, double)"),
    ("_ZNSsC1Ev", "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string",
     "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string()"),
    # special names
    ("_ZTVN6tflite14MicroAllocatorE", "vtable for tflite::MicroAllocator", "vtable for tflite::MicroAllocator"),
    ("_ZGVZ4mainE8resolver", "guard variable for main::resolver", "guard variable for main::resolver"),
])
def test_demangle_cases(mangled, name, full):
    assert demangle(mangled) == name
    assert demangle(mangled, params=True) == full


@pytest.mark.parametrize("text", ["main", "arm_convolve_s8", "_Zfoo", "_ZN6tflite", "_ZN3fooE.123", "", "_Z"])
def test_demangle_leaves_c_names_and_garbage_unchanged(text):
    assert demangle(text) == text


def test_demangle_matches_cxxfilt_on_the_tflm_firmware():
    """Every C++ symbol of the eight TFLM images, both forms, against GNU c++filt (binutils)."""
    cxxfilt = shutil.which("c++filt") or shutil.which("arm-none-eabi-c++filt")
    if cxxfilt is None or not TFLM.is_dir():
        pytest.skip("needs c++filt and ../shared/firmware/tflm-2.3.1")
    from vbench.sim.elf import load_image

    names = sorted({n for elf in TFLM.glob("*.elf") for n in load_image(elf).symbols if n.startswith("_Z")})
    assert len(names) > 200
    for flags, params in (([], True), (["-p"], False)):
        want = subprocess.run([cxxfilt, *flags], input="\n".join(names), capture_output=True, text=True,
                              check=True).stdout.splitlines()
        got = [demangle(n, params=params) for n in names]
        assert [(n, g) for n, g, w in zip(names, got, want) if g != w] == []


# ====================================================================== vbench validate
import csv  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402

from vbench.cli import main  # noqa: E402
from vbench.validate import COLUMNS, read_csv  # noqa: E402

AD = TFLM / "ad_cmsis.elf"
# function: vs uart: on the same Invoke() calls. The firmware samples DWT CYCCNT with `ldr.w fp, [r4, #4]`,
# then `bl Invoke`, then `ldr r3, [r4, #4]` (objdump of ad_cmsis.elf main). The DWT window holds, besides the
# function's own cycles, the tail of the first load (1 cycle), the BL (1 + pipeline refill of up to 3 cycles,
# Cortex-M4 TRM table 3-1) and the head of the second load up to its data phase (2 cycles), and the flash
# fetch of the call target may miss the ART (5 wait states, README of the firmware: FLASH_ACR LATENCY 5):
# 1 + 4 + 2 + 6 = 13 cycles, bounded here by 16, i.e. 0.002 % of an AD inference. Measured with the first
# Board.watch_calls: 980,882 cycles per call (median) against 980,891 from DWT, 9 cycles apart.
FUNCTION_VS_DWT_CYCLES = 16
UART_MEASURE = r"uart:inference \d+ cycles (\d+)"
needs_tflm = pytest.mark.skipif(not AD.is_file(), reason="../shared/firmware/tflm-2.3.1 is absent")


def write_csv(path: Path, rows: list[dict], columns=COLUMNS) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in columns})
    return path


def ad_row(**kw) -> dict:
    row = {"firmware": str(AD), "platform": "nucleo-l4r5zi", "measure": UART_MEASURE, "latency_ms": "8.0",
           "energy_uj": "300", "voltage_v": "1.8", "clock_hz": "120e6", "role": "held-out",
           "source": "test figures, not a measurement"}
    row.update(kw)
    return row


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["validate", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_missing_column_is_exit_2_naming_file_and_column(tmp_path, capsys):
    f = write_csv(tmp_path / "m.csv", [{"firmware": "x.elf"}], [c for c in COLUMNS if c != "measure"])
    code, _out, err = run_cli(capsys, f)
    assert code == 2
    assert str(f) in err and "line 1" in err and "missing column(s) measure" in err


def test_bad_number_is_exit_2_naming_line_and_column(tmp_path, capsys):
    (tmp_path / "fw.elf").write_bytes(b"\x7fELF")
    f = write_csv(tmp_path / "m.csv", [ad_row(firmware="fw.elf"), ad_row(firmware="fw.elf", latency_ms="12 ms")])
    code, _out, err = run_cli(capsys, f)
    assert code == 2
    assert f"{f}: line 3, column latency_ms: '12 ms' is not a number" in err


def test_missing_firmware_is_exit_2_naming_the_file_and_line(tmp_path, capsys):
    f = write_csv(tmp_path / "m.csv", [ad_row(firmware="no_such.elf")])
    code, _out, err = run_cli(capsys, f)
    assert code == 2
    assert f"{f}: line 2, column firmware" in err and str(tmp_path / "no_such.elf") in err


@pytest.mark.parametrize("cell, words", [
    ("cycles:foo", "is not a measure"),
    (r"uart:inference \d+", "needs exactly one, the cycle count"),
    ("uart:(unclosed", "does not compile"),
])
def test_bad_measure_is_exit_2(tmp_path, capsys, cell, words):
    (tmp_path / "fw.elf").write_bytes(b"\x7fELF")
    f = write_csv(tmp_path / "m.csv", [ad_row(firmware="fw.elf", measure=cell)])
    code, _out, err = run_cli(capsys, f)
    assert code == 2 and f"{f}: line 2, column measure" in err and words in err


def test_roles_and_relative_paths(tmp_path):
    (tmp_path / "fw.elf").write_bytes(b"\x7fELF")
    f = write_csv(tmp_path / "m.csv", [ad_row(firmware="fw.elf", role=r) for r in ("calibration", "validation",
                                                                                   "held-out", "")])
    rows = read_csv(f)
    assert [r.role for r in rows] == ["calibration", "held-out", "held-out", "held-out"]
    assert rows[0].elf == tmp_path / "fw.elf" and rows[0].measure.kind == "uart"
    with pytest.raises(Exception, match="line 2, column role: 'train' is not a role"):
        read_csv(write_csv(tmp_path / "b.csv", [ad_row(firmware="fw.elf", role="train")]))


@needs_tflm
def test_shipped_measurements_parse_and_name_functions_the_elfs_have():
    """The board measurements that ship with the TFLM firmware: both rows resolve, and the C++ name
    they measure is found in each ELF through the demangler."""
    from vbench.validate import function_names, preflight
    from vbench.sim.elf import load_image

    path = TFLM / "measurements.csv"
    rows = read_csv(path)
    assert {("kws_cmsis.elf", "calibration"), ("vww_cmsis.elf", "calibration")} <= {(r.name, r.role) for r in rows}
    platforms = preflight(rows, path)
    assert {p.name for p in platforms.values()} == {"nucleo-l4r5zi"}
    for r in rows:
        if r.measure.arg == "tflite::MicroInterpreter::Invoke":
            assert function_names(load_image(r.elf))[r.measure.arg] == "_ZN6tflite16MicroInterpreter6InvokeEv"


@needs_tflm
def test_bad_set_is_blamed_on_the_command_line(tmp_path, capsys):
    code, _out, err = run_cli(capsys, write_csv(tmp_path / "m.csv", [ad_row()]), "--set", "flash.wait_state=3")
    assert code == 2 and "--set:" in err and "did you mean 'flash.wait_states'" in err
    code, _out, err = run_cli(capsys, write_csv(tmp_path / "m.csv", [ad_row(overrides="flash.wait_state=3")]))
    assert code == 2 and "line 2, columns platform/overrides" in err


@needs_tflm
def test_supply_override_contradicting_voltage_is_exit_2(tmp_path, capsys):
    code, _out, err = run_cli(capsys, write_csv(tmp_path / "m.csv", [ad_row(overrides="power.supply_v=3.3")]))
    assert code == 2 and "line 2: voltage_v 1.8 contradicts the override power.supply_v=3.3" in err


@needs_tflm
def test_no_console_match_is_failed_exit_3(tmp_path, capsys):
    code, out, _err = run_cli(capsys, write_csv(tmp_path / "m.csv", [ad_row(measure=r"uart:latency (\d+) us")]),
                              "--json")
    (r,) = json.loads(out)
    assert code == 3 and r["status"] == "FAILED" and r["clean"] is True and r["calls"] == 0
    assert r["message"] == r"no console line matched /latency (\d+) us/" and r["vbench_latency_ms"] is None
    code, out, _err = run_cli(capsys, write_csv(tmp_path / "m.csv", [ad_row(measure=r"uart:(tflm_\w+)")]), "--json")
    (r,) = json.loads(out)
    assert code == 3 and r["message"] == r"/(tflm_\w+)/ matched 'tflm_ref', which is not a cycle count"


@needs_tflm
def test_unknown_function_is_exit_2_before_anything_runs(tmp_path, capsys):
    f = write_csv(tmp_path / "m.csv", [ad_row(), ad_row(measure="function:tflite::MicroInterpreter::Invok")])
    code, _out, err = run_cli(capsys, f)
    assert code == 2
    assert f"{f}: line 3, column measure" in err and "no function 'tflite::MicroInterpreter::Invok'" in err
    assert "did you mean 'tflite::MicroInterpreter::Invoke'" in err
    assert "[1/2]" not in err  # checked before the first run


@needs_tflm
def test_uart_measure_end_to_end(tmp_path, capsys):
    """ad_cmsis.elf prints `inference K cycles C` for three Invoke() calls, C from DWT CYCCNT; the
    row's cycles are their median and every output file loads."""
    import pandas as pd

    from vbench.sim.board import run_firmware

    f = write_csv(tmp_path / "m.csv", [ad_row()])
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, f, "--out", out_dir)
    assert code == 0, err
    ref = run_firmware(AD, "nucleo-l4r5zi")
    reported = [int(c) for c in re.findall(r"inference \d+ cycles (\d+)", ref.uart)]
    assert len(reported) == 3

    records = json.loads((out_dir / "validate.json").read_text())
    assert len(records) == 1
    r = records[0]
    assert r["status"] == "ok" and r["clean"] is True and r["exit"] == "exit" and r["exit_code"] == 0
    assert r["calls"] == 3
    assert r["cycles"] == statistics.median(reported)
    assert (r["cycles_min"], r["cycles_max"]) == (min(reported), max(reported))
    assert r["clock_hz"] == 120e6
    assert r["vbench_latency_ms"] == pytest.approx(r["cycles"] / 120e6 * 1e3, rel=1e-12)
    assert r["latency_error_pct"] == pytest.approx((r["vbench_latency_ms"] - 8.0) / 8.0 * 100, rel=1e-9)
    # no per-call energy from the console: the run's average power over the reported time
    assert r["energy_basis"] == "run average power"
    assert r["vbench_energy_uj"] == pytest.approx(ref.energy_uj / ref.time_s * r["vbench_latency_ms"] * 1e-3, rel=1e-9)
    assert r["vbench_power_mw"] == pytest.approx(ref.energy_uj / ref.time_s * 1e-3, rel=1e-9)
    assert r["board_power_mw"] == pytest.approx(300 / 8.0)
    assert r["instructions"] is None and r["cpi"] is None

    df = pd.read_csv(out_dir / "validate.csv")
    assert list(df.columns) == list(r) and len(df) == 1
    assert df.loc[0, "cycles"] == r["cycles"] and df.loc[0, "status"] == "ok"
    md = (out_dir / "validate.md").read_text()
    assert "| line | firmware | role |" in md and "ad_cmsis.elf" in md
    png = (out_dir / "validate.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert not [p.name for p in out_dir.iterdir() if p.name.startswith(".")]  # no temporary files left
    # the table on stdout, progress with wall time on stderr
    line = next(x for x in out.splitlines() if x.startswith("2 "))
    assert "ad_cmsis.elf" in line and f"{r['cycles']:,}" in line and line.rstrip().endswith("ok")
    assert re.search(r"\[1/1\] line 2: ad_cmsis\.elf: [\d.]+ ms, ok, [\d.]+ s wall", err)

    code, out, _err = run_cli(capsys, f, "--json")
    assert code == 0 and json.loads(out)[0]["cycles"] == r["cycles"]


@needs_tflm
def test_row_overrides_and_budget_failure(tmp_path, capsys):
    """A row's overrides reach the platform (a pinned 80 MHz clock; noted against the 120 MHz
    measurement); a firmware that does not finish makes its row FAILED and the command exit 3."""
    f = write_csv(tmp_path / "m.csv", [ad_row(overrides="core.clock_hz=80e6"), ad_row(role="calibration")])
    code, out, err = run_cli(capsys, f, "--json", "--max-instructions", "2e6")
    assert code == 3
    a, b = json.loads(out)
    assert a["status"] == "FAILED" and b["status"] == "FAILED"
    assert a["exit"] == "budget" and a["clean"] is False and "budget" in a["message"]
    assert a["calls"] == 2  # two inferences reported before the budget ran out: figures are still given
    assert a["clock_hz"] == 80e6 and a["vbench_latency_ms"] == pytest.approx(a["cycles"] / 80e6 * 1e3)
    assert "simulated clock 80 MHz, measured at 120 MHz" in a["notes"]
    assert b["clock_hz"] == 120e6 and not b["notes"]


@needs_tflm
def test_function_measure_matches_the_firmware_dwt_count(tmp_path, capsys):
    """function:tflite::MicroInterpreter::Invoke against the DWT cycles the firmware prints around
    the same call."""
    from vbench.sim.board import Board

    if not hasattr(Board, "watch_calls"):
        pytest.skip("Board.watch_calls has not landed")
    f = write_csv(tmp_path / "m.csv", [ad_row(measure="function:tflite::MicroInterpreter::Invoke")])
    code, out, err = run_cli(capsys, f, "--json")
    assert code == 0, err
    (r,) = json.loads(out)
    uart = run_cli(capsys, write_csv(tmp_path / "u.csv", [ad_row()]), "--json")[1]
    (u,) = json.loads(uart)
    assert r["calls"] == 3 and r["energy_basis"] == "per call"
    # the firmware README's table: 742,689 issued instructions per Invoke() of ad_cmsis.elf (vbench: 742,686)
    assert r["instructions"] == pytest.approx(742_689, rel=1e-4)
    assert r["cpi"] == pytest.approx(r["cycles"] / r["instructions"])
    assert abs(r["cycles"] - u["cycles"]) <= FUNCTION_VS_DWT_CYCLES
