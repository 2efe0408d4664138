"""`vbench study NAME`: named comparisons over the four MLPerf Tiny workloads on the virtual boards,
written as a table (study.md, study.csv, layers.csv, comparisons.csv, study.json) and PNG plots.

Studies (the first configuration is the baseline every other one is compared with):

    precision     int8 model vs float32 model, on one kernel set (default: reference)
    data-reuse    reference kernels vs the board's optimized kernels (`[toolchain] kernels`: im2col and
                  register blocking reuse each loaded operand many times); int8 models
    sparsity      dense vs the same model on sparse kernels vs models pruned to 50% and 75% zeros
                  (transforms.prune_model) on sparse kernels (compile --weights sparse)
    compression   dense vs the model clustered to 16 weight values per layer (transforms.cluster_model),
                  stored dense and stored as 4-bit indices + table (compile --weights palette)
    winograd      direct vs Winograd F(2x2,3x3) 3x3 stride-1 convolutions (compile --winograd)
    kernels A B   two kernel variants (names under firmware/kernels/, `reference`, `optimized`, or
                  paths to directories of kernel files); int8 models

sparsity, compression and winograd run every configuration on one kernel set (`kernels`, default the
board's optimized variant).

Method. Per workload and configuration the model is transformed if the configuration says so (a new
.tflite, so TFLite's interpreter stays the golden model), compiled once, and the golden output of one
seeded random input is computed with TFLite's reference kernels. Per board, the model_check firmware
runs that input once from reset; the runtime's layer markers give cycles, instructions and energy per
layer (energy from the board's power model) and their sums give the inference. Latency is cycles over
the core clock. Footprint is measured as `vbench check-models` measures it: flash = text + data of the
linked image, RAM = arena + other static data (including the check firmware's input/output buffers)
+ the stack high-water mark. The output of every run is checked against TFLite: bit-exact for int8
(every encoding included), within FLOAT_RTOL of the output range (and the same top-1 class) for float32.

Accuracy where it can be measured (precision, sparsity, compression, the studies that change the
arithmetic): the KWS accuracy set (kws01, when present) runs through the host build of every distinct
model (the same C kernels as the firmware, bit-exact with the boards: every board run above is checked
against TFLite) and gives top-1 accuracy; for every workload each model's outputs are compared with the
reference model's (float32 for precision, the baseline otherwise) on N random inputs (top-1 agreement for
the classifiers, the anomaly score for AD). VWW, IC and AD have no public accuracy inputs here.

Layout: one module per study (precision, data_reuse, kernels, sparsity, compression, winograd), each
registering its Study builder by name (base.register); base holds Config, Study and make_study;
models, measure, accuracy, tables, run and report are the steps every study shares. A new study is
one module registered here.
"""

from __future__ import annotations

# imported in the order `vbench study` lists them (registration order)
from vbench.studies import precision, data_reuse, kernels, sparsity, compression, winograd  # noqa: F401, E401
from vbench.studies.accuracy import agreement, kws_accuracy
from vbench.studies.base import (DEFAULT_AGREEMENT_INPUTS, DEFAULT_SEED, DEFAULT_SPARSITIES, FLOAT_RTOL, METRICS,
                                 STUDIES, STUDY_DEFAULT_KERNELS, Config, Study, make_study, register)
from vbench.studies.models import compile_cached, transformed_model
from vbench.studies.report import markdown, summary_text, write_plots, write_study
from vbench.studies.run import run_study
from vbench.studies.tables import align_layers, comparisons, layer_rows

__all__ = ["DEFAULT_AGREEMENT_INPUTS", "DEFAULT_SEED", "DEFAULT_SPARSITIES", "FLOAT_RTOL", "METRICS", "STUDIES",
           "STUDY_DEFAULT_KERNELS", "Config", "Study", "agreement", "align_layers", "comparisons", "compile_cached",
           "kws_accuracy", "layer_rows", "make_study", "markdown", "register", "run_study", "summary_text",
           "transformed_model", "write_plots", "write_study"]
