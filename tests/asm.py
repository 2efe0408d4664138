"""Assemble and link small test programs with the real cross toolchains."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ARM_PRELUDE = """
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20020000
    .word _start + 1
    .text
    .thumb_func
    .global _start
_start:
"""
# Semihosting SYS_EXIT (ADP_Stopped_ApplicationExit): 3 instructions, the last one the BKPT.
ARM_EXIT = """
    movs r0, #0x18
    ldr r1, =0x20026
    bkpt 0xab
    .ltorg
"""

ARM_LD = """
SECTIONS {
  . = 0x08000000;
  .text : { KEEP(*(.vectors)) *(.text*) }
  . = ALIGN(1024);
  .rodata : { *(.rodata*) }
  . = 0x20000000;
  .ramcode : { *(.ramcode*) }
  .data : { *(.data*) }
}
"""


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


def assemble_arm(tmp_path: Path, body: str, name: str = "prog", exit_seq: bool = True) -> Path:
    need("arm-none-eabi-as")
    src = tmp_path / f"{name}.S"
    src.write_text(ARM_PRELUDE + body + (ARM_EXIT if exit_seq else ""))
    obj, ld, elf = tmp_path / f"{name}.o", tmp_path / "link.ld", tmp_path / f"{name}.elf"
    ld.write_text(ARM_LD)
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mthumb", str(src), "-o", str(obj)],
                   check=True, capture_output=True)
    subprocess.run(["arm-none-eabi-ld", "-T", str(ld), str(obj), "-o", str(elf)], check=True, capture_output=True)
    return elf

RV_LD = """
SECTIONS {
  . = 0x00800000;
  .text : { *(.text*) }
  .data : { *(.data*) }
}
"""


def assemble_rv(tmp_path: Path, body: str, name: str = "prog") -> Path:
    need("riscv64-unknown-elf-as")
    src = tmp_path / f"{name}.S"
    src.write_text("    .text\n    .global _start\n_start:\n" + body)
    obj, ld, elf = tmp_path / f"{name}.o", tmp_path / "link-rv.ld", tmp_path / f"{name}.elf"
    ld.write_text(RV_LD)
    subprocess.run(["riscv64-unknown-elf-as", "-march=rv32imaf", "-mabi=ilp32f", str(src), "-o", str(obj)],
                   check=True, capture_output=True)
    subprocess.run(["riscv64-unknown-elf-ld", "-m", "elf32lriscv", "-T", str(ld), str(obj), "-o", str(elf)],
                   check=True, capture_output=True)
    return elf
