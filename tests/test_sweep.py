"""`vbench sweep`: a grid of what-if overrides runs in parallel and each point records its overrides."""

import json
import subprocess
import sys
from pathlib import Path

from asm import assemble_arm

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"


def test_sweep_over_wait_states_and_clock(tmp_path):
    elf = assemble_arm(tmp_path, "    movs r2, #50\n    .balign 8\n1:\n" + "    nop\n" * 6 + "    subs r2, r2, #1\n    bne 1b\n")
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'firmware = "{elf}"\nplatform = "{BARE}"\n[set]\n"flash.icache" = false\n"flash.prefetch" = false\n'
                    '[grid]\n"flash.wait_states" = [0, 2, 4]\n"core.clock_hz" = [60e6, 120e6]\n')
    r = subprocess.run([sys.executable, "-m", "vbench", "sweep", spec, "--json", "--workers", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == 6
    by = {(row["set:flash.wait_states"], row["set:core.clock_hz"]): row for row in rows}
    # cycles grow with wait states (50 iterations x 2 fetch chunks each) and do not depend on the clock
    assert by[(2, 60e6)]["cycles"] - by[(0, 60e6)]["cycles"] >= 50 * 2 * 2
    assert by[(4, 120e6)]["cycles"] == by[(4, 60e6)]["cycles"]
    # time follows the pinned clock
    assert by[(4, 60e6)]["time_ms"] == 2 * by[(4, 120e6)]["time_ms"]


def test_sweep_rejects_unknown_keys_before_running(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(f'firmware = "x.elf"\nplatform = "{BARE}"\n[grid]\n"flash.wait_statez" = [1]\n')
    r = subprocess.run([sys.executable, "-m", "vbench", "sweep", spec], capture_output=True, text=True)
    assert r.returncode == 2 and "wait_states" in r.stderr
