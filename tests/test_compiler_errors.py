"""Bad input gives one clear VbenchError: truncated or corrupt files, unsupported operators
and options (named with their index), float models, wrong input sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vbench.compiler import compile_model
from vbench.compiler.host_build import HostModel
from vbench.firmware.kernels import kernel_sources
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.errors import VbenchError

MODELS = Path(__file__).resolve().parents[1] / "models"
KWS = MODELS / "kws_ref_model.tflite"


def _conv_relu_model(path: Path, second_op: str | None = None, activation: int = 1,
                     weight_zp: int = 0) -> Path:
    """1x6x6x2 -> CONV_2D 3x3 (-> optional second op) as a small valid starting point."""
    rng = np.random.default_rng(0)
    b = TfliteBuilder()
    x = b.tensor("x", [1, 6, 6, 2], scale=0.05, zero_point=-3)
    w = b.tensor("w", [3, 3, 3, 2], data=rng.integers(-127, 128, (3, 3, 3, 2)),
                 scale=[0.01, 0.02, 0.03], zero_point=weight_zp)
    bias = b.tensor("b", [3], "INT32", data=[1, 2, 3], scale=[0.0005, 0.001, 0.0015])
    y = b.tensor("y", [1, 6, 6, 3], scale=0.1, zero_point=-128)
    b.operator("CONV_2D", [x, w, bias], [y], {"Padding": 0, "StrideW": 1, "StrideH": 1,
                                             "FusedActivationFunction": activation,
                                             "DilationWFactor": 1, "DilationHFactor": 1})
    out = y
    if second_op:
        out = b.tensor("z", [1, 6, 6, 3], scale=0.1, zero_point=-128)
        b.operator(second_op, [y], [out], None)
    return b.save(path, [x], [out])


def test_valid_starting_point_compiles(tmp_path):
    compiled = compile_model(_conv_relu_model(tmp_path / "ok.tflite"), tmp_path / "out", "ok")
    assert [l.op for l in compiled.layers] == ["CONV_2D"]


@pytest.mark.parametrize("keep", [0, 7, 100, 0.25, 0.5, 0.9])
def test_truncated_file_is_named(tmp_path, keep):
    data = KWS.read_bytes()
    n = keep if isinstance(keep, int) else int(len(data) * keep)
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(data[:n])
    with pytest.raises(VbenchError, match=r"cut\.tflite.*(truncated or corrupt)"):
        compile_model(bad, tmp_path / "out", "cut")


def test_corrupt_offsets_and_identifier(tmp_path):
    data = bytearray(KWS.read_bytes())
    no_ident = tmp_path / "ident.tflite"
    no_ident.write_bytes(bytes(data[:4] + b"XXXX" + data[8:]))
    with pytest.raises(VbenchError, match="ident.tflite.*TFL3"):
        compile_model(no_ident, tmp_path / "o1", "x")
    bad_root = tmp_path / "root.tflite"
    bad_root.write_bytes(bytes(b"\xff\xff\xff\x7f" + data[4:]))
    with pytest.raises(VbenchError, match="root.tflite.*truncated or corrupt"):
        compile_model(bad_root, tmp_path / "o2", "x")
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VbenchError, match="garbage.tflite"):
        compile_model(garbage, tmp_path / "o3", "x")


def test_missing_file(tmp_path):
    with pytest.raises(VbenchError, match="cannot read model"):
        compile_model(tmp_path / "nope.tflite", tmp_path / "out", "x")


@pytest.mark.parametrize("op", ["TANH", "LOGISTIC", "CUSTOM:MyOp"])
def test_unsupported_operator_named_with_index(tmp_path, op):
    model = _conv_relu_model(tmp_path / "unsup.tflite", second_op=op)
    with pytest.raises(VbenchError, match=rf"operator 1 \({op}\) is not supported"):
        compile_model(model, tmp_path / "out", "x")


def test_unsupported_fused_activation(tmp_path):
    model = _conv_relu_model(tmp_path / "tanh_act.tflite", activation=4)  # TANH
    with pytest.raises(VbenchError, match=r"operator 0 \(CONV_2D\): fused activation 4"):
        compile_model(model, tmp_path / "out", "x")


def test_nonzero_weight_zero_point(tmp_path):
    model = _conv_relu_model(tmp_path / "wzp.tflite", weight_zp=3)
    with pytest.raises(VbenchError, match=r"operator 0 \(CONV_2D\).*non-zero weight zero points"):
        compile_model(model, tmp_path / "out", "x")


def test_unsupported_option_value(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 16], scale=0.1, zero_point=0)
    w = b.tensor("w", [4, 16], data=np.ones((4, 16)), scale=0.01)
    y = b.tensor("y", [1, 4], scale=0.1, zero_point=0)
    b.operator("FULLY_CONNECTED", [x, w, -1], [y], {"WeightsFormat": 1})  # SHUFFLED4x16INT8
    model = b.save(tmp_path / "shuffled.tflite", [x], [y])
    with pytest.raises(VbenchError, match=r"operator 0 \(FULLY_CONNECTED\): option WeightsFormat=1"):
        compile_model(model, tmp_path / "out", "x")


def test_broadcast_add_rejected(tmp_path):
    b = TfliteBuilder()
    x = b.tensor("x", [1, 4, 4, 3], scale=0.1, zero_point=0)
    c = b.tensor("c", [1, 1, 1, 3], scale=0.1, zero_point=0)
    mean = b.tensor("m", [1, 1, 1, 3], scale=0.1, zero_point=0)
    b.operator("AVERAGE_POOL_2D", [x], [mean], {"Padding": 1, "StrideW": 4, "StrideH": 4,
                                                "FilterWidth": 4, "FilterHeight": 4})
    b.operator("ADD", [x, mean], [c], {"FusedActivationFunction": 0})
    model = b.save(tmp_path / "bcast.tflite", [x], [c])
    with pytest.raises(VbenchError, match=r"operator 1 \(ADD\): broadcasting ADD"):
        compile_model(model, tmp_path / "out", "x")


@pytest.mark.parametrize("name", ["kws_ref_model_float32.tflite", "ad01_fp32.tflite",
                                  "vww_96_float.tflite", "ic_resnet8_float32.tflite"])
def test_float_model_rejected(tmp_path, name):
    with pytest.raises(VbenchError, match=rf"{name} is a float model: operator 0 .*int8"):
        compile_model(MODELS / name, tmp_path / "out", "x")


def test_bad_names_and_variants(tmp_path):
    model = _conv_relu_model(tmp_path / "ok.tflite")
    with pytest.raises(VbenchError, match="C identifier"):
        compile_model(model, tmp_path / "out", "1bad-name")
    with pytest.raises(VbenchError, match="rounding"):
        compile_model(model, tmp_path / "out", "ok", rounding="triple")
    with pytest.raises(VbenchError, match="kernel variant 'no_such_cpu' not found"):
        kernel_sources("no_such_cpu")


def test_wrong_input_size(tmp_path):
    compiled = compile_model(_conv_relu_model(tmp_path / "ok.tflite"), tmp_path / "out", "ok")
    host = HostModel(compiled.out_dir)
    assert host.input_bytes == 72
    with pytest.raises(VbenchError, match="got 71, model 'ok' expects 72"):
        host.run(bytes(71))
    with pytest.raises(VbenchError, match="got 5, model 'ok' expects 72"):
        host.run_f32(np.zeros(5, np.float32))
    # The C API itself refuses: VB_ERR_INPUT_SIZE (-2), and nothing is copied.
    assert host._lib.vb_model_set_input(bytes(73), 73) == -2
    assert len(host.run(bytes(72))) == 108
