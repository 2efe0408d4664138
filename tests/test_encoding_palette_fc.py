"""Fused palette FULLY_CONNECTED (`compile --weights palette`, VB_OP_FULLY_CONNECTED_PALETTE): a
clustered FC layer keeps 4-bit indices (groups of 4 rows, chunks of 4 inputs, see
kernels_palette.h) and a 16-entry table in flash, and its kernel looks weights up while it
multiplies: no decoder, no arena buffer.

* The index layout: hand-checked bytes, padding, round trip on odd shapes; the header constant.
* Generated clustered FC layers (odd depths and row counts, depth < 4, batches 2 and 3,
  per-channel and per-tensor, RELU / RELU6, saturation, 5 values): same folded arrays and flags
  as the dense layer, no arena growth, and reference plus both variants bit-exact with the
  dense build and TFLite on the host (the cortex_m4_dsp assembly runs as its C twin there).
* A chain of six generated FC layers (every residue of the chunk loop: 0, 1, odd and even
  chunk counts, every input tail, last groups of 1 to 3 rows, row blocks of 32) on both boards with reference
  and optimized kernels: bit-exact with TFLite (this runs the Cortex-M4 assembly).
* The clustered AD model (FULLY_CONNECTED only) on both boards: bit-exact, the arena and RAM
  (stack aside) equal to the dense build's, flash about half of the filters smaller, and the
  optimized fused kernel within 20% of the dense optimized cycles.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from test_kernels_ops import ACT, _fc, _inputs, _weight_scales
from vbench.compiler import compile_model
from vbench.compiler.encodings import palette
from vbench.compiler.encodings.palette import FC_ROWS, fc_layout, fc_unlayout
from vbench.compiler.fold import FLAG_SINGLE_ROUNDING, FLAG_ZP_FOLDED
from vbench.compiler.host_build import HostModel
from vbench.firmware.kernels import KERNELS_DIR
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.transforms import cluster_model
from vbench.golden import GoldenModel

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
VARIANTS = ("cortex_m4_dsp", "rv32")
BOARDS = ("nucleo-l4r5zi", "rv32imaf-mcu")
HAVE_CROSS = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"))


# ------------------------------------------------------------------ layout

def test_fc_layout_bytes_and_padding():
    """Rows 0..4 (a group of 4 and a group of 1), depth 5 (a full chunk and a padded one): a
    chunk holds 2 bytes per row of its group, byte 2r inputs 0 | 2 << 4 of row r, byte 2r + 1
    inputs 1 | 3 << 4; inputs past the depth are index 0; nothing pads the rows."""
    table = np.zeros(16, np.int8)
    table[:10] = np.arange(-5, 5)             # value v has index v + 5
    w = (np.arange(25).reshape(5, 5) % 10 - 5).astype(np.int8)
    packed = fc_layout(w, table)
    assert packed.dtype == np.uint8 and packed.size == 5 * 2 * 2   # 5 rows x 2 chunks x 2 bytes
    idx = w.astype(np.int64) + 5
    g0c0 = packed[:8]
    for r in range(4):
        assert g0c0[2 * r] == idx[r, 0] | idx[r, 2] << 4
        assert g0c0[2 * r + 1] == idx[r, 1] | idx[r, 3] << 4
    g0c1 = packed[8:16]                       # input 4 only
    assert list(g0c1) == [idx[r, 4] if k == 0 else 0 for r in range(4) for k in (0, 1)]
    assert list(packed[16:]) == [idx[4, 0] | idx[4, 2] << 4, idx[4, 1] | idx[4, 3] << 4, idx[4, 4], 0]


def test_fc_layout_round_trip():
    rng = np.random.default_rng(5)
    for rows, depth in [(1, 1), (3, 7), (4, 4), (5, 9), (13, 3), (37, 67), (8, 640)]:
        values = np.sort(rng.choice(np.arange(-128, 128), 16, replace=False)).astype(np.int8)
        w = rng.choice(values, (rows, depth))
        packed, table = palette.palette(w)
        assert (fc_unlayout(fc_layout(w, table), table, rows, depth) == w).all(), (rows, depth)
        assert fc_layout(w, table).size == rows * -(-depth // 4) * 2


def test_rows_constant_matches_header():
    header = (KERNELS_DIR / "kernels_palette.h").read_text()
    assert re.search(r"#define VB_FC_PALETTE_ROWS (\d+)", header).group(1) == str(FC_ROWS)
    kernels_h = (KERNELS_DIR / "kernels.h").read_text()
    assert "VB_OP_FULLY_CONNECTED_PALETTE = 22" in kernels_h


# ------------------------------------------------------------------ generated layers

LAYERS = {
    # depth 37: 9 chunks + 1; 11 rows: a last group of 3; per-channel
    "fc_37x11_per_channel": lambda: _fc([1, 37], 11, per_channel=True, in_q=(0.05, 3), out_q=(0.02, -5)),
    # 2 batches, 37 rows (two row blocks, a last group of 1), input tail 3, RELU
    "fc_67x37_batches2_relu": lambda: _fc([2, 67], 37, act="RELU", seed=6),
    # 3 batches, input tail 2, RELU6 with output zero point -128
    "fc_130x9_batches3_relu6": lambda: _fc([3, 130], 9, act="RELU6", out_q=(0.03, -128), seed=4),
    # KWS's last layer's shape: no input tail, full groups, per-channel
    "fc_64x12_per_channel": lambda: _fc([1, 64], 12, per_channel=True, seed=3),
    # depth 3 < 4: the tail chunk only; 2 batches
    "fc_3x40_batches2": lambda: _fc([2, 3], 40, seed=7),
    # outputs far past the int8 range: saturation at both ends
    "fc_50x12_saturating": lambda: _fc([1, 50], 12, target=5000.0, seed=8),
    # 5 values: table entries unused; 70 rows = blocks of 32, 32, 6 (a last group of 2)
    "fc_96x70_5_values": lambda: _fc([1, 96], 70, act="RELU", seed=9),
}


def _clustered(tmp_path: Path, name: str, clusters: int = 16) -> Path:
    builder, inputs, outputs = LAYERS[name]()
    raw = builder.save(tmp_path / f"{name}_raw.tflite", inputs, outputs)
    return cluster_model(raw, tmp_path / f"{name}.tflite", clusters).output


def _folded(path: Path, encode: bool):
    from vbench.compiler.fold import fold_graph
    from vbench.compiler.tflite_reader import read_tflite
    from vbench.compiler.validate import validate_graph

    graph = read_tflite(path)
    validate_graph(graph, "int8")
    layers = fold_graph(graph)
    if encode:
        palette.encode(graph, layers)
    return layers


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_generated_fc_layer_bit_exact(tmp_path, name):
    clusters = 5 if name.endswith("5_values") else 16
    path = _clustered(tmp_path, name, clusters)
    (layer,), (dense_layer,) = _folded(path, True), _folded(path, False)
    assert layer.kernel == "_PALETTE" and layer.decoder is None and not layer.arena_pointers
    assert layer.notes[-1] == "palette 4-bit, fused" and layer.params_struct == "vb_fc_palette_params_t"
    p, d = layer.params, dense_layer.params
    assert p["flags"] == d["flags"] == FLAG_ZP_FOLDED | FLAG_SINGLE_ROUNDING and d["input_offset"] == 0
    for k in ("batches", "in_depth", "out_depth", "output_offset", "act_min", "act_max", "per_channel"):
        assert p[k] == d[k], k
    for k in ("bias", "multiplier", "shift"):
        assert (layer.arrays[k] == dense_layer.arrays[k]).all(), k
    rows, depth = d["out_depth"], d["in_depth"]
    table = layer.arrays["table"]
    assert len(np.unique(dense_layer.arrays["filter"])) <= clusters
    assert (fc_unlayout(layer.arrays["packed"], table, rows, depth)
            == dense_layer.arrays["filter"].reshape(rows, depth)).all()

    dense = compile_model(path, tmp_path / "dense", "m")
    pal = compile_model(path, tmp_path / "palette", "m", weights="palette")
    assert pal.layers[0].kernel == "_PALETTE"
    assert pal.arena_bytes == dense.arena_bytes            # no decode buffer
    assert pal.const_bytes < dense.const_bytes
    source = pal.c_file.read_text()
    assert "vb_fc_palette_params_t" in source and "vb_palette_decoder_t" not in source
    golden = GoldenModel(path)
    builds = {"dense": HostModel(dense.out_dir), "palette": HostModel(pal.out_dir),
              **{f"palette/{v}": HostModel(pal.out_dir, v) for v in VARIANTS}}
    for i, data in enumerate(_inputs(golden, 4, seed=len(name))):
        expected = golden.run_bytes(data)
        for label, host in builds.items():
            assert host.run(data) == expected, f"{name} input {i}: {label} differs from TFLite"


def test_fc_stays_dense_without_gain_or_palette(tmp_path):
    """17 values: dense FULLY_CONNECTED; 30 weights (5 x 6) would take 16 index bytes plus the
    table: dense too."""
    path = _clustered(tmp_path, "fc_37x11_per_channel", 17)
    assert _folded(path, True)[0].kernel == ""
    builder, inputs, outputs = _fc([1, 5], 6, seed=2)
    small = cluster_model(builder.save(tmp_path / "small_raw.tflite", inputs, outputs), tmp_path / "small.tflite", 16)
    (layer,) = _folded(small.output, True)
    assert layer.kernel == "" and "filter" in layer.arrays and not any("palette" in n for n in layer.notes)


# ------------------------------------------------------------------ boards

# (units, activation, per-channel): input depths 3, 40, 6, 29, 64, 70 run the assembly's chunk
# loop on 0, 10, 1, 7, 16 and 17 chunks (every count mod 4, with and without the 4-chunk loop),
# with input tails 3, 0, 2, 1, 0, 2; the last groups have 4, 2, 1, 4, 2 and 3 rows.
CHAIN = [(40, "RELU", True), (6, "NONE", False), (29, "RELU6", True), (64, "RELU", False),
         (70, "NONE", True), (11, "NONE", False)]


def _chain(tmp_path: Path, batches: int = 2, seed: int = 12) -> Path:
    rng = np.random.default_rng(seed)
    b = TfliteBuilder()
    depth, in_q = 3, (0.05, -7)
    x = src = b.tensor("x", [batches, depth], scale=in_q[0], zero_point=in_q[1])
    for i, (units, act, per_channel) in enumerate(CHAIN):
        out_q = (0.04, -128) if act in ("RELU", "RELU6") else (0.06, int(rng.integers(-20, 20)))
        wsc = _weight_scales(rng, units if per_channel else 1, depth, in_q[0], out_q[0], 60.0)
        w = b.tensor(f"w{i}", [units, depth], data=rng.integers(-127, 128, (units, depth)), scale=wsc)
        bias = b.tensor(f"b{i}", [units], "INT32", data=rng.integers(-3000, 3000, units),
                        scale=np.float32(in_q[0]) * wsc)
        y = b.tensor(f"y{i}", [batches, units], scale=out_q[0], zero_point=out_q[1])
        b.operator("FULLY_CONNECTED", [src, w, bias], [y], {"FusedActivationFunction": ACT[act]})
        src, depth, in_q = y, units, out_q
    raw = b.save(tmp_path / "chain_raw.tflite", [x], [src])
    return cluster_model(raw, tmp_path / "chain.tflite", 16).output


def _case(path: Path, name: str, weights: str, inputs: int):
    from vbench.modelcheck import ModelCase, compile_cached, random_inputs

    compiled = compile_cached(path, name, weights)
    golden = GoldenModel(path)
    data = random_inputs(compiled, inputs, 20240)
    return ModelCase(path.stem, path, compiled, data, [f"random#{i}" for i in range(len(data))],
                     [golden.run_bytes(d) for d in data], 0, [], len(data), 0)


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
def test_chain_on_both_boards(tmp_path):
    from vbench.modelcheck import FirmwareJob, run_jobs

    case = _case(_chain(tmp_path), "fcchain", "palette", 3)
    assert [l.kernel for l in case.compiled.layers] == ["_PALETTE"] * len(CHAIN)
    rows = run_jobs([FirmwareJob(case, p, kernels=k) for p in BOARDS for k in ("reference", "optimized")])
    for r in rows:
        where = f"{r['platform']} ({r['kernels']})"
        assert r["error"] is None, (where, r["error"])
        assert r["bit_exact"] and r["mismatches"] == 0, (where, r["mismatching_inputs"])


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
def test_clustered_ad_on_both_boards(tmp_path):
    """AD clustered to 16 values (ten FULLY_CONNECTED layers): the fused build is bit-exact with
    TFLite on both boards with reference and optimized kernels; it plans the dense arena (no
    decode buffers), its RAM besides the stack equals the dense build's (the stack holds the
    optimized kernels' pair tables: 1 KB on the Cortex-M4, 512 B on RV32), its flash is smaller
    by at least 45% of the filter bytes, and optimized it runs within 20% of the dense optimized
    cycles (the decode-into-arena design it replaces took 1.7-1.9x)."""
    from vbench.compiler import load_graph
    from vbench.modelcheck import FirmwareJob, run_jobs

    path = cluster_model(MODELS / "ad01_int8.tflite", tmp_path / "ad_c16.tflite", 16).output
    pal, dense = _case(path, "ad", "palette", 2), _case(path, "ad", "dense", 1)
    assert {l.kernel for l in pal.compiled.layers} == {"_PALETTE"}
    assert pal.compiled.arena_bytes == dense.compiled.arena_bytes
    graph = load_graph(path)
    filter_bytes = sum(graph.tensors[op.inputs[1]].nbytes for op in graph.operators)
    jobs = [FirmwareJob(c, p, kernels=k) for p in BOARDS for c in (pal, dense) for k in ("reference", "optimized")]
    rows = {(r["platform"], r["weights"], r["kernels"] == "reference"): r for r in run_jobs(jobs)}
    for (platform, weights, ref), r in rows.items():
        where = f"AD {weights} on {platform} ({r['kernels']})"
        assert r["error"] is None, (where, r["error"])
        assert r["bit_exact"] and r["mismatches"] == 0, (where, r["mismatching_inputs"])
    for platform in BOARDS:
        for ref in (True, False):
            p, d = rows[(platform, "palette", ref)], rows[(platform, "dense", ref)]
            assert p["arena_linked_bytes"] == d["arena_linked_bytes"]
            assert p["ram_bytes"] - p["stack_bytes"] == d["ram_bytes"] - d["stack_bytes"], platform
            assert p["stack_bytes"] <= d["stack_bytes"] + 1024 + 160, (platform, p["stack_bytes"], d["stack_bytes"])
            # half the filter saved, less the palette kernels' code a dense image does not link
            assert d["flash_bytes"] - p["flash_bytes"] >= 0.5 * filter_bytes - 3200, (platform, ref)
        fast, slow = rows[(platform, "palette", False)], rows[(platform, "palette", True)]
        assert fast["cycles"] < 0.7 * slow["cycles"], (platform, fast["cycles"], slow["cycles"])
        assert fast["cycles"] <= 1.2 * rows[(platform, "dense", False)]["cycles"], platform
