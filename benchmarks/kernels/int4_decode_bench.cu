// int4_decode_bench.cu: the 4-bit decode kernels of linear_int4.cu (Sources/VLLMCUDA/Kernels, included unchanged) at one
// and eight tokens on Llama-3-8B's and Qwen2.5-14B's linears, groups of 128, outside the engine: linear_int4_small
// (each lane loads its weights into registers) against linear_int4_stream (the copy engine fills shared-memory stages)
// at 16 or 32 rows a tile and 4–8 stages. Built here (nvcc needs no GPU) and
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
#include <cuda.h>
#include <cudaTypedefs.h>
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


typedef void (*Kernel)(const bf16_t *, const unsigned *, const bf16_t *, const bf16_t *, const bf16_t *, bf16_t *, int, int,
                       int, int);
typedef void (*StreamKernel)(LINEAR_INT4_STREAM_PARAMETERS(bf16_t));
static PFN_cuTensorMapEncodeTiled_v12000 encodeTiled;
// linear_int4_small (the register-streaming kernel, 32 rows a CTA) or linear_int4_stream (rows 16·tiles a tile,
// `stages` stages; rows 0: CUDABackend.int4StreamRows' choice between 16 and 32).
struct Variant {
    const char *name;
    int rows, stages;
    int perSM = 1;  // persistent CTAs an SM
    bool copyOnly = false;
};
// The stream kernel's copies and barriers alone (32 rows a tile): its consumers wait and release each stage untouched.
extern "C" __global__ void __launch_bounds__(288) stream_copy_only(LINEAR_INT4_STREAM_PARAMETERS(bf16_t)) {
    linear_int4_stream<2, bf16_t, false>(LINEAR_INT4_STREAM_ARGUMENTS);
}

static float toFloat(bf16_t v) { unsigned u = (unsigned)v << 16; float f; memcpy(&f, &u, 4); return f; }

int main(int argc, char **argv) {
    setvbuf(stdout, nullptr, _IOLBF, 0);
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    cudaDriverEntryPointQueryResult found;
    CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", (void **)&encodeTiled, 12000, cudaEnableDefault, &found));
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
        std::vector<bf16_t> hostScales((size_t)N * groups), hostZeros((size_t)N * groups), hostX(8 * K);
        for (auto &v : hostScales) v = 0x3B00 | (next() >> 25);
        for (auto &v : hostZeros) v = 0xC308;  // −(128 + 8)
        for (auto &v : hostX) v = (next() & 0x8000) | 0x3C00 | (next() >> 25);
        bf16_t *scales, *zeros, *x, *out;
        CHECK(cudaMalloc(&scales, hostScales.size() * 2));
        CHECK(cudaMalloc(&zeros, hostZeros.size() * 2));
        CHECK(cudaMalloc(&x, 8 * K * 2));
        CHECK(cudaMalloc(&out, 8 * N * 2));
        CHECK(cudaMemcpy(scales, hostScales.data(), hostScales.size() * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(zeros, hostZeros.data(), hostZeros.size() * 2, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpy(x, hostX.data(), 8 * K * 2, cudaMemcpyHostToDevice));
        for (int M : {1, 8}) {
            std::vector<bf16_t> reference, result(M * N);
            const Variant variants[] = {{"small", 0, 0},         {"1/SM auto s8", -1, 8},  {"2/SM auto s8", -1, 8, 2},
                                        {"2/SM auto s3", -1, 3, 2}, {"2/SM r32 s8", 32, 8, 2}, {"3/SM auto s8", -1, 8, 3},
                                        {"copies only s8", 32, 8, 1, true}};
            for (const Variant &v : variants) {
                int sms = 0;
                CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
                int rows = v.stages ? v.rows : 32;
                if (rows < 0) {  // CUDABackend.int4StreamRows: 16 where it takes fewer rows on the busiest SM
                    const int ctas = v.perSM * sms;
                    const long long rounds16 = ((N + 15) / 16 + ctas - 1) / ctas * 16, rounds32 = ((N + 31) / 32 + ctas - 1) / ctas * 32;
                    rows = rounds16 < rounds32 ? 16 : 32;
                }
                const int stageBytes = rows * 512 + M * 2048 + 32 * rows;
                int limit = 0;
                CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
                if (v.perSM > 1) limit = 233472 / v.perSM - 1024;  // the CTAs' shared memory on one SM
                const int fixed = 256 + 8 * 8 * rows * 4;  // as CUDABackend.int4StreamSharedBytes
                const int stages = std::min(v.stages, (limit - fixed) / stageBytes);
                const int shared = fixed + stages * stageBytes;
                StreamKernel stream = v.copyOnly ? stream_copy_only : rows == 16 ? linear_int4_stream_bf16_r16 : linear_int4_stream_bf16_r32;
                if (stages) CHECK(cudaFuncSetAttribute(stream, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
                const int ctas = std::min((N + rows - 1) / rows, v.perSM * sms);
                // The scales in the kernel's stage order, as CUDABackend.int4StageScales makes them.
                const int items = (N + rows - 1) / rows * ((K + 1023) / 1024);
                unsigned *stageScales = nullptr;
                if (stages) {
                    CHECK(cudaMalloc(&stageScales, (size_t)items * 8 * rows * 4));
                    int4_stream_scales_bf16<<<256, 256>>>(scales, zeros, stageScales, N, K, groupSize, rows);
                    CHECK(cudaDeviceSynchronize());
                }
                // As CUDABackend.int4StreamMaps encodes them; one weight map per copy.
                TensorMap xMap{};
                std::vector<TensorMap> weightMaps(copies);
                const cuuint32_t ones[2] = {1, 1};
                if (stages) {
                    const cuuint64_t xDims[2] = {(cuuint64_t)K / 4, (cuuint64_t)M}, xStrides[1] = {(cuuint64_t)K * 2};
                    const cuuint32_t xBox[2] = {256, (cuuint32_t)M};
                    if (encodeTiled((CUtensorMap *)&xMap, CU_TENSOR_MAP_DATA_TYPE_UINT64, 2, x, xDims, xStrides, xBox, ones,
                                    CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                    CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS) { fprintf(stderr, "x map\n"); exit(1); }
                    const cuuint64_t wDims[2] = {(cuuint64_t)K / 8, (cuuint64_t)N}, wStrides[1] = {(cuuint64_t)K / 2};
                    const cuuint32_t wBox[2] = {128, (cuuint32_t)rows};
                    for (int c = 0; c < copies; ++c)
                        if (encodeTiled((CUtensorMap *)&weightMaps[c], CU_TENSOR_MAP_DATA_TYPE_UINT32, 2, weights[c], wDims, wStrides,
                                        wBox, ones, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                                        CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) != CUDA_SUCCESS) {
                            fprintf(stderr, "weight map\n");
                            exit(1);
                        }
                }
                auto run = [&](int i) {
                    if (stages) {
                        stream<<<ctas, 288, shared>>>(xMap, weightMaps[i % copies], stageScales, nullptr, out, M, N, K, stages);
                    } else {
                        const int warps = std::min(8, (K + 255) / 256);
                        linear_int4_small_g128_bf16_t1<<<(N + 31) / 32, 32 * warps>>>(x, weights[i % copies], scales, zeros,
                                                                                    nullptr, out, M, N, K, groupSize);
                    }
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
                CHECK(cudaGetLastError());
                run(0);
                CHECK(cudaMemcpy(result.data(), out, M * N * 2, cudaMemcpyDeviceToHost));
                if (reference.empty()) reference = result;
                float largest = 0, difference = 0;
                for (int i = 0; i < M * N; ++i) {
                    largest = std::max(largest, std::fabs(toFloat(reference[i])));
                    difference = std::max(difference, std::fabs(toFloat(result[i]) - toFloat(reference[i])));
                }
                const double us = ms * 1000.0 / iterations;
                if (stageScales) CHECK(cudaFree(stageScales));
                printf("%-16s N %5d K %5d T %d %-15s %7.2f µs %6.0f GB/s  (max diff %.2e of %.3g)\n", names[s], N, K, M,
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
