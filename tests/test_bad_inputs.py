"""Inputs that used to be accepted (issue 17 item 5) are refused with a VbenchError that names the
file and the culprit, exit 2 through the CLI, never a traceback: .tflite tensors with zero,
negative or huge dimensions and an arena past the bound; ELF segments past the address space or
larger than 1 GiB, a `.symtab` that is no symbol table, other malformed headers; y_labels.csv
labels outside the workload's classes. Every bad input is made here, from the repository's own
models, the tflite builder or an ELF assembled by tests/asm.py."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tflite

from asm import ARM_EXIT, assemble_arm
from vbench.compiler import compile_model
from vbench.compiler.planner import MAX_ARENA_BYTES
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.tflite_reader import MAX_TENSOR_BYTES
from vbench.errors import VbenchError

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
KWS = MODELS / "kws_ref_model.tflite"


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], cwd=ROOT, capture_output=True,
                       text=True, timeout=timeout)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    return r


# ------------------------------------------------------------------------------------ .tflite

def _shape_positions(data: bytes) -> list[tuple[int, str, int]]:
    """(byte offset of the shape vector's first element, tensor name, rank) per tensor of subgraph 0."""
    model = tflite.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    out = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        o = t._tab.Offset(4)  # Tensor.shape
        out.append((t._tab.Vector(o), t.Name().decode(), t.ShapeLength()))
    return out


def _kws_with_dim(tmp_path: Path, tensor: int, dim: int, value: int) -> Path:
    """models/kws_ref_model.tflite with one shape entry rewritten in place."""
    data = bytearray(KWS.read_bytes())
    pos, _name, rank = _shape_positions(bytes(data))[tensor]
    assert dim < rank
    struct.pack_into("<i", data, pos + 4 * dim, value)
    bad = tmp_path / "kws_bad.tflite"
    bad.write_bytes(bytes(data))
    return bad


def _kws_input_index() -> tuple[int, str]:
    model = tflite.Model.GetRootAsModel(KWS.read_bytes(), 0)
    sg = model.Subgraphs(0)
    i = int(sg.Inputs(0))
    return i, sg.Tensors(i).Name().decode()


@pytest.mark.parametrize("value", [0, -8])
def test_tflite_zero_or_negative_dimension_cli(tmp_path, value):
    index, name = _kws_input_index()
    bad = _kws_with_dim(tmp_path, index, 1, value)
    r = _cli("compile", bad, "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    assert "kws_bad.tflite" in r.stderr and f"tensor {index} '{name}'" in r.stderr
    assert f"dimension 1 is {value}" in r.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.c"))


def test_tflite_huge_tensor_cli(tmp_path):
    """A 16 GiB activation (1x65536x65536x4 int8): before, C with a 34 GB arena."""
    index, name = _kws_input_index()
    data = bytearray(KWS.read_bytes())
    pos, _n, rank = _shape_positions(bytes(data))[index]
    assert rank == 4
    struct.pack_into("<4i", data, pos, 1, 65536, 65536, 4)
    bad = tmp_path / "huge.tflite"
    bad.write_bytes(bytes(data))
    r = _cli("compile", bad, "-o", tmp_path / "out")
    assert r.returncode == 2, r.stderr
    assert "huge.tflite" in r.stderr and f"tensor {index} '{name}'" in r.stderr
    assert "17,179,869,184 bytes" in r.stderr and "256 MiB per tensor" in r.stderr


def test_tflite_element_count_overflowing_int64(tmp_path):
    """Dimensions whose product overflows int64 (numpy would wrap it) are refused, not wrapped."""
    b = TfliteBuilder()
    x = b.tensor("x", [1, 4], scale=0.1)
    big = 2**31 - 1
    y = b.tensor("y", [big, big, big], scale=0.1)
    b.operator("RESHAPE", [x], [y], {"NewShape": [big, big, big]})
    path = b.save(tmp_path / "wrap.tflite", [x], [y])
    with pytest.raises(VbenchError, match=r"wrap\.tflite: tensor 1 'y' has shape .*256 MiB per tensor"):
        compile_model(path, tmp_path / "out", "wrap")


def test_tflite_builder_negative_constant_shape(tmp_path):
    """A negative dimension on a weight tensor built with the tflite builder."""
    rng = np.random.default_rng(0)
    b = TfliteBuilder()
    x = b.tensor("x", [1, 6, 6, 2], scale=0.05, zero_point=-3)
    w = b.tensor("w", [3, 3, 3, 2], data=rng.integers(-127, 128, (3, 3, 3, 2)), scale=[0.01, 0.02, 0.03])
    y = b.tensor("y", [1, 6, 6, 3], scale=0.1, zero_point=-128)
    b.operator("CONV_2D", [x, w, -1], [y], {"Padding": 0, "StrideW": 1, "StrideH": 1,
                                            "DilationWFactor": 1, "DilationHFactor": 1})
    b._tensors[w]["shape"] = [3, 3, -3, -2]  # the data no longer matches: the shape is refused first
    path = b.save(tmp_path / "negw.tflite", [x], [y])
    with pytest.raises(VbenchError, match=r"negw\.tflite: tensor 1 'w' has shape \[3, 3, -3, -2\]: "
                                          r"dimension 2 is -3"):
        compile_model(path, tmp_path / "out", "negw")


def test_tflite_arena_past_the_bound(tmp_path):
    """Each tensor within the per-tensor bound, but input + output live together exceed the arena bound."""
    n = MAX_TENSOR_BYTES * 3 // 4
    b = TfliteBuilder()
    x = b.tensor("x", [1, n], scale=0.1)
    y = b.tensor("y", [1, n], scale=0.2)
    b.operator("QUANTIZE", [x], [y], None)
    path = b.save(tmp_path / "wide.tflite", [x], [y])
    with pytest.raises(VbenchError, match=rf"wide\.tflite: {2 * n:,} bytes of activations are live at "
                                          rf"layer 0 .*at most {MAX_ARENA_BYTES >> 20} MiB"):
        compile_model(path, tmp_path / "out", "wide")
    assert not list((tmp_path / "out").glob("*.c")) if (tmp_path / "out").exists() else True
