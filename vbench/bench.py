"""`vbench bench`: how fast vbench simulates what users run, against raw Unicorn on the same image.

The images: the instruction mix (firmware/apps/bench_mix, >= 200 M instructions by default), the
third-party TFLM + CMSIS-NN firmware (../shared/firmware/tflm-2.3.1 or $VBENCH_TFLM_DIR, where present) and vbench's
own MLPerf Tiny images (the model_check firmware of each workload with the board's optimized
kernels, one inference of a fixed random input). Each image is measured in a fresh process, so
that the peak RSS reported is that of one simulated board:

1. vbench with full timing and energy, recording every peripheral access and its reply;
2. raw Unicorn on the same ELF: the platform's memories and the peripheral pages, nothing else
   (no block hook, flash as plain memory). A peripheral read gets the reply the accounted run
   recorded, in order, and every access must be the recorded one: the raw run executes the same
   instruction stream (checked), without a single peripheral model, so it is the speed ceiling;
3. vbench counting instructions only (CPI 1, no flash model): what the block accounting costs.

Before the images, on an ARM board, three Thumb loops under bare Unicorn measure what the emulator
charges for a RAM store and for a flash read through MMIO (vbench/sim/backend_costs.py); each
image's record then gives the time its stores and flash reads cost inside Unicorn itself.

Where `qemu-system-arm` is installed, each ARM image is also timed under QEMU `-icount shift=0`
if the ELF fits one of QEMU's Cortex-M4 machines (memory map read from QEMU itself); otherwise the
record says why not.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable

import unicorn

from vbench.errors import VbenchError
from vbench.paths import checkout_root
from vbench.platform import Platform, load_platform
from vbench.sim.backend_costs import unicorn_costs
from vbench.sim.backend_unicorn import UnicornBackend
from vbench.sim.cores import core_for
from vbench.sim.elf import load_image
from vbench.sim.memory_map import peripheral_runs

MIX_ITERATIONS = 3000         # about 150 M instructions on the Nucleo
QUICK_MIX_ITERATIONS = 300
TFLM_ENV = "VBENCH_TFLM_DIR"  # where the third-party firmware is, if not ../shared/firmware/tflm-2.3.1 of the checkout


def _tflm_dir() -> Path:
    if os.environ.get(TFLM_ENV):
        return Path(os.environ[TFLM_ENV])
    root = checkout_root()
    return (root.parent if root else Path.cwd()) / "shared" / "firmware" / "tflm-2.3.1"


TFLM_DIR = _tflm_dir()
TFLM_PLATFORM = "nucleo-l4r5zi"  # what the third-party firmware was built for
TFLM_DEFAULT = ("kws_cmsis", "vww_cmsis", "ic_cmsis", "ad_cmsis")
TFLM_ALL = TFLM_DEFAULT + ("kws_ref", "vww_ref", "ic_ref", "ad_ref")
VBENCH_WORKLOADS = ("kws", "vww", "ic", "ad")
INPUT_SEED = 20240               # the vbench images' input: one seeded random tensor
QEMU_MACHINES = ("netduinoplus2", "mps2-an386")  # QEMU's Cortex-M4 boards
QEMU_TIMEOUT_S = 600
BOARD_SECONDS = 3600             # simulated-time budget of a bench run (the default 60 s stops the mix)
SCS_PAGE = (0xE000E000, 0xE000F000)  # what every QEMU Cortex-M machine models (NVIC, SCB, SysTick)

SEMIHOSTING_BKPT, SYS_EXIT, SYS_EXIT_EXTENDED, ADP_APPLICATION_EXIT = 0xAB, 0x18, 0x20, 0x20026


@dataclass(frozen=True)
class BenchImage:
    """One firmware image to time: `pokes` are bytes written into memory before the run (the
    model_check input), in every run alike."""
    name: str                 # mix, tflm/kws_cmsis, vbench/kws
    source: str               # "vbench" or "third-party"
    elf: str
    platform: str
    overrides: tuple[str, ...] = ()
    pokes: tuple[tuple[int, bytes], ...] = ()


# ---------------------------------------------------------------------- image selection


def image_names(tflm_present: bool | None = None) -> dict[str, tuple[str, ...]]:
    """Group -> image names; `--only` takes either."""
    present = TFLM_DIR.is_dir() if tflm_present is None else tflm_present
    return {
        "mix": ("mix",),
        "tflm": tuple(f"tflm/{n}" for n in TFLM_DEFAULT) if present else (),
        "tflm-ref": tuple(f"tflm/{n}" for n in TFLM_ALL if n.endswith("_ref")) if present else (),
        "vbench": tuple(f"vbench/{w}" for w in VBENCH_WORKLOADS),
    }


def select(only: list[str] | None, quick: bool) -> list[str]:
    """Image names in bench order. Default: the mix, the TFLM CMSIS-NN images, vbench's four;
    quick: the mix and one image of each other source."""
    groups = image_names()
    known = {n for names in groups.values() for n in names} | {f"tflm/{n}" for n in TFLM_ALL}
    if not only:
        if quick:
            return ["mix", *groups["tflm"][:1], "vbench/kws"]
        return [*groups["mix"], *groups["tflm"], *groups["vbench"]]
    out: list[str] = []
    for item in only:
        names = groups.get(item, (item,) if item in known else None)
        if names is None:
            raise VbenchError(f"bench --only: unknown image or group '{item}' "
                              f"(groups: {', '.join(groups)}; images: {', '.join(sorted(known))})")
        if item.startswith("tflm") and not TFLM_DIR.is_dir():
            raise VbenchError(f"bench --only {item}: {TFLM_DIR} is not present")
        out += [n for n in names if n not in out]
    return out


def prepare(name: str, platform: Platform, iterations: int, overrides: tuple[str, ...] = ()) -> BenchImage:
    """Build (or find) the image `name` for `platform` (loaded with the `--set` `overrides`)."""
    if name == "mix":
        from vbench.firmware import build_firmware

        elf = build_firmware("bench_mix", platform, defines=[f"BENCH_ITERATIONS={iterations}"])
        return BenchImage("mix", "vbench", str(elf), platform.name, overrides)
    if name.startswith("tflm/"):
        if platform.name != TFLM_PLATFORM:
            raise VbenchError(f"bench: {name} is built for {TFLM_PLATFORM}, not {platform.name}")
        elf = TFLM_DIR / f"{name.split('/', 1)[1]}.elf"
        if not elf.is_file():
            raise VbenchError(f"bench: {elf} not found")
        return BenchImage(name, "third-party", str(elf), platform.name, overrides)
    if name.startswith("vbench/"):
        return _prepare_vbench_image(name, platform, overrides)
    raise VbenchError(f"bench: unknown image '{name}'")


def _prepare_vbench_image(name: str, platform: Platform, overrides: tuple[str, ...]) -> BenchImage:
    from vbench.firmware.kernels import resolve_kernels
    from vbench.modelcheck.image import build_check_image
    from vbench.modelcheck.models import compile_cached, random_inputs
    from vbench.workloads import by_id

    w = by_id(name.split("/", 1)[1])
    compiled = compile_cached(w.model_path(), Path(w.model_file).stem)
    case = _Case(Path(w.model_file).stem, compiled)
    try:
        kernels = resolve_kernels("optimized", platform)
    except VbenchError:
        kernels = None  # a board without optimized kernels runs the reference ones, as `vbench run` does
    check = build_check_image(case, platform, kernels=kernels)
    data = random_inputs(compiled, 1, INPUT_SEED)[0]
    return BenchImage(name, "vbench", str(check.elf), platform.name, overrides,
                      ((check.symbol_sizes["vb_check_input"][0], data),))


@dataclass
class _Case:  # what build_check_image reads of a check-models case
    label: str
    compiled: Any


# ---------------------------------------------------------------------- memory of one process


def _proc_status_kib(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Linux: `5` in clear_refs resets the peak RSS (VmHWM) to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class _Rss:
    """Peak RSS of what runs between start() and stop(), and how much it grew over the RSS at start."""

    def start(self) -> None:
        self.reset = _reset_peak_rss()
        self.base = _proc_status_kib("VmRSS")

    def stop(self) -> dict[str, float | None]:
        peak = _proc_status_kib("VmHWM") if self.reset else None
        if peak is None:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux: the process's peak
        grown = peak - self.base if self.base is not None else None
        return {"peak_mb": round(peak / 1024, 1), "grown_mb": None if grown is None else round(grown / 1024, 1)}


# ---------------------------------------------------------------------- the three runs


def run_accounted(image: BenchImage, timing: bool = True, record_io: bool = False) -> dict[str, Any]:
    from vbench.sim.board import Board

    overrides = list(image.overrides)
    if not any(o.startswith("run.max_seconds=") for o in overrides):
        overrides.append(f"run.max_seconds={BOARD_SECONDS}")  # the mix runs 60 s of board time at 4 MHz
    plat = load_platform(image.platform, overrides)
    rss = _Rss()
    rss.start()
    board = Board(plat, image.elf, timing=timing)
    try:
        for addr, data in image.pokes:
            host = board.memory.host_address(addr, len(data))
            if host is None:
                raise VbenchError(f"{image.elf}: cannot write the input at {addr:#x}")
            ctypes.memmove(host, data, len(data))
        log = board.memory.record_io() if record_io else None
        cpu0 = time.process_time()
        r = board.run()
        cpu = time.process_time() - cpu0
        decode_s = board.lib.vb_decode_ns(board.core) / 1e9
    finally:
        board.close()
    mem = rss.stop()
    if r.exit != "exit":
        raise VbenchError(f"{image.name} did not exit on {plat.name}: {r.exit} {r.message}")
    return {"instructions": r.instructions, "cycles": r.cycles, "time_s": r.time_s, "energy_uj": r.energy_uj,
            "exit_code": r.exit_code, "wall_s": r.wall_s, "cpu_s": cpu, "decode_s": decode_s, "rss": mem, "io": log,
            "sram_writes": int(r.features.get("sram_writes", 0)), "flash_reads": int(r.features.get("flash_reads", 0))}


class _Replay:
    """Peripheral pages of the raw run: each access must be the next one the accounted run made;
    reads return its recorded reply."""

    def __init__(self, log: list[tuple[int, int, bool, int]], exit_addr: int | None):
        self.log, self.pos, self.exit_addr = log, 0, exit_addr
        self.error: str | None = None
        self.exit_code: int | None = None

    def access(self, uc, addr: int, size: int, is_write: bool, value: int) -> int:
        if self.error is not None:
            return 0
        want = self.log[self.pos] if self.pos < len(self.log) else None
        if want is None or want[:3] != (addr, size, is_write) or (is_write and want[3] != value):
            got = f"{'write' if is_write else 'read'} of {addr:#010x}"
            self.error = (f"the raw run left the accounted run's path at peripheral access #{self.pos}: {got}, "
                          f"recorded {want and (('write' if want[2] else 'read') + f' of {want[0]:#010x}')}")
            uc.emu_stop()
            return 0
        self.pos += 1
        if is_write and addr == self.exit_addr:
            self.exit_code = value
            uc.emu_stop()
        return 0 if is_write else want[3]

    def mapper(self, base: int) -> tuple[Callable, Callable]:
        def read(uc, offset, size, _user):
            return self.access(uc, base + offset, size, False, 0)

        def write(uc, offset, size, value, _user):
            self.access(uc, base + offset, size, True, value)

        return read, write


def run_raw(image: BenchImage, io_log: list[tuple[int, int, bool, int]]) -> dict[str, Any]:
    """Raw Unicorn on the same ELF with the accounted run's peripheral replies: wall time of
    emu_start, the exit code, and whether every peripheral access matched."""
    plat = load_platform(image.platform, list(image.overrides))
    rss = _Rss()
    rss.start()
    elf = load_image(image.elf)
    core = core_for(plat)
    be = UnicornBackend(core)
    uc = be.uc
    buffers = []
    for m in plat.memories:
        buf = (ctypes.c_uint8 * m.size)()  # one host buffer behind a memory and its aliases
        buffers.append(buf)
        for base in (m.base, *m.aliases):
            be.map_host(base, m.size, ctypes.addressof(buf))
    for seg in elf.segments:
        uc.mem_write(seg.paddr, seg.data)
    for addr, data in image.pokes:
        uc.mem_write(addr, data)
    exit_spec = next((p for p in plat.peripherals if p.type == "vbench.exit"), None)
    replay = _Replay(io_log, exit_spec.base if exit_spec else None)
    for base, size in peripheral_runs(plat, be.page):
        read, write = replay.mapper(base)
        uc.mmio_map(base, size, read, None, write, None)
    semihosting_code: list[int | None] = [None]
    if core.ELF_MACHINE == "arm":
        uc.reg_write(be.sp_reg, int.from_bytes(uc.mem_read(0, 4), "little"))
        entry = int.from_bytes(uc.mem_read(4, 4), "little") & ~1

        def on_intr(uc, intno, _):
            pc = be.pc
            op, arg = be.reg(0), be.reg(1)
            if intno != 7 or bytes(uc.mem_read(pc & ~1, 2)) != bytes([SEMIHOSTING_BKPT, 0xBE]):
                replay.error = replay.error or f"exception {intno} at {pc:#010x}: the raw run has no exception model"
            elif op == SYS_EXIT:
                semihosting_code[0] = 0 if arg == ADP_APPLICATION_EXIT else 1
            elif op == SYS_EXIT_EXTENDED:
                reason, code = (int.from_bytes(uc.mem_read(arg + i, 4), "little") for i in (0, 4))
                semihosting_code[0] = code if reason == ADP_APPLICATION_EXIT else (code or 1)
            else:  # console output: nothing to do but go on
                be.set_reg(15, (pc & ~1) + 2 | 1)
                return
            uc.emu_stop()

        uc.hook_add(unicorn.UC_HOOK_INTR, on_intr)
    else:
        entry = elf.entry
    t0, cpu0 = time.perf_counter(), time.process_time()
    be.start(entry)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    mem = rss.stop()
    code = semihosting_code[0] if semihosting_code[0] is not None else replay.exit_code
    if replay.error is None and replay.pos != len(io_log):
        replay.error = f"the raw run made {replay.pos} of the {len(io_log)} recorded peripheral accesses"
    del buffers
    return {"wall_s": wall, "cpu_s": cpu, "exit_code": code, "error": replay.error, "io_accesses": replay.pos, "rss": mem}


def measure(image: BenchImage, counting: bool = True) -> dict[str, Any]:
    """The three runs of one image (in this process)."""
    acc = run_accounted(image, timing=True, record_io=True)
    log = acc.pop("io")
    raw = run_raw(image, log)
    cnt = run_accounted(image, timing=False) if counting else None
    if cnt is not None and not log and cnt["instructions"] != acc["instructions"]:  # no I/O: nothing time-dependent
        raise VbenchError(f"{image.name}: the timing model changed the instruction count: a bug in the accounting")
    if raw["error"] is None and raw["exit_code"] != acc["exit_code"]:
        raw["error"] = f"raw and accounted runs disagree on the exit code: {raw['exit_code']} vs {acc['exit_code']}"
    return {"accounted": acc, "raw": raw, "counting": cnt, "io_log_len": len(log),
            "io_addresses": sorted({a for a, _s, _w, _v in log})}


def _measure_in_child(image: BenchImage, counting: bool) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(measure, image, counting).result()


# ---------------------------------------------------------------------- QEMU


def qemu_binary() -> str | None:
    return shutil.which("qemu-system-arm")


_QEMU_MAPS: dict[str, list[tuple[int, int]]] = {}
_MTREE_RE = re.compile(r"^\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, (?:ram|rom)\)", re.M)


def qemu_memory_map(qemu: str, machine: str) -> list[tuple[int, int]]:
    """[lo, hi) of the RAM and ROM of a QEMU machine, from QEMU's own `info mtree -f`."""
    if machine not in _QEMU_MAPS:
        try:
            out = subprocess.run([qemu, "-M", machine, "-display", "none", "-S", "-monitor", "stdio"],
                                 input="info mtree -f\nquit\n", capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        _QEMU_MAPS[machine] = sorted({(int(lo, 16), int(hi, 16) + 1) for lo, hi in _MTREE_RE.findall(out)})
    return _QEMU_MAPS[machine]


def _qemu_fit(image: BenchImage, io_addresses: list[int], regions: list[tuple[int, int]]) -> str | None:
    """None if the ELF runs on a machine with these memories, else why not."""
    elf = load_image(image.elf)
    inside = lambda lo, hi: any(a <= lo and hi <= b for a, b in regions)  # noqa: E731
    for seg in elf.segments:
        for base in {seg.vaddr, seg.paddr}:
            if len(seg.data) and not inside(base, base + len(seg.data)):
                return f"segment {base:#010x}+{len(seg.data):#x} lies outside its memories"
    flash = next((s for s in elf.segments if s.paddr <= elf.entry < s.paddr + len(s.data)), None)
    if flash is not None and len(flash.data) >= 4:
        sp = int.from_bytes(flash.data[:4], "little")
        if not inside(sp - 4, sp):
            return f"initial stack pointer {sp:#010x} lies outside its memories"
    foreign = [a for a in io_addresses if not SCS_PAGE[0] <= a < SCS_PAGE[1]]
    if foreign:
        return f"the firmware uses peripherals QEMU's machine does not model at these addresses (first {foreign[0]:#010x})"
    return None


def run_qemu(image: BenchImage, io_addresses: list[int], instructions: int) -> dict[str, Any]:
    """Wall time under QEMU -icount shift=0 on the first Cortex-M4 machine the ELF fits, or why not."""
    qemu = qemu_binary()
    if qemu is None:
        return {"skipped": "qemu-system-arm is not installed (apt-get install qemu-system-arm)"}
    if load_image(image.elf).machine != "arm":
        return {"skipped": "not an ARM image"}
    reasons = []
    for machine in QEMU_MACHINES:
        regions = qemu_memory_map(qemu, machine)
        why = _qemu_fit(image, io_addresses, regions) if regions else "QEMU did not report its memory map"
        if why:
            reasons.append(f"{machine}: {why}")
            continue
        cmd = [qemu, "-M", machine, "-cpu", "cortex-m4", "-display", "none", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", image.elf]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=QEMU_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            reasons.append(f"{machine}: no exit within {QEMU_TIMEOUT_S} s")
            continue
        wall = time.perf_counter() - t0
        return {"machine": machine, "wall_s": round(wall, 3), "exit_code": p.returncode,
                "mips": round(instructions / wall / 1e6, 1), "command": " ".join(cmd)}
    return {"skipped": "; ".join(reasons)}


# ---------------------------------------------------------------------- the record


def _mips(instructions: int, wall: float | None) -> float | None:
    return round(instructions / wall / 1e6, 1) if wall else None


def summarise(image: BenchImage, m: dict[str, Any], qemu: dict[str, Any] | None,
              costs: dict[str, Any] | None = None) -> dict[str, Any]:
    """One image's JSON record (keys documented in docs/timing.md, "Simulation speed"); `costs`:
    the emulator's costs per access (vbench/sim/backend_costs.py), for its share of the run."""
    acc, raw, cnt = m["accounted"], m["raw"], m["counting"]
    n = acc["instructions"]
    raw_ok = raw["error"] is None
    rec = {
        "name": image.name, "source": image.source, "elf": image.elf, "platform": image.platform,
        "instructions": n, "cycles": acc["cycles"], "time_s": acc["time_s"], "energy_uj": acc["energy_uj"],
        "exit_code": acc["exit_code"],
        "wall_accounted_s": round(acc["wall_s"], 6), "decode_s": round(acc["decode_s"], 6),
        "mips_accounted": _mips(n, acc["wall_s"]),
        "mips_accounted_after_decode": _mips(n, acc["wall_s"] - acc["decode_s"]),
        "mcycles_per_s": round(acc["cycles"] / acc["wall_s"] / 1e6, 1),
        "wall_raw_s": round(raw["wall_s"], 6) if raw_ok else None,
        "mips_raw": _mips(n, raw["wall_s"]) if raw_ok else None,
        "ratio": round(raw["wall_s"] / acc["wall_s"], 3) if raw_ok else None,
        "cpu_accounted_s": round(acc["cpu_s"], 6), "cpu_raw_s": round(raw["cpu_s"], 6) if raw_ok else None,
        "ratio_cpu": round(raw["cpu_s"] / acc["cpu_s"], 3) if raw_ok and acc["cpu_s"] > 0 else None,
        "raw_error": raw["error"], "peripheral_accesses_replayed": raw["io_accesses"],
        "peak_rss_mb": acc["rss"]["peak_mb"], "board_rss_mb": acc["rss"]["grown_mb"],
        "raw_peak_rss_mb": raw["rss"]["peak_mb"],
    }
    if costs:  # the emulator's own share: RAM stores (raw pays them too), flash reads through MMIO
        store_s = acc["sram_writes"] * costs["ram_store_ns"] / 1e9
        mmio_s = acc["flash_reads"] * costs["flash_mmio_read_ns"] / 1e9
        rec.update({"sram_writes": acc["sram_writes"], "flash_reads": acc["flash_reads"],
                    "unicorn_store_s": round(store_s, 3), "unicorn_flash_mmio_s": round(mmio_s, 3),
                    "raw_share_in_stores": round(store_s / raw["wall_s"], 3) if raw_ok and raw["wall_s"] else None})
    if cnt is not None:
        # its own instruction count: firmware that polls a peripheral runs longer or shorter at CPI 1
        mips_cnt = _mips(cnt["instructions"], cnt["wall_s"])
        rec.update({"wall_counting_s": round(cnt["wall_s"], 6), "mips_counting_only": mips_cnt,
                    "ratio_counting_only": round(cnt["instructions"] / cnt["wall_s"] * raw["wall_s"] / n, 3)
                    if raw_ok else None})
    if qemu is not None:
        if "wall_s" in qemu:
            qemu["ratio_accounted_to_qemu"] = round(qemu["wall_s"] / acc["wall_s"], 3)
        rec["qemu_icount"] = qemu
    return rec


@dataclass
class BenchRun:
    platform: str
    images: list[dict[str, Any]] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    wall_s: float = 0.0
    unicorn_costs: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "platform": self.platform, "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in self.load_before],
            "load_average_after": [round(x, 2) for x in self.load_after],
            "bench_wall_s": round(self.wall_s, 1), "unicorn_costs": self.unicorn_costs, "images": self.images,
        }
        mix = next((r for r in self.images if r["name"] == "mix"), None)
        if mix is not None:  # the mix's figures at the top level, as before the images list existed
            for key in ("instructions", "cycles", "time_s", "energy_uj", "mips_raw", "mips_accounted", "ratio",
                        "wall_raw_s", "wall_accounted_s", "mips_counting_only", "ratio_counting_only"):
                out[key] = mix.get(key)
        return out


def bench(platform: Platform, names: list[str], *, overrides: tuple[str, ...] = (), iterations: int = MIX_ITERATIONS,
          counting: bool = True, qemu: bool = True, progress: Callable[[str], None] | None = None) -> BenchRun:
    """Build the images, then measure each in a fresh process, one after the other."""
    t0 = time.perf_counter()
    images = [prepare(n, platform, iterations, overrides) for n in names]
    run = BenchRun(platform.name, load_before=os.getloadavg())
    if core_for(platform).THUMB:  # the probe's loops are Thumb code
        run.unicorn_costs = unicorn_costs(platform)
        if progress:
            progress(format_costs(run.unicorn_costs))
    for image in images:
        m = _measure_in_child(image, counting)
        q = run_qemu(image, m["io_addresses"], m["accounted"]["instructions"]) if qemu else None
        rec = summarise(image, m, q, run.unicorn_costs)
        run.images.append(rec)
        if progress:
            progress(format_line(rec))
    run.load_after = os.getloadavg()
    run.wall_s = time.perf_counter() - t0
    return run


def format_costs(c: dict[str, Any]) -> str:
    kind = "vbench's build with fast RAM stores" if c["fast_stores_build"] else "stock library"
    return (f"unicorn {c['unicorn']} ({kind}): a RAM store costs {c['ram_store_ns']} ns, a flash data read through "
            f"MMIO {c['flash_mmio_read_ns']} ns (RAM load loop {c['ram_load_loop_mips']} M instr/s)")


def format_line(r: dict[str, Any]) -> str:
    def f(x, spec):
        return "-" if x is None else format(x, spec)

    line = (f"{r['name']:<18} {r['instructions'] / 1e6:8.1f} M  accounted {f(r['mips_accounted'], '6.1f')} M/s"
            f" ({f(r['mips_accounted_after_decode'], '.1f')} after decode)  {r['mcycles_per_s']:6.1f} Mcycles/s"
            f"  raw {f(r['mips_raw'], '6.1f')} M/s  ratio {f(r['ratio'], '.3f')} (CPU time {f(r['ratio_cpu'], '.3f')})")
    if "ratio_counting_only" in r:
        line += f"  counting-only ratio {f(r['ratio_counting_only'], '.3f')}"
    line += f"  RSS {r['peak_rss_mb']} MB (board {r['board_rss_mb']} MB)"
    if "unicorn_store_s" in r:
        line += (f"\n{'':18} in Unicorn itself: {r['sram_writes'] / 1e6:.1f} M stores {r['unicorn_store_s']:.2f} s"
                 f" ({f(r['raw_share_in_stores'], '.0%')} of raw), {r['flash_reads'] / 1e6:.1f} M flash reads"
                 f" through MMIO {r['unicorn_flash_mmio_s']:.2f} s")
    if r["raw_error"]:
        line += f"\n{'':18} raw run: {r['raw_error']}"
    q = r.get("qemu_icount")
    if q:
        line += (f"\n{'':18} QEMU -icount shift=0 on {q['machine']}: {q['mips']} M/s, accounted/QEMU "
                 f"{q['ratio_accounted_to_qemu']}" if "wall_s" in q else f"\n{'':18} QEMU: {q['skipped']}")
    return line

