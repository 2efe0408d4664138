/* ARMv7-M UsageFault traps that Unicorn does not raise (DDI0403E A3.2.1, B3.2.8 CCR, B3.2.15 CFSR):
   unaligned LDRD/STRD/LDM/STM always fault, unaligned LDR/STR/LDRH/STRH fault when CCR.UNALIGN_TRP
   is set, SDIV/UDIV by zero faults when CCR.DIV_0_TRP is set. The checks run in code hooks (one
   per always-faulting access, one for all once UNALIGN_TRP is set, the divide hook); taking the
   exception is Python's (vbench/sim/cortexm.py), once per fault. */
#include "vbcore_internal.h"

VB_API void vb_set_trap_handler(vb_core *v, void *fn) { v->on_trap = (trap_fn)fn; }

/* The SCS wrote CCR: the trap enables take effect for the next divide or access checked. */
VB_API void vb_set_traps(vb_core *v, uint32_t ccr) { v->traps = ccr & (VB_CCR_UNALIGN_TRP | VB_CCR_DIV_0_TRP); }

static uint32_t site_hash(uint32_t addr, uint32_t cap) { return (uint32_t)((addr * 0x9E3779B1u) >> 7) & (cap - 1); }

static trap_site_rec *find_site(vb_core *v, uint32_t addr) {
    uint32_t h;
    if (!v->site_cap) return NULL;
    for (h = site_hash(addr, v->site_cap); v->site_map[h]; h = (h + 1) & (v->site_cap - 1))
        if (v->site_map[h]->addr == addr) return v->site_map[h];
    return NULL;
}

static int grow_sites(vb_core *v) {
    uint32_t cap = v->site_cap ? v->site_cap * 2 : 256, i, h;
    trap_site_rec **map = calloc(cap, sizeof(*map));
    if (!map) return -1;
    for (i = 0; i < v->site_cap; i++) {
        trap_site_rec *r = v->site_map[i];
        if (!r) continue;
        for (h = site_hash(r->addr, cap); map[h]; h = (h + 1) & (cap - 1)) {}
        map[h] = r;
    }
    free(v->site_map);
    v->site_map = map;
    v->site_cap = cap;
    return 0;
}

/* The trap site of the instruction at addr, created zeroed (VB_SITE_OFF) the first time; Python
   fills it. A per-instruction vb_hook_alignment hook takes it as user data; the UNALIGN_TRP hook
   finds it by address. */
VB_API vb_trap_site *vb_trap_site_at(vb_core *v, uint32_t addr) {
    trap_site_rec *r = find_site(v, addr);
    uint32_t h;
    if (r) return &r->site;
    if ((v->site_used + 1) * 2 > v->site_cap && grow_sites(v)) return NULL;
    r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->v = v;
    r->addr = addr;
    for (h = site_hash(addr, v->site_cap); v->site_map[h]; h = (h + 1) & (v->site_cap - 1)) {}
    v->site_map[h] = r;
    v->site_used++;
    return &r->site;
}

void vbi_free_trap_sites(vb_core *v) {
    uint32_t i;
    for (i = 0; i < v->site_cap; i++) free(v->site_map[i]);
    free(v->site_map);
    v->site_map = NULL;
    v->site_cap = v->site_used = 0;
}

int vbi_trap(vb_core *v, int kind, uint32_t addr) { return v->on_trap ? v->on_trap(kind, addr) : 0; }

/* The address a site accesses, from the registers as they are before its instruction runs:
   nonzero when it is unaligned for the access. */
static uint32_t misaligned(vb_core *v, uc_engine *uc, const vb_trap_site *s, uint32_t address) {
    uint32_t base = 0, index = 0;
    if (s->base == 15)
        base = (address + 4) & ~3u;
    else
        v->reg_read(uc, v->p.reg_ids[s->base & 31], &base);
    if (s->index != 0xFF) v->reg_read(uc, v->p.reg_ids[s->index & 31], &index);
    return (base + (uint32_t)s->offset + (index << (s->shift & 31))) & s->align_mask;
}

/* Code hook on one access that always faults when unaligned (LDRD/STRD/LDM/STM, exclusives).
   Aligned accesses (the usual case) cost one or two register reads and a test. */
VB_API void vb_hook_alignment(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    trap_site_rec *r = (trap_site_rec *)user;
    (void)size;
    if (r->site.when == VB_SITE_ALWAYS && misaligned(r->v, uc, &r->site, (uint32_t)address))
        vbi_trap(r->v, VB_TRAP_UNALIGNED, (uint32_t)address);
}

/* One code hook on every instruction, installed when the firmware first sets CCR.UNALIGN_TRP
   (in place of the vb_hook_alignment ones): single word/halfword accesses are most loads and
   stores, and Unicorn scans its whole list of code hooks at each hooked instruction, so one hook
   and a table beat a hook per access. */
VB_API void vb_hook_unaligned_trp(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    vb_core *v = (vb_core *)user;
    trap_site_rec *r = find_site(v, (uint32_t)address);
    int checked;
    (void)size;
    if (!r) return;
    checked = r->site.when == VB_SITE_ALWAYS || (r->site.when == VB_SITE_IF_UNALIGN_TRP && (v->traps & VB_CCR_UNALIGN_TRP));
    if (checked && misaligned(v, uc, &r->site, (uint32_t)address)) vbi_trap(v, VB_TRAP_UNALIGNED, (uint32_t)address);
}

/* Divides on a board without timing: only the DIV_0_TRP check (vb_hook_divide does both). */
VB_API void vb_hook_divide_trap(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    vb_core *v = (vb_core *)user;
    const vb_insn *ins;
    uint32_t d = 1;
    (void)size;
    if (!(v->traps & VB_CCR_DIV_0_TRP)) return;
    ins = vbi_insn_at(v, (uint32_t)address);
    if (!ins || !(ins->flags & VB_F_DIVIDE)) return;
    v->reg_read(uc, v->p.reg_ids[(ins->aux >> 8) & 31], &d);
    if (!d) vbi_trap(v, VB_TRAP_DIVBYZERO, (uint32_t)address);
}
