"""The golden model: TFLite (LiteRT) with its REFERENCE kernels.

Always BUILTIN_REF: the default resolver uses optimized kernels and XNNPACK, which differ
from the reference integer kernels (by up to 12 LSB on ic01), while TFLite-Micro, CMSIS-NN
and the vbench runtime follow the reference kernels bit-exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vbench.errors import VbenchError


class GoldenModel:
    """Single-input, single-output .tflite run with TFLite reference kernels."""

    def __init__(self, path: str | Path):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.path = Path(path)
        try:
            self.interpreter = Interpreter(
                model_path=str(self.path), num_threads=1,
                experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise VbenchError(f"{self.path}: TFLite cannot load the model: {exc}") from exc
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def input_bytes(self) -> int:
        return int(np.prod(self.input["shape"])) * np.dtype(self.input["dtype"]).itemsize

    def run(self, data) -> np.ndarray:
        """`data`: raw bytes of the input tensor or an array of its dtype; returns the output."""
        dtype = np.dtype(self.input["dtype"])
        if isinstance(data, (bytes, bytearray, memoryview)):
            if len(data) != self.input_bytes:
                raise VbenchError(f"input is {len(data)} bytes; {self.path.name} expects {self.input_bytes}")
            array = np.frombuffer(bytes(data), dtype)
        else:
            array = np.asarray(data, dtype)
        self.interpreter.set_tensor(self.input["index"], array.reshape(self.input["shape"]))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).copy()

    def run_bytes(self, data: bytes) -> bytes:
        return self.run(data).tobytes()


def golden_run(path: str | Path, data) -> np.ndarray:
    """One-shot convenience wrapper around GoldenModel(path).run(data)."""
    return GoldenModel(path).run(data)
