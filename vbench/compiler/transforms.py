"""Model transforms that change the weights (and so the arithmetic) of an int8 .tflite model,
written out as a new .tflite file so TFLite's own interpreter stays the golden model for it:

    prune_model    magnitude pruning: the smallest-|w| int8 weights of every CONV_2D and
                   FULLY_CONNECTED layer set to 0 (the weights' zero point), to a target sparsity
                   per layer; block > 1 prunes whole blocks of that many consecutive weights along
                   the input-channel axis (ranked by their L1 norm), which SIMD kernels can use
    cluster_model  weight clustering: the int8 weights of every CONV_2D, DEPTHWISE_CONV_2D and
                   FULLY_CONNECTED layer replaced by the nearest of k shared values (optimal 1-D
                   k-means over the layer's int8 codes), so 4 bits index them (k = 16)

Neither is followed by fine-tuning (no training data here), so the accuracy they cost is an
upper bound of what a fine-tuned model would lose. The weight encodings that exploit them
(compile --weights sparse / palette) are bit-exact with the transformed model.

Only the weight bytes change: the flatbuffer is copied and the buffers are overwritten in
place, so the file keeps its layout, quantization and metadata. Files are written atomically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vbench.errors import VbenchError
from vbench.report_io import write_text_atomic

PRUNE_OPS = ("CONV_2D", "FULLY_CONNECTED")
CLUSTER_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass
class LayerChange:
    op_index: int
    op: str
    weights: int
    zeros_before: int
    zeros_after: int
    distinct_before: int
    distinct_after: int
    mean_abs_change: float       # in int8 steps

    @property
    def sparsity(self) -> float:
        return self.zeros_after / self.weights if self.weights else 0.0


@dataclass
class TransformReport:
    kind: str                    # "prune" or "cluster"
    source: Path
    output: Path
    setting: dict
    layers: list[LayerChange] = field(default_factory=list)
    sha256: str = ""

    @property
    def sparsity(self) -> float:
        total = sum(l.weights for l in self.layers)
        return sum(l.zeros_after for l in self.layers) / total if total else 0.0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "source": str(self.source), "output": str(self.output),
                "setting": self.setting, "sha256": self.sha256, "sparsity": self.sparsity,
                "layers": [dict(vars(l), sparsity=l.sparsity) for l in self.layers]}


def _weight_views(data: bytearray, path: Path, ops: tuple[str, ...]):
    """(operator index, opcode, writable int8 view of its filter, filter shape) for each
    operator of `ops` whose filter is an int8 constant; each buffer once."""
    from tflite.Model import Model

    from vbench.compiler.tflite_reader import read_tflite

    graph = read_tflite(path)   # verifies the file and gives shapes / types
    model = Model.GetRootAsModel(data, 0)
    sub = model.Subgraphs(0)
    seen: set[int] = set()
    for op in graph.operators:
        if op.opcode not in ops or len(op.inputs) < 2:
            continue
        t = graph.tensors[op.inputs[1]]
        if t.dtype != "INT8" or t.data is None:
            continue
        buf_index = sub.Tensors(op.inputs[1]).Buffer()
        if buf_index in seen:
            continue
        seen.add(buf_index)
        b = model.Buffers(buf_index)
        raw = b.DataAsNumpy()
        if isinstance(raw, int) or raw.size == 0:   # data outside the flatbuffer (large models)
            start = b.Offset()
            view = np.frombuffer(data, np.int8, count=b.Size(), offset=start)
        else:
            view = raw.view(np.int8)
        if view.size != t.elements:
            raise VbenchError(f"{path}: operator {op.index} ({op.opcode}) filter has {view.size} bytes, "
                              f"expected {t.elements}")
        yield op.index, op.opcode, view, tuple(t.shape)


def _write(data: bytearray, dst: Path) -> str:
    write_text_atomic(dst, bytes(data))
    return hashlib.sha256(bytes(data)).hexdigest()


def _load(src: str | Path) -> tuple[Path, bytearray]:
    src = Path(src)
    try:
        return src, bytearray(src.read_bytes())
    except OSError as exc:
        raise VbenchError(f"cannot read model {src}: {exc.strerror or exc}") from exc


def prune_mask(weights: np.ndarray, sparsity: float, block: int = 1) -> np.ndarray:
    """Boolean mask of the weights to zero: the round(sparsity * groups) groups of smallest L1
    norm, a group being `block` consecutive weights along the last axis (ties: lower index
    first, so the result is deterministic). Weights already zero count towards the target."""
    flat = weights.reshape(-1, weights.shape[-1]).astype(np.int64)
    rows, depth = flat.shape
    if block < 1:
        raise VbenchError(f"prune block must be at least 1, not {block}")
    starts = np.arange(0, depth, block)
    norms = np.add.reduceat(np.abs(flat), starts, axis=1)          # rows x groups
    groups = norms.size
    target = int(round(sparsity * groups))
    order = np.argsort(norms.reshape(-1), kind="stable")[:target]
    group_mask = np.zeros(groups, bool)
    group_mask[order] = True
    group_mask = group_mask.reshape(rows, len(starts))
    widths = np.diff(np.append(starts, depth))
    mask = np.repeat(group_mask, widths, axis=1)
    return mask.reshape(weights.shape)


def prune_model(src: str | Path, dst: str | Path, sparsity: float, block: int = 1,
                ops: tuple[str, ...] = PRUNE_OPS) -> TransformReport:
    """Write a copy of `src` with each layer of `ops` pruned to `sparsity` (0 <= s < 1)."""
    if not 0.0 <= sparsity < 1.0:
        raise VbenchError(f"sparsity must be in [0, 1), not {sparsity}")
    src, data = _load(src)
    report = TransformReport("prune", src, Path(dst), {"sparsity": sparsity, "block": block, "ops": list(ops)})
    for index, opcode, view, shape in _weight_views(data, src, ops):
        w = view.reshape(shape)
        before = w.copy()
        mask = prune_mask(w, sparsity, block)
        view[mask.reshape(-1)] = 0
        report.layers.append(LayerChange(index, opcode, view.size, int(np.count_nonzero(before == 0)),
                                         int(np.count_nonzero(view == 0)), len(np.unique(before)),
                                         len(np.unique(view)),
                                         float(np.mean(np.abs(before.reshape(-1).astype(np.int32) - view)))))
    report.sha256 = _write(data, Path(dst))
    return report


def kmeans_1d(values: np.ndarray, k: int) -> np.ndarray:
    """Optimal 1-D k-means over int8 values (dynamic programming on the histogram of the 256
    codes), centroids rounded to int8; returns the sorted centroids (at most k, fewer when
    there are fewer distinct values)."""
    hist = np.bincount(values.astype(np.int64) + 128, minlength=256).astype(np.float64)
    levels = np.flatnonzero(hist)
    if len(levels) <= k:
        return (levels - 128).astype(np.int8)
    x = (levels - 128).astype(np.float64)
    wgt = hist[levels]
    n = len(x)
    cw, cwx, cwxx = (np.concatenate(([0.0], np.cumsum(a))) for a in (wgt, wgt * x, wgt * x * x))

    def cost(i, j):   # squared error of levels i..j-1 around their weighted mean (vectorised in i)
        s, sx, sxx = cw[j] - cw[i], cwx[j] - cwx[i], cwxx[j] - cwxx[i]
        return sxx - sx * sx / np.maximum(s, 1e-300)

    inf = float("inf")
    best = np.full((k + 1, n + 1), inf)
    arg = np.zeros((k + 1, n + 1), np.int64)
    best[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            i = np.arange(c - 1, j)
            total = best[c - 1, i] + cost(i, j)
            m = int(np.argmin(total))
            best[c, j], arg[c, j] = total[m], i[m]
    bounds, j = [], n
    for c in range(k, 0, -1):
        i = int(arg[c, j])
        bounds.append((i, j))
        j = i
    centroids = []
    for i, j in reversed(bounds):
        centroids.append(int(np.clip(np.round((cwx[j] - cwx[i]) / (cw[j] - cw[i])), -128, 127)))
    return np.unique(np.array(centroids, np.int8))


def cluster_model(src: str | Path, dst: str | Path, clusters: int = 16,
                  ops: tuple[str, ...] = CLUSTER_OPS) -> TransformReport:
    """Write a copy of `src` whose layers of `ops` use at most `clusters` distinct int8 weights
    each (optimal 1-D k-means per layer, each weight replaced by its nearest centroid)."""
    if not 2 <= clusters <= 256:
        raise VbenchError(f"clusters must be in [2, 256], not {clusters}")
    src, data = _load(src)
    report = TransformReport("cluster", src, Path(dst), {"clusters": clusters, "ops": list(ops)})
    for index, opcode, view, _shape in _weight_views(data, src, ops):
        before = view.copy()
        centroids = kmeans_1d(before, clusters).astype(np.int32)
        nearest = np.argmin(np.abs(before.astype(np.int32)[:, None] - centroids[None, :]), axis=1)
        view[:] = centroids[nearest].astype(np.int8)
        report.layers.append(LayerChange(index, opcode, view.size, int(np.count_nonzero(before == 0)),
                                         int(np.count_nonzero(view == 0)), len(np.unique(before)),
                                         len(np.unique(view)),
                                         float(np.mean(np.abs(before.astype(np.int32) - view)))))
    report.sha256 = _write(data, Path(dst))
    return report
