"""Write the compiled model as C: constant arrays (weights, biases, requantization
multipliers/shifts) in a dedicated flash section, one parameter struct per layer, the
layer plan and the vb_model descriptor the runtime executes. Files are written to a
temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from vbench.compiler.fold import TYPE_CODES, Layer
from vbench.compiler.planner import ArenaPlan
from vbench.compiler.tflite_reader import Graph
from vbench.report_io import write_text_atomic

WEIGHTS_SECTION = ".rodata.vbench_weights"
_C_TYPES = {np.dtype(np.int8): "int8_t", np.dtype(np.uint8): "uint8_t", np.dtype(np.int16): "int16_t",
            np.dtype(np.uint16): "uint16_t", np.dtype(np.int32): "int32_t", np.dtype(np.float32): "float"}
_VALUES_PER_LINE = {np.dtype(np.int8): 24, np.dtype(np.uint8): 24, np.dtype(np.int16): 16,
                    np.dtype(np.uint16): 16, np.dtype(np.int32): 10, np.dtype(np.float32): 6}


def write_atomic(path: Path, text: str) -> None:
    write_text_atomic(path, text)


def c_float(value: float) -> str:
    """Exact float32 literal (hex float, C99)."""
    return f"{float(np.float32(value)).hex()}f"


def _c_int(value: int) -> str:
    # INT32_MIN has no positive literal in C.
    return "(-2147483647 - 1)" if value == -(2**31) else str(int(value))


def _array_text(symbol: str, values: np.ndarray) -> str:
    ctype = _C_TYPES[values.dtype]
    flat = values.reshape(-1).tolist()
    per_line = _VALUES_PER_LINE[values.dtype]
    literal = c_float if values.dtype == np.float32 else _c_int
    lines = [", ".join(literal(v) for v in flat[i:i + per_line]) for i in range(0, len(flat), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {symbol}[{len(flat)}] VB_WEIGHTS = {{\n    {body}\n}};\n"


class _ConstPool:
    """Emits each distinct constant array once (identical shift tables are common)."""

    def __init__(self):
        self.symbols: dict[tuple, str] = {}
        self.chunks: list[str] = []
        self.bytes = 0

    def add(self, symbol: str, values: np.ndarray) -> str:
        values = np.ascontiguousarray(values)
        key = (values.dtype.str, hashlib.sha256(values.tobytes()).hexdigest())
        if key not in self.symbols:
            self.symbols[key] = symbol
            self.chunks.append(_array_text(symbol, values))
            self.bytes += values.nbytes
        return self.symbols[key]


_FLAG_NAMES = {1: "VB_FLAG_ZP_FOLDED", 2: "VB_FLAG_SINGLE_ROUNDING"}


def _param_value(key: str, value) -> str:
    if isinstance(value, float):
        return c_float(value)
    if key == "flags":
        names = [name for bit, name in _FLAG_NAMES.items() if value & bit]
        assert value == sum(bit for bit in _FLAG_NAMES if value & bit), value
        return " | ".join(names) if names else "0u"
    return _c_int(int(value))


def _io_text(graph: Graph, t_index: int, plan: ArenaPlan) -> str:
    t = graph.tensors[t_index]
    scale = t.scale if t.is_quantized else 0.0
    return (f"{{ .type = {TYPE_CODES[t.dtype]}u, .offset = {plan.offsets[t_index]}u, "
            f".bytes = {t.nbytes}u, .elements = {t.elements}u, .scale = {c_float(scale)}, "
            f".zero_point = {t.zero_point if t.is_quantized else 0} }}")


def model_source(graph: Graph, layers: list[Layer], plan: ArenaPlan, name: str,
                 model_sha256: str) -> tuple[str, int]:
    """C source of the model and the number of constant bytes it places in flash."""
    pool = _ConstPool()
    param_blocks, layer_rows = [], []

    def struct_fields(prefix: str, params: dict, arrays: dict, arena_pointers: dict) -> list[str]:
        fields = [f"    .{k} = {_param_value(k, v)}," for k, v in params.items()]
        for key, values in arrays.items():
            fields.append(f"    .{key} = {pool.add(f'{prefix}_{key}', values)},")
        for key, (t_index, ctype) in arena_pointers.items():
            fields.append(f"    .{key} = ({ctype} *)(vb_arena + {plan.offsets[t_index]}u),")
        return fields

    for layer in layers:
        pointers = {k: v for k, v in layer.arena_pointers.items() if not k.startswith("decode.")}
        fields = struct_fields(f"l{layer.index}", layer.params, layer.arrays, pointers)
        struct = layer.params_struct
        block = f"/* layer {layer.index}: {layer.op}{layer.kernel.lower().replace('_', ' ')} */\n"
        decode_ref = ""
        if layer.decoder:
            dec = layer.decoder
            dec_pointers = {k[len("decode."):]: v for k, v in layer.arena_pointers.items()
                            if k.startswith("decode.")}
            dec_fields = struct_fields(f"l{layer.index}_dec", dec.get("params", {}), dec.get("arrays", {}),
                                       dec_pointers)
            block += (f"static const {dec['struct']} l{layer.index}_decode = {{\n"
                      + "\n".join(dec_fields) + "\n};\n")
            decode_ref = f", .decode = &l{layer.index}_decode"
        param_blocks.append(block + f"static const {struct} l{layer.index}_params = {{\n"
                            + "\n".join(fields) + "\n};\n")
        ins = [plan.offsets[t] for t in layer.inputs] + [0] * (2 - len(layer.inputs))
        in_bytes = [graph.tensors[t].nbytes for t in layer.inputs] + [0] * (2 - len(layer.inputs))
        layer_rows.append(
            f"    {{ .op = {layer.kind}u /* {layer.op} */, "
            f".input_offset = {{ {ins[0]}u, {ins[1]}u }}, "
            f".input_bytes = {{ {in_bytes[0]}u, {in_bytes[1]}u }}, "
            f".output_offset = {plan.offsets[layer.output]}u, "
            f".output_bytes = {graph.tensors[layer.output].nbytes}u, "
            f".params = &l{layer.index}_params{decode_ref} }},")
    arena_bytes = max(plan.arena_bytes, 16)
    text = f"""/* Generated by `vbench compile` from {graph.path.name} (sha256 {model_sha256}).
 * Do not edit: re-run the compiler. Model '{name}': {len(layers)} layers,
 * arena {plan.arena_bytes} bytes (peak-live lower bound {plan.lower_bound}),
 * {pool.bytes} constant bytes in section {WEIGHTS_SECTION}. */
#include <stdint.h>

#include "vb_runtime.h"

#define VB_WEIGHTS __attribute__((section("{WEIGHTS_SECTION}"), aligned(16)))

#ifndef VB_ARENA_ATTRIBUTES
#define VB_ARENA_ATTRIBUTES
#endif

static uint8_t vb_arena[{arena_bytes}] __attribute__((aligned(16))) VB_ARENA_ATTRIBUTES;

{"".join(pool.chunks)}
{"".join(param_blocks)}
static const vb_layer_t vb_layers[{len(layers)}] = {{
{chr(10).join(layer_rows)}
}};

const vb_model_t vb_model = {{
    .name = "{name}",
    .num_layers = {len(layers)}u,
    .layers = vb_layers,
    .arena_bytes = {arena_bytes}u,
    .arena = vb_arena,
    .input = {_io_text(graph, graph.inputs[0], plan)},
    .output = {_io_text(graph, graph.outputs[0], plan)},
}};
"""
    return text, pool.bytes


def model_header(graph: Graph, layers: list[Layer], plan: ArenaPlan, name: str) -> str:
    guard = f"VB_MODEL_{name.upper()}_H"
    inp, out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    return f"""/* Generated by `vbench compile` from {graph.path.name}. Do not edit. */
#ifndef {guard}
#define {guard}

#include "vb_runtime.h"

#define VB_MODEL_NAME "{name}"
#define VB_MODEL_NUM_LAYERS {len(layers)}u
#define VB_MODEL_ARENA_BYTES {max(plan.arena_bytes, 16)}u
#define VB_MODEL_INPUT_BYTES {inp.nbytes}u
#define VB_MODEL_INPUT_ELEMENTS {inp.elements}u
#define VB_MODEL_INPUT_IS_FLOAT {1 if inp.dtype == "FLOAT32" else 0}
#define VB_MODEL_OUTPUT_BYTES {out.nbytes}u
#define VB_MODEL_OUTPUT_ELEMENTS {out.elements}u
#define VB_MODEL_OUTPUT_IS_FLOAT {1 if out.dtype == "FLOAT32" else 0}

#endif /* {guard} */
"""


def write_model(out_dir: Path, name: str, graph: Graph, layers: list[Layer], plan: ArenaPlan,
                model_sha256: str, summary: dict) -> tuple[Path, Path, Path, int]:
    """Write <name>_model.c/.h/.json; returns their paths and the flash constant bytes."""
    out_dir = Path(out_dir)
    source, const_bytes = model_source(graph, layers, plan, name, model_sha256)
    summary = {**summary, "const_bytes": const_bytes}
    c_path, h_path, json_path = (out_dir / f"{name}_model.c", out_dir / f"{name}_model.h",
                                 out_dir / f"{name}_model.json")
    write_atomic(c_path, source)
    write_atomic(h_path, model_header(graph, layers, plan, name))
    write_atomic(json_path, json.dumps(summary, indent=1) + "\n")
    return c_path, h_path, json_path, const_bytes
