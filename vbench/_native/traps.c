/* ARMv7-M UsageFault traps that Unicorn does not raise (DDI0403E A3.2.1, B3.2.8 CCR, B3.2.15 UFSR):
   unaligned LDRD/STRD/LDM/STM always fault, unaligned LDR/STR/LDRH/STRH fault when CCR.UNALIGN_TRP
   is set, SDIV/UDIV by zero faults when CCR.DIV_0_TRP is set. The checks run in code hooks on
   those instructions only; taking the exception is Python's (vbench/sim/cortexm.py), once per
   fault. */
#include "vbcore_internal.h"

VB_API void vb_set_trap_handler(vb_core *v, void *fn) { v->on_trap = (trap_fn)fn; }

/* The SCS wrote CCR: the trap enables take effect for the next divide or access checked. */
VB_API void vb_set_traps(vb_core *v, uint32_t ccr) { v->traps = ccr & (VB_CCR_UNALIGN_TRP | VB_CCR_DIV_0_TRP); }

/* A new trap site (zeroed: VB_SITE_OFF), owned by the core; Python fills it and passes it as the
   user data of a vb_hook_alignment hook on its instruction. */
VB_API vb_trap_site *vb_trap_site_new(vb_core *v) {
    trap_site_rec *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->v = v;
    r->next = v->sites;
    v->sites = r;
    return &r->site;
}

void vbi_free_trap_sites(vb_core *v) {
    while (v->sites) {
        trap_site_rec *r = v->sites;
        v->sites = r->next;
        free(r);
    }
}

int vbi_trap(vb_core *v, int kind, uint32_t addr) { return v->on_trap ? v->on_trap(kind, addr) : 0; }

/* Code hook on a load/store that may fault: the address from the registers as they are before the
   instruction runs. Aligned accesses (the usual case) cost two register reads and a test. */
VB_API void vb_hook_alignment(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    trap_site_rec *r = (trap_site_rec *)user;
    vb_core *v = r->v;
    const vb_trap_site *s = &r->site;
    uint32_t base = 0, index = 0;
    (void)size;
    if (s->when != VB_SITE_ALWAYS && !(s->when == VB_SITE_IF_UNALIGN_TRP && (v->traps & VB_CCR_UNALIGN_TRP))) return;
    if (s->base == 15)
        base = ((uint32_t)address + 4) & ~3u;
    else
        v->reg_read(uc, v->p.reg_ids[s->base & 31], &base);
    if (s->index != 0xFF) v->reg_read(uc, v->p.reg_ids[s->index & 31], &index);
    if ((base + (uint32_t)s->offset + (index << (s->shift & 31))) & s->align_mask)
        vbi_trap(v, VB_TRAP_UNALIGNED, (uint32_t)address);
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
