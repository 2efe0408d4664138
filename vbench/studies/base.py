"""What a study compares (Config, Study), the registry of studies by name (`register`,
`make_study`) and the constants the study modules share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from vbench.errors import VbenchError

DEFAULT_SEED = 20240
DEFAULT_AGREEMENT_INPUTS = 20
FLOAT_RTOL = 1e-4        # float32 outputs: max |y - y_tflite| <= FLOAT_RTOL * max |y_tflite|
DEFAULT_SPARSITIES = (0.5, 0.75)
METRICS = (("cycles", "cycles"), ("latency_ms", "latency (ms)"), ("energy_uj", "energy (uJ)"),
           ("flash_bytes", "flash (B)"), ("ram_bytes", "RAM (B)"))
STUDY_DEFAULT_KERNELS = "default"

@dataclass(frozen=True)
class Config:
    label: str                   # column name in the tables ("int8", "reference", ...)
    dtype: str = "int8"          # which model of the workload: "int8" or "float32"
    kernels: str | None = None   # None = reference, "optimized", a variant name or a directory path
    transform: str | None = None  # model transform first: "prune:<sparsity>" or "cluster:<k>" (int8)
    weights: str = "dense"       # weight encoding: dense, sparse, palette (vbench.compiler.encodings)
    winograd: bool = False       # 3x3 stride-1 CONV_2D as Winograd F(2x2,3x3)


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    question: str
    configs: tuple[Config, ...]  # the first is the baseline every other one is compared with
    notes: tuple[str, ...] = ()

    @property
    def a(self) -> Config:
        return self.configs[0]

    @property
    def b(self) -> Config:
        return self.configs[1]

    @property
    def others(self) -> tuple[Config, ...]:
        return self.configs[1:]


# build(args, kernels, sparsities) -> Study; kernels: None (reference), "optimized", a variant
Builder = Callable[..., Study]


@dataclass(frozen=True)
class StudyDef:
    name: str
    build: Builder
    takes_args: bool = False               # `kernels A B`
    own_kernels: bool = False              # compares kernel sets itself: --kernels does not apply
    default_kernels: str | None = "optimized"  # the kernel set without --kernels
    accuracy: bool = False                 # changes the arithmetic, so accuracy is measured


STUDIES: dict[str, StudyDef] = {}          # in registration order: the order the CLI lists them


def register(name: str, **traits) -> Callable[[Builder], Builder]:
    def add(build: Builder) -> Builder:
        STUDIES[name] = StudyDef(name, build, **traits)
        return build
    return add


def kernel_set(kernels: str | None) -> str:
    """How a study's title names its kernel set."""
    return kernels or "reference"


def make_study(name: str, args: list[str] | tuple[str, ...] = (), kernels: str | None = STUDY_DEFAULT_KERNELS,
               sparsities: tuple[float, ...] = DEFAULT_SPARSITIES) -> Study:
    """The Study for a name and its arguments (`kernels` takes two variants). `kernels` is the
    kernel set of every configuration of precision, sparsity, compression and winograd: "optimized"
    (each board's variant), None or "reference", or a variant name / directory; the default is the
    reference kernels for precision and the optimized ones for the others. `sparsities`: the pruning
    levels of the sparsity study. Raises VbenchError for anything unknown."""
    args = list(args)
    spec = STUDIES.get(name)
    if spec is None:
        raise VbenchError(f"unknown study '{name}' (studies: {', '.join(STUDIES)})")
    if not spec.takes_args and args:
        raise VbenchError(f"study '{name}' takes no arguments (got {' '.join(args)})")
    if spec.own_kernels and kernels != STUDY_DEFAULT_KERNELS:
        raise VbenchError(f"study '{name}' compares kernel sets itself: --kernels does not apply")
    if kernels == STUDY_DEFAULT_KERNELS:
        kernels = spec.default_kernels
    if kernels == "reference":
        kernels = None
    return spec.build(args, kernels, sparsities)
