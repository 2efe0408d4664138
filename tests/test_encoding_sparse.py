"""Sparse weight encoding (`compile --weights sparse`, vbench/compiler/encodings/sparse.py) and its
kernels (firmware/kernels/*/conv_2d_sparse.c, fully_connected_sparse.c).

* The encoding: deltas and values round-trip, gaps wider than 255 are bridged, all-zero channels
  have no entries, the zero point is folded into the bias, only layers with at least
  SPARSE_MIN_ZEROS zeros change, and the flash of a 75%-pruned layer is below the dense one.
* Generated CONV_2D / FULLY_CONNECTED layers (odd channel counts, SAME / VALID, stride 2,
  dilation, batches, per-channel and per-tensor weights, all-zero output channels, gaps > 255,
  pixel counts that leave partial blocks) bit-exact with TFLite and the dense build on the host,
  with the reference kernels and both optimized variants (portable C forms of their loops).
* A generated chain on both boards with the optimized variants (their assembly loops), and KWS and
  AD pruned to 50% and 75% on both boards with reference and optimized kernels, against TFLite.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from test_kernels_ops import ACT, PAD, _inputs, _weight_scales
from vbench.compiler import compile_model
from vbench.compiler.encodings import sparse
from vbench.compiler.host_build import HostModel
from vbench.firmware.kernels import KERNELS_DIR
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.transforms import prune_mask, prune_model
from vbench.compiler.validate import compute_out_size
from vbench.golden import GoldenModel

VARIANTS = (None, "cortex_m4_dsp", "rv32")
BOARDS = ("nucleo-l4r5zi", "rv32imaf-mcu")
HAVE_CROSS = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"))
MODELS = Path(__file__).resolve().parents[1] / "models"


# ------------------------------------------------------------------ the encoding itself

def test_encode_rows_round_trip_and_layout():
    rows = np.zeros((5, 700), np.int8)
    rows[0, [0, 1, 255, 256, 600]] = [5, -128, 127, -1, 3]   # position 0, gap 254, gap 345 (> 255)
    rows[2, 699] = -7                                         # first entry 699 away: two bridges
    rows[3, :] = np.arange(700) % 255 - 127                    # dense row
    rows[3, rows[3] == 0] = 1
    rows[4, 510] = 9                                          # exactly two steps of 255
    counts, entries = sparse.encode_rows(rows)
    assert counts.tolist() == [6, 0, 3, 700, 2]
    e = entries.astype(np.int64)
    # row 0: (0, 5) (1, -128) (254, 127) (1, -1) (255, 0) (89, 3)
    assert [(int(v) & 0xFF, int(v) >> 8) for v in e[:6]] == [(0, 5), (1, -128), (254, 127), (1, -1), (255, 0), (89, 3)]
    assert [(int(v) & 0xFF, int(v) >> 8) for v in e[6:9]] == [(255, 0), (255, 0), (189, -7)]
    assert [(int(v) & 0xFF, int(v) >> 8) for v in e[-2:]] == [(255, 0), (255, 9)]
    assert np.array_equal(sparse.decode_rows(counts, entries, 700), rows)
    rng = np.random.default_rng(3)
    for density in (0.001, 0.05, 0.5, 1.0):
        r = (rng.integers(-128, 128, (7, 1000)) * (rng.random((7, 1000)) < density)).astype(np.int8)
        c, en = sparse.encode_rows(r)
        assert np.array_equal(sparse.decode_rows(c, en, 1000), r)
        assert en.min() >= -32768 and en.max() <= 32767


def test_cols_constant_matches_header():
    header = (KERNELS_DIR / "kernels_sparse.h").read_text()
    assert int(re.search(r"#define VB_SPARSE_COLS (\d+)", header).group(1)) == sparse.SPARSE_COLS


# ------------------------------------------------------------------ generated layers

def _conv(in_shape, cout, kernel, stride=(1, 1), padding="SAME", dilation=(1, 1), act="NONE",
          per_channel=True, in_q=(0.05, -3), out_q=(0.1, 5), zeros=0.75, zero_rows=(), patterns=None,
          seed=0):
    """A CONV_2D with `zeros` of its weights (smallest |w|) zero, rows `zero_rows` all zero, and
    `patterns` {row: {position: value}} replacing whole rows."""
    rng = np.random.default_rng(seed)
    n, h, w, cin = in_shape
    kh, kw = kernel
    oh = compute_out_size(PAD[padding], h, kh, stride[0], dilation[0])
    ow = compute_out_size(PAD[padding], w, kw, stride[1], dilation[1])
    k = kh * kw * cin
    wq = rng.integers(-127, 128, (cout, k))
    wq[prune_mask(wq, zeros)] = 0
    for r in zero_rows:
        wq[r] = 0
    for r, pat in (patterns or {}).items():
        wq[r] = 0
        for pos, v in pat.items():
            wq[r, pos] = v
    fan = max(1, int(round(k * (1 - zeros))))
    wsc = _weight_scales(rng, cout if per_channel else 1, fan, in_q[0], out_q[0], 60.0)
    b = TfliteBuilder()
    x = b.tensor("x", in_shape, scale=in_q[0], zero_point=in_q[1])
    wt = b.tensor("w", [cout, kh, kw, cin], data=wq.reshape(cout, kh, kw, cin), scale=wsc, quantized_dimension=0)
    bsc = np.float32(in_q[0]) * (wsc if per_channel else np.repeat(wsc, cout))
    bt = b.tensor("b", [cout], "INT32", data=rng.integers(-20000, 20000, cout), scale=bsc)
    y = b.tensor("y", [n, oh, ow, cout], scale=out_q[0], zero_point=out_q[1])
    b.operator("CONV_2D", [x, wt, bt], [y], {"Padding": PAD[padding], "StrideW": stride[1], "StrideH": stride[0],
                                            "FusedActivationFunction": ACT[act], "DilationWFactor": dilation[1],
                                            "DilationHFactor": dilation[0]})
    return b, [x], [y]


def _fc(batches, depth, units, act="NONE", per_channel=False, in_q=(0.05, 7), out_q=(0.1, -9), zeros=0.75,
        zero_rows=(), patterns=None, seed=1):
    rng = np.random.default_rng(seed)
    wq = rng.integers(-127, 128, (units, depth))
    wq[prune_mask(wq, zeros)] = 0
    for r in zero_rows:
        wq[r] = 0
    for r, pat in (patterns or {}).items():
        wq[r] = 0
        for pos, v in pat.items():
            wq[r, pos] = v
    fan = max(1, int(round(depth * (1 - zeros))))
    wsc = _weight_scales(rng, units if per_channel else 1, fan, in_q[0], out_q[0], 60.0)
    b = TfliteBuilder()
    x = b.tensor("x", [batches, depth], scale=in_q[0], zero_point=in_q[1])
    w = b.tensor("w", [units, depth], data=wq, scale=wsc)
    bt = b.tensor("b", [units], "INT32", data=rng.integers(-3000, 3000, units), scale=np.float32(in_q[0]) * wsc)
    y = b.tensor("y", [batches, units], scale=out_q[0], zero_point=out_q[1])
    b.operator("FULLY_CONNECTED", [x, w, bt], [y], {"FusedActivationFunction": ACT[act]})
    return b, [x], [y]


GAP = {0: {0: 9, 299: -5}, 1: {280: 77}, 2: {3: -2, 260: 1, 299: 127}}   # gaps 299, 280 and 257 (> 255)

LAYERS = {
    # 7 x 9 = 63 pixels: partial 8- and 16-column blocks; odd out_c; padding on every border
    "conv_3x3_same_odd_channels_relu": lambda: _conv([1, 7, 9, 5], 7, (3, 3), act="RELU", zero_rows=(2,)),
    "conv_3x3_stride2_valid_per_tensor": lambda: _conv([1, 11, 9, 3], 5, (3, 3), stride=(2, 2), padding="VALID",
                                                       per_channel=False, zeros=0.5),
    "conv_kws_like_10x4_stride2_same": lambda: _conv([1, 21, 10, 1], 9, (10, 4), stride=(2, 2), act="RELU",
                                                     in_q=(0.58, 83), out_q=(0.08, -128)),
    "conv_1x1_pointwise_zp_folded": lambda: _conv([1, 5, 4, 16], 11, (1, 1), padding="VALID",
                                                  in_q=(0.04, -128), out_q=(0.05, -128), zeros=0.9),
    "conv_1x1_stride2_one_pixel_block": lambda: _conv([1, 5, 5, 6], 4, (1, 1), stride=(2, 2), padding="VALID"),
    "conv_dilation_batch2_all_zero_channels": lambda: _conv([2, 9, 8, 3], 6, (3, 2), dilation=(2, 3),
                                                            zero_rows=(0, 5), in_q=(0.03, -7)),
    "conv_k300_gaps_over_255": lambda: _conv([1, 4, 5, 100], 4, (1, 3), padding="SAME", zeros=0.97, patterns=GAP,
                                             in_q=(0.02, 11)),
    "conv_5x5_stride2_relu6_per_channel": lambda: _conv([1, 9, 7, 4], 8, (5, 5), stride=(2, 2), act="RELU6",
                                                        out_q=(0.03, -128), zeros=0.6),
    "fc_depth37_rows11": lambda: _fc(1, 37, 11, zero_rows=(4,)),
    "fc_batches5_relu6": lambda: _fc(5, 20, 9, act="RELU6", out_q=(0.03, -128)),          # 4-batch path + 1
    "fc_batches2_per_channel": lambda: _fc(2, 33, 7, per_channel=True, in_q=(0.05, 3), out_q=(0.02, -5), zeros=0.6),
    "fc_depth300_gaps_over_255": lambda: _fc(1, 300, 3, patterns=GAP, zeros=0.95),
    "fc_depth64_rows37_half": lambda: _fc(1, 64, 37, zeros=0.5, seed=5),
}


def _compiled(tmp_path: Path, name: str):
    builder, inputs, outputs = LAYERS[name]()
    path = builder.save(tmp_path / f"{name}.tflite", inputs, outputs)
    dense = compile_model(path, tmp_path / "dense", "m")
    sp = compile_model(path, tmp_path / "sparse", "m", weights="sparse")
    return path, dense, sp


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_bit_exact_on_host(name, tmp_path):
    path, dense, sp = _compiled(tmp_path, name)
    layer = sp.layers[0]
    assert layer.kernel == "_SPARSE" and any(n.startswith("sparse ") for n in layer.notes), layer.notes
    assert sp.weights == "sparse" and dense.layers[0].kernel == ""
    golden = GoldenModel(path)
    ref = HostModel(dense.out_dir)
    hosts = {v or "reference": HostModel(sp.out_dir, v) for v in VARIANTS}
    for i, data in enumerate(_inputs(golden, 4, seed=len(name))):
        expected = golden.run_bytes(data)
        assert ref.run(data) == expected, f"{name} input {i}: dense build differs from TFLite"
        for v, host in hosts.items():
            assert host.run(data) == expected, f"{name} input {i}: sparse {v} differs from TFLite"


def test_only_mostly_zero_conv_and_fc_layers_change(tmp_path):
    """A layer just below SPARSE_MIN_ZEROS stays dense; at or above it is sparse, with the zero
    point folded into the bias, the padding value kept, and its flash below the dense layer at 75%."""
    b, i, o = _conv([1, 6, 6, 4], 6, (3, 3), zeros=sparse.SPARSE_MIN_ZEROS - 0.03)
    below = compile_model(b.save(tmp_path / "below.tflite", i, o), tmp_path / "below", "m", weights="sparse")
    assert below.layers[0].kernel == "" and not any("sparse" in n for n in below.layers[0].notes)

    b, i, o = _conv([1, 6, 6, 4], 6, (3, 3), zeros=0.75, in_q=(0.05, -3))
    path = b.save(tmp_path / "c.tflite", i, o)
    dense = compile_model(path, tmp_path / "d", "m")
    sp = compile_model(path, tmp_path / "s", "m", weights="sparse")
    d, s = dense.layers[0], sp.layers[0]
    assert s.kernel == "_SPARSE" and "sparse 75% zeros" in s.notes and "zp folded" in s.notes
    assert s.weight_bytes < 0.75 * d.weight_bytes
    assert sp.weight_bytes < dense.weight_bytes
    text = (sp.out_dir / "m_model.c").read_text()
    assert ".input_zero_point = -3," in text and "vb_conv_sparse_params_t" in text
    # the planned scratch: K x 8 int16 columns in the arena
    assert sp.arena_bytes >= 3 * 3 * 4 * sparse.SPARSE_COLS * 2


def test_depthwise_and_dense_layers_untouched(tmp_path):
    """DEPTHWISE_CONV_2D is not encoded, nor an unpruned model's layers (KWS: about 1% zeros)."""
    cm = compile_model(MODELS / "kws_ref_model.tflite", tmp_path / "kws", "m", weights="sparse")
    assert all(l.kernel == "" for l in cm.layers)
    dense = compile_model(MODELS / "kws_ref_model.tflite", tmp_path / "kwsd", "m")
    assert cm.weight_bytes == dense.weight_bytes
    # VWW's late pointwise layers are mostly zero without any pruning
    vww = compile_model(MODELS / "vww_96_int8.tflite", tmp_path / "vww", "m", weights="sparse")
    encoded = [l for l in vww.layers if l.kernel == "_SPARSE"]
    assert len(encoded) >= 6 and all(l.op == "CONV_2D" for l in encoded)
    assert not any(l.kernel for l in vww.layers if l.op == "DEPTHWISE_CONV_2D")


# ------------------------------------------------------------------ boards

def _chain(path: Path, seed: int = 4) -> Path:
    """CONV 3x3 SAME (3 -> 32, 63 pixels, an all-zero channel) -> CONV 3x3/2 SAME (32 -> 7, K = 288,
    rows with gaps > 255, 20 pixels) -> FC (140 -> 9, counts of every residue mod 4)."""
    rng = np.random.default_rng(seed)
    b = TfliteBuilder()
    x = b.tensor("x", [1, 7, 9, 3], scale=0.05, zero_point=-7)

    def conv(src, in_shape, cout, stride, wq, out_q, name):
        n, h, w, cin = in_shape
        oh, ow = compute_out_size(0, h, 3, stride), compute_out_size(0, w, 3, stride)
        fan = max(1, int(np.count_nonzero(wq) // cout))
        wsc = _weight_scales(rng, cout, fan, 0.05, out_q[0], 60.0)
        wt = b.tensor(f"w{name}", [cout, 3, 3, cin], data=wq.reshape(cout, 3, 3, cin), scale=wsc)
        bt = b.tensor(f"b{name}", [cout], "INT32", data=rng.integers(-3000, 3000, cout), scale=np.float32(0.05) * wsc)
        y = b.tensor(f"y{name}", [n, oh, ow, cout], scale=0.05, zero_point=out_q[1])
        b.operator("CONV_2D", [src, wt, bt], [y], {"Padding": 0, "StrideW": stride, "StrideH": stride,
                                                 "FusedActivationFunction": ACT["RELU"], "DilationWFactor": 1,
                                                 "DilationHFactor": 1})
        return y, [n, oh, ow, cout]

    w1 = rng.integers(-127, 128, (32, 27))
    w1[prune_mask(w1, 0.6)] = 0
    w1[5] = 0
    y1, s1 = conv(x, [1, 7, 9, 3], 32, 1, w1, (0.05, -20), 1)
    w2 = rng.integers(-127, 128, (7, 288))
    w2[prune_mask(w2, 0.9)] = 0
    w2[0] = 0
    w2[0, [0, 287]] = [50, -60]
    w2[3] = 0
    w2[3, 270] = 100
    y2, s2 = conv(y1, s1, 7, 2, w2, (0.05, -10), 2)
    depth = int(np.prod(s2[1:]))
    wf = rng.integers(-127, 128, (9, depth))
    wf[prune_mask(wf, 0.7)] = 0
    for r in range(4):                 # counts 1, 2, 3, 4 (mod 4: 1, 2, 3, 0)
        wf[r] = 0
        wf[r, rng.choice(depth, r + 1, replace=False)] = rng.integers(1, 100, r + 1)
    wsc = np.float32(40.0 * 0.1 / (0.05 * 73.0 * 147.0 * 6))
    rs = b.tensor("flat", [1, depth], scale=0.05, zero_point=-10)
    shape_t = b.tensor("shape", [2], "INT32", data=[1, depth])
    b.operator("RESHAPE", [y2, shape_t], [rs], {"NewShape": [1, depth]})
    wt = b.tensor("wf", [9, depth], data=wf, scale=wsc)
    bt = b.tensor("bf", [9], "INT32", data=rng.integers(-3000, 3000, 9), scale=np.float32(0.05) * wsc)
    y = b.tensor("yf", [1, 9], scale=0.1, zero_point=-9)
    b.operator("FULLY_CONNECTED", [rs, wt, bt], [y], {"FusedActivationFunction": 0})
    return b.save(path, [x], [y])


def _folded_sparse(path: Path):
    from vbench.compiler.fold import fold_graph
    from vbench.compiler.tflite_reader import read_tflite
    from vbench.compiler.validate import validate_graph

    graph = read_tflite(path)
    validate_graph(graph, "int8")
    layers = fold_graph(graph)
    sparse.encode(graph, layers)
    return [l for l in layers if l.kernel == "_SPARSE"]


def _case(path: Path, inputs: int):
    """A modelcheck case of the sparse build of `path`: golden outputs, host build checked."""
    from vbench.modelcheck import ModelCase, random_inputs

    from vbench.studies import compile_cached

    # a directory keyed by the model's sha256, so the firmware build cache is reused between runs
    compiled = compile_cached(path, "int8", weights="sparse")
    golden, host = GoldenModel(path), HostModel(compiled.out_dir)
    data = random_inputs(compiled, inputs, 20240)
    expected = [golden.run_bytes(d) for d in data]
    bad = [f"random#{i}" for i, (d, e) in enumerate(zip(data, expected)) if host.run(d) != e]
    return ModelCase(path.stem, path, compiled, data, [f"random#{i}" for i in range(len(data))], expected,
                     0, bad, len(data), 0)


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
@pytest.mark.parametrize("platform", BOARDS)
def test_chain_on_board_optimized(tmp_path, platform):
    from vbench.modelcheck import FirmwareJob, check_on_platform

    case = _case(_chain(tmp_path / "chain.tflite"), 3)
    assert [l.kernel for l in case.compiled.layers if l.op != "RESHAPE"] == ["_SPARSE"] * 3
    for layer in _folded_sparse(case.path):   # every residue of the entry counts mod 4 (unrolled loops)
        assert sorted(set((layer.arrays["counts"] % 4).tolist())) == [0, 1, 2, 3], layer.op
    assert not case.host_bad_inputs
    row = check_on_platform(FirmwareJob(case, platform, kernels="optimized"))
    assert row["error"] is None, row["error"]
    assert row["bit_exact"] and row["mismatches"] == 0, row["mismatching_inputs"]


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
@pytest.mark.parametrize("model", ["kws_ref_model", "ad01_int8"])
def test_pruned_models_on_both_boards(tmp_path, model):
    """KWS (CONV_2D + FC) and AD (FC only) pruned to 50% and 75%: the sparse build is bit-exact
    with TFLite on the host and on both boards with reference and optimized kernels, and at 75%
    its flash is below the dense build's."""
    from vbench.modelcheck import FirmwareJob, check_on_platform, run_jobs

    jobs, flash = [], {}
    for level in (50, 75):
        pruned = tmp_path / f"{model}-p{level}.tflite"
        prune_model(MODELS / f"{model}.tflite", pruned, level / 100)
        case = _case(pruned, 1)
        assert not case.host_bad_inputs, case.host_bad_inputs
        encoded = [l for l in case.compiled.layers if l.kernel == "_SPARSE"]
        assert encoded and all(f"sparse {level}% zeros" in l.notes for l in encoded)
        dense = compile_model(pruned, tmp_path / f"{model}-p{level}-dense", "m")
        flash[level] = (case.compiled.weight_bytes, dense.weight_bytes)
        jobs += [FirmwareJob(case, p, kernels=k) for p in BOARDS for k in ("reference", "optimized")]
    rows = run_jobs(jobs, workers=1)
    for r in rows:
        where = f"{r['model']} on {r['platform']} ({r['kernels']})"
        assert r["error"] is None, (where, r["error"])
        assert r["bit_exact"] and r["mismatches"] == 0, (where, r["mismatching_inputs"])
    assert flash[75][0] < 0.7 * flash[75][1], flash
