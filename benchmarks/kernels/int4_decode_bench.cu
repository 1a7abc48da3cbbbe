// int4_decode_bench.cu: the 4-bit decode kernel (linear_int4_decode.cu, Sources/VLLMCUDA/Kernels, included
// unchanged) at 4, 8 and 16 warps a CTA and at CUDABackend.int4DecodeWarps' choice, against the kernel it
// replaced (linear_int4_small's grouped path with two 16-row tiles a warp), on Llama-3-8B's and Qwen2.5-14B's linears,
// groups of 128, at 1 and 8 tokens, outside the engine. Built here (nvcc needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/int4decode benchmarks/kernels/int4_decode_bench.cu
//   /tmp/int4decode [iterations [shape [tokens [variants]]]]   # per shape and token count: µs a call and packed GB/s
//
// The weight rotates over copies of ≥ 256 MB in all, so L2 never holds it; launches run back to back. Each line gives
// the largest difference from the first variant's output, relative to its largest value. The experiments that led to
// linear_int4_decode (a cp.async ring, x in shared memory, …) are in this file's history (docs/gpu-runs/2026-12-02b).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda_runtime.h>
#include "linear_int4.cu"
#include "linear_int4_decode.cu"
#include "bench.cuh"

// Session 17's decode kernel: linear_int4_small's grouped path, two 16-row tiles a warp, 32 rows a CTA.
__global__ void __launch_bounds__(256) small_two_tiles(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<1, true, 2, bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}
// linear_int4_decode_bf16 storing its product (the mode's other parameters unused).
__global__ void __launch_bounds__(32 * INT4_DECODE_MAX_WARPS) decode_store(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_decode<bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}

// CUDABackend.int4DecodeWarps
static int decodeWarps(int ctas, int multiprocessors) {
    for (int warps : {16, 8})
        if (ctas <= multiprocessors * (16 / warps)) return warps;
    return 4;
}

typedef void (*Kernel)(const bf16_t *, const unsigned *, const unsigned *, const bf16_t *, bf16_t *, int, int, int, int, int);
struct Variant {
    const char *name;
    Kernel kernel;
    int warps;  // 0: the launcher's rule
};

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    const int onlyShape = argc > 2 ? atoi(argv[2]) : -1;        // -1: every shape
    const int onlyTokens = argc > 3 ? atoi(argv[3]) : 0;        // 0: 1 and 8
    const char *onlyVariants = argc > 4 ? argv[4] : nullptr;   // e.g. "02": the variants of those indices
    int multiprocessors = 0;
    CHECK(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, 0));
    const int groupSize = 128;
    const char *names[] = {"llama qkv", "llama o", "llama gate_up", "llama down", "qwen14b qkv", "qwen14b o",
                           "qwen14b gate_up", "qwen14b down"};
    const int shapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336},
                             {7168, 5120}, {5120, 5120}, {27648, 5120}, {5120, 13824}};
    for (int s = 0; s < 8; ++s) {
        if (onlyShape >= 0 && s != onlyShape) continue;
        const int N = shapes[s][0], K = shapes[s][1], groups = K / groupSize;
        const size_t bytes = (size_t)N * K / 2;
        const int copies = (int)std::max<size_t>(2, (256u << 20) / bytes + 1);
        std::vector<unsigned> host(bytes / 4);
        unsigned state = 12345;
        auto next = [&] { state = state * 1664525u + 1013904223u; return state; };
        for (auto &w : host) w = next();
        std::vector<unsigned *> weights(copies);
        for (auto &w : weights) {
            CHECK(cudaMalloc(&w, bytes));
            CHECK(cudaMemcpy(w, host.data(), bytes, cudaMemcpyHostToDevice));
        }
        // scaleZeros pairs (int4.cuh): a small positive bf16 scale, −(128 + 8) in the high half.
        std::vector<unsigned> hostPairs((size_t)N * groups);
        std::vector<bf16_t> hostX(8 * K);
        for (auto &v : hostPairs) v = (0x3B00u | (next() >> 25)) | (0xC308u << 16);
        for (auto &v : hostX) v = (next() & 0x8000) | 0x3C00 | (next() >> 25);
        unsigned *scaleZeros;
        bf16_t *x, *out;
        CHECK(cudaMalloc(&scaleZeros, hostPairs.size() * 4));
        CHECK(cudaMalloc(&x, 8 * K * 2));
        CHECK(cudaMalloc(&out, 8 * N * 2));
        CHECK(cudaMemcpy(scaleZeros, hostPairs.data(), hostPairs.size() * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(x, hostX.data(), 8 * K * 2, cudaMemcpyHostToDevice));

        for (int M : {1, 8}) {
            if (onlyTokens && M != onlyTokens) continue;
            std::vector<bf16_t> reference, result(M * N);
            const Variant variants[] = {
                {"small 2 tiles", small_two_tiles, 8},
                {"decode rule", decode_store, 0},
                {"decode w4", decode_store, 4},
                {"decode w8", decode_store, 8},
                {"decode w16", decode_store, 16},
            };
            for (int vi = 0; vi < (int)(sizeof(variants) / sizeof(variants[0])); ++vi) {
                const Variant &v = variants[vi];
                if (onlyVariants && !strchr(onlyVariants, '0' + vi)) continue;
                const int ctas = (N + 31) / 32;
                const int warps = v.warps ? v.warps : decodeWarps(ctas, multiprocessors);
                auto run = [&](int i) {
                    v.kernel<<<ctas, 32 * warps>>>(x, weights[i % copies], scaleZeros, nullptr, out, M, N, K, groupSize, K);
                };
                for (int i = 0; i < 3; ++i) run(i);
                CHECK(cudaDeviceSynchronize());
                const double us = microseconds_per_call(iterations, run);
                run(0);
                CHECK(cudaMemcpy(result.data(), out, M * N * 2, cudaMemcpyDeviceToHost));
                if (reference.empty()) reference = result;
                float largest = 0, difference = 0;
                for (int i = 0; i < M * N; ++i) {
                    largest = std::max(largest, std::fabs(host_bf16_to_float(reference[i])));
                    difference = std::max(difference, std::fabs(host_bf16_to_float(result[i]) - host_bf16_to_float(reference[i])));
                }
                printf("%-16s N %5d K %5d T %d %-14s %7.2f µs %6.0f GB/s  (max diff %.2e of %.3g)\n", names[s], N, K, M,
                       v.name, us, bytes / us / 1e3, difference / std::max(largest, 1e-30f), largest);
            }
        }
        for (auto w : weights) CHECK(cudaFree(w));
        CHECK(cudaFree(scaleZeros));
        CHECK(cudaFree(x));
        CHECK(cudaFree(out));
    }
    return 0;
}
