"""vbench as a package: the sdist and the wheel carry the data, and an installed vbench works from a
folder that is not the checkout (issue 16 item 1).

The wheel is built from the sdist (so a missing data folder in the sdist fails the build) and
installed into a fresh venv. To avoid downloading the dependencies again, the venv sees the test
venv's site-packages through a .pth line; that line is not a site dir, so the checkout's editable
vbench stays invisible and `import vbench` must come from the wheel (asserted)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from vbench.paths import DATA_FOLDERS, data_digests

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
# one file of each data folder that a run needs, in the sdist (top level) and the wheel (vbench/_data)
WITNESSES = ("platforms/nucleo-l4r5zi.toml", "platforms/cores/cortex-m4f.toml", "power_models/nucleo-l4r5zi.toml",
             "firmware/eembc/ee_main.c", "models/ad01_int8.tflite", "models/NOTICE",
             "calibration/nucleo-l4r5zi-mlperf-tiny.csv")


def _run(cmd, cwd, env=None, timeout=120) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd} exited {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


def _installed(tmp: Path):
    """(venv python, venv bin, dist folder) of a fresh venv holding the wheel built from the sdist.
    The sdist is built from a copy of the tree, so that its egg-info never races another build in the checkout."""
    dist, src = tmp / "dist", tmp / "src"
    dist.mkdir()
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                             ".pytest_cache", ".hypothesis", "results", "*.so"))
    _run([sys.executable, "-c", f"from setuptools import build_meta as b; b.build_sdist({str(dist)!r})"], src)
    sdist = next(dist.glob("vbench-*.tar.gz"))
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", dist, sdist], dist,
         timeout=300)
    wheel = next(dist.glob("vbench-*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], dist)
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], dist).stdout.strip())
    (site / "vbench_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([py, "-m", "pip", "install", "-q", "--no-index", wheel], dist, timeout=300)  # deps already present
    return py, venv / "bin", dist


def _elsewhere(tmp: Path, bin_dir: Path) -> tuple[Path, dict]:
    """An unrelated folder, and an environment whose cache is in a temp folder and whose PATH finds the venv."""
    work = tmp / "project"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VBENCH_") and k != "PYTHONPATH"}
    env.update(VBENCH_CACHE=str(tmp / "cache"), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return work, env


def _check_sdist(dist: Path) -> None:
    with tarfile.open(next(dist.glob("vbench-*.tar.gz"))) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    missing = [w for w in WITNESSES if w not in names]
    assert not missing, f"sdist lacks {missing}"
    assert not [n for n in names if "__pycache__" in n or n.endswith((".so", ".elf"))]


def _check_wheel(dist: Path) -> None:
    with zipfile.ZipFile(next(dist.glob("vbench-*.whl"))) as whl:
        names = set(whl.namelist())
    missing = [w for w in WITNESSES if f"vbench/_data/{w}" not in names]
    assert not missing, f"wheel lacks {missing}"
    assert any(n.startswith("vbench/_native/_vbcore") for n in names)
    assert not [n for n in names if n.split("/")[0] in DATA_FOLDERS], "data must live under vbench/_data"


def _check_import_comes_from_the_wheel(py: Path, work: Path, env: dict) -> Path:
    r = _run([py, "-c", "import json, vbench, vbench.paths as p; print(json.dumps([vbench.__file__, "
              "str(p.data_root()), p.checkout_root(), str(p.cache_dir())]))"], work, env)
    module, data_root, checkout, cache = json.loads(r.stdout)
    assert Path(module).is_relative_to(py.parent.parent) and not Path(module).is_relative_to(REPO)
    assert Path(data_root) == Path(module).parent / "_data"
    assert checkout is None and cache == env["VBENCH_CACHE"]
    return Path(data_root)


def _check_version(work: Path, env: dict) -> None:
    out = _run(["vbench", "--version"], work, env).stdout
    assert out.startswith("vbench ") and "unicorn 2.1.4" in out
    for gcc in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"):
        assert f"{gcc} " in out
    for name, digest in data_digests().items():  # the packaged data is byte for byte the checkout's
        assert f"  {name:<13} {digest}" in out, (name, out)


def _check_runs(data: Path, work: Path, env: dict) -> None:
    """A run on the built-in board and on a user's copy of it under its own name (`--platform ./file.toml`)
    give the same figures."""
    text = (data / "platforms" / "nucleo-l4r5zi.toml").read_text()
    assert 'name = "nucleo-l4r5zi"' in text
    (work / "copy-of-nucleo.toml").write_text(text.replace('name = "nucleo-l4r5zi"', 'name = "my-nucleo"'))
    figures = {}
    for label, extra in (("built-in", []), ("copy", ["--platform", "./copy-of-nucleo.toml"])):
        out = work / label
        _run(["vbench", "run", "--workload", "ad", "--mode", "performance", "--no-plots", "--out", out, *extra],
             work, env, timeout=300)
        (result,) = json.loads((out / "results.json").read_text())["results"]
        assert result["workload"] == "ad" and result["mode"] == "performance"
        assert 1 < result["latency_ms"] < 100 and result["cycles"] > 100_000
        figures[label] = (result["cycles"], result["latency_ms"], result["energy_uj"])
    assert figures["copy"] == figures["built-in"]
    assert (Path(env["VBENCH_CACHE"]) / "harness").is_dir()  # the caches went to $VBENCH_CACHE


def test_wheel_installed_elsewhere_runs(tmp_path):
    """One test (not several sharing a fixture) so that parallel workers do not each build the wheel."""
    py, bin_dir, dist = _installed(tmp_path)
    _check_sdist(dist)
    _check_wheel(dist)
    work, env = _elsewhere(tmp_path, bin_dir)
    data = _check_import_comes_from_the_wheel(py, work, env)
    before = sorted((p.relative_to(data), p.stat().st_mtime_ns) for p in data.rglob("*"))
    _check_version(work, env)

    listed = json.loads(_run(["vbench", "platforms", "--json"], work, env).stdout)
    assert {b["name"] for b in listed} >= {"nucleo-l4r5zi", "rv32imaf-mcu"}
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "my-board.toml").write_text((data / "platforms" / "nucleo-l4r5zi.toml").read_text())
    search = {**env, "VBENCH_PLATFORM_PATH": f"{tmp_path / 'none'}{os.pathsep}{boards}"}
    listed = json.loads(_run(["vbench", "platforms", "--json"], work, search).stdout)
    assert str((boards / "my-board.toml").resolve()) in {b["file"] for b in listed}

    _check_runs(data, work, env)
    assert sorted((p.relative_to(data), p.stat().st_mtime_ns) for p in data.rglob("*")) == before, \
        "something wrote into the packaged data"


def test_platforms_without_boards_fails_clearly(tmp_path, monkeypatch, capsys):
    """An install whose data is missing (here: the built-in folder pointed at an empty one) says so and exits 2."""
    from vbench import paths
    from vbench.cli import main

    monkeypatch.setenv("VBENCH_PLATFORM_PATH", str(tmp_path / "user-boards"))
    monkeypatch.setattr(paths, "platforms_dir", lambda: tmp_path / "empty")
    assert main(["platforms"]) == 2
    err = capsys.readouterr().err
    assert "no platform files" in err and str(tmp_path / "user-boards") in err and str(tmp_path / "empty") in err
