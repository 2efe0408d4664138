"""Which libunicorn vbench runs on, and how to build the one whose RAM stores take the fast path.

Unicorn 2.1.4 sends every store to RAM through the soft-MMU slow path: its copy of QEMU's
dirty-memory tracking is stubbed (`cpu_physical_memory_is_clean` always answers "clean" in
qemu/include/exec/ram_addr.h), so every RAM page's TLB entry keeps TLB_NOTDIRTY and each store goes
through `store_helper` (which also refuses stores to read-only regions) and `notdirty_write` (which
looks for translated code to drop). `vbench bench` measures it at about 33 ns per store, 60 to 66 %
of raw Unicorn's own time on the TFLM firmware.

`vbench unicorn --build` builds the same 2.1.4 sources (the sdist on PyPI, ARM and RISC-V only) with
TLB_NOTDIRTY set only on pages of read-only regions, into vbench's cache; vbench then loads it
through the binding's own `LIBUNICORN_PATH`, before anything imports unicorn (`select()`, called by
`import vbench`). `VBENCH_UNICORN=stock` keeps the wheel's library.

What changes: a store to writable RAM no longer makes Unicorn drop its translation of code the
store overwrote. vbench does not rely on that: code in writable memory is compared with the bytes it
was decoded from each time its block starts (vbench/_native/memory.c), and a changed block is
translated again before it runs; what goes unseen is a store into the remainder of the block that
is executing. And a region made read-only with `uc_mem_protect` after its pages were reached would
still take stores (vbench maps its memories once and never changes their protection). The figures
do not change (tests/test_unicorn_lib.py runs the same firmware on both libraries).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Callable

VERSION = "2.1.4"  # the Unicorn vbench is pinned to (the binding and the library)
LIBRARY = "libunicorn.so.2"
ARCHS = "arm;riscv"  # the cores vbench's platforms use
ENV = "VBENCH_UNICORN"  # "stock": the wheel's library even where the fast one is built

# The one change, as text of qemu/accel/tcg/cputlb.c (tlb_set_page_with_attrs) in the 2.1.4 sources:
# a RAM page's TLB entry asks for the slow store path only where the region is not writable (the slow
# path is where Unicorn refuses a store to read-only memory, such as flash), not on every page.
PATCH_FILE = "qemu/accel/tcg/cputlb.c"
PATCH_OLD = """            } else if (cpu_physical_memory_is_clean(iotlb)) {
                write_address |= TLB_NOTDIRTY;
            }"""
PATCH_NEW = """            } else if (!(section->mr->perms & UC_PROT_WRITE)) {
                /* vbench: only read-only RAM takes the slow store path (vbench/sim/unicorn_lib.py) */
                write_address |= TLB_NOTDIRTY;
            }"""


def fast_library_dir() -> Path:
    """Where the build goes: named by the version and the change, so that another change builds anew."""
    from vbench.paths import cache_dir

    digest = hashlib.sha256((PATCH_FILE + PATCH_OLD + PATCH_NEW + ARCHS).encode()).hexdigest()[:8]
    return cache_dir() / "unicorn" / f"{VERSION}-fast-stores-{digest}"


def select() -> None:
    """Point the unicorn binding at the fast library if it is built and nobody chose otherwise.
    Runs before unicorn is imported; once it is, the choice stays for the process."""
    if "unicorn" in sys.modules:
        return
    try:
        folder = fast_library_dir()
    except Exception:  # noqa: BLE001 - no cache folder: the wheel's library
        return
    if os.environ.get(ENV) == "stock":
        if os.environ.get("LIBUNICORN_PATH") == str(folder):  # inherited from a vbench parent
            del os.environ["LIBUNICORN_PATH"]
        return
    if "LIBUNICORN_PATH" not in os.environ and (folder / LIBRARY).is_file():
        os.environ["LIBUNICORN_PATH"] = str(folder)


def loaded_library() -> str:
    """Path of the libunicorn this process runs on."""
    from unicorn.unicorn_py3.unicorn import uclib

    return str(uclib._name)


def fast_stores_loaded() -> bool:
    return Path(loaded_library()).parent == fast_library_dir()


def describe() -> str:
    kind = "fast RAM stores (vbench build)" if fast_stores_loaded() else "stock"
    return f"{loaded_library()} ({kind})"


def apply_change(src: Path) -> None:
    """The one change, in the unpacked sources at src; refuses sources that do not read as 2.1.4's."""
    from vbench.errors import VbenchError

    target = src / PATCH_FILE
    text = target.read_text()
    if text.count(PATCH_OLD) != 1:
        raise VbenchError(f"{target}: the unicorn {VERSION} sources do not read as expected; not built")
    target.write_text(text.replace(PATCH_OLD, PATCH_NEW))


def build(jobs: int | None = None, log: Callable[[str], None] = print) -> Path:
    """Download the unicorn sdist, change the one condition, build the library, install it into
    the cache (atomically: a failed build leaves what was there). Returns the library's path."""
    import shutil
    import subprocess
    import tarfile
    import tempfile

    from vbench.errors import VbenchError

    for tool in ("cmake", "cc"):
        if shutil.which(tool) is None:
            raise VbenchError(f"building Unicorn needs {tool} (Debian: apt-get install cmake gcc)")
    dest = fast_library_dir()
    with tempfile.TemporaryDirectory(prefix="vbench-unicorn-") as tmp:
        work = Path(tmp)
        log(f"unicorn {VERSION}: downloading the source distribution")
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                            f"unicorn=={VERSION}", "-d", str(work)], capture_output=True, text=True)
        archives = list(work.glob(f"unicorn-{VERSION}.tar.gz"))
        if r.returncode or not archives:
            raise VbenchError(f"cannot download the unicorn {VERSION} sources: {(r.stderr or r.stdout).strip()[-400:]}")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(work, filter="data")
        src = work / f"unicorn-{VERSION}" / "src"
        apply_change(src)
        build_dir = work / "build"
        generator = ["-G", "Ninja"] if shutil.which("ninja") else []
        log(f"unicorn {VERSION}: building {LIBRARY} for {ARCHS.replace(';', ' and ')}")
        for cmd in (["cmake", "-S", str(src), "-B", str(build_dir), *generator, "-DCMAKE_BUILD_TYPE=Release",
                     f"-DUNICORN_ARCH={ARCHS}", "-DUNICORN_BUILD_TESTS=off"],
                    ["cmake", "--build", str(build_dir), "-j", str(jobs or os.cpu_count() or 2)]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                tail = (r.stderr or r.stdout).strip()[-800:]
                raise VbenchError(f"building Unicorn failed ({' '.join(cmd[:2])}): {tail}")
        built = build_dir / LIBRARY
        if not built.is_file():
            raise VbenchError(f"building Unicorn made no {LIBRARY} in {build_dir}")
        dest.mkdir(parents=True, exist_ok=True)
        part = dest / f".{LIBRARY}.part"
        shutil.copy2(built, part)
        os.replace(part, dest / LIBRARY)
    log(f"unicorn {VERSION}: {dest / LIBRARY}")
    return dest / LIBRARY
