"""ARMv7-M exception model (NVIC priorities, exception entry and return) for Unicorn.

Unicorn runs the Cortex-M4 instruction set but has no NVIC: nothing ever becomes pending and
exception entry is never performed. This module is that missing half. The SCS peripheral model
(`armv7m.scs`) and the interrupt sources (SysTick, USART, TIM) feed pending/enabled/priority state
in; the board calls `take_pending(uc)` at block boundaries and `attach(uc)` once.

Architecture followed: ARMv7-M ARM (DDI0403E) B1.5 "ARMv7-M exception model": priorities and
preemption B1.5.4 (ExecutionPriority()), entry B1.5.6 (ExceptionTaken(), PushStack()), return
B1.5.8 (ExceptionReturn(), PopStack()), EXC_RETURN values Table B1-8.

What Unicorn 2.1.4 does, found by experiment (tests/test_peripherals.py repeats them):

1. Writing UC_ARM_REG_IPSR sets the exception number QEMU keeps, but not QEMU's cached TB flags,
   so code translated afterwards still believes it runs in Thread mode: `bx lr` with LR =
   0xFFFFFFF9 simply branches to 0xFFFFFFF8 and the fetch there raises EXCP_PREFETCH_ABORT (3)
   again and again (the 0xE0000000+ system region is execute-never). Mapping a page at
   0xFFFFF000 is neither needed nor useful.
2. Writing UC_ARM_REG_CPSR (its own value back) rebuilds those flags. After that, `bx lr`,
   `pop {..., pc}` or `ldr pc, ...` with an EXC_RETURN value in Handler mode raises
   EXCP_EXCEPTION_EXIT (8), delivered to UC_HOOK_INTR with PC = EXC_RETURN & ~1. Unicorn does not
   run QEMU's v7m exception-exit code: nothing is unstacked, and if the hook returns without a new
   PC the core continues at 0xFFFFFFF8 and prefetch-aborts. So the return is performed here, in
   the UC_HOOK_INTR callback, and the new PC written there is where execution resumes.
3. SVC raises EXCP_SWI (2) with PC already on the next instruction (the SVCall return address).
4. UC_ARM_REG_MSP/PSP are banked by QEMU (the one not in use is kept aside) but are only
   accessible when privileged; a CONTROL.SPSEL write takes effect only in Thread mode (ARMv7-M:
   ignored in Handler mode), and swaps the stack pointers itself.
5. An FP instruction sets CONTROL.FPCA (QEMU resets FPCCR.ASPEN to 1), so the extended frame is
   needed whenever the interrupted code has used the FPU.

Deliberate simplifications (each stated where it applies):
* FP context is stacked eagerly (the extended frame with S0-S15 and FPSCR is written at entry):
  the memory layout is the architected one; FPCCR.LSPACT/FPCAR lazy-state bookkeeping is not
  kept. CONTROL.FPCA follows QEMU's own FPCCR, not the SCS copy the firmware writes.
* Tail-chaining and late arrival are modelled by their effect (the next exception is taken right
  after the return, on the same stack frame contents), not their cycle savings; `entries` and
  `returns` count the events for the timing model.
* Faults raised by the emulator (bad access, undefined instruction) are reported by the board as
  errors rather than taken as HardFault/MemManage/BusFault/UsageFault; `record_fault()` lets a
  fault model fill CFSR/HFSR/MMFAR/BFAR. An illegal EXC_RETURN, an inconsistent return or a
  vector without the Thumb bit raises FirmwareFault instead of escalating to UsageFault.
* The UsageFaults Unicorn does not raise are taken (`usage_fault()`): unaligned LDRD/STRD/LDM/STM
  and LDREX/STREX always, unaligned LDR/STR/LDRH/STRH with CCR.UNALIGN_TRP, SDIV/UDIV by zero
  with CCR.DIV_0_TRP (DDI0403E A3.2.1 "Alignment behavior", B3.2.8 CCR, B3.2.15 CFSR); native
  hooks on those instructions detect them (vbench/_native/traps.c), the core plug-in calls here.
  A fault with no handler to run ends the run as a firmware fault naming the kind and address.
* The local exclusive monitor is not cleared on entry/return (Unicorn does not expose it).
"""

from __future__ import annotations

import struct

from unicorn import UC_HOOK_INTR, UcError
from unicorn.arm_const import (
    UC_ARM_REG_BASEPRI,
    UC_ARM_REG_CONTROL,
    UC_ARM_REG_CPSR,
    UC_ARM_REG_D0,
    UC_ARM_REG_FAULTMASK,
    UC_ARM_REG_FPSCR,
    UC_ARM_REG_IPSR,
    UC_ARM_REG_LR,
    UC_ARM_REG_MSP,
    UC_ARM_REG_PC,
    UC_ARM_REG_PRIMASK,
    UC_ARM_REG_PSP,
    UC_ARM_REG_R0,
    UC_ARM_REG_R1,
    UC_ARM_REG_R2,
    UC_ARM_REG_R3,
    UC_ARM_REG_R12,
    UC_ARM_REG_XPSR,
    UC_ARM_REG_XPSR_NZCVQG,
)

from vbench.errors import FirmwareFault

# Exception numbers: DDI0403E B1.5.2 Table B1-4.
RESET, NMI, HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT = 1, 2, 3, 4, 5, 6
SVCALL, DEBUGMONITOR, PENDSV, SYSTICK = 11, 12, 14, 15
FIRST_IRQ = 16
FIXED_PRIORITY = {RESET: -3, NMI: -2, HARDFAULT: -1}  # B1.5.4
CONFIGURABLE_SYSTEM = (MEMMANAGE, BUSFAULT, USAGEFAULT, SVCALL, DEBUGMONITOR, PENDSV, SYSTICK)

# QEMU exception indices as Unicorn reports them to UC_HOOK_INTR (qemu/target/arm/cpu.h EXCP_*).
EXCP_SWI, EXCP_PREFETCH_ABORT, EXCP_EXCEPTION_EXIT = 2, 3, 8

# CONTROL bits: B1.4.4.
CONTROL_NPRIV, CONTROL_SPSEL, CONTROL_FPCA = 1 << 0, 1 << 1, 1 << 2
# xPSR fields: B1.4.2. Bit 9 of a stacked xPSR records the 4-byte alignment padding (B1.5.7).
XPSR_T = 1 << 24
XPSR_IT_ICI = (0x3 << 25) | (0x3F << 10)
XPSR_STACK_ALIGN = 1 << 9
IPSR_MASK = 0x1FF
# CCR bits: B3.2 (Configuration and Control Register).
CCR_NONBASETHRDENA, CCR_STKALIGN = 1 << 0, 1 << 9
# SHCSR enable bits for the three configurable faults: B3.2 (SHCSR).
SHCSR_ENABLE_BIT = {MEMMANAGE: 16, BUSFAULT: 17, USAGEFAULT: 18}
HFSR_FORCED = 1 << 30  # B3.2 (HardFault Status Register)
# The UsageFault status bits of CFSR (UFSR, B3.2.15); the CCR trap enables are in vbench/sim/native.py.
UFSR_UNALIGNED, UFSR_DIVBYZERO = 1 << 24, 1 << 25
USAGE_FAULT_KIND = {UFSR_UNALIGNED: "unaligned access", UFSR_DIVBYZERO: "divide by zero"}
FAULT_HANDLERS = (HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT)
EXCEPTION_NAME = {NMI: "NMI", HARDFAULT: "HardFault", MEMMANAGE: "MemManage", BUSFAULT: "BusFault",
                  USAGEFAULT: "UsageFault"}

BASIC_FRAME, EXTENDED_FRAME = 0x20, 0x68  # bytes: B1.5.7, Figure B1-3


class ExceptionController:
    """Pending/active/enabled/priority state of every exception, and entry/return on a Unicorn CPU.

    External interrupt n is exception 16 + n. Priority values are the 8-bit register values with
    only the `priority_bits` most significant bits implemented (STM32L4: 4, the CMSIS
    `__NVIC_PRIO_BITS` of ST's device headers); lower values are more urgent.
    """

    def __init__(self, irq_lines: int = 240, priority_bits: int = 8):
        self.uc = None
        self._handled_abort = False
        # Called when an exception becomes pending, so that the board gets control back and can
        # take it at the next block boundary (the SCS model installs one using board.schedule).
        self.on_pending = None
        # Called with the new CCR value when the firmware writes it (the core plug-in hands the
        # trap enables to the native hooks).
        self.on_ccr = None
        self.configure(irq_lines, priority_bits)

    def configure(self, irq_lines: int, priority_bits: int) -> None:
        if not 1 <= irq_lines <= 496 or not 3 <= priority_bits <= 8:  # B3.4 (NVIC): up to 496 lines, >= 3 bits
            raise ValueError(f"unsupported NVIC geometry: {irq_lines} lines, {priority_bits} priority bits")
        self.irq_lines = irq_lines
        self.priority_bits = priority_bits
        self.priority_mask = (0xFF << (8 - priority_bits)) & 0xFF
        self.reset()

    def reset(self) -> None:
        """State after a power-on or local reset: nothing pending, active or enabled, priority 0."""
        count = FIRST_IRQ + self.irq_lines
        self.priority = [0] * count
        self.irq_enabled = [False] * count
        self.pending: set[int] = set()
        self.active: list[int] = []  # in activation order: the last one is the running handler
        self.asserted: set[int] = set()  # level-sensitive lines currently held high
        self.vtor = 0
        self.prigroup = 0
        self.ccr = CCR_STKALIGN  # Cortex-M4 CCR reset value 0x00000200 (STKALIGN set)
        self.shcsr_enables = 0
        self.cfsr = self.hfsr = self.mmfar = self.bfar = 0
        self.fault_taken: str | None = None  # the synchronous fault whose handler is running
        self.entries = self.returns = 0
        self.on_timing = None  # callback(kind: "entry" | "return", extended_frame: bool) for the timing model

    # ------------------------------------------------------------------ state fed by the models
    def exception_count(self) -> int:
        return FIRST_IRQ + self.irq_lines

    def check_number(self, number: int) -> None:
        if not 1 <= number < self.exception_count():
            raise FirmwareFault(f"exception {number} does not exist on this core ({self.irq_lines} external lines)")

    def set_pending(self, number: int) -> None:
        """Pend exception `number` (a pulse: it stays pending until taken or cleared)."""
        self.check_number(number)
        if number in SHCSR_ENABLE_BIT and not self.is_enabled(number):
            # A disabled configurable fault escalates to HardFault: B1.5.4 "Priority escalation".
            self.hfsr |= HFSR_FORCED
            number = HARDFAULT
        self._add_pending(number)

    def _add_pending(self, number: int) -> None:
        if number not in self.pending:
            self.pending.add(number)
            if self.on_pending is not None:
                self.on_pending()

    def clear_pending(self, number: int) -> None:
        self.pending.discard(number)

    def set_irq_level(self, irq: int, asserted: bool) -> None:
        """Drive external interrupt line `irq` (a level-sensitive peripheral output).

        An asserted line pends its interrupt unless it is active; if it is still asserted when its
        handler returns, it pends again (B3.4, "level-sensitive interrupts").
        """
        number = FIRST_IRQ + irq
        self.check_number(number)
        if asserted:
            self.asserted.add(number)
            if number not in self.active:
                self._add_pending(number)
        else:
            self.asserted.discard(number)

    def is_enabled(self, number: int) -> bool:
        if number >= FIRST_IRQ:
            return self.irq_enabled[number]
        if number in SHCSR_ENABLE_BIT:
            return bool(self.shcsr_enables & (1 << SHCSR_ENABLE_BIT[number]))
        return True  # NMI, HardFault, SVCall, DebugMonitor, PendSV, SysTick cannot be disabled

    def set_enabled(self, number: int, enabled: bool) -> None:
        self.irq_enabled[number] = enabled

    def priority_of(self, number: int) -> int:
        return FIXED_PRIORITY.get(number, self.priority[number])

    def set_priority(self, number: int, value: int) -> None:
        self.priority[number] = value & self.priority_mask

    def group_priority(self, value: int) -> int:
        """Priority with the subpriority field removed (AIRCR.PRIGROUP): B1.5.4."""
        if value < 0:
            return value
        return value & ~((2 << self.prigroup) - 1)

    def write_ccr(self, value: int) -> None:
        self.ccr = value
        if self.on_ccr is not None:
            self.on_ccr(value)

    def record_fault(self, cfsr: int = 0, hfsr: int = 0, mmfar: int | None = None, bfar: int | None = None) -> None:
        """For a fault model: set status bits and fault addresses as the SCB fault registers show them."""
        self.cfsr |= cfsr
        self.hfsr |= hfsr
        if mmfar is not None:
            self.mmfar = mmfar & 0xFFFF_FFFF
        if bfar is not None:
            self.bfar = bfar & 0xFFFF_FFFF

    @property
    def current(self) -> int:
        """The exception being handled (IPSR as this model last set it), 0 in Thread mode."""
        return self.active[-1] if self.active else 0

    # ------------------------------------------------------------------ priority resolution
    def execution_priority(self, uc) -> int:
        """ExecutionPriority() of B1.5.4: active exceptions, BASEPRI, PRIMASK, FAULTMASK."""
        running = min((self.group_priority(self.priority_of(n)) for n in self.active), default=256)
        boosted = 256
        basepri = uc.reg_read(UC_ARM_REG_BASEPRI) & self.priority_mask
        if basepri:
            boosted = self.group_priority(basepri)
        if uc.reg_read(UC_ARM_REG_PRIMASK) & 1:
            boosted = 0
        if uc.reg_read(UC_ARM_REG_FAULTMASK) & 1:
            boosted = -1
        return min(running, boosted)

    def highest_pending(self) -> int | None:
        """The enabled pending exception to take next: lowest priority value, then lowest number."""
        ready = [n for n in self.pending if self.is_enabled(n)]
        return min(ready, key=lambda n: (self.priority_of(n), n)) if ready else None

    def deliverable(self, uc) -> int | None:
        """The exception `take_pending` would take now, or None (also what wakes a WFI)."""
        if not self.pending:
            return None
        number = self.highest_pending()
        if number is None or self.group_priority(self.priority_of(number)) >= self.execution_priority(uc):
            return None
        return number

    # ------------------------------------------------------------------ hooks into Unicorn
    def attach(self, uc) -> None:
        """Install the UC_HOOK_INTR callback that performs exception return and SVC entry."""
        self.uc = uc
        uc.hook_add(UC_HOOK_INTR, lambda uc_, intno, _data: self.handle_interrupt(uc_, intno))

    def on_unicorn_exception(self, intno: int) -> bool:
        """For a board's own UC_HOOK_INTR (Unicorn calls every INTR hook): True if the hook that
        `attach` installed handles (or has just handled) this Unicorn exception."""
        if intno in (EXCP_EXCEPTION_EXIT, EXCP_SWI):
            return True
        if intno == EXCP_PREFETCH_ABORT:
            handled, self._handled_abort = self._handled_abort, False  # consumed by this dispatch
            return handled or (self.uc is not None and self._is_exception_return_fetch(self.uc))
        return False

    def can_wake(self) -> bool:
        """Whether a configurable-priority exception could preempt now (PRIMASK, FAULTMASK,
        BASEPRI and the running handlers allow it): what ends a WFI or idle loop."""
        return self.uc is None or self.execution_priority(self.uc) > 0

    def _is_exception_return_fetch(self, uc) -> bool:
        return uc.reg_read(UC_ARM_REG_PC) >= 0xFFFF_FFE0 and bool(self.active)

    def handle_interrupt(self, uc, intno: int) -> bool:
        """Unicorn exception `intno` raised by the core: returns True if this model consumed it.

        A board with its own UC_HOOK_INTR (semihosting BKPT is EXCP_BKPT = 7) can call this first
        instead of `attach`.
        """
        self._handled_abort = False
        if intno == EXCP_EXCEPTION_EXIT:
            self.exception_return(uc)
            return True
        if intno == EXCP_PREFETCH_ABORT and self._is_exception_return_fetch(uc):
            self._handled_abort = True
            self.exception_return(uc)  # an EXC_RETURN branch translated with stale Thread-mode flags
            return True
        if intno == EXCP_SWI:
            self.supervisor_call(uc)
            return True
        return False

    def take_pending(self, uc, return_address: int | None = None) -> bool:
        """Take the most urgent pending exception if it may preempt what runs now.

        Call between instructions: at a block boundary, or while emulation is stopped. The return
        address is the next instruction that has not executed (default: the current PC).
        """
        number = self.deliverable(uc)
        if number is None:
            return False
        self.exception_entry(uc, number, uc.reg_read(UC_ARM_REG_PC) if return_address is None else return_address)
        return True

    def supervisor_call(self, uc) -> None:
        """SVC executed: SVCall is synchronous and must be taken now (B1.5.4)."""
        self.pending.add(SVCALL)
        if self.group_priority(self.priority_of(SVCALL)) >= self.execution_priority(uc):
            raise FirmwareFault(
                f"SVC at {uc.reg_read(UC_ARM_REG_PC) - 2:#010x} with SVCall masked or not above the current "
                "priority: the core would escalate to HardFault (not modelled)"
            )
        self.take_pending(uc)

    def usage_fault(self, uc, ufsr_bit: int, pc: int, where: str) -> None:
        """The instruction at pc raised UsageFault (it did not execute): set CFSR, then take
        UsageFault, or HardFault with HFSR.FORCED when UsageFault is disabled in SHCSR or its
        priority cannot preempt (B1.5.4 "Priority escalation"), with pc as the stacked return
        address (B1.5.6: a fault returns to the faulting instruction). Raises FirmwareFault,
        naming the fault, when there is no handler to run or the escalation would lock up."""
        what = f"UsageFault: {USAGE_FAULT_KIND.get(ufsr_bit, 'fault')} at {where}"
        self.cfsr |= ufsr_bit
        number, running = USAGEFAULT, self.execution_priority(uc)
        if not self.is_enabled(USAGEFAULT) or self.group_priority(self.priority_of(USAGEFAULT)) >= running:
            if running <= self.priority_of(HARDFAULT):  # in HardFault or NMI, or FAULTMASK set: lockup (B1.5.15)
                raise FirmwareFault(f"{what}: lockup (raised at a priority HardFault cannot preempt)")
            number = HARDFAULT
            self.hfsr |= HFSR_FORCED
        vector = self._read_word(uc, self.vtor + 4 * number, f"vector of exception {number}")
        if not vector & 1:
            escalated = ", escalated to HardFault," if number == HARDFAULT else ""
            raise FirmwareFault(f"{what}{escalated} with no {EXCEPTION_NAME[number]} handler "
                                f"(vector {vector:#010x} at {self.vtor + 4 * number:#010x})")
        self.exception_entry(uc, number, pc)
        self.fault_taken = f"{what}, taken as {EXCEPTION_NAME[number]}"

    def fault_in_handler(self) -> str | None:
        """What a fault handler that is running is handling (None when none runs): a run that
        halts there (a `b .` HardFault_Handler) ended in that fault, not cleanly."""
        running = [n for n in self.active if n in FAULT_HANDLERS]
        if not running:
            return None
        return self.fault_taken or f"{EXCEPTION_NAME[running[-1]]} handler running"

    # ------------------------------------------------------------------ entry
    def exception_entry(self, uc, number: int, return_address: int) -> None:
        """ExceptionTaken(number) with PushStack(): B1.5.6 and B1.5.7."""
        ipsr = uc.reg_read(UC_ARM_REG_IPSR) & IPSR_MASK
        control = uc.reg_read(UC_ARM_REG_CONTROL)
        thread = ipsr == 0
        if thread and control & CONTROL_NPRIV:
            self._privileged_thread(uc, control)
        msp, psp = uc.reg_read(UC_ARM_REG_MSP), uc.reg_read(UC_ARM_REG_PSP)
        on_psp = thread and bool(control & CONTROL_SPSEL)
        extended = bool(control & CONTROL_FPCA)
        frame_size = EXTENDED_FRAME if extended else BASIC_FRAME
        force_align = extended or bool(self.ccr & CCR_STKALIGN)
        sp = psp if on_psp else msp
        padded = (sp >> 2) & 1 if force_align else 0
        frame = ((sp - frame_size) & ~(4 if force_align else 0)) & 0xFFFF_FFFF

        xpsr = uc.reg_read(UC_ARM_REG_XPSR)
        words = [uc.reg_read(r) for r in (UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3, UC_ARM_REG_R12, UC_ARM_REG_LR)]
        words += [return_address & ~1, (xpsr & ~XPSR_STACK_ALIGN) | (padded << 9)]
        if extended:
            words += self._read_fp_caller_saved(uc) + [uc.reg_read(UC_ARM_REG_FPSCR), 0]  # last word reserved
        try:
            uc.mem_write(frame, struct.pack(f"<{len(words)}I", *(w & 0xFFFF_FFFF for w in words)))
        except UcError:
            raise FirmwareFault(
                f"stacking for exception {number} failed: frame at {frame:#010x} is not writable RAM (stack overflow?)"
            ) from None
        if on_psp:
            psp = frame
        else:
            msp = frame
        uc.reg_write(UC_ARM_REG_MSP, msp)
        uc.reg_write(UC_ARM_REG_PSP, psp)

        if thread:
            exc_return = 0xFFFF_FFED if on_psp else 0xFFFF_FFE9
        else:
            exc_return = 0xFFFF_FFE1
        if not extended:
            exc_return |= 0x10  # B1.5.8 Table B1-8: bit 4 = 1 means basic frame
        vector = self._read_word(uc, self.vtor + 4 * number, f"vector of exception {number}")
        if not vector & 1:
            raise FirmwareFault(f"vector of exception {number} at {self.vtor + 4 * number:#010x} is {vector:#010x}: Thumb bit clear")

        # Handler mode on the main stack; FP context marked inactive; nPRIV unchanged (B1.5.6).
        uc.reg_write(UC_ARM_REG_CONTROL, control & ~(CONTROL_SPSEL | CONTROL_FPCA))
        uc.reg_write(UC_ARM_REG_XPSR_NZCVQG, (xpsr & ~(XPSR_IT_ICI | IPSR_MASK)) | XPSR_T | number)
        uc.reg_write(UC_ARM_REG_LR, exc_return)
        self._rebuild_translation_flags(uc)
        uc.reg_write(UC_ARM_REG_PC, vector)
        self.pending.discard(number)
        self.active.append(number)
        self.entries += 1
        if self.on_timing:
            self.on_timing("entry", extended)

    # ------------------------------------------------------------------ return
    def exception_return(self, uc) -> None:
        """ExceptionReturn() with PopStack(): B1.5.8. Runs in the UC_HOOK_INTR callback."""
        exc_return = uc.reg_read(UC_ARM_REG_PC) | 1
        returning = uc.reg_read(UC_ARM_REG_IPSR) & IPSR_MASK
        if returning not in self.active:
            raise FirmwareFault(f"exception return (EXC_RETURN {exc_return:#010x}) from exception {returning}, which is not active")
        mode = exc_return & 0xF
        if exc_return >> 5 != 0x7FF_FFFF or mode not in (0x1, 0x9, 0xD):
            raise FirmwareFault(f"illegal EXC_RETURN {exc_return:#010x} in the handler of exception {returning}")
        to_thread = mode != 0x1
        if to_thread and len(self.active) != 1 and not self.ccr & CCR_NONBASETHRDENA:
            raise FirmwareFault(f"return to Thread mode from exception {returning} while {len(self.active) - 1} other(s) are active")

        control = uc.reg_read(UC_ARM_REG_CONTROL)
        msp, psp = uc.reg_read(UC_ARM_REG_MSP), uc.reg_read(UC_ARM_REG_PSP)
        extended = not exc_return & 0x10
        frame_size = EXTENDED_FRAME if extended else BASIC_FRAME
        force_align = extended or bool(self.ccr & CCR_STKALIGN)
        frame = psp if mode == 0xD else msp
        count = frame_size // 4
        try:
            words = struct.unpack(f"<{count}I", uc.mem_read(frame, frame_size))
        except UcError:
            raise FirmwareFault(f"unstacking for exception {returning} failed: frame at {frame:#010x} is not readable") from None
        r0, r1, r2, r3, r12, lr, pc, psr = words[:8]
        target_ipsr = psr & IPSR_MASK
        if to_thread == bool(target_ipsr) or not psr & XPSR_T:
            raise FirmwareFault(
                f"inconsistent exception return from exception {returning}: EXC_RETURN {exc_return:#010x}, stacked xPSR {psr:#010x}"
            )
        new_sp = (frame + frame_size) | ((((psr >> 9) & 1) if force_align else 0) << 2)
        if mode == 0xD:
            psp = new_sp
        else:
            msp = new_sp
        uc.reg_write(UC_ARM_REG_MSP, msp)
        uc.reg_write(UC_ARM_REG_PSP, psp)
        if extended:
            self._write_fp_caller_saved(uc, list(words[8:24]))
            uc.reg_write(UC_ARM_REG_FPSCR, words[24])
        for reg, value in zip((UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3, UC_ARM_REG_R12, UC_ARM_REG_LR),
                              (r0, r1, r2, r3, r12, lr)):
            uc.reg_write(reg, value)

        # DeActivate(): the handler is no longer active; FAULTMASK clears except for NMI.
        del self.active[len(self.active) - 1 - self.active[::-1].index(returning)]
        if not any(n in FAULT_HANDLERS for n in self.active):
            self.fault_taken = None
        if returning != NMI:
            uc.reg_write(UC_ARM_REG_FAULTMASK, 0)

        new_control = (control & ~(CONTROL_SPSEL | CONTROL_FPCA)) | (CONTROL_SPSEL if mode == 0xD else 0)
        new_control |= CONTROL_FPCA if extended else 0
        new_xpsr = psr & ~XPSR_STACK_ALIGN
        if to_thread:
            # Still in Handler mode (privileged): set FPCA, and clear nPRIV for a moment so the
            # Thread-mode CONTROL write below (which selects the stack) is not ignored.
            uc.reg_write(UC_ARM_REG_CONTROL, new_control & ~(CONTROL_NPRIV | CONTROL_SPSEL))
            uc.reg_write(UC_ARM_REG_XPSR_NZCVQG, new_xpsr)
            uc.reg_write(UC_ARM_REG_CONTROL, new_control)
        else:
            uc.reg_write(UC_ARM_REG_CONTROL, new_control)
            uc.reg_write(UC_ARM_REG_XPSR_NZCVQG, new_xpsr)
        self._rebuild_translation_flags(uc)
        uc.reg_write(UC_ARM_REG_PC, pc | 1)
        if returning in self.asserted:
            self._add_pending(returning)
        self.returns += 1
        if self.on_timing:
            self.on_timing("return", extended)
        self.take_pending(uc)  # tail-chaining: the next deliverable exception, if any, now

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _rebuild_translation_flags(uc) -> None:
        """Make QEMU recompute its cached Handler/Thread flags (finding 2 of the module docstring)."""
        uc.reg_write(UC_ARM_REG_CPSR, uc.reg_read(UC_ARM_REG_CPSR))

    @staticmethod
    def _privileged_thread(uc, control: int) -> None:
        """Clear CONTROL.nPRIV in Thread mode: pass through Handler mode, where CONTROL is writable."""
        uc.reg_write(UC_ARM_REG_IPSR, HARDFAULT)
        uc.reg_write(UC_ARM_REG_CONTROL, control & ~CONTROL_NPRIV)
        uc.reg_write(UC_ARM_REG_IPSR, 0)

    @staticmethod
    def _read_word(uc, address: int, what: str) -> int:
        try:
            return struct.unpack("<I", uc.mem_read(address, 4))[0]
        except UcError:
            raise FirmwareFault(f"{what} at {address:#010x} is not readable (VTOR points to unmapped memory?)") from None

    @staticmethod
    def _read_fp_caller_saved(uc) -> list[int]:
        """S0-S15, read as D0-D7 (Dn = S2n+1:S2n)."""
        out = []
        for i in range(8):
            d = uc.reg_read(UC_ARM_REG_D0 + i)
            out += [d & 0xFFFF_FFFF, (d >> 32) & 0xFFFF_FFFF]
        return out

    @staticmethod
    def _write_fp_caller_saved(uc, singles: list[int]) -> None:
        for i in range(8):
            uc.reg_write(UC_ARM_REG_D0 + i, singles[2 * i] | (singles[2 * i + 1] << 32))
