"""vbench calibrate / vbench fidelity: known-ground-truth recovery, cross-validated error at the
noise level, refusals and malformed files, and the shipped reference power model."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import tomllib
from pathlib import Path

import numpy as np
import pytest

from vbench.calibrate import calibrate
from vbench.calibration.fit import CalibrationRefused
from vbench.calibration.measurements import COLUMNS, read_measurements
from vbench.cli import main
from vbench.errors import VbenchError
from vbench.firmware import build_firmware
from vbench.paths import calibration_dir, power_models_dir
from vbench.platform import load_platform
from vbench.power import load_power_model
from vbench.sim.board import run_firmware

BOARD = "nucleo-l4r5zi"
# The shipped Nucleo power model is fitted on the calibration rows of the third-party TFLM firmware;
# vbench's own firmware against the v0.5 power figures is a held-out file (evaluated, never fitted).
TFLM_CSV = Path(__file__).resolve().parents[2] / "shared" / "firmware" / "tflm-2.3.1" / "measurements.csv"
HELD_OUT_CSV = calibration_dir() / "nucleo-l4r5zi-mlperf-tiny.csv"
needs_tflm = pytest.mark.skipif(not TFLM_CSV.is_file(), reason=f"{TFLM_CSV} absent (../shared not laid out)")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("calibration-cache")


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Rows are calibration rows unless they say otherwise."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS) + ["role"])
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "") for c in COLUMNS} | {"role": r.get("role", "calibration")})
    return path


def measure(app: str, define: str, overrides: list[str], timing: list[str], power) -> dict:
    """A 'board measurement': the hidden platform variant runs the firmware (the Board's own energy)."""
    plat = load_platform(BOARD, timing + overrides)
    r = run_firmware(build_firmware(app, plat, defines=[define]), plat, power=power)
    assert r.exit == "exit"
    return {"firmware": f"{app} {define}", "platform": BOARD, "overrides": "; ".join(overrides),
            "latency_ms": repr(r.time_s * 1e3), "energy_uj": repr(r.energy_uj), "source": "synthetic ground truth"}


MICRO = ["alu", "mul", "ldr_flash", "branch_taken", "sdiv_large", "loop_flash", "vmla", "ldm8"]
SETTINGS = ["", "core.clock_hz=16e6", "flash.wait_states=2"]


# ====================================================================== ground truth


def test_recovers_hidden_timing_and_energy_parameters(tmp_path, cache):
    """Measurements from a variant whose timing and power figures differ from the defaults: the
    fit, started from the defaults, finds them again."""
    hidden_timing = ["timing.branch_refill=3", "timing.divide_bits_per_cycle=2"]
    base_pm = load_power_model(load_platform(BOARD))
    classes = dict(base_pm.class_pc, alu=140.0, load=220.0)
    truth = dataclasses.replace(base_pm, class_pc=classes, flash_read_pc=60.0, static_ua=1500.0)
    rows = [measure("microbench", f'MB_ONLY="{n}"', [SETTINGS[i % 3]] if SETTINGS[i % 3] else [], hidden_timing, truth)
            for i, n in enumerate(MICRO)]
    rows.append(measure("bench_mix", "BENCH_ITERATIONS=1", ["flash.wait_states=2"], hidden_timing, truth))
    rows.append(measure("demo", "LOOP_N=3000", [], hidden_timing, truth))
    data = write_rows(tmp_path / "truth.csv", rows)
    fit = ["timing.branch_refill", "timing.divide_bits_per_cycle", "power.class_pc.alu", "power.class_pc.load",
           "power.flash_read_pc", "power.static_ua"]
    out = tmp_path / "calibrated.toml"
    res = calibrate(data, BOARD, fit, out=out, report_dir=tmp_path / "report", cache_dir=cache)

    assert res.fitted["timing.branch_refill"] == 3
    assert res.fitted["timing.divide_bits_per_cycle"] == 2
    for name, want in (("power.class_pc.alu", 140.0), ("power.class_pc.load", 220.0),
                       ("power.flash_read_pc", 60.0), ("power.static_ua", 1500.0)):
        assert res.fitted[name] == pytest.approx(want, rel=0.01), name
    s = res.summary()
    assert s["latency_ms"]["rms_before_pct"] > 0.1 and s["latency_ms"]["rms_after_pct"] < 1e-6
    assert s["energy_uj"]["rms_before_pct"] > 10 and s["energy_uj"]["rms_after_pct"] < 0.1
    assert s["energy_uj"]["cv_rms_pct"] < 0.1 and s["latency_ms"]["cv_rms_pct"] < 1e-6

    # The platform override and its power model load, carry the values and their provenance.
    plat = load_platform(out)
    assert plat.get("timing.branch_refill") == 3 and plat.get("timing.divide_bits_per_cycle") == 2
    assert plat.source_of("timing.branch_refill").startswith("vbench calibrate")
    pm = load_power_model(plat)
    assert pm.class_pc["alu"] == pytest.approx(140.0, rel=0.01) and pm.static_ua == pytest.approx(1500, rel=0.01)
    cal = tomllib.loads(Path(res.outputs["power_model"]).read_text())["calibration"]
    assert cal["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert cal["rows_used"] == [r.m.line for r in res.rows]
    assert len(cal["rows"]) == len(rows) and "energy" in cal["fit_method"][0]
    for f in ("report.md", "rows.csv", "calibration.json", "predicted_vs_measured.png"):
        assert (tmp_path / "report" / f).stat().st_size > 0
    assert (tmp_path / "report" / "predicted_vs_measured.png").read_bytes()[:4] == b"\x89PNG"


def test_cross_validated_error_matches_the_noise_level(tmp_path, cache):
    """3 % multiplicative noise on the energies: the leave-one-out error reported is about 3 %."""
    sigma = 0.03
    base_pm = load_power_model(load_platform(BOARD))
    truth = dataclasses.replace(base_pm, class_pc={c: 180.0 for c in base_pm.class_pc}, stall_pc=180.0,
                                flash_read_pc=0.0, sram_read_pc=0.0, sram_write_pc=0.0, static_ua=1500.0)
    rng = np.random.default_rng(7)
    names = MICRO + ["loop_sram", "ldr_pipelined"]
    settings = ["", "core.clock_hz=16e6", "flash.wait_states=4", "core.clock_hz=48e6"]
    rows = []
    for i, n in enumerate(names * 2):
        row = measure("microbench", f'MB_ONLY="{n}"', [settings[i % 4]] if settings[i % 4] else [], [], truth)
        row["energy_uj"] = repr(float(row["energy_uj"]) * (1 + sigma * rng.standard_normal()))
        row["latency_ms"] = ""
        rows.append(row)
    data = write_rows(tmp_path / "noisy.csv", rows)
    res = calibrate(data, BOARD, ["power.cycle_pc", "power.static_ua"], out=tmp_path / "pm.toml",
                    report_dir=tmp_path / "report", cache_dir=cache)
    s = res.summary()["energy_uj"]
    assert s["cv_rows"] == len(rows)
    assert 0.6 * sigma * 100 < s["cv_rms_pct"] < 1.6 * sigma * 100
    assert s["rms_after_pct"] < s["cv_rms_pct"]
    assert res.fitted["power.cycle_pc"] == pytest.approx(180.0, rel=0.05)
    assert res.fitted["power.static_ua"] == pytest.approx(1500.0, rel=0.10)


# ====================================================================== refusals


def test_fewer_independent_rows_than_parameters_is_refused(tmp_path, cache):
    data = write_rows(tmp_path / "one.csv", [{"firmware": "demo", "energy_uj": "10", "source": "x"}])
    with pytest.raises(CalibrationRefused, match=r"1 row\(s\) .* 1 independent equation\(s\) for 2 energy"):
        calibrate(data, BOARD, ["power.cycle_pc", "power.static_ua"], out=tmp_path / "pm.toml",
                  report_dir=tmp_path / "r", cache_dir=cache)
    assert not (tmp_path / "pm.toml").exists()
    data = write_rows(tmp_path / "lat.csv", [{"firmware": "demo", "latency_ms": "5", "source": "x"}])
    with pytest.raises(CalibrationRefused, match=r"1 row\(s\) with a measured latency for 2 timing"):
        calibrate(data, BOARD, ["timing.branch_refill", "timing.divide_bits_per_cycle"],
                  out=tmp_path / "p.toml", report_dir=tmp_path / "r", cache_dir=cache)


def test_parameter_no_row_exercises_is_refused(tmp_path, cache):
    rows = [{"firmware": "demo", "energy_uj": "10"}, {"firmware": "demo LOOP_N=100", "energy_uj": "5"}]
    data = write_rows(tmp_path / "d.csv", rows)
    with pytest.raises(CalibrationRefused, match="power.class_pc.fp_div: no row exercises it"):
        calibrate(data, BOARD, ["power.class_pc.fp_div"], out=tmp_path / "pm.toml", report_dir=tmp_path / "r",
                  cache_dir=cache)


def test_out_of_bounds_fit_is_rejected_not_clipped(tmp_path, cache):
    pm = load_power_model(load_platform(BOARD))
    data = write_rows(tmp_path / "d.csv", [measure("demo", "LOOP_N=3000", [], [], pm)])
    with pytest.raises(CalibrationRefused, match=r"power.cycle_pc = [0-9.]+ pC is outside its bounds \[50, 100\]"
                                                 r".*rejected, not clipped"):
        calibrate(data, BOARD, ["power.cycle_pc=50:100"], out=tmp_path / "pm.toml", report_dir=tmp_path / "r",
                  cache_dir=cache)
    assert not (tmp_path / "pm.toml").exists()
    assert "REJECTED" in (tmp_path / "r" / "report.md").read_text()


def test_bounds_on_the_command_line_and_unknown_parameters(tmp_path, cache):
    with pytest.raises(VbenchError, match="did you mean 'power.static_ua'"):
        calibrate(HELD_OUT_CSV, BOARD, ["power.static_a"], write=False, cache_dir=cache)
    with pytest.raises(VbenchError, match="no published range .* --fit timing.load_use_stall=LO:HI"):
        calibrate(HELD_OUT_CSV, BOARD, ["timing.load_use_stall"], write=False, cache_dir=cache)
    with pytest.raises(VbenchError, match="bounds must be LO:HI"):
        calibrate(HELD_OUT_CSV, BOARD, ["power.cycle_pc=abc"], write=False, cache_dir=cache)


# ====================================================================== the fidelity rule: calibration rows only


def test_fit_refuses_a_file_without_calibration_rows(tmp_path, cache):
    """The v0.5 rows of vbench's own firmware are held out: no fit may use them, evaluating them is fine.
    A file without a role column has no calibration row either."""
    with pytest.raises(CalibrationRefused, match="no row on nucleo-l4r5zi is marked `calibration`"):
        calibrate(HELD_OUT_CSV, BOARD, ["power.cycle_pc"], write=False, cache_dir=cache)
    plain = tmp_path / "plain.csv"
    plain.write_text(",".join(COLUMNS) + "\ndemo,,,,10,,,,x\n")
    with pytest.raises(CalibrationRefused, match="marked `calibration`"):
        calibrate(plain, BOARD, ["power.cycle_pc"], write=False, cache_dir=cache)
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(COLUMNS) + ",role\ndemo,,,,10,,,,x,train\n")
    with pytest.raises(VbenchError, match="line 2, column role: 'train' is not a role"):
        read_measurements(bad)
    res = calibrate(HELD_OUT_CSV, BOARD, write=False, cache_dir=cache)  # evaluated: predictions only
    assert res.status == "evaluated" and not res.summary() and res.summary("held-out")["power_mw"]["rows"] == 4


def _tflm_rows(tmp_path: Path, held_out_power: str) -> Path:
    """The TFLM calibration rows plus a held-out AD row whose 'board figure' is made up."""
    lines = TFLM_CSV.read_text().splitlines()
    body = [ln.replace(f"{n}_cmsis.elf", str(TFLM_CSV.parent / f"{n}_cmsis.elf")) for n in ("kws", "vww")
            for ln in lines[1:] if ln.startswith(f"{n}_cmsis.elf")]
    ad = (f"{TFLM_CSV.parent / 'ad_cmsis.elf'},nucleo-l4r5zi,,function:tflite::MicroInterpreter::Invoke,,,"
          f"{held_out_power},1.8,120000000,held-out,made up to show it is never fitted")
    f = tmp_path / f"tflm-{held_out_power}.csv"
    f.write_text("\n".join([lines[0], *body, ad]) + "\n")
    return f


@needs_tflm
def test_held_out_rows_never_move_the_fit(tmp_path, cache):
    """Changing a held-out row's board figure moves neither the fitted value nor its leave-one-out
    errors; the row is predicted by the fit and reported apart."""
    fits = [calibrate(_tflm_rows(tmp_path, v), BOARD, ["power.cycle_pc"], write=False, cache_dir=cache)
            for v in ("10", "1000")]
    a, b = fits
    assert a.fitted["power.cycle_pc"] == b.fitted["power.cycle_pc"]
    assert a.summary() == b.summary() and a.summary()["power_mw"]["cv_rows"] == 2
    assert a.to_json()["rows_used"] == [2, 3] and a.to_json()["rows_held_out"] == [4]
    held = [r for r in a.rows if r.role == "held-out"][0]
    held_b = [r for r in b.rows if r.role == "held-out"][0]
    assert held.pred["power_mw"]["cv"] is None
    assert held.pred["power_mw"]["after"] == pytest.approx(held_b.pred["power_mw"]["after"], rel=1e-12)
    assert a.summary("held-out")["power_mw"]["rms_after_pct"] != b.summary("held-out")["power_mw"]["rms_after_pct"]
    with pytest.raises(VbenchError, match="vbench validate .* --fit"):
        calibrate(TFLM_CSV, BOARD, ["timing.branch_refill"], write=False, cache_dir=cache)


# ====================================================================== malformed measurement files


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\n", "no measurement rows"),
    ("firmware,platform,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\ndemo,,1,,,,,\n",
     "missing column\\(s\\) overrides"),
    ("firmware,platform,overrides,latency_us,energy_uj,power_mw,voltage_v,clock_hz,source\ndemo,,,1,,,,,\n",
     "missing column\\(s\\) latency_ms \\(did you mean 'latency_us' for 'latency_ms'"),
    ("firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\ndemo,,,fast,,,,,\n",
     "line 2, column latency_ms: 'fast' is not a number"),
    ("firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\ndemo,,,1,-3,,,,\n",
     "line 2, column energy_uj: -3 must be positive"),
    ("firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\ndemo,,,nan,,,,,\n",
     "not a finite number"),
    ("firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\n,,,1,,,,,\n",
     "line 2, column firmware: empty"),
    ("firmware,platform,overrides,latency_ms,energy_uj,power_mw,voltage_v,clock_hz,source\ndemo,,flash.x,1,,,,,\n",
     "override 'flash.x' is not of the form"),
])
def test_malformed_measurement_files(tmp_path, text, message):
    f = tmp_path / "m.csv"
    f.write_text(text)
    with pytest.raises(VbenchError, match=message):
        read_measurements(f)


def test_missing_file_and_unknown_firmware_and_clock_mismatch(tmp_path, cache):
    with pytest.raises(VbenchError, match="measurement file not found"):
        calibrate(tmp_path / "nope.csv", BOARD, write=False, cache_dir=cache)
    data = write_rows(tmp_path / "u.csv", [{"firmware": "kws02", "power_mw": "40"}])
    with pytest.raises(VbenchError, match=r"row 2: unknown firmware 'kws02': not a file, not a workload id \(kws01"):
        calibrate(data, BOARD, write=False, cache_dir=cache)
    data = write_rows(tmp_path / "c.csv", [{"firmware": "demo", "energy_uj": "5", "clock_hz": "80e6"}])
    with pytest.raises(VbenchError, match="measured at 80,000,000 Hz but 'demo' runs at 120,000,000 Hz"):
        calibrate(data, BOARD, write=False, cache_dir=cache)
    data = write_rows(tmp_path / "o.csv", [{"firmware": "demo", "platform": "rv32imaf-mcu", "energy_uj": "5"}])
    with pytest.raises(VbenchError, match="no row to compare on nucleo-l4r5zi \\(rows are for rv32imaf-mcu\\)"):
        calibrate(data, BOARD, write=False, cache_dir=cache)


# ====================================================================== the shipped reference model


def test_reference_power_model_lands_in_the_published_band():
    """vbench's own MLPerf Tiny firmware on the calibrated Nucleo model: 38-48 mW average for all
    four workloads, and energy per inference = average power x latency within 1 %."""
    from vbench.calibrate import coefficients, energy_uj
    from vbench.calibration.workloads import resolve_firmware, simulate
    from vbench.modelcheck import prepare_model, run_inference

    plat = load_platform(BOARD)
    pm = load_power_model(plat)
    from vbench.workloads import WORKLOADS

    for wid, model in ((w.model_id, w.model_file) for w in WORKLOADS):
        fw = resolve_firmware(wid, plat)
        sim = simulate(fw, plat, None)
        e_model = energy_uj(sim, coefficients(pm, {}), pm.supply_v, pm.range_scale.get(sim.voltage_range, 1.0))
        p_mw = e_model / sim.time_s / 1e3
        assert 38.0 <= p_mw <= 48.0, (wid, p_mw)
        # the Board's own per-layer energy accounting (native charge counters) for the same inference
        case = prepare_model(model, inputs=1)
        from vbench.modelcheck import build_check_image

        img = build_check_image(case, plat)
        run = run_inference(plat, img.elf, img, case, case.inputs[0], "random#0")
        assert run.status == 0 and run.time_ms == pytest.approx(sim.latency_ms, rel=1e-6)
        assert run.energy_uj == pytest.approx(p_mw * run.time_ms, rel=0.01), wid


def test_reference_power_model_provenance_matches_its_data():
    text = (power_models_dir() / "nucleo-l4r5zi.toml").read_text()
    cal = tomllib.loads(text)["calibration"]
    assert cal["data_file"] == "../shared/firmware/tflm-2.3.1/measurements.csv"
    assert cal["fitted"] == ["power.cycle_pc"] and cal["rows_used"] == [2, 3]
    assert {r["firmware"] for r in cal["rows"]} == {"kws_cmsis.elf", "vww_cmsis.elf"}
    assert cal["errors"]["power_mw"]["cv_rms_pct"] > 0
    assert "DS12023" in text and "docs/sources.md §Power 3" in text
    if TFLM_CSV.is_file():
        assert cal["data_sha256"] == hashlib.sha256(TFLM_CSV.read_bytes()).hexdigest()


@needs_tflm
def test_reference_calibration_reproduces_the_shipped_value(cache):
    """A fresh fit on the calibration rows gives the shipped charge (else regenerate the file with the
    command in its header: the simulator's cycle counts have moved)."""
    pm = load_power_model(load_platform(BOARD))
    res = calibrate(TFLM_CSV, BOARD, ["power.cycle_pc"], write=False, cache_dir=cache)
    assert res.fitted["power.cycle_pc"] == pytest.approx(pm.class_pc["alu"], rel=0.005)
    assert pm.stall_pc == pm.class_pc["alu"] and len(set(pm.class_pc.values())) == 1
    s = res.summary()["power_mw"]
    cal = tomllib.loads((power_models_dir() / "nucleo-l4r5zi.toml").read_text())["calibration"]
    assert s["rms_after_pct"] == pytest.approx(cal["errors"]["power_mw"]["rms_after_pct"], abs=0.1)
    assert s["cv_rms_pct"] == pytest.approx(cal["errors"]["power_mw"]["cv_rms_pct"], abs=0.1)


# ====================================================================== command line


def test_cli_calibrate_evaluate_fit_and_exit_codes(tmp_path, cache, capsys, monkeypatch):
    monkeypatch.setenv("VBENCH_CALIBRATION_CACHE", str(cache))
    rc = main(["calibrate", str(HELD_OUT_CSV), "--platform", BOARD, "--report", str(tmp_path / "eval")])
    out = capsys.readouterr().out
    assert rc == 0 and "status: evaluated" in out and "power_mw" in out and "held-out" in out
    assert not any(tmp_path.glob("*.toml"))
    rc = main(["calibrate", str(HELD_OUT_CSV), "--platform", BOARD, "--fit", "power.cycle_pc",
               "--out", str(tmp_path / "no.toml"), "--report", str(tmp_path / "no")])
    assert rc == 1 and "marked `calibration`" in capsys.readouterr().err and not (tmp_path / "no.toml").exists()
    pm = load_power_model(load_platform(BOARD))
    data = write_rows(tmp_path / "d.csv", [measure("demo", "LOOP_N=3000", [], [], pm),
                                           measure("demo", "LOOP_N=100", [], [], pm)])
    rc = main(["calibrate", str(data), "--platform", BOARD, "--fit", "power.cycle_pc",
               "--out", str(tmp_path / "pm.toml"), "--report", str(tmp_path / "fit")])
    out = capsys.readouterr().out
    assert rc == 0 and "leave-one-out" in out and f"wrote power_model: {tmp_path / 'pm.toml'}" in out
    rc = main(["calibrate", str(data), "--platform", BOARD, "--fit", "power.cycle_pc=50:60",
               "--out", str(tmp_path / "bad.toml"), "--report", str(tmp_path / "bad")])
    assert rc == 1 and "rejected, not clipped" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("firmware,latency_ms\ndemo,1\n")
    assert main(["calibrate", str(bad), "--platform", BOARD]) == 2
    assert "missing column(s)" in capsys.readouterr().err


def test_cli_fidelity_lists_every_platform(capsys):
    assert main(["fidelity"]) == 0
    out = capsys.readouterr().out
    assert "nucleo-l4r5zi" in out and "rv32imaf-mcu" in out
    assert "calibrated: power.cycle_pc fitted to ../shared/firmware/tflm-2.3.1/measurements.csv" in out
    assert "leave-one-out CV RMS" in out
    assert "not calibrated: no published energy or power measurement" in out
    assert "timing.branch_refill" in out
    assert main(["fidelity", "--json", "--platform", "rv32imaf-mcu"]) == 0
    assert '"platform": "rv32imaf-mcu"' in capsys.readouterr().out


def test_simulations_are_cached(tmp_path):
    data = write_rows(tmp_path / "d.csv", [{"firmware": "demo", "energy_uj": "10"},
                                           {"firmware": "demo", "overrides": "core.clock_hz=16e6", "energy_uj": "9"}])
    first = calibrate(data, BOARD, write=False, cache_dir=tmp_path / "cache")
    second = calibrate(data, BOARD, write=False, cache_dir=tmp_path / "cache")
    assert first.simulations == 2 and second.simulations == 0
    assert [r.pred for r in first.rows] == [r.pred for r in second.rows]
