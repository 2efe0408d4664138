"""`vbench platforms`: the boards vbench knows ($VBENCH_PLATFORM_PATH, then the built-in ones)."""

from __future__ import annotations

import json
import os

from vbench.errors import VbenchError
from vbench.paths import PLATFORM_PATH_ENV, platform_search_path
from vbench.platform import available_platforms, load_platform

NAME = "platforms"
HELP = f"list the virtual boards (${PLATFORM_PATH_ENV} folders, then the built-in platforms/*.toml)"


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    found = available_platforms()
    if not found:
        where = os.pathsep.join(str(d) for d in platform_search_path())
        raise VbenchError(f"no platform files (*.toml) found in {where}: the installed vbench lacks its data, "
                          f"or ${PLATFORM_PATH_ENV} names empty folders")
    rows = []
    for path in found:
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
        print(f"{'':<16} {r['file']}")
    return 0
