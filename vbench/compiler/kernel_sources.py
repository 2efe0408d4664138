"""Which C files make up the kernels for a build (TFLite-Micro style variants).

firmware/kernels/reference/<op>.c is the portable, bit-exact baseline. An optimized
variant lives in firmware/kernels/<variant>/ and replaces the reference file with the
same basename; operators the variant does not provide keep the reference file. Extra
.c files in the variant directory (shared helpers) are added too.
"""

from __future__ import annotations

from pathlib import Path

from vbench.errors import VbenchError

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO_ROOT / "firmware"
KERNELS_DIR = FIRMWARE_DIR / "kernels"
REFERENCE_DIR = KERNELS_DIR / "reference"
RUNTIME_DIR = FIRMWARE_DIR / "runtime"


def available_variants(kernels_dir: Path = KERNELS_DIR) -> list[str]:
    return sorted(p.name for p in kernels_dir.iterdir() if p.is_dir() and p.name != "reference")


def variant_dir(variant: str | None, kernels_dir: Path = KERNELS_DIR) -> Path | None:
    if variant in (None, "", "reference"):
        return None
    if "/" in variant or "\\" in variant or variant.startswith("."):
        raise VbenchError(f"kernel variant '{variant}' must be a plain directory name")
    path = kernels_dir / variant
    if not path.is_dir():
        known = ", ".join(available_variants(kernels_dir)) or "none"
        raise VbenchError(f"kernel variant '{variant}' not found: no directory {path} "
                          f"(available variants: {known})")
    return path


def kernel_sources(variant: str | None, kernels_dir: Path = KERNELS_DIR) -> list[Path]:
    """Kernel .c files for `variant` (None or "reference" = reference kernels only)."""
    reference = sorted((kernels_dir / "reference").glob("*.c"))
    common = sorted(kernels_dir.glob("*.c"))  # shared helpers next to kernels.h, if any
    vdir = variant_dir(variant, kernels_dir)
    if vdir is None:
        return common + reference
    optimized = {p.name: p for p in sorted(vdir.glob("*.c"))}
    selected = [optimized.pop(p.name, p) for p in reference]
    return common + selected + sorted(optimized.values())


def kernel_include_dirs(variant: str | None, kernels_dir: Path = KERNELS_DIR) -> list[Path]:
    """Variant directory first, so its headers win over the shared ones."""
    vdir = variant_dir(variant, kernels_dir)
    return ([vdir] if vdir else []) + [kernels_dir]


def runtime_sources() -> list[Path]:
    return [RUNTIME_DIR / "vb_runtime.c", RUNTIME_DIR / "vb_marker.c"]
