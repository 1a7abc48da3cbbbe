// fp8_gemv_bench.cu: times linear_fp8.cu's decode kernel (linear_fp8_small_bf16_t1, Sources/VLLMCUDA/Kernels, included
// unchanged) against variants of its loop on Llama-3-8B's linears, outside the engine. Built here (nvcc needs no GPU)
// and carried, or built on the GPU machine:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/fp8bench benchmarks/kernels/fp8_gemv_bench.cu
//   /tmp/fp8bench [iterations]   # per shape and token count: µs a call and weight GB/s of each variant
//
// The weight rotates over copies of ≥ 256 MB in all, so L2 never holds it; launches run back to back (a gap of about
// a microsecond each, which the engine's graphs and programmatic launches hide). Each line gives the largest
// difference from "shipped"'s output.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <cuda_runtime.h>
#include "linear_fp8.cu"

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        cudaError_t e = (call);                                                                       \
        if (e != cudaSuccess) {                                                                       \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e));      \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)

// The loop with all of a step's activations loaded before its MMAs and, where PREFETCH, the next iteration's weights
// issued before this one's arithmetic.
template <int R, int STEPS, bool PREFETCH>
__device__ __forceinline__ void variant_warp(const bf16_t *__restrict__ x, const unsigned char *__restrict__ weight,
                                             int numTokens, int N, int K, int row0, float (&acc)[4]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const bool hasRowA = row0 + g < N, hasRowB = R == 16 && row0 + g + 8 < N, hasToken = g < numTokens;
    const unsigned char *rowA = weight + (long long)(hasRowA ? row0 + g : 0) * K + 16 * t;
    const unsigned char *rowB = weight + (long long)(hasRowB ? row0 + g + 8 : 0) * K + 16 * t;
    const bf16_t *token = x + (long long)(hasToken ? g : 0) * K + 16 * t;
    float partial[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};
    const int stride = numWarps * STEPS * 64;
    int k0 = warp * STEPS * 64;
    uint4 a[STEPS], b[STEPS];
    auto loadWeights = [&](int base, uint4 (&wa)[STEPS], uint4 (&wb)[STEPS]) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = base + 64 * s;
            const bool inK = k + 16 * t < K;
            wa[s] = load_weight16(rowA + k, hasRowA && inK);
            wb[s] = R == 16 ? load_weight16(rowB + k, hasRowB && inK) : make_uint4(0, 0, 0, 0);
        }
    };
    loadWeights(k0, a, b);
    grid_dependency_wait();
    for (; k0 < K; k0 += stride) {
        uint4 x0[STEPS], x1[STEPS];
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 64 * s;
            const bool valid = hasToken && k + 16 * t < K;
            x0[s] = load_activation16(token + k, valid);
            x1[s] = load_activation16(token + k + 8, valid);
        }
        uint4 na[STEPS], nb[STEPS];
        if (PREFETCH) loadWeights(k0 + stride, na, nb);
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const unsigned va[4] = {a[s].x, a[s].y, a[s].z, a[s].w}, vb[4] = {b[s].x, b[s].y, b[s].z, b[s].w};
            const unsigned xs[8] = {x0[s].x, x0[s].y, x0[s].z, x0[s].w, x1[s].x, x1[s].y, x1[s].z, x1[s].w};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                unsigned a0, a2, a1 = 0, a3 = 0;
                e4m3x4_to_bf16x4(va[j], a0, a2);
                if (R == 16) e4m3x4_to_bf16x4(vb[j], a1, a3);
                mma_bf16_16x8x16(partial[j & 1], a0, a1, a2, a3, xs[2 * j], xs[2 * j + 1]);
            }
        }
        if (PREFETCH) {
#pragma unroll
            for (int s = 0; s < STEPS; ++s) { a[s] = na[s]; b[s] = nb[s]; }
        } else {
            loadWeights(k0 + stride, a, b);
        }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[i] = partial[0][i] + partial[1][i];
}

template <int R, int STEPS, bool PREFETCH>
__global__ void __launch_bounds__(256, 2)
    variant(const bf16_t *__restrict__ x, const unsigned char *__restrict__ weight, const float *__restrict__ scales,
            const bf16_t *__restrict__ bias, bf16_t *__restrict__ out, int numTokens, int N, int K, int) {
    __shared__ float sums[FP8_LINEAR_MAX_WARPS][8][16];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * R;
    float acc[4];
    variant_warp<R, STEPS, PREFETCH>(x, weight, numTokens, N, K, row0, acc);
    sums[warp][2 * t][g] = acc[0];
    sums[warp][2 * t + 1][g] = acc[1];
    sums[warp][2 * t][g + 8] = acc[2];
    sums[warp][2 * t + 1][g + 8] = acc[3];
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * R; i += blockDim.x) {
        const int tokenIndex = i / R, r = i - tokenIndex * R, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][tokenIndex][r];
        sum *= scales[row];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)tokenIndex * N + row] = f32_to_bf16(sum);
    }
}

typedef void (*Kernel)(const bf16_t *, const unsigned char *, const float *, const bf16_t *, bf16_t *, int, int, int, int);
struct Variant {
    const char *name;
    Kernel kernel;
    int rows, kPerWarpIteration;  // rows 0: the shipped launcher's choice
};

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    int sms = 0;
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    const Variant variants[] = {
        {"shipped", linear_fp8_small_bf16_t1, 0, 0},
        {"shipped-r16", linear_fp8_small_bf16_t1, 16, 256},
        {"r8s8", variant<8, 8, false>, 8, 512},
        {"r16s4", variant<16, 4, false>, 16, 256},
        {"r16s4-prefetch", variant<16, 4, true>, 16, 256},
        {"r8s4-prefetch", variant<8, 4, true>, 8, 256},
        {"r16s2-prefetch", variant<16, 2, true>, 16, 128},
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
                int rows = v.rows, kPer = v.kPerWarpIteration;
                if (rows == 0) {  // CUDABackend+FP8Linear.swift's choice before run3 (since: 16 wherever N / 16 fills the GPU)
                    rows = M * K * 2 > (128 << 10) && (N + 15) / 16 >= sms ? 16 : 8;
                    kPer = 64 * 8 * 8 / rows;
                }
                const int warps = std::min(8, (K + kPer - 1) / kPer);
                const dim3 grid((N + rows - 1) / rows);
                for (int i = 0; i < 3; ++i) v.kernel<<<grid, 32 * warps>>>(x, weights[i % copies], scales, nullptr, out, M, N, K, rows);
                CHECK(cudaDeviceSynchronize());
                cudaEvent_t start, stop;
                CHECK(cudaEventCreate(&start));
                CHECK(cudaEventCreate(&stop));
                CHECK(cudaEventRecord(start));
                for (int i = 0; i < iterations; ++i) v.kernel<<<grid, 32 * warps>>>(x, weights[i % copies], scales, nullptr, out, M, N, K, rows);
                CHECK(cudaEventRecord(stop));
                CHECK(cudaEventSynchronize(stop));
                float ms = 0;
                CHECK(cudaEventElapsedTime(&ms, start, stop));
                CHECK(cudaMemcpy(result.data(), out, M * N * 2, cudaMemcpyDeviceToHost));
                if (reference.empty()) reference = result;
                int differ = 0;
                for (int i = 0; i < M * N; ++i) differ += result[i] != reference[i];
                const double us = ms * 1000.0 / iterations;
                printf("N %5d K %5d T %d %-16s %7.2f µs %6.0f GB/s  (%d outputs differ from shipped)\n", N, K, M, v.name, us,
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
