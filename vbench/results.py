"""The benchmark result types: one record per workload x platform x mode (`WorkloadResult`, with
its per-layer records `LayerResult`) and a result set (`ResultSet`), from the harness
(vbench/benchmark.py builds them) to results.json, results.csv and report.md (vbench/report.py),
the regression gate (vbench/gate.py), the CLI and the Python API (`vbench.load_results`).

results.json is a contract other tools read. The fields below are its keys, declared in the order
they are written; `to_dict()` writes exactly that JSON and `from_dict()` reads it back (refusing a
malformed record with the file and the key named). A key is written when its field is set:

- always: the contract keys (RECORD_KEYS), null where a run did not measure them;
- model_id, kernels, model_file, weights, winograd, top1, auc, scenarios, windows, layers, wall_s:
  when not None;
- the timing keys (performance and energy modes, TIMING_KEYS) and the accuracy keys (accuracy mode,
  ACCURACY_KEYS): each group whole, when one of its fields is set;
- failing (true) and reason: for a job that failed (its record still shows in the report);
- keys this module does not know (`extra`): kept, after the others.

It is strict JSON: `to_dict()` refuses a NaN or Infinity anywhere in a record (a VbenchError naming
the record and the key), so no writer can put one in a file.

Adding a result column is one field here (with its place in that order) and the line of
vbench/benchmark.py that sets it.

results.csv (`ResultSet.csv_rows`, also `ResultSet.to_dataframe()`) is the flat view: one row per
record, one column per value. Its columns, in order: CSV_LEAD (the contract keys, with `top1` and
`auc` in place of the mixed `accuracy`), one `run_<i>_latency_ms` column per timed run (1..5), the
other scalar keys of results.json, nested objects flattened as `<key>.<name>` (e.g.
`quality_target.met`), and last `overrides` as `k=v;k=v`. Lists and LoadGen scenarios stay in
results.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vbench.errors import VbenchError
from vbench.report_io import non_finite_key

SCHEMA_VERSION = 1

# The keys every record carries (null where not measured): what other tools may rely on.
RECORD_KEYS = ("workload", "platform", "mode", "latency_ms", "energy_uj", "accuracy", "cycles", "instructions",
               "firmware_sha256", "model_sha256", "overrides", "vbench_version")

# The first columns of results.csv (and of to_dataframe()), always present: top-1 and AUC apart.
CSV_LEAD = ("workload", "platform", "mode", "latency_ms", "energy_uj", "top1", "auc", "cycles", "instructions",
            "firmware_sha256", "model_sha256", "vbench_version")


def _spec(kind: str, *, null: bool = False, group: str | None = None) -> Any:
    """An optional field (default None) with its JSON type (str, num, int, bool, dict, list),
    whether JSON null is allowed when written, and its group (written whole or not at all)."""
    return field(default=None, metadata={"kind": kind, "null": null, "group": group})


def _required(kind: str, *, null: bool = False) -> Any:
    return field(metadata={"kind": kind, "null": null, "group": None, "required": True})


_KINDS = {
    "str": ((str,), "a string"),
    "num": ((int, float), "a number"),
    "int": ((int,), "an integer"),
    "bool": ((bool,), "true or false"),
    "dict": ((dict,), "an object"),
    "list": ((list,), "a list"),
}


def _check(value: Any, kind: str, null: bool, where: str, key: str) -> None:
    if value is None:
        if null:
            return
        raise VbenchError(f"{where}: key '{key}' is null, expected {_KINDS[kind][1]}")
    types, what = _KINDS[kind]
    if isinstance(value, bool) and kind != "bool" or not isinstance(value, types):
        raise VbenchError(f"{where}: key '{key}' is {type(value).__name__}, expected {what}")


def _read(cls, data: Any, where: str) -> dict[str, Any]:
    """Checked constructor arguments of `cls` from one JSON object; unknown keys go to `extra`."""
    if not isinstance(data, dict):
        raise VbenchError(f"{where}: not an object")
    known = [f for f in fields(cls) if f.name != "extra"]
    present_groups = {f.metadata["group"] for f in known if f.metadata["group"] and f.name in data}
    kwargs: dict[str, Any] = {}
    for f in known:
        meta = f.metadata
        if f.name not in data:
            if meta.get("required") or meta["group"] in present_groups:
                raise VbenchError(f"{where}: key '{f.name}' missing")
            continue
        _check(data[f.name], meta["kind"], meta["null"], where, f.name)
        kwargs[f.name] = data[f.name]
    names = {f.name for f in known}
    kwargs["extra"] = {k: v for k, v in data.items() if k not in names}
    return kwargs


def _write(obj) -> dict[str, Any]:
    """The JSON object of a record: its fields in declaration order, by the rules above."""
    groups = {f.metadata["group"] for f in fields(obj) if f.metadata.get("group")
              and getattr(obj, f.name) is not None}
    out: dict[str, Any] = {}
    for f in fields(obj):
        if f.name == "extra":
            continue
        value = getattr(obj, f.name)
        meta = f.metadata
        if meta.get("required") or (meta["group"] in groups if meta["group"] else value is not None):
            out[f.name] = value
    out.update(obj.extra)
    return out


def _strict(out: dict[str, Any], where: str) -> dict[str, Any]:
    """`out`, refused (VbenchError naming the key) if it holds a NaN or Infinity: results.json is
    strict JSON, and a non-finite number is no result."""
    found = non_finite_key(out)
    if found:
        raise VbenchError(f"{where}: key '{found[0]}' is {found[1]}: a result must be a finite number or null "
                          f"(results are strict JSON)")
    return out


@dataclass
class LayerResult:
    """One model layer in one warm inference (from the runtime's layer markers)."""

    layer: int = _required("int")
    op: str = _required("str")
    cycles: int = _required("num")
    instructions: int = _required("num")
    energy_uj: float = _required("num")
    stall_flash: int | None = _spec("num")
    stall_branch: int | None = _spec("num")
    stall_load_use: int | None = _spec("num")
    stall_divide: int | None = _spec("num")
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _strict(_write(self), f"layer {self.layer} {self.op}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "layer record") -> LayerResult:
        return cls(**_read(cls, data, where))


@dataclass
class WindowResult:
    """One timed window of the performance or energy mode (the runner's `infer N W` on one input):
    what the EEMBC runner prints per window. energy_uj is the whole window's energy."""

    file: str = _required("str")
    inferences: int = _required("int")
    warmups: int = _required("int")
    seconds: float = _required("num")
    throughput_ips: float = _required("num")
    latency_ms: float = _required("num")
    energy_uj: float | None = _spec("num")
    energy_per_inference_uj: float | None = _spec("num")
    average_power_mw: float | None = _spec("num")
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_harness(cls, run: dict[str, Any]) -> WindowResult:
        """From one entry of vbench.harness.modes' `runs` (a Window's to_dict, with its file)."""
        return cls(file=run["file"], inferences=run["inferences"], warmups=run["warmups"], seconds=run["seconds"],
                   throughput_ips=run["throughput_ips"], latency_ms=run["latency_ms"], energy_uj=run.get("energy_uj"),
                   energy_per_inference_uj=run.get("energy_per_inference_uj"),
                   average_power_mw=run.get("average_power_mw"))

    def to_dict(self) -> dict[str, Any]:
        return _strict(_write(self), f"window {self.file}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "window record") -> WindowResult:
        return cls(**_read(cls, data, where))


def _flat(key: str, value: Any) -> dict[str, Any]:
    """A scalar as is, an object's scalars as `key.name`; lists and deeper objects: nothing."""
    if isinstance(value, dict):
        return {f"{key}.{k}": v for k, v in value.items() if not isinstance(v, (dict, list))}
    return {} if isinstance(value, list) else {key: value}


@dataclass
class WorkloadResult:
    """One workload x platform x mode: what results.json holds for it (see the module's docstring
    for which keys are written when)."""

    # the contract keys
    workload: str = _required("str")
    platform: str = _required("str")
    mode: str = _required("str")                       # performance, energy, accuracy
    latency_ms: float | None = _required("num", null=True)
    energy_uj: float | None = _required("num", null=True)   # per inference
    accuracy: float | None = _required("num", null=True)    # top-1 fraction, or AUC for AD
    cycles: int | None = _required("num", null=True)        # per inference (median run)
    instructions: int | None = _required("num", null=True)  # per inference
    firmware_sha256: str | None = _required("str", null=True)
    model_sha256: str | None = _required("str", null=True)
    overrides: dict[str, str] = _required("dict")
    vbench_version: str = _required("str")
    # what ran
    model_id: str | None = _spec("str")
    kernels: str | None = _spec("str")
    model_file: str | None = _spec("str")               # models/<file>, or the absolute path of a user's model
    weights: str | None = _spec("str")                  # dense, sparse, palette
    winograd: bool | None = _spec("bool")
    # accuracy mode: top-1 (fraction; classifiers) and ROC AUC apart (`accuracy` is one or the other)
    top1: float | None = _spec("num")
    auc: float | None = _spec("num")
    # performance and energy modes
    average_power_mw: float | None = _spec("num", null=True, group="timing")
    throughput_ips: float | None = _spec("num", group="timing")
    valid: bool | None = _spec("bool", group="timing")
    exact: bool | None = _spec("bool", group="timing")
    extrapolated: bool | None = _spec("bool", group="timing")
    inputs: str | None = _spec("str", group="timing")   # synthetic or dataset
    runs: int | None = _spec("int", group="timing")
    simulated_inferences: int | None = _spec("int", group="timing")
    run_latencies_ms: list[float] | None = _spec("list", group="timing")
    # accuracy mode
    files: int | None = _spec("int", group="accuracy")
    complete: bool | None = _spec("bool", group="accuracy")
    quality_target: dict[str, Any] | None = _spec("dict", group="accuracy")
    predictions_sha256: str | None = _spec("str", group="accuracy")
    # LoadGen scenarios (name -> vbench.loadgen result) and the per-layer profile (performance mode)
    scenarios: dict[str, dict[str, Any]] | None = _spec("dict")
    windows: list[WindowResult] | None = _spec("list")  # the timed windows (performance and energy modes)
    layers: list[LayerResult] | None = _spec("list")
    wall_s: float | None = _spec("num")
    # a job that failed
    failing: bool | None = _spec("bool")                # True for a failed job
    reason: str | None = _spec("str")
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.workload, self.platform, self.mode

    def to_dict(self) -> dict[str, Any]:
        """The results.json record."""
        out = _write(self)
        for name in ("windows", "layers"):
            if getattr(self, name) is not None:
                out[name] = [_write(x) for x in getattr(self, name)]
        return _strict(out, f"result record ({self.workload}/{self.platform}/{self.mode})")

    def to_row(self, runs: int | None = None) -> dict[str, Any]:
        """The results.csv row (see the module's docstring): flat, `runs` run-latency columns
        (default: this record's runs)."""
        data = self.to_dict()
        latencies = data.pop("run_latencies_ms", None) or []
        row = {k: data.pop(k, None) for k in CSV_LEAD}
        row |= {f"run_{i + 1}_latency_ms": latencies[i] if i < len(latencies) else None
                for i in range(len(latencies) if runs is None else runs)}
        for k in ("accuracy", "overrides"):
            data.pop(k)
        for k, v in data.items():
            row |= _flat(k, v)
        row["overrides"] = ";".join(f"{k}={v}" for k, v in (self.overrides or {}).items())
        return row

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "result record") -> WorkloadResult:
        if isinstance(data, dict) and all(isinstance(data.get(k), str) for k in ("workload", "platform", "mode")):
            where = f"{where} ({data['workload']}/{data['platform']}/{data['mode']})"
        kwargs = _read(cls, data, where)
        if kwargs.get("failing") and "reason" not in kwargs:
            raise VbenchError(f"{where}: key 'reason' missing (the record is failing)")
        for name, kind in (("windows", WindowResult), ("layers", LayerResult)):
            if kwargs.get(name) is not None:
                kwargs[name] = [kind.from_dict(x, f"{where}: {name}[{i}]") for i, x in enumerate(kwargs[name])]
        return cls(**kwargs)


def _frame(rows: list[dict[str, Any]]):
    import pandas as pd

    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    return pd.DataFrame(rows, columns=columns)


@dataclass
class ResultSet:
    """results.json: the schema version, the run's metadata (vbench_version, created_unix, host,
    wall_s, platforms, workloads, modes, kernels, models, weights, winograd, in that order) and
    the records."""

    schema_version: int
    metadata: dict[str, Any]
    records: list[WorkloadResult]

    @classmethod
    def create(cls, records: list[WorkloadResult | dict[str, Any]], **metadata: Any) -> ResultSet:
        """A new set stamped with this vbench's version, the time and the host."""
        import platform as host_platform
        import time

        from vbench import __version__

        recs = [r if isinstance(r, WorkloadResult) else WorkloadResult.from_dict(r) for r in records]
        return cls(SCHEMA_VERSION, {"vbench_version": __version__, "created_unix": int(time.time()),
                                    "host": host_platform.platform(), **metadata}, recs)

    def __iter__(self):
        return iter(self.records)

    @property
    def vbench_version(self) -> str | None:
        return self.metadata.get("vbench_version")

    def to_dict(self) -> dict[str, Any]:
        """The results.json object."""
        records = [r.to_dict() for r in self.records]
        return _strict({"schema_version": self.schema_version, **self.metadata, "results": records},
                       "result set")

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | Path = "result set") -> ResultSet:
        """Read a results.json object; `source` (the file) names where an error is."""
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise VbenchError(f"{source}: not a vbench result set (no 'results' list)")
        if "schema_version" not in data:
            raise VbenchError(f"{source}: key 'schema_version' missing")
        _check(data["schema_version"], "int", False, str(source), "schema_version")
        if data["schema_version"] > SCHEMA_VERSION:
            raise VbenchError(f"{source}: schema_version {data['schema_version']} is newer than this vbench's "
                              f"({SCHEMA_VERSION}): upgrade vbench to read it")
        records = [WorkloadResult.from_dict(r, f"{source}: results[{i}]") for i, r in enumerate(data["results"])]
        metadata = {k: v for k, v in data.items() if k not in ("schema_version", "results")}
        return cls(data["schema_version"], metadata, records)

    def csv_rows(self) -> list[dict[str, Any]]:
        """The rows of results.csv: every row with as many run columns as the longest record."""
        runs = max((len(r.run_latencies_ms or []) for r in self.records), default=0)
        return [r.to_row(runs) for r in self.records]

    def to_dataframe(self, layers: bool = False):
        """A pandas DataFrame: one row per record with the columns of results.csv, or with
        layers=True one row per layer (workload, platform, mode, then the layer's fields)."""
        if not layers:
            return _frame(self.csv_rows())
        return _frame([{"workload": r.workload, "platform": r.platform, "mode": r.mode, **x.to_dict()}
                       for r in self.records for x in r.layers or []])

    def __len__(self) -> int:
        return len(self.records)


def read_results_json(path: str | Path) -> tuple[Path, Any]:
    """The parsed JSON of results.json (or of a folder holding it), with the file it came from; a file
    that cannot be read or parsed is a VbenchError naming it."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        return path, json.loads(path.read_text())
    except OSError as exc:
        raise VbenchError(f"cannot read results {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise VbenchError(f"{path}: not valid JSON: {exc}") from None


def load_results(path: str | Path) -> ResultSet:
    """Read results.json (or a folder holding it), checked: a malformed file is refused with a
    VbenchError naming the file and the key."""
    path, data = read_results_json(path)
    return ResultSet.from_dict(data, path)
