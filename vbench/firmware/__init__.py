"""The firmware build: compiling applications for a virtual board (build.py), choosing and sizing
the kernel variants an image links (kernels.py), and what an image needs to link a compiled model
(model_sources.py)."""

from vbench.firmware.build import build_firmware, elf_sizes, list_apps, resolve_app, toolchain_of
from vbench.firmware.model_sources import FirmwareSources, firmware_sources

__all__ = ["build_firmware", "elf_sizes", "list_apps", "resolve_app", "toolchain_of", "FirmwareSources",
           "firmware_sources"]
