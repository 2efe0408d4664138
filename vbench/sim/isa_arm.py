"""Thumb-2 (ARMv7E-M + FPv4-SP) decoding into the attributes the native timing rules use.

Capstone disassembles; this module maps each instruction to a timing class whose cycle count comes
from the platform's [timing] records (Cortex-M4 TRM Table 3-1 / 7-1), plus the register masks the
pairwise pipeline rules need. It runs when a block is first executed, never per execution, and
classifies each distinct encoding once (the first execution of short firmware was mostly this).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import NamedTuple

import capstone
from capstone import arm_const as A

from vbench.sim import native as N
from vbench.sim.energy_classes import ENERGY_CLASS

_CONDS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le")

_REG_NUM = {getattr(A, f"ARM_REG_R{i}"): i for i in range(13)}
_REG_NUM.update({A.ARM_REG_SP: 13, A.ARM_REG_LR: 14, A.ARM_REG_PC: 15})

_LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrt", "ldrbt", "ldrht", "ldrsbt", "ldrsht", "ldrex", "ldrexb", "ldrexh"}
_STORES = {"str", "strb", "strh", "strt", "strbt", "strht", "strex", "strexb", "strexh"}
_MUL = {"mul", "mla", "mls", "smull", "umull", "smlal", "umlal"}
_DSP_PREFIX = ("smla", "smls", "smua", "smus", "smul", "smmul", "smmla", "smmls", "umaal")
_SIMD = {
    "sadd16", "sadd8", "ssub16", "ssub8", "sasx", "ssax", "uadd16", "uadd8", "usub16", "usub8", "uasx", "usax",
    "qadd", "qsub", "qdadd", "qdsub", "qadd16", "qadd8", "qsub16", "qsub8", "qasx", "qsax",
    "shadd16", "shadd8", "shsub16", "shsub8", "shasx", "shsax", "uhadd16", "uhadd8", "uhsub16", "uhsub8",
    "uqadd16", "uqadd8", "uqsub16", "uqsub8", "sel", "usad8", "usada8", "pkhbt", "pkhtb", "ssat", "usat",
    "ssat16", "usat16", "sxtb16", "sxtab16", "uxtb16", "uxtab16", "sxtab", "sxtah", "uxtab", "uxtah",
}
_FP_ALU = {"vadd", "vsub", "vmul", "vnmul", "vabs", "vneg", "vcmp", "vcmpe", "vmov", "vcvt", "vcvtr", "vcvtb", "vcvtt"}
_FP_MAC = {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"}


@dataclass
class Decoded:
    address: int
    size: int
    mnemonic: str
    op_str: str
    insn: N.VbInsn
    csr_read: str | None = None  # RV only


@dataclass(frozen=True)
class _Shape:
    """What one encoding decodes to wherever it sits: the attributes (aux of a literal load left 0)."""
    size: int
    mnemonic: str
    attributes: bytes  # a VbInsn
    literal: int | None  # a PC-relative load's offset from Align(PC, 4), else None

    def at(self, address: int, op_str: str) -> Decoded:
        v = N.VbInsn.from_buffer_copy(self.attributes)
        if self.literal is not None:
            v.aux = ((address + 4) & ~3) + self.literal
        return Decoded(address, self.size, self.mnemonic, op_str, v)


# (timing records) -> {(encoding, mnemonic): _Shape}, each bounded by the distinct encodings
# executed; only the latest few timing models are kept, so a sweep over timing records in one
# process does not grow with its points.
_KNOWN: dict[tuple, dict[tuple[bytes, str], _Shape]] = {}
_KNOWN_MODELS = 4


def _known_for(timing: dict[str, int]) -> dict[tuple[bytes, str], _Shape]:
    key = tuple(sorted(timing.items()))
    known = _KNOWN.pop(key, None)
    if known is None:
        known = {}
        while len(_KNOWN) >= _KNOWN_MODELS:
            del _KNOWN[next(iter(_KNOWN))]  # the least recently used
    _KNOWN[key] = known
    return known


def _sweep(disasm, code: bytes, base: int):
    """capstone's linear sweep over code (tuples starting with address and size), going on past
    each undecodable halfword (literal data)."""
    offset = 0
    while offset < len(code):
        got = False
        for item in disasm(code[offset:], base + offset):
            yield item
            offset = item[0] + item[1] - base
            got = True
        if not got or offset < len(code):
            offset += 2


class _Mem(NamedTuple):
    base: int
    index: int
    disp: int


class _Facts(NamedTuple):
    """What classification reads of one instruction's capstone detail."""
    address: int
    size: int
    mnemonic: str
    cc: int
    update_flags: bool
    reads: tuple[int, ...]  # every register read (explicit and implicit)
    writes: tuple[int, ...]
    regs: tuple[int, ...]  # the register operands, in order
    mems: tuple[_Mem, ...]  # the memory operands, in order


def _facts(insn) -> _Facts:
    """From the binding's instruction object (the reference _RawDecoder is tested against)."""
    try:
        reads, writes = insn.regs_access()
    except capstone.CsError:
        reads, writes = insn.regs_read, insn.regs_write
    return _Facts(insn.address, insn.size, insn.mnemonic, insn.cc, insn.update_flags, tuple(reads), tuple(writes),
                  tuple(op.reg for op in insn.operands if op.type == A.ARM_OP_REG),
                  tuple(_Mem(op.mem.base, op.mem.index, op.mem.disp)
                        for op in insn.operands if op.type == A.ARM_OP_MEM))


class _RawDecoder:
    """capstone's C decoder read in place. The binding copies every instruction and its detail into
    new objects, most of the cost of decoding an encoding first seen; this reads the same fields
    through the binding's own ctypes layout (capstone is pinned in pyproject.toml, and a test holds
    this to _facts)."""

    def __init__(self, md: capstone.Cs):
        self.md = md
        self._reads, self._writes = (ctypes.c_uint16 * 64)(), (ctypes.c_uint16 * 64)()
        self._n_reads, self._n_writes = ctypes.c_uint8(), ctypes.c_uint8()
        self._access = tuple(ctypes.byref(x) for x in (self._reads, self._n_reads, self._writes, self._n_writes))

    def disasm(self, code: bytes, base: int):
        """(address, size, mnemonic, op_str, the instruction) of each instruction until the first
        undecodable one; the instruction is valid until the next is asked for."""
        insns = ctypes.POINTER(capstone._cs_insn)()
        n = capstone._cs.cs_disasm(self.md.csh, code, len(code), base, 0, ctypes.byref(insns))
        try:
            for i in range(n):
                raw = insns[i]
                yield raw.address, raw.size, raw.mnemonic.decode("ascii"), raw.op_str.decode("ascii"), raw
        finally:
            if n:
                capstone._cs.cs_free(insns, n)

    def facts(self, raw) -> _Facts:
        detail = raw.detail.contents
        arm = detail.arch.arm
        regs, mems = [], []
        for op in arm.operands[:arm.op_count]:
            kind = op.type
            if kind == A.ARM_OP_REG:
                regs.append(op.value.reg)
            elif kind == A.ARM_OP_MEM:
                m = op.value.mem
                mems.append(_Mem(m.base, m.index, m.disp))
        if capstone._cs.cs_regs_access(self.md.csh, raw, *self._access) == capstone.CS_ERR_OK:
            reads, writes = tuple(self._reads[:self._n_reads.value]), tuple(self._writes[:self._n_writes.value])
        else:
            reads = tuple(detail.regs_read[:detail.regs_read_count])
            writes = tuple(detail.regs_write[:detail.regs_write_count])
        return _Facts(raw.address, raw.size, raw.mnemonic.decode("ascii"), arm.cc, arm.update_flags, reads, writes,
                      tuple(regs), tuple(mems))


def _base_mnemonic(insn: _Facts) -> str:
    m = insn.mnemonic.split(".")[0]
    if insn.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID) and m not in ("b",):
        for c in _CONDS:
            if m.endswith(c) and len(m) > len(c):
                m = m[: -len(c)]
                break
    if insn.update_flags and m.endswith("s") and m not in ("mls", "smmls", "vnmls", "vmls", "bls", "cps"):
        m = m[:-1]
    return m


def _mask(regs) -> int:
    out = 0
    for r in regs:
        n = _REG_NUM.get(r)
        if n is not None:
            out |= 1 << n
    return out


class ArmDecoder:
    """Decodes a block's bytes. A classification depends on the encoding alone, except for a literal
    load's address, so it is kept per encoding (shared by the decoders of one timing model) and an
    encoding seen before costs capstone's sweep of the block and a look-up, not its detail objects."""

    def __init__(self, timing: dict[str, int]):
        self.t = timing
        self.md = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self.md.detail = True
        self._raw = _RawDecoder(self.md)
        self._known = _known_for(timing)

    def decode(self, code: bytes, base: int) -> list[Decoded]:
        """Linear sweep; data between functions decodes as something harmless or is skipped."""
        out: list[Decoded] = []
        known = self._known
        for address, size, mnemonic, op_str, raw in _sweep(self._raw.disasm, code, base):
            # The mnemonic is part of the key: inside an IT block the same bytes carry a condition
            # and set no flags (capstone spells both into the mnemonic).
            key = (code[address - base:address - base + size], mnemonic)
            shape = known.get(key)
            if shape is None:
                shape = known[key] = self._shape(self._raw.facts(raw))
            out.append(shape.at(address, op_str))
        return out

    def classify(self, insn) -> Decoded:
        """One capstone instruction (with detail), classified from scratch."""
        return self._shape(_facts(insn)).at(insn.address, insn.op_str)

    def _shape(self, insn: _Facts) -> _Shape:
        t = self.t
        literal = None  # a PC-relative load's offset from Align(PC, 4)
        m = _base_mnemonic(insn)
        v = N.VbInsn()
        v.flags = N.F_VALID | (N.F_WIDE if insn.size == 4 else 0)
        v.length = insn.size
        v.regs_read = _mask(insn.reads)
        v.regs_written = _mask(insn.writes)
        mem = insn.mems
        addr_regs = 0
        for mo in mem:
            addr_regs |= _mask([mo.base, mo.index])
        v.regs_addr = addr_regs
        cls, cycles, flags = "alu", t["alu"], N.F_DATA_PROC
        writes_pc = bool(v.regs_written & (1 << 15))
        reg_list = insn.regs

        if m in _LOADS:
            cls, cycles, flags = "load", t["load"], N.F_LOAD | N.F_LDR_PIPE | N.F_AGU_DEP
            v.n_loads = 1
            if mem and mem[0].base == A.ARM_REG_PC:
                flags |= N.F_LITERAL
                literal = mem[0].disp
            if writes_pc:
                cycles += t["load_pc_extra"]
                flags = (flags | N.F_BRANCH) & ~N.F_LDR_PIPE
        elif m in _STORES:
            cls, flags = "store", N.F_STORE | N.F_AGU_DEP
            cycles = t["store"] if (mem and mem[0].index != A.ARM_REG_INVALID) else t["store_imm"]
            v.n_stores = 1
        elif m in ("ldrd", "strd"):
            cls = "load" if m == "ldrd" else "store"
            cycles, flags = t["load_dual"], N.F_MULTI | N.F_AGU_DEP | (N.F_LOAD if m == "ldrd" else N.F_STORE)
            if m == "ldrd":
                v.n_loads = 2
                if mem and mem[0].base == A.ARM_REG_PC:
                    flags |= N.F_LITERAL
                    literal = mem[0].disp
            else:
                v.n_stores = 2
        elif m.startswith(("ldm", "pop")) or m.startswith(("stm", "push")):
            is_load = m.startswith(("ldm", "pop"))
            n = len(reg_list) - (0 if m in ("pop", "push") else 1)
            cls = "load" if is_load else "store"
            cycles = t["multiple_base"] + t["multiple_per_reg"] * max(n, 1)
            flags = N.F_MULTI | N.F_AGU_DEP
            if is_load:
                v.n_loads = max(n, 1)
                if writes_pc:
                    cycles += t["branch_refill"]
                    flags |= N.F_BRANCH
            else:
                v.n_stores = max(n, 1)
            if m in ("pop", "push"):
                v.regs_addr |= 1 << 13
        elif m in ("b", "bl", "bx", "blx"):
            cls = "branch"
            if insn.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID):
                cycles, flags = t["branch"], N.F_BRANCH_COND
            else:
                cycles, flags = t["branch"] + t["branch_refill"], N.F_BRANCH
        elif m in ("cbz", "cbnz"):
            cls, cycles, flags = "branch", t["branch"], N.F_BRANCH_COND
        elif m in ("tbb", "tbh"):
            cls, cycles, flags = "branch", t["table_branch"] + t["branch_refill"], N.F_BRANCH | N.F_LOAD
            v.n_loads = 1
        elif m in _MUL:
            cls, cycles = "mul", t["mul"]
        elif m.startswith(_DSP_PREFIX):
            cls, cycles = "mul", t["dsp_mac"]
        elif m in _SIMD:
            cls, cycles = "alu", t["simd"]
        elif m in ("sdiv", "udiv"):
            cls, cycles, flags = "div", t["divide_min"], N.F_DIVIDE | N.F_DATA_PROC
            ops = [_REG_NUM[r] for r in reg_list]
            if len(ops) == 2:  # sdiv rd, rm form means rd = rd / rm
                ops = [ops[0]] + ops
            v.aux = ops[1] | (ops[2] << 8) | ((1 if m == "sdiv" else 0) << 16)
        elif m == "it":
            cls, cycles, flags = "system", t["it"], 0
        elif m in ("nop", "sev", "yield"):
            cls, cycles, flags = "system", t["nop"], 0
        elif m in ("dmb", "dsb"):
            cls, cycles, flags = "system", t["barrier"], 0
        elif m == "isb":
            cls, cycles, flags = "system", t["barrier"] + t["branch_refill"], 0
        elif m in ("mrs", "msr", "cpsid", "cpsie", "svc", "bkpt", "udf"):
            cls, cycles, flags = "system", t["system"], 0
        elif m in ("wfi", "wfe"):
            cls, cycles, flags = "system", t["wfi"], N.F_WFI
        elif m in ("vldr",):
            cls, cycles, flags = "fp", t["fp_load"], N.F_LOAD | N.F_AGU_DEP
            v.n_loads = 1
            if mem and mem[0].base == A.ARM_REG_PC:
                flags |= N.F_LITERAL
                literal = mem[0].disp
        elif m in ("vstr",):
            cls, cycles, flags = "fp", t["fp_store"], N.F_STORE | N.F_AGU_DEP
            v.n_stores = 1
        elif m.startswith(("vldm", "vstm", "vpush", "vpop")):
            n = sum(1 for r in reg_list if r not in _REG_NUM)
            cls, cycles, flags = "fp", t["fp_multiple_base"] + max(n, 1), N.F_MULTI | N.F_AGU_DEP
            if m.startswith(("vldm", "vpop")):
                flags |= N.F_LOAD
                v.n_loads = max(n, 1)
            else:
                flags |= N.F_STORE
                v.n_stores = max(n, 1)
            if m in ("vpush", "vpop"):
                v.regs_addr |= 1 << 13
        elif m in ("vmov",) and any(r in _REG_NUM for r in reg_list):
            cls, cycles, flags = "fp", t["fp_move_core"] * sum(1 for r in reg_list if r in _REG_NUM), 0
        elif m in ("vmrs", "vmsr"):
            cls, cycles, flags = "fp", t["fp_alu"], 0
        elif m in _FP_ALU:
            cls, cycles, flags = "fp", t["fp_alu"], 0
        elif m in _FP_MAC:
            cls, cycles, flags = "fp", t["fp_mac"], 0
        elif m in ("vdiv", "vsqrt"):
            cls, cycles, flags = "fp_div", t["fp_div"], 0
        elif writes_pc:  # mov pc, rX / add pc, ...: a branch
            cls, cycles, flags = "branch", t["branch"] + t["branch_refill"], N.F_BRANCH
        v.flags |= flags
        v.cycles = min(int(cycles), 255)
        v.energy_class = ENERGY_CLASS[cls]
        return _Shape(insn.size, insn.mnemonic, bytes(v), literal)
