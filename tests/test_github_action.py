"""The GitHub Action (action.yml) and the workflows (issue 16 item 2).

- actionlint (with shellcheck on every `run:` script) passes on every workflow, and on the composite
  action itself: actionlint reads workflows, not action metadata, so the action's steps are linted as
  the job of a reusable workflow whose `workflow_call` inputs are the action's inputs (a planted
  error in that job is caught, so the check can fail).
- The action's own commands run in order, as a runner would run them, in a scratch project that
  uses vbench as a dependency: a git repository with its own firmware (a tiny Arm image with two
  marked layers, assembled by its build command), its own model (ad01 copied in) and its own kernels
  (the Cortex-M4 DSP fully-connected operator). The
  `run:` steps are taken from action.yml; their `${{ }}` expressions are filled from the inputs,
  `github`, `runner` and earlier steps' outputs, GITHUB_OUTPUT/GITHUB_ENV/GITHUB_STEP_SUMMARY are
  files as on a runner, and only the `uses:` steps (setup-python, the caches, upload-artifact) are
  skipped. vbench is installed by the action's install step from a copy of this tree into a fresh
  venv (no index, no build isolation: the venv sees the test venv's packages), so the runs below use
  the installed package, not the checkout. A pull request that slows the kernel and one layer of the
  firmware fails the job with exit 1 naming those layers; one that changes neither passes; a
  results.json baseline whose cycles are 10 % lower fails it too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from asm import ARM_EXIT, ARM_LD, ARM_PRELUDE, assemble_arm, need

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
ACTION = REPO / "action.yml"
WORKFLOWS = sorted([*(REPO / ".github" / "workflows").glob("*.yml"), *(REPO / "ci").glob("*.yml")])


def _tool(name: str) -> str:
    """A linter from the test extra (installed beside this Python), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def _actionlint(*files: Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([_tool("actionlint"), "-shellcheck", _tool("shellcheck"), "-no-color", *map(str, files)],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def _action() -> dict:
    return yaml.safe_load(ACTION.read_text())


def _action_as_workflow(action: dict) -> dict:
    """The composite action's steps as the job of a reusable workflow with the same inputs, which
    actionlint checks like any workflow (expressions, the inputs of known actions, shell scripts)."""
    inputs = {k: {"type": "string", "required": False, "default": str(v.get("default", ""))}
              for k, v in action["inputs"].items()}
    return {"name": "action.yml as a workflow", "on": {"workflow_call": {"inputs": inputs}},
            "jobs": {"action": {"runs-on": "ubuntu-24.04", "steps": action["runs"]["steps"]}}}


def test_actionlint_passes_on_every_workflow():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "vbench-kernels.yml", "vbench-firmware.yml"}
    r = _actionlint(*WORKFLOWS)
    assert r.returncode == 0, r.stdout + r.stderr


def test_actionlint_passes_on_the_action_and_catches_a_planted_error(tmp_path):
    action = _action()
    assert action["runs"]["using"] == "composite"
    good = tmp_path / "action-as-workflow.yml"
    good.write_text(yaml.safe_dump(_action_as_workflow(action), sort_keys=False, width=1000))
    r = _actionlint(good, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # the same job with an input that does not exist and an unquoted variable: both reported
    bench = next(s for s in action["runs"]["steps"] if s.get("id") == "bench")
    bench["env"]["WORKLOAD"] = "${{ inputs.workloads }}"
    bench["run"] = "cd $WORKDIR\n" + bench["run"]
    bad = tmp_path / "planted.yml"
    bad.write_text(yaml.safe_dump(_action_as_workflow(action), sort_keys=False, width=1000))
    r = _actionlint(bad, cwd=tmp_path)
    assert r.returncode == 1 and "workloads" in r.stdout and "SC2086" in r.stdout, r.stdout


def test_the_action_declares_the_inputs_and_outputs_users_set():
    action = _action()
    assert {"workload", "platform", "kernels", "firmware", "model", "baseline", "threshold",
            "python-version"} <= set(action["inputs"])
    assert {"results", "gate", "regressions"} <= set(action["outputs"])
    uses = [s["uses"].split("@")[0] for s in action["runs"]["steps"] if "uses" in s]
    assert {"actions/cache", "actions/setup-python", "actions/upload-artifact"} <= set(uses)
    for step in action["runs"]["steps"]:
        if "run" in step:  # inputs reach scripts through env only: an input is never shell code
            assert "${{" not in step["run"], step["name"]


def _vbench(*args, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vbench", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_measure_writes_a_faulting_image_as_a_failed_record_the_gate_refuses(tmp_path):
    good = assemble_arm(tmp_path, "    movs r0, #1\n", name="good")
    bad = assemble_arm(tmp_path, "    ldr r0, =0x70000000\n    ldr r0, [r0]\n", name="bad")  # nothing mapped there
    r = _vbench("measure", good, bad, "--out", tmp_path / "out")
    assert r.returncode == 3, r.stdout + r.stderr  # the worst image's `vbench exec` status: a fault
    records = {x["workload"]: x for x in json.loads((tmp_path / "out" / "results.json").read_text())["results"]}
    assert records["good"]["cycles"] > 0 and not records["good"].get("failing")
    assert records["bad"]["failing"] and "fault" in records["bad"]["reason"]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| good " in report and "## Models" not in report  # firmware you bring has no model to list
    gate = _vbench("compare", tmp_path / "out", tmp_path / "out")
    assert gate.returncode == 2 and "bad/nucleo-l4r5zi/performance in the base run is FAILED" in gate.stdout
    twice = _vbench("measure", good, tmp_path / "good.elf", "--out", tmp_path / "again")
    assert twice.returncode == 2 and "two images named 'good'" in twice.stderr and not (tmp_path / "again").exists()


def test_summary_renders_results_and_verdicts_and_refuses_anything_else(tmp_path):
    elf = assemble_arm(tmp_path, "    movs r0, #1\n", name="app")
    assert _vbench("measure", elf, "--out", tmp_path / "a").returncode == 0
    assert _vbench("measure", elf, "--out", tmp_path / "b", "--set", "flash.wait_states=6").returncode == 0
    gate = _vbench("compare", tmp_path / "a", tmp_path / "b", "--json")
    assert gate.returncode == 2  # the overrides differ and were not declared
    (tmp_path / "gate.json").write_text(gate.stdout)
    r = _vbench("summary", "a", "gate.json", "--title", "t", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("## t\n") and "### vbench results (a)" in r.stdout and "| app " in r.stdout
    assert "cannot be compared" in r.stdout and "the overrides differs" in r.stdout
    (tmp_path / "other.json").write_text('{"name": "not vbench"}')
    for path in ("other.json", "missing.json"):
        r = _vbench("summary", "a", path, cwd=tmp_path)
        assert r.returncode == 2 and path in r.stderr and "Traceback" not in r.stderr and r.stdout == ""


# --- running the action's commands --------------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def _lookup(context: dict, expr: str) -> str:
    """A dotted context path (inputs.x, steps.id.outputs.y, github.event.pull_request.base.sha, ...),
    the only expressions the action's run steps use; anything else fails the test."""
    assert re.fullmatch(r"[A-Za-z_][\w.-]*", expr), f"unsupported expression in a run step: {expr}"
    value = context
    for part in expr.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    assert not isinstance(value, dict), expr
    return "" if value is None else str(value)


def _fill(text: str, context: dict) -> str:
    return EXPR.sub(lambda m: _lookup(context, m.group(1)), str(text))


def _read_file_commands(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: `name=value` lines and `name<<DELIMITER` blocks."""
    out, lines = {}, path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            end = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


class Runner:
    """One runner: RUNNER_TEMP (and so $VBENCH_CACHE, as actions/cache would restore it) is kept
    across the jobs it runs."""

    def __init__(self, root: Path, action_path: Path, venv_bin: Path):
        self.root, self.action_path, self.venv_bin = root, action_path, venv_bin
        self.temp = root / "runner-temp"
        self.temp.mkdir()
        self.jobs = 0

    def run_job(self, workspace: Path, inputs: dict[str, str], github: dict) -> dict:
        """The action's steps in order; returns the job's exit status, the steps run, their logs,
        outputs and the job summary."""
        self.jobs += 1
        job = self.root / f"job{self.jobs}"
        job.mkdir()
        action = yaml.safe_load((self.action_path / "action.yml").read_text())
        given = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
        unknown = set(inputs) - set(given)
        assert not unknown, f"not inputs of the action: {unknown}"
        given.update(inputs)
        context = {"inputs": given, "steps": {}, "runner": {"temp": str(self.temp), "os": "Linux", "arch": "X64"},
                   "github": {"action_path": str(self.action_path), "workspace": str(workspace), **github}}
        summary, env_file = job / "step_summary.md", job / "env"
        summary.touch()
        env_file.touch()
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("VBENCH_", "GITHUB_", "PYTEST_"))}
        base_env.update(PATH=f"{self.venv_bin}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(self.venv_bin.parent),
                        # the runner's pip settings here (offline, build in the venv that already has setuptools)
                        PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
                        GITHUB_ACTION_PATH=str(self.action_path), GITHUB_WORKSPACE=str(workspace),
                        GITHUB_STEP_SUMMARY=str(summary), GITHUB_ENV=str(env_file), RUNNER_TEMP=str(self.temp),
                        GITHUB_EVENT_NAME=github["event_name"], CI="true")
        ran, logs, status = [], {}, 0
        for n, step in enumerate(action["runs"]["steps"]):
            if "uses" in step:
                continue  # setup-python (the venv is on PATH), actions/cache, upload-artifact
            assert step.get("if") in (None, "always()"), f"{step['name']}: a run step's `if` this test cannot evaluate"
            if status and step.get("if") != "always()":
                continue  # a failed step skips the rest, as on a runner
            output = job / f"output{n}"
            output.touch()
            env = base_env | _read_file_commands(env_file) | {k: _fill(v, context) for k, v in
                                                                step.get("env", {}).items()}
            env["GITHUB_OUTPUT"] = str(output)
            script = job / f"step{n}.sh"
            script.write_text(_fill(step["run"], context))
            assert step["shell"] == "bash"
            started = time.monotonic()
            r = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                               env=env, capture_output=True, text=True, timeout=300)
            ran.append(step["name"])
            print(f"{step['name']}: exit {r.returncode} in {time.monotonic() - started:.1f} s")
            logs[step.get("id") or step["name"]] = r.stdout + r.stderr
            if step.get("id"):
                context["steps"][step["id"]] = {"outputs": _read_file_commands(output)}
            status = status or r.returncode
        outputs = {k: _fill(v["value"], context) for k, v in action["outputs"].items()}
        return {"status": status, "ran": ran, "logs": logs, "outputs": outputs, "summary": summary.read_text()}


def _git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    r = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"git {args}: {r.stderr}"
    return r.stdout.strip()


def _install_venv(tmp: Path) -> tuple[Path, Path]:
    """(action path, venv bin): a copy of this tree (what `uses:` checks out) and a fresh venv that
    sees this venv's packages through a .pth line (not a site dir: the checkout's editable vbench
    stays invisible), so the action's pip install needs no index."""
    action_path = tmp / "vbench-action"
    shutil.copytree(REPO, action_path, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "results", "*.so"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "vbench_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return action_path, venv / "bin"


FIRMWARE_BUILD = """#!/bin/sh
# the project's firmware build: a counting loop on the Nucleo's Cortex-M4, ending by semihosting
set -e
arm-none-eabi-as -mcpu=cortex-m4 -mthumb fw/app.S -o fw/app.o
arm-none-eabi-ld -T fw/link.ld fw/app.o -o fw/app.elf
"""


def _firmware_source(loops: int) -> str:
    """Two counting loops marked as layers 0 and 1 (vbench's layer-marker convention): 5,000 and
    `loops` iterations."""
    def layer(index: int, count: int) -> str:
        return f"    ldr r0, ={index}\n    bl vb_layer_marker\n    ldr r2, ={count}\n{index + 1}:\n" \
               f"    subs r2, r2, #1\n    bne {index + 1}b\n"

    marker = "    .thumb_func\n    .global vb_layer_marker\n    .type vb_layer_marker, %function\n" \
             "vb_layer_marker:\n    bx lr\n"
    return ARM_PRELUDE + layer(0, 5_000) + layer(1, loops) + "    ldr r0, =0xFFFFFFFF\n    bl vb_layer_marker\n" \
        + ARM_EXIT + marker


def _slowed(kernel: str) -> str:
    """The same arithmetic (bit-exact) plus a few thousand wasted cycles per call of the layer."""
    entry = kernel.index("{\n", kernel.index("void vb_fully_connected("))
    return kernel[:entry] + "{\n    for (volatile int spin = 0; spin < 500; spin++) {\n    }\n" + kernel[entry + 2:]


def _project(tmp: Path) -> tuple[Path, Path, dict[str, str]]:
    """(origin, clone, commits): a project with its own firmware, model and kernels; `base` on main,
    `slow` (a slower kernel and firmware loop) and `docs` (a README change only) on top of it."""
    origin, work = tmp / "origin.git", tmp / "project"
    _git(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
    _git(tmp, "clone", "-q", str(origin), str(work))
    (work / "fw").mkdir()
    (work / "fw" / "link.ld").write_text(ARM_LD)
    (work / "fw" / "app.S").write_text(_firmware_source(5_000))
    (work / "build.sh").write_text(FIRMWARE_BUILD)
    (work / ".gitignore").write_text("*.o\n*.elf\nvbench-results/\n")
    (work / "models").mkdir()
    shutil.copy(REPO / "models" / "ad01_int8.tflite", work / "models" / "anomaly.tflite")
    # the project's kernels: the Cortex-M4 DSP fully-connected operator (ad01 has only those layers)
    (work / "kernels").mkdir()
    for name in ("fully_connected.c", "dsp_common.c", "dsp_common.h"):
        shutil.copy(REPO / "firmware" / "kernels" / "cortex_m4_dsp" / name, work / "kernels" / name)
    fc = (work / "kernels" / "fully_connected.c").read_text()
    (work / "README.md").write_text("a project benchmarked by vbench\n")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "base")
    _git(work, "push", "-q", "origin", "main")
    commits = {"base": _git(work, "rev-parse", "HEAD")}
    _git(work, "checkout", "-q", "-b", "slow")
    (work / "kernels" / "fully_connected.c").write_text(_slowed(fc))
    (work / "fw" / "app.S").write_text(_firmware_source(6_000))
    _git(work, "commit", "-q", "-am", "slower kernel and firmware")
    commits["slow"] = _git(work, "rev-parse", "HEAD")
    _git(work, "checkout", "-q", "-b", "docs", "main")
    (work / "README.md").write_text("a project benchmarked by vbench, documented\n")
    _git(work, "commit", "-q", "-am", "docs")
    commits["docs"] = _git(work, "rev-parse", "HEAD")
    _git(work, "push", "-q", "origin", "slow", "docs")
    return origin, work, commits


def _checkout(tmp: Path, origin: Path, sha: str) -> Path:
    """What actions/checkout leaves: a shallow clone of the commit with `origin` set, in the same
    folder for every job (as a runner's workspace is)."""
    ws = tmp / "workspace"
    shutil.rmtree(ws, ignore_errors=True)
    _git(tmp, "init", "-q", str(ws))
    _git(ws, "remote", "add", "origin", origin.as_uri())
    _git(ws, "fetch", "-q", "--no-tags", "--depth=1", "origin", sha)
    _git(ws, "checkout", "-q", "--detach", sha)
    return ws


PROJECT_INPUTS = {"workload": "ad", "mode": "performance", "model": "models/anomaly.tflite", "kernels": "kernels",
                  "firmware": "fw/*.elf", "build": "sh build.sh", "threshold": "3"}


def test_the_action_runs_in_a_project_and_gates_its_pull_requests(tmp_path):
    need("arm-none-eabi-as")
    need("git")
    action_path, venv_bin = _install_venv(tmp_path)
    origin, _, commits = _project(tmp_path)
    runner = Runner(tmp_path, action_path, venv_bin)

    def pull_request(head: str) -> tuple[dict, Path]:
        ws = _checkout(tmp_path, origin, commits[head])
        github = {"event_name": "pull_request", "sha": commits[head],
                  "event": {"pull_request": {"base": {"sha": commits["base"]}}}}
        return runner.run_job(ws, PROJECT_INPUTS | {"baseline": "base-branch"}, github), ws

    # a pull request that slows a kernel and the firmware: exit 1, the layers and the image named
    job, ws = pull_request("slow")
    assert job["status"] == 1, json.dumps(job["logs"], indent=1)[-6000:]
    assert job["ran"][-1] == "Verdict" and "Install vbench" in job["ran"]
    assert f"{venv_bin.parent}" in job["logs"]["install"]  # vbench as installed by the action, not the checkout
    results = Path(job["outputs"]["results"])
    assert results == ws / "vbench-results" and job["outputs"]["gate"] == "1"
    gate = json.loads((results / "gate-benchmark.json").read_text())
    assert gate["exit_code"] == 1 and not gate["problems"]
    grown = {d["layer"] for d in gate["regressions"]}
    assert "4 FULLY_CONNECTED" in grown and "0 FULLY_CONNECTED" not in grown  # +140 % and +2.4 %: a 3 % gate
    assert any("the firmware differs" in a for a in gate["allowed_differences"])  # declared by the default
    fw_gate = json.loads((results / "gate-firmware.json").read_text())
    assert fw_gate["exit_code"] == 1
    total = next(d for d in fw_gate["regressions"] if d["metric"] == "cycles" and not d["layer"])
    assert total["workload"] == "app" and 9 < total["pct"] < 11  # 11,000 iterations against 10,000
    assert [d["layer"] for d in fw_gate["regressions"] if d["layer"]] == ["1"]  # 6,000 against 5,000; layer 0 same
    verdict = job["logs"]["Verdict"]
    assert "::error title=vbench regression::ad/nucleo-l4r5zi performance layer 4 FULLY_CONNECTED" in verdict
    assert "app/nucleo-l4r5zi performance cycles" in verdict and "app/nucleo-l4r5zi performance layer 1:" in verdict
    assert "vbench regression gate" in job["summary"] and "REGRESSION" in job["summary"]
    assert "FULLY_CONNECTED" in job["summary"] and "| ad " in job["summary"] and "`_start`" in job["summary"]
    head = json.loads((results / "benchmark" / "results.json").read_text())["results"][0]
    base = json.loads((results / "base" / "benchmark" / "results.json").read_text())["results"][0]
    assert head["model_sha256"] == base["model_sha256"] and head["model_file"].endswith("anomaly.tflite")
    assert head["cycles"] > base["cycles"] * 1.01
    cache = runner.temp / "vbench-cache"
    assert any(cache.rglob("*.elf")), "the firmware builds went to $VBENCH_CACHE (the cached folder)"
    # vbench's Unicorn build needs the unicorn sources from PyPI; this runner is offline (PIP_NO_INDEX):
    # the step warns and the job goes on, on the wheel's library (the same figures)
    build_log = job["logs"]["Build Unicorn with fast RAM stores (once per cache)"]
    assert "::warning title=vbench::building Unicorn with fast RAM stores failed" in build_log, build_log
    assert "cannot download the unicorn 2.1.4 sources" in build_log and not list(cache.glob("unicorn/*/*.so.2"))

    # a pull request that changes neither: both gates pass, the job passes
    job, ws = pull_request("docs")
    assert job["status"] == 0, json.dumps(job["logs"], indent=1)[-6000:]
    assert job["outputs"]["gate"] == "0" and job["outputs"]["regressions"] == ""
    assert "no regression above the thresholds" in job["summary"]
    for part in ("benchmark", "firmware"):
        assert json.loads((ws / "vbench-results" / f"gate-{part}.json").read_text())["exit_code"] == 0

    # a push gated against a results.json whose cycles are 10 % lower: exit 1 again
    faster = json.loads((ws / "vbench-results" / "benchmark" / "results.json").read_text())
    for r in faster["results"]:
        r["cycles"] = int(r["cycles"] * 0.9)
        for layer in r["layers"]:
            layer["cycles"] = int(layer["cycles"] * 0.9)
    baseline = tmp_path / "faster" / "results.json"
    baseline.parent.mkdir()
    baseline.write_text(json.dumps(faster))
    ws = _checkout(tmp_path, origin, commits["docs"])
    job = runner.run_job(ws, {k: v for k, v in PROJECT_INPUTS.items() if k != "firmware"} | {"baseline": str(baseline)},
                         {"event_name": "push", "sha": commits["docs"], "event": {}})
    assert job["status"] == 1, json.dumps(job["logs"], indent=1)[-6000:]
    assert "layer 9 FULLY_CONNECTED" in job["outputs"]["regressions"]
    assert not (ws / "vbench-results" / "firmware").exists() and not (ws / "vbench-results" / "base").exists()
