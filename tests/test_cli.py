"""The `vbench` command as CI uses it: JSON contract keys and exit codes, errors without tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

from vbench.firmware import build_firmware

from asm import assemble_arm

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"


def vbench(*args, **kw):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True, **kw)


def test_exec_json_contract_with_uart_input(tmp_path):
    elf = build_firmware("demo", "nucleo-l4r5zi")
    feed = tmp_path / "in.txt"
    feed.write_text("round trip\n")
    r = vbench("exec", elf, "--platform", "nucleo-l4r5zi", "--uart-in", feed, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    for key in ("platform", "instructions", "exit", "exit_code", "uart", "cycles", "energy_uj", "time_s"):
        assert key in out
    assert out["platform"] == "nucleo-l4r5zi" and out["exit"] == "exit" and out["exit_code"] == 0
    assert "echo: round trip" in out["uart"]


def test_exec_exit_codes(tmp_path):
    fault = assemble_arm(tmp_path, "    ldr r0, =0x30000000\n    ldr r1, [r0]\n", name="fault")
    r = vbench("exec", fault, "--platform", BARE, "--json")
    assert r.returncode == 3 and json.loads(r.stdout)["exit"] == "fault"
    spin = assemble_arm(tmp_path, "1:  adds r0, r0, #1\n    b 1b\n", name="spin")
    r = vbench("exec", spin, "--platform", BARE, "--max-instructions", "10000")
    assert r.returncode == 4 and "budget" in r.stdout
    r = vbench("exec", tmp_path / "missing.elf", "--platform", BARE)
    assert r.returncode == 2 and "missing.elf" in r.stderr and "Traceback" not in r.stderr
    r = vbench("exec", fault, "--platform", "no-such-board")
    assert r.returncode == 2 and "unknown platform" in r.stderr


def test_platforms_lists_both_boards():
    r = vbench("platforms", "--json")
    names = {p["name"] for p in json.loads(r.stdout)}
    assert {"nucleo-l4r5zi", "rv32imaf-mcu"} <= names
