"""What a firmware image needs to link a model compiled by `vbench compile`: the runtime, the
kernels of a variant (only the encodings and dtype the model uses), the model's plan, include
directories and defines (scratch sized for the variant). The compiler emits the plan; choosing
and sizing the kernels is the firmware build's job (vbench/firmware/kernels.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from vbench.errors import VbenchError
from vbench.firmware.kernels import (ENCODING_DEFINES, RUNTIME_DIR, kernel_include_dirs, kernel_sources,
                                     runtime_sources, scratch_bytes, variant_dir)


@dataclass
class FirmwareSources:
    """What to compile and how, to put a model into a firmware image."""
    sources: list[Path]
    include_dirs: list[Path]
    defines: dict[str, str] = field(default_factory=dict)

    def cflags(self) -> list[str]:
        return ([f"-I{d}" for d in self.include_dirs]
                + [f"-D{k}" if v == "" else f"-D{k}={v}" for k, v in self.defines.items()])


def _model_source(model_dir: Path) -> Path:
    found = sorted(Path(model_dir).glob("*_model.c"))
    if len(found) != 1:
        raise VbenchError(f"{model_dir}: expected exactly one *_model.c from `vbench compile`, "
                          f"found {len(found)}")
    return found[0]


def model_is_float(model_dir: str | Path) -> bool:
    """Whether the model compiled into `model_dir` uses the float32 kernels (its summary's dtype)."""
    found = sorted(Path(model_dir).glob("*_model.json"))
    if len(found) != 1:
        return False
    try:
        return json.loads(found[0].read_text()).get("dtype") == "float32"
    except (OSError, ValueError):
        return False


def model_encodings(model_dir: str | Path) -> frozenset[str]:
    """The weight encodings whose kernels the compiled model in `model_dir` uses (the `encoding`
    its summary gives per layer)."""
    found = sorted(Path(model_dir).glob("*_model.json"))
    if len(found) != 1:
        return frozenset()
    try:
        layers = json.loads(found[0].read_text()).get("layers", [])
    except (OSError, ValueError):
        return frozenset()
    return frozenset(layer["encoding"] for layer in layers if layer.get("encoding"))


def firmware_sources(model_dir: str | Path, variant: str | None = None) -> FirmwareSources:
    """C sources, include dirs and defines for linking the compiled model in `model_dir`
    with the runtime and the kernels of `variant` (None = reference kernels). A float model
    (compiled with dtype float32) also gets the float32 kernels and VB_FLOAT32=1.

    Compile every source with the same flags, e.g.
    arm-none-eabi-gcc -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb -O2 -std=c99.
    Optional defines: VB_SCRATCH_BYTES=<n> (scratch for optimized kernels; set here for a
    variant, sized from the model by kernel_sources.scratch_bytes),
    VB_ARENA_ATTRIBUTES=<attribute list> (e.g. to place the arena in a RAM section).
    """
    model_dir = Path(model_dir)
    float32 = model_is_float(model_dir)
    encodings = model_encodings(model_dir)
    sources = (runtime_sources() + kernel_sources(variant, float32=float32, encodings=encodings)
               + [_model_source(model_dir)])
    include_dirs = [RUNTIME_DIR, *kernel_include_dirs(variant), model_dir]
    defines: dict[str, str] = {"VB_FLOAT32": "1"} if float32 else {}
    defines.update({ENCODING_DEFINES[e]: "1" for e in sorted(encodings)})
    if variant_dir(variant) is not None:  # scratch_bytes sizes int8 and float32 models
        scratch = scratch_bytes(model_dir)
        if scratch:
            defines["VB_SCRATCH_BYTES"] = str(scratch)
    return FirmwareSources(sources, include_dirs, defines)
