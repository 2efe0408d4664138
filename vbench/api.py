"""The Python API: what the `vbench` commands do, returning typed records.

    import vbench
    results = vbench.run(workloads="ad", modes="performance")      # a vbench.ResultSet
    frame = results.to_dataframe()                                 # pandas, the columns of results.csv
    gate = vbench.compare("results-base", results)                 # .regressions, .exit_code (0, 1, 2)
    fw = vbench.exec_firmware("fw.elf", platform="nucleo-l4r5zi")  # a vbench.ExecResult

Bad input raises vbench.errors.VbenchError (its `exit_code` is what the command would exit with).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Mapping

from vbench.gate import Comparison, IncompatibleResults
from vbench.gate import compare as _compare
from vbench.errors import VbenchError
from vbench.results import ResultSet, load_results
from vbench.sim.board import RunResult


def run(workloads: str | Iterable[str] = ("kws", "vww", "ic", "ad"), platform: str | Iterable[str] | None = None,
        modes: str | Iterable[str] = ("performance", "energy"), kernels: str = "optimized",
        overrides: Mapping[str, object] | Iterable[str] | None = None, out: str | Path | None = None, *,
        dataset: str | Path | None = None, accuracy_limit: int | None = None,
        models: Mapping[str, str | Path] | None = None, weights: str = "dense", winograd: bool = False,
        scenarios: str | Iterable[str] | None = None, jobs: int | None = None, plots: bool = True,
        progress: bool = False) -> ResultSet:
    """`vbench run`: the MLPerf Tiny workloads on virtual boards, one record per workload x
    platform x mode. Names are lists or comma-separated strings; `platform` a board name, a
    platform file or a list of them (default the Nucleo-L4R5ZI); `overrides` {"key": value} or
    ["key=value"]; `models` {workload: .tflite}. With `out`, the files `vbench run --out` writes
    (results.json, results.csv, report.md, plots, the EEMBC layout). `progress`: a bar on stderr.
    Accuracy workers are spawned processes: call this under `if __name__ == "__main__":` in a script."""
    from vbench.progress import Progress
    from vbench.runs import execute, plan, write

    run_plan = plan(workloads=workloads, platforms=platform, modes=modes, kernels=kernels, overrides=overrides,
                    out=out, dataset=dataset, accuracy_limit=accuracy_limit, models=models, weights=weights,
                    winograd=winograd, scenarios=scenarios, workers=jobs)
    with Progress(len(run_plan.jobs), "vbench run", quiet=not progress) as bar:
        result_set = execute(run_plan, bar)
    if out is not None:
        write(out, result_set, plots=plots)
    return result_set


def load(path: str | Path) -> ResultSet:
    """results.json, or the folder holding it (a `vbench run --out` folder), checked."""
    return load_results(path)


def compare(baseline: str | Path | ResultSet | dict[str, Any], candidate: str | Path | ResultSet | dict[str, Any],
            threshold: float = 1.0, *, energy_threshold: float | None = None, accuracy_drop: float = 0.0,
            allow_differ: Iterable[str] = (), allow_missing: bool = False) -> Comparison:
    """`vbench compare`: the regression gate. `threshold` is the allowed growth of cycles (total and
    per layer) in percent, `energy_threshold` that of energy (default: `threshold`), `accuracy_drop`
    the allowed drop of accuracy (a fraction). The result has `.regressions`, `.problems` and
    `.exit_code`: 0 no regression, 1 regression, 2 the runs cannot be compared (fails closed)."""
    def read(x):
        return load_results(x) if isinstance(x, (str, Path)) else x

    try:
        return _compare(read(baseline), read(candidate), threshold,
                        threshold if energy_threshold is None else energy_threshold, accuracy_drop,
                        allow_differ=frozenset(allow_differ), allow_missing=allow_missing)
    except VbenchError:
        raise
    except Exception as exc:  # the gate fails closed: a crash is exit 2, never a pass or a regression
        raise IncompatibleResults(f"cannot compare {baseline} and {candidate}: {type(exc).__name__}: {exc}") from exc


# `vbench exec`'s exit status by how the run ended (besides "exit", which is the firmware's code).
EXEC_EXIT_STATUS = {"halt": 0, "fault": 3, "budget": 4}


def exit_status(result: RunResult) -> int:
    """How a firmware run ends, as the exit code of `vbench exec` and `vbench profile`: 0 clean exit or
    halt, 1 the firmware exited non-zero, 3 fault, 4 budget."""
    if result.exit == "exit":
        return 0 if result.exit_code == 0 else 1
    return EXEC_EXIT_STATUS.get(result.exit, 0)


@dataclass
class ExecResult(RunResult):
    """One firmware run to its end (vbench.sim.board.RunResult) with the image and overrides it
    ran with; `to_json()` is `vbench exec --json`'s object, `exit_status` its exit code."""

    firmware: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_status(self) -> int:
        return exit_status(self)

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {"firmware": self.firmware, "overrides": self.overrides}


def exec_firmware(elf: str | Path, platform: str = "nucleo-l4r5zi", *,
                  overrides: Mapping[str, object] | Iterable[str] | None = None, max_instructions: int | None = None,
                  uart_input: bytes = b"", timing: bool = True) -> ExecResult:
    """`vbench exec`: run one ELF on a virtual board to its end (exit, halt, fault or budget)."""
    from vbench.platform import load_platform
    from vbench.runs import override_list
    from vbench.sim.board import run_firmware

    if max_instructions is not None and (isinstance(max_instructions, bool) or not isinstance(max_instructions, int)
                                         or max_instructions < 1):
        raise VbenchError(f"max_instructions {max_instructions!r}: must be a positive whole number")
    plat = load_platform(platform, override_list(overrides))
    result = run_firmware(elf, plat, max_instructions=max_instructions, uart_input=uart_input, timing=timing)
    values = {f.name: getattr(result, f.name) for f in fields(RunResult)}
    return ExecResult(**values, firmware=str(elf), overrides=plat.overrides)


__all__ = ["Comparison", "ExecResult", "compare", "exec_firmware", "load", "run"]
