"""argparse `type=` functions shared by the subcommands: a bad value is a usage error (exit 2)
naming the option, before any work."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """A whole number >= 1; scientific notation of a whole number is accepted (5e9)."""
    s = text.strip().replace("_", "")
    try:
        value = int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not math.isfinite(f) or f != int(f):
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number")
        value = int(f)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number (1 or more), not '{text}'")
    return value


__all__ = ["positive_int"]
