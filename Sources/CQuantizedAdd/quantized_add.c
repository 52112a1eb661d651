#include "quantized_add.h"

#include <math.h>
#include <string.h>

// Each loop is written once, as an always-inline body; the AVX2 entry point compiles it with
// AVX2 and FMA enabled (the compiler vectorizes it, `fmaf` becoming `vfmadd`), the generic one
// without (`fmaf` is then the C library's, exact but slow). Both compute the same bytes: `fmaf`
// rounds once by definition, and the integer loop is exact. The loops write blocks of 64 into a
// local array first, so that writing `c` over `a` (in place) does not stop the vectorizer.

enum { block = 64 };

static inline __attribute__((always_inline)) void add_float(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, float ratio_a, float ratio_b, float constant) {
    uint8_t results[block];
    for (long start = 0; start < count; start += block) {
        const long n = count - start < block ? count - start : block;
        for (long i = 0; i < n; i++) {
            float partial = fmaf((float)b[start + i], ratio_b, constant);
            float value = rintf(fmaf((float)a[start + i], ratio_a, partial));
            value = value < 0.0f ? 0.0f : value;
            value = value > 255.0f ? 255.0f : value;
            results[i] = (uint8_t)(int32_t)value;
        }
        memcpy(c + start, results, (size_t)n);
    }
}

static inline __attribute__((always_inline)) void add_fixed(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, int32_t multiplier_a, int32_t multiplier_b, int32_t bias,
    int32_t shift, int32_t zero_point) {
    const int32_t low = -zero_point, high = 255 - zero_point;
    uint8_t results[block];
    for (long start = 0; start < count; start += block) {
        const long n = count - start < block ? count - start : block;
        for (long i = 0; i < n; i++) {
            int32_t sum = bias + (int32_t)a[start + i] * multiplier_a + (int32_t)b[start + i] * multiplier_b;
            int32_t value = sum >> shift;
            value = value < low ? low : value;
            value = value > high ? high : value;
            results[i] = (uint8_t)(value + zero_point);
        }
        memcpy(c + start, results, (size_t)n);
    }
}

#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) static void add_float_avx2(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, float ratio_a, float ratio_b, float constant) {
    add_float(a, b, c, count, ratio_a, ratio_b, constant);
}

__attribute__((target("avx2,fma"))) static void add_fixed_avx2(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, int32_t multiplier_a, int32_t multiplier_b, int32_t bias,
    int32_t shift, int32_t zero_point) {
    add_fixed(a, b, c, count, multiplier_a, multiplier_b, bias, shift, zero_point);
}

static int has_avx2(void) {
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return known;
}

#else

static int has_avx2(void) { return 0; }

#endif

void mobilenet_quantized_add_float(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, float ratio_a, float ratio_b, float constant) {
#if defined(__x86_64__)
    if (has_avx2()) {
        add_float_avx2(a, b, c, count, ratio_a, ratio_b, constant);
        return;
    }
#endif
    add_float(a, b, c, count, ratio_a, ratio_b, constant);
}

void mobilenet_quantized_add_fixed(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, int32_t multiplier_a, int32_t multiplier_b, int32_t bias,
    int32_t shift, int32_t zero_point) {
#if defined(__x86_64__)
    if (has_avx2()) {
        add_fixed_avx2(a, b, c, count, multiplier_a, multiplier_b, bias, shift, zero_point);
        return;
    }
#endif
    add_fixed(a, b, c, count, multiplier_a, multiplier_b, bias, shift, zero_point);
}

const char *mobilenet_quantized_add_isa(void) { return has_avx2() ? "avx2" : "generic"; }
