"""The runtime and kernels cross-compiled for the two firmware targets (Cortex-M4 hard-float
Thumb-2, RV32IMAF) and executed instruction by instruction in Unicorn, bit-exact with the
golden model: the four MLPerf Tiny models, a set of single-operator models and the AD float
path. This checks the target code generation (64-bit arithmetic, shifts, float division)
without the board simulator: a flat image with a tiny entry function, no start-up code."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_kernels_ops import CASES, _inputs
from vbench.compiler import compile_model
from vbench.firmware import firmware_sources
from vbench.golden import GoldenModel

unicorn = pytest.importorskip("unicorn")
from unicorn import arm_const, riscv_const  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "models"
BASE, SIZE = 0x10000000, 8 << 20
TARGETS = {
    "arm": (["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
             "-mthumb"], "arm-none-eabi-"),
    "rv32": (["riscv64-unknown-elf-gcc", "-march=rv32imaf", "-mabi=ilp32f", "-Wl,--no-relax"],
             "riscv64-unknown-elf-"),
}
LINKER_SCRIPT = f"""
ENTRY(vbt_entry)
SECTIONS {{
  . = {BASE:#x};
  .text : {{ *(.text*) }}
  .rodata : {{ *(.rodata*) *(.srodata*) }}
  .data : {{ *(.data*) *(.sdata*) }}
  .bss : {{ *(.bss*) *(.sbss*) *(COMMON) }}
  /DISCARD/ : {{ *(.ARM.exidx*) *(.comment) }}
}}
"""
# Raw bytes in and out (vb_model_set_input), or floats (the *_f32 helpers) with VBT_FLOAT.
ENTRY_C = r"""
#include "vb_runtime.h"
#ifdef VBT_FLOAT
float vbt_input[VBT_IN];
float vbt_output[VBT_OUT];
#else
uint8_t vbt_input[VBT_IN];
uint8_t vbt_output[VBT_OUT];
#endif
volatile int32_t vbt_status;
void vbt_done(void) __attribute__((noinline));
void vbt_done(void) { for (;;) { __asm__ volatile(""); } }
void vbt_entry(void)
{
    int rc = vb_model_init();
#ifdef VBT_FLOAT
    if (rc == VB_OK) rc = vb_model_set_input_f32(vbt_input, VBT_IN);
    if (rc == VB_OK) rc = vb_model_invoke();
    if (rc == VB_OK) rc = vb_model_output_f32(vbt_output, VBT_OUT);
#else
    if (rc == VB_OK) rc = vb_model_set_input(vbt_input, VBT_IN);
    if (rc == VB_OK) rc = vb_model_invoke();
    uint32_t len;
    const int8_t *y = vb_model_output(&len);
    for (uint32_t i = 0; i < len && i < VBT_OUT; ++i) vbt_output[i] = (uint8_t)y[i];
#endif
    vbt_status = rc;
    vbt_done();
}
"""


class TargetImage:
    """A compiled model linked for one target into a flat image at BASE."""

    def __init__(self, target: str, model_dir: Path, work: Path, n_in: int, n_out: int,
                 floats: bool = False):
        cc, prefix = TARGETS[target]
        if shutil.which(cc[0]) is None:
            pytest.skip(f"{cc[0]} not installed")
        self.target, self.n_in, self.n_out, self.floats = target, n_in, n_out, floats
        work.mkdir(parents=True, exist_ok=True)
        (work / "entry.c").write_text(ENTRY_C)
        (work / "link.ld").write_text(LINKER_SCRIPT)
        fw = firmware_sources(model_dir)
        elf = work / f"{target}.elf"
        defines = [f"-DVBT_IN={n_in}", f"-DVBT_OUT={n_out}"] + (["-DVBT_FLOAT"] if floats else [])
        proc = subprocess.run([*cc, "-O2", "-std=c99", "-Wall", "-Wextra", "--specs=picolibc.specs",
                               "-nostartfiles", "-ffunction-sections", "-Wl,--no-warn-rwx-segments",
                               *defines, *fw.cflags(), str(work / "entry.c"), *map(str, fw.sources),
                               "-T", str(work / "link.ld"), "-o", str(elf)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        image = work / f"{target}.bin"
        subprocess.run([prefix + "objcopy", "-O", "binary", str(elf), str(image)], check=True)
        self.image = image.read_bytes()
        self.symbols = {}
        for line in subprocess.run([prefix + "nm", str(elf)], capture_output=True, text=True).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3:
                self.symbols[parts[2]] = int(parts[0], 16)

    def run(self, data: bytes) -> bytes:
        s = self.symbols
        if self.target == "arm":
            uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
            uc.ctl_set_cpu_model(arm_const.UC_CPU_ARM_CORTEX_M4)
        else:
            uc = unicorn.Uc(unicorn.UC_ARCH_RISCV, unicorn.UC_MODE_RISCV32)
        uc.mem_map(BASE, SIZE)
        uc.mem_write(BASE, self.image)
        uc.mem_write(s["vbt_input"], data)
        sp = BASE + SIZE - 16
        if self.target == "arm":
            uc.reg_write(arm_const.UC_ARM_REG_FPEXC, 1 << 30)  # FPU on
            uc.reg_write(arm_const.UC_ARM_REG_SP, sp)
            uc.reg_write(arm_const.UC_ARM_REG_LR, s["vbt_done"] | 1)
            uc.emu_start(s["vbt_entry"] | 1, s["vbt_done"])
        else:
            mstatus = uc.reg_read(riscv_const.UC_RISCV_REG_MSTATUS)
            uc.reg_write(riscv_const.UC_RISCV_REG_MSTATUS, mstatus | (1 << 13))  # FS: FPU on
            uc.reg_write(riscv_const.UC_RISCV_REG_SP, sp)
            uc.reg_write(riscv_const.UC_RISCV_REG_RA, s["vbt_done"])
            uc.emu_start(s["vbt_entry"], s["vbt_done"])
        status = int.from_bytes(uc.mem_read(s["vbt_status"], 4), "little", signed=True)
        assert status == 0, f"runtime returned {status}"
        return bytes(uc.mem_read(s["vbt_output"], self.n_out * (4 if self.floats else 1)))


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("key,name", [("kws", "kws_ref_model.tflite"), ("vww", "vww_96_int8.tflite"),
                                      ("ic", "ic_resnet8_int8.tflite"), ("ad", "ad01_int8.tflite")])
def test_model_on_target(tmp_path, target, key, name):
    compiled = compile_model(MODELS / name, tmp_path / "model", key)
    image = TargetImage(target, compiled.out_dir, tmp_path, compiled.input.bytes, compiled.output.bytes)
    golden = GoldenModel(MODELS / name)
    rng = np.random.default_rng(11)
    for _ in range(3):
        data = rng.integers(-128, 128, compiled.input.bytes, dtype=np.int8).tobytes()
        assert image.run(data) == golden.run_bytes(data)


FIRMWARE_CASES = ["conv_batch2_saturating", "conv_same_even_kernel_stride2_odd_input",
                  "dwconv_depth_multiplier2_stride2", "dwconv_valid_dm3_dilation2_relu6",
                  "fc_per_channel", "maxpool_same_3x3_stride1_relu",
                  "avgpool_same_3x3_stride2_border_counts_relu6", "add_relu6_saturating",
                  "softmax_large_scale_diff_min_beta_half", "requantize_int8_up_and_down",
                  "float_io_quantize_conv_dequantize"]


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("name", FIRMWARE_CASES)
def test_operator_on_target(tmp_path, target, name):
    builder, inputs, outputs = CASES[name]()
    model = builder.save(tmp_path / f"{name}.tflite", inputs, outputs)
    compiled = compile_model(model, tmp_path / "model", "m")
    image = TargetImage(target, compiled.out_dir, tmp_path, compiled.input.bytes,
                        compiled.output.bytes)
    golden = GoldenModel(model)
    for data in _inputs(golden, 4, seed=3):
        assert image.run(data) == golden.run_bytes(data)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_ad_float_path_on_target(tmp_path, target):
    from vbench.compiler import HostModel

    compiled = compile_model(MODELS / "ad01_int8.tflite", tmp_path / "model", "ad")
    image = TargetImage(target, compiled.out_dir, tmp_path, 640, 640, floats=True)
    host = HostModel(compiled.out_dir)  # bit-exact with TFLite QUANTIZE/DEQUANTIZE (host tests)
    rng = np.random.default_rng(2)
    for _ in range(3):
        x = rng.normal(0.0, 20.0, 640).astype(np.float32)
        assert image.run(x.tobytes()) == host.run_f32(x).tobytes()
