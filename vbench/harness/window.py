"""The timed window of `infer N W`, measured or, on a deterministic simulator, extrapolated.

A valid MLPerf Tiny window lasts at least 10 s and 10 inferences. At 120 MHz that is ~1.2e9
simulated cycles per window, five windows per mode: too many to simulate. A simulation is
deterministic, though, and an inference that starts from the same cache/prefetch state as the
previous one costs the same again; equal cycle counts of two consecutive inferences are taken as
the sign of that state. The window then follows from a few commands (S(k; w) is the window of
`infer k w`, read from the timestamp marks):

  warm-ups   for W >= 1, simulate `infer 1 w` for w = 1, 2, ... until S(1; w+1) = S(1; w): the
             first timed inference no longer depends on how many warm-ups ran before it, so w
             warm-ups (`warmups_simulated`) stand for all W. (W = 0 is simulated as such.)
  timed      simulate `infer k w` for k = 1, 2, 3, ... until two consecutive increments
             d(k) = S(k; w) - S(k-1; w) are equal: from there each inference costs d, and
                 S(N; W) = S(K; w) + (N - K) d        (exact by repetition)
             energy and instructions follow the same increments.

Typically 12 inferences are simulated per window (6 with W = 0). The rule uses only protocol
commands and the transport's timestamp marks; nothing in the firmware knows about it. A real
board (non-deterministic transport) runs the whole window instead.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from vbench.errors import VbenchError

MIN_WINDOW_S = 10.0
MIN_INFERENCES = 10
MAX_SIMULATED_K = 6   # give up waiting for repetition after infer 6


@dataclass(frozen=True)
class Sample:
    """One simulated `infer k W'`."""
    k: int
    seconds: float
    cycles: int | None = None
    energy_uj: float | None = None
    instructions: int | None = None

    @classmethod
    def of(cls, result) -> "Sample":
        return cls(result.inferences, result.seconds, result.window_cycles, result.window_energy_uj,
                   result.window_instructions)


@dataclass
class Window:
    inferences: int
    warmups: int
    seconds: float
    cycles: int | None = None
    energy_uj: float | None = None
    extrapolated: bool = False
    repetition: bool | None = None       # None: measured whole, no rule needed
    simulated_inferences: int | None = None  # timed + warm-up inferences actually simulated
    warmups_simulated: int | None = None
    warmups_converged: bool | None = None  # the first timed inference no longer depended on W
    per_inference_s: float | None = None
    per_inference_cycles: int | None = None
    per_inference_energy_uj: float | None = None
    instructions_per_inference: int | None = None
    overhead_s: float | None = None      # the window's part outside the N inferences

    @property
    def latency_s(self) -> float:
        return self.seconds / self.inferences

    @property
    def exact(self) -> bool:
        """Measured whole, or extrapolated with both repetition checks satisfied."""
        return not self.extrapolated or bool(self.repetition and self.warmups_converged)

    @property
    def valid(self) -> bool:
        """What the MLCommons runner demands of a window for submission."""
        return self.seconds >= MIN_WINDOW_S and self.inferences >= MIN_INFERENCES

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(latency_ms=self.latency_s * 1e3, throughput_ips=self.inferences / self.seconds,
                 valid=self.valid, exact=self.exact)
        if self.energy_uj is not None:
            d["energy_per_inference_uj"] = self.energy_uj / self.inferences
            d["average_power_mw"] = self.energy_uj / self.seconds * 1e-3
        return d


@dataclass(frozen=True)
class Repetition:
    """What the samples say about one inference in steady state."""
    samples: tuple[Sample, ...]
    repeated: bool

    @property
    def last(self) -> Sample:
        return self.samples[-1]

    def _increment(self, attr: str):
        a, b = getattr(self.samples[-1], attr), getattr(self.samples[-2], attr)
        return None if a is None or b is None else a - b

    @property
    def per_inference_s(self) -> float:
        return self._increment("seconds")

    @property
    def per_inference_cycles(self) -> int | None:
        return self._increment("cycles")

    @property
    def per_inference_energy_uj(self) -> float | None:
        return self._increment("energy_uj")

    @property
    def instructions_per_inference(self) -> int | None:
        return self._increment("instructions")

    @property
    def overhead_s(self) -> float:
        return self.last.seconds - self.last.k * self.per_inference_s


def repetition(samples: list[Sample]) -> Repetition:
    """Check the samples (k = 1, 2, ... in order) for two equal consecutive increments."""
    if len(samples) < 2 or [s.k for s in samples] != list(range(1, len(samples) + 1)):
        raise VbenchError("window rule: needs samples for infer 1, 2, ... in order")

    def inc(i: int):
        a, b = samples[i], samples[i - 1]
        if a.cycles is not None and b.cycles is not None:
            return a.cycles - b.cycles
        return round((a.seconds - b.seconds) * 1e9)  # no cycle marks: compare in nanoseconds

    repeated = len(samples) >= 3 and inc(len(samples) - 1) == inc(len(samples) - 2)
    return Repetition(tuple(samples), repeated)


def choose_inferences(per_inference_s: float, overhead_s: float = 0.0, at_least: int = MIN_INFERENCES,
                      min_window_s: float = MIN_WINDOW_S) -> int:
    """Smallest N >= at_least whose window (overhead + N inferences) lasts min_window_s."""
    if per_inference_s <= 0:
        raise VbenchError(f"window rule: per-inference time {per_inference_s} s is not positive")
    n = max(at_least, math.ceil((min_window_s - overhead_s) / per_inference_s))
    while overhead_s + n * per_inference_s < min_window_s:  # float rounding in the ceil
        n += 1
    return n


@dataclass(frozen=True)
class Sampling:
    """What was simulated for one window."""
    repetition: Repetition
    warmups_simulated: int
    simulated_inferences: int            # every timed and warm-up inference of every command
    warmups_converged: bool              # False: ran out of warm-ups (then all W were simulated)


def extrapolate(sampling: Sampling, n: int, warmups: int) -> Window:
    """The window of `infer n warmups` from the samples: S(K) + (n - K) d."""
    rep = sampling.repetition
    last, k = rep.last, rep.last.k
    common = dict(inferences=n, warmups=warmups, repetition=rep.repeated,
                  simulated_inferences=sampling.simulated_inferences, warmups_simulated=sampling.warmups_simulated,
                  warmups_converged=sampling.warmups_converged,
                  per_inference_s=rep.per_inference_s, per_inference_cycles=rep.per_inference_cycles,
                  per_inference_energy_uj=rep.per_inference_energy_uj,
                  instructions_per_inference=rep.instructions_per_inference, overhead_s=rep.overhead_s)
    if n <= k:  # simulated as such: nothing to extrapolate
        s = rep.samples[n - 1]
        return Window(seconds=s.seconds, cycles=s.cycles, energy_uj=s.energy_uj, extrapolated=False, **common)
    extra = n - k
    cycles = None if last.cycles is None or rep.per_inference_cycles is None else last.cycles + extra * rep.per_inference_cycles
    energy = (None if last.energy_uj is None or rep.per_inference_energy_uj is None
              else last.energy_uj + extra * rep.per_inference_energy_uj)
    return Window(seconds=last.seconds + extra * rep.per_inference_s, cycles=cycles, energy_uj=energy,
                  extrapolated=True, **common)


def _same(a: Sample, b: Sample) -> bool:
    if a.cycles is not None and b.cycles is not None:
        return a.cycles == b.cycles
    return round(a.seconds * 1e9) == round(b.seconds * 1e9)


def sample_window(runner, warmups: int, max_k: int = MAX_SIMULATED_K, all_warmups: bool = False) -> Sampling:
    """Simulate the commands the rule needs (see the module docstring)."""
    simulated = 0

    def infer(k: int, w: int) -> Sample:
        nonlocal simulated
        simulated += k + w
        return Sample.of(runner.infer(k, w))

    w_sim, converged = (warmups, True) if all_warmups or warmups == 0 else (1, False)
    first = infer(1, w_sim)
    while not converged and w_sim < warmups:
        again = infer(1, w_sim + 1)
        if _same(again, first):
            converged = True
        else:
            w_sim, first = w_sim + 1, again
    converged = converged or w_sim == warmups
    samples = [first]
    for k in range(2, max_k + 1):
        samples.append(infer(k, w_sim))
        if k >= 3 and repetition(samples).repeated:
            break
    return Sampling(repetition(samples), w_sim, simulated, converged)


def measured(result) -> Window:
    """A window run in full (real board, or a simulation asked not to extrapolate)."""
    energy = result.window_energy_uj
    return Window(inferences=result.inferences, warmups=result.warmups, seconds=result.seconds,
                  cycles=result.window_cycles, energy_uj=energy, extrapolated=False,
                  instructions_per_inference=None)
