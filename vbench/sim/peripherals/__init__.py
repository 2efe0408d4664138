"""Peripheral models, registered by type name (see base.py)."""

import importlib
import pkgutil


def load_all() -> None:
    """Import every model module so that each registers its types."""
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")
