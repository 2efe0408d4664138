"""vbench: a virtual MLPerf Tiny benchmark on simulated microcontroller boards.

The Python API (vbench/api.py) does what the commands do and returns typed records:

    >>> import vbench
    >>> results = vbench.run(workloads="ad", modes="performance")   # vbench run -> vbench.ResultSet
    >>> for r in results:                                            # vbench.WorkloadResult
    ...     print(r.workload, r.platform, r.mode, r.cycles, r.latency_ms, r.energy_uj)
    >>> [(x.layer, x.op, x.cycles) for x in results.records[0].layers]   # vbench.LayerResult
    >>> results.to_dataframe()                    # pandas: the columns of results.csv
    >>> results.to_dataframe(layers=True)         # one row per layer
    >>> old = vbench.load("results")              # results.json, or the folder holding it
    >>> vbench.compare(old, results).exit_code    # the regression gate: 0, 1 regression, 2 incomparable
    >>> vbench.exec_firmware("fw.elf").cycles     # vbench exec -> vbench.ExecResult

The names below are imported on first use, so `import vbench` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"


def _select_unicorn() -> None:
    """Before anything imports unicorn: the library with fast RAM stores where it is built
    (vbench/sim/unicorn_lib.py)."""
    from vbench.sim import unicorn_lib

    unicorn_lib.select()


_select_unicorn()

_LAZY = {
    "run": "vbench.api",
    "exec_firmware": "vbench.api",
    "compare": "vbench.api",
    "load": "vbench.api",
    "ExecResult": "vbench.api",
    "Comparison": "vbench.gate",
    "load_results": "vbench.results",
    "ResultSet": "vbench.results",
    "WorkloadResult": "vbench.results",
    "LayerResult": "vbench.results",
    "WindowResult": "vbench.results",
}

__all__ = ["__version__", *_LAZY]

TYPE_CHECKING = False  # (typing itself is not imported: `import vbench` stays light)
if TYPE_CHECKING:
    from vbench.api import ExecResult, compare, exec_firmware, load, run  # noqa: F401
    from vbench.gate import Comparison  # noqa: F401
    from vbench.results import LayerResult, ResultSet, WindowResult, WorkloadResult, load_results  # noqa: F401


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
