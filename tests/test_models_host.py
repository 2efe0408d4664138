"""The four MLPerf Tiny int8 models, compiled and run natively on the host, bit-exact with
TFLite's reference kernels: random inputs (fixed seed), every layer's output, the real KWS
accuracy set and the AD float input/output path."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter, OpResolverType

from vbench.compiler import compile_model, load_graph
from vbench.compiler.host_build import HostModel
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.golden import GoldenModel

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
DATASETS = REPO.parent / "shared" / "datasets"   # never copied into the repo
INT8_MODELS = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite",
               "ic": "ic_resnet8_int8.tflite", "ad": "ad01_int8.tflite"}
RANDOM_INPUTS = 100


class Pair:
    def __init__(self, key: str, out_dir: Path):
        self.path = MODELS / INT8_MODELS[key]
        self.compiled = compile_model(self.path, out_dir / key, key)
        self.host = HostModel(self.compiled.out_dir)
        self.golden = GoldenModel(self.path)


@pytest.fixture(scope="session")
def pairs(tmp_path_factory):
    out = tmp_path_factory.mktemp("models_host")
    return {key: Pair(key, out) for key in INT8_MODELS}


def _random_inputs(n_bytes: int, count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    fixed = [bytes(n_bytes), np.full(n_bytes, -128, np.int8).tobytes(),
             np.full(n_bytes, 127, np.int8).tobytes()]
    return fixed + [rng.integers(-128, 128, n_bytes, dtype=np.int8).tobytes() for _ in range(count)]


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_random_inputs_bit_exact(pairs, key):
    pair = pairs[key]
    mismatches = []
    inputs = _random_inputs(pair.compiled.input.bytes, RANDOM_INPUTS, seed=1234)
    for i, data in enumerate(inputs):
        if pair.host.run(data) != pair.golden.run_bytes(data):
            mismatches.append(i)
    assert not mismatches, f"{key}: {len(mismatches)}/{len(inputs)} inputs differ: {mismatches[:10]}"


@pytest.mark.parametrize("key", sorted(INT8_MODELS))
def test_every_layer_bit_exact(pairs, key):
    pair = pairs[key]
    interp = Interpreter(model_path=str(pair.path), experimental_preserve_all_tensors=True,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    detail = interp.get_input_details()[0]
    graph = load_graph(pair.path)
    for data in _random_inputs(pair.compiled.input.bytes, 3, seed=99)[3:]:
        interp.set_tensor(detail["index"], np.frombuffer(data, np.int8).reshape(detail["shape"]))
        interp.invoke()
        ours = pair.host.run_layers(data)
        for op in graph.operators:
            expected = interp.get_tensor(op.outputs[0]).tobytes()
            assert ours[op.index] == expected, f"{key}: layer {op.index} ({op.opcode}) differs"


def test_kws_real_dataset(pairs):
    folder = DATASETS / "kws01"
    files = sorted(folder.glob("*.bin")) if folder.is_dir() else []
    if not files:
        pytest.skip(f"{folder} not present (the KWS accuracy set is not shipped with vbench)")
    labels = {}
    with open(folder / "y_labels.csv", newline="") as f:
        for row in csv.reader(f):
            labels[row[0]] = int(row[2])
    pair = pairs["kws"]
    correct = 0
    for path in files:
        data = path.read_bytes()
        ours = pair.host.run(data)
        assert ours == pair.golden.run_bytes(data), f"{path.name} differs from the golden model"
        correct += int(np.argmax(np.frombuffer(ours, np.int8)) == labels[path.name])
    accuracy = correct / len(files)
    # docs/sources.md §Models 2: 90.1 % top-1 with TFLite reference kernels on the 1000 files.
    assert accuracy >= 0.89, accuracy


# ------------------------------------------------------------------ AD float path

def _single_op_model(path: Path, op: str, n: int, scale: float, zero_point: int) -> Path:
    b = TfliteBuilder()
    if op == "QUANTIZE":
        x = b.tensor("x", [1, n], "FLOAT32")
        y = b.tensor("y", [1, n], scale=scale, zero_point=zero_point)
    else:
        x = b.tensor("x", [1, n], scale=scale, zero_point=zero_point)
        y = b.tensor("y", [1, n], "FLOAT32")
    b.operator(op, [x], [y], {})
    return b.save(path, [x], [y])


def _hard_floats(scale: float, zero_point: int, n: int, seed: int) -> np.ndarray:
    """Ties (k + 0.5) * scale and their float neighbours, saturating and random values."""
    rng = np.random.default_rng(seed)
    s = np.float32(scale)
    k = rng.integers(-300, 300, n // 4).astype(np.float32)
    ties = (k + np.float32(0.5)) * s
    around = np.concatenate([ties, np.nextafter(ties, np.float32(np.inf)),
                             np.nextafter(ties, np.float32(-np.inf))])
    # Within int32 after division: TFLite's cast of larger quotients is undefined.
    extremes = np.array([0.0, -0.0, 1e-40, -1e-40, 8e8, -8e8, 1e5, -1e5,
                         (127 - zero_point) * s, (-128 - zero_point) * s], np.float32)
    rest = n - len(around) - len(extremes)
    randoms = rng.normal(0.0, 60.0 * float(s), rest).astype(np.float32)
    return np.concatenate([around, extremes, randoms])[:n].astype(np.float32)


def test_ad_float_input_quantized_like_tflite(pairs, tmp_path):
    pair = pairs["ad"]
    scale, zp = pair.compiled.input.scale, pair.compiled.input.zero_point
    golden = GoldenModel(_single_op_model(tmp_path / "q.tflite", "QUANTIZE", 640, scale, zp))
    for seed in range(20):
        values = _hard_floats(scale, zp, 640, seed)
        pair.host.set_input_f32(values)
        ours = pair.host.input_tensor()
        expected = golden.run(values).tobytes()
        diff = np.nonzero(np.frombuffer(ours, np.int8) != np.frombuffer(expected, np.int8))[0]
        assert ours == expected, f"seed {seed}: differs at {diff[:8]}: {values[diff[:8]]}"
    # Beyond int32 TFLite is undefined (x86: -128 for both signs); vbench saturates by sign.
    special = np.resize(np.array([np.inf, 1e30, 3.4e38, -np.inf, -1e30, np.nan], np.float32), 640)
    pair.host.set_input_f32(special)
    assert np.frombuffer(pair.host.input_tensor(), np.int8)[:6].tolist() == [127, 127, 127, -128, -128, -128]


def test_ad_output_dequantized_like_tflite(pairs, tmp_path):
    pair = pairs["ad"]
    scale, zp = pair.compiled.output.scale, pair.compiled.output.zero_point
    golden = GoldenModel(_single_op_model(tmp_path / "dq.tflite", "DEQUANTIZE", 640, scale, zp))
    rng = np.random.default_rng(5)
    for _ in range(5):
        x = rng.normal(0.0, 5.0, 640).astype(np.float32)
        ours = pair.host.run_f32(x)
        expected = golden.run(pair.host.output())
        assert ours.tobytes() == expected.tobytes()
    every_value = np.arange(-128, 128, dtype=np.int8)
    dq = GoldenModel(_single_op_model(tmp_path / "dq256.tflite", "DEQUANTIZE", 256, scale, zp))
    expected = dq.run(every_value).reshape(-1)
    np.testing.assert_array_equal(expected, (every_value.astype(np.float32) - np.float32(zp)) * np.float32(scale))


def test_ad_real_file_score(pairs, tmp_path):
    sample = DATASETS / "ad01" / "normal_id_01_00000000_hist_librosa.bin"
    if not sample.exists():
        pytest.skip(f"{sample} not present")
    pair = pairs["ad"]
    spectrogram = np.fromfile(sample, "<f4")
    scale, zp = pair.compiled.input.scale, pair.compiled.input.zero_point
    quantize = GoldenModel(_single_op_model(tmp_path / "q.tflite", "QUANTIZE", 640, scale, zp))
    errors = []
    for start in range(0, len(spectrogram) - 640 + 1, 128):
        window = spectrogram[start:start + 640]
        restored = pair.host.run_f32(window)
        assert pair.host.output() == pair.golden.run_bytes(quantize.run(window).tobytes())
        errors.append(np.mean((restored.astype(np.float64) - window) ** 2))
    assert len(errors) == 196
    # docs/sources.md §Models 2: the firmware-style score of this file is 10.265.
    assert abs(np.mean(errors) - 10.265) < 0.01, np.mean(errors)
