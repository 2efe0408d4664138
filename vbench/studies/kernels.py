"""kernels A B: two kernel variants (names under firmware/kernels/, `reference`, `optimized`, or
paths to directories of kernel files), int8 models."""

from __future__ import annotations

from pathlib import Path

from vbench.errors import VbenchError
from vbench.studies.base import Config, Study, register


def _variant_label(spec: str) -> str:
    if spec in ("reference", "optimized"):
        return spec
    return Path(spec).name or spec


@register("kernels", takes_args=True, own_kernels=True)
def kernels_study(args: list[str], kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    if len(args) != 2:
        raise VbenchError("study 'kernels' takes two kernel variants: vbench study kernels A B "
                          "(names under firmware/kernels/, reference, optimized, or directory paths)")
    from vbench.firmware.kernels import variant_dir

    for spec in args:
        if spec != "optimized":
            variant_dir(spec)  # unknown name or missing directory: fail before any work
    la, lb = _variant_label(args[0]), _variant_label(args[1])
    if la == lb:
        la, lb = f"A_{la}", f"B_{lb}"
    return Study("kernels", f"kernels {args[0]} vs {args[1]} (int8 models)",
                 f"How do the kernel variants {args[0]} and {args[1]} compare on the four workloads?",
                 (Config(la, "int8", None if args[0] == "reference" else args[0]),
                  Config(lb, "int8", None if args[1] == "reference" else args[1])))
