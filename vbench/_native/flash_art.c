/* STM32L4/L4+ flash read path with the ART accelerator. See flash_art.h. */
#include "flash_art.h"

#include <stdlib.h>
#include <string.h>

/* The cache holds at most `lines` lines; finding one and finding the victim are both O(1), so that
   a fetch costs the same whatever the associativity (a scan of 32 fully associative lines per
   flash word was the hot spot of a TFLM run). Lines present are chained from a small hash table;
   each set keeps its slots in recency order (head: most recent). Empty slots sit at the tail in
   index order, so a fill takes the lowest empty slot first, as an age scan with age 0 for empty
   slots would. */
#define HASH_BITS 7

typedef struct {
    uint32_t tag;   /* line number + 1; 0 = empty */
    uint32_t valid; /* filled sectors of the line (a sector is what one miss brings in) */
    uint32_t newer, older; /* neighbours in the recency list of the slot's set: slot + 1, 0 = end */
    uint32_t chain; /* next slot + 1 with the same hash */
    uint32_t age;   /* reference mode only: clock of the last use (0 = empty) */
} slot;

typedef struct {
    slot *s;
    uint32_t *mru, *lru; /* per set: slot + 1 */
    uint32_t lines, ways, sets, last, clock;
    uint32_t bucket[1u << HASH_BITS]; /* slot + 1 of the first line with this hash */
} cache;

struct vb_art {
    vb_art_params p;
    cache icache, dcache;
    uint32_t last_word; /* flash word + 1 of the last instruction fetch; 0 = none */
    /* Bumped by everything that may change what a fetch sees (a fetch other than a fetch-buffer
       hit, a break in the fetch sequence, FLASH_ACR, a cache reset): see art_fetch_epoch(). */
    uint64_t fetch_epoch;
    /* log2 of line_bytes, fill_bytes and fetch_bytes (32: not a power of two, divide instead) */
    uint32_t line_shift, fill_shift, fetch_shift;
    uint32_t reference; /* 1: the plain age scan instead of the O(1) structures (tests compare the two) */
};

static void cache_free(cache *k) {
    free(k->s);
    free(k->mru);
    free(k->lru);
}

/* Empty: every set's recency list runs from its highest slot (most recent) to its lowest (next victim). */
static void cache_flush(cache *k) {
    uint32_t set, i;
    memset(k->s, 0, k->lines * sizeof(slot));
    memset(k->bucket, 0, sizeof(k->bucket));
    for (set = 0; set < k->sets; set++) {
        uint32_t base = set * k->ways;
        for (i = base; i < base + k->ways; i++) {
            k->s[i].older = i > base ? i : 0;                  /* slot i - 1, as slot + 1 */
            k->s[i].newer = i + 1 < base + k->ways ? i + 2 : 0; /* slot i + 1, as slot + 1 */
        }
        k->lru[set] = base + 1;
        k->mru[set] = base + k->ways;
    }
    k->last = 0;
}

static int cache_init(cache *k, uint32_t lines, uint32_t ways) {
    cache_free(k);
    k->lines = lines ? lines : 1;
    k->ways = ways && ways < k->lines && k->lines % ways == 0 ? ways : k->lines;
    k->sets = k->lines / k->ways;
    k->clock = 0;
    k->s = calloc(k->lines, sizeof(slot));
    k->mru = calloc(k->sets, sizeof(uint32_t));
    k->lru = calloc(k->sets, sizeof(uint32_t));
    if (!(k->s && k->mru && k->lru)) return -1;
    cache_flush(k);
    return 0;
}

/* Slot i becomes the most recent of set `set`. */
static inline void cache_touch(cache *k, uint32_t set, uint32_t i) {
    slot *x = &k->s[i];
    uint32_t n = x->newer, o = x->older;
    if (!n) return; /* already the most recent */
    k->s[n - 1].older = o;
    if (o) k->s[o - 1].newer = n;
    else k->lru[set] = n;
    x->older = k->mru[set];
    k->s[k->mru[set] - 1].newer = i + 1;
    x->newer = 0;
    k->mru[set] = i + 1;
}

static inline uint32_t line_hash(uint32_t line) { return (line ^ (line >> HASH_BITS)) & ((1u << HASH_BITS) - 1); }

/* Set-associative (fully associative when ways = lines), least recently used, `sectors` fills
   per line. Returns 1 on a hit; a miss fills one sector (allocating the line if it is absent).
   A repeat of the last sector hits without touching the LRU order. */
static inline int cache_access(cache *k, uint32_t line, uint32_t sector) {
    uint32_t tag = line + 1, id = (line << 5 | sector) + 1, bit = 1u << sector, set, i, h, *p;
    slot *x;
    if (k->last == id) return 1;
    k->last = id;
    set = k->sets == 1 ? 0 : line % k->sets;
    x = &k->s[k->mru[set] - 1];
    if (x->tag == tag) { /* the most recent line again (a loop within it): nothing to reorder */
        if (x->valid & bit) return 1;
        x->valid |= bit;
        return 0;
    }
    h = line_hash(line);
    for (i = k->bucket[h]; i; i = k->s[i - 1].chain) {
        x = &k->s[i - 1];
        if (x->tag != tag) continue;
        cache_touch(k, set, i - 1);
        if (x->valid & bit) return 1;
        x->valid |= bit;
        return 0;
    }
    i = k->lru[set] - 1; /* the victim: least recent, or the lowest empty slot */
    x = &k->s[i];
    if (x->tag) { /* unchain the line it held */
        for (p = &k->bucket[line_hash(x->tag - 1)]; *p != i + 1; p = &k->s[*p - 1].chain) {}
        *p = x->chain;
    }
    x->tag = tag;
    x->valid = bit;
    x->chain = k->bucket[h];
    k->bucket[h] = i + 1;
    cache_touch(k, set, i);
    return 0;
}

/* The reference: scan the set for the line, the victim is the lowest slot of the smallest age. */
static int cache_access_scan(cache *k, uint32_t line, uint32_t sector) {
    uint32_t tag = line + 1, id = (line << 5 | sector) + 1, bit = 1u << sector, base, victim, i;
    if (k->last == id) return 1;
    k->clock++;
    k->last = id;
    base = (line % k->sets) * k->ways;
    victim = base;
    for (i = base; i < base + k->ways; i++) {
        if (k->s[i].tag == tag) {
            k->s[i].age = k->clock;
            if (k->s[i].valid & bit) return 1;
            k->s[i].valid |= bit;
            return 0;
        }
        if (k->s[i].age < k->s[victim].age) victim = i;
    }
    k->s[victim].tag = tag;
    k->s[victim].age = k->clock;
    k->s[victim].valid = bit;
    return 0;
}

static inline uint32_t div_pow2(uint32_t x, uint32_t d, uint32_t shift) { return shift < 32 ? x >> shift : x / d; }

static uint32_t log2_exact(uint32_t x) { return x && !(x & (x - 1)) ? (uint32_t)__builtin_ctz(x) : 32; }

/* The cache line and sector holding addr. */
static inline int art_cache(const vb_art *a, cache *k, uint32_t addr) {
    const vb_art_params *p = &a->p;
    uint32_t line = div_pow2(addr, p->line_bytes, a->line_shift);
    uint32_t in_line = a->line_shift < 32 ? addr & (p->line_bytes - 1) : addr % p->line_bytes;
    uint32_t sector = div_pow2(in_line, p->fill_bytes, a->fill_shift);
    return a->reference ? cache_access_scan(k, line, sector) : cache_access(k, line, sector);
}

vb_art *art_create(void) {
    vb_art *a = calloc(1, sizeof(vb_art));
    if (!a) return NULL;
    a->p.fetch_bytes = 8;
    a->p.line_bytes = 32;
    a->p.fill_bytes = 32;
    a->line_shift = a->fill_shift = 5;
    a->fetch_shift = 3;
    if (cache_init(&a->icache, 1, 0) || cache_init(&a->dcache, 1, 0)) {
        art_destroy(a);
        return NULL;
    }
    return a;
}

void art_destroy(vb_art *a) {
    if (!a) return;
    cache_free(&a->icache);
    cache_free(&a->dcache);
    free(a);
}

/* Geometry changes empty the caches; a change of FLASH_ACR bits alone does not. */
int art_configure(vb_art *a, const vb_art_params *p) {
    if (!p->fetch_bytes || !p->line_bytes || !p->fill_bytes || p->line_bytes % p->fill_bytes ||
        p->line_bytes / p->fill_bytes > 32 || p->latency > 15 || p->read_overhead > 64)
        return -1;
    if (p->icache_lines != a->p.icache_lines || p->icache_ways != a->p.icache_ways || !a->icache.s)
        if (cache_init(&a->icache, p->icache_lines, p->icache_ways)) return -1;
    if (p->dcache_lines != a->p.dcache_lines || p->dcache_ways != a->p.dcache_ways || !a->dcache.s)
        if (cache_init(&a->dcache, p->dcache_lines, p->dcache_ways)) return -1;
    a->p = *p;
    a->fetch_epoch++;
    a->line_shift = log2_exact(p->line_bytes);
    a->fill_shift = log2_exact(p->fill_bytes);
    a->fetch_shift = log2_exact(p->fetch_bytes);
    return 0;
}

const vb_art_params *art_params(const vb_art *a) { return &a->p; }

void art_reset_caches(vb_art *a, int icache, int dcache) {
    a->fetch_epoch++;
    if (icache) cache_flush(&a->icache);
    if (dcache) cache_flush(&a->dcache);
}

void art_fetch_break(vb_art *a) {
    if (a->last_word) a->fetch_epoch++;
    a->last_word = 0;
}

uint64_t art_fetch_epoch(const vb_art *a) { return a->fetch_epoch; }

/* One flash read costs LATENCY + 1 cycles (RM0432 §3.3.2); the core has its own fetch slot, so
   the wait it sees is LATENCY, less what a sequential prefetch overlapped with execution. */
static inline uint32_t fetch_word(vb_art *a, uint32_t word, uint32_t issue_cycles) {
    const vb_art_params *p = &a->p;
    uint32_t stall = 0, lat = p->latency;
    if (!lat) {
        art_fetch_break(a);
        return 0;
    }
    if (word + 1 == a->last_word) return 0; /* still in the fetch buffer */
    a->fetch_epoch++;
    if (!(p->icache && art_cache(a, &a->icache, word * p->fetch_bytes))) {
        uint32_t miss = lat + p->read_overhead;
        if (p->prefetch && word == a->last_word) /* sequential: prefetched while the previous word ran */
            stall = miss + 1 > issue_cycles ? miss + 1 - issue_cycles : 0;
        else
            stall = miss;
    }
    a->last_word = word + 1;
    return stall;
}

uint32_t art_fetch(vb_art *a, uint32_t word, uint32_t issue_cycles) { return fetch_word(a, word, issue_cycles); }

uint32_t art_latency(const vb_art *a) { return a->p.latency; }

uint32_t art_words(const vb_art *a, uint32_t addr, uint32_t size) {
    uint32_t w = a->p.fetch_bytes;
    return div_pow2(addr + size - 1, w, a->fetch_shift) - div_pow2(addr, w, a->fetch_shift) + 1;
}

uint32_t art_fetch_block(vb_art *a, uint32_t addr, uint32_t size, uint32_t issue_cycles, uint32_t *stall,
                         uint32_t max_words, uint32_t *first_word, uint32_t *n_words) {
    uint32_t w = a->p.fetch_bytes, first = div_pow2(addr, w, a->fetch_shift), n, i, total = 0;
    n = div_pow2(addr + size - 1, w, a->fetch_shift) - first + 1;
    if (n > max_words) n = max_words; /* the caller sized its buffer with art_words: never taken */
    *first_word = first;
    *n_words = n;
    if (!a->p.latency) { /* zero wait states: no stall, and nothing to remember but that */
        art_fetch_break(a);
        memset(stall, 0, n * sizeof(uint32_t));
        return 0;
    }
    for (i = 0; i < n; i++) total += stall[i] = fetch_word(a, first + i, issue_cycles);
    return total;
}

uint32_t art_data_read(vb_art *a, uint32_t addr) {
    const vb_art_params *p = &a->p;
    if (!p->latency) return 0;
    if (p->dcache && art_cache(a, &a->dcache, addr)) return 0;
    return p->latency + p->read_overhead;
}

/* ---------------------------------------------------------------- Python entry points */
#define VB_API __attribute__((visibility("default")))

VB_API vb_art *vb_art_create(void) { return art_create(); }
VB_API void vb_art_destroy(vb_art *a) { art_destroy(a); }
VB_API int vb_art_configure(vb_art *a, const vb_art_params *p) { return art_configure(a, p); }
VB_API void vb_art_get_params(vb_art *a, vb_art_params *out) { *out = a->p; }

/* Tests: the reference cache (age scan) instead of the O(1) one; the caches are emptied. */
VB_API void vb_art_set_reference(vb_art *a, uint32_t on) {
    a->reference = on;
    art_reset_caches(a, 1, 1);
}
/* Tests: one instruction fetch / one data read, as the core makes them; returns the stall. */
VB_API uint32_t vb_art_fetch(vb_art *a, uint32_t word, uint32_t issue_cycles) { return fetch_word(a, word, issue_cycles); }
VB_API uint32_t vb_art_data_read(vb_art *a, uint32_t addr) { return art_data_read(a, addr); }

/* FLASH_ACR written: LATENCY, PRFTEN, ICEN, DCEN take effect; ICRST/DCRST empty the caches. */
VB_API void vb_art_set_acr(vb_art *a, uint32_t latency, uint32_t prefetch, uint32_t icache, uint32_t dcache,
                           uint32_t icache_reset, uint32_t dcache_reset) {
    a->fetch_epoch++;
    a->p.latency = latency;
    a->p.prefetch = prefetch;
    a->p.icache = icache;
    a->p.dcache = dcache;
    art_reset_caches(a, (int)icache_reset, (int)dcache_reset);
}
