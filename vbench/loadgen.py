"""MLPerf Inference LoadGen scenarios in virtual time.

The device under test is one virtual board processing one sample at a time; its service time per
sample is the simulated, deterministic inference latency (per input file, from performance mode).
The scenarios follow LoadGen's definitions and its TestSettings defaults (mlcommons-loadgen 6.0:
min_duration_ms 10000, min_query_count 100, SingleStream percentile 0.90, MultiStream 8 samples
per query at percentile 0.99, Server percentile 0.99 against server_target_latency_ns 100 ms,
Poisson arrivals from a seeded generator). Virtual time makes them exact and fast: no query waits
on the host clock.

`crosscheck_with_loadgen` drives the real `mlperf_loadgen` package with a SUT whose completions
take the virtual latency scaled into host time, and compares LoadGen's own figures with these.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from vbench.errors import VbenchError

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")


@dataclass
class Rules:
    """LoadGen TestSettings defaults that decide how long a scenario runs."""
    min_duration_s: float = 10.0
    min_query_count: int = 100
    single_stream_percentile: float = 0.90
    multi_stream_samples_per_query: int = 8
    multi_stream_percentile: float = 0.99
    server_target_qps: float = 1.0
    server_target_latency_s: float = 0.100
    server_percentile: float = 0.99
    offline_expected_qps: float = 1.0
    seed: int = 0


@dataclass
class ScenarioResult:
    scenario: str
    queries: int
    samples: int
    duration_s: float
    latency_percentile: float | None = None
    latency_s_at_percentile: float | None = None
    mean_latency_s: float | None = None
    throughput_sps: float | None = None
    target_qps: float | None = None
    latency_bound_s: float | None = None
    valid: bool = True
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _percentile(values: np.ndarray, p: float) -> float:
    """LoadGen's percentile: the value at index ceil(p * n) - 1 of the sorted latencies."""
    s = np.sort(values)
    return float(s[max(0, math.ceil(p * len(s)) - 1)])


def _service(latencies_s: list[float], n: int) -> np.ndarray:
    if not latencies_s or min(latencies_s) <= 0:
        raise VbenchError("scenario needs positive per-sample latencies")
    return np.array([latencies_s[i % len(latencies_s)] for i in range(n)])


def single_stream(latencies_s: list[float], rules: Rules = Rules()) -> ScenarioResult:
    """One sample per query, the next issued when the previous completes."""
    mean = float(np.mean(latencies_s))
    n = max(rules.min_query_count, math.ceil(rules.min_duration_s / mean))
    service = _service(latencies_s, n)
    while service.sum() < rules.min_duration_s:  # per-sample latencies vary: extend until both rules hold
        n += 1
        service = _service(latencies_s, n)
    p = rules.single_stream_percentile
    return ScenarioResult("SingleStream", n, n, float(service.sum()), p, _percentile(service, p),
                          float(service.mean()), n / float(service.sum()))


def multi_stream(latencies_s: list[float], rules: Rules = Rules()) -> ScenarioResult:
    """Queries of `samples_per_query` samples, back to back; a query's latency is the time to
    finish all its samples on the one device."""
    k = rules.multi_stream_samples_per_query
    per_query = float(np.mean(latencies_s)) * k
    q = max(rules.min_query_count, math.ceil(rules.min_duration_s / per_query))
    service = _service(latencies_s, q * k).reshape(q, k).sum(axis=1)
    p = rules.multi_stream_percentile
    return ScenarioResult("MultiStream", q, q * k, float(service.sum()), p, _percentile(service, p),
                          float(service.mean()), q * k / float(service.sum()))


def server(latencies_s: list[float], rules: Rules = Rules()) -> ScenarioResult:
    """Poisson arrivals at target QPS into a FIFO queue on the device; valid when the latency
    percentile stays within the bound."""
    qps = rules.server_target_qps
    if qps <= 0:
        raise VbenchError("server scenario needs a positive target QPS")
    n = max(rules.min_query_count, math.ceil(rules.min_duration_s * qps))
    rng = np.random.default_rng(rules.seed)
    arrivals = np.cumsum(rng.exponential(1.0 / qps, n))
    service = _service(latencies_s, n)
    done = np.empty(n)
    free_at = 0.0
    for i in range(n):  # one server, first come first served
        start = max(arrivals[i], free_at)
        free_at = done[i] = start + service[i]
    lat = done - arrivals
    p = rules.server_percentile
    at_p = _percentile(lat, p)
    r = ScenarioResult("Server", n, n, float(done[-1]), p, at_p, float(lat.mean()), n / float(done[-1]), qps,
                       rules.server_target_latency_s, valid=at_p <= rules.server_target_latency_s)
    if not r.valid:
        r.notes.append(f"{p:.0%} latency {at_p * 1e3:.2f} ms exceeds the {rules.server_target_latency_s * 1e3:g} ms bound")
    if qps * float(np.mean(latencies_s)) >= 1:
        r.notes.append("target QPS above the device's capacity: the queue grows without bound")
    return r


def offline(latencies_s: list[float], rules: Rules = Rules()) -> ScenarioResult:
    """All samples in one query; throughput = samples / time to finish them."""
    n = max(rules.min_query_count, math.ceil(rules.min_duration_s * rules.offline_expected_qps * 1.1))
    service = _service(latencies_s, n)
    while service.sum() < rules.min_duration_s:
        n = math.ceil(n * 1.1) + 1
        service = _service(latencies_s, n)
    return ScenarioResult("Offline", 1, n, float(service.sum()), throughput_sps=n / float(service.sum()))


def run_scenario(name: str, latencies_s: list[float], rules: Rules = Rules()) -> ScenarioResult:
    fn = {"SingleStream": single_stream, "MultiStream": multi_stream, "Server": server, "Offline": offline}.get(name)
    if fn is None:
        raise VbenchError(f"unknown scenario '{name}' (known: {', '.join(SCENARIOS)})")
    return fn(latencies_s, rules)


def crosscheck_with_loadgen(name: str, latencies_s: list[float], scale: float = 1e-3, rules: Rules = Rules(),
                            out_dir: str | None = None) -> dict:
    """Drive the real mlperf_loadgen with a SUT that completes each sample after its virtual
    latency times `scale` of host time (the documented mapping), and return LoadGen's figures
    divided back by `scale` next to vbench's. Host scheduling adds a little to every LoadGen
    latency, so LoadGen's figures are an upper bound of vbench's."""
    import os
    import re
    import tempfile
    import threading
    import time

    import mlperf_loadgen as lg

    scenario = {"SingleStream": lg.TestScenario.SingleStream, "MultiStream": lg.TestScenario.MultiStream,
                "Server": lg.TestScenario.Server, "Offline": lg.TestScenario.Offline}[name]
    settings = lg.TestSettings()
    settings.scenario = scenario
    settings.mode = lg.TestMode.PerformanceOnly
    settings.min_duration_ms = int(rules.min_duration_s * scale * 1000) or 1
    settings.min_query_count = rules.min_query_count
    settings.max_query_count = rules.min_query_count if name != "Server" else 0
    settings.multi_stream_samples_per_query = rules.multi_stream_samples_per_query
    settings.server_target_qps = rules.server_target_qps / scale
    settings.server_target_latency_ns = int(rules.server_target_latency_s * scale * 1e9)
    settings.offline_expected_qps = rules.offline_expected_qps / scale
    settings.single_stream_expected_latency_ns = int(np.mean(latencies_s) * scale * 1e9)
    settings.multi_stream_expected_latency_ns = int(np.mean(latencies_s) * rules.multi_stream_samples_per_query * scale * 1e9)

    import queue

    pending: queue.Queue = queue.Queue()

    def device():
        # one worker: the single device serves samples in arrival order, each for its scaled
        # virtual latency (sleep, then spin the last half millisecond for precision)
        free_at = 0.0
        while True:
            s = pending.get()
            if s is None:
                return
            finish = max(time.perf_counter(), free_at) + latencies_s[s.index % len(latencies_s)] * scale
            while (left := finish - time.perf_counter()) > 0:
                time.sleep(left - 0.0005) if left > 0.001 else None
            free_at = finish
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0)])

    worker = threading.Thread(target=device, daemon=True)
    worker.start()

    def issue(samples):
        for s in samples:
            pending.put(s)

    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(len(latencies_s), len(latencies_s), lambda idx: None, lambda idx: None)
    log_dir = out_dir or tempfile.mkdtemp(prefix="vbench-loadgen-")
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = log_dir
    log_settings.log_output.copy_summary_to_stdout = False
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    pending.put(None)
    worker.join()
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    summary = open(os.path.join(log_dir, "mlperf_log_summary.txt")).read()

    def field_ns(label: str) -> float | None:
        m = re.search(rf"^{re.escape(label)}\s*:\s*([0-9.]+)", summary, re.M)
        return float(m[1]) if m else None

    ours = run_scenario(name, latencies_s, rules).to_dict()
    lg_figures = {
        "p90_latency_s": (field_ns("90.00 percentile latency (ns)") or 0) * 1e-9 / scale,
        "p99_latency_s": (field_ns("99.00 percentile latency (ns)") or 0) * 1e-9 / scale,
        "mean_latency_s": (field_ns("Mean latency (ns)") or 0) * 1e-9 / scale,
        "samples_per_s": (field_ns("Samples per second") or field_ns("QPS w/o loadgen overhead") or 0) * scale,
        "result_valid": "Result is : VALID" in summary,
    }
    return {"scenario": name, "scale": scale, "vbench": ours, "loadgen": lg_figures, "log_dir": log_dir}
