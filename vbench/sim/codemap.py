"""What executes, decoded from the bytes that execute.

The native core keeps one attribute slot per halfword of every memory that may hold code,
allocated page by page. A slot is filled the first time the emulator runs a block through it:
the core calls back here with the block's range, and the block's bytes are decoded in order from
its first instruction (a block always starts on an instruction boundary, so literal pools, jump
tables and data in .text are never mistaken for code, and code copied to SRAM or generated at run
time is decoded like any other). Instructions that need a hook of their own (a divide, a counter
CSR read) get it here, and the block is translated again so the hook is in it. In writable memory,
the core keeps a copy of the bytes it decoded and compares a block's bytes with it when the block
runs (no write hook: any would slow every load and store): code stored over is decoded again, and
the core stops first so the emulator's stale translation is dropped.
"""

from __future__ import annotations

import unicorn

from vbench.errors import VbenchError
from vbench.sim import native as N


class CodeMap:
    def __init__(self, board, core):
        self.board, self.core = board, core
        self.decoder = core.decoder()
        self.insns: dict = {}  # address -> Decoded, for what the Python side needs (faults, cuts, profiles)
        self._retranslate: list[tuple[int, int]] = []
        self._error: BaseException | None = None
        self._callback = N.TRANSLATE_FN(self._translate)
        self._cursor: tuple = ((0, 0), -1)  # (execution of the block, index) of the last located access

    def attach(self) -> None:
        b = self.board
        for m in b.memories:
            for base in (m.base, *m.aliases):
                if b.lib.vb_add_code_region(b.core, base, m.size) < 0:
                    raise VbenchError(f"{b.platform.path}: too many memory regions for the native code map")
        b.lib.vb_set_translate(b.core, N.ctypes.cast(self._callback, N.c_void_p))

    def _translate(self, addr: int, size: int) -> int:
        try:
            return self._decode_block(addr, size)
        except BaseException as exc:  # noqa: BLE001 - raised again by the run loop, not lost in ctypes
            self._error = exc
            return 0

    def _decode_block(self, addr: int, size: int) -> int:
        b = self.board
        try:
            data = bytes(b.uc.mem_read(addr, size))
        except unicorn.UcError:
            return 0
        rehook = 0
        for d in self.decoder.decode(data, addr):
            if d.address + d.size > addr + size:
                break
            hit = b.image.function_at(d.address)
            d.insn.func_id = hit[0] if hit else len(b.image.functions)
            slot = b.lib.vb_insn_slot(b.core, d.address)
            if not slot:
                continue
            slot[0] = d.insn
            self.insns[d.address] = d
            if self.core.instruction_hook(b, d):
                self._retranslate.append((d.address, d.address + d.size))
                rehook = 1
        return rehook

    def report(self, exc: BaseException) -> None:
        """An error inside another native callback (a trap), for check() to raise."""
        if self._error is None:
            self._error = exc

    def check(self) -> None:
        """Raise what went wrong inside a decode callback (or another native callback)."""
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def retranslate(self) -> None:
        """The core stopped before a block whose translation is stale: drop it from the emulator."""
        b = self.board
        lo, hi = N.c_uint32(), N.c_uint32()
        b.lib.vb_code_rewritten(b.core, N.ctypes.byref(lo), N.ctypes.byref(hi))
        if hi.value:
            for a in [a for a in self.insns if lo.value - 4 < a < hi.value]:
                del self.insns[a]
            self._retranslate.append((lo.value & ~3, hi.value))
        for begin, end in self._retranslate:
            b.backend.forget_translations(begin, end)
        self._retranslate.clear()

    # ---------------------------------------------------------------- the executing block
    def index_of(self, pc: int, inclusive: bool = False) -> int:
        """How many instructions of the executing block come before pc (with inclusive, up to and with it)."""
        k, a = 0, self.board.lib.vb_pending_addr(self.board.core)
        while (a <= pc if inclusive else a < pc) and a in self.insns:
            k += 1
            a += self.insns[a].size
        return k

    def address_of(self, k: int) -> int:
        """Address of the k-th instruction (from 0) of the executing block."""
        addr = self.board.lib.vb_pending_addr(self.board.core)
        for _ in range(k):
            d = self.insns.get(addr)
            if d is None:
                break
            addr += d.size
        return addr

    def block_insns(self) -> list:
        lib, core = self.board.lib, self.board.core
        addr, size = lib.vb_pending_addr(core), lib.vb_pending_size(core)
        out, a = [], addr
        while a < addr + size and a in self.insns:
            out.append(self.insns[a])
            a += self.insns[a].size
        return out

    # ---------------------------------------------------------------- which instruction made an MMIO access
    def locate_access(self, target: int, is_write: bool) -> int:
        """Unicorn does not update the PC before an MMIO callback, so compute each candidate
        load/store's effective address from the current registers and take the first match after
        the previous one in this execution of the block."""
        key = self._block_key()
        start = self._cursor[1] + 1 if self._cursor[0] == key else 0
        insns = self.block_insns()
        want = N.F_STORE if is_write else N.F_LOAD
        candidates = [k for k in range(start, len(insns)) if insns[k].insn.flags & want]
        # the access at its own address first; else one inside a multiple access (LDM/STM, LDRD)
        k = inside = None
        for c in candidates:
            ea = self.core.effective_address(self.board, insns[c])
            if ea == target:
                k = c
                break
            if inside is None and ea is not None and ea <= target < ea + 64:
                inside = c
        if k is None:
            k = inside if inside is not None else candidates[0] if candidates else max(start, 0)
        self._cursor = (key, k)
        return k

    def _block_key(self) -> tuple[int, int]:
        """One execution of the pending block: its address and the instructions committed before it."""
        return self.board.lib.vb_pending_addr(self.board.core), int(self.board.account.raw().instructions)

    def located(self) -> int:
        """Index of the located access in the executing block (0 when none was located in it)."""
        return max(self._cursor[1], 0) if self._cursor[0] == self._block_key() else 0
