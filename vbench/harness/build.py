"""Build the EEMBC harness firmware for one MLPerf Tiny workload and one board.

    from vbench.harness.build import build_harness
    elf = build_harness("kws01", "nucleo-l4r5zi")

Two cached steps: the model is compiled with the vbench compiler into
build/harness/models/<model id>-<key>/ (key = sha256 of the .tflite, the rounding mode and the
compiler's own sources), then firmware/eembc/ is linked with it, the runtime and the kernels by
vbench.firmware.build_firmware, which hashes every source, header and flag itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vbench.errors import VbenchError
from vbench.platform import REPO_ROOT, Platform, load_platform

HARNESS_DIR = REPO_ROOT / "firmware" / "eembc"
MODELS_DIR = REPO_ROOT / "models"
COMPILER_DIR = REPO_ROOT / "vbench" / "compiler"


@dataclass(frozen=True)
class Workload:
    model_id: str        # what the firmware reports in m-model-[...]; also the dataset folder
    model_file: str      # under models/
    define: str          # selects the workload in firmware/eembc/ee_workload.c
    db_bytes: int        # bytes per inference sent with `db`
    classes: int         # result vector length (1 for the AD score)


WORKLOADS: dict[str, Workload] = {
    "kws01": Workload("kws01", "kws_ref_model.tflite", "EE_MODEL_KWS01", 490, 12),
    "vww01": Workload("vww01", "vww_96_int8.tflite", "EE_MODEL_VWW01", 96 * 96 * 3, 2),
    "ic01": Workload("ic01", "ic_resnet8_int8.tflite", "EE_MODEL_IC01", 32 * 32 * 3, 10),
    "ad01": Workload("ad01", "ad01_int8.tflite", "EE_MODEL_AD01", 640 * 4, 1),
}


def workload(model_id: str) -> Workload:
    try:
        return WORKLOADS[model_id]
    except KeyError:
        raise VbenchError(f"unknown MLPerf Tiny workload '{model_id}' (known: {', '.join(WORKLOADS)})") from None


def _build_root() -> Path:
    return Path(os.environ.get("VBENCH_BUILD_DIR", REPO_ROOT / "build")) / "harness"


def _model_key(model: Path, rounding: str) -> str:
    h = hashlib.sha256()
    h.update(rounding.encode() + b"\0")
    h.update(model.read_bytes())
    for src in sorted(COMPILER_DIR.glob("*.py")):  # a compiler change recompiles the model
        h.update(src.name.encode() + b"\0" + src.read_bytes())
    return h.hexdigest()[:16]


def compile_workload_model(model_id: str, model: str | Path | None = None, rounding: str = "litert") -> Path:
    """Compile the workload's model (or `model`, a .tflite path) once; returns the directory with
    the emitted <name>_model.c/.h/.json."""
    from vbench.compiler import compile_model

    w = workload(model_id)
    path = Path(model) if model is not None else MODELS_DIR / w.model_file
    if not path.is_file():
        raise VbenchError(f"{path}: model file for {model_id} not found")
    out = _build_root() / "models" / f"{model_id}-{_model_key(path, rounding)}"
    if (out / f"{model_id}_model.c").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{model_id}-", dir=out.parent))
    try:
        compile_model(path, tmp, model_id, rounding=rounding)
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
                  rounding: str = "litert", opt: str = "-O2") -> Path:
    """Build the harness image for `model_id` on `platform`; returns the ELF path (cached).

    energy_mode builds the EE_CFG_ENERGY_MODE=1 image: timestamps are GPIO edges only, without
    the m-lap-us text (as the EEMBC energy-mode firmware). variant selects optimized kernels
    (firmware/kernels/<variant>/), None the reference kernels."""
    from vbench.compiler import firmware_sources
    from vbench.firmware import build_firmware

    w = workload(model_id)
    plat = platform if isinstance(platform, Platform) else load_platform(platform)
    model_dir = compile_workload_model(model_id, model, rounding)
    fw = firmware_sources(model_dir, variant)
    defines = {w.define: None, "EE_CFG_ENERGY_MODE": int(energy_mode), **fw.defines}
    tag = hashlib.sha256(repr((model_dir.name, variant, sorted(map(str, defines.items())), opt)).encode())
    out_dir = _build_root() / plat.name / f"{model_id}{'-energy' if energy_mode else ''}-{tag.hexdigest()[:12]}"
    return build_firmware(HARNESS_DIR, plat, extra_sources=fw.sources, include_dirs=fw.include_dirs,
                          defines=defines, opt=opt, out_dir=out_dir)
