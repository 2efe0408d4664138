"""`vbench unicorn`: which libunicorn vbench runs on; `--build` builds the one whose RAM stores take
the fast path (vbench/sim/unicorn_lib.py). The figures are the same on both; only the speed differs."""

from __future__ import annotations

import sys

NAME = "unicorn"
HELP = "which libunicorn vbench runs on; --build builds Unicorn 2.1.4 with RAM stores on the fast path (same figures)"


def add_arguments(p) -> None:
    p.add_argument("--build", action="store_true",
                   help="download the unicorn 2.1.4 sources from PyPI and build the library into the cache "
                        "(needs cmake and a C compiler; about a minute)")
    p.add_argument("--if-missing", action="store_true", help="with --build: only when it is not built yet")
    p.add_argument("--probe", action="store_true",
                   help="also measure what a RAM store and a flash read through MMIO cost on it (Nucleo)")


def run(args) -> int:
    from vbench.sim import unicorn_lib

    lib = unicorn_lib.fast_library_dir() / unicorn_lib.LIBRARY
    if args.build and not (args.if_missing and lib.is_file()):
        unicorn_lib.build()
        if "unicorn" in sys.modules:
            print("(this process keeps the library it loaded; the next vbench command uses the new one)")
    print(f"unicorn {unicorn_lib.VERSION}: {unicorn_lib.describe()}")
    print(f"fast-store library: {lib} ({'built' if lib.is_file() else 'not built: vbench unicorn --build'})")
    if args.probe:
        from vbench.platform import load_platform
        from vbench.sim.backend_costs import unicorn_costs

        c = unicorn_costs(load_platform("nucleo-l4r5zi"))
        print(f"a RAM store costs {c['ram_store_ns']} ns, a flash read through MMIO {c['flash_mmio_read_ns']} ns "
              f"(RAM load loop {c['ram_load_loop_mips']} M instructions/s)")
    return 0
