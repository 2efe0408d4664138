"""Microbenchmark firmware: each instruction class takes exactly the cycles the Cortex-M4 TRM /
CV32E40P manual define, both as vbench reports them and as the firmware reads its own cycle
counter (DWT CYCCNT / mcycle); and the counter value the firmware reads equals vbench's count at
that instruction."""

import re

import pytest
import unicorn

from vbench.firmware import build_firmware
from vbench.platform import load_platform
from vbench.sim.board import Board

# Cycles of each timed sequence, overhead (one counter read) removed. Derivations are in the .S files.
ARM_EXPECTED = {
    "alu": 100, "mul": 100, "mla": 100,            # 100 single-cycle ops (Table 3-1)
    "ldr_pipelined": 100,                          # 100 LDRs: each overlaps the previous LDR by one cycle
    "ldr_dependent": 199,                          # address from the previous load: no overlap (2 each)
    "str_imm": 100,                                # STR Rx,[Ry,#imm] is one cycle
    "ldm4": 125, "ldm8": 225, "stm4": 125, "stm8": 225,  # 25 x (1 + N)
    "branch_taken": 300, "branch_not_taken": 200,  # 100 x (1 + P), P = 2 / 100 x (B + NOP)
    "sdiv_small": 400,                             # 100 / 7: 5 quotient bits -> 2 + 2
    "sdiv_large": 1200,                            # 0x7fffffff / 3: 30 bits -> the TRM maximum 12
    "vmla": 300,                                   # VMLA 3 (Table 7-1)
    "it_pass": 200, "it_fail": 200,                # IT 1 + ADD 1, whether the condition passes or not
    "loop_sram": 1278, "loop_flash": 1278,         # 64 x (17 + 1 + P) - P; flash loop warm in the ART I-cache
}
RV_EXPECTED = {
    "alu": 100, "lw_pipelined": 100, "load_use": 150,  # load-use: +1 per dependent pair (50 pairs)
    "branch_taken": 300, "branch_not_taken": 200,      # taken 3, not taken 1 + the NOP
    "mul": 100, "mulh": 500,
    "div_small_divisor": 3300, "div_large_divisor": 400,  # 3 + leading zeros of the divisor
    "fmadd": 100,
}


def run_microbench(platform, **kw):
    plat = load_platform(platform)
    elf = build_firmware("microbench", plat, **kw)
    board = Board(plat, elf)
    return board, elf


def parse(uart: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+) (\d+)$", uart, re.M)}


@pytest.mark.parametrize("platform, expected", [("nucleo-l4r5zi", ARM_EXPECTED), ("rv32imaf-mcu", RV_EXPECTED)])
def test_instruction_classes_take_the_documented_cycles(platform, expected):
    board, _ = run_microbench(platform)
    r = board.run()
    board.close()
    assert r.exit == "exit" and r.exit_code == 0, r.message
    got = parse(r.uart)
    overhead = got["empty"]
    assert overhead == (2 if platform == "nucleo-l4r5zi" else 4)  # one LDR of CYCCNT / one csrr mcycle
    assert {k: got[k] - overhead for k in expected} == expected


def test_flash_loop_cold_pays_wait_states_and_sram_loop_does_not():
    board, _ = run_microbench("nucleo-l4r5zi", defines=["MB_COLD=1"])
    r = board.run()
    board.close()
    got = parse(r.uart)
    assert got["loop_sram"] - got["empty"] == 1278
    assert got["loop_flash"] > got["loop_sram"]  # the first pass misses the I-cache at LATENCY = 5


def test_dwt_value_equals_vbench_count_at_the_reading_instruction():
    """Hook the two CYCCNT loads of mb_alu: the firmware's difference equals vbench's own count."""
    board, elf = run_microbench("nucleo-l4r5zi", defines=['MB_ONLY="alu"'])
    start, size = next((f[0], f[1]) for f in board.image.functions if f[2] == "mb_alu")
    # the two loads of DWT_CYCCNT through r12 (ip): `ldr r0, [ip]` and `ldr ip, [ip]`
    sec = next(c for c in board.image.code if c.vaddr <= start < c.vaddr + len(c.data))
    code = sec.data[start - sec.vaddr:start - sec.vaddr + size]
    reads = [d.address for d in board.codemap.decoder.decode(code, start)
             if d.mnemonic.startswith("ldr") and d.op_str.endswith("[ip]")]
    assert len(reads) == 2, reads
    at: dict[int, int] = {}  # address -> vbench cycles before it (the last call, the one reported)
    for addr in reads:
        board.uc.hook_add(unicorn.UC_HOOK_CODE, lambda uc, a, s, _: at.__setitem__(a, board.now_at(a)[0]), None,
                          addr, addr)
    r = board.run()
    board.close()
    got = parse(r.uart)
    assert got["alu"] == at[reads[1]] - at[reads[0]] == 102
