"""`vbench build`: compile firmware applications for the virtual boards and report their sizes."""

from __future__ import annotations

import json
import os

from vbench.errors import VbenchError
from vbench.platform import DEFAULT_PLATFORMS, load_platform

NAME = "build"
HELP = "build firmware (default: demo for both boards) and print the ELF paths and sizes"


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


def run(args) -> int:
    import sys

    from vbench.firmware import build_firmware, elf_sizes, list_apps, resolve_app

    if args.list:
        for name in list_apps():
            print(name)
        return 0
    from vbench.outputs import check_build_dirs

    check_build_dirs()
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
