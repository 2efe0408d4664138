"""data-reuse: the reference kernels vs the board's optimized kernels (`[toolchain] kernels`: im2col
and register blocking reuse each loaded operand many times), int8 models."""

from __future__ import annotations

from vbench.studies.base import Config, Study, register


@register("data-reuse", own_kernels=True)
def data_reuse(args: list[str], kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    return Study("data-reuse", "reference vs optimized kernels (int8 models)",
                 "How much do the optimized kernels (im2col, register blocking: each loaded weight and "
                 "activation reused across several outputs) save over the reference kernels?",
                 (Config("reference", "int8", None), Config("optimized", "int8", "optimized")),
                 ("optimized = the variant the board's platform file names ([toolchain] kernels): "
                  "cortex_m4_dsp on nucleo-l4r5zi, rv32 on rv32imaf-mcu",
                  "loads/MAC is the data-reuse figure: the start-up and I/O copies it includes are small "
                  "next to the inference"))
