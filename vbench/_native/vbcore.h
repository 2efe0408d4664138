/* vbcore: the native hot path of vbench. This header is the ABI shared with Python
 * (vbench/sim/native.py mirrors it; vb_abi() lets Python refuse a library built from another
 * version of it).
 *
 * Unicorn calls vb_hook_block() at the start of every translated block it executes. The first
 * time a block runs, its instructions are decoded from the bytes that execute (a callback into
 * Python fills the lazily allocated code map), and its static cost (instructions, cycles with
 * the intra-block pipeline rules, charge) is cached. A block is committed when the next one
 * starts, because only then is it known whether its final branch was taken. Flash timing comes
 * from a flash-accelerator model behind two entry points (instruction fetch, data read; see
 * flash_art.h). Everything is integer arithmetic in a fixed order: the same firmware gives the
 * same figures on every host. */
#ifndef VBCORE_H
#define VBCORE_H

#include <stdint.h>

#define VB_API __attribute__((visibility("default")))

/* Bump whenever a struct or enum below changes: Python refuses a library with another value. */
#define VB_ABI_VERSION 7

/* Instruction attribute flags. */
enum {
    VB_F_LOAD = 1u << 0,         /* single load (LDR/LDRB/LW/FLW/VLDR) */
    VB_F_STORE = 1u << 1,        /* single store */
    VB_F_LDR_PIPE = 1u << 2,     /* may pipeline with a preceding LDR (Cortex-M4 TRM 3.3.2) */
    VB_F_BRANCH_COND = 1u << 3,  /* conditional branch: taken or not decided at commit */
    VB_F_BRANCH = 1u << 4,       /* unconditional change of flow (cost includes the refill) */
    VB_F_DATA_PROC = 1u << 5,    /* ALU result: feeds the AGU one cycle late (no forwarding) */
    VB_F_DIVIDE = 1u << 6,       /* data-dependent divide: cost added by a code hook */
    VB_F_LITERAL = 1u << 7,      /* PC-relative load: static address in `aux` */
    VB_F_MULTI = 1u << 8,        /* LDM/STM/PUSH/POP/LDRD/STRD: never pipelines */
    VB_F_WIDE = 1u << 9,         /* 32-bit encoding (Thumb-2 wide / RV32 non-compressed) */
    VB_F_AGU_DEP = 1u << 10,     /* its address/target operand has no forwarding from the ALU */
    VB_F_HOOKED = 1u << 11,      /* needs a per-instruction hook (divide, counter CSR) */
    VB_F_WFI = 1u << 12,         /* WFI/WFE: the core sleeps until an event wakes it */
    VB_F_VALID = 1u << 15,       /* table slot holds a decoded instruction */
};

/* Why vb_hook_block asked Unicorn to stop. */
enum {
    VB_STOP_NONE = 0, VB_STOP_BUDGET, VB_STOP_FLASH_WRITE, VB_STOP_NO_DECODE, VB_STOP_EVENT,
    VB_STOP_SELF_LOOP, VB_STOP_EXTERNAL, VB_STOP_RETRANSLATE, VB_STOP_WFI, VB_STOP_SIGNAL, VB_STOP_N
};

/* Stall causes reported per function and per layer. */
enum { VB_STALL_FLASH = 0, VB_STALL_BRANCH, VB_STALL_LOAD_USE, VB_STALL_DIVIDE, VB_STALL_EXCEPTION, VB_STALL_N };

typedef struct {
    uint16_t flags;
    uint8_t length;        /* bytes */
    uint8_t cycles;        /* issue cost at zero wait states, before the pairwise rules */
    uint8_t energy_class;  /* index into vb_params.charge_fc */
    uint8_t n_loads;       /* memory reads (LDM counts N) */
    uint8_t n_stores;      /* memory writes */
    uint8_t _pad;
    uint32_t regs_read;    /* bit mask of registers read as data */
    uint32_t regs_addr;    /* registers read to form an address (or a jump target) */
    uint32_t regs_written;
    uint32_t aux;          /* PC-relative load: address read; divide: dividend reg | divisor reg << 8 | signed << 16 */
    uint32_t func_id;      /* index of the function symbol holding this instruction */
} vb_insn;

#define VB_MAX_ENERGY_CLASSES 32
#define VB_MAX_CODE_REGIONS 16
#define VB_MAX_FLASH_REGIONS 4

typedef struct {
    /* Pairwise pipeline rules, in cycles. */
    uint32_t branch_taken_extra;    /* refill P of a taken conditional branch */
    uint32_t load_use_stall;        /* result of a load used by the next instruction */
    uint32_t agu_stall;             /* ALU result used by the next address (M4: no forwarding) */
    uint32_t ldr_pipeline_saving;   /* one cycle saved by back-to-back LDR/STR */
    /* Data-dependent divide, cycles = base + ceil(significant quotient bits / bits_per_cycle). */
    uint32_t div_model;             /* 0: quotient bits (Cortex-M4), 1: divisor leading zeros (CV32E40P) */
    uint32_t div_min, div_max, div_bits_per_cycle, div_by_zero;
    /* Charge per cycle of each energy class and per memory access, in femtocoulombs. */
    uint64_t charge_fc[VB_MAX_ENERGY_CLASSES];
    uint64_t charge_stall_fc;       /* per stall cycle */
    uint64_t charge_flash_read_fc, charge_sram_read_fc, charge_sram_write_fc;
    /* Stop after this many instructions (0 = no budget). */
    uint64_t instruction_budget;
    /* Address of vb_layer_marker() in the firmware (0 = none) and the register holding its arg. */
    uint32_t marker_addr;
    int marker_arg_reg;             /* Unicorn register id of the first argument */
    int link_reg, sp_reg;           /* Unicorn register ids of the return address and the stack pointer */
    int reg_ids[32];                /* Unicorn register id of architectural register n */
} vb_params;

typedef struct {
    uint64_t instructions, cycles, charge_fc;
    uint64_t stall[VB_STALL_N];
    uint64_t flash_reads, sram_reads, sram_writes;
    uint64_t class_cycles[VB_MAX_ENERGY_CLASSES]; /* issue cycles per energy class: the power model's features */
} vb_counters;

/* One completed call of a watched function (vb_watch_calls): totals at entry and at return. */
typedef struct {
    uint64_t entry_cycles, entry_instructions, entry_charge_fc;
    uint64_t exit_cycles, exit_instructions, exit_charge_fc;
} vb_call;

/* ARMv7-M UsageFault traps (DDI0403E B3.2.8 CCR, B3.2.15 CFSR). CCR bits as the SCS holds them:
   the core keeps a copy (vb_set_traps) so that a divide checks DIV_0_TRP without Python. */
enum { VB_CCR_UNALIGN_TRP = 1u << 3, VB_CCR_DIV_0_TRP = 1u << 4 };
/* What a trap reports to the handler Python installs (vb_set_trap_handler): the UFSR bit. */
enum { VB_TRAP_UNALIGNED = 24, VB_TRAP_DIVBYZERO = 25 };
/* When an access site faults on an unaligned address. */
enum { VB_SITE_OFF = 0, VB_SITE_ALWAYS, VB_SITE_IF_UNALIGN_TRP };

/* One load/store that may fault on alignment: its address is base + offset + (index << shift),
   computed from the registers before it runs (traps.c: vb_hook_alignment, vb_hook_unaligned_trp). */
typedef struct {
    uint8_t when;        /* VB_SITE_*: LDRD/STRD/LDM/STM always, LDR/STR(H) only with UNALIGN_TRP */
    uint8_t base;        /* architectural register; 15 = PC, read as Align(PC + 4, 4) */
    uint8_t index;       /* index register, 0xFF: none */
    uint8_t shift;       /* LSL applied to the index */
    uint8_t align_mask;  /* 3: word, 1: halfword */
    uint8_t _pad[3];
    int32_t offset;      /* immediate offset (0 when post-indexed: the access uses the base) */
} vb_trap_site;

/* What Python checks against its mirrors (vb_abi): struct sizes, then enum counts. */
enum { VB_ABI_INSN = 0, VB_ABI_PARAMS, VB_ABI_COUNTERS, VB_ABI_CALL, VB_ABI_ART_PARAMS, VB_ABI_TRAP_SITE, VB_ABI_STALLS,
       VB_ABI_STOPS, VB_ABI_N };

#endif
