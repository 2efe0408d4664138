/*
 * vbench start-up for the rv32imaf-mcu board (machine mode only, code and data in SRAM).
 *
 *   gp, sp, mtvec -> vb_trap; mstatus.FS = 01 (Initial) so F instructions do not trap
 *   (RISC-V privileged spec v1.12 §3.1.6.6); stack pre-filled with 0xA5A5A5A5; .tbss/.bss
 *   zeroed; tp = TLS block (picolibc, RISC-V TLS variant I: tp points at the block, no TCB);
 *   C constructors; system_init() if linked (weak); main(); main's return value stored to the
 *   vbench exit register; then `j .`.
 *
 * vb_trap: any exception or interrupt ends the run. mcause/mepc/mtval are saved in vb_trap_info
 * and the exit code is 128 + cause for exceptions, 192 + cause for interrupts.
 */

#define EXIT_REGISTER 0x1A1FF000
#define STACK_FILL    0xA5A5A5A5
#define MSTATUS_FS_INITIAL (1 << 13)

    .section .text.init, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      t0, vb_trap
    csrw    mtvec, t0

    li      t0, MSTATUS_FS_INITIAL
    csrs    mstatus, t0
    fscsr   zero                    /* round to nearest, flags clear */

    /* Stack pattern: [__stack_bottom, sp) */
    la      t0, __stack_bottom
    li      t2, STACK_FILL
1:  bgeu    t0, sp, 2f
    sw      t2, 0(t0)
    addi    t0, t0, 4
    j       1b
2:
    /* .tbss and .bss (with .sbss): zero */
    la      t0, __tbss_start
    la      t1, __tbss_end
3:  bgeu    t0, t1, 4f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       3b
4:  la      t0, _sbss
    la      t1, _ebss
5:  bgeu    t0, t1, 6f
    sw      zero, 0(t0)
    addi    t0, t0, 4
    j       5b
6:
    la      tp, __tls_base

    /* Constructors: __preinit_array then __init_array (s0/s1 survive the calls). */
    la      s0, __preinit_array_start
    la      s1, __preinit_array_end
7:  bgeu    s0, s1, 8f
    lw      t0, 0(s0)
    jalr    t0
    addi    s0, s0, 4
    j       7b
8:  la      s0, __init_array_start
    la      s1, __init_array_end
9:  bgeu    s0, s1, 10f
    lw      t0, 0(s0)
    jalr    t0
    addi    s0, s0, 4
    j       9b
10:
    .weak   system_init
    la      t0, system_init
    beqz    t0, 11f
    jalr    t0
11:
    call    main
    li      t0, EXIT_REGISTER
    sw      a0, 0(t0)
12: j       12b
    .size _start, . - _start

/* Trap handler: mtvec needs 4-byte alignment (direct mode, MODE = 00). */
    .section .text.vb_trap, "ax", @progbits
    .align  2
    .globl  vb_trap
    .type   vb_trap, @function
vb_trap:
    csrr    t0, mcause
    csrr    t1, mepc
    csrr    t2, mtval
    la      t3, vb_trap_info
    sw      t0, 0(t3)
    sw      t1, 4(t3)
    sw      t2, 8(t3)
    andi    t1, t0, 0x3f            /* exception code */
    addi    t1, t1, 128
    bgez    t0, 1f                  /* mcause bit 31 set: interrupt */
    addi    t1, t1, 64
1:  li      t3, EXIT_REGISTER
    sw      t1, 0(t3)
2:  j       2b
    .size vb_trap, . - vb_trap

    .section .bss.vb_trap_info, "aw", @nobits
    .align  2
    .globl  vb_trap_info
    .type   vb_trap_info, @object
vb_trap_info:                       /* mcause, mepc, mtval of the trap that ended the run */
    .space  12
    .size vb_trap_info, 12
