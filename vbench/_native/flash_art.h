/* The STM32L4/L4+ flash interface and ART accelerator as a timing model (RM0432 §3.3.2-3.3.4:
 * read latency in wait states, prefetch on I-Code, instruction cache, data cache), behind two
 * entry points: an instruction fetch of one flash word and a data read. Each returns the stall
 * cycles the core sees. The board's FLASH_ACR peripheral configures it directly (vb_art_set_acr).
 * What ST does not publish (associativity, replacement, the cost of a line fill) is a parameter
 * here, named in the platform file's [flash] section with its source or its calibration. */
#ifndef FLASH_ART_H
#define FLASH_ART_H

#include <stdint.h>

typedef struct {
    uint32_t fetch_bytes;        /* bytes one flash read delivers (64-bit flash: 8) */
    uint32_t line_bytes;         /* ART cache line */
    uint32_t icache_lines, dcache_lines;
    uint32_t icache_ways, dcache_ways; /* 0 = fully associative; replacement is LRU within a set */
    uint32_t fill_bytes;         /* bytes one miss brings into a line: one flash read (fetch_bytes) up to the whole line */
    uint32_t read_overhead;      /* cycles a flash read costs beyond LATENCY (interface and bus), 0 = LATENCY alone */
    /* FLASH_ACR, as the firmware last wrote it (or pinned by the platform). */
    uint32_t latency, prefetch, icache, dcache;
} vb_art_params;

typedef struct vb_art vb_art;

vb_art *art_create(void);
void art_destroy(vb_art *a);
int art_configure(vb_art *a, const vb_art_params *p);
const vb_art_params *art_params(const vb_art *a);
/* Stall before the flash word `word` (address / fetch_bytes) can issue; `issue_cycles` is how long
   the core spends on the previous word's instructions (what a sequential prefetch overlaps). */
uint32_t art_fetch(vb_art *a, uint32_t word, uint32_t issue_cycles);
/* The fetch of every flash word of [addr, addr + size), in order: one call per block. The stall of
   each word goes to stall[0 .. *n_words) (the caller's buffer holds at least max_words), the
   number of the first word to *first_word. Returns the total stall. */
uint32_t art_fetch_block(vb_art *a, uint32_t addr, uint32_t size, uint32_t issue_cycles, uint32_t *stall,
                         uint32_t max_words, uint32_t *first_word, uint32_t *n_words);
/* Wait states of a flash read now (0: the flash model has nothing to time). */
uint32_t art_latency(const vb_art *a);
/* How many flash words [addr, addr + size) spans. */
uint32_t art_words(const vb_art *a, uint32_t addr, uint32_t size);
/* Changes whenever the fetch side of the model may have changed: a fetch of the same words that
   saw no stall last time, with the epoch unchanged since, sees no stall again and leaves the model
   as it was (its lines are still the most recent, in the same order), so it can be skipped. */
uint64_t art_fetch_epoch(const vb_art *a);
/* A fetch that left flash (code elsewhere ran): the next flash fetch is not sequential. */
void art_fetch_break(vb_art *a);
/* FLASH_ACR.ICRST / DCRST. */
void art_reset_caches(vb_art *a, int icache, int dcache);
/* Stall of a data read of flash at `addr` over D-Code. */
uint32_t art_data_read(vb_art *a, uint32_t addr);

#endif
