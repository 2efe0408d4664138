/* Memory-side dynamic terms: flash regions, flash data reads (through the flash model), the MMIO
   path of flash pages without code, and the data-dependent divide. */
#include "vbcore_internal.h"

VB_API int vb_add_flash_region(vb_core *v, uint32_t base, uint32_t size, const uint8_t *host) {
    if (v->n_flash >= VB_MAX_FLASH_REGIONS) return -1;
    v->flash[v->n_flash].base = base;
    v->flash[v->n_flash].size = size;
    v->flash[v->n_flash].host = host;
    return v->n_flash++;
}


/* Writable memory that can hold code (SRAM): stores into code there are found when the code runs
   next, by comparing its bytes with the decoded copy. A write hook would find them at the store,
   but any UC_HOOK_MEM_WRITE sends every load and store of the run to Unicorn's slow path
   (tcg_uc_has_hookmem in unicorn 2.1.4): three times slower on a board that runs from SRAM. */
VB_API int vb_add_ram_region(vb_core *v, uint32_t base, uint32_t size, const uint8_t *host) {
    ram_region *r;
    if (v->n_ram >= VB_MAX_CODE_REGIONS || !size) return -1;
    r = &v->ram[v->n_ram];
    r->decoded = calloc(size, 1);
    if (!r->decoded) return -1;
    r->base = base;
    r->size = size;
    r->host = host;
    return v->n_ram++;
}

int vbi_ram_region(vb_core *v, uint32_t addr, uint32_t size) {
    int i;
    for (i = 0; i < v->n_ram; i++)
        if (addr - v->ram[i].base < v->ram[i].size && size <= v->ram[i].size - (addr - v->ram[i].base)) return i;
    return -1;
}

/* A cached block about to run again: whether a store changed its bytes since they were decoded
   (the whole block was decoded, so its whole range has a decoded copy). */
int vbi_code_changed(vb_core *v, int ram, uint32_t addr, uint32_t size) {
    const ram_region *r = &v->ram[ram];
    uint32_t off = addr - r->base, lo, hi;
    if (!memcmp(r->host + off, r->decoded + off, size)) return 0;
    for (lo = 0; r->host[off + lo] == r->decoded[off + lo]; lo++) {}
    for (hi = size; r->host[off + hi - 1] == r->decoded[off + hi - 1]; hi--) {}
    vbi_code_rewritten(v, addr + lo, addr + hi);
    return 1;
}

/* A block about to be built: whether an instruction already decoded in its range has other bytes
   now (only decoded instructions have a decoded copy). */
int vbi_decode_stale(vb_core *v, int ram, uint32_t addr, uint32_t size) {
    const ram_region *r = &v->ram[ram];
    uint32_t off, end = addr + size;
    int stale = 0;
    for (off = (addr & ~1u) - 2; off < end; off += 2) {
        const vb_insn *s = vbi_insn_at(v, off);
        uint32_t o = off - r->base;
        if (!s || o >= r->size || s->length > r->size - o) continue;
        if (memcmp(r->host + o, r->decoded + o, s->length)) {
            vbi_code_rewritten(v, off, off + s->length);
            stale = 1;
        }
    }
    return stale;
}

/* The bytes of a block just decoded from writable memory: what later runs compare against. */
void vbi_note_decoded(vb_core *v, int ram, uint32_t addr, uint32_t size) {
    const ram_region *r = &v->ram[ram];
    memcpy(r->decoded + (addr - r->base), r->host + (addr - r->base), size);
}

int vbi_in_flash(vb_core *v, uint32_t addr) {
    int i;
    for (i = 0; i < v->n_flash; i++)
        if (addr - v->flash[i].base < v->flash[i].size) return 1;
    return 0;
}


void vbi_data_flash_read(vb_core *v, uint32_t addr) {
    uint32_t s;
    v->pending_flash_reads++;
    v->c.flash_reads++;
    v->pending_dyn_charge += v->p.charge_flash_read_fc;
    s = v->art ? art_data_read(v->art, addr) : 0;
    if (s) vbi_stall(v, VB_STALL_FLASH, s);
}


static uint32_t clz32(uint32_t x) { return x ? (uint32_t)__builtin_clz(x) : 32; }

/* Data-dependent divide (a code hook on each divide instruction), and the DIV_0_TRP check. */
VB_API void vb_hook_divide(uc_engine *uc, uint64_t address, uint32_t size, void *user) {
    vb_core *v = (vb_core *)user;
    const vb_insn *ins = vbi_insn_at(v, (uint32_t)address);
    uint32_t a = 0, d = 0, cycles;
    (void)size;
    if (!ins || !(ins->flags & VB_F_DIVIDE)) return;
    v->reg_read(uc, v->p.reg_ids[ins->aux & 31], &a);
    v->reg_read(uc, v->p.reg_ids[(ins->aux >> 8) & 31], &d);
    /* CCR.DIV_0_TRP: the divide does not execute, UsageFault is taken (traps.c) */
    if (!d && (v->traps & VB_CCR_DIV_0_TRP) && vbi_trap(v, VB_TRAP_DIVBYZERO, (uint32_t)address)) return;
    if (v->pending == NULL) return;
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
    if (cycles > ins->cycles) vbi_stall(v, VB_STALL_DIVIDE, cycles - ins->cycles);
}

/* Flash pages that hold no code are MMIO: each data read is seen here. */
VB_API uint64_t vb_flash_read(uc_engine *uc, uint64_t offset, unsigned size, void *user) {
    flash_region *r = (flash_region *)user;
    vb_core *v = *(vb_core **)(r + 1); /* the region record is followed by its owner */
    uint64_t value = 0;
    (void)uc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&value, r->host + offset, size <= 8 ? size : 8); /* the target is little-endian too */
#else
    for (unsigned i = 0; i < size; i++) value |= (uint64_t)r->host[offset + i] << (8 * i);
#endif
    vbi_data_flash_read(v, r->base + (uint32_t)offset);
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
