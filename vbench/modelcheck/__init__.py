"""`vbench check-models`: each int8 model through the golden model, the host build and the real
firmware on every virtual board, with measured footprints.

Per model: compile once (`compile_model`), load the golden model (TFLite BUILTIN_REF) and the
host build (`HostModel`), make the inputs (random with a fixed seed, plus dataset files whose
size matches the input tensor, e.g. the KWS accuracy set) and compute the golden outputs.

Per model and board: build `firmware/apps/model_check` with the model once (reference kernels, or
with `kernels="optimized"` the variant the board's platform file names in `[toolchain] kernels`,
or a named variant directory), then for every input
start a fresh board from the same image, write the input bytes into `vb_check_input` (a NOLOAD
buffer that start-up leaves alone), run to exit and read `vb_check_output`. Instructions and
cycles per inference are the sums over the runtime's layer markers (`Board.profile()` layers);
the stack high-water mark is what the run left of the 0xA5A5A5A5 fill pattern between
`__stack_bottom` and `__stack_top`.

Footprint (all measured on the linked image and the run, nothing estimated):
    flash_bytes = text + rodata + data of the image (code, weights, initial values)
    ram_bytes   = arena + static (.data + .bss + NOLOAD sections, arena excluded) + stack high-water
The arena goes into .bss; when the linker says the main RAM region overflows it is moved to the
.sram3 section (SRAM3 on the Nucleo). A model that cannot be linked, whose stack use reaches the
end of the reserved stack, or whose measured total exceeds the board's memories, is reported as
not fitting, with the model, the board and the overflow in bytes.

Layout: models (compile, inputs, golden and host outputs), image (the model_check firmware, one
inference run, the footprint against the board), check (the check per board, the jobs, the table).
"""

from __future__ import annotations

from vbench.modelcheck.check import (FirmwareJob, all_ok, check_models, check_on_platform, format_table, run_jobs,
                                     stderr_progress)
from vbench.modelcheck.image import (APP, ARENA_IN_SRAM3, MAX_INSTRUCTIONS, STACK_FILL, CheckImage, FitError,
                                     InferenceRun, build_check_image, fit_problems, peek, poke, run_inference)
from vbench.modelcheck.models import (DEFAULT_INPUTS, DEFAULT_MODELS, DEFAULT_SEED, ModelCase, compile_cached,
                                      dataset_files, default_dataset_dir, prepare_model, random_inputs,
                                      resolve_model_path)
from vbench.platform import DEFAULT_PLATFORMS

__all__ = ["APP", "ARENA_IN_SRAM3", "DEFAULT_INPUTS", "DEFAULT_MODELS", "DEFAULT_PLATFORMS", "DEFAULT_SEED",
           "MAX_INSTRUCTIONS", "STACK_FILL", "CheckImage", "FirmwareJob", "FitError", "InferenceRun", "ModelCase",
           "all_ok", "build_check_image", "check_models", "check_on_platform", "compile_cached", "dataset_files",
           "default_dataset_dir", "fit_problems", "format_table", "peek", "poke", "prepare_model", "random_inputs",
           "resolve_model_path", "run_inference", "run_jobs", "stderr_progress"]
