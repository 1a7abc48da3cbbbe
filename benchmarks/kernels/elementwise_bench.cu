// elementwise_bench.cu: times the ops between a prefill's linears — the RMSNorms (layernorm.cu) and the SiLU·mul
// (elementwise.cu), plain and quantizing for an FP8 linear — at prefill row counts, outside the engine, against a plain
// streaming kernel and a device-to-device copy that move bytes as they do (the ceiling). Sources/VLLMCUDA/Kernels
// included unchanged; built here (nvcc needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/elementwise benchmarks/kernels/elementwise_bench.cu
//   /tmp/elementwise [iterations]   # per op and shape: µs a call and GB/s moved
//
// The *_groups ops (session 25, run5) quantize per row per 128 columns for a block-scaled FP8 linear; "+ groups" rows
// time the plain op followed by the linear's own quantize_fp8_groups_bf16, as the engine does without them.
//
// GB/s counts each byte read or written once (x, residual, out, codes; the weight not). The variants session 22 timed
// beside these and did not keep (a norm a warp a row, SiLU·mul in other CTA shapes or writing its codes alone:
// docs/gpu-runs/2026-12-02f run1) are in this file at commit 8356eb1; CTAs taking rows in turn (run3) in run3/source.patch.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>
#include "layernorm.cu"
#include "elementwise.cu"
#include "linear_fp8.cu"  // quantize_fp8_groups_bf16: the block-scaled linears' own quantization
#include "bench.cuh"

// The ceiling: each thread reads a 16-byte piece of a (and of b) and writes one, grid-stride.
__global__ void stream(const uint4 *a, const uint4 *b, uint4 *out, long long pieces) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < pieces; i += (long long)gridDim.x * blockDim.x) {
        const uint4 p = a[i], q = b ? b[i] : make_uint4(0, 0, 0, 0);
        out[i] = make_uint4(p.x ^ q.x, p.y ^ q.y, p.z ^ q.z, p.w ^ q.w);
    }
}

template <typename T> T *device(size_t count) { T *p; CHECK(cudaMalloc(&p, count * sizeof(T))); return p; }
static bf16_t *randomBF16(size_t count, float spread) {
    static unsigned state = 12345;
    std::vector<bf16_t> host(count);
    for (auto &v : host) {
        state = state * 1664525u + 1013904223u;
        const float f = ((int)((state >> 8) & 0xFFFF) - 32768) / 32768.0f * spread;
        unsigned bits; memcpy(&bits, &f, 4); v = (bf16_t)(bits >> 16);
    }
    bf16_t *p = device<bf16_t>(count);
    CHECK(cudaMemcpy(p, host.data(), count * 2, cudaMemcpyHostToDevice));
    return p;
}

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 50;
    int sms = 0;
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    auto report = [&](const char *op, int rows, int dim, double us, double bytes) {
        printf("%-32s %6d x %5d  %9.2f us  %7.0f GB/s\n", op, rows, dim, us, bytes / us / 1e3);
    };
    {  // the ceiling
        const long long pieces = 16384LL * 14336 * 2 / 16;
        uint4 *a = device<uint4>(pieces), *b = device<uint4>(pieces), *o = device<uint4>(pieces);
        CHECK(cudaMemset(a, 1, pieces * 16)); CHECK(cudaMemset(b, 2, pieces * 16));
        for (int grid : {sms * 4, sms * 16})
            for (bool two : {false, true}) {
                double us = microseconds_per_call(iterations, [&](int) { stream<<<grid, 512>>>(a, two ? b : nullptr, o, pieces); });
                printf("stream %s, grid %d x 512: %.2f us, %.0f GB/s\n", two ? "2 in 1 out" : "1 in 1 out", grid, us,
                       (two ? 3 : 2) * pieces * 16.0 / us / 1e3);
            }
        double us = microseconds_per_call(iterations, [&](int) { CHECK(cudaMemcpyAsync(o, a, pieces * 16, cudaMemcpyDeviceToDevice)); });
        printf("memcpy d2d %.0f MB: %.2f us, %.0f GB/s (read + write)\n", pieces * 16 / 1e6, us, 2 * pieces * 16.0 / us / 1e3);
        CHECK(cudaFree(a)); CHECK(cudaFree(b)); CHECK(cudaFree(o));
    }
    const int maxRows = 16384;
    for (int dim : {4096, 5120}) {
        bf16_t *x = randomBF16((size_t)maxRows * dim, 2.0f), *residual = randomBF16((size_t)maxRows * dim, 4.0f);
        bf16_t *weight = randomBF16(dim, 1.0f), *out = device<bf16_t>((size_t)maxRows * dim);
        unsigned char *codes = device<unsigned char>((size_t)maxRows * dim);
        float *scales = device<float>((size_t)maxRows * dim / 128);
        const int threads = std::min(1024, std::max(32, (dim / 16 + 31) / 32 * 32));  // CUDABackend.vectorNormThreads
        for (int rows : {16384, 4096, 1024, 256}) {
            const double n = (double)rows * dim;
            report("add_rms_norm_vec_bf16", rows, dim, microseconds_per_call(iterations, [&](int) {
                add_rms_norm_vec_bf16<<<rows, threads>>>(x, residual, weight, out, dim, 1e-5f); }), 8.0 * n);
            report("add_rms_norm_vec_quant_fp8_bf16", rows, dim, microseconds_per_call(iterations, [&](int) {
                add_rms_norm_vec_quant_fp8_bf16<<<rows, threads>>>(x, residual, weight, out, dim, 1e-5f, codes, scales); }),
                   9.0 * n + 4.0 * rows);
            report("add_rms_norm_vec_quant_fp8_groups", rows, dim, microseconds_per_call(iterations, [&](int) {
                add_rms_norm_vec_quant_fp8_groups_bf16<<<rows, threads>>>(x, residual, weight, out, dim, 1e-5f, codes, scales); }),
                   9.0 * n + 4.0 * rows * dim / 128);
            report("add_rms_norm_vec + groups", rows, dim, microseconds_per_call(iterations, [&](int) {
                add_rms_norm_vec_bf16<<<rows, threads>>>(x, residual, weight, out, dim, 1e-5f);
                quantize_fp8_groups_bf16<<<rows, 256>>>(out, codes, scales, dim, 128, rows); }),
                   11.0 * n + 4.0 * rows * dim / 128);
        }
        for (void *p : {(void *)x, (void *)residual, (void *)weight, (void *)out, (void *)codes, (void *)scales}) CHECK(cudaFree(p));
    }
    for (int inner : {14336, 13824}) {
        bf16_t *x = randomBF16((size_t)maxRows * 2 * inner, 4.0f), *out = device<bf16_t>((size_t)maxRows * inner);
        unsigned char *codes = device<unsigned char>((size_t)maxRows * inner);
        float *scales = device<float>((size_t)maxRows * inner / 128);
        for (int rows : {16384, 4096, 1024, 256}) {
            const double n = (double)rows * inner;
            report("silu_and_mul_vec_bf16", rows, inner, microseconds_per_call(iterations, [&](int) {
                silu_and_mul_vec_bf16<<<dim3(rows, (inner + 2047) / 2048), 256>>>(x, out, inner); }), 6.0 * n);
            report("silu_and_mul_quant_fp8_bf16", rows, inner, microseconds_per_call(iterations, [&](int) {
                silu_and_mul_quant_fp8_bf16<<<rows, 512>>>(x, out, codes, scales, inner); }), 7.0 * n + 4.0 * rows);
            report("silu_and_mul_quant_fp8_groups", rows, inner, microseconds_per_call(iterations, [&](int) {
                silu_and_mul_quant_fp8_groups_bf16<<<rows, 512>>>(x, out, codes, scales, inner); }), 7.0 * n + 4.0 * rows * inner / 128);
            report("silu_and_mul_vec + groups", rows, inner, microseconds_per_call(iterations, [&](int) {
                silu_and_mul_vec_bf16<<<dim3(rows, (inner + 2047) / 2048), 256>>>(x, out, inner);
                quantize_fp8_groups_bf16<<<rows, 256>>>(out, codes, scales, inner, 128, rows); }), 9.0 * n + 4.0 * rows * inner / 128);
        }
        for (void *p : {(void *)x, (void *)out, (void *)codes, (void *)scales}) CHECK(cudaFree(p));
    }
    return 0;
}
