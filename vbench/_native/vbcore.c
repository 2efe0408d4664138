/* vbcore: block accounting and cycle rules. See vbcore.h; flash timing is in flash_art.c. */
#include "vbcore.h"

#include <stdlib.h>
#include <string.h>

#include "flash_art.h"

typedef void uc_engine;
typedef int (*uc_reg_read_fn)(uc_engine *, int, void *);
typedef int (*uc_emu_stop_fn)(uc_engine *);
/* Decodes [addr, addr + size) from the bytes in memory into the code map. Returns 1 when it
   registered a per-instruction hook that the already translated block lacks (the block must be
   translated again), 0 otherwise. */
typedef int (*translate_fn)(uint32_t addr, uint32_t size);

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
    /* Executions since the last flush into the function/layer buckets (see flush()). */
    uint64_t execs, acc_dyn_cycles, acc_dyn_charge, acc_flash_reads;
    uint64_t acc_stall[VB_STALL_N];
    uint8_t touched;
    uint8_t in_flash;
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

    uint64_t next_event; /* cycle count at which Python wants control back (0 = none) */
    int stop_reason;     /* VB_STOP_* */
    uint32_t fault_addr;
} vb_core;

/* ---------------------------------------------------------------- set-up */

VB_API uint32_t vb_abi(uint32_t *sizes, uint32_t n) {
    uint32_t all[VB_ABI_N] = {sizeof(vb_insn), sizeof(vb_params), sizeof(vb_counters), sizeof(vb_call),
                              sizeof(vb_art_params)};
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
    free(v);
}

VB_API void vb_set_unicorn(vb_core *v, uc_engine *uc, void *reg_read, void *emu_stop) {
    v->uc = uc;
    v->reg_read = (uc_reg_read_fn)reg_read;
    v->emu_stop = (uc_emu_stop_fn)emu_stop;
}

VB_API void vb_set_translate(vb_core *v, void *fn) { v->translate = (translate_fn)fn; }
VB_API void vb_attach_art(vb_core *v, vb_art *art) { v->art = art; }

static void flush(vb_core *v);

static void forget_blocks(vb_core *v) {
    flush(v);
    memset(v->recent, 0, sizeof(v->recent));
    memset(v->blocks, 0, v->cap * sizeof(block));
    v->used = 0;
    v->pending = NULL;
}

/* Keep the executing block's identity while the cache is emptied; its cost was fixed when it began. */
static void forget_blocks_but_pending(vb_core *v) {
    if (v->pending) {
        block keep = *v->pending;
        forget_blocks(v);
        v->blocks[0] = keep; /* slot 0 is only reached again by a key hash of 0 */
        v->pending = &v->blocks[0];
        v->used = 1;
    } else {
        forget_blocks(v);
    }
}

/* New parameters take effect for blocks built from now on: cached static costs are dropped. */
VB_API int vb_set_params(vb_core *v, const vb_params *p) {
    v->p = *p;
    forget_blocks_but_pending(v);
    return 0;
}

VB_API void vb_get_params(vb_core *v, vb_params *p) { *p = v->p; }

/* Memory that may hold code (executed or decoded); its table is allocated page by page. */
VB_API int vb_add_code_region(vb_core *v, uint32_t base, uint32_t size) {
    code_region *r;
    if (v->n_code >= VB_MAX_CODE_REGIONS || !size) return -1;
    r = &v->code[v->n_code];
    r->pages = calloc((size >> CODE_PAGE_BITS) + 1, sizeof(vb_insn *));
    if (!r->pages) return -1;
    r->base = base;
    r->size = size;
    return v->n_code++;
}

/* The slot describing the instruction at addr; with create, its page is allocated. */
static vb_insn *slot(vb_core *v, uint32_t addr, int create) {
    int i;
    for (i = 0; i < v->n_code; i++) {
        code_region *r = &v->code[i];
        uint32_t off = addr - r->base, page;
        if (off >= r->size) continue;
        page = off >> CODE_PAGE_BITS;
        if (!r->pages[page]) {
            if (!create) return NULL;
            r->pages[page] = calloc(CODE_PAGE_SLOTS, sizeof(vb_insn));
            if (!r->pages[page]) return NULL;
        }
        return &r->pages[page][(off & ((1u << CODE_PAGE_BITS) - 1)) >> 1];
    }
    return NULL;
}

VB_API vb_insn *vb_insn_slot(vb_core *v, uint32_t addr) { return slot(v, addr, 1); }

static const vb_insn *insn_at(vb_core *v, uint32_t addr) {
    const vb_insn *s = slot(v, addr, 0);
    return s && (s->flags & VB_F_VALID) ? s : NULL;
}

VB_API int vb_add_flash_region(vb_core *v, uint32_t base, uint32_t size, const uint8_t *host) {
    if (v->n_flash >= VB_MAX_FLASH_REGIONS) return -1;
    v->flash[v->n_flash].base = base;
    v->flash[v->n_flash].size = size;
    v->flash[v->n_flash].host = host;
    return v->n_flash++;
}

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

static int in_flash(vb_core *v, uint32_t addr) {
    int i;
    for (i = 0; i < v->n_flash; i++)
        if (addr - v->flash[i].base < v->flash[i].size) return 1;
    return 0;
}

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
static int64_t prefix_cycles(vb_core *v, uint32_t addr, uint32_t size, uint32_t k, uint32_t *ninsn, uint32_t *end) {
    uint32_t off = 0, i, cause;
    const vb_insn *prev = NULL, *ins;
    int64_t pc = 0;
    for (i = 0; i < k && off < size; i++) {
        ins = insn_at(v, addr + off);
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

/* Returns 0, -1 when code at addr cannot be decoded, -2 when the block must be translated again. */
static int build_block(vb_core *v, block *b, uint32_t addr, uint32_t size) {
    uint32_t off = 0, stall_cause;
    const vb_insn *prev = NULL, *ins;
    int64_t cycles = 0;
    uint64_t charge = 0;
    int translated = 0;
    memset(b, 0, sizeof(*b));
    b->addr = addr;
    b->size = size;
    b->in_flash = (uint8_t)in_flash(v, addr);
    b->func_id = v->n_funcs ? v->n_funcs - 1 : 0;
    while (off < size) {
        ins = insn_at(v, addr + off);
        if (!ins && v->translate && !translated) {
            translated = 1; /* decode the rest of the block from the bytes that execute */
            if (v->translate(addr + off, size - off)) return -2;
            ins = insn_at(v, addr + off);
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
        if ((ins->flags & VB_F_LITERAL) && b->n_literals < 4 && in_flash(v, ins->aux)) b->literal[b->n_literals++] = ins->aux;
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
    flush(v);
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

static void stall(vb_core *v, int cause, uint64_t n) {
    v->pending_dyn += n;
    v->pending_dyn_charge += n * v->p.charge_stall_fc;
    v->c.stall[cause] += n;
    if (v->n_funcs && v->pending) v->funcs[v->pending->func_id].stall[cause] += n;
    v->layers[v->layer].stall[cause] += n;
}

/* Instruction fetch of a block from flash: one flash-model call per flash word. The stall of
   each word is kept, so that a counter read inside the block sees only the words fetched so far. */
static void fetch_block(vb_core *v, block *b) {
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
        if (s) stall(v, VB_STALL_FLASH, s);
    }
}

/* Fetch stall of the pending block's flash words that lie wholly after byte address `end`. */
static uint64_t fetch_stall_after(vb_core *v, uint32_t end) {
    uint64_t s = 0;
    uint32_t i, w;
    if (!v->n_words || !v->art) return 0;
    w = art_params(v->art)->fetch_bytes;
    for (i = 0; i < v->n_words; i++)
        if ((v->first_word + i) * w >= end) s += v->word_stall[i];
    return s;
}

static void data_flash_read(vb_core *v, uint32_t addr) {
    uint32_t s;
    v->pending_flash_reads++;
    v->c.flash_reads++;
    v->pending_dyn_charge += v->p.charge_flash_read_fc;
    s = v->art ? art_data_read(v->art, addr) : 0;
    if (s) stall(v, VB_STALL_FLASH, s);
}

/* A block that ran to its end. The hot path only bumps the live totals (cycles and instructions,
   which events and the budget need) and the block's own accumulators; flush() spreads them over
   the energy, function and layer totals later, once per block rather than once per execution. */
static inline __attribute__((always_inline)) void commit_full(vb_core *v, block *b, uint64_t extra, int cause) {
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

static void add_to_buckets(vb_core *v, uint32_t func_id, uint64_t cycles, uint64_t ninsn, uint64_t charge) {
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

static void flush(vb_core *v) {
    uint32_t i;
    int s;
    for (i = 0; i < v->n_touched; i++) {
        block *b = v->touched[i];
        uint64_t n = b->execs, loads = n * b->loads, stores = n * b->stores;
        loads = loads > b->acc_flash_reads ? loads - b->acc_flash_reads : 0;
        add_to_buckets(v, b->func_id, n * b->cycles + b->acc_dyn_cycles, n * b->ninsn,
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

/* ---------------------------------------------------------------- function-call watch */

static void watch_block(vb_core *v, uint32_t addr) {
    call_watch *w = &v->watch;
    uint32_t sp = 0, lr = 0;
    if (!w->active && addr == w->entry) {
        v->reg_read(v->uc, v->p.link_reg, &lr);
        v->reg_read(v->uc, v->p.sp_reg, &sp);
        flush(v);
        w->ret = lr & ~1u;
        w->sp = sp;
        w->active = 1;
        w->cur.entry_cycles = v->c.cycles;
        w->cur.entry_instructions = v->c.instructions;
        w->cur.entry_charge_fc = v->c.charge_fc;
    } else if (w->active && addr == w->ret) {
        v->reg_read(v->uc, v->p.sp_reg, &sp);
        if (sp != w->sp) return; /* a deeper frame returning to the same address (recursion) */
        flush(v);
        w->cur.exit_cycles = v->c.cycles;
        w->cur.exit_instructions = v->c.instructions;
        w->cur.exit_charge_fc = v->c.charge_fc;
        w->active = 0;
        if (w->n == w->cap) {
            uint32_t cap = w->cap ? w->cap * 2 : 16;
            vb_call *t = realloc(w->calls, cap * sizeof(vb_call));
            if (!t) abort();
            w->calls = t;
            w->cap = cap;
        }
        w->calls[w->n++] = w->cur;
    }
}

/* Record every outermost call of the function at `entry` (0 stops watching). */
VB_API void vb_watch_calls(vb_core *v, uint32_t entry) {
    v->watch.entry = entry;
    v->watch.active = 0;
    v->watch.n = 0;
}
VB_API uint32_t vb_watched_calls(vb_core *v, vb_call *out, uint32_t n) {
    if (out) memcpy(out, v->watch.calls, (n < v->watch.n ? n : v->watch.n) * sizeof(vb_call));
    return v->watch.n;
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
    if (v->code_written_hi) { /* decoded code was overwritten: its blocks are stale */
        v->fault_addr = v->code_written_lo;
        v->stop_reason = VB_STOP_RETRANSLATE; /* pending stays: this hook runs again and commits it */
        v->emu_stop(v->uc);
        return;
    }
    b = lookup(v, addr, size, &err);
    if (!b) { /* no decode for this code: stop rather than guess (the pending block stays pending) */
        if (err == -2) {
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
        commit_full(v, a, (uint64_t)adj, (int)cause);
    }
    if (b->ninsn == 1 && (b->first_flags & VB_F_BRANCH) && a == b) { /* `b .`: nothing left to run */
        stop_before(v, VB_STOP_SELF_LOOP);
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
        flush(v); /* what ran so far belongs to the previous layer */
        v->layer = arg + 1 < v->n_layers ? arg + 1 : 0;
        v->layer_calls++;
    }
    if (v->watch.entry) watch_block(v, addr);
    if (b->in_flash && v->art) fetch_block(v, b);
    else if (v->art) art_fetch_break(v->art);
    for (i = 0; i < b->n_literals; i++) data_flash_read(v, b->literal[i]);
}

/* A store into memory that holds decoded code (hooked only on such RAM pages): the decode and the
   blocks built from it are stale. The next block hook stops the run so that Python drops the
   emulator's translations of the range and the code is decoded again from its new bytes. */
VB_API void vb_hook_code_write(uc_engine *uc, int type, uint64_t address, int size, int64_t value, void *user) {
    vb_core *v = (vb_core *)user;
    uint32_t a = (uint32_t)address, end = a + (uint32_t)size, x;
    int hit = 0;
    (void)uc;
    (void)type;
    (void)value;
    for (x = (a & ~1u) - 2; x < end; x += 2) { /* from 2 bytes before: a wide instruction may straddle */
        vb_insn *s = slot(v, x, 0);
        if (s && (s->flags & VB_F_VALID) && x + s->length > a) {
            memset(s, 0, sizeof(*s));
            hit = 1;
        }
    }
    if (!hit) return;
    if (!v->code_written_hi || a < v->code_written_lo) v->code_written_lo = a;
    if (end > v->code_written_hi) v->code_written_hi = end;
}

/* Where decoded code was overwritten (hi = 0: nowhere); the blocks built from it are forgotten
   (the pending one keeps its cost) and Python drops the emulator's translations of the range. */
VB_API void vb_code_rewritten(vb_core *v, uint32_t *lo, uint32_t *hi) {
    *lo = v->code_written_lo;
    *hi = v->code_written_hi;
    if (!v->code_written_hi) return;
    v->code_written_lo = v->code_written_hi = 0;
    forget_blocks_but_pending(v);
}

/* Python stops the run (exit device, fault, input wait): the next block must not be accounted. */
VB_API void vb_request_stop(vb_core *v) {
    if (v->stop_reason == VB_STOP_NONE) v->stop_reason = VB_STOP_EXTERNAL;
    v->emu_stop(v->uc);
}

static uint32_t clz32(uint32_t x) { return x ? (uint32_t)__builtin_clz(x) : 32; }

/* Data-dependent divide (a code hook on each divide instruction). */
VB_API void vb_hook_divide(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    vb_core *v = (vb_core *)user;
    const vb_insn *ins = insn_at(v, (uint32_t)address);
    uint32_t a = 0, d = 0, cycles;
    (void)size;
    if (!ins || !(ins->flags & VB_F_DIVIDE) || v->pending == NULL) return;
    v->reg_read(uc, v->p.reg_ids[ins->aux & 31], &a);
    v->reg_read(uc, v->p.reg_ids[(ins->aux >> 8) & 31], &d);
    if ((ins->aux >> 16) & 1) {
        a = (int32_t)a < 0 ? 0u - a : a;
        d = (int32_t)d < 0 ? 0u - d : d;
    }
    if (!d) {
        cycles = v->p.div_by_zero;
    } else if (v->p.div_model == 1) {
        cycles = v->p.div_min + clz32(d); /* CV32E40P: serial divider, one step per divisor leading zero */
    } else {
        uint32_t bits = clz32(d) >= clz32(a) ? clz32(d) - clz32(a) + 1 : 0; /* significant quotient bits */
        uint32_t per = v->p.div_bits_per_cycle ? v->p.div_bits_per_cycle : 1;
        cycles = v->p.div_min + (bits + per - 1) / per;
    }
    if (cycles > v->p.div_max) cycles = v->p.div_max;
    if (cycles > ins->cycles) stall(v, VB_STALL_DIVIDE, cycles - ins->cycles);
}

/* Flash pages that hold no code are MMIO: each data read is seen here. */
VB_API uint64_t vb_flash_read(uc_engine *uc, uint64_t offset, unsigned size, void *user) {
    flash_region *r = (flash_region *)user;
    vb_core *v = *(vb_core **)(r + 1); /* the region record is followed by its owner */
    uint64_t value = 0;
    unsigned i;
    (void)uc;
    for (i = 0; i < size; i++) value |= (uint64_t)r->host[offset + i] << (8 * i);
    data_flash_read(v, r->base + (uint32_t)offset);
    return value;
}

VB_API void vb_flash_write(uc_engine *uc, uint64_t offset, unsigned size, uint64_t value, void *user) {
    flash_region *r = (flash_region *)user;
    vb_core *v = *(vb_core **)(r + 1);
    (void)size;
    (void)value;
    v->stop_reason = VB_STOP_FLASH_WRITE;
    v->fault_addr = r->base + (uint32_t)offset;
    v->emu_stop(uc);
}

/* A record for vb_flash_read's user pointer: one MMIO run of flash (its base and host bytes),
   then the core. Unicorn passes offsets relative to the run's base. */
VB_API void *vb_flash_cookie(vb_core *v, uint32_t base, uint32_t size, const uint8_t *host) {
    flash_region *r = malloc(sizeof(flash_region) + sizeof(vb_core *));
    if (!r) return NULL;
    r->base = base;
    r->size = size;
    r->host = host;
    *(vb_core **)(r + 1) = v;
    return r;
}

VB_API void vb_free_cookie(void *cookie) { free(cookie); }

/* ---------------------------------------------------------------- queries from Python */

/* Cycles and instructions at the start of the k-th instruction of the pending block: what a
   cycle counter read by that instruction returns. It includes every stall charged to earlier
   instructions and the fetch of the flash words up to this instruction's last byte, not the
   fetch of the words after it. */
VB_API void vb_now(vb_core *v, uint32_t k, uint64_t *cycles, uint64_t *instructions) {
    block *b = v->pending;
    uint64_t c = v->c.cycles, n = v->c.instructions;
    if (b) {
        uint32_t i, end, fetched_end;
        int64_t pc = prefix_cycles(v, b->addr, b->size, k, &i, &end);
        const vb_insn *cur = i < b->ninsn ? insn_at(v, end) : NULL;
        fetched_end = cur ? end + cur->length : b->addr + b->size;
        c += (uint64_t)pc + v->pending_dyn - fetch_stall_after(v, fetched_end);
        n += i;
    }
    *cycles = c;
    *instructions = n;
}

/* End the pending block after its k-th instruction (k counted from 1): the run stopped there or
   the simulator redirected execution, so the rest of the block never ran. */
VB_API void vb_cut(vb_core *v, uint32_t k) {
    block *b = v->pending;
    if (!b) return;
    if (k >= b->ninsn) {
        commit_full(v, b, 0, 0);
    } else {
        uint32_t i, end, off = 0;
        int64_t pc = prefix_cycles(v, b->addr, b->size, k, &i, &end);
        uint64_t unfetched = fetch_stall_after(v, end), dyn = v->pending_dyn - unfetched, cycles = (uint64_t)pc + dyn;
        for (i = 0; i < k && off < b->size; i++) { /* the classes of the instructions that ran */
            const vb_insn *ins = insn_at(v, b->addr + off);
            if (!ins) break;
            v->c.class_cycles[ins->energy_class % VB_MAX_ENERGY_CLASSES] += ins->cycles;
            off += ins->length ? ins->length : 2;
        }
        v->c.stall[VB_STALL_FLASH] -= unfetched;
        v->c.cycles += cycles;
        v->c.instructions += i;
        add_to_buckets(v, b->func_id, cycles, i,
                       (b->ninsn ? b->charge_fc * k / b->ninsn : 0) + v->pending_dyn_charge -
                           unfetched * v->p.charge_stall_fc);
        v->pending_dyn = 0;
        v->pending_dyn_charge = 0;
        v->pending_flash_reads = 0;
    }
    v->n_words = 0;
    v->pending = NULL;
}

VB_API uint32_t vb_pending_addr(vb_core *v) { return v->pending ? v->pending->addr : 0; }
VB_API uint32_t vb_pending_size(vb_core *v) { return v->pending ? v->pending->size : 0; }
VB_API void vb_add_stall(vb_core *v, int cause, uint64_t n) { stall(v, cause, n); }

VB_API void vb_get_counters(vb_core *v, vb_counters *out) {
    flush(v);
    *out = v->c;
}
VB_API void vb_reset_counters(vb_core *v) {
    flush(v);
    memset(&v->c, 0, sizeof(v->c));
    if (v->funcs) memset(v->funcs, 0, v->n_funcs * sizeof(bucket));
    memset(v->layers, 0, v->n_layers * sizeof(bucket));
}
VB_API int vb_stop_reason(vb_core *v) { return v->stop_reason; }
VB_API uint32_t vb_fault_addr(vb_core *v) { return v->fault_addr; }
VB_API void vb_clear_stop(vb_core *v) { v->stop_reason = VB_STOP_NONE; }
VB_API void vb_set_next_event(vb_core *v, uint64_t cycles) { v->next_event = cycles; }
VB_API uint32_t vb_blocks_cached(vb_core *v) { return v->used; }
VB_API uint32_t vb_layer_calls(vb_core *v) { return v->layer_calls; }

/* Per-function and per-layer buckets: cycles, instructions, charge, stalls by cause. */
VB_API int vb_get_bucket(vb_core *v, int kind, uint32_t i, uint64_t *out /* 3 + VB_STALL_N */) {
    bucket *b;
    int s;
    flush(v);
    if (kind == 0) {
        if (i >= v->n_funcs) return -1;
        b = &v->funcs[i];
    } else {
        if (i >= v->n_layers) return -1;
        b = &v->layers[i];
    }
    out[0] = b->cycles;
    out[1] = b->instructions;
    out[2] = b->charge_fc;
    for (s = 0; s < VB_STALL_N; s++) out[3 + s] = b->stall[s];
    return 0;
}

/* The core waited (self-loop, WFI) until an event: time passes at the stall charge. */
VB_API void vb_add_idle(vb_core *v, uint64_t n) {
    v->c.cycles += n;
    v->c.charge_fc += n * v->p.charge_stall_fc;
    v->layers[v->layer].cycles += n;
}

/* The budget changes per harness command; unlike vb_set_params it keeps the block cache. */
VB_API void vb_set_budget(vb_core *v, uint64_t instructions) { v->p.instruction_budget = instructions; }
