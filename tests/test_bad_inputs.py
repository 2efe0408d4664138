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

from asm import assemble_arm
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


# ------------------------------------------------------------------------------------ ELF

PHDR_FIELDS = {"p_vaddr": 8, "p_paddr": 12, "p_filesz": 16, "p_memsz": 20}  # Elf32_Phdr offsets
SHT_PROGBITS = 1


@pytest.fixture(scope="module")
def elf_bytes(tmp_path_factory) -> bytes:
    """A tiny ARM program (nop, semihosting exit) assembled and linked here."""
    return assemble_arm(tmp_path_factory.mktemp("elf"), "    nop\n").read_bytes()


def _phdr0(raw: bytes) -> int:
    e_phoff = struct.unpack_from("<I", raw, 28)[0]
    assert struct.unpack_from("<I", raw, e_phoff)[0] == 1  # PT_LOAD
    return e_phoff


def _patched(tmp_path: Path, raw: bytes, name: str, **fields: int) -> Path:
    d = bytearray(raw)
    for key, value in fields.items():
        struct.pack_into("<I", d, _phdr0(raw) + PHDR_FIELDS[key], value)
    path = tmp_path / name
    path.write_bytes(bytes(d))
    return path


def _section_header(raw: bytes, wanted: str) -> int:
    """Byte offset of the section header named `wanted`."""
    e_shoff, = struct.unpack_from("<I", raw, 32)
    e_shentsize, e_shnum, e_shstrndx = struct.unpack_from("<HHH", raw, 46)
    strtab_off = struct.unpack_from("<I", raw, e_shoff + e_shstrndx * e_shentsize + 16)[0]
    for i in range(e_shnum):
        hdr = e_shoff + i * e_shentsize
        name_off = strtab_off + struct.unpack_from("<I", raw, hdr)[0]
        if raw[name_off:raw.index(b"\0", name_off)].decode() == wanted:
            return hdr
    raise AssertionError(f"no section {wanted}")


def test_elf_unpatched_loads(tmp_path, elf_bytes):
    from vbench.sim.elf import load_image
    path = tmp_path / "ok.elf"
    path.write_bytes(elf_bytes)
    image = load_image(path)
    assert image.segments and "_start" in image.symbols


def test_elf_4gib_memsz_cli(tmp_path, elf_bytes):
    """p_memsz 0xfffff000 (4 GiB): before, the image ran."""
    bad = _patched(tmp_path, elf_bytes, "huge.elf", p_memsz=0xFFFFF000)
    r = _cli("exec", bad, "--platform", "nucleo-l4r5zi")
    assert r.returncode == 2, r.stderr
    assert "huge.elf: segment 0 (PT_LOAD at 0x08000000) has p_memsz 0xfffff000" in r.stderr
    assert "at most 1 GiB" in r.stderr


@pytest.mark.parametrize("fields, message", [
    ({"p_memsz": 0x50000000}, r"segment 0 \(PT_LOAD at 0x08000000\) has p_memsz 0x50000000 .*at most 1 GiB"),
    ({"p_paddr": 0xF0000000, "p_vaddr": 0xF0000000, "p_memsz": 0x20000000},
     r"segment 0 \(PT_LOAD at 0xf0000000\) runs past the 4 GiB address space \(p_paddr 0xf0000000"),
    ({"p_filesz": 0x40000000}, r"segment 0 \(PT_LOAD at 0x08000000\) has p_filesz 0x40000000 larger than p_memsz"),
    ({"p_filesz": 0x60000000, "p_memsz": 0x60000000}, r"segment 0 .*has p_memsz 0x60000000 .*at most 1 GiB"),
])
def test_elf_segment_sizes(tmp_path, elf_bytes, fields, message):
    from vbench.sim.elf import load_image
    bad = _patched(tmp_path, elf_bytes, "seg.elf", **fields)
    with pytest.raises(VbenchError, match=r"seg\.elf: " + message):
        load_image(bad)


def test_elf_symtab_wrong_type_cli(tmp_path, elf_bytes):
    """A .symtab of type SHT_PROGBITS: before, AttributeError ('Section' has no iter_symbols)."""
    d = bytearray(elf_bytes)
    struct.pack_into("<I", d, _section_header(elf_bytes, ".symtab") + 4, SHT_PROGBITS)
    bad = tmp_path / "symtab.elf"
    bad.write_bytes(bytes(d))
    r = _cli("exec", bad, "--platform", "nucleo-l4r5zi")
    assert r.returncode == 2, r.stderr
    assert "symtab.elf: section '.symtab' has type SHT_PROGBITS, not a symbol table" in r.stderr


def test_elf_section_headers_past_the_end_cli(tmp_path, elf_bytes):
    d = bytearray(elf_bytes)
    struct.pack_into("<I", d, 32, 0x7FFFFF00)  # e_shoff
    bad = tmp_path / "shoff.elf"
    bad.write_bytes(bytes(d))
    r = _cli("exec", bad, "--platform", "nucleo-l4r5zi")
    assert r.returncode == 2, r.stderr
    assert "shoff.elf: malformed ELF" in r.stderr


def test_elf_any_pyelftools_exception_is_named(tmp_path, elf_bytes, monkeypatch):
    """Whatever pyelftools raises on a corrupt file (construct/struct errors, ...) names the file."""
    from elftools.elf.elffile import ELFFile

    from vbench.sim.elf import load_image

    def broken(self):
        raise struct.error("unpack requires a buffer of 40 bytes")
        yield  # pragma: no cover

    monkeypatch.setattr(ELFFile, "iter_sections", broken)
    path = tmp_path / "odd.elf"
    path.write_bytes(elf_bytes)
    with pytest.raises(VbenchError, match=r"odd\.elf: malformed ELF \(error: unpack requires"):
        load_image(path)


# ------------------------------------------------------------------------------------ y_labels.csv

def _labels(tmp_path: Path, folder: str, rows: list[str]) -> Path:
    d = tmp_path / folder
    d.mkdir()
    (d / "y_labels.csv").write_text("\n".join(rows) + "\n")
    return d


@pytest.mark.parametrize("label", [99, -1, 12])
def test_labels_outside_the_workload_classes(tmp_path, label):
    """kws01 has 12 classes: label 99, -1 or 12 used to score as a silent 0 %."""
    from vbench.harness.dataset import read_labels
    folder = _labels(tmp_path, "kws01", ["a.bin,12,7", f"b.bin,12,{label}", "c.bin,12,0"])
    with pytest.raises(VbenchError, match=rf"kws01/y_labels\.csv:2: 'b\.bin' has label {label}, outside "
                                          r"the 12 classes of kws01 \(0\.\.11\)"):
        read_labels(folder)


def test_labels_range_comes_from_the_workload(tmp_path):
    """The classes column cannot widen the range: it must repeat the workload's count."""
    from vbench.harness.dataset import read_labels
    folder = _labels(tmp_path, "ic01", ["a.bin,10,9", "b.bin,100,50"])
    with pytest.raises(VbenchError, match=r"ic01/y_labels\.csv:2: 'b\.bin' has label 50, outside the 10 classes"):
        read_labels(folder)
    (folder / "y_labels.csv").write_text("a.bin,10,9\nb.bin,11,3\n")
    with pytest.raises(VbenchError, match=r"ic01/y_labels\.csv:2: 'b\.bin' declares 11 classes, but ic01 has 10"):
        read_labels(folder)


def test_labels_anomaly_detection_is_binary(tmp_path):
    from vbench.harness.dataset import read_labels
    folder = _labels(tmp_path, "ad01", ["a.bin,2,0,2560,512", "b.bin,2,1,2560,512", "c.bin,2,2,2560,512"])
    with pytest.raises(VbenchError, match=r"ad01/y_labels\.csv:3: 'c\.bin' has label 2, outside the 2 classes"):
        read_labels(folder)


def test_labels_in_an_unnamed_folder_use_the_classes_column(tmp_path):
    from vbench.harness.dataset import read_labels
    folder = _labels(tmp_path, "mine", ["a.bin,3,2", "b.bin,3,3"])
    with pytest.raises(VbenchError, match=r"mine/y_labels\.csv:2: 'b\.bin' has label 3, outside the 3 classes "
                                          r"of the classes column"):
        read_labels(folder)
    (folder / "y_labels.csv").write_text("a.bin,3,2\n")
    assert read_labels(folder)[0].label == 2


def test_valid_labels_still_read(tmp_path):
    from vbench.harness.dataset import read_labels
    folder = _labels(tmp_path, "vww01", ["a.bin,2,0", "b.bin,2,1"])
    assert [r.label for r in read_labels(folder)] == [0, 1]
