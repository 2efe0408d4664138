"""`vbench calibrate`: fit free parameters of a platform to board measurements, cross-validate,
and report the error that is left (see vbench/calibrate.py and docs/calibration.md). Progress (a bar
with an ETA on a terminal, a line per finished simulation) goes to stderr; --quiet silences it."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "calibrate"
HELP = ("fit a platform's free parameters (power model coefficients, timing records) to board measurements "
        "from a CSV file, with leave-one-out cross-validation, and write the calibrated file and an error report")


def add_arguments(p) -> None:
    p.add_argument("measurements", type=Path, metavar="MEASUREMENTS.csv",
                   help="columns firmware, platform, overrides, latency_ms, energy_uj, power_mw, voltage_v, clock_hz, "
                        "source and optionally role (docs/calibration.md), or vbench validate's columns (measure, role; "
                        "docs/validation.md); only rows whose role is calibration are fitted, the others are predicted")
    p.add_argument("--platform", required=True, metavar="NAME", help="the platform to calibrate")
    p.add_argument("--fit", action="extend", nargs="+", default=[], metavar="PARAM",
                   help="parameters to fit, e.g. power.cycle_pc, power.static_ua, timing.branch_refill; NAME=LO:HI "
                        "(or =a,b,c for timing) sets the bounds; without --fit the current model is only evaluated")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="calibrated file: a power model (energy parameters only; default "
                        "power_models/<platform>-calibrated.toml) or a platform override file (timing parameters; "
                        "default build/calibration/<platform>-calibrated.toml, its power model beside it)")
    p.add_argument("--report", type=Path, metavar="DIR",
                   help="report folder (report.md, rows.csv, calibration.json, predicted_vs_measured.png; "
                        "default build/calibration/<platform>/)")
    p.add_argument("--no-cache", action="store_true", help="simulate every row again (default: reuse "
                                                           "build/calibration-cache/)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr (errors still)")


def _check_outputs(args) -> None:
    """The calibrated file(s) and the report folder, explicit or default, are writable before any
    row is simulated."""
    from vbench.outputs import check_build_dirs, check_writable_dir, check_writable_file
    from vbench.paths import cache_dir, calibrated_power_model_dir

    check_build_dirs()  # firmware images and the calibration cache
    fits = [spec.partition("=")[0].strip() for spec in args.fit]
    timing = any(not name.startswith("power.") for name in fits)
    if args.report:
        check_writable_dir(args.report, "--report",
                           files=("report.md", "rows.csv", "calibration.json", "predicted_vs_measured.png"))
    else:
        check_writable_dir(cache_dir() / "calibration", "report folder")
    if not fits:
        return  # only evaluated: no calibrated file
    if args.out:
        check_writable_file(args.out, "--out")
        if timing:  # the fitted power model goes beside the platform file
            check_writable_file(args.out.with_name(args.out.stem + "-power.toml"), "--out")
    else:
        check_writable_dir(cache_dir() / "calibration" if timing else calibrated_power_model_dir(), "calibrated file folder")


def run(args) -> int:
    from vbench.calibrate import calibrate
    from vbench.calibration.output import tables
    from vbench.progress import Progress

    _check_outputs(args)
    kwargs = {"cache_dir": None} if args.no_cache else {}
    with Progress(0, "vbench calibrate", "run", quiet=args.quiet, prefix="calibrate: ") as progress:
        result = calibrate(args.measurements, args.platform, args.fit, out=args.out, report_dir=args.report,
                           progress=progress, **kwargs)
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(tables(result), end="")
        for what, path in result.outputs.items():
            print(f"wrote {what}: {path}")
    return 0
