"""`vbench compare BASE NEW`: the CI regression gate."""

from __future__ import annotations

import json
from pathlib import Path

from vbench.compare import compare, render
from vbench.results import load_results

NAME = "compare"
HELP = "compare two result sets (files or directories); exit 1 on a regression, 2 on incompatible inputs"


def add_arguments(p) -> None:
    p.add_argument("base", type=Path, help="results.json or a directory holding it")
    p.add_argument("new", type=Path)
    p.add_argument("--max-regression", type=float, default=1.0, metavar="PCT",
                   help="allowed growth of cycles, total and per layer, in percent (default %(default)s)")
    p.add_argument("--max-energy-regression", type=float, default=None, metavar="PCT",
                   help="allowed growth of energy per inference (default: same as --max-regression)")
    p.add_argument("--max-accuracy-drop", type=float, default=0.0, help="allowed accuracy drop (fraction)")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    base, new = load_results(args.base), load_results(args.new)
    energy = args.max_energy_regression if args.max_energy_regression is not None else args.max_regression
    c = compare(base, new, args.max_regression, energy, args.max_accuracy_drop)
    if args.json:
        print(json.dumps({"regressions": [vars(d) | {"pct": d.pct} for d in c.regressions],
                          "deltas": [vars(d) | {"pct": d.pct} for d in c.deltas], "missing": c.missing}))
    else:
        print(render(c))
    return 1 if c.regressions else 0
