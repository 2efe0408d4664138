"""Model transforms (vbench.compiler.transforms, `vbench transform`): pruning reaches its target
sparsity per layer, exactly and deterministically, and only ever zeroes weights; block pruning
zeroes whole blocks; clustering leaves at most k values per layer and its 1-D k-means is optimal;
TFLite runs the written files; bad input is refused with the file named."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from vbench.cli import main
from vbench.compiler.tflite_reader import read_tflite
from vbench.compiler.transforms import cluster_model, kmeans_1d, prune_mask, prune_model
from vbench.errors import VbenchError

MODELS = Path(__file__).resolve().parents[1] / "models"
KWS = MODELS / "kws_ref_model.tflite"


def _filters(path: Path, ops: tuple[str, ...]) -> dict[int, np.ndarray]:
    g = read_tflite(path)
    return {op.index: g.tensors[op.inputs[1]].data for op in g.operators if op.opcode in ops}


@pytest.mark.parametrize("sparsity", [0.5, 0.75])
def test_prune_reaches_the_target_per_layer_and_only_zeroes(tmp_path, sparsity):
    out = tmp_path / "kws.tflite"
    report = prune_model(KWS, out, sparsity)
    before = _filters(KWS, ("CONV_2D", "FULLY_CONNECTED"))
    after = _filters(out, ("CONV_2D", "FULLY_CONNECTED"))
    assert sorted(after) == [l.op_index for l in report.layers] and len(after) == 6
    for index, w in after.items():
        zeros = int(np.count_nonzero(w == 0))
        assert zeros == max(round(sparsity * w.size), int(np.count_nonzero(before[index] == 0)))
        changed = w != before[index]
        assert np.all(w[changed] == 0)                       # pruning only ever zeroes
        kept = np.abs(before[index][w != 0].astype(int))
        dropped = np.abs(before[index][changed].astype(int))
        assert dropped.size == 0 or dropped.max() <= kept.min()   # the smallest magnitudes went
    # depthwise filters untouched, everything outside the weights byte-identical in size
    dw_before = _filters(KWS, ("DEPTHWISE_CONV_2D",))
    dw_after = _filters(out, ("DEPTHWISE_CONV_2D",))
    assert all(np.array_equal(dw_before[i], dw_after[i]) for i in dw_before)
    assert out.stat().st_size == KWS.stat().st_size
    assert report.sparsity == pytest.approx(sparsity, abs=0.01)


def test_prune_is_deterministic_and_tflite_runs_the_result(tmp_path):
    from vbench.golden import GoldenModel

    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    ra, rb = prune_model(KWS, a, 0.75), prune_model(KWS, b, 0.75)
    assert a.read_bytes() == b.read_bytes() and ra.sha256 == rb.sha256
    x = bytes(np.random.default_rng(1).integers(-128, 128, 490, dtype=np.int8).tobytes())
    y_pruned, y_dense = GoldenModel(a).run_bytes(x), GoldenModel(KWS).run_bytes(x)
    assert len(y_pruned) == len(y_dense) == 12 and y_pruned != y_dense


def test_block_pruning_zeroes_whole_blocks():
    w = np.random.default_rng(3).integers(-128, 128, (6, 3, 3, 8), dtype=np.int8)
    mask = prune_mask(w, 0.5, block=4)
    blocks = mask.reshape(-1, 2, 4)
    assert np.all(blocks.all(axis=2) | ~blocks.any(axis=2))   # a block is all pruned or all kept
    assert mask.mean() == pytest.approx(0.5)
    norms = np.abs(w.astype(int)).reshape(-1, 2, 4).sum(axis=2)
    pruned, kept = norms[blocks.all(axis=2)], norms[~blocks.any(axis=2)]
    assert pruned.max() <= kept.min()


def _kmeans_cost(values: np.ndarray, centroids: np.ndarray) -> float:
    return float(np.sum(np.min((values[:, None] - centroids[None, :].astype(float)) ** 2, axis=1)))


def test_kmeans_1d_is_optimal_on_small_sets():
    rng = np.random.default_rng(7)
    for _ in range(5):
        values = rng.integers(-20, 21, 60).astype(np.int8)
        levels = np.unique(values).astype(float)
        k = 3
        got = kmeans_1d(values, k)
        assert len(got) <= k
        # brute force over contiguous partitions of the sorted distinct levels (optimal 1-D clusters are contiguous)
        best = float("inf")
        for cut in itertools.combinations(range(1, len(levels)), k - 1):
            groups = np.split(levels, cut)
            cents = []
            for g in groups:
                members = values[np.isin(values, g)].astype(float)
                cents.append(members.mean())
            best = min(best, _kmeans_cost(values.astype(float), np.array(cents)))
        # our centroids are rounded to integers: within the rounding of the optimum
        assert _kmeans_cost(values.astype(float), got) <= best + 0.25 * len(values)


def test_cluster_leaves_at_most_k_values_per_layer(tmp_path):
    out = tmp_path / "ad16.tflite"
    report = cluster_model(MODELS / "ad01_int8.tflite", out, 16)
    after = _filters(out, ("FULLY_CONNECTED",))
    assert len(after) == 10 and all(len(np.unique(w)) <= 16 for w in after.values())
    assert all(l.distinct_after <= 16 < l.distinct_before for l in report.layers)
    assert all(0 < l.mean_abs_change < 4 for l in report.layers)


def test_bad_input_is_refused_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model")
    with pytest.raises(VbenchError, match="bad.tflite"):
        prune_model(bad, tmp_path / "o.tflite", 0.5)
    with pytest.raises(VbenchError, match="sparsity must be in"):
        prune_model(KWS, tmp_path / "o.tflite", 1.0)
    with pytest.raises(VbenchError, match="clusters must be in"):
        cluster_model(KWS, tmp_path / "o.tflite", 1)
    assert not (tmp_path / "o.tflite").exists()
    assert main(["transform", "prune", str(tmp_path / "missing.tflite"), "-o", str(tmp_path / "o.tflite")]) == 2
    assert "missing.tflite" in capsys.readouterr().err


def test_transform_command_writes_and_reports(tmp_path, capsys):
    out = tmp_path / "k.tflite"
    assert main(["transform", "prune", str(KWS), "-o", str(out), "--sparsity", "0.75", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["kind"] == "prune" and report["sparsity"] == pytest.approx(0.75, abs=0.01)
    assert out.is_file() and len(report["layers"]) == 6
    assert main(["transform", "cluster", str(KWS), "-o", str(tmp_path / "c.tflite")]) == 0
    assert "cluster" in capsys.readouterr().out


def test_compile_says_how_many_layers_an_encoding_took(tmp_path, capsys):
    clustered = tmp_path / "ad16.tflite"
    cluster_model(MODELS / "ad01_int8.tflite", clustered, 16)
    assert main(["compile", str(MODELS / "ad01_int8.tflite"), "-o", str(tmp_path / "a"), "--weights", "palette"]) == 0
    assert "palette: 0 layer(s) encoded (a layer needs <= 16 distinct weights" in capsys.readouterr().out
    assert main(["compile", str(clustered), "-o", str(tmp_path / "b"), "--weights", "palette", "--winograd"]) == 0
    out = capsys.readouterr().out
    assert "palette: 10 layer(s) encoded" in out and "winograd  0 layer(s)" in out


def test_sparse_conv_scratch_cap_keeps_a_layer_dense(tmp_path, monkeypatch):
    from vbench.compiler import compile_model
    from vbench.compiler.encodings import sparse

    pruned = tmp_path / "ic75.tflite"
    prune_model(MODELS / "ic_resnet8_int8.tflite", pruned, 0.75)
    full = compile_model(pruned, tmp_path / "a", "ic", weights="sparse")
    convs = [l for l in full.layers if l.op == "CONV_2D"]
    assert all(l.kernel == "_SPARSE" for l in convs)       # every IC conv fits the 16 KiB scratch cap
    monkeypatch.setattr(sparse, "SCRATCH_CAP_BYTES", 8 * 1024)   # below the 3x3x64 convs' 9 KiB
    capped = compile_model(pruned, tmp_path / "b", "ic", weights="sparse")
    big = [l for l in capped.layers if l.op == "CONV_2D" and l.input_shapes[0][-1] == 64
           and l.macs // (l.output_shape[1] * l.output_shape[2] * l.output_shape[3]) == 576]
    assert big and all(l.kernel == "" and any("exceeds 8192 B" in n for n in l.notes) for l in big)
    assert capped.arena_bytes <= full.arena_bytes
