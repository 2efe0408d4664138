"""The `vbench` command line: run firmware and MLPerf Tiny workloads on virtual boards.

Each subcommand is a module `vbench/cli/<name>_cmd.py` defining
NAME, HELP, add_arguments(parser) and run(args) -> exit code; they are found by name, so adding
a subcommand is adding a file."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from vbench import __version__
from vbench.errors import VbenchError


def _subcommand_modules():
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.endswith("_cmd"):
            yield importlib.import_module(f"{__name__}.{info.name}")


def version_report() -> str:
    """What a bug report needs: vbench, Unicorn, the cross compilers and which data it runs on."""
    import shutil
    import subprocess

    import unicorn

    from vbench import paths
    from vbench.firmware.build import DEBIAN_PACKAGES

    from vbench.sim import unicorn_lib

    lines = [f"vbench {__version__} ({paths.package_dir()})", f"unicorn {unicorn.__version__}: {unicorn_lib.describe()}"]
    for prefix in DEBIAN_PACKAGES:
        gcc = shutil.which(f"{prefix}gcc")
        try:
            version = subprocess.run([gcc, "-dumpversion"], capture_output=True, text=True,
                                     timeout=30).stdout.strip() if gcc else ""
        except (OSError, subprocess.TimeoutExpired):
            version = ""
        lines.append(f"{prefix}gcc {version or 'unknown'} ({gcc})" if gcc else f"{prefix}gcc not found")
    lines.append(f"data {paths.data_root()}")
    lines += [f"  {name:<13} {digest}" for name, digest in paths.data_digests().items()]
    lines.append(f"cache {paths.cache_dir()} ({paths.cache_dir_origin()})")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_report())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vbench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action=_VersionAction,
                        help="print the versions of vbench, Unicorn and the compilers, and the data's hashes")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _subcommand_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except VbenchError as exc:
        print(f"vbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
