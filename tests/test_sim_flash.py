"""Flash wait states and the ART: a loop from flash slows down with LATENCY unless the I-cache
holds it; the same loop from SRAM does not change."""

from pathlib import Path

from vbench.platform import load_platform
from vbench.sim.board import run_firmware

from asm import assemble_arm

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"
ITER = 50
# 12 bytes of nops + subs/bne = 16 bytes, aligned: the loop spans two 8-byte flash fetch chunks.
LOOP = "    movs r2, #%d\n    .balign 8\n1:\n" % ITER + "    nop\n" * 6 + "    subs r2, r2, #1\n    bne 1b\n"


def cycles(tmp_path, where: str, **pins) -> int:
    body = LOOP if where == "flash" else (
        "    ldr r0, =ramloop + 1\n    blx r0\n" + ARM_EXIT_INLINE + "    .section .ramcode, \"ax\"\n    .thumb_func\nramloop:\n"
        + LOOP + "    bx lr\n")
    elf = assemble_arm(tmp_path, body, name=f"{where}", exit_seq=where == "flash")
    sets = [f"flash.{k}={str(v).lower()}" for k, v in pins.items()]
    r = run_firmware(elf, load_platform(BARE, sets))
    assert r.exit == "exit", r.message
    return r.cycles


ARM_EXIT_INLINE = "    movs r0, #0x18\n    ldr r1, =0x20026\n    bkpt 0xab\n    .ltorg\n"


def test_wait_states_cost_every_uncached_fetch(tmp_path):
    base = cycles(tmp_path, "flash", wait_states=0, prefetch=False, icache=False, dcache=False)
    for ws in (1, 3, 5):
        slow = cycles(tmp_path, "flash", wait_states=ws, prefetch=False, icache=False, dcache=False)
        # every iteration fetches its 2 chunks again (no cache), each costing LATENCY cycles;
        # the code before and after the loop adds a few more misses
        assert ITER * 2 * ws <= slow - base <= ITER * 2 * ws + 10 * ws


def test_icache_hides_wait_states_after_the_first_iteration(tmp_path):
    cold = cycles(tmp_path, "flash", wait_states=5, prefetch=False, icache=False, dcache=False)
    cached = cycles(tmp_path, "flash", wait_states=5, prefetch=False, icache=True, dcache=False)
    none = cycles(tmp_path, "flash", wait_states=0, prefetch=False, icache=False, dcache=False)
    assert cached - none <= 10 * 5  # only the first pass misses
    assert cold - cached >= (ITER - 1) * 2 * 5


def test_prefetch_hides_part_of_sequential_misses(tmp_path):
    off = cycles(tmp_path, "flash", wait_states=5, prefetch=False, icache=False, dcache=False)
    on = cycles(tmp_path, "flash", wait_states=5, prefetch=True, icache=False, dcache=False)
    assert on < off


def test_same_loop_from_sram_ignores_wait_states(tmp_path):
    a = cycles(tmp_path, "sram", wait_states=0, prefetch=False, icache=False, dcache=False)
    b = cycles(tmp_path, "sram", wait_states=5, prefetch=False, icache=False, dcache=False)
    # only the few instructions that stay in flash (the call and the exit) pay the wait states
    assert 0 <= b - a <= 6 * 5
