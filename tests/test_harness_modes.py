"""Performance and energy modes on the real harness firmware: the window extrapolated by the
repetition rule equals the window the board really produces, and the modes report valid,
exact 10-second windows."""

from __future__ import annotations

import shutil

import pytest

from vbench.harness import window as wr
from vbench.harness.dataset import synthetic_input

PLATFORMS = ("nucleo-l4r5zi", "rv32imaf-mcu")


def _need_toolchain(platform: str) -> None:
    from vbench.firmware import toolchain_of
    from vbench.platform import load_platform

    if shutil.which(toolchain_of(load_platform(platform)).gcc) is None:
        pytest.skip(f"cross compiler for {platform} not installed")


def _runner(model_id: str, platform: str, energy_mode: bool = False):
    from vbench.harness.modes import VirtualTarget
    from vbench.harness.runner import Runner

    _need_toolchain(platform)
    runner = Runner(VirtualTarget(model_id, platform, energy_mode=energy_mode).open())
    runner.connect()
    return runner


@pytest.mark.parametrize("model_id, n, warmups", [("ad01", 12, 10), ("ad01", 9, 0), ("kws01", 5, 3)])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_extrapolated_window_equals_the_simulated_one(platform, model_id, n, warmups):
    from vbench.workloads import by_model_id

    runner = _runner(model_id, platform)
    try:
        runner.load(synthetic_input(model_id, 1, by_model_id(model_id).db_bytes))
        sampling = wr.sample_window(runner, warmups)
        predicted = wr.extrapolate(sampling, n, warmups)
        real = runner.infer(n, warmups)
    finally:
        runner.close()
    assert predicted.extrapolated and predicted.exact
    assert predicted.cycles == real.window_cycles
    assert predicted.seconds == pytest.approx(real.window_s, rel=1e-12)
    assert predicted.energy_uj == pytest.approx(real.window_energy_uj, rel=1e-9)
    assert predicted.per_inference_cycles * n < real.window_cycles  # the marks themselves are in the window
    assert abs(real.elapsed_us - predicted.seconds * 1e6) < 1.0 + 1e-6  # the device truncates each lap to 1 us


@pytest.mark.parametrize("platform", PLATFORMS)
def test_performance_and_energy_modes(platform):
    from vbench.harness.modes import VirtualTarget, run_mode

    _need_toolchain(platform)
    perf = run_mode("performance", VirtualTarget("ad01", platform), None, synthetic=True)
    energy = run_mode("energy", VirtualTarget("ad01", platform), None, synthetic=True)
    for r, warmups in ((perf, 10), (energy, 0)):
        assert r["valid"] and r["exact"] and r["extrapolated"] and r["inputs"] == "synthetic"
        assert len(r["runs"]) == 5
        for run in r["runs"]:
            assert run["seconds"] >= 10.0 and run["inferences"] >= 10 and run["warmups"] == warmups
            assert run["seconds"] - run["per_inference_s"] < 10.0 or run["inferences"] == 10  # smallest N
            assert run["simulated_inferences"] <= 14
        assert r["median_instructions_per_inference"] > 100_000
    assert energy["target"]["energy_image"] and not perf["target"]["energy_image"]
    # different images, same computation: per-inference energy within 1 %
    assert energy["median_energy_per_inference_uj"] == pytest.approx(perf["median_energy_per_inference_uj"], rel=0.01)
    assert perf["median_latency_ms"] == pytest.approx(energy["median_latency_ms"], rel=0.01)
