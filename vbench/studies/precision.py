"""precision: the int8 model vs the float32 model of each workload, on one kernel set (default:
reference)."""

from __future__ import annotations

from vbench.studies.base import Config, Study, kernel_set, register


@register("precision", default_kernels=None, accuracy=True)
def precision(args: list[str], kernels: str | None, sparsities: tuple[float, ...]) -> Study:
    kset = kernel_set(kernels)
    return Study("precision", f"int8 vs float32 models ({kset} kernels)",
                 "What does float32 cost over int8 in cycles, energy, flash and RAM, and what does it buy "
                 "in accuracy?",
                 (Config("int8", "int8", kernels), Config("float32", "float32", kernels)),
                 ("float32 runs the float models of the same workloads (models/*float*.tflite, "
                  "ad01_fp32.tflite); KWS float keeps int8 weights on its CONV_2D layers (TFLite hybrid "
                  "conv: input quantized at run time), so its flash is not 4x the int8 model's",
                  f"both use the {kset} kernels (int8 and float32 variants of the same set); the boards' "
                  "FPUs run the float kernels (fpv4-sp-d16 / RV32F)"))
