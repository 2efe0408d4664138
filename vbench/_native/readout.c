/* What Python reads: counters at an instruction of the executing block, cuts, buckets, budget and
   stop state, and the function-call watch. */
#include "vbcore_internal.h"

/* ---------------------------------------------------------------- function-call watch */

void vbi_watch_block(vb_core *v, uint32_t addr) {
    call_watch *w = &v->watch;
    uint32_t sp = 0, lr = 0;
    if (!w->active && addr == w->entry) {
        v->reg_read(v->uc, v->p.link_reg, &lr);
        v->reg_read(v->uc, v->p.sp_reg, &sp);
        vbi_flush(v);
        w->ret = lr & ~1u;
        w->sp = sp;
        w->active = 1;
        w->cur.entry_cycles = v->c.cycles;
        w->cur.entry_instructions = v->c.instructions;
        w->cur.entry_charge_fc = v->c.charge_fc;
    } else if (w->active && addr == w->ret) {
        v->reg_read(v->uc, v->p.sp_reg, &sp);
        if (sp != w->sp) return; /* a deeper frame returning to the same address (recursion) */
        vbi_flush(v);
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
        int64_t pc = vbi_prefix_cycles(v, b->addr, b->size, k, &i, &end);
        const vb_insn *cur = i < b->ninsn ? vbi_insn_at(v, end) : NULL;
        fetched_end = cur ? end + cur->length : b->addr + b->size;
        c += (uint64_t)pc + v->pending_dyn - vbi_fetch_stall_after(v, fetched_end);
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
        vbi_commit_full(v, b, 0, 0);
    } else {
        uint32_t i, end, off = 0;
        int64_t pc = vbi_prefix_cycles(v, b->addr, b->size, k, &i, &end);
        uint64_t unfetched = vbi_fetch_stall_after(v, end), dyn = v->pending_dyn - unfetched, cycles = (uint64_t)pc + dyn;
        for (i = 0; i < k && off < b->size; i++) { /* the classes of the instructions that ran */
            const vb_insn *ins = vbi_insn_at(v, b->addr + off);
            if (!ins) break;
            v->c.class_cycles[ins->energy_class % VB_MAX_ENERGY_CLASSES] += ins->cycles;
            off += ins->length ? ins->length : 2;
        }
        v->c.stall[VB_STALL_FLASH] -= unfetched;
        v->c.cycles += cycles;
        v->c.instructions += i;
        vbi_add_to_buckets(v, b->func_id, cycles, i,
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
VB_API void vb_add_stall(vb_core *v, int cause, uint64_t n) { vbi_stall(v, cause, n); }

VB_API void vb_get_counters(vb_core *v, vb_counters *out) {
    vbi_flush(v);
    *out = v->c;
}
VB_API void vb_reset_counters(vb_core *v) {
    vbi_flush(v);
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
    vbi_flush(v);
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
