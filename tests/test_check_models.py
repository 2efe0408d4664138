"""`vbench check-models`: the four MLPerf Tiny int8 models bit-exact on both virtual boards
(golden vs host vs firmware), the KWS accuracy files when present, footprint figures measured
from the image and the run, a corrupted weight detected, models that do not fit, bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from vbench.cli import main
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.modelcheck import (DEFAULT_MODELS, DEFAULT_PLATFORMS, all_ok, check_models, fit_problems,
                               format_table)
from vbench.platform import load_platform

REPO = Path(__file__).resolve().parents[1]
KWS_SET = REPO.parent / "shared" / "datasets" / "kws01"   # never copied into the repo
MODELS = [m.removesuffix(".tflite") for m in DEFAULT_MODELS]
JSON_KEYS = {"model", "platform", "bit_exact", "mismatches", "flash_bytes", "ram_bytes", "instructions",
             "cycles"}

for _tool in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"):
    if shutil.which(_tool) is None:
        pytest.skip(f"{_tool} not installed", allow_module_level=True)


def _kws_set() -> Path | None:
    return KWS_SET if KWS_SET.is_dir() and any(KWS_SET.glob("*.bin")) else None


@pytest.fixture(scope="module")
def rows():
    """4 models x 2 boards, 2 random inputs each (+ 3 KWS files when the set is present)."""
    kws = _kws_set()
    result = check_models(None, None, inputs=2, dataset=kws if kws else False, dataset_inputs=3,
                          workers=min(2, os.cpu_count() or 1))
    return {(r["model"], r["platform"]): r for r in result}


@pytest.mark.parametrize("platform", DEFAULT_PLATFORMS)
@pytest.mark.parametrize("model", MODELS)
def test_bit_exact_on_both_boards(rows, model, platform):
    r = rows[(model, platform)]
    assert r["error"] is None, r["error"]
    assert r["bit_exact"] and r["mismatches"] == 0 and r["host_bit_exact"], r["mismatching_inputs"]
    assert r["inputs"] == 2 + r["dataset_inputs"]
    # every layer of the plan was seen by the markers, and the per-inference counts are real
    assert r["layers"] == r["model_layers"]
    assert 0 < r["instructions"] <= r["cycles"]
    assert r["instructions"] < r["run_instructions"]
    # the on-target cycle counter (set_input + invoke + output copy) agrees with the markers
    assert r["cycles"] <= r["target_cycles"] <= r["cycles"] * 1.02 + 20_000


def test_kws_real_files_bit_exact(rows):
    if _kws_set() is None:
        pytest.skip(f"{KWS_SET} not present (the KWS accuracy set is not shipped with vbench)")
    for platform in DEFAULT_PLATFORMS:
        r = rows[("kws_ref_model", platform)]
        assert r["dataset_inputs"] == 3
        real = [p for p in r["per_input"] if p["input"].startswith("kws01/")]
        assert len(real) == 3 and all(p["bit_exact"] for p in real)
    # only the model whose input size matches the files gets them
    assert all(rows[(m, p)]["dataset_inputs"] == 0 for m in MODELS if m != "kws_ref_model" for p in DEFAULT_PLATFORMS)


@pytest.mark.parametrize("platform", DEFAULT_PLATFORMS)
@pytest.mark.parametrize("model", MODELS)
def test_footprint_is_sane(rows, model, platform):
    r = rows[(model, platform)]
    assert JSON_KEYS <= set(r)
    assert r["flash_bytes"] > r["const_bytes"] >= r["weight_bytes"] > 0
    assert r["ram_bytes"] >= r["arena_bytes"] >= r["arena_lower_bound"] > 0
    assert r["arena_linked_bytes"] == r["arena_bytes"]
    assert r["ram_bytes"] == r["arena_linked_bytes"] + r["static_bytes"] + r["stack_bytes"]
    assert r["static_bytes"] >= r["io_buffer_bytes"]
    assert 32 <= r["stack_bytes"] < r["stack_reserved"]
    assert r["fits"] is True
    assert r["flash_bytes"] <= 2 * 1024 * 1024
    if platform == "nucleo-l4r5zi":
        assert r["ram_bytes"] <= 640 * 1024 and r["flash_capacity"] == 2 * 1024 * 1024
        assert r["sram_capacity"] == 640 * 1024
    else:
        assert r["flash_bytes"] + r["ram_bytes"] <= 2 * 1024 * 1024 and r["flash_capacity"] == 0


def test_table_lists_every_check(rows):
    text = format_table(list(rows.values()))
    for model in MODELS:
        assert model in text and "lower bound" in text
    assert "NO" not in text.split("footprint:")[0]


def test_flipped_weight_byte_is_detected():
    """One weight byte of the last FC layer flipped in the simulated flash (SRAM on the RV
    board) before the run: the firmware no longer matches the golden model."""
    result = check_models(["ad01_int8"], None, inputs=1, dataset=False, flips=(("l9_filter", 0),))
    assert len(result) == 2
    for r in result:
        assert r["bit_exact"] is False and r["mismatches"] > 0, r
        assert r["error"] is None  # the firmware ran to completion; only the output differs
    assert not all_ok(result)


def test_cli_json_keys_and_exit_code(capsys):
    rc = main(["check-models", "--model", "ad01_int8", "--inputs", "2", "--no-dataset", "--json", "-j", "1"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    rows = json.loads(out.out)
    assert [r["platform"] for r in rows] == list(DEFAULT_PLATFORMS)
    for r in rows:
        assert JSON_KEYS <= set(r) and r["bit_exact"] is True
    assert "wall time" in out.err  # progress and the summary go to stderr


def test_cli_table_one_platform(capsys):
    rc = main(["check-models", "--model", str(REPO / "models" / "ad01_int8.tflite"), "--platform",
               "rv32imaf-mcu", "--inputs", "1", "--no-dataset"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "ad01_int8" in out.out and "rv32imaf-mcu" in out.out and "nucleo" not in out.out


def _bad_model(tmp_path: Path, op: str = "TANH") -> Path:
    b = TfliteBuilder()
    x = b.tensor("x", [1, 8], scale=0.05, zero_point=0)
    y = b.tensor("y", [1, 8], scale=1 / 128, zero_point=0)
    b.operator(op, [x], [y], None)
    return b.save(tmp_path / "tanh.tflite", [x], [y])


@pytest.mark.parametrize("kind", ["missing", "not_tflite", "directory", "unsupported_op", "garbage"])
def test_bad_model_exits_2(tmp_path, capsys, kind):
    if kind == "missing":
        arg, expect = str(tmp_path / "nope.tflite"), "model not found"
    elif kind == "not_tflite":
        (tmp_path / "model.onnx").write_bytes(b"\0" * 64)
        arg, expect = str(tmp_path / "model.onnx"), "not a .tflite"
    elif kind == "directory":
        arg, expect = str(tmp_path), "not a file"
    elif kind == "unsupported_op":
        arg, expect = str(_bad_model(tmp_path)), "TANH"
    else:
        (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer at all" * 4)
        arg, expect = str(tmp_path / "junk.tflite"), "junk.tflite"
    rc = main(["check-models", "--model", arg, "--inputs", "1", "--no-dataset"])
    err = capsys.readouterr().err
    assert rc == 2
    assert expect in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--inputs", "0"], ["--platform", "no-such-board"],
                                  ["--dataset", "/nonexistent/dir"], ["--jobs", "-1"]])
def test_bad_options_exit_2(capsys, args):
    assert main(["check-models", "--model", "ad01_int8", *args]) == 2
    assert "vbench: error:" in capsys.readouterr().err


def _big_arena_model(tmp_path: Path, n: int) -> Path:
    """Requantize int8 -> int8 of n elements: a 2n-byte arena and almost no code or weights."""
    b = TfliteBuilder()
    x = b.tensor("x", [1, n], scale=0.05, zero_point=-3)
    y = b.tensor("y", [1, n], scale=0.07, zero_point=4)
    b.operator("QUANTIZE", [x], [y], None)
    return b.save(tmp_path / "big_arena.tflite", [x], [y])


def test_model_that_does_not_fit_is_named(tmp_path):
    """800 KB of live activations: more than the Nucleo's 640 KB SRAM (and more than any of its
    regions), well within the RV board's 2 MB."""
    path = _big_arena_model(tmp_path, 400_000)
    result = {r["platform"]: r for r in check_models([path], None, inputs=1, dataset=False)}
    nucleo, rv = result["nucleo-l4r5zi"], result["rv32imaf-mcu"]
    assert nucleo["fits"] is False and nucleo["bit_exact"] is False
    msg = nucleo["error"]
    assert "big_arena" in msg and "nucleo-l4r5zi" in msg and "overflowed by" in msg, msg
    assert rv["fits"] is True and rv["bit_exact"] is True and rv["error"] is None
    assert rv["ram_bytes"] >= 800_000
    assert not all_ok(list(result.values()))
    assert "does not fit" in format_table(list(result.values()))


def test_fit_rules_against_board_capacities():
    nucleo, rv = load_platform("nucleo-l4r5zi"), load_platform("rv32imaf-mcu")
    assert fit_problems(nucleo, 2 * 1024 * 1024, 640 * 1024, 0) == []
    over = fit_problems(nucleo, 2 * 1024 * 1024 + 10, 640 * 1024 + 7, 0)
    assert len(over) == 2 and "overflow 10 B" in over[0] and "overflow 7 B" in over[1]
    assert fit_problems(rv, 1024 * 1024, 1024 * 1024, 0) == []
    # code runs from SRAM on the RV board: flash image + RAM share the 2 MB, .data counted once
    assert fit_problems(rv, 1024 * 1024 + 100, 1024 * 1024, 100) == []
    assert "overflow 1 B" in fit_problems(rv, 1024 * 1024 + 101, 1024 * 1024, 100)[0]
