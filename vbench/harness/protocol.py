"""The EEMBC / MLCommons test-harness protocol, host side: command formatting and reply parsing
(docs/sources.md §Harness 2 and §Harness 3).

A command is ASCII text followed by '%', without CR/LF, at most 80 characters. The device
answers with lines; every answer ends with a line containing `m-ready`. `e-` lines are errors.
Lines are split on LF, with CR and NUL dropped, as the MLCommons runner does.

Timeouts: each command carries a `Timeout` in two units. A real board is given host seconds (the
MLCommons defaults: 5 s per line, 30 s for `infer`); a virtual board is given simulated
instructions, never host time, so a slow host cannot fail a run and a hung firmware is caught
after a fixed amount of simulated work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vbench.errors import VbenchError

READY = "m-ready"
TERMINATOR = "%"
MAX_COMMAND = 80          # EE_CMD_SIZE
MAX_DB_BYTES = 96 * 96 * 3  # the device's input buffer (EE_MAX_DB_INPUT_SIZE)
DB_CHUNK_BYTES = 31       # bytes per `db` command, as the MLCommons runner sends (62 hex digits)

_RE_NAME = re.compile(r"^m-name-(\S+?)-\[([^\]]+)\]$")
_RE_PROFILE = re.compile(r"^m-(model|profile)-\[([^\]]+)\]$")
_RE_LAP = re.compile(r"^m-lap-us-([0-9]+)$")
_RE_RESULTS = re.compile(r"^m-results-\[([^\]]*)\]$")
_RE_ERROR = re.compile(r"^e-\[(.*)\]$")


class ProtocolError(VbenchError):
    """The device answered something the protocol does not allow, or nothing in time."""


class DeviceError(ProtocolError):
    """The device answered a command with an `e-[...]` line."""

    def __init__(self, command: str, errors: list[str]):
        self.command, self.errors = command, errors
        super().__init__(f"device refused '{command}': {'; '.join(errors)}")


@dataclass(frozen=True)
class Timeout:
    """How long one command may take: host seconds for a real board, simulated instructions for
    a virtual one."""
    seconds: float = 5.0
    instructions: int = 200_000_000

    def scaled(self, inferences: int, seconds_per_inference: float | None,
               instructions_per_inference: int | None) -> "Timeout":
        """This timeout plus room for `inferences` inferences (4x the known cost, or generous
        defaults until the first inference has been measured)."""
        s = seconds_per_inference if seconds_per_inference else 2.0
        n = instructions_per_inference if instructions_per_inference else 500_000_000
        return Timeout(self.seconds + 4 * s * inferences, self.instructions + 4 * n * inferences)


DEFAULT_TIMEOUT = Timeout()
INFER_TIMEOUT = Timeout(seconds=30.0)


def format_command(text: str) -> bytes:
    """`text` + '%' as bytes; refuses what the device could not parse."""
    if TERMINATOR in text:
        raise ProtocolError(f"command '{text}' contains the terminator '%'")
    if len(text) > MAX_COMMAND:
        raise ProtocolError(f"command '{text[:20]}...' is {len(text)} characters; the device takes {MAX_COMMAND}")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ProtocolError(f"command '{text}' is not ASCII") from None
    return data + TERMINATOR.encode()


def db_commands(data: bytes, chunk: int = DB_CHUNK_BYTES) -> list[str]:
    """`db load N` then `db <hex>` chunks of at most `chunk` bytes (lower-case hex)."""
    if not data:
        raise ProtocolError("nothing to load: the input is empty")
    if len(data) > MAX_DB_BYTES:
        raise ProtocolError(f"input of {len(data)} bytes exceeds the device buffer of {MAX_DB_BYTES}")
    if not 1 <= chunk <= (MAX_COMMAND - 3) // 2:
        raise ProtocolError(f"db chunk of {chunk} bytes does not fit a {MAX_COMMAND}-character command")
    return [f"db load {len(data)}"] + [f"db {data[i:i + chunk].hex()}" for i in range(0, len(data), chunk)]


class LineSplitter:
    """Bytes in, complete lines out (split on LF; CR and NUL dropped)."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        return [ln.replace(b"\r", b"").replace(b"\0", b"").decode("latin-1") for ln in lines]

    @property
    def pending(self) -> str:
        return self._pending.replace(b"\r", b"").decode("latin-1")


@dataclass
class Reply:
    """One command's answer, `m-ready` line included."""
    command: str
    lines: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [m.group(1) for m in map(_RE_ERROR.match, self.lines) if m]

    @property
    def ready(self) -> bool:
        return any(READY in ln for ln in self.lines)

    @property
    def lap_us(self) -> list[int]:
        return [int(m.group(1)) for m in map(_RE_LAP.match, self.lines) if m]

    @property
    def results(self) -> list[float] | None:
        """The values of the last `m-results-[...]` line (empty fields dropped, as the runner does)."""
        found = [m.group(1) for m in map(_RE_RESULTS.match, self.lines) if m]
        if not found:
            return None
        try:
            return [float(x) for x in found[-1].split(",") if x.strip()]
        except ValueError:
            raise ProtocolError(f"'{self.command}': unreadable result line m-results-[{found[-1]}]") from None

    def matches(self, pattern: re.Pattern) -> list[re.Match]:
        return [m for m in map(pattern.match, self.lines) if m]

    def check(self) -> "Reply":
        if self.errors:
            raise DeviceError(self.command, self.errors)
        return self


def parse_name(reply: Reply) -> tuple[str, str]:
    """(device name, vendor) from `m-name-dut-[vendor]`."""
    found = reply.matches(_RE_NAME)
    if not found:
        raise ProtocolError(f"no m-name line in the answer to 'name': {reply.lines}")
    return found[0].group(1), found[0].group(2)


def parse_profile(reply: Reply) -> tuple[str, str]:
    """(firmware profile string, model id) from the `profile` answer."""
    values = {m.group(1): m.group(2) for m in reply.matches(_RE_PROFILE)}
    if "model" not in values:
        raise ProtocolError(f"no m-model line in the answer to 'profile': {reply.lines}")
    return values.get("profile", ""), values["model"]


def window_us(reply: Reply) -> int:
    """Elapsed microseconds between the two m-lap-us lines of an `infer` answer (modulo 2^32: the
    device prints a 32-bit unsigned long)."""
    laps = reply.lap_us
    if len(laps) < 2:
        raise ProtocolError(f"'{reply.command}': expected two m-lap-us lines, got {len(laps)}")
    return (laps[-1] - laps[-2]) % (1 << 32)
