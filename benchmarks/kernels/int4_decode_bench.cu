// int4_decode_bench.cu: the 4-bit decode kernel of linear_int4.cu (linear_int4_small, Sources/VLLMCUDA/Kernels, included
// unchanged) at one and two tokens against variants with more weight rows a CTA (TILES tiles of 16 rows a warp, the
// k-steps in flight cut to keep 128 bytes a lane in flight) on Llama-3-8B's and Qwen2.5-14B's linears, groups of 128,
// outside the engine. Built here (nvcc needs no GPU) and
// carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/int4decode benchmarks/kernels/int4_decode_bench.cu
//   /tmp/int4decode [iterations]   # per shape and token count: µs a call and packed GB/s of each kernel
//
// The weight rotates over copies of ≥ 256 MB in all, so L2 never holds it; launches run back to back. Each line gives
// the largest difference from linear_int4_small's output, relative to its largest value.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include "linear_int4.cu"

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        cudaError_t e = (call);                                                                       \
        if (e != cudaSuccess) {                                                                       \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e));      \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)


// linear_int4_warp's grouped path for TILES tiles of 16 rows a warp (rows 16·tile + g and 16·tile + g + 8), STEPS
// 128-k steps in flight, TG = 1.
template <int TILES, int STEPS>
__device__ __forceinline__ void tiles_warp(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                           const bf16_t *__restrict__ scales, const bf16_t *__restrict__ zeros,
                                           int numTokens, int N, int K, int groupSize, int row0, float (&acc)[TILES][4]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int words = K >> 3, numGroups = K / groupSize;
    bool hasRow[TILES][2];
    long long rows[TILES][2];
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            hasRow[i][h] = row0 + 16 * i + 8 * h + g < N;
            rows[i][h] = hasRow[i][h] ? row0 + 16 * i + 8 * h + g : 0;
        }
    const bool hasToken = g < numTokens;
    const bf16_t *tokenRow = x + (long long)(hasToken ? g : 0) * K;
#pragma unroll
    for (int i = 0; i < TILES; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
    const int stride = numWarps * 128 * STEPS;
    uint4 w[STEPS][TILES][2];
    auto load = [&](int k0) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 128 * s + 32 * t;
#pragma unroll
            for (int i = 0; i < TILES; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) w[s][i][h] = load_weight16(packed + rows[i][h] * words + (k >> 3), hasRow[i][h] && k < K);
        }
    };
    int k0 = warp * 128 * STEPS;
    load(k0);
    grid_dependency_wait();
    for (; k0 < K; k0 += stride) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 128 * s + 32 * t;
            if (k0 + 128 * s >= K) break;
            const int group = k / groupSize;
            uint4 v[4];
#pragma unroll
            for (int q = 0; q < 4; ++q) v[q] = load_activation16(tokenRow + k + 8 * q, hasToken);
            float sums[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                mma_bf16_16x8x16(sums, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, v[q].x, v[q].y);
                mma_bf16_16x8x16(sums, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, v[q].z, v[q].w);
            }
#pragma unroll
            for (int i = 0; i < TILES; ++i) {
                float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                const unsigned wordsA[4] = {w[s][i][0].x, w[s][i][0].y, w[s][i][0].z, w[s][i][0].w};
                const unsigned wordsB[4] = {w[s][i][1].x, w[s][i][1].y, w[s][i][1].z, w[s][i][1].w};
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    unsigned a[4], b[4];
                    raw_word(wordsA[q], a);
                    raw_word(wordsB[q], b);
                    mma_bf16_16x8x16(part, a[0], b[0], a[1], b[1], v[q].x, v[q].y);
                    mma_bf16_16x8x16(part, a[2], b[2], a[3], b[3], v[q].z, v[q].w);
                }
                const long long indexA = rows[i][0] * numGroups + group, indexB = rows[i][1] * numGroups + group;
                const float scaleA = hasRow[i][0] ? bf16_to_f32(scales[indexA]) : 0.0f, zeroA = bf16_to_f32(zeros[indexA]);
                const float scaleB = hasRow[i][1] ? bf16_to_f32(scales[indexB]) : 0.0f, zeroB = bf16_to_f32(zeros[indexB]);
                acc[i][0] += scaleA * fmaf(zeroA, sums[0], part[0]);
                acc[i][1] += scaleA * fmaf(zeroA, sums[1], part[1]);
                acc[i][2] += scaleB * fmaf(zeroB, sums[2], part[2]);
                acc[i][3] += scaleB * fmaf(zeroB, sums[3], part[3]);
            }
        }
        load(k0 + stride);
    }
}

template <int TILES, int STEPS>
__global__ void __launch_bounds__(256) tiles_kernel(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                                    const bf16_t *__restrict__ scales, const bf16_t *__restrict__ zeros,
                                                    const bf16_t *__restrict__ bias, bf16_t *__restrict__ out, int numTokens,
                                                    int N, int K, int groupSize) {
    __shared__ float sums[INT4_MAX_WARPS][8][16 * TILES];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * 16 * TILES;
    float acc[TILES][4];
    tiles_warp<TILES, STEPS>(x, packed, scales, zeros, numTokens, N, K, groupSize, row0, acc);
#pragma unroll
    for (int i = 0; i < TILES; ++i) {
        sums[warp][2 * t][16 * i + g] = acc[i][0];
        sums[warp][2 * t + 1][16 * i + g] = acc[i][1];
        sums[warp][2 * t][16 * i + g + 8] = acc[i][2];
        sums[warp][2 * t + 1][16 * i + g + 8] = acc[i][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * 16 * TILES; i += blockDim.x) {
        const int token = i / (16 * TILES), r = i % (16 * TILES), row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = f32_to_bf16(sum);
    }
}

typedef void (*Kernel)(const bf16_t *, const unsigned *, const bf16_t *, const bf16_t *, const bf16_t *, bf16_t *, int, int,
                       int, int);
struct Variant {
    const char *name;
    Kernel kernel;
    int rows, kPerWarpIteration;
};

static float toFloat(bf16_t v) { unsigned u = (unsigned)v << 16; float f; memcpy(&f, &u, 4); return f; }

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    const int groupSize = 128;
    const char *names[] = {"llama qkv", "llama o", "llama gate_up", "llama down", "qwen14b qkv", "qwen14b o",
                           "qwen14b gate_up", "qwen14b down"};
    const int shapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336},
                             {7168, 5120}, {5120, 5120}, {27648, 5120}, {5120, 13824}};
    for (int s = 0; s < 8; ++s) {
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
        std::vector<bf16_t> hostScales((size_t)N * groups), hostZeros((size_t)N * groups), hostX(2 * K);
        for (auto &v : hostScales) v = 0x3B00 | (next() >> 25);
        for (auto &v : hostZeros) v = 0xC308;  // −(128 + 8)
        for (auto &v : hostX) v = (next() & 0x8000) | 0x3C00 | (next() >> 25);
        bf16_t *scales, *zeros, *x, *out;
        CHECK(cudaMalloc(&scales, hostScales.size() * 2));
        CHECK(cudaMalloc(&zeros, hostZeros.size() * 2));
        CHECK(cudaMalloc(&x, 2 * K * 2));
        CHECK(cudaMalloc(&out, 2 * N * 2));
        CHECK(cudaMemcpy(scales, hostScales.data(), hostScales.size() * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(zeros, hostZeros.data(), hostZeros.size() * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(x, hostX.data(), 2 * K * 2, cudaMemcpyHostToDevice));
        for (int M : {1, 2}) {
            std::vector<bf16_t> reference, result(M * N);
            const Variant variants[] = {
                {"small", linear_int4_small_g128_bf16_t1, 32, 256},  // the shipped entry point: t2s2 since run7
                {"t2s2", tiles_kernel<2, 2>, 32, 256},
                {"t2s4", tiles_kernel<2, 4>, 32, 512},
                {"t4s1", tiles_kernel<4, 1>, 64, 128},
                {"t4s2", tiles_kernel<4, 2>, 64, 256},
            };
            for (const Variant &v : variants) {
                const int warps = std::min(8, (K + v.kPerWarpIteration - 1) / v.kPerWarpIteration);
                auto run = [&](int i) {
                    v.kernel<<<(N + v.rows - 1) / v.rows, 32 * warps>>>(x, weights[i % copies], scales, zeros, nullptr, out, M,
                                                                       N, K, groupSize);
                };
                for (int i = 0; i < 3; ++i) run(i);
                CHECK(cudaDeviceSynchronize());
                cudaEvent_t start, stop;
                CHECK(cudaEventCreate(&start));
                CHECK(cudaEventCreate(&stop));
                CHECK(cudaEventRecord(start));
                for (int i = 0; i < iterations; ++i) run(i);
                CHECK(cudaEventRecord(stop));
                CHECK(cudaEventSynchronize(stop));
                float ms = 0;
                CHECK(cudaEventElapsedTime(&ms, start, stop));
                run(0);
                CHECK(cudaMemcpy(result.data(), out, M * N * 2, cudaMemcpyDeviceToHost));
                if (reference.empty()) reference = result;
                float largest = 0, difference = 0;
                for (int i = 0; i < M * N; ++i) {
                    largest = std::max(largest, std::fabs(toFloat(reference[i])));
                    difference = std::max(difference, std::fabs(toFloat(result[i]) - toFloat(reference[i])));
                }
                const double us = ms * 1000.0 / iterations;
                printf("%-16s N %5d K %5d T %d %-6s %7.2f µs %6.0f GB/s  (max diff %.2e of %.3g)\n", names[s], N, K, M,
                       v.name, us, bytes / us / 1e3, difference / std::max(largest, 1e-30f), largest);
            }
        }
        for (auto w : weights) CHECK(cudaFree(w));
        CHECK(cudaFree(scales));
        CHECK(cudaFree(zeros));
        CHECK(cudaFree(x));
        CHECK(cudaFree(out));
    }
    return 0;
}
