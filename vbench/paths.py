"""Where vbench finds its resources: the repository's folders and the build cache, defined once."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIRMWARE_DIR = REPO_ROOT / "firmware"
MODELS_DIR = REPO_ROOT / "models"
PLATFORM_DIR = REPO_ROOT / "platforms"
BUILD_DIR = REPO_ROOT / "build"   # firmware images and calibration outputs stay here even with $VBENCH_BUILD_DIR


def build_root() -> Path:
    """build/ of the repository, or $VBENCH_BUILD_DIR (compile, host-build and harness caches)."""
    return Path(os.environ.get("VBENCH_BUILD_DIR", BUILD_DIR))
