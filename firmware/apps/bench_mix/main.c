/* Instruction mix for `vbench bench`: int8 dot products streaming weights from flash (the MLPerf
 * Tiny pattern), 64-bit requantization, a data-dependent branchy loop, a divide per row and a float
 * multiply-accumulate loop. No peripherals: the result is returned from main (exit code). */
#include <stdint.h>

#ifndef BENCH_ITERATIONS
#define BENCH_ITERATIONS 100
#endif

#define ROWS 64
#define COLS 256

/* Weights: a const table, so the linker places it in flash on boards with flash. */
static const int8_t weights[ROWS * COLS] = {
#define W4(x) (int8_t)(x), (int8_t)((x) * 7), (int8_t)((x) * 13), (int8_t)((x) * 29)
#define W16(x) W4(x), W4((x) + 1), W4((x) + 2), W4((x) + 3)
#define W64(x) W16(x), W16((x) + 4), W16((x) + 8), W16((x) + 12)
#define W256(x) W64(x), W64((x) + 16), W64((x) + 32), W64((x) + 48)
    W256(1), W256(3), W256(5), W256(7)};

static int8_t activations[COLS];
static int8_t outputs[ROWS];
static float fbuf[256];

static int32_t requantize(int32_t acc, int32_t multiplier, int shift) {
    int64_t prod = (int64_t)acc * multiplier;
    int32_t high = (int32_t)((prod + (1LL << 30)) >> 31);
    int32_t rounded = (high + (1 << (shift - 1))) >> shift;
    return rounded < -128 ? -128 : rounded > 127 ? 127 : rounded;
}

static uint32_t mix_round(uint32_t seed) {
    uint32_t h = seed;
    for (int r = 0; r < ROWS; r++) {
        const int8_t *w = &weights[(r * COLS) % (int)sizeof(weights)];
        int32_t acc = 0;
        for (int c = 0; c < COLS; c++) acc += (int32_t)activations[c] * w[c];
        int32_t q = requantize(acc, 1518500250, 7);
        outputs[r] = (int8_t)q;
        h = h * 31u + (uint32_t)q + (uint32_t)(acc / (r + 3)); /* one divide per row */
        switch (h & 3u) {                                     /* data-dependent branches */
        case 0: h ^= h >> 7; break;
        case 1: h += 0x9e3779b9u; break;
        case 2: h = (h << 3) | (h >> 29); break;
        default: h -= (uint32_t)r; break;
        }
    }
    float f = 0.0f;
    for (int i = 0; i < 256; i++) {
        fbuf[i] = fbuf[i] * 0.5f + (float)outputs[i & (ROWS - 1)];
        f += fbuf[i] * 0.25f;
    }
    for (int c = 0; c < COLS; c++) activations[c] = (int8_t)(activations[c] + outputs[c & (ROWS - 1)] + (int8_t)h);
    return h ^ (uint32_t)(int32_t)f;
}

int main(void) {
    uint32_t h = 2166136261u;
    for (int c = 0; c < COLS; c++) activations[c] = (int8_t)(c * 37);
    for (int i = 0; i < BENCH_ITERATIONS; i++) h = mix_round(h);
    return (int)(h & 0x7f); /* exit code: a checksum both runs must agree on */
}
