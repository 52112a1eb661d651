// Which float expressions oneDNN 2.6 evaluates where the int8 path rounds: the hard-swish and
// linear eltwise kernels on 2^20 floats, and u8 average pooling for every sum of windows of 1 to
// 200 pixels, each compared bit for bit with candidate formulas. The integer reference
// (Sources/MobileNetTensor/Reference/QuantizedArithmetic.swift) computes the ones that match.
// Build and run (repeat with ONEDNN_MAX_CPU_ISA=AVX2; SSE41 rounds `linear` without FMA):
//     gcc -O1 -ffp-contract=off Scripts/probe_onednn_int8_arithmetic.c -ldnnl -lm -o "${TMPDIR:-/tmp}/probe" && "${TMPDIR:-/tmp}/probe"
// Measured (oneDNN 2.6.3, AVX-512 and AVX2): hard-swish x * (relu6(x + 3) / 6) 0 mismatches, the
// others ~2e5; linear fma(alpha, x, beta) 0, multiply-then-add 340501; pooling sum * (1 / n) 0,
// sum / n up to 122 per window size (none at n = 49).
#include <dnnl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call) do { if ((call) != dnnl_success) { fprintf(stderr, "failed: %s\n", #call); exit(1); } } while (0)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static void run(const_dnnl_op_desc_t descriptor, dnnl_memory_t source, dnnl_memory_t destination) {
    dnnl_primitive_desc_t primitive_desc;
    dnnl_primitive_t primitive;
    CHECK(dnnl_primitive_desc_create(&primitive_desc, descriptor, NULL, engine, NULL));
    CHECK(dnnl_primitive_create(&primitive, primitive_desc));
    dnnl_exec_arg_t arguments[2] = {{DNNL_ARG_SRC, source}, {DNNL_ARG_DST, destination}};
    CHECK(dnnl_primitive_execute(primitive, stream, 2, arguments));
    CHECK(dnnl_stream_wait(stream));
    dnnl_primitive_destroy(primitive);
    dnnl_primitive_desc_destroy(primitive_desc);
}

static float relu6(float v) { return fminf(fmaxf(v, 0.f), 6.f); }

static int same(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

// Runs one eltwise algorithm over `count` floats spread over [-8, 8).
static void eltwise(dnnl_alg_kind_t algorithm, float alpha, float beta, const float *x, float *y, int count) {
    dnnl_dims_t dims = {count};
    dnnl_memory_desc_t desc;
    dnnl_memory_t source, destination;
    CHECK(dnnl_memory_desc_init_by_tag(&desc, 1, dims, dnnl_f32, dnnl_a));
    dnnl_eltwise_desc_t op;
    CHECK(dnnl_eltwise_forward_desc_init(&op, dnnl_forward_inference, algorithm, &desc, alpha, beta));
    CHECK(dnnl_memory_create(&source, &desc, engine, (void *)x));
    CHECK(dnnl_memory_create(&destination, &desc, engine, y));
    run(&op, source, destination);
    dnnl_memory_destroy(source);
    dnnl_memory_destroy(destination);
}

static void probe_eltwise(void) {
    enum { count = 1 << 20 };
    float *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
    uint64_t state = 1;
    for (int i = 0; i < count; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(state >> 40) * 0x1p-24f * 16.f - 8.f;
    }
    eltwise(dnnl_eltwise_hardswish, 0, 0, x, y, count);
    int divide_first = 0, multiply_first = 0, reciprocal = 0;
    for (int i = 0; i < count; i++) {
        volatile float gate = relu6(x[i] + 3.f) / 6.f, product = x[i] * relu6(x[i] + 3.f);
        divide_first += !same(x[i] * gate, y[i]);
        multiply_first += !same(product / 6.f, y[i]);
        reciprocal += !same(product * (1.f / 6.f), y[i]);
    }
    printf("hardswish mismatches: x * (r6 / 6) %d, (x * r6) / 6 %d, (x * r6) * (1/6) %d\n", divide_first, multiply_first, reciprocal);

    const float alpha = 1.f / 6.f, beta = 0.5f;
    eltwise(dnnl_eltwise_linear, alpha, beta, x, y, count);
    int fused = 0, rounded_twice = 0;
    for (int i = 0; i < count; i++) {
        volatile float product = alpha * x[i];
        fused += !same(fmaf(alpha, x[i], beta), y[i]);
        rounded_twice += !same(product + beta, y[i]);
    }
    printf("linear mismatches: fma %d, multiply then add %d\n", fused, rounded_twice);
    free(x);
    free(y);
}

// A u8 average pool over an n x 1 window, one channel per possible sum 0 ... 255 n.
static void probe_pooling(int n) {
    const int channels = 255 * n + 1;
    uint8_t *source = malloc((size_t)channels * n), *destination = malloc(channels);
    for (int c = 0; c < channels; c++) {
        int left = c;
        for (int h = 0; h < n; h++) {
            int q = left < 255 ? left : 255;
            source[(size_t)h * channels + c] = (uint8_t)q;
            left -= q;
        }
    }
    dnnl_dims_t source_dims = {1, channels, n, 1}, destination_dims = {1, channels, 1, 1};
    dnnl_dims_t kernel = {n, 1}, strides = {1, 1}, padding = {0, 0};
    dnnl_memory_desc_t source_desc, destination_desc;
    dnnl_memory_t source_memory, destination_memory;
    CHECK(dnnl_memory_desc_init_by_tag(&source_desc, 4, source_dims, dnnl_u8, dnnl_nhwc));
    CHECK(dnnl_memory_desc_init_by_tag(&destination_desc, 4, destination_dims, dnnl_u8, dnnl_nhwc));
    dnnl_pooling_desc_t op;
    CHECK(dnnl_pooling_forward_desc_init(&op, dnnl_forward_inference, dnnl_pooling_avg_exclude_padding,
                                         &source_desc, &destination_desc, strides, kernel, padding, padding));
    CHECK(dnnl_memory_create(&source_memory, &source_desc, engine, source));
    CHECK(dnnl_memory_create(&destination_memory, &destination_desc, engine, destination));
    run(&op, source_memory, destination_memory);
    int divided = 0, multiplied = 0;
    volatile float reciprocal_count = 1.f / (float)n;
    for (int sum = 0; sum < channels; sum++) {
        divided += nearbyintf((float)sum / (float)n) != destination[sum];
        multiplied += nearbyintf((float)sum * reciprocal_count) != destination[sum];
    }
    if (divided || multiplied || n == 49) printf("pool n=%d: sum / n %d, sum * (1/n) %d\n", n, divided, multiplied);
    dnnl_memory_destroy(source_memory);
    dnnl_memory_destroy(destination_memory);
    free(source);
    free(destination);
}

int main(void) {
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    probe_eltwise();
    for (int n = 1; n <= 200; n++) probe_pooling(n);
    return 0;
}
