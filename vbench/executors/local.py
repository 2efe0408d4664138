"""This machine's cores: a process pool, a bounded window of points in flight."""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Iterator, Sequence

from vbench.executors import PointFn

IN_FLIGHT_PER_WORKER = 2   # keeps every worker busy while its next point is queued
_shared: list = []          # in a worker: what every point needs, sent once at its start


def _init_worker(shared: Any) -> None:
    _shared[:] = [shared]


def _call(fn: PointFn, item: Any) -> Any:
    return fn(_shared[0], item)


class LocalExecutor:
    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1

    def run(self, fn: PointFn, shared: Any, items: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                yield i, fn(shared, item)
            return
        todo = iter(enumerate(items))
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), initializer=_init_worker,
                                 initargs=(shared,)) as pool:
            pending: dict = {}

            def submit_next() -> None:
                for i, item in todo:
                    pending[pool.submit(_call, fn, item)] = i
                    return

            for _ in range(self.workers * IN_FLIGHT_PER_WORKER):
                submit_next()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    yield i, fut.result()
                    submit_next()
