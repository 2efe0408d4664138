/* vbcore: the block hook, static block costs with the pipeline rules, the block cache, commits and
   flushes into the function/layer buckets. See vbcore.h; the other units are named in
   vbcore_internal.h, flash timing is in flash_art.c. */
#define _POSIX_C_SOURCE 200809L /* sigaction under -std=c11 */
#include "vbcore_internal.h"

#include <signal.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* SIGINT/SIGTERM while the emulator runs: Python's handlers cannot run until control returns to
   it, so the block hook checks this flag and stops the run (vb_trap_signals). */
static volatile sig_atomic_t pending_signal;
static struct sigaction saved_int, saved_term;

static void on_signal(int sig) { pending_signal = sig; }

/* on = 1: catch SIGINT and SIGTERM for the native run; on = 0: give them back to Python. */
VB_API void vb_trap_signals(int on) {
    if (on) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &saved_int);
        sigaction(SIGTERM, &sa, &saved_term);
    } else {
        sigaction(SIGINT, &saved_int, NULL);
        sigaction(SIGTERM, &saved_term, NULL);
    }
}

/* The signal that stopped the run (0: none), cleared. */
VB_API int vb_take_signal(void) {
    int sig = pending_signal;
    pending_signal = 0;
    return sig;
}

/* ---------------------------------------------------------------- set-up */

VB_API uint32_t vb_abi(uint32_t *sizes, uint32_t n) {
    uint32_t all[VB_ABI_N] = {sizeof(vb_insn), sizeof(vb_params), sizeof(vb_counters), sizeof(vb_call),
                              sizeof(vb_art_params), sizeof(vb_trap_site), VB_STALL_N, VB_STOP_N};
    uint32_t i;
    for (i = 0; i < n && i < VB_ABI_N; i++) sizes[i] = all[i];
    return VB_ABI_VERSION;
}

VB_API vb_core *vb_create(void) {
    vb_core *v = calloc(1, sizeof(vb_core));
    if (!v) return NULL;
    v->cap = 4096;
    v->blocks = calloc(v->cap, sizeof(block));
    v->n_layers = 1;
    v->layers = calloc(1, sizeof(bucket));
    if (!v->blocks || !v->layers) return NULL;
    return v;
}

VB_API void vb_destroy(vb_core *v) {
    int i;
    uint32_t j;
    if (!v) return;
    for (i = 0; i < v->n_code; i++) {
        for (j = 0; j < (v->code[i].size >> CODE_PAGE_BITS) + 1; j++) free(v->code[i].pages[j]);
        free(v->code[i].pages);
    }
    free(v->blocks);
    free(v->touched);
    free(v->funcs);
    free(v->layers);
    free(v->word_stall);
    free(v->watch.calls);
    for (i = 0; i < v->n_ram; i++) free(v->ram[i].decoded);
    vbi_free_trap_sites(v);
    free(v);
}

VB_API void vb_set_unicorn(vb_core *v, uc_engine *uc, void *reg_read, void *emu_stop) {
    v->uc = uc;
    v->reg_read = (uc_reg_read_fn)reg_read;
    v->emu_stop = (uc_emu_stop_fn)emu_stop;
}

VB_API void vb_set_translate(vb_core *v, void *fn) { v->translate = (translate_fn)fn; }
VB_API uint64_t vb_decode_ns(vb_core *v) { return v->decode_ns; }
VB_API void vb_set_reference_paths(vb_core *v, int on) { v->reference_paths = on; }
VB_API void vb_attach_art(vb_core *v, vb_art *art) { v->art = art; }

static void forget_blocks(vb_core *v) {
    vbi_flush(v);
    memset(v->recent, 0, sizeof(v->recent));
    memset(v->blocks, 0, v->cap * sizeof(block));
    v->used = 0;
    v->pending = NULL;
}

/* Keep the executing block's identity while the cache is emptied; its cost was fixed when it began. */
void vbi_forget_blocks_but_pending(vb_core *v) {
    if (v->pending) {
        block keep = *v->pending;
        forget_blocks(v);
        keep.key |= 1ull << 63; /* never found by a lookup again (a size is below 2^31): the next run builds anew */
        v->blocks[0] = keep;
        v->pending = &v->blocks[0];
        v->used = 1;
    } else {
        forget_blocks(v);
    }
}

/* New parameters take effect for blocks built from now on: cached static costs are dropped. */
VB_API int vb_set_params(vb_core *v, const vb_params *p) {
    v->p = *p;
    vbi_forget_blocks_but_pending(v);
    return 0;
}

VB_API void vb_get_params(vb_core *v, vb_params *p) { *p = v->p; }

VB_API int vb_set_functions(vb_core *v, uint32_t n) {
    free(v->funcs);
    v->n_funcs = n + 1; /* last slot: code outside any known function */
    v->funcs = calloc(v->n_funcs, sizeof(bucket));
    return v->funcs ? 0 : -1;
}

VB_API int vb_set_layers(vb_core *v, uint32_t n) {
    free(v->layers);
    v->n_layers = n + 1;
    v->layers = calloc(v->n_layers, sizeof(bucket));
    v->layer = 0;
    return v->layers ? 0 : -1;
}

/* ---------------------------------------------------------------- static block cost */

/* Extra cycles (positive) or saved cycles (negative) when `b` follows `a` directly. */
static int32_t pair_cost(const vb_params *p, uint16_t a_flags, uint32_t a_written, uint16_t b_flags,
                         uint32_t b_read, uint32_t b_addr, uint32_t *cause) {
    int32_t extra = 0;
    *cause = VB_STALL_LOAD_USE;
    if ((a_flags & VB_F_LOAD) && (a_written & (b_read | b_addr))) extra += (int32_t)p->load_use_stall;
    if ((a_flags & VB_F_DATA_PROC) && (a_written & b_addr) && (b_flags & VB_F_AGU_DEP)) extra += (int32_t)p->agu_stall;
    if (extra) return extra;
    /* Cortex-M4 TRM: an LDR followed by an LDR/STR whose address does not use its result
       overlaps one cycle; LDRD/STRD/LDM/STM and register-offset stores never do. */
    if ((a_flags & VB_F_LOAD) && (a_flags & VB_F_LDR_PIPE) && (b_flags & VB_F_LDR_PIPE) && !(a_written & b_addr))
        return -(int32_t)p->ldr_pipeline_saving;
    return 0;
}

static int32_t pair_cost_insn(const vb_params *p, const vb_insn *a, const vb_insn *b, uint32_t *cause) {
    return pair_cost(p, a->flags, a->regs_written, b->flags, b->regs_read, b->regs_addr, cause);
}

/* Static cycles of the first k instructions of the block at addr (k = all: the whole block). */
int64_t vbi_prefix_cycles(vb_core *v, uint32_t addr, uint32_t size, uint32_t k, uint32_t *ninsn, uint32_t *end) {
    uint32_t off = 0, i, cause;
    const vb_insn *prev = NULL, *ins;
    int64_t pc = 0;
    for (i = 0; i < k && off < size; i++) {
        ins = vbi_insn_at(v, addr + off);
        if (!ins) break;
        if (prev) pc += pair_cost_insn(&v->p, prev, ins, &cause);
        pc += ins->cycles;
        prev = ins;
        off += ins->length ? ins->length : 2;
    }
    if (pc < (int64_t)i) pc = i; /* never below one cycle per instruction */
    *ninsn = i;
    *end = addr + off;
    return pc;
}

/* Returns 0, -1 when code at addr cannot be decoded, -2 when the block must be translated again,
   -3 when code decoded in its range was stored over (recorded in code_written_lo/hi). */
static int build_block(vb_core *v, block *b, uint32_t addr, uint32_t size) {
    uint32_t off = 0, stall_cause;
    const vb_insn *prev = NULL, *ins;
    int64_t cycles = 0;
    uint64_t charge = 0;
    int translated = 0;
    memset(b, 0, sizeof(*b));
    b->addr = addr;
    b->size = size;
    b->in_flash = (uint8_t)vbi_in_flash(v, addr);
    b->ram = (int8_t)vbi_ram_region(v, addr, size);
    b->func_id = v->n_funcs ? v->n_funcs - 1 : 0;
    if (b->ram >= 0 && vbi_decode_stale(v, b->ram, addr, size)) return -3; /* code stored over since decoded */
    while (off < size) {
        ins = vbi_insn_at(v, addr + off);
        if (!ins && v->translate && !translated) {
            uint64_t t0 = now_ns();
            int again;
            translated = 1; /* decode the rest of the block from the bytes that execute */
            again = v->translate(addr + off, size - off);
            v->decode_ns += now_ns() - t0; /* reported by `vbench bench` apart from the simulation */
            if (b->ram >= 0) vbi_note_decoded(v, b->ram, addr + off, size - off); /* the bytes just decoded */
            if (again) return -2;
            ins = vbi_insn_at(v, addr + off);
        }
        if (!ins) {
            v->fault_addr = addr + off;
            return -1;
        }
        if (!prev) {
            b->first_flags = ins->flags;
            b->first_regs_read = ins->regs_read;
            b->first_regs_addr = ins->regs_addr;
            if (ins->func_id < b->func_id) b->func_id = ins->func_id;
        } else {
            int32_t d = pair_cost_insn(&v->p, prev, ins, &stall_cause);
            cycles += d;
            if (d > 0) {
                b->stall_static[stall_cause] += (uint32_t)d;
                charge += (uint64_t)d * v->p.charge_stall_fc;
            }
        }
        cycles += ins->cycles;
        charge += (uint64_t)ins->cycles * v->p.charge_fc[ins->energy_class % VB_MAX_ENERGY_CLASSES];
        b->class_cycles[ins->energy_class % VB_MAX_ENERGY_CLASSES] += ins->cycles;
        b->loads += ins->n_loads;
        b->stores += ins->n_stores;
        if ((ins->flags & VB_F_LITERAL) && b->n_literals < 4 && vbi_in_flash(v, ins->aux)) b->literal[b->n_literals++] = ins->aux;
        b->ninsn++;
        b->last_flags = ins->flags;
        b->last_regs_written = ins->regs_written;
        prev = ins;
        off += ins->length ? ins->length : 2;
    }
    if (cycles < (int64_t)b->ninsn) cycles = b->ninsn;
    b->cycles = (uint32_t)cycles;
    b->charge_fc = charge;
    b->fallthrough = addr + size;
    if (v->art) {
        uint32_t w = art_params(v->art)->fetch_bytes;
        b->word_cycles = w ? (uint32_t)(cycles * w / (size ? size : 1)) : 0;
    }
    b->key = ((uint64_t)size << 32) | addr;
    return 0;
}

static void grow_blocks(vb_core *v) {
    block *old = v->blocks, *pend = v->pending;
    uint32_t old_cap = v->cap, i;
    uint64_t pend_key = pend ? pend->key : 0;
    vbi_flush(v);
    memset(v->recent, 0, sizeof(v->recent));
    v->cap *= 2;
    v->blocks = calloc(v->cap, sizeof(block));
    if (!v->blocks) abort();
    v->used = 0;
    v->pending = NULL;
    for (i = 0; i < old_cap; i++) {
        if (!old[i].key) continue;
        uint32_t m = v->cap - 1, j = (uint32_t)((old[i].key * 0x9E3779B97F4A7C15ull) >> 40) & m;
        while (v->blocks[j].key) j = (j + 1) & m;
        v->blocks[j] = old[i];
        v->used++;
        if (old[i].key == pend_key) v->pending = &v->blocks[j];
    }
    free(old);
}

static block *lookup_slow(vb_core *v, uint32_t addr, uint32_t size, int *err) {
    uint64_t key = ((uint64_t)size << 32) | addr;
    uint32_t mask, h;
    if ((v->used + 1) * 4 > v->cap * 3) grow_blocks(v);
    mask = v->cap - 1;
    h = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;
    while (v->blocks[h].key) {
        if (v->blocks[h].key == key) return v->recent[(addr >> 1) & 255] = &v->blocks[h];
        h = (h + 1) & mask;
    }
    *err = build_block(v, &v->blocks[h], addr, size);
    if (*err) {
        memset(&v->blocks[h], 0, sizeof(block));
        return NULL;
    }
    v->used++;
    return v->recent[(addr >> 1) & 255] = &v->blocks[h];
}

static inline __attribute__((always_inline)) block *lookup(vb_core *v, uint32_t addr, uint32_t size, int *err) {
    block *b = v->recent[(addr >> 1) & 255];
    if (b && b->addr == addr && b->size == size) return b;
    return lookup_slow(v, addr, size, err);
}

/* ---------------------------------------------------------------- dynamic terms */

void vbi_stall(vb_core *v, int cause, uint64_t n) {
    v->pending_dyn += n;
    v->pending_dyn_charge += n * v->p.charge_stall_fc;
    v->c.stall[cause] += n;
    if (v->n_funcs && v->pending) v->funcs[v->pending->func_id].stall[cause] += n;
    v->layers[v->layer].stall[cause] += n;
}

/* Instruction fetch of a block from flash: the flash model sees each flash word in order (one
   call per block). The stall of each word is kept, so that a counter read inside the block sees
   only the words fetched so far; the total is charged at once (the sums are the same). */
/* The reference of fetch_block: one flash-model call and one stall charge per word. */
static void fetch_block_per_word(vb_core *v, block *b) {
    uint32_t w = art_params(v->art)->fetch_bytes, first = b->addr / w, last = (b->addr + b->size - 1) / w, i;
    if (last - first + 1 > v->cap_words) {
        uint32_t cap = last - first + 1 + 64;
        uint32_t *t = realloc(v->word_stall, cap * sizeof(uint32_t));
        if (!t) abort();
        v->word_stall = t;
        v->cap_words = cap;
    }
    v->first_word = first;
    v->n_words = last - first + 1;
    for (i = 0; i < v->n_words; i++) {
        uint32_t s = art_fetch(v->art, first + i, b->word_cycles);
        v->word_stall[i] = s;
        if (s) vbi_stall(v, VB_STALL_FLASH, s);
    }
}

static void fetch_block(vb_core *v, block *b) {
    uint32_t need, s;
    if (v->reference_paths) {
        fetch_block_per_word(v, b);
        return;
    }
    if (!art_latency(v->art)) { /* zero wait states: no stall to keep, only the broken sequence */
        art_fetch_break(v->art);
        return;
    }
    if (b->quiet_epoch && b->quiet_epoch == art_fetch_epoch(v->art)) return; /* a loop of this block alone */
    need = art_words(v->art, b->addr, b->size);
    if (need > v->cap_words) {
        uint32_t cap = need + 64;
        uint32_t *t = realloc(v->word_stall, cap * sizeof(uint32_t));
        if (!t) abort();
        v->word_stall = t;
        v->cap_words = cap;
    }
    s = art_fetch_block(v->art, b->addr, b->size, b->word_cycles, v->word_stall, v->cap_words, &v->first_word,
                        &v->n_words);
    if (s) {
        vbi_stall(v, VB_STALL_FLASH, s);
        b->quiet_epoch = 0;
    } else {
        v->n_words = 0; /* no word stalled: nothing for a counter read inside the block to leave out */
        b->quiet_epoch = art_fetch_epoch(v->art);
    }
}

/* Fetch stall of the pending block's flash words that lie wholly after byte address `end`. */
uint64_t vbi_fetch_stall_after(vb_core *v, uint32_t end) {
    uint64_t s = 0;
    uint32_t i, w;
    if (!v->n_words || !v->art) return 0;
    w = art_params(v->art)->fetch_bytes;
    for (i = 0; i < v->n_words; i++)
        if ((v->first_word + i) * w >= end) s += v->word_stall[i];
    return s;
}

void vbi_add_to_buckets(vb_core *v, uint32_t func_id, uint64_t cycles, uint64_t ninsn, uint64_t charge) {
    bucket *l = &v->layers[v->layer];
    v->c.charge_fc += charge;
    if (v->n_funcs) {
        bucket *f = &v->funcs[func_id];
        f->cycles += cycles;
        f->instructions += ninsn;
        f->charge_fc += charge;
    }
    l->cycles += cycles;
    l->instructions += ninsn;
    l->charge_fc += charge;
}

void vbi_flush(vb_core *v) {
    uint32_t i;
    int s;
    for (i = 0; i < v->n_touched; i++) {
        block *b = v->touched[i];
        uint64_t n = b->execs, loads = n * b->loads, stores = n * b->stores;
        loads = loads > b->acc_flash_reads ? loads - b->acc_flash_reads : 0;
        vbi_add_to_buckets(v, b->func_id, n * b->cycles + b->acc_dyn_cycles, n * b->ninsn,
                       n * b->charge_fc + b->acc_dyn_charge + loads * v->p.charge_sram_read_fc +
                           stores * v->p.charge_sram_write_fc);
        v->c.sram_reads += loads;
        v->c.sram_writes += stores;
        for (s = 0; s < VB_MAX_ENERGY_CLASSES; s++)
            if (b->class_cycles[s]) v->c.class_cycles[s] += n * b->class_cycles[s];
        for (s = 0; s < VB_STALL_N; s++) {
            uint64_t st = n * b->stall_static[s] + b->acc_stall[s];
            if (!st) continue;
            v->c.stall[s] += st;
            if (v->n_funcs) v->funcs[b->func_id].stall[s] += st;
            v->layers[v->layer].stall[s] += st;
        }
        b->execs = b->acc_dyn_cycles = b->acc_dyn_charge = b->acc_flash_reads = 0;
        memset(b->acc_stall, 0, sizeof(b->acc_stall));
        b->touched = 0;
    }
    v->n_touched = 0;
}

/* ---------------------------------------------------------------- Unicorn hooks */

/* A stop requested from here takes effect before block `b` runs: it stays unaccounted and its
   hook runs again when the run resumes. */
static void stop_before(vb_core *v, int reason) {
    v->pending = NULL;
    v->n_words = 0;
    v->stop_reason = reason;
    v->emu_stop(v->uc);
}

VB_API void vb_hook_block(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    vb_core *v = (vb_core *)user;
    uint32_t addr = (uint32_t)address, cause, i;
    int err = 0;
    block *b, *a = v->pending;
    (void)uc;
    /* A stop was requested: Unicorn calls this hook for the next block but exits before running
       it, so it must not be accounted. */
    if (v->stop_reason != VB_STOP_NONE) return;
    if (pending_signal) { /* the pending block stays pending: nothing is lost if Python goes on */
        v->stop_reason = VB_STOP_SIGNAL;
        v->emu_stop(v->uc);
        return;
    }
    if (v->code_written_hi) { /* decoded code was overwritten: its blocks are stale */
        v->fault_addr = v->code_written_lo;
        v->stop_reason = VB_STOP_RETRANSLATE; /* pending stays: this hook runs again and commits it */
        v->emu_stop(v->uc);
        return;
    }
    b = lookup(v, addr, size, &err);
    if (b && b->ram >= 0 && vbi_code_changed(v, b->ram, addr, size)) {
        b = NULL; /* stored over since decoded: as below, decoded again before it runs */
        err = -3;
    }
    if (!b) { /* no decode for this code: stop rather than guess (the pending block stays pending) */
        if (err == -3) {
            v->fault_addr = v->code_written_lo;
            v->stop_reason = VB_STOP_RETRANSLATE;
        } else if (err == -2) {
            v->fault_addr = addr;
            v->stop_reason = VB_STOP_RETRANSLATE;
        } else {
            v->stop_reason = VB_STOP_NO_DECODE;
        }
        v->emu_stop(v->uc);
        return;
    }
    if (a) {
        int64_t adj = 0;
        cause = VB_STALL_BRANCH;
        if (a->last_flags & VB_F_BRANCH_COND) {
            if (addr != a->fallthrough) adj = v->p.branch_taken_extra;
        } else if (!(a->last_flags & VB_F_BRANCH) && addr == a->fallthrough) {
            /* the pipeline rules also hold across a block boundary without a branch */
            adj = pair_cost(&v->p, a->last_flags, a->last_regs_written, b->first_flags, b->first_regs_read,
                            b->first_regs_addr, &cause);
        }
        if (adj < 0) { /* an LDR/STR overlap across the boundary: the next block is one cycle cheaper */
            v->pending_dyn = v->pending_dyn > (uint64_t)(-adj) ? v->pending_dyn - (uint64_t)(-adj) : 0;
            adj = 0;
        }
        vbi_commit_full(v, a, (uint64_t)adj, (int)cause);
    }
    if (b->ninsn == 1 && (b->first_flags & VB_F_BRANCH) && a == b) { /* `b .`: nothing left to run */
        stop_before(v, VB_STOP_SELF_LOOP);
        return;
    }
    if (a && (a->last_flags & VB_F_WFI)) { /* asleep: Python advances time to a wake-up, or halts */
        stop_before(v, VB_STOP_WFI);
        return;
    }
    if (v->next_event && v->c.cycles >= v->next_event) {
        v->next_event = 0;
        stop_before(v, VB_STOP_EVENT);
        return;
    }
    if (v->p.instruction_budget && v->c.instructions >= v->p.instruction_budget) {
        stop_before(v, VB_STOP_BUDGET);
        return;
    }
    v->pending = b;
    if (addr == v->p.marker_addr && v->p.marker_addr) {
        uint32_t arg = 0;
        v->reg_read(v->uc, v->p.marker_arg_reg, &arg);
        vbi_flush(v); /* what ran so far belongs to the previous layer */
        v->layer = arg + 1 < v->n_layers ? arg + 1 : 0;
        v->layer_calls++;
    }
    if (v->watch.entry) vbi_watch_block(v, addr);
    if (b->in_flash && v->art) fetch_block(v, b);
    else if (v->art) art_fetch_break(v->art);
    for (i = 0; i < b->n_literals; i++) vbi_data_flash_read(v, b->literal[i]);
}

/* Python stops the run (exit device, fault, input wait): the next block must not be accounted. */
VB_API void vb_request_stop(vb_core *v) {
    if (v->stop_reason == VB_STOP_NONE) v->stop_reason = VB_STOP_EXTERNAL;
    v->emu_stop(v->uc);
}
