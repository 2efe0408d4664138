/* The decoded-code map: one attribute slot per halfword of every memory that can hold code,
   allocated page by page, filled by Python as blocks first run; stores into decoded code. */
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
        vb_insn *s = vbi_slot(v, x, 0);
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
    vbi_forget_blocks_but_pending(v);
}
