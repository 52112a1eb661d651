// Peak single-precision FLOP/s of one core: independent AVX-512 FMA chains that never touch memory.
// Needs an AVX-512 CPU. Build and run (any output folder will do):
//     gcc -O3 -mavx512f -mfma Scripts/peak_flops.c -o "${TMPDIR:-/tmp}/peak_flops" && "${TMPDIR:-/tmp}/peak_flops"
// (-O3 keeps the 16 accumulators in registers; at -O2 gcc spills them and measures the stack instead.)
// (BENCHMARKS.md divides each model's FLOP/s by this figure times the thread count.)
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define CHAINS 16

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec * 1e-9;
}

int main(void) {
    __m512 accumulators[CHAINS];
    for (int i = 0; i < CHAINS; i++) accumulators[i] = _mm512_set1_ps((float)i);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    const long iterations = 200000000;
    double best = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        double start = seconds();
        for (long n = 0; n < iterations / 10; n++) {
            for (int i = 0; i < CHAINS; i++) accumulators[i] = _mm512_fmadd_ps(accumulators[i], a, b);
        }
        double elapsed = seconds() - start;
        double flops = (double)(iterations / 10) * CHAINS * 16 * 2 / elapsed;
        if (flops > best) best = flops;
    }
    float sink = 0;
    for (int i = 0; i < CHAINS; i++) sink += _mm512_reduce_add_ps(accumulators[i]);
    printf("peak: %.1f GFLOP/s per core (fp32 FMA, 512-bit) [%g]\n", best / 1e9, sink);
    return 0;
}
