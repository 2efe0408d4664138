"""Property-based fuzz (hypothesis) of the two readers of untrusted files: the .tflite reader on mutated
bytes of models/kws_ref_model.tflite and the ELF loader on mutated bytes of an ELF assembled by
tests/asm.py. Any input either loads or raises VbenchError, never another exception. Bounded
(max_examples, no deadline) and derandomized, so CI runs the same examples in a few seconds."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vbench.compiler.tflite_reader import read_tflite  # noqa: E402
from vbench.errors import VbenchError  # noqa: E402
from vbench.sim.elf import load_image  # noqa: E402

from .conftest import KWS  # noqa: E402

FUZZ = settings(max_examples=600, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
WORDS = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFF0]


def mutations(size: int, head: int):
    """Byte overwrites anywhere or in the first `head` bytes (headers, tables, offsets), 32-bit words set to
    edge values at aligned offsets, and an optional truncation."""
    anywhere = st.integers(0, size - 1)
    near = st.integers(0, min(head, size) - 1)
    byte = st.tuples(st.just("b"), st.one_of(anywhere, near), st.integers(0, 255))
    word = st.tuples(st.just("w"), st.one_of(anywhere, near).map(lambda o: o & ~3), st.sampled_from(WORDS))
    return st.tuples(st.lists(st.one_of(byte, word), min_size=1, max_size=12),
                     st.one_of(st.none(), st.integers(0, size)))


def apply(data: bytes, muts) -> bytes:
    edits, cut = muts
    out = bytearray(data)
    for kind, offset, value in edits:
        if kind == "b":
            out[offset] = value
        elif offset + 4 <= len(out):
            struct.pack_into("<I", out, offset, value)
    return bytes(out[:cut] if cut is not None else out)


KWS_BYTES = KWS.read_bytes()


@FUZZ
@given(muts=mutations(len(KWS_BYTES), 2048))
def test_tflite_reader_loads_or_refuses(tmp_path, muts):
    path = tmp_path / "fuzz.tflite"
    path.write_bytes(apply(KWS_BYTES, muts))
    try:
        read_tflite(path)
    except VbenchError as exc:
        assert str(path) in str(exc) or path.name in str(exc), exc


@pytest.fixture(scope="module")
def elf_bytes(elves) -> bytes:
    return elves.ok.read_bytes()


ELF_SIZE_HINT = 4096  # the assembled ELF is about 4.5 KB; offsets past its end are clamped in apply_elf


def apply_elf(data: bytes, muts) -> bytes:
    edits, cut = muts
    n = len(data)
    edits = [(k, o % n, v) for k, o, v in edits]
    return apply(data, (edits, None if cut is None else cut % (n + 1)))


@FUZZ
@given(muts=mutations(ELF_SIZE_HINT, 256))
def test_elf_loader_loads_or_refuses(tmp_path, elf_bytes, muts):
    path = tmp_path / "fuzz.elf"
    path.write_bytes(apply_elf(elf_bytes, muts))
    try:
        load_image(path)
    except VbenchError as exc:
        assert path.name in str(exc), exc
