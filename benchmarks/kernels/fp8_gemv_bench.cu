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
#include <cmath>
#include <cstring>
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


// ---- linear_fp8_decode (experiment): linear_int4_decode's recipe on e4m3 weights — 32 rows a CTA (lane (g, t): rows
// g, g + 8, g + 16, g + 24), 64-k steps (16 bytes a row a lane), no predicates in the loop (clamped addresses),
// 32-bit offsets, the next step (weights and x) in a second register stage, 4/8/16 warps a CTA.
struct Fp8DecodeStage {
    uint4 w[4];
    uint4 x[2];  // token g's 16 k of the step
};
__device__ __forceinline__ uint4 fp8_ld_stream16(const void *pointer, bool early) {
    uint4 v;
    if (early) {
        asm volatile("ld.global.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer) : "memory");
    } else {
        asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer));
    }
    return v;
}

template <int MAXW>
__global__ void __launch_bounds__(32 * MAXW) linear_fp8_decode(const bf16_t *__restrict__ x, const unsigned char *__restrict__ weight,
                                                               const float *__restrict__ scales, const bf16_t *__restrict__ bias,
                                                               bf16_t *__restrict__ out, int numTokens, int N, int K, int unused) {
    constexpr int ROWS = 32;
    __shared__ float sums[MAXW][8][ROWS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * ROWS;
    const char *wBytes = (const char *)weight, *xBytes = (const char *)x;
    const int numSteps = K >> 6;  // K % 64 == 0
    unsigned wOffset[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) wOffset[r] = (unsigned)min(row0 + 8 * r + g, N - 1) * (unsigned)K + 16u * t;
    const unsigned xOffset = (unsigned)min(g, numTokens - 1) * (unsigned)K * 2u + 32u * t;
    float acc[2][2][4];  // [tile][chain]
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int c = 0; c < 2; ++c) acc[i][c][0] = acc[i][c][1] = acc[i][c][2] = acc[i][c][3] = 0.0f;
    Fp8DecodeStage stages[2];
    auto loadWeights = [&](Fp8DecodeStage &stage, int step, bool early) {
        const unsigned offset = 64u * (unsigned)min(step, numSteps - 1);
#pragma unroll
        for (int r = 0; r < 4; ++r) stage.w[r] = fp8_ld_stream16(wBytes + (wOffset[r] + offset), early);
    };
    auto loadX = [&](Fp8DecodeStage &stage, int step) {
        const unsigned offset = xOffset + 128u * (unsigned)min(step, numSteps - 1);
        stage.x[0] = load_activation16(xBytes + offset, true);
        stage.x[1] = load_activation16(xBytes + offset + 16u, true);
    };
    auto compute = [&](const Fp8DecodeStage &stage) {
        const unsigned xs[8] = {stage.x[0].x, stage.x[0].y, stage.x[0].z, stage.x[0].w,
                                stage.x[1].x, stage.x[1].y, stage.x[1].z, stage.x[1].w};
#pragma unroll
        for (int tile = 0; tile < 2; ++tile) {
            const uint4 A = stage.w[2 * tile], B = stage.w[2 * tile + 1];
            const unsigned va[4] = {A.x, A.y, A.z, A.w}, vb[4] = {B.x, B.y, B.z, B.w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a0, a2, a1, a3;
                e4m3x4_to_bf16x4(va[q], a0, a2);
                e4m3x4_to_bf16x4(vb[q], a1, a3);
                mma_bf16_16x8x16(acc[tile][q & 1], a0, a1, a2, a3, xs[2 * q], xs[2 * q + 1]);
            }
        }
    };
    int step = warp;
    loadWeights(stages[0], step, true);
    grid_dependency_wait();
    loadX(stages[0], step);
    while (step < numSteps) {
        loadWeights(stages[1], step + numWarps, false);
        loadX(stages[1], step + numWarps);
        compute(stages[0]);
        step += numWarps;
        if (step >= numSteps) break;
        loadWeights(stages[0], step + numWarps, false);
        loadX(stages[0], step + numWarps);
        compute(stages[1]);
        step += numWarps;
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        sums[warp][2 * t][16 * i + g] = acc[i][0][0] + acc[i][1][0];
        sums[warp][2 * t + 1][16 * i + g] = acc[i][0][1] + acc[i][1][1];
        sums[warp][2 * t][16 * i + g + 8] = acc[i][0][2] + acc[i][1][2];
        sums[warp][2 * t + 1][16 * i + g + 8] = acc[i][0][3] + acc[i][1][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * ROWS; i += blockDim.x) {
        const int token = i / ROWS, r = i % ROWS, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        sum *= scales[row];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = f32_to_bf16(sum);
    }
}
static int decodeWarps(int ctas, int multiprocessors, int regsLimitWarps) {
    for (int warps : {16, 8})
        if (ctas <= multiprocessors * (regsLimitWarps / warps)) return warps;
    return 4;
}

typedef void (*Kernel)(const bf16_t *, const unsigned char *, const float *, const bf16_t *, bf16_t *, int, int, int, int);
struct Variant {
    const char *name;
    Kernel kernel;
    int rows, kPerWarpIteration;  // rows 32: linear_fp8_decode, kPerWarpIteration its warps (0: the rule)
};

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    // run3 also timed copies of this loop with the activations loaded before the MMAs and the next iteration's weights
    // prefetched (r8s8, r16s4, r16s4-prefetch, r8s4-prefetch, r16s2-prefetch: run3/fp8bench.log); none beat 16 rows
    // a CTA, and they were dropped.
    const Variant variants[] = {
        {"8 rows", linear_fp8_small_bf16_t1, 8, 512},
        {"16 rows", linear_fp8_small_bf16_t1, 16, 256},
        {"decode rule16", linear_fp8_decode<16>, 32, 0},
        {"decode rule32", linear_fp8_decode<16>, 32, -1},
        {"decode w4", linear_fp8_decode<16>, 32, 4},
        {"decode w8", linear_fp8_decode<16>, 32, 8},
        {"decode w16", linear_fp8_decode<16>, 32, 16},
    };
    int multiprocessors = 0;
    CHECK(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, 0));
    const int shapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336}, {7168, 5120}, {5120, 5120}, {27648, 5120}, {5120, 13824}};
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
                const int ctas = (N + rows - 1) / rows;
                const int warps = rows == 32 ? (kPer > 0 ? kPer : decodeWarps(ctas, multiprocessors, kPer == 0 ? 16 : 32))
                                             : std::min(8, (K + kPer - 1) / kPer);
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
                float largest = 0, difference = 0;
                for (int i = 0; i < M * N; ++i) {
                    auto f = [](bf16_t b) { unsigned u = (unsigned)b << 16; float v; memcpy(&v, &u, 4); return v; };
                    largest = std::max(largest, std::fabs(f(reference[i])));
                    difference = std::max(difference, std::fabs(f(result[i]) - f(reference[i])));
                }
                printf("N %5d K %5d T %d %-16s %7.2f µs %6.0f GB/s  (%d outputs differ from the first line, max %.2e of %.3g)\n", N, K,
                       M, v.name, us, bytes / us / 1e3, differ, difference, largest);
            }
        }
        for (auto w : weights) CHECK(cudaFree(w));
        CHECK(cudaFree(scales));
        CHECK(cudaFree(x));
        CHECK(cudaFree(out));
    }
    return 0;
}
