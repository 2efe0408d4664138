/* The decoded-code map: one attribute slot per halfword of every memory that can hold code,
   allocated page by page, filled by Python as blocks first run; code stored over. */
#include "vbcore_internal.h"

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
vb_insn *vbi_slot(vb_core *v, uint32_t addr, int create) {
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

VB_API vb_insn *vb_insn_slot(vb_core *v, uint32_t addr) { return vbi_slot(v, addr, 1); }

const vb_insn *vbi_insn_at(vb_core *v, uint32_t addr) {
    const vb_insn *s = vbi_slot(v, addr, 0);
    return s && (s->flags & VB_F_VALID) ? s : NULL;
}


/* [lo, hi) of decoded code was stored over (found when a block in SRAM runs: memory.c): the decode
   of every instruction overlapping it is cleared and the range recorded. The next block hook stops
   the run so that Python drops the emulator's translations and the code is decoded again. */
void vbi_code_rewritten(vb_core *v, uint32_t lo, uint32_t hi) {
    uint32_t x;
    for (x = (lo & ~1u) - 2; x < hi; x += 2) { /* from 2 bytes before: a wide instruction may straddle */
        vb_insn *s = vbi_slot(v, x, 0);
        if (s && (s->flags & VB_F_VALID) && x + s->length > lo) memset(s, 0, sizeof(*s));
    }
    if (!v->code_written_hi || lo < v->code_written_lo) v->code_written_lo = lo;
    if (hi > v->code_written_hi) v->code_written_hi = hi;
}

/* Where decoded code was overwritten (hi = 0: nowhere); the blocks built from it are forgotten
   (the pending one keeps its cost) and Python drops the emulator's translations of the range. */
VB_API void vb_code_rewritten(vb_core *v, uint32_t *lo, uint32_t *hi) {
    *lo = v->code_written_lo;
    *hi = v->code_written_hi;
    if (!v->code_written_hi) return;
    v->code_written_lo = v->code_written_hi = 0;
    vbi_forget_blocks_but_pending(v);
}
