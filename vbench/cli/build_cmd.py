"""`vbench build`: compile firmware applications for the virtual boards and report their sizes;
`vbench build eembc` writes the benchmark firmware (ELF, BIN, HEX) to flash on a real board."""

from __future__ import annotations

import json
import os
from pathlib import Path

from vbench.errors import VbenchError
from vbench.platform import DEFAULT_PLATFORMS, load_platform

NAME = "build"
HELP = ("build firmware (default: demo for both boards) and print the ELF paths and sizes; "
        "`build eembc` writes the MLPerf Tiny benchmark image as ELF, BIN and HEX for a real board")


def add_arguments(p) -> None:
    p.add_argument("apps", nargs="*", metavar="APP",
                   help="application name (see --list) or directory with sources; default: demo")
    p.add_argument("--platform", action="append", metavar="NAME",
                   help=f"board (repeatable; default: {', '.join(DEFAULT_PLATFORMS)})")
    p.add_argument("-D", "--define", action="append", default=[], metavar="NAME[=VALUE]",
                   help="preprocessor define for every source (repeatable)")
    p.add_argument("-O", "--opt", default="-O2", metavar="FLAG", help="optimisation flag (default: -O2)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a platform parameter")
    p.add_argument("--list", action="store_true", help="list the known applications and exit")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    eembc = p.add_argument_group("eembc (the benchmark firmware: `vbench build eembc --platform nucleo-l4r5zi`)")
    eembc.add_argument("--workload", default="kws,vww,ic,ad", help="comma-separated: kws, vww, ic, ad (default all)")
    eembc.add_argument("--kernels", default="optimized",
                       help="optimized (the platform's kernel variant, default), reference, or a variant name")
    eembc.add_argument("--energy-mode", action="store_true",
                       help="the EE_CFG_ENERGY_MODE=1 image: timestamps on the GPIO only, for an energy monitor")
    eembc.add_argument("-o", "--out", type=Path, metavar="DIR",
                       help="write <model id>-<platform>.{elf,bin,hex} here (default: the build cache)")


def run(args) -> int:
    import sys

    from vbench.firmware import build_firmware, elf_sizes, list_apps, resolve_app

    if args.list:
        for name in list_apps():
            print(name)
        return 0
    from vbench.outputs import check_build_dirs

    check_build_dirs()
    if args.apps[:1] == ["eembc"]:
        return _build_eembc(args)
    if args.out is not None:
        raise VbenchError("-o/--out is for `vbench build eembc` (the benchmark image)")
    opt = args.opt if args.opt.startswith("-O") else f"-O{args.opt}"
    apps = args.apps or ["demo"]
    platforms = args.platform or list(DEFAULT_PLATFORMS)
    rows = []
    for pname in platforms:
        plat = load_platform(pname, args.set)
        for app in apps:
            only = resolve_app(app).platforms
            if only is not None and plat.name not in only and not args.platform:
                print(f"vbench build: {app} skipped on {plat.name} (it is for {', '.join(only)} only)", file=sys.stderr)
                continue
            elf = build_firmware(app, plat, defines=args.define, opt=opt)
            sizes = elf_sizes(elf)
            rows.append({"app": app, "platform": plat.name, "elf": str(elf), **sizes})
    if not rows:
        raise VbenchError("nothing to build")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    cwd = os.getcwd()
    print(f"{'text':>8} {'data':>8} {'bss':>8}  {'platform':<16} {'app':<14} elf")
    for r in rows:
        path = os.path.relpath(r["elf"], cwd) if r["elf"].startswith(cwd + os.sep) else r["elf"]
        print(f"{r['text']:>8} {r['data']:>8} {r['bss']:>8}  {r['platform']:<16} {r['app']:<14} {path}")
    return 0


def _build_eembc(args) -> int:
    """The benchmark firmware for each workload and board, as files a flash tool takes."""
    from vbench.benchmark import parse_list
    from vbench.harness.board_image import export_image
    from vbench.outputs import check_writable_dir
    from vbench.workloads import IDS, by_id

    if len(args.apps) > 1:
        raise VbenchError(f"`vbench build eembc` takes no other application (got {' '.join(args.apps[1:])})")
    if args.define or args.opt != "-O2":
        raise VbenchError("-D/-O do not apply to `vbench build eembc`: the benchmark image is built as `vbench run` "
                          "builds it")
    workloads = parse_list(args.workload, IDS, "workload")
    if not workloads:
        raise VbenchError(f"--workload names no workload (known: {', '.join(IDS)})")
    if not args.platform:
        raise VbenchError("`vbench build eembc` needs --platform (the board to flash, e.g. nucleo-l4r5zi)")
    if args.out is not None:
        check_writable_dir(args.out, "-o")
    images = []
    for pname in args.platform:
        plat = load_platform(pname, args.set)
        for w in workloads:
            images.append(export_image(by_id(w).model_id, plat, kernels=args.kernels, energy_mode=args.energy_mode,
                                       out_dir=args.out))
    if args.json:
        print(json.dumps([i.to_dict() for i in images], indent=2))
        return 0
    for i in images:
        print(f"{i.model_id} on {i.platform} ({i.kernels} kernels{', energy mode' if i.energy_mode else ''}): "
              f"{i.bin_bytes} bytes at 0x{i.base_address:08x}")
        for path in (i.elf, i.bin, i.hex):
            print(f"  {path}")
    return 0
