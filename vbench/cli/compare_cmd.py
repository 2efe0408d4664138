"""`vbench compare BASE NEW`: the CI regression gate. Exit 0 no regression, 1 regression, 2 the runs
cannot be compared (a FAILED, null or non-finite record, differing records, firmware, overrides,
model or vbench version not declared expected, a bad threshold, an unreadable file): it fails closed."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from vbench.gate import DIFFERENCES, render, to_json

NAME = "compare"
HELP = ("compare two result sets (files or directories); exit 1 on a regression, 2 when they cannot be compared "
        "(failed or non-finite records, differing runs, bad inputs)")


def _number(text: str, zero_ok: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number {'>= 0' if zero_ok else '> 0'}")
    return value


def _percent(text: str) -> float:
    return _number(text, zero_ok=False)


def _fraction(text: str) -> float:
    return _number(text, zero_ok=True)


def _differences(text: str) -> set[str]:
    names = {x.strip() for x in text.split(",") if x.strip()}
    unknown = names - set(DIFFERENCES)
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a comma-separated list of {', '.join(DIFFERENCES)}")
    return names


def add_arguments(p) -> None:
    p.add_argument("base", type=Path, help="results.json or a directory holding it")
    p.add_argument("new", type=Path)
    p.add_argument("--max-regression", type=_percent, default=1.0, metavar="PCT",
                   help="allowed growth of cycles, total and per layer, in percent, > 0 (default %(default)s)")
    p.add_argument("--max-energy-regression", type=_percent, default=None, metavar="PCT",
                   help="allowed growth of energy per inference, > 0 (default: same as --max-regression)")
    p.add_argument("--max-accuracy-drop", type=_fraction, default=0.0, help="allowed accuracy drop (fraction, >= 0)")
    p.add_argument("--allow-differ", type=_differences, action="append", default=[], metavar="WHAT[,WHAT]",
                   help=f"differences between the two runs that are expected ({', '.join(DIFFERENCES)}; e.g. "
                        "'firmware' when the kernels changed); any other difference exits 2")
    p.add_argument("--allow-missing", action="store_true",
                   help="compare the records the two runs share when their workload/platform/mode sets differ "
                        "(otherwise exit 2)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from vbench.api import compare

    c = compare(args.base, args.new, args.max_regression, energy_threshold=args.max_energy_regression,
                accuracy_drop=args.max_accuracy_drop, allow_differ=set().union(*args.allow_differ),
                allow_missing=args.allow_missing)
    if args.json:
        print(json.dumps(to_json(c), allow_nan=False))
    else:
        print(render(c))
    if c.problems:
        print(f"vbench: error: the runs cannot be compared (exit 2): {c.problems[0]}"
              + (f" (and {len(c.problems) - 1} more)" if len(c.problems) > 1 else ""), file=sys.stderr)
    return c.exit_code
