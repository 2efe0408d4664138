"""Where a sweep's points run: this machine's cores (`local`) or a Dask cluster (`dask`).

An executor runs `fn(shared, item)` for every item and yields `(index, result)` as points finish,
in any order. `shared` is what every point needs (the firmware image): sent once per worker, not
once per point. Only a bounded window of points is in flight at a time, so the driver's memory
does not grow with the number of points.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Protocol, Sequence

from vbench.errors import VbenchError

EXECUTORS = ("local", "dask")

PointFn = Callable[[Any, Any], Any]


class Executor(Protocol):
    def run(self, fn: PointFn, shared: Any, items: Sequence[Any]) -> Iterator[tuple[int, Any]]: ...


def make_executor(name: str, *, workers: int | None = None, scheduler: str | None = None,
                  retries: int = 2) -> Executor:
    """`local` (a process pool of `workers`) or `dask` (the cluster at `scheduler`, or a
    LocalCluster of `workers` processes when no address is given; a failed point is retried
    `retries` times)."""
    if name == "local":
        if scheduler:
            raise VbenchError("--scheduler needs --executor dask")
        from vbench.executors.local import LocalExecutor

        return LocalExecutor(workers)
    if name == "dask":
        from vbench.executors.dask_cluster import DaskExecutor

        return DaskExecutor(scheduler=scheduler, workers=workers, retries=retries)
    raise VbenchError(f"unknown executor '{name}' (known: {', '.join(EXECUTORS)})")


__all__ = ["EXECUTORS", "Executor", "PointFn", "make_executor"]
