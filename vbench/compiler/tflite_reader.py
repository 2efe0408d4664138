"""Read a .tflite file into a small, plain-Python graph description.

The flatbuffer is bounds-checked first (the Python flatbuffers runtime has no verifier,
and reading a truncated file with it gives garbage or an obscure struct.error), then
parsed with the `tflite` package. Every failure is a VbenchError that names the file.
"""

from __future__ import annotations

import inspect
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from vbench.errors import VbenchError

TENSOR_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
NUMPY_DTYPES = {
    "FLOAT32": np.dtype("<f4"), "FLOAT16": np.dtype("<f2"), "FLOAT64": np.dtype("<f8"),
    "INT8": np.dtype("i1"), "UINT8": np.dtype("u1"), "INT16": np.dtype("<i2"),
    "UINT16": np.dtype("<u2"), "INT32": np.dtype("<i4"), "UINT32": np.dtype("<u4"),
    "INT64": np.dtype("<i8"), "UINT64": np.dtype("<u8"), "BOOL": np.dtype("?"),
}
# The largest tensor vbench accepts, in bytes and in elements. MCUs have at most a few MiB of
# SRAM and flash (the Nucleo-L4R5ZI: 640 KiB / 2 MiB), so 256 MiB is ~100x any real TinyML
# tensor, yet it keeps every size the emitted C and the 32-bit runtime compute far below 2^31
# (a larger shape gave C with wrapped `-8u` sizes and a 34 GB arena).
MAX_TENSOR_BYTES = 256 << 20
MAX_TENSOR_ELEMENTS = MAX_TENSOR_BYTES

_OPTION_TYPE_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}
_OPTION2_TYPE_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions2).items() if not k.startswith("_")}


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str                       # TFLite type name: "INT8", "FLOAT32", ...
    data: np.ndarray | None          # constant contents (typed, shaped) or None
    scales: np.ndarray | None = None  # float32 quantization scales
    zero_points: np.ndarray | None = None
    quantized_dimension: int = 0
    is_variable: bool = False
    has_sparsity: bool = False

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        itemsize = NUMPY_DTYPES[self.dtype].itemsize if self.dtype in NUMPY_DTYPES else 0
        return self.elements * itemsize

    @property
    def is_quantized(self) -> bool:
        return self.scales is not None and len(self.scales) > 0

    @property
    def scale(self) -> float:
        """Per-tensor scale as a Python float (exactly the stored float32)."""
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if self.zero_points is not None and len(self.zero_points) else 0


@dataclass
class Operator:
    index: int
    opcode: str                      # builtin name ("CONV_2D") or "CUSTOM:<code>"
    version: int
    inputs: list[int]                # -1 marks an omitted optional input
    outputs: list[int]
    options_type: str | None         # e.g. "Conv2DOptions"
    options: dict = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)  # features present that no kernel reads


@dataclass
class Graph:
    path: Path
    schema_version: int
    description: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    num_subgraphs: int


# --------------------------------------------------------------------------- verifier

class _Verifier:
    """Bounds checks for the parts of the TFLite schema (v3) that vbench reads."""

    def __init__(self, buf: bytes, path: Path):
        self.buf = buf
        self.n = len(buf)
        self.path = path

    def fail(self, what: str):
        raise VbenchError(
            f"{self.path}: not a valid .tflite model ({what}); the file is truncated or corrupt")

    def need(self, pos: int, size: int, what: str):
        if pos < 0 or size < 0 or pos + size > self.n:
            self.fail(f"{what} at byte {pos} (+{size}) lies outside the {self.n}-byte file")

    def u16(self, pos: int) -> int:
        self.need(pos, 2, "field")
        return struct.unpack_from("<H", self.buf, pos)[0]

    def u32(self, pos: int) -> int:
        self.need(pos, 4, "offset")
        return struct.unpack_from("<I", self.buf, pos)[0]

    def i32(self, pos: int) -> int:
        self.need(pos, 4, "offset")
        return struct.unpack_from("<i", self.buf, pos)[0]

    def table(self, pos: int, what: str) -> "_Table":
        self.need(pos, 4, what)
        vtable = pos - self.i32(pos)
        self.need(vtable, 4, f"{what} vtable")
        vt_len, obj_len = self.u16(vtable), self.u16(vtable + 2)
        if vt_len < 4 or vt_len % 2:
            self.fail(f"{what} has a malformed vtable")
        self.need(vtable, vt_len, f"{what} vtable")
        self.need(pos, max(obj_len, 4), what)
        return _Table(self, pos, vtable, vt_len, obj_len, what)


class _Table:
    def __init__(self, v: _Verifier, pos, vtable, vt_len, obj_len, what):
        self.v, self.pos, self.vtable, self.vt_len, self.obj_len, self.what = v, pos, vtable, vt_len, obj_len, what

    def _field(self, slot: int, size: int) -> int | None:
        entry = 4 + 2 * slot
        if entry + 2 > self.vt_len:
            return None
        off = self.v.u16(self.vtable + entry)
        if off == 0:
            return None
        if off + size > self.obj_len:
            self.v.fail(f"{self.what} field {slot} runs past its table")
        return self.pos + off

    def scalar(self, slot: int, size: int):
        self._field(slot, size)

    def u8(self, slot: int) -> int:
        p = self._field(slot, 1)
        return 0 if p is None else self.v.buf[p]

    def _ref(self, slot: int) -> int | None:
        p = self._field(slot, 4)
        if p is None:
            return None
        target = p + self.v.u32(p)
        self.v.need(target, 4, f"{self.what} field {slot}")
        return target

    def vector(self, slot: int, elem_size: int) -> int:
        target = self._ref(slot)
        if target is None:
            return 0
        length = self.v.u32(target)
        self.v.need(target + 4, length * elem_size, f"{self.what} vector {slot}")
        return length

    def string(self, slot: int):
        length = self.vector(slot, 1)
        target = self._ref(slot)
        if target is not None:
            self.v.need(target + 4 + length, 1, f"{self.what} string terminator")

    def table(self, slot: int, what: str) -> _Table | None:
        target = self._ref(slot)
        return None if target is None else self.v.table(target, what)

    def tables(self, slot: int, what: str) -> list[_Table]:
        target = self._ref(slot)
        if target is None:
            return []
        length = self.v.u32(target)
        self.v.need(target + 4, 4 * length, f"{what} vector")
        out = []
        for i in range(length):
            p = target + 4 + 4 * i
            out.append(self.v.table(p + self.v.u32(p), f"{what}[{i}]"))
        return out


def _verify(buf: bytes, path: Path):
    v = _Verifier(buf, path)
    if v.n < 8:
        v.fail(f"only {v.n} bytes")
    if buf[4:8] != b"TFL3":
        v.fail("missing the 'TFL3' file identifier")
    model = v.table(v.u32(0), "Model")
    model.scalar(0, 4)
    for oc in model.tables(1, "OperatorCode"):
        oc.scalar(0, 1); oc.string(1); oc.scalar(2, 4); oc.scalar(3, 4)
    model.string(3)
    buffers = model.tables(4, "Buffer")
    for b in buffers:
        b.vector(0, 1); b.scalar(1, 8); b.scalar(2, 8)
    model.vector(5, 4)
    for sg in model.tables(2, "SubGraph"):
        for t in sg.tables(0, "Tensor"):
            t.vector(0, 4); t.scalar(1, 1); t.scalar(2, 4); t.string(3); t.scalar(5, 1)
            t.vector(7, 4)
            q = t.table(4, "QuantizationParameters")
            if q is not None:
                q.vector(0, 4); q.vector(1, 4); q.vector(2, 4); q.vector(3, 8)
                q.scalar(4, 1); q.table(5, "QuantizationDetails"); q.scalar(6, 4)
            t.table(6, "SparsityParameters")
        sg.vector(1, 4); sg.vector(2, 4); sg.string(4)
        for op in sg.tables(3, "Operator"):
            op.scalar(0, 4); op.vector(1, 4); op.vector(2, 4)
            opts = op.table(4, "BuiltinOptions")
            if opts is not None and op.u8(3) == tflite.BuiltinOptions.ReshapeOptions:
                opts.vector(0, 4)  # new_shape, the one vector among the options vbench reads
            op.vector(5, 1); op.vector(7, 1); op.vector(8, 4)
            op.scalar(11, 1); op.table(12, "BuiltinOptions2")
    return v


# --------------------------------------------------------------------------- parsing

def _options_dict(obj) -> dict:
    """All scalar and vector fields of a generated options table, by method name."""
    result = {}
    cls = type(obj)
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_") or name in ("Init",) or name.startswith("GetRootAs"):
            continue
        if name.endswith(("IsNone", "Length", "BufferHasIdentifier")):
            continue
        params = list(inspect.signature(fn).parameters)
        if name.endswith("AsNumpy"):
            value = getattr(obj, name)()
            result[name[: -len("AsNumpy")]] = [] if isinstance(value, int) else value.tolist()
        elif params == ["self"] and f"{name}AsNumpy" not in dir(cls):
            result[name] = getattr(obj, name)()
    return result


def _opcode_name(code) -> str:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = BUILTIN_OPCODE2NAME.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        custom = code.CustomCode()
        return f"CUSTOM:{custom.decode(errors='replace') if custom else '?'}"
    return name


def _array(value) -> np.ndarray | None:
    return None if isinstance(value, int) else value


def _check_shape(path: Path, index: int, name: str, shape: tuple[int, ...], dtype: str) -> None:
    """Every dimension >= 1, and the tensor within MAX_TENSOR_ELEMENTS / MAX_TENSOR_BYTES."""
    for dim, size in enumerate(shape):
        if size < 1:
            raise VbenchError(f"{path}: tensor {index} '{name}' has shape {list(shape)}: dimension {dim} "
                              f"is {size}; every dimension must be >= 1")
    elements = math.prod(shape)  # Python ints: no overflow
    nbytes = elements * (NUMPY_DTYPES[dtype].itemsize if dtype in NUMPY_DTYPES else 1)
    if elements > MAX_TENSOR_ELEMENTS or nbytes > MAX_TENSOR_BYTES:
        raise VbenchError(f"{path}: tensor {index} '{name}' has shape {list(shape)} of {dtype}: "
                          f"{elements:,} elements, {nbytes:,} bytes; vbench accepts at most "
                          f"{MAX_TENSOR_BYTES >> 20} MiB per tensor (an MCU has a few MiB)")


def _tensor(t, index: int, model, buf: bytes, path: Path) -> Tensor:
    dtype = TENSOR_TYPE_NAMES.get(t.Type(), f"TYPE_{t.Type()}")
    shape_arr = _array(t.ShapeAsNumpy())
    shape = tuple(int(s) for s in shape_arr) if shape_arr is not None else ()
    name = (t.Name() or b"").decode(errors="replace")
    _check_shape(path, index, name, shape, dtype)
    data = None
    if t.Buffer() >= model.BuffersLength():
        raise VbenchError(f"{path}: tensor {index} '{name}' refers to buffer {t.Buffer()}, "
                          f"but the model has {model.BuffersLength()}; the file is corrupt")
    if t.Buffer() > 0:
        b = model.Buffers(t.Buffer())
        raw = _array(b.DataAsNumpy())
        if raw is None and b.Offset() > 1:
            if b.Offset() + b.Size() > len(buf):
                raise VbenchError(f"{path}: tensor {index} '{name}' data lies past the end of "
                                  "the file; the file is truncated")
            raw = np.frombuffer(buf, np.uint8, count=b.Size(), offset=b.Offset())
        if raw is not None and raw.size:
            if dtype not in NUMPY_DTYPES:
                raise VbenchError(f"{path}: tensor {index} '{name}' is a constant of type {dtype}, "
                                  "which vbench does not support")
            dt = NUMPY_DTYPES[dtype]
            count = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if raw.size != count * dt.itemsize:
                raise VbenchError(f"{path}: tensor {index} '{name}' has {raw.size} data bytes but "
                                  f"shape {list(shape)} of {dtype} needs {count * dt.itemsize}")
            data = np.frombuffer(raw.tobytes(), dt).reshape(shape)
    scales = zero_points = None
    qdim = 0
    q = t.Quantization()
    if q is not None:
        scales = _array(q.ScaleAsNumpy())
        zero_points = _array(q.ZeroPointAsNumpy())
        qdim = q.QuantizedDimension()
        if scales is not None:
            scales = scales.astype(np.float32)
        if zero_points is not None:
            zero_points = zero_points.astype(np.int64)
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, data=data, scales=scales,
                  zero_points=zero_points, quantized_dimension=qdim,
                  is_variable=bool(t.IsVariable()), has_sparsity=t.Sparsity() is not None)


def _operator(op, index: int, opcodes: list[tuple[str, int]], path: Path) -> Operator:
    if op.OpcodeIndex() >= len(opcodes):
        raise VbenchError(f"{path}: operator {index} uses opcode index {op.OpcodeIndex()}, "
                          f"but the model defines {len(opcodes)}; the file is corrupt")
    opcode, version = opcodes[op.OpcodeIndex()]
    inputs = [int(i) for i in (_array(op.InputsAsNumpy()) if op.InputsLength() else [])]
    outputs = [int(i) for i in (_array(op.OutputsAsNumpy()) if op.OutputsLength() else [])]
    options_type = _OPTION_TYPE_NAMES.get(op.BuiltinOptionsType())
    options = {}
    if op.BuiltinOptionsType() and op.BuiltinOptions() is not None:
        cls = getattr(tflite, options_type, None) if options_type else None
        if cls is not None:
            obj = cls()
            table = op.BuiltinOptions()
            obj.Init(table.Bytes, table.Pos)
            options = _options_dict(obj)
    elif op.BuiltinOptionsType() == 0:
        options_type = None
    extras = []
    if op.CustomOptionsLength() or op.LargeCustomOptionsSize():
        extras.append("custom options")
    if op.BuiltinOptions2Type():
        extras.append(f"builtin_options_2 ({_OPTION2_TYPE_NAMES.get(op.BuiltinOptions2Type(), '?')})")
    if op.IntermediatesLength():
        extras.append("intermediate tensors")
    if op.MutatingVariableInputsLength() and any(_array(op.MutatingVariableInputsAsNumpy())):
        extras.append("mutating variable inputs")
    return Operator(index=index, opcode=opcode, version=version, inputs=inputs, outputs=outputs,
                    options_type=options_type, options=options, extras=extras)


def read_tflite(path: str | Path) -> Graph:
    """Verify and parse `path`; raises VbenchError naming the file on any problem."""
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise VbenchError(f"cannot read model {path}: {exc.strerror or exc}") from exc
    _verify(buf, path)
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        opcodes = [(_opcode_name(model.OperatorCodes(i)), model.OperatorCodes(i).Version())
                   for i in range(model.OperatorCodesLength())]
        if model.SubgraphsLength() < 1:
            raise VbenchError(f"{path}: the model has no subgraph")
        sg = model.Subgraphs(0)
        tensors = [_tensor(sg.Tensors(i), i, model, buf, path) for i in range(sg.TensorsLength())]
        operators = [_operator(sg.Operators(i), i, opcodes, path) for i in range(sg.OperatorsLength())]
        inputs = [int(i) for i in _array(sg.InputsAsNumpy())] if sg.InputsLength() else []
        outputs = [int(i) for i in _array(sg.OutputsAsNumpy())] if sg.OutputsLength() else []
        description = (model.Description() or b"").decode(errors="replace")
        graph = Graph(path=path, schema_version=model.Version(), description=description,
                      tensors=tensors, operators=operators, inputs=inputs, outputs=outputs,
                      num_subgraphs=model.SubgraphsLength())
    except VbenchError:
        raise
    except Exception as exc:  # the verifier covers the schema; this is a backstop
        raise VbenchError(f"{path}: not a valid .tflite model ({type(exc).__name__}: {exc}); "
                          "the file is truncated or corrupt") from exc
    for t_index in [*graph.inputs, *graph.outputs]:
        if not 0 <= t_index < len(tensors):
            raise VbenchError(f"{path}: graph input/output tensor {t_index} does not exist")
    for op in operators:
        for t_index in [*op.inputs, *op.outputs]:
            if t_index != -1 and not 0 <= t_index < len(tensors):
                raise VbenchError(f"{path}: operator {op.index} {op.opcode} refers to tensor "
                                  f"{t_index}, but the subgraph has {len(tensors)}")
    return graph
