#ifndef SWIFT_MOBILENET_MACHINE_PEAK_H
#define SWIFT_MOBILENET_MACHINE_PEAK_H

// The compute and memory ceilings of one core, for `mobilenet bench --profile`: a loop of
// independent fused multiply-adds that never touches memory, and a loop that only reads.
// The loops are inline assembly, so they run the same in a debug build (where the C compiler
// would keep intrinsics' values on the stack) as in a release one.

/// The widest vector unit these loops can use: 512-bit (AVX-512F), 256-bit (AVX2 with FMA),
/// or none (0: not an x86-64 CPU with AVX2).
int mobilenet_peak_vector_bits(void);

/// Runs `rounds` rounds of fused multiply-adds on `vector_bits`-wide registers (512 or 256, no
/// more than ``mobilenet_peak_vector_bits``) and returns the floating-point operations done
/// (two per multiply-add and lane), or 0 if the width is not available.
double mobilenet_peak_fma(int vector_bits, long rounds);

/// Whether the CPU has AVX-512 VNNI (`vpdpbusd`, four u8 x s8 products summed into int32 per lane).
int mobilenet_peak_has_vnni(void);

/// Runs `rounds` rounds of u8 x s8 multiply-adds into int32 accumulators, as oneDNN's int8
/// kernels do them: with VNNI on 512-bit registers (`vpdpbusd`), or on 256-bit ones with AVX2
/// (`vpmaddubsw`, `vpmaddwd` with ones, `vpaddd`). Returns the integer operations done (two per
/// multiply-add), or 0 if `vector_bits` asks for what the CPU lacks (512 needs VNNI).
double mobilenet_peak_int8(int vector_bits, long rounds);

/// Reads `bytes` bytes (a multiple of 256) from the 64-byte aligned `buffer` with
/// `vector_bits`-wide loads and returns the bytes read, or 0 if the width is not available.
double mobilenet_peak_read(int vector_bits, const void *buffer, long bytes);

#endif
