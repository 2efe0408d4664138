"""Optimized kernel variants (firmware/kernels/cortex_m4_dsp, firmware/kernels/rv32) bit-exact
with the reference kernels and TFLite's reference interpreter.

* Generated CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layers on the host: both variants
  (cortex_m4_dsp runs its portable C versions of the DSP intrinsics, same algorithm and data
  layout) against the reference build and the golden model: odd channel counts 1/3/5/7, SAME and
  VALID padding at the borders, stride 1 and 2, depth multiplier 1 and 2, dilation, per-channel
  and per-tensor weights, pixel counts and patch sizes that are not multiples of the blocking,
  left shifts and zero shifts in the requantization, saturation, and the no-scratch fallbacks.
* The requantization helpers of both variants against vb_requantize on random and edge values.
* A chained generated model on the simulated Cortex-M4 and RV32 boards (`--kernels optimized`).
* The four MLPerf Tiny models through `vbench check-models --kernels optimized` on both boards.
"""

from __future__ import annotations

import ctypes
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_kernels_ops import ACT, PAD, _conv, _fc, _inputs
from vbench.compiler import compile_model
from vbench.compiler.host_build import HostModel
from vbench.firmware.kernels import KERNELS_DIR, resolve_kernels, scratch_bytes
from vbench.compiler.tflite_builder import TfliteBuilder
from vbench.compiler.validate import compute_out_size
from vbench.errors import VbenchError
from vbench.golden import GoldenModel
from vbench.platform import load_platform

VARIANTS = ("cortex_m4_dsp", "rv32")
BOARDS = {"nucleo-l4r5zi": "cortex_m4_dsp", "rv32imaf-mcu": "rv32"}
HAVE_CROSS = all(shutil.which(t) for t in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"))


def _typical(fan_in: int) -> float:
    return math.sqrt(fan_in) * 73.0 * 147.0   # as test_kernels_ops._weight_scales


CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# ------------------------------------------------------------------ CONV_2D

@case
def conv_in1_out3_10x4_stride2_same():            # KWS first layer shape, odd out_c, K = 40
    return _conv([1, 17, 9, 1], 3, (10, 4), stride=(2, 2), act="RELU", in_q=(0.58, 83), out_q=(0.08, -128))


@case
def conv_in3_out5_3x3_stride2_valid_per_tensor():  # K = 27 (tail 3), VALID
    return _conv([1, 11, 9, 3], 5, (3, 3), stride=(2, 2), padding="VALID", per_channel=False)


@case
def conv_in3_out8_3x3_stride2_same_bottom_pad():   # VWW first layer: padding only bottom/right
    return _conv([1, 12, 10, 3], 8, (3, 3), stride=(2, 2), act="RELU6", in_q=(0.02, -128), out_q=(0.03, -128))


@case
def conv_in5_out7_3x3_same_relu():                 # K = 45 (tail 1), 9 x 7 pixels
    return _conv([1, 9, 7, 5], 7, (3, 3), act="RELU")


@case
def conv_in7_out1_1x1_valid_folded():              # single output channel, K = 7
    return _conv([1, 5, 3, 7], 1, (1, 1), padding="VALID", in_q=(0.04, 12))


@case
def conv_in16_out6_3x3_same_per_channel():         # IC-like K = 144, 35 pixels
    return _conv([1, 5, 7, 16], 6, (3, 3), in_q=(0.08, -128), out_q=(0.1, 3))


@case
def conv_in8_out9_1x1_pointwise_39_pixels():       # pointwise, 39 pixels (not a multiple of 8)
    return _conv([1, 13, 3, 8], 9, (1, 1), padding="VALID", in_q=(0.05, -128), out_q=(0.06, -128),
                 act="RELU")


@case
def conv_in4_out3_1x1_stride2_folded():            # IC shortcut: 1x1 stride 2
    return _conv([1, 9, 8, 4], 3, (1, 1), stride=(2, 2), padding="VALID")


@case
def conv_in2_out5_3x2_dilation_2x3():
    return _conv([1, 9, 10, 2], 5, (3, 2), dilation=(2, 3), in_q=(0.03, -7))


@case
def conv_in3_out4_5x5_stride2_same_batch2():
    return _conv([2, 7, 6, 3], 4, (5, 5), stride=(2, 2), in_q=(0.1, 5))


@case
def conv_in6_out6_3x3_left_and_zero_shifts():      # multipliers ~0.4 .. 1.5: shifts -1, 0, +1
    fan = 3 * 3 * 6
    return _conv([1, 6, 5, 6], 6, (3, 3), target=0.75 * _typical(fan), in_q=(0.01, 2), out_q=(0.01, -3))


@case
def conv_in3_out5_3x3_saturating():
    return _conv([1, 6, 6, 3], 5, (3, 3), target=2000.0, in_q=(0.1, 0), out_q=(0.05, 0))


@case
def conv_in512_out2_3x3_large_patch():             # K = 4608: M4 fits one column pair, RV32 falls back
    return _conv([1, 3, 3, 512], 2, (3, 3), padding="VALID", in_q=(0.02, 9))


# ------------------------------------------------------------------ DEPTHWISE_CONV_2D

@case
def dw_c1_3x3_same():
    return _conv([1, 5, 6, 1], 0, (3, 3), depthwise=True)


@case
def dw_c3_dm2_3x3_stride2_same():
    return _conv([1, 9, 7, 3], 0, (3, 3), stride=(2, 2), depthwise=True, dm=2, act="RELU", out_q=(0.08, -128))


@case
def dw_c5_3x3_same_relu6():                        # 4 SIMD channels + 1 scalar channel
    return _conv([1, 7, 5, 5], 0, (3, 3), depthwise=True, act="RELU6", out_q=(0.04, -128))


@case
def dw_c7_3x3_stride2_valid():
    return _conv([1, 9, 8, 7], 0, (3, 3), stride=(2, 2), padding="VALID", depthwise=True)


@case
def dw_c8_3x3_same_per_tensor():
    return _conv([1, 6, 9, 8], 0, (3, 3), depthwise=True, per_channel=False, in_q=(0.05, -128))


@case
def dw_c12_5x5_same():                             # not 3x3: generic tap loops
    return _conv([1, 7, 8, 12], 0, (5, 5), depthwise=True, in_q=(0.05, 20))


@case
def dw_c4_3x3_dilation2_same():
    return _conv([1, 8, 7, 4], 0, (3, 3), dilation=(2, 2), depthwise=True)


@case
def dw_c6_dm2_2x2_stride2_valid_folded():
    return _conv([1, 6, 7, 6], 0, (2, 2), stride=(2, 2), padding="VALID", depthwise=True, dm=2, in_q=(0.03, 40))


@case
def dw_c4_3x3_tiny_image_all_border():             # 2x1 input, every pixel on the border
    return _conv([1, 2, 1, 4], 0, (3, 3), depthwise=True)


@case
def dw_c4_3x3_left_and_zero_shifts():
    return _conv([1, 5, 5, 4], 0, (3, 3), depthwise=True, target=0.75 * _typical(9), in_q=(0.01, 1),
                 out_q=(0.01, 2))


@case
def dw_c4_3x3_stride2_plane_in_stripes():          # padded plane 72 x 72 words > the 16 KiB scratch cap
    return _conv([1, 70, 70, 4], 0, (3, 3), stride=(2, 2), depthwise=True, in_q=(0.05, -100))


@case
def dw_c8_3x3_batch2_saturating():
    return _conv([2, 4, 5, 8], 0, (3, 3), depthwise=True, target=3000.0)


# ------------------------------------------------------------------ FULLY_CONNECTED

@case
def fc_depth37_rows11():                           # rows % 4 = 3, depth % 4 = 1
    return _fc([1, 37], 11)


@case
def fc_depth3_rows5():
    return _fc([1, 3], 5, act="RELU")


@case
def fc_depth33_rows7_per_channel():
    return _fc([1, 33], 7, per_channel=True, in_q=(0.05, 3), out_q=(0.02, -5))


@case
def fc_batches3_depth20_rows9():
    return _fc([3, 20], 9, act="RELU6", out_q=(0.03, -128))


@case
def fc_depth64_rows37_blocks():                    # more rows than one requantization block (32)
    return _fc([1, 64], 37, seed=5)


@case
def fc_depth16_rows4_zero_and_left_shift():        # multiplier ~0.4..1.5 (single rounding, shift >= 0)
    return _fc([1, 16], 4, target=0.75 * _typical(16), in_q=(0.01, 1), out_q=(0.01, 0))


@case
def fc_depth40_rows6_saturating():
    return _fc([1, 40], 6, target=5000.0)


def _model(tmp_path: Path, name: str, rounding: str = "litert"):
    builder, inputs, outputs = CASES[name]()
    path = builder.save(tmp_path / f"{name}.tflite", inputs, outputs)
    return path, compile_model(path, tmp_path / "out", "m", rounding=rounding)


def _first_diff(a: bytes, b: bytes) -> list[int]:
    return np.nonzero(np.frombuffer(a, np.uint8) != np.frombuffer(b, np.uint8))[0][:8].tolist()


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_bit_exact_on_host(name, tmp_path):
    path, compiled = _model(tmp_path, name)
    golden = GoldenModel(path)
    ref = HostModel(compiled.out_dir)
    variants = {v: HostModel(compiled.out_dir, v) for v in VARIANTS}
    for i, data in enumerate(_inputs(golden, 5, seed=len(name))):
        expected = golden.run_bytes(data)
        assert ref.run(data) == expected, f"{name} input {i}: reference differs from TFLite"
        for v, host in variants.items():
            got = host.run(data)
            assert got == expected, f"{name} input {i}, {v}: first differences at {_first_diff(got, expected)}"


@pytest.mark.parametrize("name", ["conv_in5_out7_3x3_same_relu", "fc_depth37_rows11",
                                  "fc_depth33_rows7_per_channel", "dw_c5_3x3_same_relu6"])
def test_double_rounding_layers_match_reference(name, tmp_path):
    """`--rounding double` (FC rounds twice, as TFLite Micro): variants equal the reference."""
    path, compiled = _model(tmp_path, name, rounding="double")
    ref = HostModel(compiled.out_dir)
    variants = [HostModel(compiled.out_dir, v) for v in VARIANTS]
    for data in _inputs(GoldenModel(path), 4, seed=7):
        expected = ref.run(data)
        assert all(h.run(data) == expected for h in variants)


@pytest.mark.parametrize("name", ["conv_in5_out7_3x3_same_relu", "dw_c5_3x3_same_relu6"])
def test_fallbacks_without_scratch(tmp_path, name):
    """A model directory without its summary gets no scratch: CONV_2D takes its plain loop nest,
    3x3 DEPTHWISE_CONV_2D its per-pixel tap ranges; still bit-exact."""
    path, compiled = _model(tmp_path, name)
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in compiled.out_dir.iterdir():
        if f.suffix != ".json":
            shutil.copy(f, bare / f.name)
    assert scratch_bytes(bare) == 0 and scratch_bytes(compiled.out_dir) > 0
    golden = GoldenModel(path)
    hosts = [HostModel(bare, v) for v in VARIANTS]
    for data in _inputs(golden, 3, seed=2):
        expected = golden.run_bytes(data)
        assert all(h.run(data) == expected for h in hosts)


def test_scratch_sizing():
    """16 int16 columns of the largest CONV_2D patch (rounded up to 4 taps) plus an int8 copy,
    capped at 16 KiB but at least two columns plus the copy."""
    import json
    import tempfile

    def summary(k: int) -> int:
        with tempfile.TemporaryDirectory() as d:
            layers = [{"op": "CONV_2D", "output_shape": [1, 2, 2, 3], "macs": 12 * k},
                      {"op": "DEPTHWISE_CONV_2D", "output_shape": [1, 2, 2, 3], "macs": 10**6}]
            (Path(d) / "m_model.json").write_text(json.dumps({"layers": layers}))
            return scratch_bytes(d)

    assert summary(64) == 16 * 2 * 64 + 64
    assert summary(27) == (16 * 2 * 28 + 28 + 15) // 16 * 16
    assert summary(600) == 16 * 1024
    assert summary(1500) == 16 * 1024
    assert summary(4608) == 2 * 2 * 4608 + 4608


def test_resolve_kernels():
    nucleo, rv = load_platform("nucleo-l4r5zi"), load_platform("rv32imaf-mcu")
    assert resolve_kernels(None, nucleo) is None and resolve_kernels("reference", rv) is None
    assert resolve_kernels("optimized", nucleo) == "cortex_m4_dsp"
    assert resolve_kernels("optimized", rv) == "rv32"
    assert resolve_kernels("rv32", nucleo) == "rv32"  # portable C: any board may build it
    with pytest.raises(VbenchError, match="not found"):
        resolve_kernels("no_such_variant", nucleo)
    with pytest.raises(VbenchError, match="needs a platform"):
        resolve_kernels("optimized")


# ------------------------------------------------------------------ requantization helpers

REQUANT_DRIVER = r"""
#include "dsp_common.h"
#include "rv32_common.h"
/* out[3][n]: reference, cortex_m4_dsp, rv32 */
void run(const int32_t *acc, int32_t n, int32_t mult, int32_t shift, uint32_t flags, int32_t oo,
         int32_t lo, int32_t hi, int8_t *out)
{
    for (int32_t i = 0; i < n; ++i) {
        int32_t v = vb_requantize(acc[i], mult, shift, flags) + oo;
        out[i] = (int8_t)vb_clamp_i32(v, lo, hi);
    }
    vb_dsp_out_t o;
    vb_dsp_out_init(&o, flags, oo, lo, hi);
    vb_dsp_requant_store(acc, n, out + n, 1, mult, shift, &o);
    vb_rv_requant_store(acc, n, out + 2 * n, 1, mult, shift, flags, oo, lo, hi);
}
"""


def test_requantization_helpers_match_reference(tmp_path):
    """The one-multiply requantization of both variants equals vb_requantize (double and single
    rounding) on random and edge accumulators, multipliers (incl. 0, negative, INT32_MIN) and
    shifts, with a wide clamp range so the rounding itself is compared."""
    drv = tmp_path / "drv.c"
    drv.write_text(REQUANT_DRIVER)
    lib = tmp_path / "librq.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC",
                    f"-I{KERNELS_DIR}", f"-I{KERNELS_DIR / 'cortex_m4_dsp'}", f"-I{KERNELS_DIR / 'rv32'}",
                    str(drv), str(KERNELS_DIR / "cortex_m4_dsp" / "dsp_common.c"),
                    str(KERNELS_DIR / "rv32" / "rv32_common.c"), "-o", str(lib)], check=True)
    so = ctypes.CDLL(str(lib))
    rng = np.random.default_rng(5)
    n = 4096
    edges = np.array([0, 1, -1, 2, -2, 2**31 - 1, -2**31, 2**30, -2**30, 2**30 - 1, -2**30 - 1, 12345, -12345],
                     np.int64)
    mults = [0, 1, 2**30, 2**31 - 1, 1518500250, -1, -2**31, *rng.integers(2**30, 2**31, 6)]
    checked = 0
    for flags in (0, 2):
        shifts = range(-31, 31) if flags else range(-31, 32)
        for shift in shifts:
            for mult in mults:
                scale = rng.choice([2**8, 2**16, 2**24, 2**31])
                acc = np.concatenate([edges, rng.integers(-scale, scale, n - len(edges))]).astype(np.int32)
                # the fast forms work on the wrapped product; keep the clamp out of the way for
                # most values, but also test a narrow one
                lo, hi, oo = (-128, 127, 0) if shift % 3 else (-20, 90, 7)
                out = (ctypes.c_int8 * (3 * n))()
                so.run(acc.ctypes.data_as(ctypes.c_void_p), n, int(mult), shift, flags, oo, lo, hi, out)
                res = np.frombuffer(out, np.int8).reshape(3, n)
                assert (res[1] == res[0]).all(), f"cortex_m4_dsp: mult {mult} shift {shift} flags {flags}"
                assert (res[2] == res[0]).all(), f"rv32: mult {mult} shift {shift} flags {flags}"
                checked += n
    assert checked > 10**6


ARM_RQ_DRIVER = r"""
#include "dsp_common.h"
#define N 1024
int32_t rq_acc[N];
int8_t rq_out[N];
int32_t rq_args[7]; /* mult, shift, flags, out_offset, act_min, act_max, n */
void rq_done(void) __attribute__((noinline));
void rq_done(void) { for (;;) { __asm__ volatile(""); } }
void rq_entry(void)
{
    vb_dsp_out_t o;
    vb_dsp_out_init(&o, (uint32_t)rq_args[2], rq_args[3], rq_args[4], rq_args[5]);
    vb_dsp_requant_store(rq_acc, rq_args[6], rq_out, 1, rq_args[0], rq_args[1], &o);
    rq_done();
}
"""
ARM_LINK = """
ENTRY(rq_entry)
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
def test_arm_requantization_assembly_matches_reference(tmp_path):
    """The Cortex-M4 assembly requantization loops (double/single rounding, SSAT or compare
    clamp, odd and even run lengths, shift -1 and -31) executed instruction by instruction in
    Unicorn, against vb_requantize computed on the host."""
    unicorn = pytest.importorskip("unicorn")
    from unicorn import arm_const

    (tmp_path / "drv.c").write_text(ARM_RQ_DRIVER)
    (tmp_path / "link.ld").write_text(ARM_LINK)
    elf = tmp_path / "rq.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
                    "-O2", "-std=c99", "-Wall", "-Wextra", "--specs=picolibc.specs", "-nostartfiles",
                    "-Wl,--no-warn-rwx-segments", f"-I{KERNELS_DIR}", f"-I{KERNELS_DIR / 'cortex_m4_dsp'}",
                    str(tmp_path / "drv.c"), str(KERNELS_DIR / "cortex_m4_dsp" / "dsp_common.c"),
                    "-T", str(tmp_path / "link.ld"), "-o", str(elf)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(tmp_path / "rq.bin")], check=True)
    syms = {}
    for line in subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    drv = tmp_path / "ref.c"
    drv.write_text(REQUANT_DRIVER)
    lib = tmp_path / "libref.so"
    subprocess.run(["gcc", "-std=c99", "-O2", "-shared", "-fPIC", f"-I{KERNELS_DIR}",
                    f"-I{KERNELS_DIR / 'cortex_m4_dsp'}", f"-I{KERNELS_DIR / 'rv32'}", str(drv),
                    str(KERNELS_DIR / "cortex_m4_dsp" / "dsp_common.c"), str(KERNELS_DIR / "rv32" / "rv32_common.c"),
                    "-o", str(lib)], check=True)
    ref = ctypes.CDLL(str(lib))

    uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
    uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_M4)
    uc.mem_map(0x10000000, 1 << 20)
    uc.mem_write(0x10000000, (tmp_path / "rq.bin").read_bytes())
    rng = np.random.default_rng(9)
    checked = 0
    for flags in (0, 2):
        for shift in (-1, -2, -3, -7, -12, -20, -30, -31):
            for mult in (0, 1, 2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))):
                for lo, hi, oo in ((-128, 127, 5), (-20, 90, -7)):
                    n = int(rng.choice([1, 2, 7, 64, 1023]))
                    scale = int(rng.choice([2**10, 2**20, 2**31]))
                    acc = rng.integers(-scale, scale, n).astype(np.int32)
                    acc[: min(n, 3)] = [2**31 - 1, -2**31, 0][: min(n, 3)]
                    uc.mem_write(syms["rq_acc"], acc.tobytes())
                    uc.mem_write(syms["rq_args"], np.array([mult, shift, flags, oo, lo, hi, n], "<i4").tobytes())
                    uc.reg_write(arm_const.UC_ARM_REG_SP, 0x10000000 + (1 << 20) - 16)
                    uc.reg_write(arm_const.UC_ARM_REG_LR, syms["rq_done"] | 1)
                    uc.emu_start(syms["rq_entry"] | 1, syms["rq_done"])
                    got = np.frombuffer(bytes(uc.mem_read(syms["rq_out"], n)), np.int8)
                    out = (ctypes.c_int8 * (3 * n))()
                    ref.run(acc.ctypes.data_as(ctypes.c_void_p), n, mult, shift, flags, oo, lo, hi, out)
                    expected = np.frombuffer(out, np.int8)[:n]
                    assert (got == expected).all(), f"mult {mult} shift {shift} flags {flags} range {lo}..{hi} n {n}"
                    checked += n
    assert checked > 10**4


# ------------------------------------------------------------------ simulated boards

def _chain_model(path: Path, seed: int) -> Path:
    """CONV 3x3/2 SAME (3 -> 5) -> DW 3x3 dm 2 SAME (5 -> 10) -> CONV 1x1 (10 -> 7) -> DW 3x3/2 VALID
    -> FC (per-tensor, 11 units): odd channels, borders, both strides, both multipliers."""
    rng = np.random.default_rng(seed)
    b = TfliteBuilder()
    shape = [1, 13, 11, 3]
    scale = 0.05
    x = cur = b.tensor("x", shape, scale=scale, zero_point=-7)
    specs = [("CONV_2D", 5, 3, 2, "SAME", 1), ("DEPTHWISE_CONV_2D", 0, 3, 1, "SAME", 2),
             ("CONV_2D", 7, 1, 1, "VALID", 1), ("DEPTHWISE_CONV_2D", 0, 3, 2, "VALID", 1)]
    for i, (op, cout, k, s, pad, dm) in enumerate(specs):
        n, h, w, cin = shape
        dw = op == "DEPTHWISE_CONV_2D"
        cout = cin * dm if dw else cout
        oh, ow = compute_out_size(PAD[pad], h, k, s, 1), compute_out_size(PAD[pad], w, k, s, 1)
        fan = k * k * (1 if dw else cin)
        out_scale = float(rng.uniform(0.03, 0.1))
        wsc = (40.0 * out_scale / (scale * _typical(fan)) * rng.uniform(0.5, 2.0, cout)).astype(np.float32)
        wshape = [1, k, k, cout] if dw else [cout, k, k, cin]
        wt = b.tensor(f"w{i}", wshape, data=rng.integers(-127, 128, wshape), scale=wsc,
                      quantized_dimension=3 if dw else 0)
        bt = b.tensor(f"b{i}", [cout], "INT32", data=rng.integers(-5000, 5000, cout),
                      scale=np.float32(scale) * wsc)
        y = b.tensor(f"y{i}", [n, oh, ow, cout], scale=out_scale, zero_point=int(rng.integers(-128, 0)))
        opts = {"Padding": PAD[pad], "StrideW": s, "StrideH": s, "FusedActivationFunction": ACT["RELU"],
                "DilationWFactor": 1, "DilationHFactor": 1}
        if dw:
            opts["DepthMultiplier"] = dm
        b.operator(op, [cur, wt, bt], [y], opts)
        cur, shape, scale = y, [n, oh, ow, cout], out_scale
    depth = int(np.prod(shape[1:]))
    wsc = np.float32(40.0 * 0.1 / (scale * _typical(depth)))
    wfc = b.tensor("wfc", [11, depth], data=rng.integers(-127, 128, (11, depth)), scale=wsc)
    bfc = b.tensor("bfc", [11], "INT32", data=rng.integers(-3000, 3000, 11), scale=np.float32(scale) * wsc)
    y = b.tensor("yfc", [1, 11], scale=0.1, zero_point=-9)
    b.operator("FULLY_CONNECTED", [cur, wfc, bfc], [y], {"FusedActivationFunction": 0})
    return b.save(path, [x], [y])


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
@pytest.mark.parametrize("platform", sorted(BOARDS))
def test_chained_layers_on_board(tmp_path, platform):
    from vbench.modelcheck import FirmwareJob, check_on_platform, prepare_model

    case = prepare_model(_chain_model(tmp_path / "chain.tflite", seed=3), inputs=3, dataset=None)
    assert not case.host_bad_inputs
    row = check_on_platform(FirmwareJob(case, platform, kernels="optimized"))
    assert row["error"] is None, row["error"]
    assert row["kernels"] == BOARDS[platform]
    assert row["bit_exact"] and row["mismatches"] == 0, row["mismatching_inputs"]


@pytest.mark.skipif(not HAVE_CROSS, reason="cross compilers not installed")
def test_four_models_optimized_on_both_boards():
    """`check-models --kernels optimized`: KWS, VWW, IC, AD bit-exact with TFLite on both boards,
    and faster than the reference kernels' figures this repository measured (cycles/inference:
    Nucleo KWS 56.8 M, VWW 141.3 M, IC 149.9 M, AD 2.55 M)."""
    from vbench.modelcheck import check_models

    rows = check_models(None, None, inputs=2, dataset=False, kernels="optimized",
                        workers=min(2, os.cpu_count() or 1))
    assert len(rows) == 8
    for r in rows:
        where = f"{r['model']} on {r['platform']}"
        assert r["error"] is None, r["error"]
        assert r["kernels"] == BOARDS[r["platform"]], where
        assert r["bit_exact"] and r["host_bit_exact"] and r["mismatches"] == 0, (where, r["mismatching_inputs"])
        assert r["layers"] == r["model_layers"], where
    reference = {"kws_ref_model": 56.8e6, "vww_96_int8": 141.3e6, "ic_resnet8_int8": 149.9e6, "ad01_int8": 2.55e6}
    for r in rows:
        if r["platform"] == "nucleo-l4r5zi":
            assert r["cycles"] * 3 <= reference[r["model"]], (r["model"], r["cycles"])


def test_check_models_cli_rejects_unknown_kernels(capsys):
    from vbench.cli import main

    assert main(["check-models", "--kernels", "no_such_variant", "--model", "ad01_int8", "--no-dataset"]) == 2
    assert "no_such_variant" in capsys.readouterr().err
