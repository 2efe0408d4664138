"""STM32L4+ USART and LPUART (RM0432 Rev 9, "USART registers" and "LPUART registers").

Offsets: CR1 0x00, CR2 0x04, CR3 0x08, BRR 0x0C, GTPR 0x10 and RTOR 0x14 (USART only), RQR 0x18,
ISR 0x1C, ICR 0x20, RDR 0x24, TDR 0x28, PRESC 0x2C. ISR resets to 0x0080_00C0 (TXFE, TXE, TC).

Transmission is instantaneous in virtual time (a deliberate choice): a TDR write with CR1.UE and
CR1.TE set hands the byte to `board.uart_tx(name, bytes)` at once, and TXE, TC and TXFE read 1
again immediately. Silicon would hold TXE low for one frame (86.8 us per byte at 115200 baud);
here console output costs the firmware no cycles beyond the register accesses, so printing does
not inflate measured compute time. TC still reads 0 after ICR.TCCF until the next byte.

Reception: `feed(data)` queues host bytes on the line. RXNE reads 1 while bytes are queued and the
receiver is on (UE and RE); reading RDR pops one byte (RDR keeps the last byte once the queue is
empty). No byte is ever lost, so ORE never sets. IDLE sets when the last queued byte has been
read (the line has gone quiet). The interrupt output is level-sensitive and drives the `irq`
line of the NVIC model: RXNEIE.RXNE | TXEIE.TXE | TCIE.TC | IDLEIE.IDLE | TXFEIE.TXFE.

Not modelled (held or ignored): baud rate (BRR/PRESC held), parity/framing/noise errors,
hardware flow control, LIN, smartcard, IrDA, auto-baud, wakeup from Stop, receiver timeout, DMA
requests; 9-bit frames transmit their low 8 bits.
"""

from __future__ import annotations

from collections import deque

from vbench.sim.peripherals.base import InputWaitDetector, register
from vbench.sim.peripherals.mmio_regs import WordRegisters, merge

CR1, CR2, CR3, BRR, GTPR, RTOR, RQR, ISR, ICR, RDR, TDR, PRESC = range(0, 0x30, 4)
# CR1 bits.
UE, RE, TE = 1 << 0, 1 << 2, 1 << 3
IDLEIE, RXNEIE, TCIE, TXEIE = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FIFOEN, TXFEIE = 1 << 29, 1 << 30
IRQ_ENABLES = IDLEIE | RXNEIE | TCIE | TXEIE | TXFEIE
# ISR bits.
ISR_ORE, ISR_IDLE, ISR_RXNE, ISR_TC, ISR_TXE = 1 << 3, 1 << 4, 1 << 5, 1 << 6, 1 << 7
ISR_TEACK, ISR_REACK, ISR_TXFE, ISR_TXFT = 1 << 21, 1 << 22, 1 << 23, 1 << 27
# ICR bits (write 1 to clear) and RQR bits.
ORECF, IDLECF, TCCF = 1 << 3, 1 << 4, 1 << 6
RXFRQ = 1 << 3

HELD_MASKS = {CR1: 0xFFFF_FFFF, CR2: 0xFFFF_FFFF, CR3: 0xFFFF_FFFF, BRR: 0x0000_FFFF, GTPR: 0x0000_FFFF,
              RTOR: 0xFFFF_FFFF, PRESC: 0x0000_000F}
LPUART_BRR_MASK = 0x000F_FFFF  # LPUART BRR is 20 bits (256 * fck / baud)


@register
class Stm32UniversalSyncAsyncReceiverTransmitter(WordRegisters):
    TYPE = "stm32.usart"

    def reset(self) -> None:
        self.lpuart = bool(self.params.get("lpuart", False))
        self.regs = {reg: 0 for reg in HELD_MASKS if not (self.lpuart and reg in (GTPR, RTOR))}
        self.rx_queue: deque[int] = deque()
        self.input_wait = InputWaitDetector()
        self.last_rx = 0
        self.last_tx = 0
        self.tc = True
        self.idle = False
        self.ore = False
        self._irq_level = False

    # ------------------------------------------------------------------ host side
    def feed(self, data: bytes) -> None:
        """Bytes arriving on the RX line from the host."""
        self.rx_queue.extend(data)
        self._update_irq()

    @property
    def cr1(self) -> int:
        return self.regs[CR1]

    def _receiving(self) -> bool:
        return bool(self.cr1 & UE and self.cr1 & RE)

    def isr(self) -> int:
        cr1 = self.regs[CR1]
        receiving = cr1 & UE and cr1 & RE
        value = ISR_TXE | ISR_TXFE
        value |= ISR_TC if self.tc else 0
        value |= ISR_RXNE if self.rx_queue and receiving else 0
        value |= ISR_IDLE if self.idle else 0
        value |= ISR_ORE if self.ore else 0
        value |= ISR_TEACK if cr1 & UE and cr1 & TE else 0
        value |= ISR_REACK if receiving else 0
        value |= ISR_TXFT if cr1 & FIFOEN else 0  # empty TX FIFO is below any threshold
        return value

    def _update_irq(self) -> None:
        irq = self.params.get("irq")
        if irq is None:
            return
        cr1 = self.regs[CR1]
        if not cr1 & IRQ_ENABLES and not self._irq_level:  # no source enabled: the line stays low
            return
        isr = self.isr()
        level = bool(
            (cr1 & RXNEIE and isr & ISR_RXNE) or (cr1 & TXEIE and isr & ISR_TXE) or (cr1 & TCIE and isr & ISR_TC)
            or (cr1 & IDLEIE and isr & ISR_IDLE) or (cr1 & TXFEIE and isr & ISR_TXFE)
        )
        if level or self._irq_level:
            self.board.exceptions.set_irq_level(irq, level)
        self._irq_level = level

    # ------------------------------------------------------------------ registers
    def read_word(self, reg: int) -> int:
        if reg in self.regs:
            return self.regs[reg]
        if reg == ISR:
            value = self.isr()
            if value & ISR_REACK and not value & ISR_RXNE:
                self.input_wait.polled_empty(self.board)
            return value
        if reg == RDR:
            self.input_wait.activity()
            if self.rx_queue and self._receiving():
                self.last_rx = self.rx_queue.popleft()
                if not self.rx_queue:
                    self.idle = True
                self._update_irq()
            return self.last_rx
        if reg == TDR:
            return self.last_tx
        if reg in (RQR, ICR):
            return 0  # write-only
        raise self.unmodelled(reg, "read")

    def write_word(self, reg: int, value: int, mask: int) -> None:
        if reg in self.regs:
            writable = LPUART_BRR_MASK if self.lpuart and reg == BRR else HELD_MASKS[reg]
            self.regs[reg] = merge(self.regs[reg], value, mask & writable)
        elif reg == TDR:
            self.input_wait.activity()
            self.last_tx = value & mask & 0x1FF
            if self.cr1 & UE and self.cr1 & TE:
                self.board.uart_tx(self.name, bytes([self.last_tx & 0xFF]))
                self.tc = True
        elif reg == ICR:
            bits = value & mask
            self.tc = self.tc and not bits & TCCF
            self.idle = self.idle and not bits & IDLECF
            self.ore = self.ore and not bits & ORECF
        elif reg == RQR:
            if value & mask & RXFRQ and self.rx_queue and self._receiving():
                self.last_rx = self.rx_queue.popleft()  # flush: the received byte is discarded
        elif reg == ISR or reg == RDR:
            pass  # read-only
        else:
            raise self.unmodelled(reg, "write")
        self._update_irq()
