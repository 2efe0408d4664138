"""The real-board path from the CLI (issue 16 item 5): `vbench build eembc` images, `vbench flash`
command lines and its missing-tool/probe answers, `vbench run --port` option checks and the
meter CSV, and, end to end, `vbench run --port` against `vbench serve` (a virtual board on a pty)
giving the latencies of the virtual run.

A real flash needs a probe and a board; here the command construction is what is tested."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vbench.cli import main
from vbench.errors import VbenchError

PLATFORM = "nucleo-l4r5zi"
REPO = Path(__file__).resolve().parent.parent


def _need_arm():
    from vbench.firmware import toolchain_of
    from vbench.platform import load_platform

    if shutil.which(toolchain_of(load_platform(PLATFORM)).gcc) is None:
        pytest.skip("arm-none-eabi-gcc not installed")


def _vbench(*args, env=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=timeout)


# ---------------------------------------------------------------------- build eembc


@pytest.fixture(scope="module")
def ad_image(tmp_path_factory):
    _need_arm()
    out = tmp_path_factory.mktemp("fw")
    assert main(["build", "eembc", "--platform", PLATFORM, "--workload", "ad", "-o", str(out), "--json"]) == 0
    return out


def test_build_eembc_writes_elf_bin_hex_with_the_elf_bytes(ad_image):
    from elftools.elf.elffile import ELFFile

    elf, binary, hexfile = (ad_image / f"ad01-{PLATFORM}.{s}" for s in ("elf", "bin", "hex"))
    data = binary.read_bytes()
    with open(elf, "rb") as f:
        segments = [(s["p_paddr"], s.data()) for s in ELFFile(f).iter_segments()
                    if s["p_type"] == "PT_LOAD" and s["p_filesz"]]
    base = min(a for a, _ in segments)
    assert base == 0x0800_0000
    for addr, seg in segments:  # every stored byte at its load address, .data's initial values included
        assert data[addr - base:addr - base + len(seg)] == seg
    # Intel HEX: extended linear address 0x0800 first, and the same bytes
    records = [ln for ln in hexfile.read_text().split() if ln]
    assert records[0] == ":020000040800F2" and records[-1] == ":00000001FF"
    mem, upper = {}, 0
    for rec in records:
        raw = bytes.fromhex(rec[1:])
        assert sum(raw) & 0xFF == 0, rec
        n, off, kind, payload = raw[0], int.from_bytes(raw[1:3], "big"), raw[3], raw[4:4 + raw[0]]
        if kind == 4:
            upper = int.from_bytes(payload, "big") << 16
        elif kind == 0:
            for i, b in enumerate(payload):
                mem[upper + off + i] = b
    assert all(data[a - base] == b for a, b in mem.items())   # HEX bytes = BIN bytes at their addresses
    for addr, seg in segments:  # and HEX holds every stored byte (objcopy skips the padding between sections)
        assert bytes(mem.get(addr + i, 0) for i in range(len(seg))) == seg
    assert len(mem) > 0.99 * len(data)
    assert not any(data[a - base] for a in range(base, base + len(data)) if a not in mem)  # BIN gaps: zero padding
    umask = os.umask(0)
    os.umask(umask)
    assert all((p.stat().st_mode & 0o777) == 0o644 & ~umask for p in (elf, binary, hexfile))


def test_build_eembc_elf_is_the_image_vbench_run_simulates(ad_image):
    from vbench.firmware.kernels import resolve_kernels
    from vbench.harness.modes import VirtualTarget
    from vbench.platform import load_platform

    variant = resolve_kernels("optimized", load_platform(PLATFORM))
    simulated = VirtualTarget("ad01", PLATFORM, variant=variant).prepare().elf
    assert (ad_image / f"ad01-{PLATFORM}.elf").read_bytes() == Path(simulated).read_bytes()


def test_build_eembc_refuses_bad_requests(capsys, tmp_path):
    assert main(["build", "eembc", "--workload", "ad"]) == 2
    assert "needs --platform" in capsys.readouterr().err
    assert main(["build", "eembc", "--platform", PLATFORM, "--workload", "speech"]) == 2
    assert "unknown workload speech" in capsys.readouterr().err
    assert main(["build", "demo", "-o", str(tmp_path)]) == 2
    assert "-o/--out is for `vbench build eembc`" in capsys.readouterr().err


# ---------------------------------------------------------------------- flash


def test_flash_command_lines(ad_image):
    from vbench.flashing import flash_command

    elf, binary, hexfile = (ad_image / f"ad01-{PLATFORM}.{s}" for s in ("elf", "bin", "hex"))
    assert flash_command("pyocd", elf, PLATFORM) == [
        "pyocd", "flash", "--target", "stm32l4r5zitx", "--format", "elf", str(elf)]
    assert flash_command("pyocd", binary, PLATFORM, probe="0670FF3", executable="/x/pyocd") == [
        "/x/pyocd", "flash", "--target", "stm32l4r5zitx", "--uid", "0670FF3", "--base-address", "0x08000000",
        "--format", "bin", str(binary)]
    assert flash_command("openocd", hexfile, PLATFORM) == [
        "openocd", "-f", "interface/stlink.cfg", "-f", "target/stm32l4x.cfg",
        "-c", f"program {{{hexfile}}} verify reset exit"]
    assert flash_command("openocd", binary, PLATFORM, probe="0670FF3", base_address=0x0800_4000) == [
        "openocd", "-f", "interface/stlink.cfg", "-c", "adapter serial 0670FF3", "-f", "target/stm32l4x.cfg",
        "-c", f"program {{{binary}}} 0x08004000 verify reset exit"]


def test_flash_dry_run_prints_the_command(ad_image):
    elf = ad_image / f"ad01-{PLATFORM}.elf"
    r = _vbench("flash", elf, "--platform", PLATFORM, "--tool", "openocd", "--probe", "066D", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("openocd -f interface/stlink.cfg -c 'adapter serial 066D' -f target/stm32l4x.cfg "
                               f"-c 'program {{{elf}}} verify reset exit'")


def _bare_env(tmp_path: Path) -> dict:
    """PATH holding nothing but an empty folder: neither pyocd nor openocd can be found."""
    from vbench.flashing import find_tool

    if (Path(sys.executable).parent / "pyocd").is_file():
        pytest.skip("pyocd is installed next to this Python: it would be found")
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    assert find_tool("pyocd") is None or shutil.which("pyocd", path=str(empty)) is None
    return {**os.environ, "PATH": str(empty), "PYTHONPATH": str(REPO)}


def test_flash_without_tool_or_probe_names_what_is_missing(ad_image, tmp_path):
    from vbench.flashing import find_probes

    if find_probes():
        pytest.skip("a debug probe is attached to this machine")
    r = _vbench("flash", ad_image / f"ad01-{PLATFORM}.elf", "--platform", PLATFORM, env=_bare_env(tmp_path))
    assert r.returncode == 2, r.stderr
    assert "no flash tool found: install pyOCD" in r.stderr and "OpenOCD (Debian: apt-get install openocd)" in r.stderr
    assert "no debug probe attached" in r.stderr and "Traceback" not in r.stderr
    r = _vbench("flash", ad_image / f"ad01-{PLATFORM}.hex", "--platform", PLATFORM, "--tool", "openocd",
                env=_bare_env(tmp_path))
    assert r.returncode == 2 and "openocd not found on PATH" in r.stderr


def test_flash_refuses_wrong_images_and_boards(ad_image, tmp_path, capsys):
    elf = ad_image / f"ad01-{PLATFORM}.elf"
    assert main(["flash", str(elf), "--platform", "rv32imaf-mcu", "--dry-run"]) == 2
    assert "rv32imaf-mcu: no real board known to flash" in capsys.readouterr().err
    assert main(["flash", str(tmp_path / "none.elf"), "--platform", PLATFORM]) == 2
    assert "image not found" in capsys.readouterr().err
    srec = tmp_path / "fw.srec"
    srec.write_text("S0")
    assert main(["flash", str(srec), "--platform", PLATFORM]) == 2
    assert "unknown image format '.srec'" in capsys.readouterr().err
    rv = _rv_elf()
    if rv is not None:
        assert main(["flash", str(rv), "--platform", PLATFORM, "--dry-run"]) == 2
        assert "an ELF for EM_RISCV, the board needs EM_ARM" in capsys.readouterr().err


def _rv_elf():
    from vbench.firmware import build_firmware, toolchain_of
    from vbench.platform import load_platform

    plat = load_platform("rv32imaf-mcu")
    if shutil.which(toolchain_of(plat).gcc) is None:
        return None
    return build_firmware("demo", plat)


def test_find_probes_reads_the_usb_devices_of_sysfs(tmp_path):
    from vbench.flashing import find_probes

    def device(name, vid, pid, serial=None):
        d = tmp_path / name
        d.mkdir()
        (d / "idVendor").write_text(vid + "\n")
        (d / "idProduct").write_text(pid + "\n")
        if serial:
            (d / "serial").write_text(serial + "\n")

    device("1-1", "0483", "374b", "0670FF383930")   # the Nucleo-144's ST-LINK/V2-1
    device("1-2", "046d", "c52b")                    # a keyboard receiver
    device("1-3", "1366", "0105", "000683")          # a J-Link
    (tmp_path / "usb1").mkdir()                      # a hub entry without ids
    probes = find_probes(tmp_path)
    assert [(p.kind, p.serial) for p in probes] == [("ST-LINK", "0670FF383930"), ("SEGGER J-Link", "000683")]
    assert find_probes(tmp_path / "absent") == []


# ---------------------------------------------------------------------- run --port: checks and the meter CSV


def test_run_port_options_are_checked_before_any_work(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["run", "--workload", "ad", "--energy-import", str(tmp_path / "m.csv"), "--out", str(out)]) == 2
    assert "--energy-import needs --port" in capsys.readouterr().err
    assert main(["run", "--workload", "ad", "--port", str(tmp_path / "ttyNONE"), "--out", str(out)]) == 2
    assert "no such serial device" in capsys.readouterr().err
    tty = tmp_path / "tty"
    tty.write_text("")
    assert main(["run", "--workload", "ad", "--port", str(tty), "--set", "flash.wait_states=3", "--out", str(out)]) == 2
    assert "--set: not applicable with --port" in capsys.readouterr().err
    assert main(["run", "--workload", "ad", "--port", str(tty), "--platform", PLATFORM, "--platform", "rv32imaf-mcu",
                 "--out", str(out)]) == 2
    assert "--port drives one board" in capsys.readouterr().err
    assert not out.exists()


def test_meter_csv_median_per_workload_and_errors(tmp_path):
    from vbench.harness.energy_import import apply_meter_energy, read_meter_csv
    from vbench.results import WorkloadResult

    f = tmp_path / "meter.csv"
    f.write_text("# Joulescope, 5 windows\nworkload,energy_uj,average_power_mw\nkws,100.0,40\nkws01,102.5,\n"
                 "kws,101.0,41 # third window\nad,7.5,\n")
    m = read_meter_csv(f)
    assert (m["kws"].energy_uj, m["kws"].average_power_mw, m["kws"].rows) == (101.0, 40.5, 3)
    assert (m["ad"].energy_uj, m["ad"].average_power_mw) == (7.5, None)

    def record(w, mode):
        return WorkloadResult(workload=w, platform=PLATFORM, mode=mode, latency_ms=1.0, energy_uj=None, accuracy=None,
                              cycles=None, instructions=None, firmware_sha256=None, model_sha256=None, overrides={},
                              vbench_version="x")

    recs = [record("kws", "performance"), record("vww", "energy"), record("kws", "accuracy")]
    apply_meter_energy(recs, m, f)
    assert recs[0].energy_uj == 101.0 and recs[0].extra["energy_source"].startswith(f"meter: {f}")
    assert recs[1].energy_uj is None and recs[1].extra["energy_source"] == "not measured"
    assert "energy_source" not in recs[2].extra
    for text, msg in [("workload,energy\nkws,1\n", ":1: header workload,energy: missing energy_uj"),
                      ("workload,energy_uj\nspeech,1\n", ":2: workload 'speech' unknown"),
                      ("workload,energy_uj\nkws,0\n", ":2: energy_uj 0 must be finite and > 0"),
                      ("workload,energy_uj\nkws,nan\n", ":2: energy_uj nan must be finite and > 0"),
                      ("workload,energy_uj\n\nkws,1,2\n", ":3: 3 fields, the header has 2"),
                      ("workload,energy_uj\n", "no measurement rows")]:
        f.write_text(text)
        with pytest.raises(VbenchError, match=msg.replace("(", r"\(")):
            read_meter_csv(f)


# ---------------------------------------------------------------------- end to end on a pty


@pytest.fixture()
def served_ad_board(tmp_path):
    """`vbench serve` in another process, its pty linked at tmp/ttyVB0."""
    _need_arm()
    pytest.importorskip("serial")
    link = tmp_path / "ttyVB0"
    proc = subprocess.Popen([sys.executable, "-m", "vbench", "serve", "--platform", PLATFORM, "--workload", "ad",
                             str(link)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline().strip()  # printed once the pty is there
        assert first == str(link), (first, proc.stderr.read() if proc.poll() is not None else "")
        assert link.is_symlink() and os.readlink(link).startswith("/dev/pts/")
        yield link, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert not link.exists() and not link.is_symlink(), "vbench serve left its link behind"


@pytest.mark.slow
def test_run_port_on_a_served_virtual_board_gives_the_virtual_latencies(served_ad_board, tmp_path):
    link, proc = served_ad_board
    t0 = time.monotonic()
    r = _vbench("run", "--port", link, "--workload", "ad", "--mode", "performance", "--out", tmp_path / "board",
                "--no-plots", timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    assert proc.poll() is None, "the served board ended early"
    wall = time.monotonic() - t0
    v = _vbench("run", "--workload", "ad", "--mode", "performance", "--out", tmp_path / "virtual", "--no-plots")
    assert v.returncode == 0, v.stderr
    board = json.loads((tmp_path / "board" / "results.json").read_text())["results"][0]
    virtual = json.loads((tmp_path / "virtual" / "results.json").read_text())["results"][0]
    # the same record layout; what a wire cannot carry (per-layer profile, kernels of the flashed
    # image, cycles, instructions) is absent or null, energy is null without a meter
    assert set(virtual) - set(board) == {"layers", "kernels"}
    assert (board["workload"], board["platform"], board["mode"]) == ("ad", PLATFORM, "performance")
    assert board["port"] == str(link) and board["baud"] == 115200
    assert board["energy_uj"] is None and board["energy_source"] == "not measured"
    assert board["cycles"] is None and board["instructions"] is None
    assert board["valid"] is True and board["extrapolated"] is False and board["runs"] == virtual["runs"] == 5
    # The host reads the board's timer (m-lap-us: whole microseconds of DWT_CYCCNT); the virtual
    # run reads the simulated time of the timestamp-pin edges. A window simulated whole costs
    # exactly the cycles the virtual run extrapolates for the same N, so the latencies differ only
    # by (a) the 1 us resolution of m-lap-us per window and (b) the window's fixed part (the two
    # marks and the counter update, 680 cycles = 5.7 us for ad01) spread over a different N: the
    # virtual run sizes N from the exact per-inference cost, the serial runner from a probe
    # inference as the EEMBC runner does. Both are bounded by 11 us per window of N >= 10 s / latency.
    for b, s in zip(board["run_latencies_ms"], virtual["run_latencies_ms"]):
        n_min = 10_000.0 / s
        assert abs(b - s) <= 11e-3 / n_min, (b, s)
    # the EEMBC runner's layout, as for a virtual run
    results_txt = (tmp_path / "board" / "ad01" / "performance" / "results.txt").read_text()
    assert f"Median throughput is {board['throughput_ips']:>10.3f} inf./sec." in results_txt
    assert f"on the {PLATFORM} board on {link}" in (tmp_path / "board" / "ad01" / "performance" / "log.txt").read_text()
    print(f"board {board['run_latencies_ms']} virtual {virtual['run_latencies_ms']} ({wall:.0f} s on the pty)")
