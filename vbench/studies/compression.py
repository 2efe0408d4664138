"""compression: the dense int8 model vs the model clustered to 16 weight values per layer
(transforms.cluster_model), stored dense and stored as 4-bit indices + table (compile --weights
palette), on one kernel set."""

from __future__ import annotations

from vbench.studies.base import Config, Study, kernel_set, register

PALETTE_CLUSTERS = 16


@register("compression", accuracy=True)
def compression(args: list[str], kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    k = PALETTE_CLUSTERS
    return Study("compression", f"dense vs clustered {k}-value weights stored as 4-bit indices "
                 f"({kernel_set(kernels)} kernels)",
                 "What does 4-bit weight compression (clustering to 16 values per layer, indices + table in "
                 "flash, expanded into SRAM per layer) save in flash, and what does it cost in cycles, RAM and "
                 "accuracy?",
                 (Config("dense", "int8", kernels),
                  Config(f"clustered{k}", "int8", kernels, f"cluster:{k}"),
                  Config(f"palette{k}", "int8", kernels, f"cluster:{k}", "palette")),
                 (f"clustered{k} = every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED layer reduced to {k} "
                  "int8 values (optimal 1-D k-means over its codes, transforms.cluster_model, no fine-tuning), "
                  "stored dense: the accuracy of the compressed model at the dense model's speed",
                  f"palette{k} = the same model with --weights palette: 4-bit indices and a 16-entry table per "
                  "layer in flash, expanded into an arena buffer before each CONV_2D / DEPTHWISE_CONV_2D "
                  "layer (the arena grows by the largest such buffer that does not fit beside the activations "
                  "live at its layer; those kernels then read weights from SRAM, without flash wait states); "
                  "FULLY_CONNECTED layers, whose weights are used once, look them up in the table as they go"))
