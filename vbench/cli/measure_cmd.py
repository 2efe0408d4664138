"""`vbench measure FW.elf... --out DIR`: a firmware you bring, measured as a result set.

`vbench exec` and `vbench profile` print what one image did; the regression gate (`vbench compare`)
reads result sets. This command writes one results.json record per image (the workload is the ELF's
file name without `.elf`, the mode `performance`: one run to the end) with the run's cycles,
instructions, time and energy, the image's sha256, the per-layer rows when the firmware marks its
layers like vbench's runtime does (it calls a never-inlined `vb_layer_marker(i)` before layer i and
`vb_layer_marker(0xFFFFFFFF)` after the last), and its busiest functions under `functions` (for the job summary;
the gate compares totals and layers). A run that does not end cleanly is written as a FAILED record,
so that the gate fails closed on it, and the command exits like `vbench exec` (1, 3 or 4)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vbench.cli.argtypes import positive_int
from vbench.cli.exec_cmd import exit_status
from vbench.errors import VbenchError
from vbench.outputs import check_writable_dir
from vbench.platform import load_platform
from vbench.results import LayerResult, ResultSet, WorkloadResult
from vbench.sim.board import Board

NAME = "measure"
HELP = ("run firmware ELF images you bring to their end on a virtual board and write them as a result set "
        "(results.json, results.csv, report.md) that vbench compare can gate")

TOP_FUNCTIONS = 20  # kept per record: the summary's table, not a gate input


def add_arguments(p) -> None:
    p.add_argument("firmware", type=Path, nargs="+", help="ELF images (one record each, named by the file stem)")
    p.add_argument("--platform", default="nucleo-l4r5zi", help="board name or platform file (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a platform parameter")
    p.add_argument("--max-instructions", type=positive_int, default=None, metavar="N",
                   help="instruction budget per image, a positive whole number (default 20e9)")
    p.add_argument("--out", type=Path, default=Path("results-firmware"), help="output directory (default %(default)s)")


def _sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise VbenchError(f"cannot read firmware {path}: {exc.strerror}") from None


def measure(elf: Path, platform, overrides: dict[str, str],
            max_instructions: int | None = None) -> tuple[WorkloadResult, int]:
    """One image's record and its `vbench exec` exit status; `overrides` as `--set` spelled them
    (what `vbench run` records, so the gate sees the same text)."""
    from vbench import __version__

    sha = _sha256(elf)
    board = Board(platform, elf, max_instructions=max_instructions)
    try:
        run = board.run()
        prof = board.profile()
    finally:
        board.close()
    status = exit_status(run)
    record = WorkloadResult(
        workload=elf.name.removesuffix(".elf"), platform=platform.name, mode="performance",
        latency_ms=run.time_s * 1e3, energy_uj=run.energy_uj, accuracy=None, cycles=run.cycles,
        instructions=run.instructions, firmware_sha256=sha, model_sha256=None, overrides=overrides,
        vbench_version=__version__)
    # layers as the firmware marked them (calls of vb_layer_marker(i), as vbench's runtime makes):
    # the index is all it tells, so the op is left empty
    record.layers = [LayerResult(layer=x["layer"], op="", cycles=x["cycles"], instructions=x["instructions"],
                                 energy_uj=x["energy_uj"], stall_flash=x["stall_flash"],
                                 stall_branch=x["stall_branch"], stall_load_use=x["stall_load_use"],
                                 stall_divide=x["stall_divide"])
                     for x in prof["layers"] if x["layer"] is not None] or None
    record.extra = {"firmware_file": str(elf), "exit": run.exit, "exit_code": run.exit_code,
                    "functions": [{k: f[k] for k in ("name", "cycles", "instructions", "energy_uj")}
                                  for f in prof["functions"][:TOP_FUNCTIONS]]}
    if status:
        record.failing = True
        ended = (f"the firmware exited with code {run.exit_code}" if run.exit == "exit"
                 else f"the run ended in a {run.exit}")
        record.reason = ended + (f": {run.message}" if run.message else "")
    return record, status


def run(args) -> int:
    check_writable_dir(args.out, "--out")  # before the simulation, not after it
    names: dict[str, Path] = {}
    for elf in args.firmware:
        stem = elf.name.removesuffix(".elf")
        if stem in names:
            raise VbenchError(f"{names[stem]} and {elf}: two images named {stem!r} would be one record; rename one")
        names[stem] = elf
    platform = load_platform(args.platform, args.set)
    records, worst = [], 0
    for elf in args.firmware:
        record, status = measure(elf, platform, dict(o.split("=", 1) for o in args.set), args.max_instructions)
        records.append(record)
        worst = max(worst, status)
        print(f"{record.workload} on {record.platform}: "
              + (f"FAILED: {record.reason}" if record.failing else
                 f"{record.cycles:,} cycles, {record.latency_ms:.3f} ms, {record.energy_uj:.3f} uJ"))
    from vbench.report import write_result_set

    result_set = ResultSet.create(records, platforms=[platform.name], firmware=[str(e) for e in args.firmware])
    write_result_set(args.out, result_set, plots=False, eembc=False)
    print(f"wrote {args.out / 'results.json'}")
    return worst
