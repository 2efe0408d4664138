"""Decoding keeps one classification per encoding and reads capstone's detail in place: the
attributes of every instruction must equal classifying it from scratch through the binding's
objects, whether its encoding was seen before (at another address, in another IT state) or not."""

import random
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from vbench.platform import load_platform
from vbench.sim import native as N
from vbench.sim.cores.base import timing_params
from vbench.sim.isa_arm import ArmDecoder

BARE = Path(__file__).parent / "platforms" / "bare-m4.toml"
TFLM = Path(__file__).resolve().parents[1].parent / "shared" / "firmware" / "tflm-2.3.1"

IT_EQ, BX_LR, MOVS_R0_0, NOP = b"\x08\xbf", b"\x70\x47", b"\x00\x20", b"\x00\xbf"
LDR_R0_PC_4 = b"\x01\x48"  # ldr r0, [pc, #4]


def _timing():
    return timing_params(load_platform(BARE))


def _from_scratch(dec: ArmDecoder, code: bytes, base: int) -> list:
    """The sweep as it was before the memo: every instruction through disasm's objects and classify."""
    out, offset = [], 0
    while offset < len(code):
        got = False
        for insn in dec.md.disasm(code[offset:], base + offset):
            out.append(dec.classify(insn))
            offset = insn.address + insn.size - base
            got = True
        if not got or offset < len(code):
            offset += 2
    return out


def _rows(decoded) -> list:
    return [(d.address, d.size, d.mnemonic, d.op_str, bytes(d.insn)) for d in decoded]


def test_same_bytes_in_an_it_block_are_a_conditional_branch():
    dec = ArmDecoder(_timing())
    plain = dec.decode(BX_LR, 0x100)[0]
    inside = dec.decode(IT_EQ + BX_LR, 0x200)[1]
    assert plain.insn.flags & N.F_BRANCH and not plain.insn.flags & N.F_BRANCH_COND
    assert inside.insn.flags & N.F_BRANCH_COND and not inside.insn.flags & N.F_BRANCH
    # and the other way round, with the IT block's encoding already known
    assert not dec.decode(MOVS_R0_0 + BX_LR, 0x300)[1].insn.flags & N.F_BRANCH_COND


def test_a_literal_load_addresses_its_own_pool():
    dec = ArmDecoder(_timing())
    a = dec.decode(LDR_R0_PC_4, 0x1000)[0]
    b = dec.decode(NOP + LDR_R0_PC_4, 0x1000)[1]  # same encoding at 0x1002: Align(PC, 4) is the same
    c = dec.decode(LDR_R0_PC_4, 0x1004)[0]
    assert a.insn.flags & N.F_LITERAL
    assert (a.insn.aux, b.insn.aux, c.insn.aux) == (0x1008, 0x1008, 0x100C)


def test_decoders_of_one_timing_model_share_what_they_learnt():
    t = _timing()
    ArmDecoder(t).decode(LDR_R0_PC_4 + IT_EQ + BX_LR, 0x2000)
    other = ArmDecoder(dict(t))
    assert _rows(other.decode(LDR_R0_PC_4 + IT_EQ + BX_LR, 0x3000)) == \
        _rows(_from_scratch(other, LDR_R0_PC_4 + IT_EQ + BX_LR, 0x3000))
    changed = ArmDecoder({**t, "load": t["load"] + 1})  # another timing model: its own classifications
    cycles = [d.decode(LDR_R0_PC_4, 0x2000)[0].insn.cycles for d in (changed, ArmDecoder(t))]
    assert cycles[0] == cycles[1] + 1


@pytest.mark.skipif(not TFLM.is_dir(), reason="../shared/firmware/tflm-2.3.1 is not present")
def test_real_firmware_blocks_decode_as_from_scratch():
    """Blocks of TFLM + CMSIS-NN code at random starts and lengths (also mid-instruction and in
    literal pools), each decoded twice: the second time every encoding is known."""
    elf = ELFFile(open(TFLM / "kws_cmsis.elf", "rb"))
    text = elf.get_section_by_name(".text")
    code, base = text.data(), text["sh_addr"]
    dec, rng = ArmDecoder({**_timing(), "alu": 3}), random.Random(15)  # a timing of its own: a cold memo
    seen = 0
    for _ in range(600):
        off = rng.randrange(0, len(code) // 2) * 2
        block = code[off:off + rng.choice((2, 4, 12, 32, 96))]
        want = _rows(_from_scratch(dec, block, base + off))
        assert _rows(dec.decode(block, base + off)) == want
        assert _rows(dec.decode(block, base + off)) == want
        seen += len(want)
    assert seen > 3000


def test_random_halfwords_decode_as_from_scratch():
    """Random bytes reach most of Thumb-2 (IT blocks, loads and stores of every kind, FP, undefined
    halfwords): the in-place detail read and the memo must agree with the binding's objects."""
    rng = random.Random(4)
    dec = ArmDecoder({**_timing(), "alu": 4})
    pool = [rng.randbytes(2) for _ in range(300)] + [IT_EQ, BX_LR, LDR_R0_PC_4]
    seen = 0
    for _ in range(1500):
        halves = rng.randrange(1, 24)
        block = b"".join(rng.choice(pool) if rng.random() < 0.7 else rng.randbytes(2) for _ in range(halves))
        base = 0x0800_0000 + 2 * rng.randrange(0, 1 << 16)
        want = _rows(_from_scratch(dec, block, base))
        assert _rows(dec.decode(block, base)) == want, (block.hex(), hex(base))
        seen += len(want)
    assert seen > 10000


def test_a_sweep_over_timing_models_keeps_a_bounded_memo():
    from vbench.sim import isa_arm

    t = _timing()
    for k in range(3 * isa_arm._KNOWN_MODELS):
        ArmDecoder({**t, "alu": 10 + k}).decode(LDR_R0_PC_4 + BX_LR, 0x4000)
    assert len(isa_arm._KNOWN) == isa_arm._KNOWN_MODELS
    latest = ArmDecoder({**t, "alu": 10 + 3 * isa_arm._KNOWN_MODELS - 1})
    assert len(latest._known) == 2  # still known: the most recent model was kept
