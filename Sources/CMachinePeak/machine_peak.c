#include "machine_peak.h"

#if defined(__x86_64__)

int mobilenet_peak_vector_bits(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 256;
    return 0;
}

// Sixteen accumulators (zmm0-15) each take one multiply-add per round from two constant
// registers: enough independent chains to cover the latency of two FMA ports.
__attribute__((target("avx512f"))) static void fma512(long rounds) {
    __asm__ volatile(
        "vxorps %%zmm30, %%zmm30, %%zmm30\n\t"
        "vxorps %%zmm31, %%zmm31, %%zmm31\n\t"
        "1:\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm0\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm1\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm2\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm3\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm4\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm5\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm6\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm7\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm8\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm9\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm10\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm11\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm12\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm13\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm14\n\t"
        "vfmadd231ps %%zmm30, %%zmm31, %%zmm15\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(rounds)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm12", "xmm13", "xmm14", "xmm15", "xmm30", "xmm31", "cc");
}

// Twelve ymm accumulators: AVX2 has sixteen registers, two hold the constants.
__attribute__((target("avx2,fma"))) static void fma256(long rounds) {
    __asm__ volatile(
        "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
        "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
        "1:\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm0\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm1\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm2\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm3\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm4\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm5\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm6\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm7\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm8\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm9\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm10\n\t"
        "vfmadd231ps %%ymm14, %%ymm15, %%ymm11\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(rounds)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm14", "xmm15", "cc");
}

double mobilenet_peak_fma(int vector_bits, long rounds) {
    if (rounds <= 0 || vector_bits > mobilenet_peak_vector_bits()) return 0;
    switch (vector_bits) {
    case 512: fma512(rounds); return (double)rounds * 16 * 16 * 2;
    case 256: fma256(rounds); return (double)rounds * 12 * 8 * 2;
    default: return 0;
    }
}

int mobilenet_peak_has_vnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni");
}

// Twelve zmm accumulators, each taking 64 u8 x s8 products a round.
__attribute__((target("avx512f,avx512vnni"))) static void dot512(long rounds) {
    __asm__ volatile(
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"
        "vpxord %%zmm31, %%zmm31, %%zmm31\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm7\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm8\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm9\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm10\n\t"
        "vpdpbusd %%zmm30, %%zmm31, %%zmm11\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(rounds)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
          "xmm30", "xmm31", "cc");
}

// Without VNNI, 32 products a round per chain in three instructions: pairs of u8 x s8 summed
// into int16 (`vpmaddubsw`), pairs of those into int32 (`vpmaddwd` with ones), then added.
// Four chains, each with its own temporary; ymm12-15 hold the operands and the ones.
__attribute__((target("avx2"))) static void dot256(long rounds) {
    __asm__ volatile(
        "vpxor %%ymm12, %%ymm12, %%ymm12\n\t"
        "vpxor %%ymm13, %%ymm13, %%ymm13\n\t"
        "vpcmpeqw %%ymm14, %%ymm14, %%ymm14\n\t"
        "vpsrlw $15, %%ymm14, %%ymm14\n\t"
        "1:\n\t"
        "vpmaddubsw %%ymm13, %%ymm12, %%ymm4\n\t"
        "vpmaddubsw %%ymm13, %%ymm12, %%ymm5\n\t"
        "vpmaddubsw %%ymm13, %%ymm12, %%ymm6\n\t"
        "vpmaddubsw %%ymm13, %%ymm12, %%ymm7\n\t"
        "vpmaddwd %%ymm14, %%ymm4, %%ymm4\n\t"
        "vpmaddwd %%ymm14, %%ymm5, %%ymm5\n\t"
        "vpmaddwd %%ymm14, %%ymm6, %%ymm6\n\t"
        "vpmaddwd %%ymm14, %%ymm7, %%ymm7\n\t"
        "vpaddd %%ymm4, %%ymm0, %%ymm0\n\t"
        "vpaddd %%ymm5, %%ymm1, %%ymm1\n\t"
        "vpaddd %%ymm6, %%ymm2, %%ymm2\n\t"
        "vpaddd %%ymm7, %%ymm3, %%ymm3\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(rounds)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm12", "xmm13", "xmm14", "cc");
}

double mobilenet_peak_int8(int vector_bits, long rounds) {
    if (rounds <= 0) return 0;
    if (vector_bits == 512 && mobilenet_peak_has_vnni()) { dot512(rounds); return (double)rounds * 12 * 64 * 2; }
    if (vector_bits == 256 && mobilenet_peak_vector_bits() >= 256) { dot256(rounds); return (double)rounds * 4 * 32 * 2; }
    return 0;
}

// Four loads of a whole line each per 256 bytes, into registers nothing reads.
__attribute__((target("avx512f"))) static void read512(const void *buffer, long lines) {
    __asm__ volatile(
        "1:\n\t"
        "vmovaps (%1), %%zmm0\n\t"
        "vmovaps 64(%1), %%zmm1\n\t"
        "vmovaps 128(%1), %%zmm2\n\t"
        "vmovaps 192(%1), %%zmm3\n\t"
        "add $256, %1\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(lines), "+r"(buffer)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "memory", "cc");
}

__attribute__((target("avx2"))) static void read256(const void *buffer, long lines) {
    __asm__ volatile(
        "1:\n\t"
        "vmovaps (%1), %%ymm0\n\t"
        "vmovaps 32(%1), %%ymm1\n\t"
        "vmovaps 64(%1), %%ymm2\n\t"
        "vmovaps 96(%1), %%ymm3\n\t"
        "vmovaps 128(%1), %%ymm4\n\t"
        "vmovaps 160(%1), %%ymm5\n\t"
        "vmovaps 192(%1), %%ymm6\n\t"
        "vmovaps 224(%1), %%ymm7\n\t"
        "add $256, %1\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(lines), "+r"(buffer)
        :
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "memory", "cc");
}

double mobilenet_peak_read(int vector_bits, const void *buffer, long bytes) {
    long lines = bytes / 256;
    if (lines <= 0 || ((unsigned long)buffer & 63) != 0 || vector_bits > mobilenet_peak_vector_bits()) return 0;
    switch (vector_bits) {
    case 512: read512(buffer, lines); return (double)lines * 256;
    case 256: read256(buffer, lines); return (double)lines * 256;
    default: return 0;
    }
}

#else

int mobilenet_peak_vector_bits(void) { return 0; }
int mobilenet_peak_has_vnni(void) { return 0; }
double mobilenet_peak_int8(int vector_bits, long rounds) { (void)vector_bits; (void)rounds; return 0; }
double mobilenet_peak_fma(int vector_bits, long rounds) { (void)vector_bits; (void)rounds; return 0; }
double mobilenet_peak_read(int vector_bits, const void *buffer, long bytes) { (void)vector_bits; (void)buffer; (void)bytes; return 0; }

#endif
