"""`vbench bench`: its JSON shape, ratios that come from the runs it made (raw Unicorn replaying the
accounted run's peripheral replies must make the same accesses and exit alike), and the native fast
paths it measures giving exactly the figures of their reference implementations. Speed itself is a
benchmark figure, never asserted here."""

import ctypes
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import unicorn

from vbench.bench import TFLM_DIR
from vbench.firmware import build_firmware
from vbench.platform import load_platform
from vbench.sim import native as N
from vbench.sim.board import Board

IMAGE_KEYS = {
    "name", "source", "elf", "platform", "instructions", "cycles", "time_s", "energy_uj", "exit_code",
    "wall_accounted_s", "decode_s", "mips_accounted", "mips_accounted_after_decode", "mcycles_per_s",
    "wall_raw_s", "mips_raw", "ratio", "cpu_accounted_s", "cpu_raw_s", "ratio_cpu", "raw_error",
    "peripheral_accesses_replayed", "peak_rss_mb", "board_rss_mb", "raw_peak_rss_mb", "qemu_icount",
}
COUNTING_KEYS = {"wall_counting_s", "mips_counting_only", "ratio_counting_only"}


def bench_json(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "vbench", "bench", "--json", *args],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def check_image(rec: dict, counting: bool) -> None:
    assert IMAGE_KEYS | (COUNTING_KEYS if counting else set()) <= set(rec), set(rec) ^ IMAGE_KEYS
    assert rec["raw_error"] is None, rec["raw_error"]  # the raw run took the accounted run's path
    n = rec["instructions"]
    assert n > 0 and rec["cycles"] >= n and rec["energy_uj"] > 0
    # every speed and ratio is the quotient of the two runs' own measurements
    assert rec["wall_raw_s"] > 0 and rec["wall_accounted_s"] > 0
    assert rec["mips_raw"] == pytest.approx(n / rec["wall_raw_s"] / 1e6, rel=0.05, abs=0.2)
    assert rec["mips_accounted"] == pytest.approx(n / rec["wall_accounted_s"] / 1e6, rel=0.05, abs=0.2)
    assert rec["ratio"] == pytest.approx(rec["mips_accounted"] / rec["mips_raw"], rel=0.05, abs=0.002)
    assert rec["mcycles_per_s"] == pytest.approx(rec["cycles"] / rec["wall_accounted_s"] / 1e6, rel=0.05, abs=0.2)
    assert 0 <= rec["decode_s"] < rec["wall_accounted_s"]
    assert rec["cpu_accounted_s"] > 0 and rec["cpu_raw_s"] > 0
    assert rec["peak_rss_mb"] > 5 and rec["board_rss_mb"] is not None and rec["board_rss_mb"] >= 0
    q = rec["qemu_icount"]
    assert ("wall_s" in q and q["mips"] > 0) or q["skipped"]  # timed, or the reason it could not be
    if counting:
        assert rec["ratio_counting_only"] > 0 and rec["mips_counting_only"] > 0


def check_costs(out: dict) -> None:
    """The emulator's costs per access (ARM boards), and each image's share computed from its counts."""
    c = out["unicorn_costs"]
    assert c["unicorn"] == unicorn.__version__ and c["ram_load_loop_mips"] > 0
    assert c["library"].endswith("libunicorn.so.2") and isinstance(c["fast_stores_build"], bool)
    assert c["ram_store_ns"] >= 0 and c["flash_mmio_read_ns"] >= 0
    for rec in out["images"]:
        assert rec["sram_writes"] > 0 and rec["flash_reads"] >= 0
        assert rec["unicorn_store_s"] == pytest.approx(rec["sram_writes"] * c["ram_store_ns"] / 1e9, abs=0.0011)
        assert rec["unicorn_flash_mmio_s"] == pytest.approx(rec["flash_reads"] * c["flash_mmio_read_ns"] / 1e9,
                                                            abs=0.0011)


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_bench_json_contract(platform):
    out = bench_json("--platform", platform, "--only", "mix", "--iterations", "20")
    assert out["platform"] == platform and out["cpu_count"] >= 1
    assert len(out["load_average_before"]) == 3 and len(out["load_average_after"]) == 3
    [rec] = out["images"]
    assert rec["name"] == "mix" and rec["source"] == "vbench"
    check_image(rec, counting=True)
    # the mix's figures stay at the top level too
    for key in ("instructions", "cycles", "mips_raw", "mips_accounted", "ratio", "mips_counting_only",
                "ratio_counting_only"):
        assert out[key] == rec[key], key
    if platform == "nucleo-l4r5zi":
        check_costs(out)
        assert rec["flash_reads"] > 0  # the mix reads its weights from flash
    else:  # the probe's loops are Thumb code
        assert out["unicorn_costs"] is None and "unicorn_store_s" not in rec


@pytest.mark.skipif(not TFLM_DIR.is_dir(), reason="../shared/firmware/tflm-2.3.1 is not present")
def test_bench_third_party_and_own_images():
    """Firmware that polls clocks and prints over LPUART: the raw run gets the recorded replies."""
    out = bench_json("--only", "tflm/ad_cmsis,vbench/ad", "--no-counting")
    recs = {r["name"]: r for r in out["images"]}
    assert set(recs) == {"tflm/ad_cmsis", "vbench/ad"}
    tflm = recs["tflm/ad_cmsis"]
    check_image(tflm, counting=False)
    assert tflm["source"] == "third-party" and tflm["exit_code"] == 0
    assert tflm["peripheral_accesses_replayed"] > 100  # clock set-up, UART, DWT
    check_image(recs["vbench/ad"], counting=False)
    check_costs(out)


def test_bench_refuses_unknown_images():
    r = subprocess.run([sys.executable, "-m", "vbench", "bench", "--only", "nosuch"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "nosuch" in r.stderr


# ---------------------------------------------------------------- fast paths against their references


def run_fingerprint(elf: Path, sets: list[str], reference: bool) -> dict:
    board = Board(load_platform("nucleo-l4r5zi", sets), elf)
    try:
        if reference:  # the per-word fetch and the age-scan ART cache, as before the fast paths
            board.lib.vb_set_reference_paths(board.core, 1)
            board.lib.vb_art_set_reference(board.flash_model.handle, 1)
        r = board.run()
        raw = board.account.raw()
        counters = {name: (list(v) if hasattr(v, "__len__") else v)
                    for name, v in ((f, getattr(raw, f)) for f, _t in raw._fields_)}
        return {"result": (r.exit, r.exit_code, r.instructions, r.cycles, r.energy_uj, r.stalls),
                "counters": counters, "profile": board.profile()}
    finally:
        board.close()


@pytest.mark.parametrize("sets", [
    [],                                                                     # LATENCY 0: the zero-wait path
    ["flash.wait_states=5", "flash.icache=true", "flash.dcache=true"],      # weights read from flash through the ART
    ["flash.wait_states=3", "flash.prefetch=true", "flash.icache=false", "flash.dcache=true",
     "flash.icache_ways=4", "flash.dcache_ways=2"],                         # set-associative, prefetch
], ids=["zero-wait", "art", "set-associative"])
def test_fast_paths_give_the_reference_figures(sets):
    elf = build_firmware("bench_mix", load_platform("nucleo-l4r5zi"), defines=["BENCH_ITERATIONS=4"])
    fast = run_fingerprint(elf, sets, reference=False)
    ref = run_fingerprint(elf, sets, reference=True)
    assert fast["counters"]["flash_reads"] > 10_000  # the mix streams its weights from flash
    if sets:
        assert fast["result"][5]["flash"] > 0
    assert fast == ref


@pytest.mark.skipif(not TFLM_DIR.is_dir(), reason="../shared/firmware/tflm-2.3.1 is not present")
def test_fast_paths_on_third_party_firmware():
    """TFLM + CMSIS-NN with FLASH_ACR as the firmware sets it (LATENCY 5, I- and D-cache on)."""
    elf = TFLM_DIR / "ad_cmsis.elf"
    assert run_fingerprint(elf, [], reference=False) == run_fingerprint(elf, [], reference=True)


def test_art_cache_matches_its_reference_on_random_streams():
    """The O(1) ART cache against the age scan, access by access, over geometries the platforms
    do not all use (set-associative, one line, sector fills)."""
    lib = N.library()
    rng = random.Random(7)
    for trial in range(60):
        p = N.VbArtParams(fetch_bytes=8, line_bytes=rng.choice([16, 32, 64]),
                          icache_lines=rng.choice([1, 2, 8, 32]), dcache_lines=rng.choice([1, 4, 8]),
                          icache_ways=rng.choice([0, 1, 2, 4]), dcache_ways=rng.choice([0, 1, 2]),
                          read_overhead=rng.choice([0, 1]), latency=rng.choice([1, 5]), prefetch=rng.choice([0, 1]),
                          icache=1, dcache=1)
        p.fill_bytes = rng.choice([8, p.line_bytes])
        arts = [lib.vb_art_create() for _ in range(2)]
        try:
            for a in arts:
                assert lib.vb_art_configure(a, ctypes.byref(p)) == 0
            lib.vb_art_set_reference(arts[1], 1)
            span = rng.choice([512, 4096, 1 << 16])
            for _ in range(1500):
                if rng.random() < 0.6:
                    word, issue = rng.randrange(span) // 8, rng.randrange(6)
                    got = [lib.vb_art_fetch(a, word, issue) for a in arts]
                else:
                    addr = 0x0800_0000 + rng.randrange(span)
                    got = [lib.vb_art_data_read(a, addr) for a in arts]
                assert got[0] == got[1], (trial, p.icache_lines, p.icache_ways)
        finally:
            for a in arts:
                lib.vb_art_destroy(a)


# Any of these, anywhere, sends every load and store of the run to Unicorn's slow path
# (tcg_uc_has_hookmem in unicorn 2.1.4): the accounting must never register one.
SLOW_PATH_HOOKS = unicorn.UC_HOOK_MEM_READ | unicorn.UC_HOOK_MEM_WRITE | unicorn.UC_HOOK_MEM_READ_AFTER


@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
def test_no_hook_sends_every_access_to_the_slow_path(platform):
    """Code that runs from SRAM (all of it on the RV32 board) is checked for stores into it by
    comparing bytes when it runs, not by a write hook."""
    plat = load_platform(platform)
    board = Board(plat, build_firmware("bench_mix", plat, defines=["BENCH_ITERATIONS=2"]))
    try:
        r = board.run()
        kinds = list(board.backend.native_hook_kinds)
    finally:
        board.close()
    assert r.exit == "exit" and kinds
    assert not [k for k in kinds if k & SLOW_PATH_HOOKS], kinds
