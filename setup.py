"""Builds the native accounting core (vbench/_native) and copies the data folders into the package.

The boards, power models, firmware sources, models and calibration data stay at the top of the
repository (the layout shows the architecture); a wheel carries them as vbench/_data/<name>, where
vbench.paths finds them through importlib.resources. An editable install reads them in place."""

import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

DATA_FOLDERS = ("platforms", "power_models", "firmware", "models", "calibration")  # = vbench.paths.DATA_FOLDERS
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.o", "*.elf", ".*")


class build_py_with_data(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # vbench.paths uses the checkout's own folders
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "vbench" / "_data"
        for name in DATA_FOLDERS:
            if not (here / name).is_dir():
                raise SystemExit(f"setup.py: data folder {name}/ is missing (an sdist must carry it; see MANIFEST.in)")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(here / name, target / name, ignore=SKIPPED)


setup(
    cmdclass={"build_py": build_py_with_data},
    ext_modules=[
        Extension(
            "vbench._native._vbcore",
            sources=[f"vbench/_native/{unit}.c" for unit in ("vbcore", "codemap", "memory", "readout", "traps", "flash_art")],
            depends=[f"vbench/_native/{h}.h" for h in ("vbcore", "vbcore_internal", "flash_art")],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden"],  # only VB_API is exported
        )
    ],
)
