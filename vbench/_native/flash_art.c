/* STM32L4/L4+ flash read path with the ART accelerator. See flash_art.h. */
#include "flash_art.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t *tag;  /* line number + 1; 0 = empty */
    uint32_t *age;
    uint32_t *valid; /* filled sectors of the line (a sector is what one miss brings in) */
    uint32_t lines, ways, clock, last;
} cache;

struct vb_art {
    vb_art_params p;
    cache icache, dcache;
    uint32_t last_word; /* flash word + 1 of the last instruction fetch; 0 = none */
};

static int cache_init(cache *k, uint32_t lines, uint32_t ways) {
    free(k->tag);
    free(k->age);
    free(k->valid);
    k->lines = lines ? lines : 1;
    k->ways = ways && ways < k->lines && k->lines % ways == 0 ? ways : k->lines;
    k->tag = calloc(k->lines, sizeof(uint32_t));
    k->age = calloc(k->lines, sizeof(uint32_t));
    k->valid = calloc(k->lines, sizeof(uint32_t));
    k->clock = 0;
    k->last = 0;
    return k->tag && k->age && k->valid ? 0 : -1;
}

static void cache_flush(cache *k) {
    memset(k->tag, 0, k->lines * sizeof(uint32_t));
    memset(k->age, 0, k->lines * sizeof(uint32_t));
    memset(k->valid, 0, k->lines * sizeof(uint32_t));
    k->last = 0;
}

/* Set-associative (fully associative when ways = lines), least recently used, `sectors` fills
   per line. Returns 1 on a hit; a miss fills one sector (allocating the line if it is absent).
   A repeat of the last sector hits without touching the LRU order. */
static int cache_access(cache *k, uint32_t line, uint32_t sector) {
    uint32_t tag = line + 1, sets = k->lines / k->ways, base = (line % sets) * k->ways, victim = base, i;
    uint32_t id = (line << 5 | sector) + 1, bit = 1u << sector;
    if (k->last == id) return 1;
    k->clock++;
    k->last = id;
    for (i = base; i < base + k->ways; i++) {
        if (k->tag[i] == tag) {
            k->age[i] = k->clock;
            if (k->valid[i] & bit) return 1;
            k->valid[i] |= bit;
            return 0;
        }
        if (k->age[i] < k->age[victim]) victim = i;
    }
    k->tag[victim] = tag;
    k->age[victim] = k->clock;
    k->valid[victim] = bit;
    return 0;
}

/* The cache line and sector holding addr. */
static int art_cache(const vb_art_params *p, cache *k, uint32_t addr) {
    return cache_access(k, addr / p->line_bytes, (addr % p->line_bytes) / p->fill_bytes);
}

vb_art *art_create(void) {
    vb_art *a = calloc(1, sizeof(vb_art));
    if (!a) return NULL;
    a->p.fetch_bytes = 8;
    a->p.line_bytes = 32;
    a->p.fill_bytes = 32;
    if (cache_init(&a->icache, 1, 0) || cache_init(&a->dcache, 1, 0)) {
        art_destroy(a);
        return NULL;
    }
    return a;
}

void art_destroy(vb_art *a) {
    if (!a) return;
    free(a->icache.tag);
    free(a->icache.age);
    free(a->icache.valid);
    free(a->dcache.tag);
    free(a->dcache.age);
    free(a->dcache.valid);
    free(a);
}

/* Geometry changes empty the caches; a change of FLASH_ACR bits alone does not. */
int art_configure(vb_art *a, const vb_art_params *p) {
    if (!p->fetch_bytes || !p->line_bytes || !p->fill_bytes || p->line_bytes % p->fill_bytes ||
        p->line_bytes / p->fill_bytes > 32 || p->latency > 15 || p->read_overhead > 64)
        return -1;
    if (p->icache_lines != a->p.icache_lines || p->icache_ways != a->p.icache_ways || !a->icache.tag)
        if (cache_init(&a->icache, p->icache_lines, p->icache_ways)) return -1;
    if (p->dcache_lines != a->p.dcache_lines || p->dcache_ways != a->p.dcache_ways || !a->dcache.tag)
        if (cache_init(&a->dcache, p->dcache_lines, p->dcache_ways)) return -1;
    a->p = *p;
    return 0;
}

const vb_art_params *art_params(const vb_art *a) { return &a->p; }

void art_reset_caches(vb_art *a, int icache, int dcache) {
    if (icache) cache_flush(&a->icache);
    if (dcache) cache_flush(&a->dcache);
}

void art_fetch_break(vb_art *a) { a->last_word = 0; }

/* One flash read costs LATENCY + 1 cycles (RM0432 §3.3.2); the core has its own fetch slot, so
   the wait it sees is LATENCY, less what a sequential prefetch overlapped with execution. */
uint32_t art_fetch(vb_art *a, uint32_t word, uint32_t issue_cycles) {
    const vb_art_params *p = &a->p;
    uint32_t stall = 0, lat = p->latency;
    if (!lat) {
        a->last_word = 0;
        return 0;
    }
    if (word + 1 == a->last_word) return 0; /* still in the fetch buffer */
    if (!(p->icache && art_cache(p, &a->icache, word * p->fetch_bytes))) {
        uint32_t miss = lat + p->read_overhead;
        if (p->prefetch && word == a->last_word) /* sequential: prefetched while the previous word ran */
            stall = miss + 1 > issue_cycles ? miss + 1 - issue_cycles : 0;
        else
            stall = miss;
    }
    a->last_word = word + 1;
    return stall;
}

uint32_t art_data_read(vb_art *a, uint32_t addr) {
    const vb_art_params *p = &a->p;
    if (!p->latency) return 0;
    if (p->dcache && art_cache(p, &a->dcache, addr)) return 0;
    return p->latency + p->read_overhead;
}

/* ---------------------------------------------------------------- Python entry points */
#define VB_API __attribute__((visibility("default")))

VB_API vb_art *vb_art_create(void) { return art_create(); }
VB_API void vb_art_destroy(vb_art *a) { art_destroy(a); }
VB_API int vb_art_configure(vb_art *a, const vb_art_params *p) { return art_configure(a, p); }
VB_API void vb_art_get_params(vb_art *a, vb_art_params *out) { *out = a->p; }

/* FLASH_ACR written: LATENCY, PRFTEN, ICEN, DCEN take effect; ICRST/DCRST empty the caches. */
VB_API void vb_art_set_acr(vb_art *a, uint32_t latency, uint32_t prefetch, uint32_t icache, uint32_t dcache,
                           uint32_t icache_reset, uint32_t dcache_reset) {
    a->p.latency = latency;
    a->p.prefetch = prefetch;
    a->p.icache = icache;
    a->p.dcache = dcache;
    art_reset_caches(a, (int)icache_reset, (int)dcache_reset);
}
