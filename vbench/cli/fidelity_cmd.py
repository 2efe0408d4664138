"""`vbench fidelity`: per platform, the calibrated and fixed parameters of the power and timing
models, their sources, and the cross-validated error of the calibration (vbench calibrate)."""

from __future__ import annotations

import json

NAME = "fidelity"
HELP = ("show, for every platform, the power and timing model parameters with their sources, which were "
        "calibrated against board measurements, and the cross-validated error that calibration left")


def add_arguments(p) -> None:
    p.add_argument("--platform", action="append", metavar="NAME",
                   help="platform name or file (repeatable; default: every platform in platforms/)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")


def run(args) -> int:
    from vbench.calibration.fidelity import fidelity, format_fidelity

    rows = fidelity(args.platform)
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        print(format_fidelity(rows), end="")
    return 0
