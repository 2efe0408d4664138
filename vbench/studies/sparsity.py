"""sparsity: the dense int8 model vs the same model on sparse kernels vs models pruned to 50% and
75% zeros (transforms.prune_model) on sparse kernels (compile --weights sparse), on one kernel set."""

from __future__ import annotations

from vbench.errors import VbenchError
from vbench.studies.base import Config, Study, kernel_set, register


@register("sparsity", accuracy=True)
def sparsity(args: list[str], kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    bad = [x for x in sparsities if not 0.0 < x < 1.0]
    if bad or not sparsities:
        raise VbenchError(f"sparsity levels must be in (0, 1), got {', '.join(map(str, sparsities)) or 'none'}")
    levels = sorted(set(sparsities))
    return Study("sparsity", f"dense vs pruned models on sparse kernels ({kernel_set(kernels)} kernels)",
                 "What do magnitude pruning and kernels that skip zero weights buy in cycles, energy and "
                 "flash, and what do they cost in accuracy?",
                 (Config("dense", "int8", kernels),
                  Config("sparse-kernels", "int8", kernels, None, "sparse"),
                  *(Config(f"pruned{round(x * 100)}", "int8", kernels, f"prune:{x:g}", "sparse") for x in levels)),
                 ("dense = the int8 model and dense kernels; sparse-kernels = the same model with --weights "
                  "sparse (only layers that are already mostly zeros change: VWW's late pointwise layers)",
                  "prunedNN = every CONV_2D and FULLY_CONNECTED layer pruned to NN% zeros by weight magnitude "
                  "(transforms.prune_model, no fine-tuning: the accuracy loss is an upper bound), on --weights "
                  "sparse: layers with >= SPARSE_MIN_ZEROS zeros keep only their non-zero weights",
                  "depthwise layers are not pruned (few weights, large accuracy cost)"))
