"""A Dask cluster: `vbench sweep SPEC --executor dask [--scheduler tcp://host:8786]`.

Without an address a LocalCluster of worker processes (one thread each: a simulation holds the
GIL in Python parts and a core in native ones) starts here and stops at the end. Every point is a
task with `retries`; when a worker dies, the scheduler reruns its points on the others (up to
distributed's `allowed-failures`). The shared part (the firmware image) is scattered to the
workers once. Workers need vbench installed (`pip install vbench[dask]`), the same version as
the driver's.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Iterator, Sequence

from vbench.errors import VbenchError
from vbench.executors import PointFn

IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT_S = 30


class DaskExecutor:
    def __init__(self, scheduler: str | None = None, workers: int | None = None, retries: int = 2):
        self.scheduler, self.workers, self.retries = scheduler, workers, retries
        self.client = None   # set while run() is iterating: tests reach the cluster through it

    def _connect(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise VbenchError("--executor dask needs dask.distributed: pip install 'vbench[dask]'") from None
        if self.scheduler:
            try:
                return Client(self.scheduler, timeout=CONNECT_TIMEOUT_S), None
            except OSError as exc:
                raise VbenchError(f"--scheduler {self.scheduler}: cannot reach the Dask scheduler ({exc})") from None
        cluster = LocalCluster(n_workers=self.workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster

    def run(self, fn: PointFn, shared: Any, items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        client, cluster = self._connect()
        self.client = client
        try:
            shared_ref = client.scatter(shared, broadcast=True)
            run_id = uuid.uuid4().hex[:12]
            todo = iter(enumerate(items))
            index: dict[str, int] = {}
            finished = as_completed()

            def submit_next() -> None:
                for i, item in todo:
                    fut = client.submit(fn, shared_ref, item, key=f"vbench-point-{run_id}-{i}", pure=False,
                                        retries=self.retries)
                    index[fut.key] = i
                    finished.add(fut)
                    return

            slots = max(1, len(client.scheduler_info().get("workers", {})) or (self.workers or 1))
            for _ in range(slots * IN_FLIGHT_PER_WORKER):
                submit_next()
            for fut in finished:
                i = index.pop(fut.key)
                try:
                    result = fut.result()
                except Exception as exc:  # after its retries
                    raise VbenchError(f"sweep point {i} failed on the Dask cluster after {self.retries} retries: "
                                      f"{type(exc).__name__}: {exc}") from None
                fut.release()  # the scheduler forgets the result: memory stays flat
                yield i, result
                submit_next()
        finally:
            self.client = None
            client.close()
            if cluster is not None:
                cluster.close()
