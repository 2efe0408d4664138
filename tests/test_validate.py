"""`vbench validate`: the fidelity suite against board measurements, and the C++ demangler it
needs to name functions such as tflite::MicroInterpreter::Invoke."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from vbench.sim.demangle import demangle

SHARED = Path(__file__).parents[1].parent / "shared"
TFLM = SHARED / "firmware" / "tflm-2.3.1"


# ====================================================================== demangler
@pytest.mark.parametrize("mangled, name, full", [
    ("_ZN6tflite16MicroInterpreter6InvokeEv", "tflite::MicroInterpreter::Invoke", "tflite::MicroInterpreter::Invoke()"),
    ("_ZNK6tflite12RuntimeShape4DimsEi", "tflite::RuntimeShape::Dims", "tflite::RuntimeShape::Dims(int) const"),
    # substitutions S_, S0_, S2_ (prefixes, qualified and reference types are candidates)
    ("_ZN6tflite11MatchingDimERKNS_12RuntimeShapeEiS2_i", "tflite::MatchingDim",
     "tflite::MatchingDim(tflite::RuntimeShape const&, int, tflite::RuntimeShape const&, int)"),
    # a function template: return type, template parameters T_ / T0_
    ("_ZN6tflite13reference_ops7SoftmaxIaaEEvRKNS_13SoftmaxParamsERKNS_12RuntimeShapeEPKT_S7_PT0_",
     "tflite::reference_ops::Softmax<signed char, signed char>",
     "void tflite::reference_ops::Softmax<signed char, signed char>(tflite::SoftmaxParams const&, "
     "tflite::RuntimeShape const&, signed char const*, tflite::RuntimeShape const&, signed char*)"),
    # constructors, destructors, literals, nested templates with "> >"
    ("_ZN6tflite16MicroInterpreterD2Ev", "tflite::MicroInterpreter::~MicroInterpreter",
     "tflite::MicroInterpreter::~MicroInterpreter()"),
    ("_ZNK11flatbuffers6VectorINS_6OffsetIN6tflite6BufferEEEE3GetEm",
     "flatbuffers::Vector<flatbuffers::Offset<tflite::Buffer> >::Get",
     "flatbuffers::Vector<flatbuffers::Offset<tflite::Buffer> >::Get(unsigned long) const"),
    ("_ZNK6tflite22MicroMutableOpResolverILj3EE6FindOpEPKc", "tflite::MicroMutableOpResolver<3u>::FindOp",
     "tflite::MicroMutableOpResolver<3u>::FindOp(char const*) const"),
    # anonymous namespace, operator(), GCC clone suffix
    ("_ZN6tflite12_GLOBAL__N_124SafeBuiltinDataAllocator18BuiltinDataDeleterclEPv.isra.0",
     "tflite::(anonymous namespace)::SafeBuiltinDataAllocator::BuiltinDataDeleter::operator()",
     "tflite::(anonymous namespace)::SafeBuiltinDataAllocator::BuiltinDataDeleter::operator()(void*) [clone .isra.0]"),
    # local names and lambdas
    ("_ZZ4mainE11interpreter", "main::interpreter", "main::interpreter"),
    ("_ZZN6tflite24EnumNamesBuiltinOperatorEvE5names", "tflite::EnumNamesBuiltinOperator()::names",
     "tflite::EnumNamesBuiltinOperator()::names"),
    # declarators: function pointer, array pointer, const pointer, member function pointer, pack
    ("_Z1fPFviE", "f", "f(void (*)(int))"),
    ("_Z1fPA4_i", "f", "f(int (*) [4])"),
    ("_Z1fKPc", "f", "f(char* const)"),
    ("_Z1fM1AKFviE", "f", "f(void (A::*)(int) const)"),
    ("_Z1fIJidEEvDpT_", "f<int, double>", "void f<int, double>(int, double)"),
    ("_ZNSsC1Ev", "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string",
     "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::basic_string()"),
    # special names
    ("_ZTVN6tflite14MicroAllocatorE", "vtable for tflite::MicroAllocator", "vtable for tflite::MicroAllocator"),
    ("_ZGVZ4mainE8resolver", "guard variable for main::resolver", "guard variable for main::resolver"),
])
def test_demangle_cases(mangled, name, full):
    assert demangle(mangled) == name
    assert demangle(mangled, params=True) == full


@pytest.mark.parametrize("text", ["main", "arm_convolve_s8", "_Zfoo", "_ZN6tflite", "_ZN3fooE.123", "", "_Z"])
def test_demangle_leaves_c_names_and_garbage_unchanged(text):
    assert demangle(text) == text


def test_demangle_matches_cxxfilt_on_the_tflm_firmware():
    """Every C++ symbol of the eight TFLM images, both forms, against GNU c++filt (binutils)."""
    cxxfilt = shutil.which("c++filt") or shutil.which("arm-none-eabi-c++filt")
    if cxxfilt is None or not TFLM.is_dir():
        pytest.skip("needs c++filt and ../shared/firmware/tflm-2.3.1")
    from vbench.sim.elf import load_image

    names = sorted({n for elf in TFLM.glob("*.elf") for n in load_image(elf).symbols if n.startswith("_Z")})
    assert len(names) > 200
    for flags, params in (([], True), (["-p"], False)):
        want = subprocess.run([cxxfilt, *flags], input="\n".join(names), capture_output=True, text=True,
                              check=True).stdout.splitlines()
        got = [demangle(n, params=params) for n in names]
        assert [(n, g) for n, g, w in zip(names, got, want) if g != w] == []
