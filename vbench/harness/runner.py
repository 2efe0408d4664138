"""The host runner: talks the harness protocol to one device under test over any transport.

    runner = Runner(transport)
    info = runner.connect()          # boot banner (virtual) or resync (serial), name, profile
    runner.load(data)                # db load N, then db <hex> chunks
    r = runner.infer(70, 10)         # infer N W; window from m-lap-us and, virtually, the GPIO marks

The same code drives a virtual board and a real one; only the transport differs. What a
transport can tell beyond the wire (simulated counters, timestamp-pin marks with energy) is
attached to the result when present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from vbench.harness.protocol import (DEFAULT_TIMEOUT, INFER_TIMEOUT, READY, DeviceError, LineSplitter,
                                     ProtocolError, Reply, Timeout, db_commands, format_command,
                                     parse_name, parse_profile, window_us)

IDENTIFY_RETRIES = 3


@dataclass
class DeviceInfo:
    name: str
    vendor: str
    profile: str
    model_id: str
    banner: list[str] = field(default_factory=list)


@dataclass
class InferResult:
    """One `infer N W` command."""
    inferences: int
    warmups: int
    results: list[float] | None
    lines: list[str]
    elapsed_us: int | None = None         # from the two m-lap-us lines (None in energy images)
    window_cycles: int | None = None      # between the two timestamp-pin falling edges (virtual)
    window_s: float | None = None
    window_energy_uj: float | None = None
    window_instructions: int | None = None
    command_instructions: int | None = None  # simulated instructions of the whole command
    command_cycles: int | None = None
    command_energy_uj: float | None = None

    @property
    def seconds(self) -> float:
        """The timed window: GPIO marks when available (exact), else the m-lap-us difference."""
        if self.window_s is not None:
            return self.window_s
        if self.elapsed_us is None:
            raise ProtocolError(f"'infer {self.inferences} {self.warmups}': no timestamps in the answer")
        return self.elapsed_us * 1e-6


class Runner:
    def __init__(self, transport, *, log: Callable[[str], None] | None = None):
        self.transport = transport
        self.log = log
        self._splitter = LineSplitter()
        self._early: list[str] = []       # lines that arrived after an m-ready, kept for the next reply
        self.seconds_per_inference: float | None = None
        self.instructions_per_inference: int | None = None
        self.info: DeviceInfo | None = None

    @property
    def virtual(self) -> bool:
        return bool(getattr(self.transport, "deterministic", False))

    # ---------------------------------------------------------------- commands
    def _read_reply(self, command: str, timeout: Timeout, replies: int = 1) -> list[Reply]:
        """Lines up to and including the `replies`-th m-ready line, split into replies."""
        out: list[Reply] = []
        lines, self._early = self._early, []
        while True:
            while lines:
                line = lines.pop(0)
                if self.log:
                    self.log(f"<- {line}")
                current = out[-1] if out and not out[-1].ready else None
                if current is None:
                    current = Reply(command)
                    out.append(current)
                current.lines.append(line)
                if READY in line and len(out) == replies:
                    self._early = lines
                    return out
            data = self.transport.read(timeout)
            if data:
                lines = self._splitter.feed(data)
                continue
            got = [ln for r in out for ln in r.lines]
            if self.transport.waiting_for_input:
                raise ProtocolError(f"'{command}': the device waits for input but sent no {READY} "
                                    f"(got {got + ([self._splitter.pending] if self._splitter.pending else [])})")
            raise ProtocolError(f"No response to command {command} (got {got})")

    def command(self, text: str, timeout: Timeout = DEFAULT_TIMEOUT, *, check: bool = True) -> Reply:
        """Send one command and return its answer; `e-` lines raise DeviceError when check."""
        if self.log:
            self.log(f"-> {text}%")
        self.transport.write(format_command(text))
        reply = self._read_reply(text, timeout)[0]
        return reply.check() if check else reply

    def commands(self, texts: list[str], timeout: Timeout = DEFAULT_TIMEOUT) -> list[Reply]:
        """Several commands. A virtual board takes them in one write (its receive queue never
        overruns); a real one gets each after the previous answer, as the MLCommons runner does."""
        if not self.virtual:
            return [self.command(t, timeout) for t in texts]
        if self.log:
            for t in texts:
                self.log(f"-> {t}%")
        self.transport.write(b"".join(format_command(t) for t in texts))
        per_command = Timeout(timeout.seconds, timeout.instructions)
        budget = Timeout(per_command.seconds * len(texts), per_command.instructions * len(texts))
        replies = self._read_reply(texts[0], budget, replies=len(texts))
        for text, reply in zip(texts, replies):
            reply.command = text
            reply.check()
        return replies

    # ---------------------------------------------------------------- session
    def connect(self) -> DeviceInfo:
        """Wait for the boot banner (virtual board) or discard stale input (serial), then
        identify the device with `name` and `profile` (each retried, as the MLCommons runner does)."""
        banner: list[str] = []
        if self.virtual:
            banner = [ln for r in self._read_reply("(boot)", DEFAULT_TIMEOUT) for ln in r.lines]
        elif hasattr(self.transport, "drain"):
            self.transport.drain()
        name = self._identify("name", parse_name)
        profile = self._identify("profile", parse_profile)
        self.info = DeviceInfo(name[0], name[1], profile[0], profile[1], banner)
        return self.info

    def _identify(self, command: str, parse):
        last: Exception | None = None
        for _ in range(IDENTIFY_RETRIES):
            try:
                return parse(self.command(command))
            except ProtocolError as exc:  # a late boot banner answered instead: resync
                last = exc
                self._early = []
                if hasattr(self.transport, "drain"):
                    self.transport.drain(0.5)
        raise ProtocolError(f"device does not identify itself ('{command}' failed {IDENTIFY_RETRIES} times): {last}")

    def load(self, data: bytes) -> None:
        """Download one input: `db load N` then 31-byte hex chunks; the last one must complete it."""
        replies = self.commands(db_commands(data))
        if not any("m-load-done" in ln for ln in replies[-1].lines):
            raise ProtocolError(f"device did not confirm the {len(data)}-byte download with m-load-done")

    def infer(self, n: int, warmups: int) -> InferResult:
        """`infer N W` (warm-ups always given: the device defaults to 10)."""
        tr = self.transport
        before = tr.counters() if hasattr(tr, "counters") else None
        marks_before = len(tr.marks()) if hasattr(tr, "marks") else 0
        timeout = INFER_TIMEOUT.scaled(n + warmups, self.seconds_per_inference, self.instructions_per_inference)
        reply = self.command(f"infer {n} {warmups}", timeout)
        result = InferResult(n, warmups, reply.results, reply.lines)
        if reply.lap_us:
            result.elapsed_us = window_us(reply)
        if before is not None:
            after = tr.counters()
            result.command_instructions = after.instructions - before.instructions
            result.command_cycles = after.cycles - before.cycles
            result.command_energy_uj = after.energy_uj - before.energy_uj
            # an upper bound per inference, for the next command's timeout
            self.instructions_per_inference = max(1, result.command_instructions // (n + warmups))
        marks = tr.marks()[marks_before:] if hasattr(tr, "marks") else []
        if len(marks) >= 2:  # the last two events delimit the window, as the energy runner takes them
            m0, m1 = marks[-2], marks[-1]
            result.window_cycles = m1.cycles - m0.cycles
            result.window_s = m1.time_s - m0.time_s
            result.window_energy_uj = m1.energy_uj - m0.energy_uj
            if m0.instructions is not None and m1.instructions is not None:
                result.window_instructions = m1.instructions - m0.instructions
        if result.window_s is not None or result.elapsed_us is not None:
            self.seconds_per_inference = result.seconds / n
        return result

    def results(self) -> list[float]:
        values = self.command("results").results
        if values is None:
            raise ProtocolError("no m-results line in the answer to 'results'")
        return values

    def close(self) -> None:
        self.transport.close()


__all__ = ["Runner", "DeviceInfo", "InferResult", "DeviceError", "ProtocolError"]
