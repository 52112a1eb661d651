// Which int8 convolutions oneDNN 2.6 computes exactly: u8 sources (zero point 0), s8 sources,
// and u8 sources with a zero point of 128, 1x1 and 3x3 with 24 input channels, a 3-channel stem
// and a depthwise 3x3, with weights drawn freely or "pair-safe" (no two neighbouring input
// channels' weights of one sign above 128 together), and with "large" inputs (u8 near 255,
// weights near ±127). The int32 sums (s32 destination, no scales) are compared with exact ones.
// Build and run, then again capped to AVX2:
//     gcc -O1 Scripts/probe_onednn_int8_zero_points.c -ldnnl -o "${TMPDIR:-/tmp}/zp" && "${TMPDIR:-/tmp}/zp"
//     ONEDNN_MAX_CPU_ISA=AVX2 "${TMPDIR:-/tmp}/zp"
// Measured (oneDNN 2.6.3): with VNNI every case exact. Under the AVX2 cap: s8 sources never exact
// (the weights are halved and the sum rounded, up to ~3000 off); u8 sources, with or without a
// zero point, exact when the weights are pair-safe, otherwise off where pairs saturate in 16 bits
// (vpmaddubsw); depthwise u8 (with or without zero point) always exact. The integer reference
// (GraphQuantization.Accumulation.pairwiseSaturating) computes exactly this.
#include <dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { fprintf(stderr, "failed (%d): %s\n", s_, #call); exit(1); } } while (0)
static dnnl_engine_t engine; static dnnl_stream_t stream;
static uint64_t st = 7; static int rnd(int n) { st = st * 6364136223846793005ull + 1442695040888963407ull; return (int)((st >> 33) % n); }
// mode 0: u8 src, zp 0; 1: s8 src; 2: u8 src with zp 128 (values = s+128)
static int groups_flag = 0;
static void run(int ic, int oc, int k, int mode, int pairsafe, int large) {
    if (groups_flag) oc = ic;
    int n = 2, h = 9, pad = k / 2;
    dnnl_dims_t sd = {n, ic, h, h}, wd = {oc, ic, k, k}, dd = {n, oc, h, h}, strides = {1, 1}, padding = {pad, pad};
    dnnl_memory_desc_t s, w, d, su, wu;
    dnnl_data_type_t stype = mode == 1 ? dnnl_s8 : dnnl_u8;
    CHECK(dnnl_memory_desc_init_by_tag(&s, 4, sd, stype, dnnl_nhwc));
    if (groups_flag) {
        dnnl_dims_t gd = {ic, 1, 1, k, k};
        CHECK(dnnl_memory_desc_init_by_tag(&w, 5, gd, dnnl_s8, dnnl_format_tag_any));
        CHECK(dnnl_memory_desc_init_by_tag(&wu, 5, gd, dnnl_s8, dnnl_goihw));
    } else {
    CHECK(dnnl_memory_desc_init_by_tag(&w, 4, wd, dnnl_s8, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&wu, 4, wd, dnnl_s8, dnnl_oihw));
    }
    CHECK(dnnl_memory_desc_init_by_tag(&d, 4, dd, dnnl_s32, dnnl_nhwc));
    dnnl_convolution_desc_t op;
    CHECK(dnnl_convolution_forward_desc_init(&op, dnnl_forward_inference, dnnl_convolution_direct, &s, &w, NULL, &d, strides, padding, padding));
    dnnl_primitive_attr_t attr; CHECK(dnnl_primitive_attr_create(&attr));
    int32_t zp = 128;
    if (mode == 2) CHECK(dnnl_primitive_attr_set_zero_points(attr, DNNL_ARG_SRC, 1, 0, &zp));
    dnnl_primitive_desc_t pd;
    dnnl_status_t status = dnnl_primitive_desc_create(&pd, &op, attr, engine, NULL);
    if (status != dnnl_success) { printf("mode %d k%d: unsupported (%d)\n", mode, k, status); return; }
    const char *name; CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name));
    size_t sn = (size_t)n * ic * h * h, wn = (size_t)oc * (groups_flag ? 1 : ic) * k * k, dn = (size_t)n * oc * h * h;
    uint8_t *src = malloc(sn); int8_t *wt = malloc(wn); int32_t *dst = malloc(dn * 4);
    int lo = large ? 200 : 0;
    for (size_t i = 0; i < sn; i++) src[i] = mode == 1 ? (uint8_t)(int8_t)(rnd(256) - 128) : (uint8_t)(lo + rnd(256 - lo));
    for (size_t i = 0; i < wn; i++) wt[i] = (int8_t)(large ? (rnd(2) ? 100 + rnd(28) : -(100 + rnd(28))) : rnd(255) - 127);
    if (pairsafe && !groups_flag) for (int o = 0; o < oc; o++) for (int c = 0; c + 1 < ic; c += 2) for (int t = 0; t < k * k; t++) {
        int8_t *a = &wt[(o * ic + c) * k * k + t], *b = &wt[(o * ic + c + 1) * k * k + t];
        if ((*a > 0) == (*b > 0) && abs(*a) + abs(*b) > 128) { int ex = abs(*a) + abs(*b) - 128; if (abs(*a) > abs(*b)) *a -= (*a > 0 ? ex : -ex); else *b -= (*b > 0 ? ex : -ex); }
    }
    dnnl_memory_t ms, mw, mwu, md, mz = NULL;
    CHECK(dnnl_memory_create(&ms, &s, engine, src));
    CHECK(dnnl_memory_create(&mwu, &wu, engine, wt));
    const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    CHECK(dnnl_memory_create(&mw, wq, engine, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd; dnnl_primitive_t r;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wu, engine, wq, engine, NULL)); CHECK(dnnl_primitive_create(&r, rpd));
    dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, mwu}, {DNNL_ARG_TO, mw}}; CHECK(dnnl_primitive_execute(r, stream, 2, ra));
    CHECK(dnnl_memory_create(&md, &d, engine, dst));
    dnnl_primitive_t p; CHECK(dnnl_primitive_create(&p, pd));
    const dnnl_memory_desc_t *pad_md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    dnnl_memory_t mp; CHECK(dnnl_memory_create(&mp, pad_md, engine, DNNL_MEMORY_ALLOCATE));
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, md}, {DNNL_ARG_SCRATCHPAD, mp}};
    CHECK(dnnl_primitive_execute(p, stream, 4, a)); CHECK(dnnl_stream_wait(stream));
    long bad = 0, maxd = 0;
    for (int b = 0; b < n; b++) for (int y = 0; y < h; y++) for (int x = 0; x < h; x++) for (int o = 0; o < oc; o++) {
        long acc = 0;
        for (int c = groups_flag ? o : 0; c < (groups_flag ? o + 1 : ic); c++) for (int ky = 0; ky < k; ky++) for (int kx = 0; kx < k; kx++) {
            int iy = y + ky - pad, ix = x + kx - pad;
            if (iy < 0 || ix < 0 || iy >= h || ix >= h) continue;
            uint8_t raw = src[((b * h + iy) * h + ix) * ic + c];
            int v = mode == 1 ? (int8_t)raw : mode == 2 ? raw - 128 : raw;
            acc += v * wt[groups_flag ? (o * k + ky) * k + kx : ((o * ic + c) * k + ky) * k + kx];
        }
        long got = dst[((b * h + y) * h + x) * oc + o];
        if (got != acc) { bad++; if (labs(got - acc) > maxd) maxd = labs(got - acc); }
    }
    printf("mode %d k%d ic%d pairsafe %d large %d: %-40s mismatches %ld of %zu (max %ld)\n", mode, k, ic, pairsafe, large, name, bad, dn, maxd);
}
int main(void) {
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0)); CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    for (int mode = 0; mode < 3; mode++) for (int k = 1; k <= 3; k += 2) for (int safe = 0; safe < 2; safe++) for (int large = 0; large < 2; large++) run(mode == 1 ? 24 : 24, 32, k, mode, safe, large);
    groups_flag = 1; printf("depthwise\n");
    for (int mode = 0; mode < 3; mode++) run(48, 48, 3, mode, 0, 1);
    groups_flag = 0;
    run(3, 16, 3, 1, 0, 1); run(3, 16, 3, 2, 1, 1); run(3, 16, 3, 0, 1, 1);
    return 0;
}
