"""`vbench bench`: how fast vbench simulates, against raw Unicorn on the same firmware."""

from __future__ import annotations

import json

from vbench.bench import bench
from vbench.firmware import build_firmware
from vbench.platform import load_platform

NAME = "bench"
HELP = "simulation speed: accounted MIPS vs raw Unicorn on a long instruction mix (>= 200 M instructions)"


def add_arguments(p) -> None:
    p.add_argument("--platform", default="nucleo-l4r5zi", help="board (default: %(default)s)")
    p.add_argument("--iterations", type=int, default=3000, help="rounds of the mix (3000 = about 210 M instructions)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from vbench.outputs import check_build_dirs

    check_build_dirs()
    plat = load_platform(args.platform, args.set)
    elf = build_firmware("bench_mix", plat, defines=[f"BENCH_ITERATIONS={args.iterations}"])
    out = bench(elf, plat).to_json()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['platform']}: {out['instructions']:,} instructions, {out['cycles']:,} cycles")
        print(f"raw Unicorn     {out['mips_raw']:8.1f} M instructions/s ({out['wall_raw_s']} s)")
        print(f"vbench accounted {out['mips_accounted']:7.1f} M instructions/s ({out['wall_accounted_s']} s)"
              f"  ratio {out['ratio']}")
        print(f"vbench counting only {out['mips_counting_only']:6.1f} M instructions/s"
              f"  ratio {out['ratio_counting_only']}")
    return 0
