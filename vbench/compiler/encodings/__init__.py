"""Weight encodings: rewrite folded int8 layers to use another weight layout and kernel,
with the same arithmetic (every encoding is bit-exact with the dense model it encodes).

    weights="dense"    the model's int8 weights as they are (default)
    weights="sparse"   CONV_2D / FULLY_CONNECTED layers whose weights are mostly zero (a pruned
                       model, see vbench.compiler.transforms.prune_model) keep only the non-zero
                       weights and run kernels that skip the zeros (sparse.py)
    weights="palette"  layers with at most 16 distinct weight values (a clustered model, see
                       transforms.cluster_model) store 4-bit indices into a 16-entry table;
                       convolutions are expanded into an arena buffer before the layer runs,
                       FULLY_CONNECTED runs a fused kernel that looks weights up (palette.py)
    winograd=True      3x3 stride-1 CONV_2D layers run Winograd F(2x2,3x3) on transformed
                       int16 weights (winograd.py)

Each module has `encode(graph, layers) -> None`, which rewrites the layers it can take in place
(Layer.kernel, params, arrays, scratch tensors appended to the graph and to Layer.inputs) and
leaves the others dense. Encoded layers say so in Layer.notes.
"""

from __future__ import annotations

from vbench.errors import VbenchError

WEIGHT_ENCODINGS = ("dense", "sparse", "palette")


def apply_encodings(graph, layers, weights: str = "dense", winograd: bool = False) -> None:
    if weights not in WEIGHT_ENCODINGS:
        raise VbenchError(f"weights must be one of {', '.join(WEIGHT_ENCODINGS)}, not '{weights}'")
    if winograd:   # first: a Winograd layer keeps its own (transformed) weights
        from vbench.compiler.encodings import winograd as wino

        wino.encode(graph, layers)
    if weights == "sparse":
        from vbench.compiler.encodings import sparse

        sparse.encode(graph, layers)
    elif weights == "palette":
        from vbench.compiler.encodings import palette

        palette.encode(graph, layers)
