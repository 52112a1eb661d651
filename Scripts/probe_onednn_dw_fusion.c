// Does oneDNN 2.6's depthwise post-op (a 3x3 depthwise convolution fused into the 1x1
// convolution before it) speed up MobileNetV2's int8 blocks? Times, per expansion + depthwise
// pair of MobileNetV2 at 224x224, the two int8 primitives one after the other against the one
// fused primitive (s8 source, u8 intermediate and output, per-channel scales, ReLU6 clips),
// and prints the kernels oneDNN chose. Build and run (repeat with ONEDNN_MAX_CPU_ISA=AVX2):
//     gcc -O2 Scripts/probe_onednn_dw_fusion.c -ldnnl -o "${TMPDIR:-/tmp}/dw" && OMP_NUM_THREADS=2 "${TMPDIR:-/tmp}/dw" [batch]
#include <dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { fprintf(stderr, "failed (%d): %s\n", s_, #call); exit(1); } } while (0)

static dnnl_engine_t engine;
static dnnl_format_tag_t activation_tag = dnnl_nhwc;
static dnnl_stream_t stream;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static dnnl_memory_t allocate(const dnnl_memory_desc_t *desc) {
    dnnl_memory_t memory;
    CHECK(dnnl_memory_create(&memory, desc, engine, DNNL_MEMORY_ALLOCATE));
    void *data;
    CHECK(dnnl_memory_get_data_handle(memory, &data));
    memset(data, 1, dnnl_memory_desc_get_size(desc));
    return memory;
}

static const char *kernel(dnnl_primitive_desc_t pd) {
    const char *name;
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name));
    return name;
}

// A ReLU6 clip then `linear` to the destination scale, as the int8 plans attach them.
static void clip(dnnl_post_ops_t ops) {
    CHECK(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_clip, 0, 6));
    CHECK(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_linear, 40, 0));
}

typedef struct { dnnl_primitive_t primitive; dnnl_exec_arg_t args[8]; int count; } step_t;

static dnnl_primitive_desc_t convolution(
    int batch, int height, int in, int out, int kernel_size, int stride, int groups,
    dnnl_data_type_t src_type, const dnnl_post_ops_t ops, const float *scales) {
    int pad = kernel_size / 2, out_h = (height + 2 * pad - kernel_size) / stride + 1;
    dnnl_dims_t src = {batch, in, height, height}, dst = {batch, out, out_h, out_h}, bias = {out};
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
    dnnl_memory_desc_t s, w, b, d;
    CHECK(dnnl_memory_desc_init_by_tag(&s, 4, src, src_type, activation_tag));
    if (groups == 1) {
        dnnl_dims_t weights = {out, in, kernel_size, kernel_size};
        CHECK(dnnl_memory_desc_init_by_tag(&w, 4, weights, dnnl_s8, dnnl_format_tag_any));
    } else {
        dnnl_dims_t weights = {groups, 1, 1, kernel_size, kernel_size};
        CHECK(dnnl_memory_desc_init_by_tag(&w, 5, weights, dnnl_s8, dnnl_format_tag_any));
    }
    CHECK(dnnl_memory_desc_init_by_tag(&b, 1, bias, dnnl_s32, dnnl_a));
    CHECK(dnnl_memory_desc_init_by_tag(&d, 4, dst, dnnl_u8, activation_tag));
    dnnl_convolution_desc_t op;
    CHECK(dnnl_convolution_forward_desc_init(&op, dnnl_forward_inference, dnnl_convolution_direct, &s, &w, &b, &d,
        strides, padding, padding));
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_output_scales(attr, out, 1 << 1, scales));
    CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &op, attr, engine, NULL));
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

static void bind(step_t *step, dnnl_primitive_desc_t pd, int arg, dnnl_query_t query) {
    const dnnl_memory_desc_t *desc = dnnl_primitive_desc_query_md(pd, query, 0);
    step->args[step->count++] = (dnnl_exec_arg_t){arg, allocate(desc)};
}

static step_t make(dnnl_primitive_desc_t pd, int fused) {
    step_t step = {0};
    CHECK(dnnl_primitive_create(&step.primitive, pd));
    bind(&step, pd, DNNL_ARG_SRC, dnnl_query_src_md);
    bind(&step, pd, DNNL_ARG_WEIGHTS, dnnl_query_weights_md);
    step.args[step.count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, allocate(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1))};
    bind(&step, pd, DNNL_ARG_DST, dnnl_query_dst_md);
    if (fused) {
        const dnnl_memory_desc_t *w = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS);
        const dnnl_memory_desc_t *b = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS);
        step.args[step.count++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, allocate(w)};
        step.args[step.count++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS, allocate(b)};
    }
    const dnnl_memory_desc_t *pad = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (pad && dnnl_memory_desc_get_size(pad) > 0) step.args[step.count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, allocate(pad)};
    return step;
}

static double time_steps(step_t *steps, int count, int iterations) {
    double best = 1e9;
    for (int round = 0; round < 5; round++) {
        double start = now();
        for (int i = 0; i < iterations; i++)
            for (int s = 0; s < count; s++) CHECK(dnnl_primitive_execute(steps[s].primitive, stream, steps[s].count, steps[s].args));
        CHECK(dnnl_stream_wait(stream));
        double each = (now() - start) / iterations;
        if (each < best) best = each;
    }
    return best;
}

int main(int argc, char **argv) {
    int batch = argc > 1 ? atoi(argv[1]) : 1;
    if (argc > 2 && strcmp(argv[2], "blocked") == 0) activation_tag = dnnl_nChw16c;
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    // height, block input channels, expanded channels, depthwise stride (MobileNetV2 at 224).
    int blocks[][4] = {{112, 16, 96, 2}, {56, 24, 144, 1}, {56, 24, 144, 2}, {28, 32, 192, 1}, {28, 32, 192, 2},
                       {14, 64, 384, 1}, {14, 96, 576, 1}, {14, 96, 576, 2}, {7, 160, 960, 1}};
    int repeats[] = {1, 1, 1, 2, 1, 4, 2, 1, 3};
    float scales[1024];
    for (int i = 0; i < 1024; i++) scales[i] = 1e-3f;
    double total_separate = 0, total_fused = 0;
    printf("batch %d\n%-22s %10s %10s %7s  kernels\n", batch, "block", "separate", "fused", "ratio");
    for (int b = 0; b < 9; b++) {
        int h = blocks[b][0], in = blocks[b][1], mid = blocks[b][2], stride = blocks[b][3];
        dnnl_post_ops_t ops1, ops2, fused_ops;
        CHECK(dnnl_post_ops_create(&ops1)); clip(ops1);
        CHECK(dnnl_post_ops_create(&ops2)); clip(ops2);
        CHECK(dnnl_post_ops_create(&fused_ops)); clip(fused_ops);
        CHECK(dnnl_post_ops_append_dw(fused_ops, dnnl_s8, dnnl_s32, dnnl_u8, 3, stride, 1, mid, 1 << 1, scales));
        clip(fused_ops);
        dnnl_primitive_desc_t expand = convolution(batch, h, in, mid, 1, 1, 1, dnnl_s8, ops1, scales);
        dnnl_primitive_desc_t depthwise = convolution(batch, h, mid, mid, 3, stride, mid, dnnl_u8, ops2, scales);
        dnnl_primitive_desc_t fused = convolution(batch, h, in, mid, 1, 1, 1, dnnl_s8, fused_ops, scales);
        step_t separate[2] = {make(expand, 0), make(depthwise, 0)};
        step_t together = make(fused, 1);
        if (strncmp(kernel(fused), "ref_fused", 9) == 0 && activation_tag != dnnl_nhwc) {
            printf("%dx%d: %s + %s | %s (not timed)\n", h, h, kernel(expand), kernel(depthwise), kernel(fused));
            continue;
        }
        int iterations = batch == 1 ? 400 : 20;
        double a = time_steps(separate, 2, iterations), f = time_steps(&together, 1, iterations);
        total_separate += a * repeats[b];
        total_fused += f * repeats[b];
        char label[64];
        snprintf(label, sizeof label, "%dx%d %d>%d s%d x%d", h, h, in, mid, stride, repeats[b]);
        printf("%-22s %8.1f us %8.1f us %7.2f  %s + %s | %s\n", label, a * 1e6, f * 1e6, f / a, kernel(expand),
            kernel(depthwise), kernel(fused));
    }
    printf("all pairs: separate %.3f ms, fused %.3f ms (%.2f)\n", total_separate * 1e3, total_fused * 1e3, total_fused / total_separate);
    return 0;
}
