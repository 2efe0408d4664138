"""Peripherals of the RV32IMAF board: PULPino-style 16550 UART and GPIO, SiFive-layout CLINT,
and the vbench exit register.

`ns16550.uart`: the 16550 register set (TI PC16550D datasheet, "Register description") with a
32-bit stride, as PULPino's APB UART places it: register i at offset 4*i; an access reaches the
low byte of its word (byte, halfword or word accesses at offsets that are multiples of 4).
    0x00 RBR (read) / THR (write) / DLL (LCR.DLAB = 1)    0x04 IER / DLM (DLAB = 1)
    0x08 IIR (read) / FCR (write)    0x0C LCR    0x10 MCR    0x14 LSR    0x18 MSR    0x1C SCR
Transmission is instantaneous in virtual time: a THR write goes to `board.uart_tx()` and LSR.THRE
and LSR.TEMT stay 1. `feed(data)` queues received bytes on the line (host side): LSR.DR is 1
while bytes are queued, RBR pops one; an RX FIFO reset does not drop them. IIR reports the highest-priority enabled condition (receive data, then THR empty),
for polled drivers; no interrupt is delivered (the board has no interrupt controller model).
Baud divisor, line format, modem control, loopback and errors are held or absent.

`riscv.clint` (SiFive CLINT layout, as QEMU's sifive_clint and Spike place it): msip 0x0000,
mtimecmp 0x4000 (low) / 0x4004 (high), mtime 0xBFF8 / 0xBFFC. mtime counts at param
`timebase_hz`: mtime = offset + cycles * timebase_hz // board.clock_hz, exact integers; a write
of either half re-bases the offset. `timer_pending` (mtime >= mtimecmp) and `software_pending`
(msip bit 0) are for the board's interrupt delivery: if it sets `on_timer` to a callable, the
mtimecmp crossing is scheduled through `board.schedule()` and reported to it.

`vbench.exit` (not on silicon): a 32-bit store of V at offset 0 ends the run with exit code V
through `board.exit(V)`; offset 0 reads 0.

`pulp.gpio`: PADDIR 0x0 (1 = output), PADIN 0x4 (read-only), PADOUT 0x8. Every change of the
level on an output pad calls `board.gpio_event("0", pin, level)`, as does a pad becoming an output.
"""

from __future__ import annotations

from collections import deque

from vbench.sim.peripherals.base import InputWaitDetector, Peripheral, register
from vbench.sim.peripherals.mmio_regs import LANE_MASKS, WordRegisters, merge

# ---------------------------------------------------------------------- 16550 UART
RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR = range(8)
LCR_DLAB = 1 << 7
LSR_DR, LSR_THRE, LSR_TEMT = 1 << 0, 1 << 5, 1 << 6
IER_ERBFI, IER_ETBEI = 1 << 0, 1 << 1
IIR_NONE, IIR_THR_EMPTY, IIR_RX_DATA = 0x01, 0x02, 0x04
IIR_FIFOS_ENABLED = 0xC0
FCR_FIFO_ENABLE = 1 << 0


@register
class Ns16550Uart(Peripheral):
    """The 16550 registers are 8-bit, one per 32-bit word."""

    TYPE = "ns16550.uart"

    def reset(self) -> None:
        self.ier = self.lcr = self.mcr = self.scr = self.dll = self.dlm = 0
        self.fifos = False
        self.thre_reported = False  # THR-empty interrupt identification consumed by an IIR read
        self.rx_queue: deque[int] = deque()
        self.last_rx = 0
        self.input_wait = InputWaitDetector()

    def feed(self, data: bytes) -> None:
        self.rx_queue.extend(data)

    def _index(self, offset: int, what: str) -> int:
        if offset & 3 or offset >= 0x20:
            raise self.unmodelled(offset, what)
        return offset // 4

    def lsr(self) -> int:
        return LSR_THRE | LSR_TEMT | (LSR_DR if self.rx_queue else 0)

    def iir(self) -> int:
        if self.ier & IER_ERBFI and self.rx_queue:
            ident = IIR_RX_DATA
        elif self.ier & IER_ETBEI and not self.thre_reported:
            ident = IIR_THR_EMPTY
            self.thre_reported = True  # reading IIR clears a THRE identification (PC16550D)
        else:
            ident = IIR_NONE
        return ident | (IIR_FIFOS_ENABLED if self.fifos else 0)

    def read(self, offset: int, size: int) -> int:
        index = self._index(offset, "read")
        dlab = self.lcr & LCR_DLAB
        if index == RBR_THR_DLL:
            if dlab:
                return self.dll
            if self.rx_queue:
                self.last_rx = self.rx_queue.popleft()
            return self.last_rx
        value = {
            IER_DLM: self.dlm if dlab else self.ier,
            IIR_FCR: None,
            LCR: self.lcr,
            MCR: self.mcr,
            LSR: None,
            MSR: 0,  # no modem inputs asserted
            SCR: self.scr,
        }[index]
        if index == IIR_FCR:
            value = self.iir()
        elif index == LSR:
            value = self.lsr()
            if not value & LSR_DR:
                self.input_wait.polled_empty(self.board)
        elif index == RBR_THR_DLL:
            self.input_wait.activity()
        return value & LANE_MASKS[size]

    def write(self, offset: int, size: int, value: int) -> None:
        index = self._index(offset, "write")
        value &= 0xFF
        dlab = self.lcr & LCR_DLAB
        if index == RBR_THR_DLL:
            if dlab:
                self.dll = value
            else:
                self.input_wait.activity()
                self.board.uart_tx(self.name, bytes([value]))
                self.thre_reported = False
        elif index == IER_DLM:
            if dlab:
                self.dlm = value
            else:
                self.ier = value & 0x0F
                self.thre_reported = False  # enabling ETBEI with THR empty raises the condition again
        elif index == IIR_FCR:
            # FCR's RX FIFO reset discards nothing: the queue is the host side of the line (the host
            # sends when the firmware listens), not bytes already in the FIFO.
            self.fifos = bool(value & FCR_FIFO_ENABLE)
        elif index == LCR:
            self.lcr = value
        elif index == MCR:
            self.mcr = value & 0x1F
        elif index == SCR:
            self.scr = value
        # LSR and MSR are read-only: writes ignored


# ---------------------------------------------------------------------- CLINT
MSIP, MTIMECMP_LO, MTIMECMP_HI, MTIME_LO, MTIME_HI = 0x0000, 0x4000, 0x4004, 0xBFF8, 0xBFFC
U64 = (1 << 64) - 1


@register
class RiscvCoreLocalInterruptor(Peripheral):
    TYPE = "riscv.clint"

    on_timer = None  # board hook: called with True when mtime reaches mtimecmp

    def reset(self) -> None:
        self.timebase_hz = int(self.params.get("timebase_hz", 1_000_000))
        self.msip = 0
        self.mtimecmp = U64  # not reset by hardware; all ones keeps the timer quiet until written
        self.mtime_offset = 0
        self._handle = None

    def _ticks(self, cycles: int) -> int:
        return cycles * self.timebase_hz // int(self.board.clock_hz)

    @property
    def mtime(self) -> int:
        return (self.mtime_offset + self._ticks(self.board.now()[0])) & U64

    @property
    def timer_pending(self) -> bool:
        return self.mtime >= self.mtimecmp

    @property
    def software_pending(self) -> bool:
        return bool(self.msip & 1)

    def read(self, offset: int, size: int) -> int:
        word, shift = offset & ~3, (offset & 3) * 8
        value = {MSIP: self.msip, MTIMECMP_LO: self.mtimecmp & 0xFFFF_FFFF, MTIMECMP_HI: self.mtimecmp >> 32,
                 MTIME_LO: self.mtime & 0xFFFF_FFFF, MTIME_HI: self.mtime >> 32}.get(word)
        if value is None:
            raise self.unmodelled(offset, "read")
        return (value >> shift) & LANE_MASKS[size]

    def write(self, offset: int, size: int, value: int) -> None:
        word, shift = offset & ~3, (offset & 3) * 8
        lanes = LANE_MASKS[size] << shift
        value = (value << shift) & lanes
        if word == MSIP:
            self.msip = (self.msip & ~lanes | value) & 1
        elif word in (MTIMECMP_LO, MTIMECMP_HI):
            half = 0 if word == MTIMECMP_LO else 32
            self.mtimecmp = (self.mtimecmp & ~(lanes << half) | (value << half)) & U64
            self._schedule()
        elif word in (MTIME_LO, MTIME_HI):
            half = 0 if word == MTIME_LO else 32
            wanted = (self.mtime & ~(lanes << half) | (value << half)) & U64
            self.mtime_offset = (wanted - self._ticks(self.board.now()[0])) & U64
            self._schedule()
        else:
            raise self.unmodelled(offset, "write")

    def _schedule(self) -> None:
        if self.on_timer is None:
            return
        if self._handle is not None:
            self.board.cancel(self._handle)
            self._handle = None
        if self.timer_pending:
            self.on_timer(True)
            return
        ticks_needed = (self.mtimecmp - self.mtime_offset) & U64
        # first cycle c with c * timebase_hz // clock_hz >= ticks_needed
        at = -(-ticks_needed * int(self.board.clock_hz) // self.timebase_hz)
        self._handle = self.board.schedule(at, lambda *_: self.on_timer(self.timer_pending))


# ---------------------------------------------------------------------- exit register
@register
class VbenchExitRegister(Peripheral):
    TYPE = "vbench.exit"

    def read(self, offset: int, size: int) -> int:
        if offset >= 4:
            raise self.unmodelled(offset, "read")
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if offset != 0 or size != 4:
            raise self.unmodelled(offset, f"{size}-byte write (the exit register takes one 32-bit store at offset 0):")
        self.board.exit(value & 0xFFFF_FFFF)


# ---------------------------------------------------------------------- PULPino GPIO
PADDIR, PADIN, PADOUT = 0x0, 0x4, 0x8


@register
class PulpGpio(WordRegisters):
    TYPE = "pulp.gpio"

    def reset(self) -> None:
        self.paddir = 0
        self.padout = 0
        self.inputs = 0  # levels driven from outside on input pads

    def _driven(self) -> dict[int, int]:
        return {pin: (self.padout >> pin) & 1 for pin in range(32) if self.paddir >> pin & 1}

    def read_word(self, reg: int) -> int:
        if reg == PADDIR:
            return self.paddir
        if reg == PADIN:
            return (self.padout & self.paddir) | (self.inputs & ~self.paddir)
        if reg == PADOUT:
            return self.padout
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        before = self._driven()
        if reg == PADDIR:
            self.paddir = merge(self.paddir, value, mask)
        elif reg == PADOUT:
            self.padout = merge(self.padout, value, mask)
        elif reg == PADIN:
            return  # read-only
        else:
            raise self.unmodelled(reg, "write")
        for pin, level in self._driven().items():
            if before.get(pin) != level:
                self.board.gpio_event("0", pin, level)
