"""`vbench check-models`: the int8 models through TFLite (golden), the host build and the firmware
on each virtual board; bit-exactness, instructions and cycles per inference, measured footprint."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

NAME = "check-models"
HELP = ("check that every int8 model runs bit-exact on the virtual boards (golden vs host vs "
        "firmware) and report instructions, cycles, flash and RAM per model and board")


def add_arguments(p) -> None:
    from vbench.compiler.encodings import WEIGHT_ENCODINGS
    from vbench.modelcheck import DEFAULT_INPUTS, DEFAULT_MODELS, DEFAULT_PLATFORMS, DEFAULT_SEED

    p.add_argument("--platform", action="append", metavar="NAME",
                   help=f"board (repeatable; default: {', '.join(DEFAULT_PLATFORMS)})")
    p.add_argument("--model", action="append", metavar="PATH",
                   help=f"a .tflite model, or the name of one in models/ (repeatable; default: "
                        f"{', '.join(m.removesuffix('.tflite') for m in DEFAULT_MODELS)})")
    p.add_argument("--inputs", type=int, default=DEFAULT_INPUTS, metavar="N",
                   help="random inputs per model, fixed seed (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the random inputs (default: %(default)s)")
    p.add_argument("--dataset", type=Path, metavar="DIR",
                   help="folder of raw input files (*.bin); files whose size equals a model's input "
                        "are added to that model's inputs (default: the KWS set kws01 when present, "
                        "from $VBENCH_DATASETS or the shared datasets folder)")
    p.add_argument("--dataset-inputs", type=int, metavar="M",
                   help="dataset files per model, evenly spread over the folder (default: N)")
    p.add_argument("--no-dataset", action="store_true", help="random inputs only")
    p.add_argument("--kernels", default="reference", metavar="K",
                   help="kernels in the firmware: reference, optimized (the variant each board's "
                        "platform file names in [toolchain] kernels) or a directory name under "
                        "firmware/kernels/ (default: %(default)s)")
    p.add_argument("--weights", default="dense", choices=WEIGHT_ENCODINGS,
                   help="weight encoding of the compiled models (default: %(default)s): sparse skips the zero "
                        "weights of pruned layers, palette stores 4-bit indices into 16 values; the check is "
                        "against TFLite on the model as it is")
    p.add_argument("--winograd", action="store_true", help="3x3 stride-1 convolutions as Winograd F(2x2,3x3)")
    p.add_argument("-j", "--jobs", type=int, default=0, metavar="J",
                   help="model x board checks run in parallel (default: the number of CPUs)")
    p.add_argument("--json", action="store_true", help="print the result rows as JSON")


def run(args) -> int:
    from vbench.errors import VbenchError
    from vbench.modelcheck import all_ok, check_models, format_table, stderr_progress

    if args.no_dataset and args.dataset:
        raise VbenchError("--dataset and --no-dataset contradict each other")
    if args.jobs < 0:
        raise VbenchError(f"--jobs must be 0 (auto) or more, not {args.jobs}")
    from vbench.outputs import check_build_dirs

    check_build_dirs()
    workers = args.jobs or os.cpu_count() or 1
    t0 = time.perf_counter()
    rows = check_models(args.model, args.platform, inputs=args.inputs, seed=args.seed,
                        dataset=False if args.no_dataset else args.dataset,
                        dataset_inputs=args.dataset_inputs, workers=workers, progress=True,
                        kernels=args.kernels, weights=args.weights, winograd=args.winograd)
    wall = time.perf_counter() - t0
    ok = all_ok(rows)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(format_table(rows))
    bad = [f"{r['model']} on {r['platform']}" for r in rows if not r["bit_exact"]]
    summary = (f"{len(rows)} checks, all bit-exact and fitting" if ok else
               f"{len(bad)} of {len(rows)} checks not bit-exact" + (f" ({', '.join(bad)})" if bad else "")
               + ("" if all(r.get("fits") for r in rows) else "; some do not fit"))
    stderr_progress(f"{summary}; wall time {wall:.1f} s")
    sys.stdout.flush()
    return 0 if ok else 1
