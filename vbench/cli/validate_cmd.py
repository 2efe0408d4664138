"""`vbench validate`: the fidelity suite, vbench against board measurements (vbench/validate.py,
docs/validation.md). Progress (a bar with an ETA on a terminal, a line per finished row) goes to
stderr; --quiet silences it."""

from __future__ import annotations

import json
from pathlib import Path

NAME = "validate"
HELP = ("run each firmware of a board-measurement CSV on its virtual board and report latency, cycles, CPI, energy "
        "and power against the board, for calibration and held-out rows")


def add_arguments(p) -> None:
    from vbench.cli.argtypes import positive_int

    p.add_argument("measurements", type=Path, metavar="MEASUREMENTS.csv",
                   help="columns firmware, platform, overrides, measure, latency_ms, energy_uj, power_mw, voltage_v, "
                        "clock_hz, role, source (docs/validation.md)")
    p.add_argument("--platform", default="nucleo-l4r5zi", metavar="NAME",
                   help="platform of rows whose platform cell is empty (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a platform parameter for every row (after the row's own overrides)")
    p.add_argument("--max-instructions", type=positive_int, default=None, metavar="N",
                   help="instruction budget per firmware run (default 5e9)")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write validate.json, validate.csv, validate.md and validate.png there")
    p.add_argument("--json", action="store_true", help="print the row records as JSON instead of the table")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr (errors still)")
    p.add_argument("--fit", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="fit timing parameters that no document fixes on the calibration rows: every combination "
                        "of the listed values is run, the lowest RMS latency error chosen, with leave-one-out "
                        "errors (e.g. --fit flash.fill_bytes=8,16,32); prints the values, does not apply them")


def run(args) -> int:
    from vbench.outputs import check_build_dirs, check_writable_dir
    from vbench.progress import Progress
    from vbench.validate import DEFAULT_BUDGET, table, validate

    if args.out:  # before any firmware runs, not after
        names = ("timing_fit.json",) if args.fit else ("validate.json", "validate.csv", "validate.md", "validate.png")
        check_writable_dir(args.out, "--out", files=names)
    check_build_dirs()  # firmware images built from rows that name an app

    if args.fit:
        from vbench.calibration.timing_fit import fit_timing, parse_grid, report
        from vbench.report_io import write_text_atomic

        with Progress(0, "vbench validate --fit", "point", quiet=args.quiet, prefix="validate: ") as progress:
            fit = fit_timing(args.measurements, parse_grid(args.fit), platform=args.platform, sets=args.set,
                             max_instructions=args.max_instructions or DEFAULT_BUDGET, progress=progress)
        if args.json:
            print(json.dumps(fit.to_json(), indent=1))
        else:
            print(report(fit), end="")
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            write_text_atomic(args.out / "timing_fit.json", json.dumps(fit.to_json(), indent=1) + "\n")
        return 0
    with Progress(0, "vbench validate", "row", quiet=args.quiet, prefix="validate: ") as progress:
        res = validate(args.measurements, platform=args.platform, sets=args.set,
                       max_instructions=args.max_instructions or DEFAULT_BUDGET, out_dir=args.out, progress=progress)
    if args.json:
        print(json.dumps(res.records, indent=1))
    else:
        print(table(res), end="")
        for what, path in res.outputs.items():
            print(f"wrote {what}: {path}")
    return 3 if res.failed else 0
