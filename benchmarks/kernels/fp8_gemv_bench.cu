// fp8_gemv_bench.cu: times linear_fp8.cu's decode kernel (linear_fp8_small_bf16_t1, Sources/VLLMCUDA/Kernels, included
// unchanged) at 8 and 16 weight rows a CTA on Llama-3-8B's linears, outside the engine. Built here (nvcc needs no GPU)
// and carried, or built on the GPU machine:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/fp8bench benchmarks/kernels/fp8_gemv_bench.cu
//   /tmp/fp8bench [iterations]   # per shape and token count: µs a call and weight GB/s of each variant
//
// The weight rotates over copies of ≥ 256 MB in all, so L2 never holds it; launches run back to back (a gap of about
// a microsecond each, which the engine's graphs and programmatic launches hide). Each line gives the largest
// difference from the first line's's output.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include "linear_fp8.cu"
#include "bench.cuh"

typedef void (*Kernel)(const bf16_t *, const unsigned char *, const float *, const bf16_t *, bf16_t *, int, int, int, int);
struct Variant {
    const char *name;
    Kernel kernel;
    int rows, kPerWarpIteration;
};

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    // run3 also timed copies of this loop with the activations loaded before the MMAs and the next iteration's weights
    // prefetched (r8s8, r16s4, r16s4-prefetch, r8s4-prefetch, r16s2-prefetch: run3/fp8bench.log); none beat 16 rows
    // a CTA, and they were dropped.
    const Variant variants[] = {
        {"8 rows", linear_fp8_small_bf16_t1, 8, 512},
        {"16 rows", linear_fp8_small_bf16_t1, 16, 256},
    };
    const int shapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336}};
    for (auto shape : shapes) {
        const int N = shape[0], K = shape[1];
        const size_t bytes = (size_t)N * K;
        const int copies = (int)std::max<size_t>(2, (256u << 20) / bytes + 1);
        std::vector<unsigned char *> weights(copies);
        std::vector<unsigned char> host(bytes);
        unsigned state = 12345;
        for (auto &w : host) { state = state * 1664525u + 1013904223u; w = (state >> 24) & 0x7E; w |= (state >> 16) & 0x80; }
        for (auto &w : weights) {
            CHECK(cudaMalloc(&w, bytes));
            CHECK(cudaMemcpy(w, host.data(), bytes, cudaMemcpyHostToDevice));
        }
        std::vector<float> hostScales(N, 1e-3f);
        std::vector<bf16_t> hostX(8 * K);
        for (auto &v : hostX) { state = state * 1664525u + 1013904223u; v = 0x3C00 | (state >> 25); }
        float *scales;
        bf16_t *x, *out;
        CHECK(cudaMalloc(&scales, N * 4));
        CHECK(cudaMalloc(&x, 8 * K * 2));
        CHECK(cudaMalloc(&out, 8 * N * 2));
        CHECK(cudaMemcpy(scales, hostScales.data(), N * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(x, hostX.data(), 8 * K * 2, cudaMemcpyHostToDevice));
        for (int M : {1, 4, 8}) {
            std::vector<bf16_t> reference, result(M * N);
            for (const Variant &v : variants) {
                const int rows = v.rows, kPer = v.kPerWarpIteration;
                const int warps = std::min(8, (K + kPer - 1) / kPer);
                const dim3 grid((N + rows - 1) / rows);
                for (int i = 0; i < 3; ++i) v.kernel<<<grid, 32 * warps>>>(x, weights[i % copies], scales, nullptr, out, M, N, K, rows);
                CHECK(cudaDeviceSynchronize());
                const double us = microseconds_per_call(iterations, [&](int i) {
                    v.kernel<<<grid, 32 * warps>>>(x, weights[i % copies], scales, nullptr, out, M, N, K, rows);
                });
                CHECK(cudaMemcpy(result.data(), out, M * N * 2, cudaMemcpyDeviceToHost));
                if (reference.empty()) reference = result;
                int differ = 0;
                for (int i = 0; i < M * N; ++i) differ += result[i] != reference[i];
                printf("N %5d K %5d T %d %-16s %7.2f µs %6.0f GB/s  (%d outputs differ from the first line)\n", N, K, M, v.name, us,
                       bytes / us / 1e3, differ);
            }
        }
        for (auto w : weights) CHECK(cudaFree(w));
        CHECK(cudaFree(scales));
        CHECK(cudaFree(x));
        CHECK(cudaFree(out));
    }
    return 0;
}
