/* Internal to the native core: the state shared by its translation units (vbcore.c: blocks and
 * the block hook; codemap.c: the decoded-code map; memory.c: flash data reads, divides, flash MMIO;
 * readout.c: counters at an instruction, cuts, buckets, the call watch). Not part of the ABI. */
#ifndef VBCORE_INTERNAL_H
#define VBCORE_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flash_art.h"
#include "vbcore.h"

typedef void uc_engine;
typedef int (*uc_reg_read_fn)(uc_engine *, int, void *);
typedef int (*uc_emu_stop_fn)(uc_engine *);
/* Decodes [addr, addr + size) from the bytes in memory into the code map. Returns 1 when it
   registered a per-instruction hook that the already translated block lacks (the block must be
   translated again), 0 otherwise. */
typedef int (*translate_fn)(uint32_t addr, uint32_t size);
/* A UsageFault condition at the instruction at addr (kind: VB_TRAP_*). Python takes the exception
   (a PC write: the instruction does not execute) or ends the run, and returns 1; 0 means the
   instruction does not execute its access after all (an IT block condition that fails). */
typedef int (*trap_fn)(int kind, uint32_t addr);

/* A trap site as registered with Unicorn: the site Python fills, and its core. */
typedef struct trap_site_rec {
    vb_trap_site site; /* first: Python's pointer to the record is a pointer to the site */
    struct vb_core *v;
    uint32_t addr;
} trap_site_rec;

#define CODE_PAGE_BITS 12
#define CODE_PAGE_SLOTS (1u << (CODE_PAGE_BITS - 1)) /* one slot per halfword */

typedef struct {
    uint32_t base, size;
    vb_insn **pages; /* allocated when code in the page is first decoded */
} code_region;

typedef struct {
    uint32_t base, size;
    const uint8_t *host; /* flash contents, for the MMIO read path */
} flash_region;

/* Writable memory that may hold code: its bytes, and a copy of the bytes that were decoded (so a
   block can tell, when it runs, whether a store changed its code since). */
typedef struct {
    uint32_t base, size;
    const uint8_t *host;
    uint8_t *decoded; /* allocated with the region; calloc'd pages stay untouched until code is decoded */
} ram_region;

typedef struct {
    uint64_t key;
    uint32_t addr, size;
    uint32_t ninsn, cycles;
    uint64_t charge_fc;
    uint32_t loads, stores;
    uint32_t func_id;
    uint16_t first_flags, last_flags;
    uint32_t first_regs_read, first_regs_addr, last_regs_written;
    uint32_t fallthrough;
    uint32_t word_cycles; /* static cycles per flash word, what a sequential prefetch overlaps */
    uint32_t stall_static[VB_STALL_N]; /* pipeline stalls inside the block, by cause */
    uint32_t class_cycles[VB_MAX_ENERGY_CLASSES];
    /* Executions since the last flush into the function/layer buckets (see vbi_flush()). */
    uint64_t execs, acc_dyn_cycles, acc_dyn_charge, acc_flash_reads;
    uint64_t acc_stall[VB_STALL_N];
    uint64_t quiet_epoch; /* flash-model fetch epoch after this block's last stall-free fetch (0: none) */
    uint8_t touched;
    uint8_t in_flash;
    int8_t ram; /* index of the writable region holding the block, -1: none */
    uint8_t n_literals;
    uint32_t literal[4];
} block;

typedef struct {
    uint64_t cycles, instructions, charge_fc;
    uint64_t stall[VB_STALL_N];
} bucket;

typedef struct {
    uint32_t entry, ret, sp, active;
    vb_call cur, *calls;
    uint32_t n, cap;
} call_watch;

typedef struct vb_core {
    vb_params p;
    vb_counters c;
    uc_engine *uc;
    uc_reg_read_fn reg_read;
    uc_emu_stop_fn emu_stop;
    translate_fn translate;

    code_region code[VB_MAX_CODE_REGIONS];
    int n_code;
    flash_region flash[VB_MAX_FLASH_REGIONS];
    int n_flash;
    vb_art *art; /* flash accelerator model (NULL: flash without wait states) */
    ram_region ram[VB_MAX_CODE_REGIONS];
    int n_ram;

    block *blocks; /* open-addressing hash table */
    uint32_t cap, used;

    block **touched; /* blocks with executions not yet flushed */
    uint32_t n_touched, cap_touched;
    block *recent[256]; /* direct-mapped cache in front of the hash table */

    block *pending;          /* executing block, committed when the next one starts */
    uint64_t pending_dyn;    /* dynamic cycles accrued inside the pending block */
    uint64_t pending_dyn_charge;
    uint32_t pending_flash_reads;
    uint32_t *word_stall;    /* fetch stall of each flash word of the pending block, in order */
    uint32_t n_words, cap_words, first_word;

    uint32_t code_written_lo, code_written_hi; /* decoded code overwritten since the last block */

    bucket *funcs;
    uint32_t n_funcs;
    bucket *layers;
    uint32_t n_layers, layer; /* layer 0 = outside any layer */
    uint32_t layer_calls;
    call_watch watch;

    int reference_paths; /* 1: per-word flash fetch as before the batched one (tests compare the two) */
    uint64_t decode_ns;  /* wall time spent decoding code on first execution (the translate callback) */
    uint32_t traps;          /* VB_CCR_* trap enables, a copy of the SCS's CCR */
    trap_fn on_trap;
    trap_site_rec **site_map; /* open-addressing table of the trap sites by address */
    uint32_t site_cap, site_used;

    uint64_t next_event; /* cycle count at which Python wants control back (0 = none) */
    int stop_reason;     /* VB_STOP_* */
    uint32_t fault_addr;
} vb_core;

vb_insn *vbi_slot(vb_core *v, uint32_t addr, int create);
const vb_insn *vbi_insn_at(vb_core *v, uint32_t addr);
int vbi_in_flash(vb_core *v, uint32_t addr);
int vbi_ram_region(vb_core *v, uint32_t addr, uint32_t size);
int vbi_code_changed(vb_core *v, int ram, uint32_t addr, uint32_t size);
int vbi_decode_stale(vb_core *v, int ram, uint32_t addr, uint32_t size);
void vbi_code_rewritten(vb_core *v, uint32_t lo, uint32_t hi);
void vbi_note_decoded(vb_core *v, int ram, uint32_t addr, uint32_t size);
void vbi_stall(vb_core *v, int cause, uint64_t n);
void vbi_data_flash_read(vb_core *v, uint32_t addr);
void vbi_flush(vb_core *v);
void vbi_add_to_buckets(vb_core *v, uint32_t func_id, uint64_t cycles, uint64_t ninsn, uint64_t charge);
void vbi_forget_blocks_but_pending(vb_core *v);
int64_t vbi_prefix_cycles(vb_core *v, uint32_t addr, uint32_t size, uint32_t k, uint32_t *ninsn, uint32_t *end);
uint64_t vbi_fetch_stall_after(vb_core *v, uint32_t end);
void vbi_watch_block(vb_core *v, uint32_t addr);
int vbi_trap(vb_core *v, int kind, uint32_t addr);
void vbi_free_trap_sites(vb_core *v);

/* A block that ran to its end. The hot path only bumps the live totals (cycles and instructions,
   which events and the budget need) and the block's own accumulators; vbi_flush() spreads them over
   the energy, function and layer totals later, once per block rather than once per execution. */
static inline __attribute__((always_inline)) void vbi_commit_full(vb_core *v, block *b, uint64_t extra, int cause) {
    uint64_t dyn = extra + v->pending_dyn;
    v->c.cycles += b->cycles + dyn;
    v->c.instructions += b->ninsn;
    b->execs++;
    if (dyn | v->pending_dyn_charge | v->pending_flash_reads) {
        b->acc_dyn_cycles += dyn;
        b->acc_dyn_charge += v->pending_dyn_charge + extra * v->p.charge_stall_fc;
        b->acc_flash_reads += v->pending_flash_reads;
        b->acc_stall[cause] += extra;
        v->pending_dyn = 0;
        v->pending_dyn_charge = 0;
        v->pending_flash_reads = 0;
    }
    v->n_words = 0;
    if (!b->touched) {
        if (v->n_touched == v->cap_touched) {
            uint32_t cap = v->cap_touched ? v->cap_touched * 2 : 1024;
            block **t = realloc(v->touched, cap * sizeof(block *));
            if (!t) abort();
            v->touched = t;
            v->cap_touched = cap;
        }
        v->touched[v->n_touched++] = b;
        b->touched = 1;
    }
}

#endif
