"""Shared inputs for the robustness corpus: one assembled ELF of each kind per session, and the runner
that calls `python -m vbench` as a user would, with a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from asm import assemble_arm

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
KWS = MODELS / "kws_ref_model.tflite"
AD = MODELS / "ad01_int8.tflite"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Elves:
    ok: Path      # runs to semihosting SYS_EXIT(0)
    fault: Path   # reads an unmapped address: fault, exit 3
    loop: Path    # a busy loop with no end: budget, exit 4


@pytest.fixture(scope="session")
def elves(tmp_path_factory) -> Elves:
    d = tmp_path_factory.mktemp("elves")
    ok = assemble_arm(d, "    nop\n", name="ok")
    fault = assemble_arm(d, "    ldr r1, =0xE0000000\n    ldr r0, [r1, #-4]\n", name="fault")
    loop = assemble_arm(d, "1:  adds r0, #1\n    b 1b\n", name="loop", exit_seq=False)
    return Elves(ok, fault, loop)


def snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def run_vbench(args, cwd: Path, timeout: float = TIMEOUT_S) -> tuple[subprocess.CompletedProcess, float]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env=env)
    return r, time.monotonic() - t0
