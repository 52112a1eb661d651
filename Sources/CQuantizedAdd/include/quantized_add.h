#ifndef SWIFT_MOBILENET_QUANTIZED_ADD_H
#define SWIFT_MOBILENET_QUANTIZED_ADD_H

#include <stdint.h>

// The int8 residual add, `c = a + b` on uint8 values with their own scales and zero points, in
// the two arithmetics the runtimes people deploy int8 files with use (oneDNN's binary add can
// express neither exactly). `GraphQuantization.AddArithmetic` in Swift computes the constants and
// is the reference twin of these loops; both write `count` bytes of `c`, which may be `a`.

/// ONNX Runtime's QLinearAdd on x86-64 (its AVX2 kernel), in float with fused multiply-adds:
/// `c = clamp(roundEven(fma(a, ratio_a, fma(b, ratio_b, constant))), 0, 255)`.
void mobilenet_quantized_add_float(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, float ratio_a, float ratio_b, float constant);

/// XNNPACK's (LiteRT's CPU path) fixed point:
/// `c = clamp((bias + a · multiplier_a + b · multiplier_b) >> shift, -zero_point, 255 - zero_point) + zero_point`,
/// the shift arithmetic (rounding half up, since `bias` holds `2^(shift-1)`).
void mobilenet_quantized_add_fixed(
    const uint8_t *a, const uint8_t *b, uint8_t *c, long count, int32_t multiplier_a, int32_t multiplier_b, int32_t bias,
    int32_t shift, int32_t zero_point);

/// The instruction set the loops run with: "avx2" (x86-64 with AVX2 and FMA) or "generic".
const char *mobilenet_quantized_add_isa(void);

#endif
