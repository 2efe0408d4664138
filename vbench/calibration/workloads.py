"""What a measurement row runs, and its simulation (cached).

`resolve_firmware` is the one place that turns the `firmware` cell of a measurement row into an
image to run and the window that was measured:

    kws01, vww01, ic01, ad01   one inference of the MLPerf Tiny model (models/*.tflite) with the
                               model_check firmware; the measured window runs from the first to
                               the last layer marker (the inference, as EnergyRunner's timestamps
                               bracket it), input = the first random input of `vbench check-models`
    an app name [options]      firmware/apps/<name> (or microbench) built for the board, options
                               `NAME=VALUE` / `NAME` (defines) and `-O<level>`; window = reset to exit
    a path to an ELF file      run as it is; window = reset to exit

The EEMBC harness firmware will replace model_check for the workload ids: only this function
changes.

`simulate` runs the image on a platform and returns the window's cycles, time and energy
features (what the power model is linear in, see vbench/sim/board.py `energy_features`). The
features do not depend on the power model's coefficients, so one simulation serves every energy
fit; results are cached in build/calibration-cache/ by (image sha256, input, window, platform
fingerprint, simulator sources).

`simulate_window` runs a row of a `vbench validate` file (an ELF and a `function:` or `uart:`
measure) with validate's own `run_row`, so that a fit and a validation measure the same window. It
returns the window's energy at the platform's power model instead of features (the native call
records carry charge, not features); the energy fit gets its columns from the model's linearity.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vbench.errors import VbenchError
from vbench import paths
from vbench.platform import Platform
from vbench.workloads import MODEL_IDS, by_model_id

CACHE_VERSION = "1"  # bump when the meaning of a cached entry changes
MAX_INFERENCE_INSTRUCTIONS = 4_000_000_000  # as vbench check-models


@dataclass(frozen=True)
class Firmware:
    spec: str
    kind: str                                # "workload", "app" or "elf"
    elf: Path
    window: str                              # "inference" (between layer markers) or "run"
    pokes: tuple[tuple[int, bytes], ...] = ()  # bytes written into memory before the run
    description: str = ""


@dataclass
class SimResult:
    cycles: int
    time_s: float
    clock_hz: float
    voltage_range: str
    instructions: int
    features: dict[str, float]
    exit: str
    exit_code: int | None
    wall_s: float = 0.0
    energy_uj: float | None = None  # the window's energy at the platform's power model (simulate_window)
    cached: bool = field(default=False, compare=False)

    @property
    def latency_ms(self) -> float:
        return self.time_s * 1e3


# ====================================================================== resolving


def _split_options(tokens: list[str], spec: str) -> tuple[list[str], str]:
    defines, opt = [], "-O2"
    for t in tokens:
        if t.startswith("-O"):
            opt = t
        elif t.startswith("-"):
            raise VbenchError(f"firmware '{spec}': unknown build option '{t}' (options are NAME=VALUE defines and -O<level>)")
        else:
            defines.append(t)
    return defines, opt


def _workload_firmware(wid: str, platform: Platform, spec: str) -> Firmware:
    from vbench.compiler import default_name
    from vbench.modelcheck import (DEFAULT_SEED, ModelCase, build_check_image, compile_cached, random_inputs,
                                   resolve_model_path)

    path = resolve_model_path(by_model_id(wid).model_file)
    compiled = compile_cached(path, default_name(path))
    data = random_inputs(compiled, 1, DEFAULT_SEED)[0]
    case = ModelCase(label=path.stem, path=path, compiled=compiled, inputs=[data], input_names=["random#0"],
                     expected=[b""], host_mismatches=0, host_bad_inputs=[], random_inputs=1, dataset_inputs=0)
    image = build_check_image(case, platform)
    addr = image.symbol_sizes["vb_check_input"][0]
    return Firmware(spec, "workload", image.elf, "inference", ((addr, data),),
                    f"one inference of {path.name} (model_check firmware, random input seed {DEFAULT_SEED})")


_RESOLVED: dict[tuple[str, str, str], Firmware] = {}


def resolve_firmware(spec: str, platform: Platform, base_dir: Path | None = None) -> Firmware:
    """The image and measured window of a measurement row's `firmware` cell (see the module doc)."""
    key = (spec, platform.name, str(base_dir))
    if key in _RESOLVED and _RESOLVED[key].elf.is_file():
        return _RESOLVED[key]
    from vbench.firmware import build_firmware, list_apps

    tokens = spec.split()
    if not tokens:
        raise VbenchError("empty firmware")
    head, rest = tokens[0], tokens[1:]
    if head.lower() in MODEL_IDS:
        if rest:
            raise VbenchError(f"firmware '{spec}': workload ids take no build options")
        fw = _workload_firmware(head.lower(), platform, spec)
    elif head in list_apps():
        defines, opt = _split_options(rest, spec)
        elf = build_firmware(head, platform, defines=defines, opt=opt)
        fw = Firmware(spec, "app", elf, "run", (), f"firmware {head} {' '.join(rest)}".strip())
    else:
        candidates = [Path(head)] if Path(head).is_absolute() else \
            [*(([base_dir / head]) if base_dir else []), Path.cwd() / head]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise VbenchError(
                f"unknown firmware '{head}': not a file, not a workload id ({', '.join(MODEL_IDS)}) and not a "
                f"vbench firmware ({', '.join(list_apps())})")
        if rest:
            raise VbenchError(f"firmware '{spec}': an ELF file takes no build options")
        fw = Firmware(spec, "elf", found.resolve(), "run", (), f"ELF {found}")
    _RESOLVED[key] = fw
    return fw


# ====================================================================== simulation and cache


def _sim_sources_digest() -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    roots = [paths.package_dir() / "sim", paths.package_dir() / "_native"]
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.is_file() and p.suffix in (".py", ".c", ".h", ".so"):
                h.update(str(p.relative_to(paths.package_dir().parent)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()


_SIM_DIGEST: str | None = None


def cache_key(fw: Firmware, platform: Platform) -> str:
    global _SIM_DIGEST
    if _SIM_DIGEST is None:
        _SIM_DIGEST = _sim_sources_digest()
    h = hashlib.sha256()
    h.update(hashlib.sha256(fw.elf.read_bytes()).digest())
    for addr, data in fw.pokes:
        h.update(addr.to_bytes(8, "little"))
        h.update(hashlib.sha256(data).digest())
    h.update(json.dumps({"window": fw.window, "platform": platform.fingerprint(), "sim": _SIM_DIGEST}).encode())
    return h.hexdigest()


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / key[:2] / f"{key}.json"


def _run(fw: Firmware, platform: Platform) -> SimResult:
    import unicorn

    from vbench.modelcheck import poke
    from vbench.sim.board import Board

    board = Board(platform, fw.elf, max_instructions=MAX_INFERENCE_INSTRUCTIONS if fw.window == "inference" else None)
    try:
        for addr, data in fw.pokes:
            poke(board, addr, data)
        snaps: list[tuple] = []
        if fw.window == "inference":
            marker = board.image.symbols.get("vb_layer_marker")
            if marker is None:
                raise VbenchError(f"{fw.elf}: no vb_layer_marker symbol, so the inference window cannot be found")
            addr = marker & ~1

            def on_marker(uc, a, size, user):
                c = board.account.raw()
                snaps.append((board.energy_features(c), int(c.cycles), int(c.instructions), board.clock_hz,
                              board.voltage_range))

            board.uc.hook_add(unicorn.UC_HOOK_CODE, on_marker, None, addr, addr)
        r = board.run()
    finally:
        board.close()
    # A workload must finish its inference cleanly; an app may return a result as its exit code
    # (bench_mix returns its checksum), so only a run that did not exit is an error there.
    if r.exit != "exit" or (fw.kind == "workload" and r.exit_code not in (0, None)):
        what = f"{r.exit}" + (f" code {r.exit_code}" if r.exit_code is not None else "")
        raise VbenchError(f"firmware '{fw.spec}' did not complete on {platform.name}: {what} {r.message}".rstrip())
    if fw.window == "run":
        return SimResult(r.cycles, r.time_s, r.clock_hz, board.voltage_range, r.instructions, dict(r.features),
                         r.exit, r.exit_code, r.wall_s)
    if len(snaps) < 2:
        raise VbenchError(f"firmware '{fw.spec}': the layer markers were called {len(snaps)} time(s); an inference "
                          f"window needs at least 2")
    (f0, c0, n0, hz, vr), (f1, c1, n1, _, _) = snaps[0], snaps[-1]
    feats = {k: f1[k] - f0[k] for k in f0}
    return SimResult(c1 - c0, feats["time_s"], hz, vr, n1 - n0, feats, r.exit, r.exit_code, r.wall_s)


def _cached(cache_dir: Path | None, key: str, compute) -> SimResult:
    from vbench.report_io import write_json_atomic

    if cache_dir is not None:
        f = _cache_path(Path(cache_dir), key)
        if f.is_file():
            try:
                data = json.loads(f.read_text())
                return SimResult(**{**data, "cached": True})
            except (ValueError, TypeError, OSError):
                pass  # a damaged entry is simulated again and rewritten
    res = compute()
    if cache_dir is not None:
        data = asdict(res)
        data.pop("cached")
        try:
            write_json_atomic(_cache_path(Path(cache_dir), key), data)
        except OSError:
            pass  # a read-only cache only costs time
    return res


def simulate(fw: Firmware, platform: Platform, cache_dir: Path | None | str = "default") -> SimResult:
    """The firmware's measured window on the platform, from the cache when possible."""
    if cache_dir == "default":
        cache_dir = default_cache_dir()
    key = cache_key(fw, platform) if cache_dir is not None else ""
    return _cached(cache_dir, key, lambda: _run(fw, platform))


def simulate_window(row, platform: Platform, cache_dir: Path | None | str = "default") -> SimResult:
    """A row of a validate-format file (vbench.validate.Row) on the platform: the window its measure
    names, run by validate's run_row (median cycles and energy per call, or the console's count)."""
    from vbench.validate import DEFAULT_BUDGET, run_row

    if cache_dir == "default":
        cache_dir = default_cache_dir()

    def compute() -> SimResult:
        rec = run_row(row, platform, DEFAULT_BUDGET)
        if rec["status"] != "ok" or rec["vbench_latency_ms"] is None:
            raise VbenchError(f"firmware '{row.firmware}' ({row.measure.text}) on {platform.name}: "
                              f"{rec['message'] or 'no measured window'}")
        return SimResult(rec["cycles"], rec["vbench_latency_ms"] / 1e3, rec["clock_hz"], "", rec["instructions"] or 0,
                         {}, rec["exit"], rec["exit_code"], rec["wall_s"], rec["vbench_energy_uj"])

    key = ""
    if cache_dir is not None:
        global _SIM_DIGEST
        if _SIM_DIGEST is None:
            _SIM_DIGEST = _sim_sources_digest()
        h = hashlib.sha256(hashlib.sha256(row.elf.read_bytes()).digest())
        h.update(json.dumps({"measure": row.measure.text, "platform": platform.fingerprint(),
                             "sim": _SIM_DIGEST}).encode())
        key = h.hexdigest()
    return _cached(cache_dir, key, compute)


def default_cache_dir() -> Path | None:
    env = os.environ.get("VBENCH_CALIBRATION_CACHE")
    if env == "":
        return None
    return Path(env) if env else paths.cache_dir() / "calibration-cache"
