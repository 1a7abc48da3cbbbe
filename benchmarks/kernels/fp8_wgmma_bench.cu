// fp8_wgmma_bench.cu: times linear_fp8_wgmma.cu's FP8 GEMM (Sources/VLLMCUDA/Kernels, included unchanged: each 128-k
// chunk's product added into f32 registers) on Llama-3-8B's and Qwen2.5-14B's linears at 64 / 128 / 256 tokens, with the
// split of K CUDABackend chooses, outside the engine; each output checked against a plain f32 kernel. Built here (nvcc
// needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/fp8wgmma benchmarks/kernels/fp8_wgmma_bench.cu
//   /tmp/fp8wgmma [iterations [variant]]   # per shape, token count and tile: µs a call (GEMM + reduce), TFLOP/s,
//                                          # weight GB/s, and the error against the reference
//
// Its first form (docs/gpu-runs/2026-12-02e run4, run5) also timed tiles of 256 tokens and sums kept in the tensor cores'
// FP8 accumulator over all of K: those were 0.5–5.6 % off the reference (‖err‖ / ‖ref‖), against 0.17 % promoted.
// At commit f69b075 it also timed the two-warpgroup tile in clusters of two CTAs sharing the weight's or x's tile by TMA
// multicast (docs/gpu-runs/2026-12-02f run5, run6): correct, and 1.6–1.9× slower than the tile alone.
// At commit 040768c, the same tile with a producer warp issuing every copy and a barrier a stage for its release (run7):
// 0–12 % faster at 256 tokens, not past cuBLASLt on gate_up.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include "linear_fp8_wgmma.cu"
#include "bench.cuh"

// The reference: each output a thread, f32 sums of the decoded codes.
__global__ void fp8_reference(const unsigned char *x, const unsigned char *weight, const float *xScales, const float *weightScales,
                              float *out, int M, int N, int K) {
    const long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= (long long)M * N) return;
    const int token = index / N, row = index % N;
    float sum = 0.0f;
    for (int k = 0; k < K; ++k) sum += fp8_decode<FP8_E4M3>(x[(long long)token * K + k]) * fp8_decode<FP8_E4M3>(weight[(long long)row * K + k]);
    out[index] = sum * xScales[token] * weightScales[row];
}

typedef void (*Kernel)(LINEAR_FP8_WGMMA_PARAMETERS);
struct Variant {
    const char *name;
    Kernel kernel;
    int rows, tokens, threads, perSM, shared;
};

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    const char *only = argc > 2 ? argv[2] : nullptr;  // variants whose name contains this
    int device = 0, sms = 0;
    CHECK(cudaGetDevice(&device));
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    PFN_cuTensorMapEncodeTiled_v12000 encodeTiled;
    cudaDriverEntryPointQueryResult found;
    CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", (void **)&encodeTiled, 12000, cudaEnableDefault, &found));
    const Variant variants[] = {  // CUDABackend.FP8WgmmaTile
        {"n64", linear_fp8_wgmma_bf16_n64, 64, 64, 128, 2, FP8WgmmaTile<1, 64>::SHARED_BYTES<6>},
        {"w2 n128", linear_fp8_wgmma_bf16_w2_n128, 128, 128, 256, 1, FP8WgmmaTile<2, 128>::SHARED_BYTES<5>},
    };
    for (const Variant &v : variants) CHECK(cudaFuncSetAttribute(v.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, v.shared));
    const int shapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336}, {7168, 5120}, {5120, 5120},
                             {27648, 5120}, {5120, 13824}};
    const int maxSplits = 8;
    unsigned state = 12345;
    auto next = [&] { state = state * 1664525u + 1013904223u; return state >> 8; };
    for (auto shape : shapes) {
        const int N = shape[0], K = shape[1];
        const size_t bytes = (size_t)N * K;
        const int copies = (int)std::max<size_t>(2, (256u << 20) / bytes + 1);
        std::vector<unsigned char> host(bytes);
        for (auto &w : host) w = (unsigned char)(next() & 0xF7);  // every exponent but the top (no NaN), both signs
        std::vector<unsigned char *> weights(copies);
        for (auto &w : weights) {
            CHECK(cudaMalloc(&w, bytes));
            CHECK(cudaMemcpy(w, host.data(), bytes, cudaMemcpyHostToDevice));
        }
        const int maxM = 256;
        std::vector<unsigned char> hostX((size_t)maxM * K);
        for (auto &v : hostX) v = (unsigned char)(next() & 0xF7);
        std::vector<float> hostXScales(maxM), hostWScales(N);
        for (auto &s : hostXScales) s = 1e-2f * (1 + (next() & 255) / 256.0f);
        for (auto &s : hostWScales) s = 1e-3f * (1 + (next() & 255) / 256.0f);
        unsigned char *x;
        float *xScales, *wScales, *partials, *reference;
        bf16_t *out;
        CHECK(cudaMalloc(&x, hostX.size()));
        CHECK(cudaMalloc(&xScales, maxM * 4));
        CHECK(cudaMalloc(&wScales, N * 4));
        CHECK(cudaMalloc(&partials, (size_t)maxSplits * maxM * N * 4));
        CHECK(cudaMalloc(&reference, (size_t)maxM * N * 4));
        CHECK(cudaMalloc(&out, (size_t)maxM * N * 2));
        CHECK(cudaMemcpy(x, hostX.data(), hostX.size(), cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(xScales, hostXScales.data(), maxM * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(wScales, hostWScales.data(), N * 4, cudaMemcpyHostToDevice));
        for (int M : {64, 128, 256}) {
            fp8_reference<<<(M * N + 255) / 256, 256>>>(x, weights[0], xScales, wScales, reference, M, N, K);
            std::vector<float> want((size_t)M * N);
            CHECK(cudaMemcpy(want.data(), reference, want.size() * 4, cudaMemcpyDeviceToHost));
            float scale = 0;
            for (float v : want) scale = std::max(scale, fabsf(v));
            for (const Variant &v : variants) {
                if (only && !strstr(v.name, only)) continue;
                const cuuint32_t ones[2] = {1, 1};
                const cuuint64_t xDims[2] = {(cuuint64_t)K, (cuuint64_t)maxM}, xStrides[1] = {(cuuint64_t)K};
                const cuuint32_t xBox[2] = {128, (cuuint32_t)v.tokens};
                TensorMap xMap{};
                CU_CHECK(encodeTiled((CUtensorMap *)&xMap, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, x, xDims, xStrides, xBox, ones,
                                     CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                     CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
                std::vector<TensorMap> weightMaps(copies);
                for (int c = 0; c < copies; ++c) {
                    const cuuint64_t wDims[2] = {(cuuint64_t)K, (cuuint64_t)N}, wStrides[1] = {(cuuint64_t)K};
                    const cuuint32_t wBox[2] = {128, (cuuint32_t)v.rows};
                    CU_CHECK(encodeTiled((CUtensorMap *)&weightMaps[c], CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, weights[c], wDims, wStrides,
                                         wBox, ones, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                         CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
                }
                const dim3 grid((M + v.tokens - 1) / v.tokens, (N + v.rows - 1) / v.rows, 1);
                const int ctas = grid.x * grid.y, chunks = K / 128;
                // The fewest splits that minimize the busiest SM's chunks, every CTA resident (as CUDABackend.int4WgmmaSplits).
                int splits = 1, best = (ctas + v.perSM * sms - 1) / (v.perSM * sms) * chunks;
                for (int s = 2; s <= std::min(maxSplits, chunks / 4); ++s) {
                    const int load = (ctas * s + v.perSM * sms - 1) / (v.perSM * sms) * ((chunks + s - 1) / s);
                    if (ctas * s <= v.perSM * sms && load < best) best = load, splits = s;
                }
                auto run = [&](int i) {
                    v.kernel<<<dim3(grid.x, grid.y, splits), v.threads, v.shared>>>(xMap, weightMaps[i % copies], xScales, wScales,
                                                                                   nullptr, out, partials, M, N, K);
                    if (splits > 1) fp8_wgmma_reduce_bf16<<<(M * N + 255) / 256, 256>>>(partials, splits, xScales, wScales, nullptr, out, M, N);
                };
                run(0);
                CHECK(cudaDeviceSynchronize());
                std::vector<bf16_t> got((size_t)M * N);
                CHECK(cudaMemcpy(got.data(), out, got.size() * 2, cudaMemcpyDeviceToHost));
                float worst = 0;
                double difference = 0, norm = 0;  // and check-gpu's measure: ‖got − want‖ / ‖want‖
                for (size_t i = 0; i < got.size(); ++i) {
                    const float value = host_bf16_to_float(got[i]);
                    worst = std::max(worst, fabsf(value - want[i]));
                    difference += (double)(value - want[i]) * (value - want[i]);
                    norm += (double)want[i] * want[i];
                }
                for (int i = 1; i < 4; ++i) run(i);
                const double us = microseconds_per_call(iterations, run);
                printf("N %5d K %5d M %3d %-11s grid %3dx%3dx%d  %7.2f µs  %6.1f TFLOP/s  %5.0f GB/s  max |err| / max |ref| %.1e"
                       "  ‖err‖ / ‖ref‖ %.1e\n", N, K, M, v.name, grid.x, grid.y, splits, us, 2.0 * M * N * K / us / 1e6,
                       bytes / us / 1e3, worst / scale, sqrt(difference / norm));
            }
        }
        for (auto w : weights) CHECK(cudaFree(w));
        CHECK(cudaFree(x));
        CHECK(cudaFree(xScales));
        CHECK(cudaFree(wScales));
        CHECK(cudaFree(partials));
        CHECK(cudaFree(reference));
        CHECK(cudaFree(out));
    }
    return 0;
}
