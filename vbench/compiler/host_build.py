"""Build a compiled model + runtime + kernels for the host (system gcc, shared library) and run it
through ctypes. What to compile comes from the firmware build (vbench/firmware/model_sources.py).

Builds are cached under <cache>/host/ (vbench.paths.cache_dir), keyed by sha256 of the
compiler identity, the flags and every source and header; a changed kernel rebuilds.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from vbench.errors import VbenchError
from vbench.firmware.model_sources import firmware_sources
from vbench.paths import cache_dir

HOST_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-fPIC", "-DVB_HOST_MARKER_HOOK")


@functools.lru_cache(maxsize=None)
def _compiler_identity(cc: str) -> str:
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise VbenchError(f"host C compiler '{cc}' is not usable: {exc}") from exc
    return out.stdout.splitlines()[0] if out.stdout else cc


def _digest(cc: str, flags: list[str], files: list[Path], salt: str = "") -> str:
    h = hashlib.sha256()
    h.update(_compiler_identity(cc).encode() + b"\0" + "\0".join(flags).encode() + salt.encode())
    for path in files:
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise VbenchError(f"host build failed: {' '.join(cmd[:6])} ...\n{proc.stderr.strip()}")


def _common_objects(cc: str, flags: list[str], sources: list[Path], include_dirs: list[Path]) -> list[Path]:
    """Runtime + kernel objects, compiled once per (compiler, flags, sources, headers)."""
    headers = sorted({p for d in include_dirs for p in Path(d).glob("*.h")})
    out_dir = cache_dir() / "host" / f"common-{_digest(cc, flags, sources + headers)[:24]}"
    objects = [out_dir / f"{i:02d}_{src.stem}.o" for i, src in enumerate(sources)]
    if all(o.exists() for o in objects):
        return objects
    out_dir.mkdir(parents=True, exist_ok=True)
    inc = [f"-I{d}" for d in include_dirs]
    for src, obj in zip(sources, objects):
        fd, tmp = tempfile.mkstemp(prefix=f".{obj.stem}.", suffix=".o", dir=out_dir)
        os.close(fd)
        try:
            _run([cc, *flags, *inc, "-c", str(src), "-o", tmp])
            os.replace(tmp, obj)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return objects


def build_host_library(model_dir: str | Path, variant: str | None = None, cc: str = "gcc",
                       extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the model in `model_dir` into a host shared library; returns its path.
    Runtime and kernel objects are cached separately, so a new model only compiles its
    own source and links."""
    fw = firmware_sources(model_dir, variant)
    model_c = fw.sources[-1]
    flags = [*HOST_CFLAGS, *extra_flags,
             *[f"-D{k}" if v == "" else f"-D{k}={v}" for k, v in fw.defines.items()]]
    common = _common_objects(cc, flags, fw.sources[:-1], fw.include_dirs[:-1])
    key = _digest(cc, flags, [model_c, *sorted(Path(model_dir).glob("*_model.h"))],
                  salt="\0".join(o.parent.name + o.name for o in common))
    out_dir = cache_dir() / "host" / key[:24]
    lib = out_dir / "libvbmodel.so"
    if lib.exists():
        return lib
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".libvbmodel.", suffix=".so", dir=out_dir)
    os.close(fd)
    try:
        _run([cc, *flags, "-shared", *[f"-I{d}" for d in fw.include_dirs], str(model_c),
              *map(str, common), "-o", tmp])
        os.replace(tmp, lib)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return lib


# ----------------------------------------------------------------- ctypes wrapper

class _VbIo(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint32), ("offset", ctypes.c_uint32), ("bytes", ctypes.c_uint32),
                ("elements", ctypes.c_uint32), ("scale", ctypes.c_float), ("zero_point", ctypes.c_int32)]


class _VbModel(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("num_layers", ctypes.c_uint32),
                ("layers", ctypes.c_void_p), ("arena_bytes", ctypes.c_uint32),
                ("arena", ctypes.POINTER(ctypes.c_uint8)), ("input", _VbIo), ("output", _VbIo)]


_MARKER_HOOK = ctypes.CFUNCTYPE(None, ctypes.c_uint32)


class _VbLayer(ctypes.Structure):
    _fields_ = [("op", ctypes.c_uint32), ("input_offset", ctypes.c_uint32 * 2),
                ("input_bytes", ctypes.c_uint32 * 2), ("output_offset", ctypes.c_uint32),
                ("output_bytes", ctypes.c_uint32), ("params", ctypes.c_void_p),
                ("decode", ctypes.c_void_p)]


class HostModel:
    """A compiled model running natively on the host. Not thread-safe (one arena)."""

    def __init__(self, model_dir: str | Path, variant: str | None = None, cc: str = "gcc"):
        self.library_path = build_host_library(model_dir, variant, cc)
        # A private copy per instance: dlopen of the same path would share one arena.
        self._tmpdir = tempfile.TemporaryDirectory(prefix="vbench-host-")
        private = Path(self._tmpdir.name) / self.library_path.name
        shutil.copyfile(self.library_path, private)
        lib = ctypes.CDLL(str(private))
        lib.vb_model_init.restype = ctypes.c_int
        lib.vb_model_set_input.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
        lib.vb_model_set_input.restype = ctypes.c_int
        lib.vb_model_set_input_f32.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.c_uint32]
        lib.vb_model_set_input_f32.restype = ctypes.c_int
        lib.vb_model_invoke.restype = ctypes.c_int
        lib.vb_model_output.argtypes = [ctypes.POINTER(ctypes.c_uint32)]
        lib.vb_model_output.restype = ctypes.POINTER(ctypes.c_uint8)
        lib.vb_model_output_f32.argtypes = [ctypes.POINTER(ctypes.c_float), ctypes.c_uint32]
        lib.vb_model_output_f32.restype = ctypes.c_int
        lib.vb_model_info.restype = ctypes.POINTER(_VbModel)
        lib.vb_set_layer_marker_hook.argtypes = [_MARKER_HOOK]
        self._lib = lib
        self._info = lib.vb_model_info().contents
        rc = lib.vb_model_init()
        if rc != 0:
            raise VbenchError(f"vb_model_init failed with {rc} for {model_dir}")

    @property
    def name(self) -> str:
        return self._info.name.decode()

    @property
    def input_bytes(self) -> int:
        return self._info.input.bytes

    @property
    def output_bytes(self) -> int:
        return self._info.output.bytes

    @property
    def input_elements(self) -> int:
        return self._info.input.elements

    @property
    def output_elements(self) -> int:
        return self._info.output.elements

    @property
    def arena_bytes(self) -> int:
        return self._info.arena_bytes

    def _check(self, rc: int, what: str, given: int | None = None, expected: int | None = None):
        if rc == -2:
            raise VbenchError(f"{what}: got {given}, model '{self.name}' expects {expected}")
        if rc != 0:
            raise VbenchError(f"{what} failed with error {rc}")

    def set_input(self, data: bytes) -> None:
        data = bytes(data)
        self._check(self._lib.vb_model_set_input(data, len(data)), "input size (bytes)",
                    len(data), self.input_bytes)

    def set_input_f32(self, values) -> None:
        arr = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
        ptr = arr.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self._check(self._lib.vb_model_set_input_f32(ptr, arr.size), "input size (floats)",
                    arr.size, self.input_elements)

    def input_tensor(self) -> bytes:
        """Current bytes of the input tensor in the arena (e.g. after set_input_f32)."""
        return ctypes.string_at(ctypes.addressof(self._info.arena.contents) + self._info.input.offset,
                                self._info.input.bytes)

    def invoke(self) -> None:
        self._check(self._lib.vb_model_invoke(), "vb_model_invoke")

    def output(self) -> bytes:
        n = ctypes.c_uint32()
        ptr = self._lib.vb_model_output(ctypes.byref(n))
        return ctypes.string_at(ptr, n.value)

    def output_f32(self) -> np.ndarray:
        out = np.empty(self.output_elements, np.float32)
        self._check(self._lib.vb_model_output_f32(out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                                  out.size), "vb_model_output_f32")
        return out

    def run(self, input_bytes: bytes) -> bytes:
        """Set the input bytes, invoke, return the output tensor bytes."""
        self.set_input(input_bytes)
        self.invoke()
        return self.output()

    def run_layers(self, input_bytes: bytes) -> dict[int, bytes]:
        """Run once and return every layer's output bytes, keyed by layer index (read at the
        next layer marker, before anything can overwrite them)."""
        layers = ctypes.cast(self._info.layers, ctypes.POINTER(_VbLayer))
        arena = ctypes.addressof(self._info.arena.contents)
        outputs: dict[int, bytes] = {}
        previous = [None]

        def hook(index: int):
            if previous[0] is not None:
                layer = layers[previous[0]]
                outputs[previous[0]] = ctypes.string_at(arena + layer.output_offset, layer.output_bytes)
            previous[0] = None if index == 0xFFFFFFFF else index

        callback = _MARKER_HOOK(hook)
        self._lib.vb_set_layer_marker_hook(callback)
        try:
            self.run(input_bytes)
        finally:
            self._lib.vb_set_layer_marker_hook(_MARKER_HOOK())
        return outputs

    def run_f32(self, values) -> np.ndarray:
        """Float input (quantized in C) -> float output (dequantized in C)."""
        self.set_input_f32(values)
        self.invoke()
        return self.output_f32()
