// fp8_wgmma_bench.cu: a prototype, outside the engine, of an FP8 GEMM for decode batches (64–256 tokens) on Hopper's
// warpgroup MMA — the steps where cuBLASLt's FP8 GEMM reads the weight slowly (bench-linear, session 13: Llama-3-8B's
// four linears ~145 µs a layer at 256 tokens, where the weight's bytes take ~55 µs and the MMAs ~70). Both operands
// e4m3 from shared memory (wgmma.m64nNk32.f32.e4m3.e4m3, K-major, 128-byte swizzle), filled by the tensor memory
// accelerator as linear_int4_wgmma fills its stages (its helpers are included from Sources/VLLMCUDA/Kernels); the
// token and row scales applied at the end; K split over CTAs where the grid would not fill the GPU, the partial sums
// then added by a second kernel. Built here (nvcc needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/fp8wgmma benchmarks/kernels/fp8_wgmma_bench.cu
//   /tmp/fp8wgmma [iterations]   # per shape, token count and tile: µs a call (GEMM + reduce), TFLOP/s, weight GB/s,
//                                # and the largest error against a plain f32 reference kernel
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include "linear_int4_wgmma.cu"
#include "fp8.cuh"

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        cudaError_t e = (call);                                                                       \
        if (e != cudaSuccess) {                                                                       \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e));      \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)
#define CU_CHECK(call)                                                                                \
    do {                                                                                              \
        CUresult r = (call);                                                                          \
        if (r != CUDA_SUCCESS) {                                                                      \
            fprintf(stderr, "%s:%d %s: CUresult %d\n", __FILE__, __LINE__, #call, (int)r);             \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)

template <int N> __device__ __forceinline__ void wgmma_fp8(float (&d)[N / 2], unsigned long long a, unsigned long long b);
#define D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
// d [64 × N] f32 += A (64 weight rows × 32 k, e4m3, descriptor a) · B (32 k × N tokens, e4m3, descriptor b).
template <> __device__ __forceinline__ void wgmma_fp8<64>(float (&d)[32], unsigned long long a, unsigned long long b) {
#ifdef INT4_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "%32, %33, p, 1, 1;\n}\n"
                 : D8(0), D8(8), D8(16), D8(24)
                 : "l"(a), "l"(b), "r"(1));
#endif
}
template <> __device__ __forceinline__ void wgmma_fp8<128>(float (&d)[64], unsigned long long a, unsigned long long b) {
#ifdef INT4_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "%64, %65, p, 1, 1;\n}\n"
                 : D8(0), D8(8), D8(16), D8(24), D8(32), D8(40), D8(48), D8(56)
                 : "l"(a), "l"(b), "r"(1));
#endif
}
template <> __device__ __forceinline__ void wgmma_fp8<256>(float (&d)[128], unsigned long long a, unsigned long long b) {
#ifdef INT4_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %130, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k32.f32.e4m3.e4m3 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
                 "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
                 "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "
                 "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "
                 "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
                 "%128, %129, p, 1, 1;\n}\n"
                 : D8(0), D8(8), D8(16), D8(24), D8(32), D8(40), D8(48), D8(56), D8(64), D8(72), D8(80), D8(88), D8(96), D8(104), D8(112), D8(120)
                 : "l"(a), "l"(b), "r"(1));
#endif
}
#undef D8

// A CTA: W warpgroups of 64 weight rows each × NTOK tokens; a stage holds one 128-k chunk of both, 128 bytes a row:
// x [NTOK rows][128] then the weight [64·W rows][128], each with the 128-byte swizzle (16-byte piece c of row r at
// c ^ (r & 7)), which the descriptors name.
template <int W, int NTOK> struct FP8Tile {
    static constexpr int ROWS = 64 * W, THREADS = 128 * W;
    static constexpr int X_BYTES = NTOK * 128, WEIGHT_BYTES = ROWS * 128, STAGE_BYTES = X_BYTES + WEIGHT_BYTES;
    template <int STAGES> static constexpr int SHARED_BYTES = STAGES * STAGE_BYTES + 8 * STAGES + 1024;
};

template <int W, int NTOK, int STAGES>
__device__ void fp8_wgmma(const TensorMap &xMap, const TensorMap &weightMap, const float *__restrict__ xScales,
                          const float *__restrict__ weightScales, bf16_t *__restrict__ out, float *__restrict__ partials,
                          int M, int N, int K) {
#ifdef INT4_WGMMA
    using Tile = FP8Tile<W, NTOK>;
    extern __shared__ uint4 fp8GemmShared[];
    unsigned char *const shared = (unsigned char *)(((size_t)fp8GemmShared + 1023) & ~(size_t)1023);
    const unsigned sharedBase = shared_address(shared), barriers = sharedBase + STAGES * Tile::STAGE_BYTES;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, group = warp >> 2;
    const int g = lane >> 2, t = lane & 3;
    const int token0 = blockIdx.x * NTOK, row0 = blockIdx.y * Tile::ROWS;
    const int totalChunks = K >> 7;
    const int chunkBegin = (int)((long long)totalChunks * blockIdx.z / gridDim.z);
    const int numChunks = (int)((long long)totalChunks * (blockIdx.z + 1) / gridDim.z) - chunkBegin;
    const bool producer = tid == 0;
    auto barrier = [&](int chunk) { return barriers + 8 * (chunk % STAGES); };
    auto parity = [&](int chunk) { return (unsigned)(chunk / STAGES) & 1; };
    auto load = [&](int chunk) {
        const unsigned stage = sharedBase + (chunk % STAGES) * Tile::STAGE_BYTES;
        mbarrier_expect(barrier(chunk), Tile::STAGE_BYTES);
        tma_load(stage, xMap, (chunkBegin + chunk) * 128, token0, barrier(chunk));
        tma_load(stage + Tile::X_BYTES, weightMap, (chunkBegin + chunk) * 128, row0, barrier(chunk));
    };
    if (producer) {
#pragma unroll
        for (int s = 0; s < STAGES; ++s) mbarrier_init(barriers + 8 * s, 1);
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s)
            if (s < numChunks) load(s);
    }
    __syncthreads();
    float acc[NTOK / 2];
#pragma unroll
    for (int i = 0; i < NTOK / 2; ++i) acc[i] = 0.0f;
    for (int chunk = 0; chunk < numChunks; ++chunk) {
        mbarrier_wait(barrier(chunk), parity(chunk));
        const unsigned xAddress = sharedBase + (chunk % STAGES) * Tile::STAGE_BYTES;
        const unsigned weightAddress = xAddress + Tile::X_BYTES + group * 64 * 128;
        wgmma_fence();
#pragma unroll
        for (int s = 0; s < 4; ++s)
            wgmma_fp8<NTOK>(acc, wgmma_descriptor(weightAddress + 32 * s), wgmma_descriptor(xAddress + 32 * s));
        wgmma_commit();
        wgmma_wait<1>();  // the chunk before's are done: its stage may be refilled
        if (chunk + STAGES - 1 < numChunks) {
            __syncthreads();
            if (producer) load(chunk + STAGES - 1);
        }
    }
    wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < NTOK / 2; ++i) wgmma_keep(acc[i]);
    const int rowA = 64 * group + 16 * (warp & 3) + g;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int row = row0 + rowA + 8 * h;
        if (row >= N) continue;
        const float rowScale = weightScales[row];
#pragma unroll
        for (int j = 0; j < NTOK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int token = token0 + 8 * j + 2 * t + e;
                if (token >= M) continue;
                const long long index = (long long)token * N + row;
                const float value = acc[4 * j + 2 * h + e];
                if (gridDim.z > 1) partials[(long long)blockIdx.z * M * N + index] = value;
                else out[index] = f32_to_bf16(value * xScales[token] * rowScale);
            }
    }
#endif
}

#define FP8_WGMMA_PARAMETERS                                                                                           \
    const __grid_constant__ TensorMap xMap, const __grid_constant__ TensorMap weightMap, const float *__restrict__ xScales, \
        const float *__restrict__ weightScales, bf16_t *__restrict__ out, float *__restrict__ partials, int M, int N, int K
#define FP8_WGMMA_ARGUMENTS xMap, weightMap, xScales, weightScales, out, partials, M, N, K
__global__ void __launch_bounds__(128, 2) fp8_wgmma_w1_n64(FP8_WGMMA_PARAMETERS) { fp8_wgmma<1, 64, 6>(FP8_WGMMA_ARGUMENTS); }
__global__ void __launch_bounds__(128, 2) fp8_wgmma_w1_n128(FP8_WGMMA_PARAMETERS) { fp8_wgmma<1, 128, 4>(FP8_WGMMA_ARGUMENTS); }
__global__ void __launch_bounds__(256, 1) fp8_wgmma_w2_n128(FP8_WGMMA_PARAMETERS) { fp8_wgmma<2, 128, 5>(FP8_WGMMA_ARGUMENTS); }
__global__ void __launch_bounds__(128, 1) fp8_wgmma_w1_n256(FP8_WGMMA_PARAMETERS) { fp8_wgmma<1, 256, 5>(FP8_WGMMA_ARGUMENTS); }
__global__ void __launch_bounds__(256, 1) fp8_wgmma_w2_n256(FP8_WGMMA_PARAMETERS) { fp8_wgmma<2, 256, 4>(FP8_WGMMA_ARGUMENTS); }

// The split-K partial sums added and scaled.
__global__ void fp8_reduce(const float *__restrict__ partials, int splits, const float *__restrict__ xScales,
                           const float *__restrict__ weightScales, bf16_t *__restrict__ out, int M, int N) {
    const long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= (long long)M * N) return;
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += partials[(long long)s * M * N + index];
    out[index] = f32_to_bf16(sum * xScales[index / N] * weightScales[index % N]);
}

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

typedef void (*Kernel)(FP8_WGMMA_PARAMETERS);
struct Variant {
    const char *name;
    Kernel kernel;
    int rows, tokens, threads, perSM, shared;
};

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    int device = 0, sms = 0;
    CHECK(cudaGetDevice(&device));
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    PFN_cuTensorMapEncodeTiled_v12000 encodeTiled;
    cudaDriverEntryPointQueryResult found;
    CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", (void **)&encodeTiled, 12000, cudaEnableDefault, &found));
    const Variant variants[] = {
        {"w1 n64", fp8_wgmma_w1_n64, 64, 64, 128, 2, FP8Tile<1, 64>::SHARED_BYTES<6>},
        {"w1 n128", fp8_wgmma_w1_n128, 64, 128, 128, 2, FP8Tile<1, 128>::SHARED_BYTES<4>},
        {"w2 n128", fp8_wgmma_w2_n128, 128, 128, 256, 1, FP8Tile<2, 128>::SHARED_BYTES<5>},
        {"w1 n256", fp8_wgmma_w1_n256, 64, 256, 128, 1, FP8Tile<1, 256>::SHARED_BYTES<5>},
        {"w2 n256", fp8_wgmma_w2_n256, 128, 256, 256, 1, FP8Tile<2, 256>::SHARED_BYTES<4>},
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
                if (v.tokens < M / 2 || v.tokens > 2 * M) continue;  // tiles near the step's size
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
                    v.kernel<<<dim3(grid.x, grid.y, splits), v.threads, v.shared>>>(xMap, weightMaps[i % copies], xScales, wScales, out,
                                                                                   partials, M, N, K);
                    if (splits > 1) fp8_reduce<<<(M * N + 255) / 256, 256>>>(partials, splits, xScales, wScales, out, M, N);
                };
                run(0);
                CHECK(cudaDeviceSynchronize());
                std::vector<bf16_t> got((size_t)M * N);
                CHECK(cudaMemcpy(got.data(), out, got.size() * 2, cudaMemcpyDeviceToHost));
                float worst = 0;
                for (size_t i = 0; i < got.size(); ++i) {
                    const unsigned bits = (unsigned)got[i] << 16;
                    float value;
                    memcpy(&value, &bits, 4);
                    worst = std::max(worst, fabsf(value - want[i]));
                }
                for (int i = 1; i < 4; ++i) run(i);
                cudaEvent_t start, stop;
                CHECK(cudaEventCreate(&start));
                CHECK(cudaEventCreate(&stop));
                CHECK(cudaEventRecord(start));
                for (int i = 0; i < iterations; ++i) run(i);
                CHECK(cudaEventRecord(stop));
                CHECK(cudaEventSynchronize(stop));
                float ms = 0;
                CHECK(cudaEventElapsedTime(&ms, start, stop));
                const double us = ms * 1000.0 / iterations;
                printf("N %5d K %5d M %3d %-8s grid %3dx%3dx%d  %7.2f µs  %6.1f TFLOP/s  %5.0f GB/s  max |err| / max |ref| %.1e\n", N, K, M,
                       v.name, grid.x, grid.y, splits, us, 2.0 * M * N * K / us / 1e6, bytes / us / 1e3, worst / scale);
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
