"""winograd: direct vs Winograd F(2x2,3x3) 3x3 stride-1 convolutions (compile --winograd), on one
kernel set."""

from __future__ import annotations

from vbench.studies.base import Config, Study, kernel_set, register


@register("winograd")
def winograd(args: list[str], kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    return Study("winograd", f"direct vs Winograd F(2x2,3x3) convolution ({kernel_set(kernels)} kernels)",
                 "Does Winograd F(2x2,3x3) (16 instead of 36 multiplies per 2x2 output tile and input channel, "
                 "bit-exact in int8 with integer-scaled transforms) pay on these cores?",
                 (Config("direct", "int8", kernels), Config("winograd", "int8", kernels, None, "dense", True)),
                 ("only 3x3 stride-1 CONV_2D layers are eligible: IC (ResNet-8) has them; KWS and VWW have only "
                  "depthwise 3x3 and strided first layers, AD none, so their figures do not change",
                  "transformed weights are int16 and 16 per 9 taps: 3.6x the flash of the layer's int8 weights"))
