"""Harness protocol: host-side formatting and parsing, and the real EEMBC harness firmware on the
virtual boards (command parsing, exact replies, malformed and oversized commands, the infer
sequence with its timestamps, and the AD score against an independent host computation)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from vbench.harness.protocol import (DeviceError, LineSplitter, ProtocolError, Reply, Timeout, db_commands,
                                     format_command, window_us)

PLATFORMS = ("nucleo-l4r5zi", "rv32imaf-mcu")
AD_SAMPLE = Path("/work/shared/datasets/ad01/normal_id_01_00000000_hist_librosa.bin")
MODELS = Path(__file__).resolve().parent.parent / "models"

# ---------------------------------------------------------------------- host side only


def test_format_command_limits():
    assert format_command("name") == b"name%"
    assert format_command("x" * 80) == b"x" * 80 + b"%"
    with pytest.raises(ProtocolError, match="81 characters"):
        format_command("x" * 81)
    with pytest.raises(ProtocolError, match="terminator"):
        format_command("db 50%")


def test_db_commands_chunks_like_the_mlcommons_runner():
    data = bytes(range(70))
    cmds = db_commands(data)
    assert cmds[0] == "db load 70"
    assert cmds[1] == "db " + data[:31].hex() and cmds[3] == "db " + data[62:].hex()
    assert len(cmds) == 4 and max(map(len, cmds)) == 65
    with pytest.raises(ProtocolError, match="exceeds the device buffer"):
        db_commands(bytes(27649))


def test_line_splitting_and_reply_parsing():
    sp = LineSplitter()
    assert sp.feed(b"m-lap-us-10\r\nm-lap-") == ["m-lap-us-10"]
    assert sp.feed(b"us-4294967290\r\n\0m-results-[0.012,0.988,]\r\ne-[bad]\r\nm-ready\r\n") == [
        "m-lap-us-4294967290", "m-results-[0.012,0.988,]", "e-[bad]", "m-ready"]
    r = Reply("infer 1 0", ["m-lap-us-4294967290", "m-lap-us-10", "m-results-[0.012,0.988,]", "m-ready"])
    assert r.ready and r.lap_us == [4294967290, 10] and r.results == [0.012, 0.988]
    assert window_us(r) == 16  # across the 32-bit wrap of the device's unsigned long
    with pytest.raises(DeviceError, match="bad"):
        Reply("x", ["e-[bad]", "m-ready"]).check()


# ---------------------------------------------------------------------- the firmware


def _need_toolchain(platform: str) -> None:
    from vbench.firmware import toolchain_of
    from vbench.platform import load_platform

    if shutil.which(toolchain_of(load_platform(platform)).gcc) is None:
        pytest.skip(f"cross compiler for {platform} not installed")


def _ad_input(window: int = 0) -> bytes:
    if AD_SAMPLE.is_file():
        return AD_SAMPLE.read_bytes()[window * 512:window * 512 + 2560]
    from vbench.harness.dataset import synthetic_input

    return synthetic_input("ad01", window, 2560)


@pytest.fixture(scope="module", params=PLATFORMS)
def device(request):
    """The ad01 harness (the cheapest inference) on each board, booted, behind a Runner."""
    from vbench.harness.build import build_harness
    from vbench.harness.runner import Runner
    from vbench.harness.transport import VirtualTransport

    _need_toolchain(request.param)
    transport = VirtualTransport.open(request.param, build_harness("ad01", request.param))
    runner = Runner(transport)
    runner.banner = runner._read_reply("(boot)", Timeout())[0].lines
    yield runner
    runner.close()


def _raw(runner, text: bytes) -> list[str]:
    """Send raw bytes (the Runner refuses malformed commands) and collect one answer."""
    runner.transport.write(text)
    return runner._read_reply(text.decode("latin-1"), Timeout())[0].lines


def test_boot_banner_and_identification(device):
    banner = device.banner
    assert banner[0] == "m-timestamp-mode-performance" and banner[1].startswith("m-lap-us-")
    assert banner[2:] == ["m-init-done", "m-ready"]
    assert device.command("name").lines == ["m-name-dut-[unspecified]", "m-ready"]
    assert device.command("profile").lines == [
        "m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[ad01]", "m-ready"]
    help_lines = device.command("help").lines
    assert help_lines[:2] == ["ULPMark for tinyML Firmware V0.0.1", ""]
    assert "results      : Return the result fp32 vector" in help_lines and help_lines[-1] == "m-ready"


def test_timestamp_prints_the_cycle_counter_and_pulses_the_pin(device):
    tr = device.transport
    marks = len(tr.marks())
    first = device.command("timestamp").lap_us
    second = device.command("timestamp").lap_us
    assert len(first) == len(second) == 1 and second[0] > first[0]
    new = tr.marks()[marks:]
    assert len(new) == 2  # one falling edge per timestamp
    us_from_marks = (new[1].time_s - new[0].time_s) * 1e6
    assert abs((second[0] - first[0]) - us_from_marks) <= 1.0


def test_db_load_write_and_print(device):
    assert device.command("db load 10").lines == ["m-[Expecting 10 bytes]", "m-ready"]
    assert device.command("db 0a0B0c").lines == ["m-ready"]  # upper and lower case hex
    assert device.command("db 0d0e0f101112131415").lines == ["m-load-done", "m-ready"]  # extra digits ignored
    assert device.command("db print").lines == ["m-buffer-0a-0b-0c-0d-0e-0f-10-11", "m-buffer-12-13", "m-ready"]


@pytest.mark.parametrize("command, error", [
    (b"bogus 1%", "e-[Unknown command: bogus]"),
    (b"%", "e-[Empty command]"),
    (b"   %", "e-[Empty command]"),
    (b"x" * 81 + b"%", "e-[Command too long: more than 80 characters]"),
    (b"name extra%", "e-[Unexpected argument 'extra']"),
    (b"db%", "e-[Command 'db' requires a subcommand]"),
    (b"db load%", "e-[Command 'db load' requires the # of bytes]"),
    (b"db load 0%", "e-[Command 'db load' must be >0 bytes]"),
    (b"db load ten%", "e-[Invalid number of bytes 'ten']"),
    (b"db load 27649%", "e-[Command 'db load' exceeds the buffer: 27649 > 27648 bytes]"),
    (b"db load 99999999999%", "e-[Command 'db load' exceeds the buffer: 99999999999 > 27648 bytes]"),
    (b"db 123%", "e-[Insufficent number of hex digits]"),
    (b"db 12zz%", "e-[Invalid hex digit 'zz']"),
    (b"infer 0 1%", "e-[Inference iterations must be >0]"),
    (b"infer -3 1%", "e-[Inference iterations must be >0]"),
    (b"infer 1 -1%", "e-[Inference warmup must be >=0]"),
    (b"infer 1x%", "e-[Invalid number '1x']"),
    (b"infer 1 0 0%", "e-[Unexpected argument '0']"),
    (b"name\r\n%", "e-[Unknown command: name??]"),  # CR/LF inside a command are not special
])
def test_malformed_commands_get_an_error_line(device, command, error):
    assert _raw(device, command) == [error, "m-ready"]


def test_oversized_load_is_refused_not_kept(device):
    assert _raw(device, b"db load 27649%")[0].startswith("e-[")
    assert _raw(device, b"db 00%") == ["e-[No 'db load' in progress]", "m-ready"]
    assert _raw(device, b"infer 1 0%") == ["e-[Input db has 0 bytes, expected 2560]", "m-ready"]
    # a full-size load is accepted
    assert _raw(device, b"db load 27648%") == ["m-[Expecting 27648 bytes]", "m-ready"]
    assert _raw(device, b"infer 1 0%") == ["e-[Input db has 0 bytes, expected 2560]", "m-ready"]


def test_line_endings_before_a_command_are_ignored(device):
    assert _raw(device, b"\r\nname%") == ["m-name-dut-[unspecified]", "m-ready"]


def _host_ad_score(data: bytes) -> str:
    """The reference AD port's score, computed on the host with the TFLite reference interpreter:
    float input quantized as TFLite QUANTIZE does (float32 divide, round half away from zero),
    output dequantized, mean squared error accumulated in float32 in order."""
    from vbench.golden import GoldenModel

    golden = GoldenModel(MODELS / "ad01_int8.tflite")
    x = np.frombuffer(data, "<f4")
    scale, zp = golden.input["quantization"]
    v = x / np.float32(scale)
    q = np.clip(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + zp, -128, 127).astype(np.int8)
    out = golden.run(q).reshape(-1)
    oscale, ozp = golden.output["quantization"]
    y = (out.astype(np.int32) - ozp).astype(np.float32) * np.float32(oscale)
    total = np.float32(0.0)
    for a, b in zip(y, x):
        d = np.float32(a - b)
        total = np.float32(total + d * d)
    return f"{float(np.float32(total / np.float32(640))):.3f}"


def test_infer_sequence_and_ad_score(device):
    data = _ad_input(3)
    device.load(data)
    marks = len(device.transport.marks())
    reply = device.command("infer 2 1", Timeout(instructions=100_000_000))
    lines = reply.lines
    assert lines[:3] == ["m-warmup-start-1", "m-warmup-done", "m-infer-start-2"]
    assert lines[3].startswith("m-lap-us-") and lines[4].startswith("m-lap-us-")
    assert lines[5] == "m-infer-done" and lines[6].startswith("m-results-[") and lines[7] == "m-ready"
    assert len(lines) == 8
    edges = device.transport.marks()[marks:]
    assert len(edges) == 2
    assert abs(window_us(reply) - (edges[1].time_s - edges[0].time_s) * 1e6) <= 1.0
    score = lines[6][len("m-results-["):-1]
    assert score == _host_ad_score(data)
    assert device.command("results").lines == [lines[6], "m-ready"]
