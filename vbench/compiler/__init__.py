"""vbench model compiler: .tflite (int8) -> C plan + weights for the vbench int8 runtime.

    from vbench.compiler import compile_model
    cm = compile_model("models/kws_ref_model.tflite", "build/kws", "kws")
    print(cm.table())

Float models run on the float32 kernels when asked for explicitly:
`compile_model("models/ad01_fp32.tflite", out, "ad", dtype="float32")` (or dtype="auto": the
model's own type). The default dtype "int8" refuses float models.

Pipeline: tflite_reader (verify + parse) -> validate (every op/option) -> fold
(requantization constants, zero-point folding) -> planner (arena offsets) -> emit (C).
host_build runs the result natively (HostModel). Linking a model into firmware (which kernels,
how much scratch) belongs to the firmware build: vbench.firmware.firmware_sources.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vbench.compiler.emit import write_model
from vbench.compiler.encodings import WEIGHT_ENCODINGS, apply_encodings
from vbench.compiler.fold import ROUNDING_MODES, fold_graph
from vbench.compiler.host_build import HostModel, build_host_library
from vbench.compiler.planner import plan_arena
from vbench.compiler.tflite_reader import read_tflite
from vbench.compiler.validate import DTYPES, graph_dtype, validate_graph
from vbench.errors import VbenchError

__all__ = ["compile_model", "CompiledModel", "LayerSummary", "TensorSummary", "load_graph",
           "HostModel",
           "build_host_library", "ROUNDING_MODES", "DTYPES", "model_dtype", "WEIGHT_ENCODINGS"]


@dataclass
class LayerSummary:
    index: int
    op: str
    input_shapes: list[list[int]]
    output_shape: list[int]
    macs: int
    weight_bytes: int          # filter + bias bytes (as encoded)
    const_bytes: int           # + requantization tables
    notes: list[str] = field(default_factory=list)
    kernel: str = ""           # "" (dense int8), "_F32", "_HYBRID_F32", "_SPARSE", "_WINOGRAD", "_PALETTE"
    encoding: str = ""         # weight encoding: "", "sparse", "palette" or "winograd"


@dataclass
class TensorSummary:
    name: str
    shape: list[int]
    dtype: str
    bytes: int
    scale: float
    zero_point: int


@dataclass
class CompiledModel:
    name: str
    model_path: Path
    model_sha256: str
    rounding: str              # "litert" or "double" (see fold.ROUNDING_MODES)
    out_dir: Path
    c_file: Path
    h_file: Path
    summary_file: Path
    arena_bytes: int           # planned arena size
    arena_lower_bound: int     # peak live activation bytes (no plan can do better)
    arena_sum_bytes: int       # all activations without reuse
    weight_bytes: int          # filters + biases (as stored in the model)
    const_bytes: int           # everything emitted to flash (incl. multipliers/shifts, deduplicated)
    total_macs: int
    input: TensorSummary
    output: TensorSummary
    layers: list[LayerSummary]
    dtype: str = "int8"        # "int8" or "float32" (the kernels the plan uses)
    weights: str = "dense"     # weight encoding: dense, sparse or palette (see compiler.encodings)
    winograd: bool = False     # 3x3 stride-1 convolutions on Winograd F(2x2,3x3)

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("model_path", "out_dir", "c_file", "h_file", "summary_file"):
            d[key] = str(d[key])
        return d

    def table(self) -> str:
        """Per-layer table plus the arena/flash summary, for humans."""
        rows = [f"{'#':>3}  {'op':<18} {'input':<22} {'output':<16} {'MACs':>11} {'weights B':>10}  notes"]
        for l in self.layers:
            ins = " + ".join("x".join(map(str, s)) for s in l.input_shapes)
            rows.append(f"{l.index:>3}  {l.op:<18} {ins:<22} {'x'.join(map(str, l.output_shape)):<16} "
                        f"{l.macs:>11,} {l.weight_bytes:>10,}  {', '.join(l.notes)}")
        pct = 100.0 * self.arena_bytes / self.arena_lower_bound if self.arena_lower_bound else 100.0
        rows += [
            "",
            f"model     {self.model_path.name} (sha256 {self.model_sha256[:16]}...)",
            f"input     {'x'.join(map(str, self.input.shape))} {self.input.dtype} "
            f"scale {self.input.scale:.7g} zp {self.input.zero_point} ({self.input.bytes} B)",
            f"output    {'x'.join(map(str, self.output.shape))} {self.output.dtype} "
            f"scale {self.output.scale:.7g} zp {self.output.zero_point} ({self.output.bytes} B)",
            f"MACs      {self.total_macs:,}",
            f"rounding  {self.rounding}" if self.dtype == "int8" else f"dtype     {self.dtype} (float32 kernels)",
            f"arena     {self.arena_bytes:,} B (lower bound {self.arena_lower_bound:,} B = {pct:.1f}%, "
            f"no reuse {self.arena_sum_bytes:,} B)",
            f"flash     {self.const_bytes:,} B constants ({self.weight_bytes:,} B weights+biases)",
            *self._encoding_lines(),
            f"wrote     {self.c_file}, {self.h_file.name}, {self.summary_file.name}",
        ]
        return "\n".join(rows)


    def _encoding_lines(self) -> list[str]:
        """What --weights / --winograd did, so an encoding that took no layer says so and why."""
        lines = []
        if self.weights != "dense":
            n = sum(l.encoding == self.weights for l in self.layers)
            why = {"sparse": "a layer needs >= 50% zero weights: `vbench transform prune` makes them",
                   "palette": "a layer needs <= 16 distinct weights: `vbench transform cluster` makes them"}
            lines.append(f"weights   {self.weights}: {n} layer(s) encoded" + ("" if n else f" ({why[self.weights]})"))
        if self.winograd:
            n = sum(l.encoding == "winograd" for l in self.layers)
            lines.append(f"winograd  {n} layer(s) on Winograd F(2x2,3x3)"
                         + ("" if n else " (only 3x3 stride-1 CONV_2D layers qualify)"))
        return lines


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def default_name(model_path: str | Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]", "_", Path(model_path).stem)
    return stem if _NAME_RE.match(stem) else f"m_{stem}"


def load_graph(model_path: str | Path, dtype: str = "int8"):
    """Read and validate a model (for the int8 or the float32 kernels); returns the Graph
    (raises VbenchError)."""
    graph = read_tflite(model_path)
    validate_graph(graph, dtype)
    return graph


def model_dtype(model_path: str | Path) -> str:
    """"float32" for a float model (float activations or weights), else "int8"."""
    return graph_dtype(read_tflite(model_path))


def _tensor_summary(t) -> TensorSummary:
    return TensorSummary(t.name, list(t.shape), t.dtype, t.nbytes,
                         t.scale if t.is_quantized else 0.0, t.zero_point if t.is_quantized else 0)


def compile_model(path: str | Path, out_dir: str | Path, name: str | None = None,
                  rounding: str = "litert", dtype: str = "int8", weights: str = "dense",
                  winograd: bool = False) -> CompiledModel:
    """Compile a .tflite into `out_dir/<name>_model.{c,h,json}`.

    rounding: "litert" (default; bit-exact with the ai-edge-litert golden model, whose
    FULLY_CONNECTED rounds once) or "double" (gemmlowp double rounding everywhere, as
    TFLite's source default, TFLite Micro and CMSIS-NN).
    dtype: "int8" (default: an int8 model, float models are refused), "float32" (a float
    model on the float32 kernels, within a tolerance of TFLite's float reference kernels; see
    tests/test_float_models.py) or "auto" (whichever the model is).
    weights / winograd: weight encodings for int8 models (vbench.compiler.encodings): "dense"
    (default), "sparse" (pruned layers skip their zeros), "palette" (4-bit indices into a
    16-value table); winograd=True runs 3x3 stride-1 convolutions as Winograd F(2x2,3x3).
    All are bit-exact with the dense model."""
    path, out_dir = Path(path), Path(out_dir)
    if rounding not in ROUNDING_MODES:
        raise VbenchError(f"rounding must be one of {', '.join(ROUNDING_MODES)}, not '{rounding}'")
    if dtype not in (*DTYPES, "auto"):
        raise VbenchError(f"dtype must be one of {', '.join(DTYPES)} or auto, not '{dtype}'")
    name = name or default_name(path)
    if not _NAME_RE.match(name):
        raise VbenchError(f"model name '{name}' must be a C identifier (letters, digits, _)")
    graph = read_tflite(path)
    if dtype == "auto":
        dtype = graph_dtype(graph)
    validate_graph(graph, dtype)
    layers = fold_graph(graph, rounding, dtype)
    if (weights != "dense" or winograd) and dtype != "int8":
        raise VbenchError(f"weight encodings (weights={weights}, winograd={winograd}) are for int8 models only")
    apply_encodings(graph, layers, weights, winograd)
    plan = plan_arena(graph, layers)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    layer_summaries = [
        LayerSummary(l.index, l.op, [list(s) for s in l.input_shapes], list(l.output_shape),
                     int(l.macs), int(l.weight_bytes), int(l.const_bytes), list(l.notes), l.kernel, l.encoding)
        for l in layers]
    inp, out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    summary = dict(name=name, model=path.name, model_sha256=sha, rounding=rounding, dtype=dtype,
                   weights=weights, winograd=winograd,
                   arena_bytes=plan.arena_bytes,
                   arena_lower_bound=plan.lower_bound, arena_sum_bytes=plan.sum_bytes,
                   weight_bytes=sum(l.weight_bytes for l in layers),
                   total_macs=sum(l.macs for l in layers),
                   input=asdict(_tensor_summary(inp)), output=asdict(_tensor_summary(out)),
                   layers=[asdict(s) for s in layer_summaries])
    c_file, h_file, json_file, const_bytes = write_model(out_dir, name, graph, layers, plan, sha, summary)
    return CompiledModel(
        name=name, model_path=path, model_sha256=sha, rounding=rounding, out_dir=out_dir, c_file=c_file,
        h_file=h_file, summary_file=json_file, arena_bytes=plan.arena_bytes,
        arena_lower_bound=plan.lower_bound, arena_sum_bytes=plan.sum_bytes,
        weight_bytes=summary["weight_bytes"], const_bytes=const_bytes,
        total_macs=summary["total_macs"], input=_tensor_summary(inp),
        output=_tensor_summary(out), layers=layer_summaries, dtype=dtype, weights=weights, winograd=winograd)
