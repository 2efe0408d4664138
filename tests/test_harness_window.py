"""The performance/energy window rule, against a fake device that speaks the harness protocol
and whose inference costs are known in closed form: the extrapolated window must equal the
window the device would really produce for `infer N W`."""

from __future__ import annotations

import pytest

from vbench.errors import VbenchError
from vbench.harness import window as wr
from vbench.harness.modes import run_mode
from vbench.harness.protocol import Timeout
from vbench.harness.transport import Counters, Mark

HZ = 100_000_000
UJ_PER_CYCLE = 2e-6


class FakeDevice:
    """A DUT whose i-th inference of a command costs base + cold[i] cycles (cold[-1] from then
    on), the first timed one `after_timestamp` more; the window adds `overhead` cycles."""

    def __init__(self, base=1_000_000, cold=(50, 10, 0), after_timestamp=3, overhead=700,
                 deterministic=True, model_id="kws01"):
        self.base, self.cold, self.after_ts, self.overhead = base, list(cold), after_timestamp, overhead
        self.deterministic = deterministic
        self.model_id = model_id
        self.cycles = 0
        self.out = b"m-init-done\r\nm-ready\r\n"
        self.pending = b""
        self.marks_ = []
        self.commands = []
        self.db_size = self.db_pos = 0

    # what a real device would measure
    def cost(self, i: int) -> int:
        return self.base + self.cold[min(i, len(self.cold) - 1)]

    def true_window(self, n: int, w: int) -> int:
        return self.overhead + self.after_ts + sum(self.cost(i) for i in range(w, w + n))

    # Transport
    def write(self, data: bytes) -> None:
        self.pending += data
        while b"%" in self.pending:
            cmd, self.pending = self.pending.split(b"%", 1)
            self.out += self._answer(cmd.decode()).encode() + b"m-ready\r\n"

    def read(self, timeout: Timeout) -> bytes:
        out, self.out = self.out, b""
        return out

    @property
    def waiting_for_input(self) -> bool:
        return self.deterministic

    def close(self) -> None:
        pass

    def counters(self) -> Counters:
        return Counters(self.cycles // 2, self.cycles, self.cycles / HZ, self.cycles * UJ_PER_CYCLE)

    def marks(self) -> list[Mark]:
        return list(self.marks_)

    def _mark(self) -> str:
        self.marks_.append(Mark(self.cycles, self.cycles / HZ, self.cycles * UJ_PER_CYCLE, self.cycles))
        return f"m-lap-us-{self.cycles * 1_000_000 // HZ}\r\n"

    def _answer(self, cmd: str) -> str:
        self.commands.append(cmd)
        self.cycles += 5000  # command processing
        t = cmd.split()
        if t == ["name"]:
            return "m-name-dut-[fake]\r\n"
        if t == ["profile"]:
            return f"m-profile-[fake]\r\nm-model-[{self.model_id}]\r\n"
        if t[:2] == ["db", "load"]:
            self.db_size, self.db_pos = int(t[2]), 0
            return f"m-[Expecting {t[2]} bytes]\r\n"
        if t[0] == "db":
            self.db_pos += len(t[1]) // 2
            return "m-load-done\r\n" if self.db_pos == self.db_size else ""
        if t[0] == "infer":
            n, w = int(t[1]), int(t[2])
            self.cycles += sum(self.cost(i) for i in range(w))
            out = self._mark()
            self.cycles += self.true_window(n, w)
            out += self._mark()
            return out + "m-infer-done\r\nm-results-[0.9,0.1]\r\n"
        return f"e-[Unknown command: {t[0]}]\r\n"


class FakeTarget:
    def __init__(self, device):
        self.device, self.model_id = device, device.model_id

    def prepare(self):
        return self

    def open(self):
        return self.device

    def describe(self):
        return {"kind": "fake"}


def _sample_window(device, w):
    from vbench.harness.runner import Runner

    runner = Runner(device)
    runner.connect()
    return wr.sample_window(runner, w)


@pytest.mark.parametrize("warmups", [0, 1, 10])
@pytest.mark.parametrize("cold", [(0,), (50, 10, 0), (90, 40, 7, 0)])
def test_extrapolated_window_equals_the_real_one(cold, warmups):
    dev = FakeDevice(cold=cold)
    sampling = _sample_window(dev, warmups)
    assert sampling.repetition.repeated and sampling.warmups_converged
    for n in (10, 1000, 12_345):
        win = wr.extrapolate(sampling, n, warmups)
        assert win.extrapolated and win.exact
        assert win.cycles == dev.true_window(n, warmups)
        assert win.energy_uj == pytest.approx(dev.true_window(n, warmups) * UJ_PER_CYCLE)
        assert win.seconds == pytest.approx(dev.true_window(n, warmups) / HZ, rel=1e-12)
    assert win.per_inference_cycles == dev.base + cold[-1]
    assert win.instructions_per_inference == dev.base + cold[-1]  # the fake runs at CPI 1
    # few inferences simulated: (1 + w) and (1 + w + 1) for the warm-ups, then k = 2, 3(, 4, ...)
    assert sampling.simulated_inferences <= 25
    assert not any(c.startswith("infer") and int(c.split()[1]) > wr.MAX_SIMULATED_K for c in dev.commands)


def test_no_repetition_is_reported_not_hidden():
    dev = FakeDevice(cold=tuple(range(100, 0, -10)) + (0,))  # converges only after 10 inferences
    sampling = _sample_window(dev, 0)
    assert not sampling.repetition.repeated
    win = wr.extrapolate(sampling, 100, 0)
    assert win.extrapolated and win.repetition is False and not win.exact


def test_choose_inferences_fills_ten_seconds():
    assert wr.choose_inferences(0.5) == 20
    assert wr.choose_inferences(2.0) == 10          # at least 10 inferences
    assert wr.choose_inferences(0.001, 0.5) == 9500  # overhead counts toward the 10 s
    n = wr.choose_inferences(0.1 / 3)
    assert n * (0.1 / 3) >= 10.0 and (n - 1) * (0.1 / 3) < 10.0
    with pytest.raises(VbenchError):
        wr.choose_inferences(0.0)


def test_performance_mode_on_a_fake_device():
    dev = FakeDevice(cold=(50, 0))  # steady from the second inference of a command
    r = run_mode("performance", FakeTarget(dev), None, synthetic=True)
    assert r["inputs"] == "synthetic" and len(r["runs"]) == 5 and r["valid"] and r["exact"]
    n = wr.choose_inferences(dev.base / HZ, (dev.overhead + dev.after_ts) / HZ)
    for run in r["runs"]:
        assert run["inferences"] == n and run["warmups"] == 10 and run["extrapolated"]
        assert run["seconds"] >= 10.0 and run["cycles"] == dev.true_window(n, 10)
        assert run["simulated_inferences"] == 12  # infer 1 1, infer 1 2 (warm-up check), infer 2 1, infer 3 1
    assert r["median_latency_ms"] == pytest.approx(dev.true_window(n, 10) / HZ / n * 1e3)
    assert r["median_throughput_ips"] == pytest.approx(n / (dev.true_window(n, 10) / HZ))
    assert r["median_energy_per_inference_uj"] == pytest.approx(dev.true_window(n, 10) * UJ_PER_CYCLE / n)
    # 5 downloads of 490 bytes in 31-byte chunks
    assert sum(c == "db load 490" for c in dev.commands) == 5
    assert all(len(c) <= 80 for c in dev.commands)


def test_performance_mode_runs_whole_windows_on_a_real_device():
    dev = FakeDevice(deterministic=False)
    r = run_mode("performance", FakeTarget(dev), None, synthetic=True)
    infers = [c for c in dev.commands if c.startswith("infer")]
    assert infers[0] == "infer 1 10"  # the probe, then full windows
    n = int(infers[1].split()[1])
    assert n >= 10 and all(c == f"infer {n} 10" for c in infers[1:]) and len(infers) == 6
    assert all(not run["extrapolated"] and run["seconds"] >= 10.0 for run in r["runs"])
    assert r["valid"]


def test_energy_mode_on_a_real_device_runs_the_energy_windows_whole():
    # the windows an external meter records (ad01's energy script: no warm-ups), run whole; on a
    # real board the energy comes from the meter (vbench run --energy-import: test_real_board.py)
    dev = FakeDevice(deterministic=False, model_id="ad01")
    r = run_mode("energy", FakeTarget(dev), None, synthetic=True)
    infers = [c for c in dev.commands if c.startswith("infer")]
    n = int(infers[1].split()[1])
    assert infers[0] == "infer 1 0" and infers[1:] == [f"infer {n} 0"] * 5 and r["mode"] == "energy"
    assert all(not run["extrapolated"] and run["seconds"] >= 10.0 for run in r["runs"]) and r["valid"]


def test_timestamp_pin_follows_the_hal_or_the_board_file(tmp_path):
    """A copy of a board under its own name keeps its HAL's pin; a board file may name another one."""
    from vbench.harness.transport import timestamp_pin_of
    from vbench.paths import platforms_dir
    from vbench.platform import load_platform

    text = (platforms_dir() / "nucleo-l4r5zi.toml").read_text().replace('name = "nucleo-l4r5zi"', 'name = "mine"')
    (tmp_path / "mine.toml").write_text(text)
    assert timestamp_pin_of(load_platform(tmp_path / "mine.toml")) == ("F", 13)
    (tmp_path / "other.toml").write_text(text + '\n[harness]\ntimestamp_pin = ["G", 2]\n')
    assert timestamp_pin_of(load_platform(tmp_path / "other.toml")) == ("G", 2)
    (tmp_path / "bad.toml").write_text(text + '\n[harness]\ntimestamp_pin = "PG2"\n')
    with pytest.raises(VbenchError, match=r"bad\.toml: harness\.timestamp_pin = 'PG2' must be \[port, pin\]"):
        timestamp_pin_of(load_platform(tmp_path / "bad.toml"))
