"""`vbench study NAME`: a named comparison over the four workloads on the virtual boards (cycles,
latency, energy, flash, RAM, accuracy where available; per layer and total), written as
study.md, study.csv, layers.csv, comparisons.csv, study.json and PNG plots. Progress (a bar with an
ETA on a terminal, a line per finished compile, board run and accuracy step) goes to stderr; --quiet
silences it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

NAME = "study"
HELP = ("compare configurations over the MLPerf Tiny workloads: precision (int8 vs float32), "
        "data-reuse (reference vs optimized kernels), sparsity (pruning + sparse kernels), compression "
        "(4-bit clustered weights), winograd (F(2x2,3x3)), kernels A B (two kernel variants)")


def add_arguments(p) -> None:
    from vbench.cli.argtypes import positive_int
    from vbench.platform import DEFAULT_PLATFORMS
    from vbench.studies import DEFAULT_AGREEMENT_INPUTS, DEFAULT_SEED, DEFAULT_SPARSITIES, STUDY_DEFAULT_KERNELS
    from vbench.workloads import IDS

    p.add_argument("name", metavar="NAME",
                   help="precision | data-reuse | sparsity | compression | winograd | kernels")
    p.add_argument("variants", nargs="*", metavar="VARIANT",
                   help="for `kernels`: the two kernel variants A B (names under firmware/kernels/, reference, "
                        "optimized, or directory paths)")
    p.add_argument("--kernels", default=STUDY_DEFAULT_KERNELS, metavar="K",
                   help="precision, sparsity, compression, winograd: the kernel set of every configuration: "
                        "optimized (the board's variant; the default except for precision), reference (the "
                        "default for precision), or a variant name/directory")
    p.add_argument("--sparsity", default=",".join(f"{x:g}" for x in DEFAULT_SPARSITIES), metavar="S[,S...]",
                   help="sparsity: pruning levels, fractions of zero weights per layer (default %(default)s)")
    p.add_argument("--platform", action="append", metavar="P",
                   help=f"board (repeatable; default: {', '.join(DEFAULT_PLATFORMS)})")
    p.add_argument("--workload", default=",".join(IDS),
                   help="comma-separated: kws, vww, ic, ad (default all)")
    p.add_argument("--out", type=Path, default=None,
                   help="output directory (default results/study-NAME)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the study inputs (default %(default)s)")
    p.add_argument("--inputs", type=int, default=DEFAULT_AGREEMENT_INPUTS, metavar="N",
                   help="precision, sparsity, compression: random inputs for the output agreement with the "
                        "baseline on the host (default %(default)s; 0 skips it)")
    p.add_argument("--dataset", type=Path, metavar="DIR",
                   help="precision, sparsity, compression: KWS accuracy files (DIR/kws01/ or the kws01 folder itself; default: the "
                        "shared kws01 set when present)")
    p.add_argument("--no-dataset", action="store_true", help="precision, sparsity, compression: no dataset accuracy")
    p.add_argument("--accuracy-limit", type=positive_int, metavar="M", help="precision, sparsity, compression: the first M KWS files only")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="J",
                   help="board runs in parallel (default: the number of CPUs)")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr (errors still)")


def run(args) -> int:
    from vbench.benchmark import parse_list
    from vbench.errors import VbenchError
    from vbench.outputs import check_build_dirs, check_writable_dir
    from vbench.progress import Progress
    from vbench.studies import make_study, run_study, summary_text, write_study
    from vbench.workloads import IDS

    try:
        levels = tuple(float(x) for x in args.sparsity.split(",") if x.strip())
    except ValueError:
        raise VbenchError(f"--sparsity takes fractions such as 0.5,0.75, not '{args.sparsity}'") from None
    study = make_study(args.name, args.variants, kernels=args.kernels, sparsities=levels)
    workloads = parse_list(args.workload, IDS, "workload")
    if not workloads:
        raise VbenchError("--workload is empty")
    if args.no_dataset and args.dataset:
        raise VbenchError("--dataset and --no-dataset contradict each other")
    if args.jobs < 0:
        raise VbenchError(f"--jobs must be 0 (auto) or more, not {args.jobs}")
    out = args.out or Path("results") / f"study-{study.name}"
    check_writable_dir(out, "--out", files=("study.md", "study.csv", "layers.csv", "comparisons.csv", "study.json"))
    check_build_dirs()
    t0 = time.perf_counter()
    with Progress(0, f"vbench study {study.name}", "step", quiet=args.quiet,
                  prefix=f"study {study.name}: ") as progress:
        result = run_study(study, workloads, args.platform, seed=args.seed,
                           workers=args.jobs or os.cpu_count() or 1,
                           dataset=False if args.no_dataset else args.dataset, accuracy_limit=args.accuracy_limit,
                           agreement_inputs=args.inputs, progress=progress)
    files = write_study(out, result, plots=not args.no_plots)
    print(summary_text(result))
    print(f"\nwall time {time.perf_counter() - t0:.1f} s; wrote {', '.join(str(f) for f in files[:5])}"
          + (f" and {len(files) - 5} plots" if len(files) > 5 else ""))
    failed = [r for r in result["records"] if r.get("error") or not r.get("output_ok")]
    for r in failed:
        print(f"FAILED {r['workload']}/{r['config']} on {r['platform']}: {r.get('error') or r.get('output_check')}",
              file=sys.stderr)
    return 1 if failed else 0
