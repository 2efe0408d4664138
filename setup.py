"""Builds the native accounting core (vbench/_native) at install time."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vbench._native._vbcore",
            sources=[f"vbench/_native/{unit}.c" for unit in ("vbcore", "codemap", "memory", "readout", "traps", "flash_art")],
            depends=[f"vbench/_native/{h}.h" for h in ("vbcore", "vbcore_internal", "flash_art")],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden"],  # only VB_API is exported
        )
    ]
)
