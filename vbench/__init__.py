"""vbench: a virtual MLPerf Tiny benchmark on simulated microcontroller boards.

The Python API reads what `vbench run` writes:

    >>> import vbench
    >>> results = vbench.load_results("results")          # results.json, or the folder holding it
    >>> for r in results:                                  # vbench.WorkloadResult
    ...     print(r.workload, r.platform, r.mode, r.cycles, r.latency_ms, r.energy_uj)
    >>> perf = next(r for r in results if r.mode == "performance")
    >>> [(x.layer, x.op, x.cycles) for x in perf.layers]   # vbench.LayerResult
    >>> results.to_frame()                                 # pandas: the columns of results.csv
    >>> results.to_frame(layers=True)                      # one row per layer

The names below are imported on first use, so `import vbench` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_results": "vbench.results",
    "ResultSet": "vbench.results",
    "WorkloadResult": "vbench.results",
    "LayerResult": "vbench.results",
}

__all__ = ["__version__", *_LAZY]

TYPE_CHECKING = False  # (typing itself is not imported: `import vbench` stays light)
if TYPE_CHECKING:
    from vbench.results import LayerResult, ResultSet, WorkloadResult, load_results  # noqa: F401


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
