"""Every command on generated malformed inputs, run as a user would (`python -m vbench ...` in a
subprocess with a timeout). Each case asserts: the documented exit status (2 bad input, 3 firmware
fault, 4 budget), no traceback, a message that names the culprit (file, key, address or line), no file
left behind (partial outputs or temporaries) and a bounded time. Inputs are made here: the repository's
models mutated, ELFs assembled by tests/asm.py and mutated, CSV/TOML/JSON written by the test.

Cases that show a bug (traceback, exit 0 on bad input) are xfail(strict=True): they document it and
fail once it is fixed."""

from __future__ import annotations

import json
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from .conftest import AD, KWS, TIMEOUT_S, run_vbench, snapshot

NUCLEO = ["--platform", "nucleo-l4r5zi"]


@dataclass
class Case:
    id: str
    command: str
    build: Callable  # (tmp: Path, elves) -> argv after the command
    rc: int
    culprit: str  # a substring stderr must contain; "{tmp}" is the case's folder
    xfail: str | None = None
    marks: list = field(default_factory=list)


# ------------------------------------------------------------------------------------ helpers

def _write(tmp: Path, name: str, data) -> Path:
    p = tmp / "in" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return p


def _elf_mut(mutate: Callable[[bytearray], None], name: str = "bad.elf"):
    """A builder for an ELF case: the ok ELF with `mutate` applied to its bytes."""
    def make(tmp: Path, elves) -> Path:
        data = bytearray(elves.ok.read_bytes())
        mutate(data)
        return _write(tmp, name, bytes(data))
    return make


def _phdr0(data: bytearray) -> int:
    return struct.unpack_from("<I", data, 0x1C)[0]


def _set_phdr(field_index: int, value: int):
    def m(data: bytearray):
        struct.pack_into("<I", data, _phdr0(data) + 4 * field_index, value)
    return m


def _set_u16(offset: int, value: int):
    return lambda data: struct.pack_into("<H", data, offset, value)


def _set_u32(offset: int, value: int):
    return lambda data: struct.pack_into("<I", data, offset, value)


def _reset_vector(value: int):
    """The reset vector (second word of the vector table, at the start of the first loaded segment)."""
    def m(data: bytearray):
        p_offset = struct.unpack_from("<I", data, _phdr0(data) + 4)[0]
        struct.pack_into("<I", data, p_offset + 4, value)
    return m


def _truncate(n: int):
    def m(data: bytearray):
        del data[n:]
    return m


def _set_byte(offset: int, value: int):
    def m(data: bytearray):
        data[offset] = value
    return m


ELF_MUTATIONS = {
    # name: (mutation, culprit in the message besides the file name)
    "empty": (_truncate(0), "bad.elf"),
    "truncated-header": (_truncate(40), "bad.elf"),
    "truncated-body": (lambda d: d.__delitem__(slice(len(d) // 2, None)), "bad.elf"),
    "bad-magic": (_set_byte(1, ord("X")), "not an ELF"),
    "elf64": (_set_byte(4, 2), "32-bit"),
    "big-endian": (_set_byte(5, 2), "little-endian"),
    "machine-x86": (_set_u16(0x12, 3), "machine"),
    "machine-riscv-on-arm-board": (_set_u16(0x12, 0xF3), "bad.elf"),
    "phoff-past-eof": (_set_u32(0x1C, 0x7FFF_FFF0), "bad.elf"),
    "phnum-huge": (_set_u16(0x2C, 0xFFFF), "bad.elf"),
    "shoff-past-eof": (_set_u32(0x20, 0x7FFF_FFF0), "bad.elf"),
    "shstrndx-bad": (_set_u16(0x32, 0xFFF0), "bad.elf"),
    "segment-offset-past-eof": (_set_phdr(1, 0x7FFF_0000), "segment"),
    "segment-memsz-4gib": (_set_phdr(5, 0xFFFF_FFF0), "p_memsz"),
    "segment-filesz-gt-memsz": (_set_phdr(4, 0x10_0000), "p_filesz"),
    "segment-past-address-space": (_set_phdr(3, 0xFFFF_FFF0), "4 GiB"),
}


def _elf_case(cmd: str, name: str, mutate, culprit: str, extra=(), xfail=None) -> Case:
    make = _elf_mut(mutate)

    def build(tmp, elves):
        return [make(tmp, elves), *NUCLEO, *extra]
    return Case(f"{cmd}-elf-{name}", cmd, build, 2, culprit, xfail)


# ------------------------------------------------------------------------------------ compile

def _kws_mut(mutate: Callable[[bytearray], None], name="bad.tflite", src=KWS):
    def build(tmp, elves):
        data = bytearray(src.read_bytes())
        mutate(data)
        return [_write(tmp, name, bytes(data)), "-o", tmp / "out" / "model"]
    return build


def _zero_range(start_frac: float, length: int):
    def m(d: bytearray):
        s = int(len(d) * start_frac)
        d[s:s + length] = bytes(min(length, len(d) - s))
    return m


COMPILE = [
    Case("compile-empty", "compile", _kws_mut(_truncate(0)), 2, "bad.tflite"),
    Case("compile-truncated-8", "compile", _kws_mut(_truncate(8)), 2, "bad.tflite"),
    Case("compile-truncated-half", "compile", _kws_mut(lambda d: d.__delitem__(slice(len(d) // 2, None))), 2,
         "bad.tflite"),
    Case("compile-truncated-ad-90pct", "compile",
         _kws_mut(lambda d: d.__delitem__(slice(len(d) * 9 // 10, None)), src=AD), 2, "bad.tflite"),
    Case("compile-bad-identifier", "compile", _kws_mut(lambda d: d.__setitem__(slice(4, 8), b"XXXX")), 2,
         "bad.tflite"),
    Case("compile-root-offset-past-eof", "compile", _kws_mut(_set_u32(0, 0x7FFF_FFF0)), 2, "bad.tflite"),
    Case("compile-zeroed-middle", "compile", _kws_mut(_zero_range(0.3, 4096)), 2, "bad.tflite"),
    Case("compile-ff-head", "compile", _kws_mut(lambda d: d.__setitem__(slice(8, 200), b"\xff" * 192)), 2,
         "bad.tflite"),
    Case("compile-not-a-file", "compile", lambda tmp, e: [tmp / "in" / "nope.tflite", "-o", tmp / "out" / "m"], 2,
         "nope.tflite"),
    Case("compile-elf-as-model", "compile", lambda tmp, e: [e.ok, "-o", tmp / "out" / "m"], 2, "ok.elf"),
    Case("compile-out-is-a-file", "compile",
         lambda tmp, e: [KWS, "-o", _write(tmp, "taken", "a file, not a folder\n")], 2, "taken"),
]

# ------------------------------------------------------------------------------------ exec / profile

EXEC = [_elf_case("exec", n, m, c) for n, (m, c) in ELF_MUTATIONS.items()] + [
    Case("exec-reset-vector-unmapped", "exec",
         lambda tmp, e: [_elf_mut(_reset_vector(0x6000_0001), "badvec.elf")(tmp, e), *NUCLEO], 3, "0x60000000"),
    Case("exec-missing-file", "exec", lambda tmp, e: [tmp / "in" / "nope.elf", *NUCLEO], 2, "nope.elf"),
    Case("exec-directory", "exec", lambda tmp, e: [_write(tmp, "x", "").parent, *NUCLEO], 2, "in"),
    Case("exec-fault", "exec", lambda tmp, e: [e.fault, *NUCLEO], 3, "0xdffffffc"),
    Case("exec-loop-budget", "exec", lambda tmp, e: [e.loop, *NUCLEO, "--set", "run.max_seconds=0.01"], 4,
         "max_seconds"),
    Case("exec-loop-instruction-budget", "exec", lambda tmp, e: [e.loop, *NUCLEO, "--max-instructions", "1000"], 4,
         "budget"),
    Case("exec-max-instructions-zero", "exec", lambda tmp, e: [e.ok, *NUCLEO, "--max-instructions", "0"], 2,
         "max-instructions"),
    Case("exec-max-instructions-negative", "exec", lambda tmp, e: [e.ok, *NUCLEO, "--max-instructions", "-5"], 2,
         "max-instructions"),
    Case("exec-uart-in-missing", "exec", lambda tmp, e: [e.ok, *NUCLEO, "--uart-in", tmp / "in" / "nope.bin"], 2,
         "nope.bin"),
    Case("exec-unknown-platform", "exec", lambda tmp, e: [e.ok, "--platform", "no-such-board"], 2, "no-such-board"),
]

PROFILE_ELF = ("empty", "bad-magic", "truncated-body", "segment-memsz-4gib", "phoff-past-eof")
PROFILE = [_elf_case("profile", n, *ELF_MUTATIONS[n], extra=("--csv", "OUTCSV")) for n in PROFILE_ELF] + [
    Case("profile-fault", "profile", lambda tmp, e: [e.fault, *NUCLEO, "--csv", tmp / "out" / "p.csv"], 3,
         "0xdffffffc"),
    Case("profile-loop-budget", "profile",
         lambda tmp, e: [e.loop, *NUCLEO, "--set", "run.max_seconds=0.01", "--csv", tmp / "out" / "p.csv"], 4,
         "max_seconds"),
    Case("profile-csv-is-a-folder", "profile",
         lambda tmp, e: [e.ok, *NUCLEO, "--csv", _write(tmp, "x", "").parent], 2, "in"),
    Case("profile-csv-parent-is-a-file", "profile",
         lambda tmp, e: [e.ok, *NUCLEO, "--csv", _write(tmp, "f", "") / "p.csv"], 2, "p.csv"),
]

# ------------------------------------------------------------------------------------ --set

BAD_SETS = {
    "flash.wait_states=-1": "flash.wait_states",
    "flash.wait_states=99": "flash.wait_states",
    "flash.wait_states=three": "flash.wait_states",
    "flash.wait_states=nan": "flash.wait_states",
    "flash.cache_line_bytes=3": "cache_line_bytes",
    "flash.no_such_key=1": "flash.no_such_key",
    "timing.branch_refill=1000": "timing.branch_refill",
    "timing.branch_refill=-1": "timing.branch_refill",
    "timing.branch_refill=1.5": "timing.branch_refill",
    "timing.no_such_record=1": "timing.no_such_record",
    "power.supply_v=5": "supply_v = 5",
    "power.supply_v=0": "supply_v = 0",
    "power.static_ua=inf": "static_ua = inf",
    "power.static_ua=-3": "static_ua = -3",
    "power.cycle_pc=1e308": "cycle_pc",
    "core.clock_hz=0": "core.clock_hz",
    "core.clock_hz=-120e6": "core.clock_hz",
    "run.max_seconds=0": "run.max_seconds",
    "run.max_seconds=-1": "run.max_seconds",
    "flash.wait_states": "flash.wait_states",  # no '='
    "=3": "unknown key ''",
}

SET = [Case(f"set-{k}", "exec", (lambda k: lambda tmp, e: [e.ok, *NUCLEO, "--set", k])(k), 2, c)
       for k, c in BAD_SETS.items()]
SET += [Case("set-profile-flash.wait_states=16", "profile",
             lambda tmp, e: [e.ok, *NUCLEO, "--set", "flash.wait_states=16", "--csv", tmp / "out" / "p.csv"], 2,
             "flash.wait_states")]

# ------------------------------------------------------------------------------------ --platform FILE

M4_CORE = (Path(__file__).resolve().parents[2] / "platforms" / "cores" / "cortex-m4f.toml").as_posix()
BARE = Path(__file__).resolve().parents[1] / "platforms" / "bare-m4.toml"


def _platform(text_fn: Callable[[], str], name="bad.toml"):
    def build(tmp, elves):
        return [elves.ok, "--platform", _write(tmp, name, text_fn())]
    return build


def _bare(old: str, new: str) -> Callable[[], str]:
    def text():
        t = BARE.read_text().replace("../../platforms/cores/cortex-m4f.toml", M4_CORE)
        assert old in t, old
        return t.replace(old, new)
    return text


PLATFORM = [
    Case("platform-missing-file", "exec", lambda tmp, e: [e.ok, "--platform", tmp / "in" / "nope.toml"], 2,
         "nope.toml"),
    Case("platform-toml-syntax", "exec", _platform(lambda: "schema = 1\nname = \"x\n[core\n"), 2, "bad.toml"),
    Case("platform-empty", "exec", _platform(lambda: ""), 2, "bad.toml"),
    Case("platform-extends-missing", "exec", _platform(lambda: 'schema = 1\nextends = "no-such-base.toml"\n'), 2,
         "no-such-base.toml"),
    Case("platform-extends-itself", "exec", _platform(lambda: 'schema = 1\nextends = "bad.toml"\nname = "x"\n'), 2,
         "bad.toml"),
    Case("platform-wait-states-out-of-range", "exec", _platform(_bare("[flash]\n", "[flash]\nwait_states = 40\n")),
         2, "wait_states"),
    Case("platform-cache-line-not-pow2", "exec", _platform(_bare("cache_line_bytes = 32", "cache_line_bytes = 24")),
         2, "cache_line_bytes"),
    Case("platform-clock-is-a-string", "exec",
         _platform(_bare("reset_clock_hz = 120_000_000", 'reset_clock_hz = "fast"')), 2, "reset_clock_hz"),
    Case("platform-sram-size-negative", "exec", _platform(_bare("size = 0x2_0000", "size = -1")), 2, "size"),
    Case("platform-flash-type-unknown", "exec",
         _platform(_bare('type = "stm32l4-art"', 'type = "no-such-flash"')), 2, "no-such-flash"),
    Case("platform-unknown-section-key", "exec", _platform(_bare("[core]\n", "[core]\nno_such_key = 1\n")), 2,
         "no_such_key"),
    Case("platform-schema-99", "exec", _platform(_bare("schema = 1", "schema = 99")), 2, "schema"),
]

# ------------------------------------------------------------------------------------ validate / calibrate

V_COLS = "firmware,platform,overrides,measure,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,role,source"
C_COLS = "firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source"


def _validate(text_fn: Callable[[object], str]):
    def build(tmp, elves):
        return [_write(tmp, "m.csv", text_fn(elves)), "--out", tmp / "out" / "v"]
    return build


def _vrow(elves, **kw) -> str:
    row = {"firmware": str(elves.ok), "platform": "nucleo-l4r5zi", "overrides": "", "measure": "uart:(\\d+)",
           "latency_ms": "1", "energy_uj": "1", "power_mw": "", "voltage_v": "1.8", "clock_hz": "",
           "role": "held-out", "source": "generated"}
    row.update(kw)
    return V_COLS + "\n" + ",".join(row[c] for c in V_COLS.split(",")) + "\n"


VALIDATE = [
    Case("validate-missing-file", "validate", lambda tmp, e: [tmp / "in" / "nope.csv", "--out", tmp / "out" / "v"], 2,
         "nope.csv"),
    Case("validate-empty-file", "validate", _validate(lambda e: ""), 2, "m.csv"),
    Case("validate-missing-column", "validate",
         _validate(lambda e: _vrow(e).replace(",measure", "", 1).replace(",uart:(\\d+)", "", 1)), 2, "measure"),
    Case("validate-bad-number", "validate", _validate(lambda e: _vrow(e, latency_ms="fast")), 2, "latency_ms"),
    Case("validate-nan", "validate", _validate(lambda e: _vrow(e, energy_uj="nan")), 2, "energy_uj"),
    Case("validate-negative", "validate", _validate(lambda e: _vrow(e, latency_ms="-4")), 2, "latency_ms"),
    Case("validate-missing-firmware", "validate", _validate(lambda e: _vrow(e, firmware="/nonexistent/fw.elf")), 2,
         "fw.elf"),
    Case("validate-bad-elf-firmware", "validate",
         lambda tmp, e: [_write(tmp, "m.csv", _vrow(e, firmware=str(_write(tmp, "junk.elf", b"\x7fELFjunk")))),
                         "--out", tmp / "out" / "v"], 2, "junk.elf"),
    Case("validate-bad-role", "validate", _validate(lambda e: _vrow(e, role="train")), 2, "train"),
    Case("validate-bad-measure", "validate", _validate(lambda e: _vrow(e, measure="stopwatch:x")), 2, "stopwatch"),
    Case("validate-bad-regex", "validate", _validate(lambda e: _vrow(e, measure="uart:(unclosed")), 2, "(unclosed"),
    Case("validate-bad-override", "validate", _validate(lambda e: _vrow(e, overrides="flash.wait_states=99")), 2,
         "flash.wait_states"),
    Case("validate-unknown-platform", "validate", _validate(lambda e: _vrow(e, platform="no-such-board")), 2,
         "no-such-board"),
    Case("validate-bad-set", "validate",
         lambda tmp, e: [_write(tmp, "m.csv", _vrow(e)), "--out", tmp / "out" / "v", "--set", "power.supply_v=9"], 2,
         "supply_v = 9"),
]


def _calibrate(text_fn: Callable[[object], str]):
    def build(tmp, elves):
        return [_write(tmp, "c.csv", text_fn(elves)), *NUCLEO, "--no-cache", "--out", tmp / "out" / "cal.toml",
                "--report", tmp / "out" / "report"]
    return build


def _crow(elves, **kw) -> str:
    row = {"firmware": "demo", "platform": "", "overrides": "", "latency_ms": "", "energy_uj": "10",
           "power_mw": "", "voltage_v": "", "clock_hz": "", "source": "generated"}
    row.update(kw)
    return C_COLS + "\n" + ",".join(row[c] for c in C_COLS.split(",")) + "\n"


CALIBRATE = [
    Case("calibrate-missing-file", "calibrate", lambda tmp, e: [tmp / "in" / "nope.csv", *NUCLEO, "--out",
                                                                tmp / "out" / "cal.toml", "--report", tmp / "out" / "r"],
         2, "nope.csv"),
    Case("calibrate-empty-file", "calibrate", _calibrate(lambda e: ""), 2, "c.csv"),
    Case("calibrate-header-only", "calibrate", _calibrate(lambda e: C_COLS + "\n"), 2, "c.csv"),
    Case("calibrate-missing-column", "calibrate",
         _calibrate(lambda e: "firmware,energy_uj\ndemo,10\n"), 2, "latency_ms"),
    Case("calibrate-bad-number", "calibrate", _calibrate(lambda e: _crow(e, energy_uj="ten")), 2, "energy_uj"),
    Case("calibrate-inf", "calibrate", _calibrate(lambda e: _crow(e, energy_uj="inf")), 2, "energy_uj"),
    Case("calibrate-power-1e308", "calibrate", _calibrate(lambda e: _crow(e, energy_uj="", power_mw="1e308")), 2,
         "power_mw"),
    Case("calibrate-missing-firmware", "calibrate", _calibrate(lambda e: _crow(e, firmware="/nonexistent/fw.elf")),
         2, "fw.elf"),
    Case("calibrate-unknown-firmware-name", "calibrate", _calibrate(lambda e: _crow(e, firmware="kws02")), 2, "kws02"),
    Case("calibrate-bad-override", "calibrate", _calibrate(lambda e: _crow(e, overrides="flash.x")), 2, "flash.x"),
    Case("calibrate-bad-fit-key", "calibrate",
         lambda tmp, e: [*_calibrate(lambda e: _crow(e))(tmp, e), "--fit", "power.no_such=1:2"], 2, "power.no_such"),
]

# ------------------------------------------------------------------------------------ sweep


def _sweep(text_fn: Callable[[object], str]):
    def build(tmp, elves):
        return [_write(tmp, "spec.toml", text_fn(elves)), "--csv", tmp / "out" / "s.csv", "--workers", "1"]
    return build


def _spec(elves, grid='"flash.wait_states" = [0, 1]', head=None) -> str:
    head = head if head is not None else f'firmware = "{elves.ok.as_posix()}"\nplatform = "nucleo-l4r5zi"\n'
    return head + "[grid]\n" + grid + "\n"


SWEEP = [
    Case("sweep-missing-file", "sweep", lambda tmp, e: [tmp / "in" / "nope.toml"], 2, "nope.toml"),
    Case("sweep-toml-syntax", "sweep", _sweep(lambda e: 'firmware = "x\n[grid\n'), 2, "spec.toml"),
    Case("sweep-no-firmware", "sweep", _sweep(lambda e: _spec(e, head='platform = "nucleo-l4r5zi"\n')), 2,
         "firmware"),
    Case("sweep-missing-elf", "sweep", _sweep(lambda e: _spec(e, head='firmware = "/nonexistent/fw.elf"\n'
                                                                 'platform = "nucleo-l4r5zi"\n')), 2, "fw.elf"),
    Case("sweep-unknown-app", "sweep", _sweep(lambda e: _spec(e, head='firmware = "no_such_app"\n'
                                                                 'platform = "nucleo-l4r5zi"\n')), 2, "no_such_app"),
    Case("sweep-unknown-platform", "sweep", _sweep(lambda e: _spec(e, head=f'firmware = "{e.ok.as_posix()}"\n'
                                                                      'platform = "no-such-board"\n')), 2,
         "no-such-board"),
    Case("sweep-grid-not-a-table", "sweep", _sweep(lambda e: f'firmware = "{e.ok.as_posix()}"\n'
                                                             'platform = "nucleo-l4r5zi"\ngrid = 3\n'), 2, "grid"),
    Case("sweep-grid-empty-list", "sweep", _sweep(lambda e: _spec(e, grid='"flash.wait_states" = []')), 2,
         "flash.wait_states"),
    Case("sweep-grid-unknown-key", "sweep", _sweep(lambda e: _spec(e, grid='"flash.nope" = [1, 2]')), 2,
         "flash.nope"),
    Case("sweep-grid-out-of-range", "sweep", _sweep(lambda e: _spec(e, grid='"flash.wait_states" = [0, 99]')), 2,
         "flash.wait_states"),
    Case("sweep-grid-bad-type", "sweep", _sweep(lambda e: _spec(e, grid='"power.supply_v" = ["high"]')), 2,
         "supply_v = 'high'"),
    Case("sweep-grid-nan", "sweep", _sweep(lambda e: _spec(e, grid='"timing.branch_refill" = [nan]')), 2,
         "timing.branch_refill"),
    Case("sweep-csv-is-a-folder", "sweep",
         lambda tmp, e: [_write(tmp, "spec.toml", _spec(e)), "--csv", tmp / "in", "--workers", "1"], 2, "in"),
]

# ------------------------------------------------------------------------------------ compare


def _results(text: str | None, name="base"):
    """A results folder holding `text` as results.json (None: an empty folder)."""
    def make(tmp: Path) -> Path:
        d = tmp / "in" / name
        d.mkdir(parents=True, exist_ok=True)
        if text is not None:
            (d / "results.json").write_text(text)
        return d
    return make


def _compare(text: str | None):
    def build(tmp, elves):
        return [_results(text)(tmp), _results(text, "new")(tmp)]
    return build


_REC = {"workload": "ad", "platform": "nucleo-l4r5zi", "mode": "performance", "status": "OK"}
COMPARE = [
    Case("compare-missing-folder", "compare", lambda tmp, e: [tmp / "in" / "nope", tmp / "in" / "nope2"], 2, "nope"),
    Case("compare-empty-folder", "compare", _compare(None), 2, "base"),
    Case("compare-empty-json", "compare", _compare(""), 2, "results.json"),
    Case("compare-invalid-json", "compare", _compare('{"schema_version": 1, "records": ['), 2, "results.json"),
    Case("compare-json-is-a-list", "compare", _compare("[]"), 2, "results.json"),
    Case("compare-no-records", "compare", _compare('{"schema_version": 1}'), 2, "'results'"),
    Case("compare-schema-99", "compare", _compare('{"schema_version": 99, "results": []}'), 2, "schema_version 99"),
    Case("compare-records-not-a-list", "compare", _compare('{"schema_version": 1, "results": 3}'), 2, "'results'"),
    Case("compare-record-missing-keys", "compare",
         _compare(json.dumps({"schema_version": 1, "results": [_REC]})), 2, "results[0]"),
    Case("compare-nan-record", "compare",
         _compare(json.dumps({"schema_version": 1, "results": [dict(_REC, cycles=float("nan"))]})),
         2, "results[0]"),
    Case("compare-nan-threshold", "compare", lambda tmp, e: [*_compare("{}")(tmp, e), "--max-regression", "nan"], 2,
         "max-regression"),
]

# ------------------------------------------------------------------------------------ run / transform / build / study


def _run(*extra):
    return lambda tmp, e: ["--out", tmp / "out" / "results", "--no-plots", "--jobs", "1", *extra]


def _bad_model(tmp: Path) -> Path:
    return _write(tmp, "bad.tflite", KWS.read_bytes()[:20000])


RUN = [
    Case("run-unknown-workload", "run", _run("--workload", "nosuch"), 2, "nosuch"),
    Case("run-empty-workload", "run", _run("--workload", ","), 2, "--workload"),
    Case("run-unknown-mode", "run", _run("--workload", "ad", "--mode", "nosuch"), 2, "nosuch"),
    Case("run-truncated-model", "run", lambda tmp, e: [*_run("--workload", "kws")(tmp, e), "--model",
                                                       f"kws={_bad_model(tmp)}"], 2, "bad.tflite"),
    Case("run-accuracy-limit-negative", "run", _run("--workload", "kws", "--mode", "accuracy", "--accuracy-limit",
                                                    "-5"), 2, "--accuracy-limit"),
    Case("run-dataset-missing", "run", lambda tmp, e: [*_run("--workload", "kws", "--mode", "accuracy")(tmp, e),
                                                       "--dataset", tmp / "in" / "no_dataset"], 2, "no_dataset"),
    Case("run-platform-file-missing", "run", lambda tmp, e: [*_run("--workload", "ad")(tmp, e), "--platform",
                                                             tmp / "in" / "nope.toml"], 2, "nope.toml"),
    Case("run-set-out-of-range", "run", _run("--workload", "ad", "--set", "flash.wait_states=99"), 2,
         "flash.wait_states"),
    Case("run-out-is-a-file", "run", lambda tmp, e: ["--workload", "ad", "--no-plots", "--out",
                                                     _write(tmp, "taken", "a file\n")], 2, "taken"),
]

TRANSFORM = [
    Case("transform-truncated-model", "transform", lambda tmp, e: ["prune", _bad_model(tmp), "-o",
                                                                   tmp / "out" / "p.tflite"], 2, "bad.tflite"),
    Case("transform-missing-model", "transform", lambda tmp, e: ["cluster", tmp / "in" / "nope.tflite", "-o",
                                                                 tmp / "out" / "c.tflite"], 2, "nope.tflite"),
    Case("transform-sparsity-out-of-range", "transform", lambda tmp, e: ["prune", KWS, "--sparsity", "1.5", "-o",
                                                                         tmp / "out" / "p.tflite"], 2, "sparsity"),
    Case("transform-out-parent-is-a-file", "transform",
         lambda tmp, e: ["prune", KWS, "-o", _write(tmp, "taken", "a file\n") / "p.tflite"], 2, "taken"),
    Case("build-unknown-app", "build", lambda tmp, e: ["no_such_app"], 2, "no_such_app"),
    Case("study-unknown", "study", lambda tmp, e: ["no_such_study"], 2, "no_such_study"),
]

CASES = COMPILE + EXEC + PROFILE + SET + PLATFORM + VALIDATE + CALIBRATE + SWEEP + COMPARE + RUN + TRANSFORM
COUNTS = Counter(c.command if not c.id.startswith(("set-", "platform-")) else c.id.split("-")[0] for c in CASES)


def _param(c: Case):
    marks = list(c.marks)
    if c.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=c.xfail))
    return pytest.param(c, id=c.id, marks=marks)


def test_case_table_is_consistent():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert set(COUNTS) == {"compile", "exec", "profile", "set", "platform", "validate", "calibrate", "sweep",
                           "compare", "run", "transform", "build", "study"}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, elves, tmp_path):
    (tmp_path / "work").mkdir()
    argv = [str(a) for a in case.build(tmp_path, elves)]
    argv = [str(tmp_path / "out" / "p.csv") if a == "OUTCSV" else a for a in argv]
    before = snapshot(tmp_path)
    r, seconds = run_vbench([case.command, *argv], cwd=tmp_path / "work")
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr[-3000:]
    assert r.returncode == case.rc, f"exit {r.returncode}, expected {case.rc}\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"
    message = r.stderr + (r.stdout if case.rc in (3, 4) else "")
    assert case.culprit in message, f"{case.culprit!r} not named in:\n{message[-2000:]}"
    assert snapshot(tmp_path) == before, f"files left behind: {snapshot(tmp_path) - before}"
    assert seconds < TIMEOUT_S
