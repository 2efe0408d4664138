"""`vbench sweep` executors and its journal: a Dask cluster gives the local pool's rows point for
point, a worker killed mid-sweep loses nothing, and an interrupted sweep resumes where it stopped."""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from asm import assemble_arm

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"
GRID = '[grid]\n"flash.wait_states" = [0, 1, 2, 3, 4]\n"core.clock_hz" = [60e6, 80e6, 100e6, 120e6]\n'  # 20 points


def _spec(tmp_path: Path, iterations: int) -> Path:
    """A 20-point sweep of a loop of `iterations` x 8 instructions (wait states change its cycles)."""
    elf = assemble_arm(tmp_path, f"    ldr r2, ={iterations}\n    .balign 8\n1:\n" + "    nop\n" * 6
                       + "    subs r2, r2, #1\n    bne 1b\n")
    spec = tmp_path / "sweep.toml"
    spec.write_text(f'firmware = "{elf}"\nplatform = "{BARE}"\n[set]\n"flash.icache" = false\n' + GRID)
    return spec


def _local_rows(spec: Path):
    from vbench.executors import make_executor
    from vbench.sweep import load_sweep, run_sweep

    return run_sweep(load_sweep(spec), make_executor("local", workers=2))


def test_dask_local_cluster_equals_local_pool(tmp_path):
    pytest.importorskip("distributed")
    spec = _spec(tmp_path, 2000)
    out = tmp_path / "dask.json"
    r = subprocess.run([sys.executable, "-m", "vbench", "sweep", spec, "--executor", "dask", "--workers", "2",
                        "--json-out", out, "--csv", tmp_path / "dask.csv"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "sweep: 20/20 points" in r.stderr  # progress
    rows = json.loads(out.read_text())
    local = _local_rows(spec)
    assert len(rows) == 20 and rows == local  # point for point, in grid order, bit for bit
    assert len({row["cycles"] for row in rows}) == 5  # the wait states changed what was measured


def test_dask_sweep_survives_a_killed_worker(tmp_path):
    pytest.importorskip("distributed")
    from vbench.executors import make_executor
    from vbench.sweep import load_sweep, run_sweep

    spec = _spec(tmp_path, 400_000)  # ~3.2 M instructions a point: still running when the worker dies
    executor = make_executor("dask", workers=2, retries=1)
    killed = []

    def kill_one_worker(done, total, resumed):
        client = executor.client
        if killed or done < 4:
            return
        busy = [w for w, tasks in client.processing().items() if tasks]
        if not busy:  # between two points: try at the next one
            return
        killed.append((busy[0], len(client.processing()[busy[0]])))
        with contextlib.suppress(Exception):  # the worker dies before it can answer
            client.run(os._exit, 1, workers=[busy[0]])

    journal = tmp_path / "points.jsonl"
    rows = run_sweep(load_sweep(spec), executor, journal=journal, progress=kill_one_worker)
    assert killed and killed[0][1] >= 1  # a worker died with points on it
    assert rows == _local_rows(spec)
    assert len(journal.read_text().splitlines()) == 20


def test_interrupted_sweep_resumes_without_rerunning_done_points(tmp_path):
    from vbench.executors import make_executor
    from vbench.sweep import load_sweep, run_sweep

    spec = _spec(tmp_path, 2000)
    journal = tmp_path / "points.jsonl"

    class Interrupted(Exception):
        pass

    def stop_after_seven(done, total, resumed):
        if done == 7:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_sweep(load_sweep(spec), make_executor("local", workers=1), journal=journal, progress=stop_after_seven)
    assert len(journal.read_text().splitlines()) == 7
    with journal.open("a") as f:  # a kill in the middle of the next write leaves a partial line
        f.write('{"key": "0123')
    seen = []
    rows = run_sweep(load_sweep(spec), make_executor("local", workers=2), journal=journal,
                     progress=lambda done, total, resumed: seen.append((done, resumed)))
    assert seen[0] == (7, 7) and seen[-1] == (20, 7)  # 7 taken from the journal, 13 simulated
    assert len(seen) == 14
    assert rows == _local_rows(spec)
    lines = journal.read_text().splitlines()
    assert len(lines) == 20 and all(json.loads(line)["row"] in rows for line in lines)
