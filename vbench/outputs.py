"""Output paths checked before the work: a command that writes files calls these from its run()
before it simulates or compiles, so an unwritable folder or a folder where a file is expected is a
one-line VbenchError (exit 2) naming the path, not a traceback after minutes of simulation.

The checks leave nothing behind: a missing folder is not created (its nearest existing ancestor
must be a writable folder), and the write probe is a temporary file removed at once."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

from vbench.errors import VbenchError


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _probe(folder: Path, what: str, shown: Path) -> None:
    """Create and remove a temporary file in `folder` (permission bits are no proof: root ignores
    them, a read-only mount does not)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".vbench-write-check.", dir=folder)
    except OSError as exc:
        raise VbenchError(f"{what} {shown}: cannot write in {folder}: {_reason(exc)}") from None
    try:
        os.close(fd)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def check_writable_dir(path: str | os.PathLike, what: str, files: Iterable[str] = ()) -> Path:
    """`path` is, or can be created as, a folder vbench can write files in; each name in `files`
    (written inside it) is not an existing folder. Raises VbenchError naming `what` and the path."""
    if os.fspath(path) == "":
        raise VbenchError(f"{what}: empty path")
    path = Path(path)
    return _check_dir(path, what, path, files)


def _check_dir(path: Path, what: str, shown: Path, files: Iterable[str] = ()) -> Path:
    if path.exists():
        if not path.is_dir():
            raise VbenchError(f"{what} {shown}: {path} exists and is not a folder" if path != shown
                              else f"{what} {shown}: exists and is not a folder")
        _probe(path, what, shown)
        for name in files:
            target = path / name
            if target.is_dir():
                raise VbenchError(f"{what} {shown}: {target} is a folder where a file is written")
        return path
    # Not there yet: the nearest existing ancestor must be a folder we can create it in.
    ancestor = path.absolute().parent
    while not ancestor.exists() and not ancestor.is_symlink() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.is_symlink() and not ancestor.exists():
        raise VbenchError(f"{what} {shown}: cannot create it: {ancestor} is a broken symbolic link")
    if not ancestor.is_dir():
        raise VbenchError(f"{what} {shown}: cannot create it: {ancestor} is not a folder")
    _probe(ancestor, what, shown)
    return path


def check_writable_file(path: str | os.PathLike, what: str) -> Path:
    """`path` can be created or replaced as a file (written atomically beside it, then renamed): it
    is not an existing folder and its folder is, or can be created as, a writable folder."""
    if os.fspath(path) == "":
        raise VbenchError(f"{what}: empty path")
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise VbenchError(f"{what} {path}: not a file name")
    if path.is_dir():
        raise VbenchError(f"{what} {path}: is a folder, expected a file")
    if path.exists() and not path.is_file():
        raise VbenchError(f"{what} {path}: exists and is not a regular file")
    _check_dir(path.parent, what, path)
    return path


def check_build_dirs() -> None:
    """The cache folder (firmware images, compile and harness caches; vbench.paths.cache_dir) is
    writable, for commands that build before they run."""
    from vbench.paths import cache_dir, cache_dir_origin

    check_writable_dir(cache_dir(), f"cache folder ({cache_dir_origin()})")


__all__ = ["check_build_dirs", "check_writable_dir", "check_writable_file"]
