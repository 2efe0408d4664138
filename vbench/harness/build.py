"""Build the EEMBC harness firmware for one MLPerf Tiny workload and one board.

    from vbench.harness.build import build_harness
    elf = build_harness("kws01", "nucleo-l4r5zi")

Two cached steps: the model (the workload's, or `model=`: a pruned or clustered copy, any int8
.tflite with the same input and output sizes) is compiled with the vbench compiler into
build/harness/models/<model id>-<key>/ (key = sha256 of the .tflite, the rounding mode, the
weight encodings and the compiler's own sources, encodings included), then firmware/eembc/ is linked with it, the runtime and the kernels by
vbench.firmware.build_firmware, which hashes every source, header and flag itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from vbench.errors import VbenchError
from vbench.paths import cache_dir, firmware_dir, package_dir
from vbench.platform import Platform, load_platform
from vbench.workloads import by_model_id

HARNESS_DIR = firmware_dir() / "eembc"
COMPILER_DIR = package_dir() / "compiler"


def _build_root() -> Path:
    return cache_dir() / "harness"


def _model_key(model: Path, rounding: str, weights: str = "dense", winograd: bool = False) -> str:
    h = hashlib.sha256()
    h.update(f"{rounding}\0{weights}\0{int(bool(winograd))}\0".encode())
    h.update(model.read_bytes())
    # a compiler change (an encoding's included) recompiles the model
    for src in sorted(COMPILER_DIR.rglob("*.py")):
        h.update(src.relative_to(COMPILER_DIR).as_posix().encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:16]


def _io_sizes(path: Path) -> tuple[str, str, int, int]:
    """(input dtype, output dtype, input elements, output elements) of a one-input, one-output
    .tflite; VbenchError naming the file otherwise."""
    from vbench.compiler.tflite_reader import read_tflite

    g = read_tflite(path)
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise VbenchError(f"{path}: {len(g.inputs)} inputs and {len(g.outputs)} outputs; the harness "
                          f"runs models with one input and one output")
    i, o = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    return i.dtype, o.dtype, i.elements, o.elements


def check_workload_model(model_id: str, model: str | Path) -> Path:
    """`model` in place of the workload's own model (e.g. a pruned copy): it must be an int8
    .tflite with the input and output sizes of the workload's model, because the harness
    converts and prints exactly those. Returns the path; VbenchError naming the file otherwise."""
    w = by_model_id(model_id)
    path = Path(model)
    if not path.is_file():
        raise VbenchError(f"{path}: model file for {model_id} not found")
    if path.suffix.lower() != ".tflite":
        raise VbenchError(f"{path}: not a .tflite model (expected a file named *.tflite) for {model_id}")
    in_t, out_t, n_in, n_out = _io_sizes(path)
    _, _, ref_in, ref_out = _io_sizes(w.model_path())
    if in_t != "INT8" or out_t != "INT8":
        raise VbenchError(f"{path}: input {in_t}, output {out_t}; the {model_id} harness runs int8 models "
                          f"(INT8 input and output, as {w.model_file})")
    if (n_in, n_out) != (ref_in, ref_out):
        raise VbenchError(f"{path}: input of {n_in} and output of {n_out} elements; {model_id} needs "
                          f"{ref_in} and {ref_out} (as {w.model_file})")
    return path


def compile_workload_model(model_id: str, model: str | Path | None = None, rounding: str = "litert",
                           weights: str = "dense", winograd: bool = False) -> Path:
    """Compile the workload's model (or `model`, a .tflite path checked by check_workload_model)
    once, with the weight encodings `weights` / `winograd` (vbench.compiler.encodings); returns
    the directory with the emitted <name>_model.c/.h/.json."""
    from vbench.compiler import compile_model
    from vbench.compiler.encodings import WEIGHT_ENCODINGS

    w = by_model_id(model_id)
    if weights not in WEIGHT_ENCODINGS:
        raise VbenchError(f"weights must be one of {', '.join(WEIGHT_ENCODINGS)}, not '{weights}'")
    if model is not None:
        path = check_workload_model(model_id, model)
    else:
        path = w.model_path()
        if not path.is_file():
            raise VbenchError(f"{path}: model file for {model_id} not found")
    out = _build_root() / "models" / f"{model_id}-{_model_key(path, rounding, weights, winograd)}"
    if (out / f"{model_id}_model.c").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_id}-", dir=out.parent))
    try:
        compile_model(path, tmp, model_id, rounding=rounding, weights=weights, winograd=winograd)
        try:
            os.replace(tmp, out)  # atomic: a concurrent build of the same key wins or loses whole
        except OSError:
            if not (out / f"{model_id}_model.c").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_harness(model_id: str, platform: str | Platform, *, energy_mode: bool = False,
                  variant: str | None = None, model: str | Path | None = None,
                  rounding: str = "litert", opt: str = "-O2", weights: str = "dense",
                  winograd: bool = False) -> Path:
    """Build the harness image for `model_id` on `platform`; returns the ELF path (cached).

    energy_mode builds the EE_CFG_ENERGY_MODE=1 image: timestamps are GPIO edges only, without
    the m-lap-us text (as the EEMBC energy-mode firmware). variant selects optimized kernels
    (firmware/kernels/<variant>/), None the reference kernels. model, weights and winograd go to
    compile_workload_model (the model directory's key covers them)."""
    from vbench.firmware import firmware_sources
    from vbench.firmware import build_firmware

    w = by_model_id(model_id)
    plat = platform if isinstance(platform, Platform) else load_platform(platform)
    model_dir = compile_workload_model(model_id, model, rounding, weights, winograd)
    fw = firmware_sources(model_dir, variant)
    defines = {w.define: None, "EE_CFG_ENERGY_MODE": int(energy_mode), **fw.defines}
    tag = hashlib.sha256(repr((model_dir.name, variant, sorted(map(str, defines.items())), opt)).encode())
    out_dir = _build_root() / plat.name / f"{model_id}{'-energy' if energy_mode else ''}-{tag.hexdigest()[:12]}"
    return build_firmware(HARNESS_DIR, plat, extra_sources=fw.sources, include_dirs=fw.include_dirs,
                          defines=defines, opt=opt, out_dir=out_dir)
