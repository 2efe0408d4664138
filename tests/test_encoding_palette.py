"""Palette weights (`compile --weights palette`, vbench/compiler/encodings/palette.py): clustered
filters stored as packed 4-bit indices plus a 16-entry table and expanded by vb_decode_palette
into an arena buffer before the layer runs.

* The three decoders (reference, cortex_m4_dsp, rv32) against numpy on every tail length around
  their 8- and 16-weight blocks and their small/pair-table switch; the Cortex-M4 assembly loop
  executed in Unicorn (the host build runs its C twin).
* Generated clustered CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layers (odd weight counts,
  per-channel and per-tensor scales, depth multiplier 2, fewer than 16 values): reference and
  both variants bit-exact with the dense build and TFLite.
* Layers with more than 16 values, or too few weights to gain, stay dense.
* The four MLPerf Tiny models clustered to 16 values: host build bit-exact with TFLite, every
  weight layer encoded, flash well below dense; KWS and AD on both boards with reference and
  optimized kernels, bit-exact, with the measured image smaller than the dense one.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_kernels_ops import _conv, _fc, _inputs
from vbench.compiler import compile_model, load_graph
from vbench.compiler.encodings.palette import palette, unpack
from vbench.compiler.host_build import HostModel
from vbench.firmware.kernels import KERNELS_DIR
from vbench.compiler.transforms import cluster_model
from vbench.golden import GoldenModel

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
INT8_MODELS = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite",
               "ic": "ic_resnet8_int8.tflite", "ad": "ad01_int8.tflite"}
VARIANTS = ("cortex_m4_dsp", "rv32")
WEIGHT_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
HAVE_CROSS = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"))
# Counts around the 8/16-weight blocks, the small/pair-table switch (512) and odd sizes.
COUNTS = [*range(1, 41), 63, 64, 65, 127, 511, 512, 513, 527, 528, 529, 1000, 4099]
MAX_COUNT = 4160


# ------------------------------------------------------------------ decoders

DECODER_DRIVER = r"""
#include "kernels.h"
void run(uint32_t count, const uint8_t *packed, const int8_t *table, int8_t *dst)
{
    vb_palette_decoder_t d = { count, packed, table, dst };
    vb_decode_palette(&d);
}
"""


def _random_palette(rng, count: int):
    table = rng.integers(-128, 128, 16).astype(np.int8)
    packed = rng.integers(0, 256, (count + 1) // 2).astype(np.uint8)
    return packed, table


def test_palette_round_trip():
    rng = np.random.default_rng(3)
    for count in (1, 2, 33, 135):
        values = rng.choice(np.array([-128, -7, 0, 3, 127], np.int8), count)
        packed, table = palette(values)
        assert packed.size == (count + 1) // 2 and table.size == 16
        assert (unpack(packed, table, count) == values).all()
        if count % 2:
            assert packed[-1] >> 4 == 0
    assert palette(np.arange(-8, 9, dtype=np.int8)) is None   # 17 values


@pytest.mark.parametrize("variant", ["reference", *VARIANTS])
def test_decoder_matches_numpy_on_host(tmp_path, variant):
    """Every count in COUNTS from random indices and tables; the bytes after `count` (the
    buffer's padding) are never written."""
    src = tmp_path / "drv.c"
    src.write_text(DECODER_DRIVER)
    lib = tmp_path / "libpal.so"
    decoder = KERNELS_DIR / variant / "decode_palette.c"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    f"-I{KERNELS_DIR}", str(src), str(decoder), "-o", str(lib)], check=True)
    so = ctypes.CDLL(str(lib))
    rng = np.random.default_rng(11)
    for count in COUNTS:
        packed, table = _random_palette(rng, count)
        packed = np.concatenate([packed, np.zeros(16, np.uint8)])   # word-aligned, as emitted
        out = np.full(count + 32, 0x5A, np.int8)
        so.run(ctypes.c_uint32(count), packed.ctypes.data_as(ctypes.c_void_p),
               table.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p))
        expected = unpack(packed[:(count + 1) // 2], table, count)
        assert (out[:count] == expected).all(), f"{variant}: count {count}"
        assert (out[count:] == 0x5A).all(), f"{variant}: count {count} wrote past the weights"


ARM_DRIVER = r"""
#include "kernels.h"
#define MAXN %d
uint8_t pal_packed[MAXN / 2 + 16] __attribute__((aligned(16)));
int8_t pal_table[16];
int8_t pal_dst[MAXN + 32] __attribute__((aligned(16)));
uint32_t pal_count;
void pal_done(void) __attribute__((noinline));
void pal_done(void) { for (;;) { __asm__ volatile(""); } }
void pal_entry(void)
{
    vb_palette_decoder_t d = { pal_count, pal_packed, pal_table, pal_dst };
    vb_decode_palette(&d);
    pal_done();
}
""" % MAX_COUNT
ARM_LINK = """
ENTRY(pal_entry)
SECTIONS {
  . = 0x10000000;
  .text : { *(.text*) }
  .rodata : { *(.rodata*) }
  .data : { *(.data*) }
  .bss : { *(.bss*) *(COMMON) }
  /DISCARD/ : { *(.ARM.exidx*) *(.comment) }
}
"""


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
def test_cortex_m4_decoder_assembly_in_unicorn(tmp_path):
    """The cortex_m4_dsp decoder as built for the board (pair-table loop in assembly), run
    instruction by instruction in Unicorn on every count in COUNTS."""
    unicorn = pytest.importorskip("unicorn")
    from unicorn import arm_const

    (tmp_path / "drv.c").write_text(ARM_DRIVER)
    (tmp_path / "link.ld").write_text(ARM_LINK)
    elf = tmp_path / "pal.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
                    "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "--specs=picolibc.specs", "-nostartfiles",
                    "-Wl,--no-warn-rwx-segments", f"-I{KERNELS_DIR}", str(tmp_path / "drv.c"),
                    str(KERNELS_DIR / "cortex_m4_dsp" / "decode_palette.c"),
                    "-T", str(tmp_path / "link.ld"), "-o", str(elf)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(tmp_path / "pal.bin")], check=True)
    nm = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    syms = {p[2]: int(p[0], 16) for p in (line.split() for line in nm.splitlines()) if len(p) == 3}
    disasm = subprocess.run(["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True).stdout
    assert "ldrh" in disasm and "stmia" in disasm   # the assembly loop, not the C twin

    uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_M4)
    uc.mem_map(0x10000000, 1 << 20)
    uc.mem_write(0x10000000, (tmp_path / "pal.bin").read_bytes())
    rng = np.random.default_rng(12)
    for count in COUNTS:
        packed, table = _random_palette(rng, count)
        uc.mem_write(syms["pal_packed"], packed.tobytes())
        uc.mem_write(syms["pal_table"], table.tobytes())
        uc.mem_write(syms["pal_dst"], bytes([0x5A]) * (MAX_COUNT + 32))
        uc.mem_write(syms["pal_count"], np.uint32(count).tobytes())
        uc.reg_write(arm_const.UC_ARM_REG_SP, 0x10000000 + (1 << 20) - 16)
        uc.reg_write(arm_const.UC_ARM_REG_LR, syms["pal_done"] | 1)
        uc.emu_start(syms["pal_entry"] | 1, syms["pal_done"])
        got = np.frombuffer(bytes(uc.mem_read(syms["pal_dst"], count + 32)), np.int8)
        assert (got[:count] == unpack(packed, table, count)).all(), f"count {count}"
        assert (got[count:] == 0x5A).all(), f"count {count} wrote past the weights"


# ------------------------------------------------------------------ generated layers

LAYERS = {
    # conv: 5 x 3x3x3 = 135 weights (odd, small-table path), per-channel, SAME borders
    "conv_135_per_channel": lambda: _conv([1, 7, 6, 3], 5, (3, 3), act="RELU", seed=1),
    # conv: 7 x 3x3x9 = 567 weights (odd, pair-table path with a 7-weight tail), per-tensor, stride 2
    "conv_567_per_tensor_stride2": lambda: _conv([1, 9, 8, 9], 7, (3, 3), stride=(2, 2), per_channel=False,
                                                 in_q=(0.04, 11), seed=2),
    # 1x1 VALID conv, zero point folded: 13 x 11 = 143 weights
    "conv_143_pointwise_folded": lambda: _conv([1, 5, 4, 11], 13, (1, 1), padding="VALID", in_q=(0.03, -9),
                                               seed=3),
    # depthwise dm 2: 3x3 x 10 = 90 weights; 5x5 x 25 = 625 (odd, pair path)
    "dw_90_dm2_stride2": lambda: _conv([1, 9, 7, 5], 0, (3, 3), stride=(2, 2), depthwise=True, dm=2, seed=4),
    "dw_625_5x5": lambda: _conv([1, 7, 8, 25], 0, (5, 5), depthwise=True, act="RELU6", out_q=(0.04, -128),
                                seed=5),
    # FC: 11 x 37 = 407 (odd, small path), per-channel; 37 x 67 = 2479 (odd, pair path, 15-weight tail)
    "fc_407_per_channel": lambda: _fc([1, 37], 11, per_channel=True, in_q=(0.05, 3), out_q=(0.02, -5)),
    "fc_2479_batches2": lambda: _fc([2, 67], 37, act="RELU", seed=6),
}


def _clustered(tmp_path: Path, name: str, clusters: int = 16) -> Path:
    builder, inputs, outputs = LAYERS[name]()
    raw = builder.save(tmp_path / f"{name}_raw.tflite", inputs, outputs)
    return cluster_model(raw, tmp_path / f"{name}.tflite", clusters).output


def _distinct_filter_values(path: Path) -> int:
    graph = load_graph(path)
    op = graph.operators[0]
    return len(np.unique(graph.tensors[op.inputs[1]].data))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_generated_layer_bit_exact(tmp_path, name):
    clusters = 5 if name.startswith("dw_90") else 16   # a table with unused entries
    path = _clustered(tmp_path, name, clusters)
    assert 1 < _distinct_filter_values(path) <= clusters
    dense = compile_model(path, tmp_path / "dense", "m")
    pal = compile_model(path, tmp_path / "palette", "m", weights="palette")
    layer = pal.layers[0]
    fused = layer.op == "FULLY_CONNECTED"   # fused kernel, no decoder (test_encoding_palette_fc.py)
    assert layer.notes[-1].startswith("palette 4-bit") and layer.kernel == ("_PALETTE" if fused else "")
    assert pal.const_bytes < dense.const_bytes
    source = pal.c_file.read_text()
    assert fused or ("vb_palette_decoder_t l0_decode" in source and ".decode = &l0_decode" in source)
    golden = GoldenModel(path)
    builds = {"dense": HostModel(dense.out_dir), "palette": HostModel(pal.out_dir),
              **{f"palette/{v}": HostModel(pal.out_dir, v) for v in VARIANTS}}
    for i, data in enumerate(_inputs(golden, 4, seed=len(name))):
        expected = golden.run_bytes(data)
        assert builds["dense"].run(data) == expected
        for label, host in builds.items():
            assert host.run(data) == expected, f"{name} input {i}: {label} differs"


def test_more_than_16_values_stays_dense(tmp_path):
    """17 clusters: the layer stays dense (the emitted plan is the dense one); 16: encoded. A
    filter of 27 weights (3x3 depthwise on 3 channels) would not shrink and stays dense too."""
    p17 = _clustered(tmp_path, "conv_567_per_tensor_stride2", 17)
    dense = compile_model(p17, tmp_path / "d17", "m")
    pal = compile_model(p17, tmp_path / "p17", "m", weights="palette")
    assert _distinct_filter_values(p17) == 17
    assert not any("palette" in n for n in pal.layers[0].notes)
    assert pal.c_file.read_text() == dense.c_file.read_text()
    assert pal.arena_bytes == dense.arena_bytes and pal.const_bytes == dense.const_bytes

    p16 = _clustered(tmp_path, "conv_567_per_tensor_stride2", 16)
    assert _distinct_filter_values(p16) == 16
    assert "palette 4-bit" in compile_model(p16, tmp_path / "p16", "m", weights="palette").layers[0].notes

    builder, inputs, outputs = _conv([1, 5, 5, 3], 0, (3, 3), depthwise=True)
    small = cluster_model(builder.save(tmp_path / "dw27_raw.tflite", inputs, outputs), tmp_path / "dw27.tflite", 16)
    tiny = compile_model(small.output, tmp_path / "dw27", "m", weights="palette")
    assert not any("palette" in n for n in tiny.layers[0].notes)


# ------------------------------------------------------------------ MLPerf Tiny models


class Clustered:
    """A model clustered to 16 values, compiled dense and palette."""

    def __init__(self, key: str, out: Path):
        self.key = key
        self.path = cluster_model(MODELS / INT8_MODELS[key], out / f"{key}_c16.tflite", 16).output
        self.dense = compile_model(self.path, out / f"{key}_dense", key)
        self.palette = compile_model(self.path, out / f"{key}_palette", key, weights="palette")
        graph = load_graph(self.path)
        self.filter_bytes = sum(graph.tensors[op.inputs[1]].nbytes for op in graph.operators
                                if op.opcode in WEIGHT_OPS)
        self.max_filter = max(graph.tensors[op.inputs[1]].nbytes for op in graph.operators
                              if op.opcode in WEIGHT_OPS)


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    out = tmp_path_factory.mktemp("palette_models")
    return {key: Clustered(key, out) for key in INT8_MODELS}


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_clustered_model_on_host(clustered, key):
    """Every weight layer encoded; host build bit-exact with TFLite; the filters take about
    half their dense bytes (index nibbles + a 16-byte table per layer); the arena grows by at
    most the largest decode buffer."""
    m = clustered[key]
    for layer in m.palette.layers:
        if layer.op in WEIGHT_OPS:   # FULLY_CONNECTED: the fused kernel (test_encoding_palette_fc.py)
            fused = layer.op == "FULLY_CONNECTED"
            assert layer.notes[-1].startswith("palette 4-bit"), (key, layer.index)
            assert layer.kernel == ("_PALETTE" if fused else ""), (key, layer.index)
    saved = m.dense.const_bytes - m.palette.const_bytes
    assert saved >= 0.45 * m.filter_bytes, (key, saved, m.filter_bytes)
    assert m.dense.arena_bytes <= m.palette.arena_bytes <= m.dense.arena_bytes + m.max_filter + 32
    host, golden = HostModel(m.palette.out_dir), GoldenModel(m.path)
    rng = np.random.default_rng(21)
    for i in range(4):
        data = rng.integers(-128, 128, m.palette.input.bytes, dtype=np.int8).tobytes()
        assert host.run(data) == golden.run_bytes(data), f"{key}: random input {i} differs from TFLite"


def _case(compiled, path: Path, inputs: int = 2):
    from vbench.modelcheck import ModelCase, random_inputs

    golden = GoldenModel(path)
    data = random_inputs(compiled, inputs, seed=5)
    return ModelCase(path.stem, path, compiled, data, [f"random#{i}" for i in range(len(data))],
                     [golden.run_bytes(d) for d in data], 0, [], len(data), 0)


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
@pytest.mark.parametrize("platform", ["nucleo-l4r5zi", "rv32imaf-mcu"])
@pytest.mark.parametrize("key", ["kws", "ad"])
def test_clustered_model_on_board(clustered, key, platform):
    """The palette build on the board, reference and optimized kernels: bit-exact with TFLite;
    the image is smaller than the dense image by most of the filters' half; RAM grows by the
    arena's growth."""
    from vbench.modelcheck import FirmwareJob, check_on_platform

    m = clustered[key]
    rows = {k: check_on_platform(FirmwareJob(_case(m.palette, m.path), platform, kernels=k))
            for k in ("reference", "optimized")}
    for kernels, row in rows.items():
        assert row["error"] is None, (kernels, row["error"])
        assert row["bit_exact"] and row["mismatches"] == 0, (kernels, row["mismatching_inputs"])
        assert row["layers"] == len(m.palette.layers)
    dense = check_on_platform(FirmwareJob(_case(m.dense, m.path, inputs=1), platform))
    assert dense["bit_exact"]
    saved = dense["flash_bytes"] - rows["reference"]["flash_bytes"]
    # the packed indices save half the filter; the palette image also links the decoder and the fused
    # FULLY_CONNECTED kernel, which a dense image leaves out (up to ~3 KB of code)
    assert saved >= 0.5 * m.filter_bytes - 3200, (dense["flash_bytes"], rows["reference"]["flash_bytes"])
    # the decode buffers live in the arena: measured RAM (stack aside) grows with it; AD has
    # FULLY_CONNECTED layers only, fused without buffers (test_encoding_palette_fc.py)
    growth = m.palette.arena_bytes - m.dense.arena_bytes
    ref = rows["reference"]
    assert ref["ram_bytes"] - ref["stack_bytes"] - (dense["ram_bytes"] - dense["stack_bytes"]) == growth
    assert growth > 0 if key == "kws" else growth == 0
