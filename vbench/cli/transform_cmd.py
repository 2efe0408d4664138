"""`vbench transform prune|cluster`: write a pruned or clustered copy of an int8 .tflite model (the
input of `vbench compile --weights sparse|palette`, and a model TFLite itself can run)."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "transform"
HELP = ("write a pruned (magnitude, to a target sparsity) or clustered (k shared values per layer) copy of an "
        "int8 .tflite model")


def add_arguments(p) -> None:
    p.add_argument("kind", choices=("prune", "cluster"),
                   help="prune: zero the smallest weights of every CONV_2D / FULLY_CONNECTED layer; cluster: "
                        "reduce every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layer to k weight values")
    p.add_argument("model", metavar="MODEL.tflite")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.tflite")
    p.add_argument("--sparsity", type=float, default=0.5, help="prune: fraction of zero weights per layer "
                                                               "(default %(default)s)")
    p.add_argument("--block", type=int, default=1,
                   help="prune: blocks of N consecutive input-channel weights, ranked by L1 norm (default 1)")
    p.add_argument("--clusters", type=int, default=16, help="cluster: values per layer (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the per-layer report as JSON")


def run(args) -> int:
    from vbench.compiler.transforms import cluster_model, prune_model
    from vbench.outputs import check_writable_file

    check_writable_file(args.output, "-o/--output")  # before the model is read and transformed
    if args.kind == "prune":
        report = prune_model(args.model, args.output, args.sparsity, block=args.block)
    else:
        report = cluster_model(args.model, args.output, args.clusters)
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
        return 0
    print(f"{'op#':>4}  {'op':<18} {'weights':>8} {'zeros before':>13} {'zeros after':>12} {'values':>10} "
          f"{'mean |dw|':>10}")
    for l in report.layers:
        print(f"{l.op_index:>4}  {l.op:<18} {l.weights:>8,} {l.zeros_before:>13,} {l.zeros_after:>12,} "
              f"{l.distinct_before:>4} -> {l.distinct_after:<3} {l.mean_abs_change:>10.2f}")
    print(f"\n{report.kind} {report.setting}: {len(report.layers)} layers, {report.sparsity * 100:.1f}% of their "
          f"weights zero; wrote {report.output} (sha256 {report.sha256[:16]}...)")
    return 0
