"""`vbench bench`: how fast vbench simulates what users run, against raw Unicorn on the same firmware."""

from __future__ import annotations

import json
import sys

from vbench.cli.argtypes import positive_int

NAME = "bench"
HELP = ("simulation speed on the instruction mix, the third-party TFLM firmware and vbench's MLPerf Tiny images: "
        "accounted M instructions/s and simulated cycles/s against raw Unicorn (and QEMU -icount) on the same ELF")


def add_arguments(p) -> None:
    p.add_argument("--platform", default="nucleo-l4r5zi", help="board (default: %(default)s)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="an image (mix, tflm/kws_cmsis, vbench/kws, ...) or a group (mix, tflm, tflm-ref, vbench); "
                        "repeatable or comma-separated (default: mix, tflm, vbench)")
    p.add_argument("--quick", action="store_true",
                   help="a short mix (300 rounds) and one image of each other source: a smoke run of a few seconds")
    p.add_argument("--iterations", type=positive_int, default=None,
                   help="rounds of the mix (default 3000, about 150 M instructions; --quick: 300)")
    p.add_argument("--no-counting", action="store_true", help="skip the counting-only run (faster)")
    p.add_argument("--no-qemu", action="store_true", help="do not look for qemu-system-arm")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="print one JSON object (keys: docs/timing.md)")


def run(args) -> int:
    from vbench.bench import MIX_ITERATIONS, QUICK_MIX_ITERATIONS, TFLM_PLATFORM, bench, select
    from vbench.outputs import check_build_dirs
    from vbench.platform import load_platform

    check_build_dirs()
    plat = load_platform(args.platform, args.set)
    names = select([n for item in args.only for n in item.split(",") if n], args.quick)
    if plat.name != TFLM_PLATFORM and not args.only:
        names = [n for n in names if not n.startswith("tflm/")]  # the third-party firmware is for the Nucleo only
    iterations = args.iterations or (QUICK_MIX_ITERATIONS if args.quick else MIX_ITERATIONS)
    progress = None if args.json else (lambda line: print(line, flush=True))
    if not args.json:
        print(f"vbench bench on {plat.name}: {', '.join(names)}", flush=True)
    result = bench(plat, names, overrides=tuple(args.set), iterations=iterations, counting=not args.no_counting,
                   qemu=not args.no_qemu, progress=progress)
    out = result.to_json()
    if args.json:
        json.dump(out, sys.stdout)
        print()
    else:
        print(f"load average before {out['load_average_before']} after {out['load_average_after']} "
              f"on {out['cpu_count']} cores; {out['bench_wall_s']} s")
    return 0
