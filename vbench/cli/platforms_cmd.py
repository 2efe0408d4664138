"""`vbench platforms`: the boards vbench knows."""

from __future__ import annotations

import json

from vbench.platform import available_platforms, load_platform

NAME = "platforms"
HELP = "list the virtual boards (platforms/*.toml)"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    rows = []
    for path in available_platforms():
        plat = load_platform(path)
        mems = ", ".join(f"{m.name} {m.size // 1024} KB @ {m.base:#010x}" for m in plat.memories)
        rows.append({"name": plat.name, "isa": plat.isa, "cpu": plat.get("core.cpu", ""),
                     "clock_hz": plat.get("core.clock_hz", None) or plat.get("core.reset_clock_hz"),
                     "description": plat.data.get("description", ""), "memories": mems, "file": str(path)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(f"{r['name']:<16} {r['isa']:<9} {r['cpu']:<11} {r['description']}")
        print(f"{'':<16} {r['memories']}")
    return 0
