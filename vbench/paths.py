"""Where vbench finds its data and keeps its caches, defined once.

The data (boards, power models, firmware sources, models, calibration measurements) lives in
top-level folders of the repository, where the layout shows the architecture. A wheel carries the
same folders as `vbench/_data/<name>` (setup.py copies them there), found through importlib.resources;
a checkout (editable or in-tree) uses the repository's own folders, so there is one copy to edit.
Paths written inside data files (`power.model = "power_models/x.toml"`) are relative to the data root,
which is why both layouts keep the folder names.

Caches (compiled firmware, harness builds, host builds, calibration runs) go to $VBENCH_CACHE
($VBENCH_BUILD_DIR is the older name), else to build/ of the checkout (where they always were, so
tests and .ci/run see them), else to the user's cache folder. Nothing is ever written to the data root.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import os
from pathlib import Path

from vbench.errors import VbenchError

DATA_FOLDERS = ("platforms", "power_models", "firmware", "models", "calibration")
PLATFORM_PATH_ENV = "VBENCH_PLATFORM_PATH"
CACHE_ENVS = ("VBENCH_CACHE", "VBENCH_BUILD_DIR")  # in order of precedence; the second is the older name

_PACKAGE_DIR = Path(__file__).resolve().parent
_SKIPPED = {"__pycache__", ".DS_Store"}


def package_dir() -> Path:
    """The vbench Python package itself (vbench/), whose sources some cache keys hash."""
    return _PACKAGE_DIR


@functools.cache
def checkout_root() -> Path | None:
    """The repository folder when vbench runs from a checkout (no packaged data beside the code)."""
    if _packaged_data() is None and (_PACKAGE_DIR.parent / "platforms").is_dir():
        return _PACKAGE_DIR.parent
    return None


def _packaged_data() -> Path | None:
    data = importlib.resources.files("vbench") / "_data"
    if not data.is_dir():
        return None
    if not isinstance(data, Path):  # gcc and the TOML loader need real files
        raise VbenchError(f"vbench's data ({data}) is not a folder on disk: install vbench unzipped (pip install)")
    return data


@functools.cache
def data_root() -> Path:
    """The folder holding platforms/, power_models/, firmware/, models/ and calibration/."""
    return _packaged_data() or checkout_root() or _PACKAGE_DIR / "_data"


def platforms_dir() -> Path:
    """The built-in boards (platforms/*.toml; platforms/cores/ holds the cores they extend)."""
    return data_root() / "platforms"


def power_models_dir() -> Path:
    return data_root() / "power_models"


def firmware_dir() -> Path:
    """Firmware sources: apps/, hal/, runtime/, kernels/, eembc/, platforms/ (startup and linker scripts)."""
    return data_root() / "firmware"


def models_dir() -> Path:
    """The MLPerf Tiny reference models (with their NOTICE)."""
    return data_root() / "models"


def calibration_dir() -> Path:
    """Board measurements the power models were fitted to."""
    return data_root() / "calibration"


def data_file(rel: str | Path, base: Path | None = None) -> Path:
    """A path named inside a data file: absolute as is; else beside `base` (a user's board folder)
    when it exists there, else under the data root."""
    p = Path(rel)
    if p.is_absolute():
        return p
    if base is not None and (base / p).exists():
        return (base / p).resolve()
    return data_root() / p


def data_label(path: Path) -> str:
    """`path` relative to the data root ('firmware/hal/x.c' in either layout, so build hashes and
    reports match between a checkout and an install), else the path itself."""
    try:
        return Path(path).resolve().relative_to(data_root()).as_posix()
    except ValueError:
        return str(path)


def platform_search_path() -> list[Path]:
    """Folders searched for a board by name: $VBENCH_PLATFORM_PATH (os.pathsep-separated), then the built-in boards."""
    extra = [Path(d).expanduser() for d in os.environ.get(PLATFORM_PATH_ENV, "").split(os.pathsep) if d.strip()]
    return [*extra, platforms_dir()]


def cache_dir() -> Path:
    """Root of every cache: $VBENCH_CACHE, $VBENCH_BUILD_DIR, build/ of a checkout, or the user's cache folder."""
    for env in CACHE_ENVS:
        if os.environ.get(env):
            return Path(os.environ[env]).expanduser()
    checkout = checkout_root()
    if checkout is not None:
        return checkout / "build"
    import platformdirs

    return Path(platformdirs.user_cache_dir("vbench", appauthor=False))


def cache_dir_origin() -> str:
    """What chose cache_dir(), for error messages."""
    for env in CACHE_ENVS:
        if os.environ.get(env):
            return f"${env}"
    return "build/ of the checkout" if checkout_root() is not None else "the user cache folder; set $VBENCH_CACHE to move it"


def calibrated_power_model_dir() -> Path:
    """Where `vbench calibrate` puts a fitted power model by default: beside the others in a checkout,
    in the cache when installed (the packaged data is read-only)."""
    return power_models_dir() if checkout_root() is not None else cache_dir() / "calibration"


def folder_digest(folder: Path) -> str:
    """Short sha256 of a folder's file names and contents (what `vbench --version` prints)."""
    h = hashlib.sha256()
    if not folder.is_dir():
        return "missing"
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not _SKIPPED.intersection(p.relative_to(folder).parts):
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def data_digests() -> dict[str, str]:
    return {name: folder_digest(data_root() / name) for name in DATA_FOLDERS}
