"""Write small .tflite models with the flatbuffers builder of the `tflite` package.

Used by the tests to make one-operator models that cover corner cases (padding, stride,
depth multiplier, saturation, per-channel quantization) and bad inputs, and handy for
trying the compiler on a hand-made graph:

    b = TfliteBuilder()
    x = b.tensor("x", [1, 8, 8, 3], scale=0.05, zero_point=-3)
    w = b.tensor("w", [4, 3, 3, 3], data=weights, scale=[...], quantized_dimension=0)
    bias = b.tensor("b", [4], "INT32", data=bias_values, scale=[...])
    y = b.tensor("y", [1, 8, 8, 4], scale=0.1, zero_point=5)
    b.operator("CONV_2D", [x, w, bias], [y], {"Padding": 0, "StrideW": 1, "StrideH": 1})
    b.save("conv.tflite", inputs=[x], outputs=[y])
"""

from __future__ import annotations

import importlib
from pathlib import Path

import flatbuffers
import numpy as np
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

from vbench.compiler.tflite_reader import NUMPY_DTYPES

_OPCODES = {name: code for code, name in BUILTIN_OPCODE2NAME.items()}
_DEFAULT_OPTIONS = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
    "MAX_POOL_2D": "Pool2DOptions", "ADD": "AddOptions", "RESHAPE": "ReshapeOptions",
    "SOFTMAX": "SoftmaxOptions", "QUANTIZE": "QuantizeOptions", "DEQUANTIZE": "DequantizeOptions",
}
_DEFAULT_VERSIONS = {"CONV_2D": 3, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 4,
                     "AVERAGE_POOL_2D": 2, "MAX_POOL_2D": 2, "ADD": 2, "SOFTMAX": 2,
                     "QUANTIZE": 2, "DEQUANTIZE": 2, "RESHAPE": 1}


class _Modules:
    """tflite.<Name> is the class (star-imported); the builder functions live in the module."""

    def __getattr__(self, name: str):
        return importlib.import_module(f"tflite.{name}")


class TfliteBuilder:
    def __init__(self, description: str = "vbench test model"):
        self.description = description
        self._tensors: list[dict] = []
        self._buffers: list[bytes] = [b""]          # buffer 0 is the empty sentinel
        self._operators: list[dict] = []
        self._opcodes: list[tuple[str, int, str | None]] = []

    def tensor(self, name: str, shape, dtype: str = "INT8", data=None, scale=None,
               zero_point=None, quantized_dimension: int = 0) -> int:
        """Add a tensor; `data` makes it a constant. Scalars or lists for scale/zero_point."""
        buffer = 0
        if data is not None:
            arr = np.asarray(data, NUMPY_DTYPES[dtype]).reshape(shape)
            self._buffers.append(arr.tobytes())
            buffer = len(self._buffers) - 1
        if scale is not None:
            scale = np.atleast_1d(np.asarray(scale, np.float32))
            zp = np.zeros(len(scale), np.int64) if zero_point is None else \
                np.atleast_1d(np.asarray(zero_point, np.int64))
            if len(zp) == 1 and len(scale) > 1:
                zp = np.repeat(zp, len(scale))
        else:
            zp = None
        self._tensors.append(dict(name=name, shape=list(shape), dtype=dtype, buffer=buffer,
                                  scale=scale, zero_point=zp, qdim=quantized_dimension))
        return len(self._tensors) - 1

    def operator(self, opcode: str, inputs, outputs, options: dict | None = None,
                 options_type: str | None = None, version: int | None = None) -> int:
        """Add an operator. `opcode` is a builtin name or "CUSTOM:<name>"; `options` maps
        option field names (as in the tflite package, e.g. "StrideW") to values."""
        custom = opcode.split(":", 1)[1] if opcode.startswith("CUSTOM:") else None
        key = (opcode, version or _DEFAULT_VERSIONS.get(opcode, 1), custom)
        if key not in self._opcodes:
            self._opcodes.append(key)
        opts_type = options_type or (_DEFAULT_OPTIONS.get(opcode) if options is not None else None)
        self._operators.append(dict(opcode_index=self._opcodes.index(key), inputs=list(inputs),
                                    outputs=list(outputs), options=options or {},
                                    options_type=opts_type))
        return len(self._operators) - 1

    # ------------------------------------------------------------------ serialisation

    @staticmethod
    def _vector(b: flatbuffers.Builder, values, dtype, alignment: int | None = None) -> int:
        arr = np.ascontiguousarray(values, dtype)
        b.StartVector(arr.itemsize, arr.size, alignment or arr.dtype.alignment)
        payload = arr.tobytes()
        b.head -= len(payload)
        b.Bytes[b.head:b.head + len(payload)] = payload
        b.vectorNumElems = arr.size
        return b.EndVector()

    def _offset_vector(self, b: flatbuffers.Builder, offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    def _options(self, b: flatbuffers.Builder, type_name: str, options: dict) -> int:
        mod = importlib.import_module(f"tflite.{type_name}")
        vectors = {}
        for key, value in options.items():
            if isinstance(value, (list, tuple, np.ndarray)):
                vectors[key] = self._vector(b, value, "<i4")
        getattr(mod, f"{type_name}Start")(b)
        for key, value in options.items():
            adder = getattr(mod, f"{type_name}Add{key}")
            adder(b, vectors.get(key, value))
        return getattr(mod, f"{type_name}End")(b)

    def build(self, inputs, outputs) -> bytes:
        b = flatbuffers.Builder(1024)
        m = _Modules()
        buffers = []
        for data in self._buffers:
            vec = self._vector(b, np.frombuffer(data, np.uint8), np.uint8, 16) if data else None
            m.Buffer.BufferStart(b)
            if vec is not None:
                m.Buffer.BufferAddData(b, vec)
            buffers.append(m.Buffer.BufferEnd(b))
        tensors = []
        for t in self._tensors:
            quant = None
            if t["scale"] is not None:
                scale_vec = self._vector(b, t["scale"], "<f4")
                zp_vec = self._vector(b, t["zero_point"], "<i8")
                m.QuantizationParameters.QuantizationParametersStart(b)
                m.QuantizationParameters.QuantizationParametersAddScale(b, scale_vec)
                m.QuantizationParameters.QuantizationParametersAddZeroPoint(b, zp_vec)
                m.QuantizationParameters.QuantizationParametersAddQuantizedDimension(b, t["qdim"])
                quant = m.QuantizationParameters.QuantizationParametersEnd(b)
            shape = self._vector(b, t["shape"], "<i4")
            name = b.CreateString(t["name"])
            m.Tensor.TensorStart(b)
            m.Tensor.TensorAddShape(b, shape)
            m.Tensor.TensorAddType(b, getattr(tflite.TensorType, t["dtype"]))
            m.Tensor.TensorAddBuffer(b, t["buffer"])
            m.Tensor.TensorAddName(b, name)
            if quant is not None:
                m.Tensor.TensorAddQuantization(b, quant)
            tensors.append(m.Tensor.TensorEnd(b))
        operators = []
        for op in self._operators:
            opts = self._options(b, op["options_type"], op["options"]) if op["options_type"] else None
            ins = self._vector(b, op["inputs"], "<i4")
            outs = self._vector(b, op["outputs"], "<i4")
            m.Operator.OperatorStart(b)
            m.Operator.OperatorAddOpcodeIndex(b, op["opcode_index"])
            m.Operator.OperatorAddInputs(b, ins)
            m.Operator.OperatorAddOutputs(b, outs)
            if opts is not None:
                m.Operator.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op["options_type"]))
                m.Operator.OperatorAddBuiltinOptions(b, opts)
            operators.append(m.Operator.OperatorEnd(b))
        opcodes = []
        for name, version, custom in self._opcodes:
            custom_str = b.CreateString(custom) if custom is not None else None
            code = _OPCODES["CUSTOM"] if custom is not None else _OPCODES[name]
            m.OperatorCode.OperatorCodeStart(b)
            m.OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            m.OperatorCode.OperatorCodeAddBuiltinCode(b, code)
            m.OperatorCode.OperatorCodeAddVersion(b, version)
            if custom_str is not None:
                m.OperatorCode.OperatorCodeAddCustomCode(b, custom_str)
            opcodes.append(m.OperatorCode.OperatorCodeEnd(b))
        tensors_vec = self._offset_vector(b, tensors)
        ops_vec = self._offset_vector(b, operators)
        in_vec, out_vec = self._vector(b, inputs, "<i4"), self._vector(b, outputs, "<i4")
        sg_name = b.CreateString("main")
        m.SubGraph.SubGraphStart(b)
        m.SubGraph.SubGraphAddTensors(b, tensors_vec)
        m.SubGraph.SubGraphAddInputs(b, in_vec)
        m.SubGraph.SubGraphAddOutputs(b, out_vec)
        m.SubGraph.SubGraphAddOperators(b, ops_vec)
        m.SubGraph.SubGraphAddName(b, sg_name)
        subgraph = m.SubGraph.SubGraphEnd(b)
        subgraphs_vec = self._offset_vector(b, [subgraph])
        opcodes_vec = self._offset_vector(b, opcodes)
        buffers_vec = self._offset_vector(b, buffers)
        desc = b.CreateString(self.description)
        m.Model.ModelStart(b)
        m.Model.ModelAddVersion(b, 3)
        m.Model.ModelAddOperatorCodes(b, opcodes_vec)
        m.Model.ModelAddSubgraphs(b, subgraphs_vec)
        m.Model.ModelAddDescription(b, desc)
        m.Model.ModelAddBuffers(b, buffers_vec)
        b.Finish(m.Model.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    def save(self, path: str | Path, inputs, outputs) -> Path:
        path = Path(path)
        data = self.build(inputs, outputs)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path
