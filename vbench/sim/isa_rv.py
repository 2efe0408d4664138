"""RV32IMAF decoding into the attributes the native timing rules use (CV32E40P-class timing).

RV32 encodings are regular, so this decodes the fields directly; compressed (C) instructions are
accepted with their class only, since vbench's images are built without C (-march=rv32imaf).
Floating-point registers are not tracked in the hazard masks (integer registers only).
"""

from __future__ import annotations

from vbench.sim import native as N
from vbench.sim.energy_classes import ENERGY_CLASS
from vbench.sim.isa_arm import Decoded

# CSRs whose reads vbench supplies from its own counters (QEMU's would read host time).
COUNTER_CSRS = {0xB00: "mcycle", 0xB80: "mcycleh", 0xB02: "minstret", 0xB82: "minstreth",
                0xC00: "cycle", 0xC80: "cycleh", 0xC02: "instret", 0xC82: "instreth",
                0xC01: "time", 0xC81: "timeh"}
# CSR accesses that take 4 cycles on CV32E40P (pipeline.rst).
SLOW_CSRS = {0x300, 0x341, 0x305, 0x342, 0xB00, 0xB80, 0xB02, 0xB82} | set(range(0xB03, 0xB20)) | set(range(0xB83, 0xBA0))


def _bit(r: int) -> int:
    return (1 << r) if r else 0  # x0 carries no dependency


class RvDecoder:
    def __init__(self, timing: dict[str, int]):
        self.t = timing

    def decode(self, code: bytes, base: int) -> list[Decoded]:
        out = []
        off = 0
        while off + 2 <= len(code):
            half = int.from_bytes(code[off:off + 2], "little")
            if half & 3 == 3:
                if off + 4 > len(code):
                    break
                word = int.from_bytes(code[off:off + 4], "little")
                out.append(self.classify32(word, base + off))
                off += 4
            else:
                out.append(self.classify16(half, base + off))
                off += 2
        return out

    def _insn(self, length: int, cls: str, cycles: int, flags: int, read=0, addr=0, written=0) -> N.VbInsn:
        v = N.VbInsn()
        v.flags = N.F_VALID | flags | (N.F_WIDE if length == 4 else 0)
        v.length = length
        v.cycles = min(int(cycles), 255)
        v.energy_class = ENERGY_CLASS[cls]
        v.regs_read, v.regs_addr, v.regs_written = read, addr, written
        return v

    def classify32(self, w: int, address: int) -> Decoded:
        t = self.t
        op, rd, f3, rs1, rs2, f7 = w & 0x7F, (w >> 7) & 31, (w >> 12) & 7, (w >> 15) & 31, (w >> 20) & 31, w >> 25
        name, csr_read = "alu", None
        if op == 0x03:  # LOAD
            v = self._insn(4, "load", t["load"], N.F_LOAD, addr=_bit(rs1), written=_bit(rd))
            v.n_loads, name = 1, "load"
        elif op == 0x07:  # LOAD-FP
            v = self._insn(4, "fp", t["fp_load"], N.F_LOAD, addr=_bit(rs1))
            v.n_loads, name = 1, "flw"
        elif op == 0x23:
            v = self._insn(4, "store", t["store"], N.F_STORE, read=_bit(rs2), addr=_bit(rs1))
            v.n_stores, name = 1, "store"
        elif op == 0x27:
            v = self._insn(4, "fp", t["fp_store"], N.F_STORE, addr=_bit(rs1))
            v.n_stores, name = 1, "fsw"
        elif op == 0x2F:  # AMO: a read-modify-write
            v = self._insn(4, "load", t["load"] + t["store"], N.F_LOAD | N.F_STORE | N.F_MULTI,
                           read=_bit(rs2), addr=_bit(rs1), written=_bit(rd))
            v.n_loads, v.n_stores, name = 1, 1, "amo"
        elif op == 0x63:
            v = self._insn(4, "branch", t["branch"], N.F_BRANCH_COND, read=_bit(rs1) | _bit(rs2))
            name = "branch"
        elif op == 0x6F:
            v = self._insn(4, "branch", t["jump"], N.F_BRANCH, written=_bit(rd))
            name = "jal"
        elif op == 0x67:
            v = self._insn(4, "branch", t["jump"], N.F_BRANCH | N.F_AGU_DEP, addr=_bit(rs1), written=_bit(rd))
            name = "jalr"
        elif op == 0x33 and f7 == 1:  # M extension
            if f3 == 0:
                v = self._insn(4, "mul", t["mul"], N.F_DATA_PROC, read=_bit(rs1) | _bit(rs2), written=_bit(rd))
                name = "mul"
            elif f3 < 4:
                v = self._insn(4, "mul", t["mulh"], N.F_DATA_PROC, read=_bit(rs1) | _bit(rs2), written=_bit(rd))
                name = "mulh"
            else:
                v = self._insn(4, "div", t["divide_min"], N.F_DIVIDE | N.F_DATA_PROC,
                               read=_bit(rs1) | _bit(rs2), written=_bit(rd))
                v.aux = rs1 | (rs2 << 8) | ((1 if f3 in (4, 6) else 0) << 16)
                name = "div"
        elif op in (0x13, 0x33, 0x37, 0x17):
            read = _bit(rs1) if op == 0x13 else (_bit(rs1) | _bit(rs2)) if op == 0x33 else 0
            v = self._insn(4, "alu", t["alu"], N.F_DATA_PROC, read=read, written=_bit(rd))
        elif op == 0x73:
            csr = w >> 20
            if f3 == 0:  # ecall, ebreak, mret, wfi (0x10500073: sleeps until an interrupt)
                v = self._insn(4, "system", t["csr"], N.F_WFI if w == 0x10500073 else 0)
                name = "wfi" if w == 0x10500073 else "system"
            else:
                slow = csr in SLOW_CSRS
                v = self._insn(4, "system", t["csr_slow"] if slow else t["csr"], 0,
                               read=_bit(rs1) if f3 < 4 else 0, written=_bit(rd))
                name = "csr"
                if csr in COUNTER_CSRS and rd:
                    csr_read = COUNTER_CSRS[csr]
                    v.aux = rd
        elif op == 0x0F:
            v = self._insn(4, "system", t["fence"] if f3 == 1 else t["alu"], 0)
            name = "fence"
        elif op in (0x43, 0x47, 0x4B, 0x4F):
            v = self._insn(4, "fp", t["fp_fma"], 0)
            name = "fmadd"
        elif op == 0x53:
            kind = f7 >> 2
            if kind == 0x03 or kind == 0x0B:  # FDIV.S, FSQRT.S
                v = self._insn(4, "fp_div", t["fp_div"], 0)
            elif kind in (0x00, 0x01, 0x02):  # FADD, FSUB, FMUL
                v = self._insn(4, "fp", t["fp_alu"], 0)
            else:  # moves, converts, compares, sign injection, min/max, classify
                writes_int = kind in (0x14, 0x18, 0x1C)
                v = self._insn(4, "fp", t["fp_other"], 0, read=_bit(rs1) if kind in (0x1A, 0x1E) else 0,
                               written=_bit(rd) if writes_int else 0)
            name = "fp"
        else:
            v = self._insn(4, "alu", t["alu"], 0)
        return Decoded(address, 4, name, f"{w:#010x}", v, csr_read)

    def classify16(self, h: int, address: int) -> Decoded:
        t = self.t
        q, f3 = h & 3, h >> 13
        if q == 1 and f3 in (1, 5):
            v = self._insn(2, "branch", t["jump"], N.F_BRANCH)  # c.jal / c.j
        elif q == 1 and f3 in (6, 7):
            v = self._insn(2, "branch", t["branch"], N.F_BRANCH_COND)  # c.beqz / c.bnez
        elif q == 2 and f3 == 4 and (h >> 2) & 31 == 0 and (h >> 7) & 31:
            v = self._insn(2, "branch", t["jump"], N.F_BRANCH | N.F_AGU_DEP, addr=_bit((h >> 7) & 31))  # c.jr/c.jalr
        elif (q == 0 and f3 in (2, 3)) or (q == 2 and f3 in (2, 3)):
            v = self._insn(2, "load", t["load"], N.F_LOAD)
            v.n_loads = 1
        elif (q == 0 and f3 in (6, 7)) or (q == 2 and f3 in (6, 7)):
            v = self._insn(2, "store", t["store"], N.F_STORE)
            v.n_stores = 1
        else:
            v = self._insn(2, "alu", t["alu"], 0)
        return Decoded(address, 2, "c", f"{h:#06x}", v)
