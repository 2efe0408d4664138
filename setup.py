"""Builds the native accounting core (vbench/_native) at install time."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "vbench._native._vbcore",
            sources=["vbench/_native/vbcore.c", "vbench/_native/flash_art.c"],
            depends=["vbench/_native/vbcore.h", "vbench/_native/flash_art.h"],
            extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wextra"],
        )
    ]
)
