"""LoadGen scenarios in virtual time, and a cross-check against the real mlperf_loadgen."""

import pytest

from vbench.loadgen import Rules, crosscheck_with_loadgen, run_scenario

LAT = [0.010, 0.012, 0.011, 0.010, 0.013]  # seconds per sample, as performance mode measures them


def test_single_stream_follows_the_loadgen_rules():
    r = run_scenario("SingleStream", LAT)
    assert r.queries >= 100 and r.duration_s >= 10.0  # min_query_count and min_duration
    assert r.latency_percentile == 0.90
    # 90th percentile by LoadGen's index rule: one sample in five takes 13 ms
    assert r.latency_s_at_percentile == 0.013


def test_multi_stream_query_latency_is_eight_samples():
    r = run_scenario("MultiStream", [0.01])
    assert r.samples == 8 * r.queries and r.latency_s_at_percentile == pytest.approx(0.08)


def test_server_is_seeded_and_checks_the_bound():
    a = run_scenario("Server", LAT, Rules(server_target_qps=50, server_target_latency_s=0.1, seed=3))
    b = run_scenario("Server", LAT, Rules(server_target_qps=50, server_target_latency_s=0.1, seed=3))
    assert a == b and a.valid
    overload = run_scenario("Server", LAT, Rules(server_target_qps=120, server_target_latency_s=0.05))
    assert not overload.valid and any("capacity" in n for n in overload.notes)


def test_offline_throughput():
    r = run_scenario("Offline", [0.01, 0.03])
    assert r.throughput_sps == pytest.approx(50.0, rel=0.01) and r.duration_s >= 10


@pytest.mark.parametrize("scenario", ["SingleStream", "Offline"])
def test_real_loadgen_agrees_within_host_overhead(scenario):
    pytest.importorskip("mlperf_loadgen")
    lat = [0.4733, 0.4731, 0.4735]  # KWS on the Nucleo, seconds
    c = crosscheck_with_loadgen(scenario, lat, scale=0.02, rules=Rules(min_query_count=100, min_duration_s=5,
                                                                       offline_expected_qps=2.1))
    assert c["loadgen"]["result_valid"]
    if scenario == "SingleStream":
        ours, theirs = c["vbench"]["latency_s_at_percentile"], c["loadgen"]["p90_latency_s"]
        # LoadGen adds the host's scheduling to every query: never faster, and on a loaded host up to
        # tens of percent slower (the figures agree within 2 % on an idle one)
        assert ours <= theirs <= ours * 2
    else:
        ours, theirs = c["vbench"]["throughput_sps"], c["loadgen"]["samples_per_s"]
        assert ours * 0.5 <= theirs <= ours
