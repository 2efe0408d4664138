"""Which C files make up the kernels for a build (TFLite-Micro style variants).

firmware/kernels/reference/<op>.c is the portable, bit-exact baseline. An optimized
variant lives in firmware/kernels/<variant>/ (or in any directory given by its path) and
replaces the reference file with the same basename; operators the variant does not provide
keep the reference file. Extra .c files in the variant directory (shared helpers) are added too.

Float32 kernels are the files whose names end in `_f32.c`; they are part of a build only for
float models (`kernel_sources(..., float32=True)`; `firmware_sources` decides from the compiled
model's summary and defines VB_FLOAT32 for the runtime's float dispatch).

A board names its optimized variant in its platform file (`[toolchain] kernels = "..."`);
`resolve_kernels("optimized", platform)` maps to it. Optimized builds get a scratch buffer
(`VB_SCRATCH_BYTES`, see `scratch_bytes`) sized from the model.
"""

from __future__ import annotations

import json
from pathlib import Path

from vbench.errors import VbenchError
from vbench.paths import firmware_dir

KERNELS_DIR = firmware_dir() / "kernels"
REFERENCE_DIR = KERNELS_DIR / "reference"
RUNTIME_DIR = firmware_dir() / "runtime"


def available_variants(kernels_dir: Path = KERNELS_DIR) -> list[str]:
    return sorted(p.name for p in kernels_dir.iterdir() if p.is_dir() and p.name != "reference")


def variant_dir(variant: str | None, kernels_dir: Path = KERNELS_DIR) -> Path | None:
    """The directory of a variant: a name under firmware/kernels/, or a path to a directory of
    kernel files anywhere (anything with a path separator or a leading '.')."""
    if variant in (None, "", "reference"):
        return None
    if "/" in variant or "\\" in variant or variant.startswith("."):
        path = Path(variant).expanduser().resolve()
        if not path.is_dir():
            raise VbenchError(f"kernel variant directory '{variant}' not found")
        if not any(path.glob("*.c")):
            raise VbenchError(f"kernel variant directory '{variant}' has no .c files")
        return path
    path = kernels_dir / variant
    if not path.is_dir():
        known = ", ".join(available_variants(kernels_dir)) or "none"
        raise VbenchError(f"kernel variant '{variant}' not found: no directory {path} "
                          f"(available variants: {known})")
    return path


FLOAT32_SUFFIX = "_f32.c"
# Kernels of encoded weights (vbench/compiler/encodings), by the encoding that needs them, and the
# runtime define that compiles their dispatch in.
ENCODING_SUFFIXES = {"sparse": "_sparse.c", "palette": "_palette.c", "winograd": "_winograd.c"}
ENCODING_DEFINES = {"sparse": "VB_WEIGHTS_SPARSE", "palette": "VB_WEIGHTS_PALETTE", "winograd": "VB_WINOGRAD"}


def _wanted(path: Path, float32: bool, encodings: frozenset[str] = frozenset()) -> bool:
    if path.name.endswith(FLOAT32_SUFFIX):
        return float32
    for encoding, suffix in ENCODING_SUFFIXES.items():
        if path.name.endswith(suffix):
            return encoding in encodings
    return True


def kernel_sources(variant: str | None, kernels_dir: Path = KERNELS_DIR, float32: bool = False,
                   encodings: frozenset[str] | set[str] | tuple[str, ...] = ()) -> list[Path]:
    """Kernel .c files for `variant` (None or "reference" = reference kernels only); with
    float32, the float32 kernels (*_f32.c) too; with encodings (names of ENCODING_SUFFIXES), the
    kernels of those weight encodings too."""
    encodings = frozenset(encodings)
    unknown = encodings - set(ENCODING_SUFFIXES)
    if unknown:
        raise VbenchError(f"unknown weight encoding {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(ENCODING_SUFFIXES)})")
    reference = [p for p in sorted((kernels_dir / "reference").glob("*.c")) if _wanted(p, float32, encodings)]
    common = sorted(kernels_dir.glob("*.c"))  # shared helpers next to kernels.h, if any
    vdir = variant_dir(variant, kernels_dir)
    if vdir is None:
        return common + reference
    optimized = {p.name: p for p in sorted(vdir.glob("*.c")) if _wanted(p, float32, encodings)}
    selected = [optimized.pop(p.name, p) for p in reference]
    return common + selected + sorted(optimized.values())


def kernel_include_dirs(variant: str | None, kernels_dir: Path = KERNELS_DIR) -> list[Path]:
    """Variant directory first, so its headers win over the shared ones."""
    vdir = variant_dir(variant, kernels_dir)
    return ([vdir] if vdir else []) + [kernels_dir]


def runtime_sources() -> list[Path]:
    return [RUNTIME_DIR / "vb_runtime.c", RUNTIME_DIR / "vb_marker.c"]


def resolve_kernels(kernels: str | None, platform=None) -> str | None:
    """A `--kernels` choice -> variant directory name (None = reference kernels).

    None or "reference": the reference kernels; "optimized": the variant the platform file
    names in `[toolchain] kernels`; anything else: that variant directory."""
    if kernels in (None, "", "reference"):
        return None
    if kernels == "optimized":
        if platform is None:
            raise VbenchError("--kernels optimized needs a platform (its [toolchain] kernels key)")
        name = platform.section("toolchain").get("kernels")
        if not isinstance(name, str) or not name:
            raise VbenchError(f"{platform.path}: no optimized kernels for this board "
                              f"([toolchain] kernels is not set)")
        kernels = name
    variant_dir(kernels)  # raises for an unknown variant
    return kernels


# Scratch for optimized kernels (the largest need over the model's layers, capped at
# SCRATCH_CAP_BYTES; the kernels use what they get and fall back when it is too little):
# - CONV_2D: SCRATCH_COLUMNS im2col columns of int16 of the patch (K = filter_h * filter_w *
#   in_c, rounded up to a multiple of 4) plus one int8 copy of the patch, never below two
#   columns plus the copy;
# - 3x3 DEPTHWISE_CONV_2D: a zero-point-padded plane of 4 channels, (in_h + 2) x (in_w + 2)
#   words (the kernels work in stripes of rows when they get less).
# Float models (summary dtype float32): 3x3 DEPTHWISE_CONV_2D, a zero-padded plane of 2 float
# channels, (in_h + 2) x (in_w + 2) x 8 bytes, never below the 3 rows the kernels
# need; hybrid CONV_2D (int8 weights), SCRATCH_COLUMNS im2col columns of the quantized patch as
# for int8 CONV_2D; float CONV_2D and FULLY_CONNECTED layers work in place.
SCRATCH_COLUMNS = 16
SCRATCH_CAP_BYTES = 16 * 1024


def scratch_bytes(model_dir: str | Path) -> int:
    """VB_SCRATCH_BYTES for the model compiled into `model_dir` (0: nothing to size).
    Filter taps come from the summary's MAC counts: macs = batches * out_h * out_w * out_c * taps
    (taps = K for CONV_2D, filter_h * filter_w for DEPTHWISE_CONV_2D)."""
    found = sorted(Path(model_dir).glob("*_model.json"))
    if len(found) != 1:
        return 0
    summary = json.loads(found[0].read_text())
    float32 = summary.get("dtype") == "float32"
    need = 0
    for layer in summary.get("layers", []):
        op = layer.get("op")
        if float32:
            if op == "DEPTHWISE_CONV_2D" and _is_3x3(layer):
                _, h, w, _ = layer["input_shapes"][0]
                row = (int(w) + 2) * 8
                need = max(need, max(min((int(h) + 2) * row, SCRATCH_CAP_BYTES), 3 * row))
            elif op == "CONV_2D" and layer.get("kernel") == "_HYBRID_F32":
                outputs = 1
                for d in layer["output_shape"]:
                    outputs *= int(d)
                k4 = (int(layer["macs"]) // max(outputs, 1) + 3) // 4 * 4
                column = 2 * k4
                need = max(need, max(min(SCRATCH_COLUMNS * column + k4, SCRATCH_CAP_BYTES), 2 * column + k4))
            continue
        if op not in ("CONV_2D", "DEPTHWISE_CONV_2D") or layer.get("kernel"):
            continue   # encoded layers (sparse, Winograd) get their scratch in the arena
        outputs = 1
        for d in layer["output_shape"]:
            outputs *= int(d)
        if not outputs:
            continue
        taps = int(layer["macs"]) // outputs
        if op == "CONV_2D":
            k4 = (taps + 3) // 4 * 4
            column = 2 * k4
            need = max(need, max(min(SCRATCH_COLUMNS * column + k4, SCRATCH_CAP_BYTES), 2 * column + k4))
        elif taps == 9:
            _, h, w, _ = layer["input_shapes"][0]
            need = max(need, min((int(h) + 2) * (int(w) + 2) * 4, SCRATCH_CAP_BYTES))
    return (need + 15) // 16 * 16


def _is_3x3(layer: dict) -> bool:
    """Whether a DEPTHWISE_CONV_2D summary entry has 9 taps per output (a 3x3 filter)."""
    outputs = 1
    for d in layer["output_shape"]:
        outputs *= int(d)
    return bool(outputs) and int(layer["macs"]) // outputs == 9
