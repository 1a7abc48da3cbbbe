// int4_gemm_bench.cu: times the tiled 4-bit GEMMs of linear_int4.cu and linear_int4_wgmma.cu (Sources/VLLMCUDA/Kernels,
// included unchanged) on one shape, outside the engine, so nvcc-built variants and Nsight Compute can look at them on the GPU machine (or build
// here, where nvcc needs no GPU, and carry the binary: docs/gpu-runs/2026-12-01d/run2.sh):
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/int4bench benchmarks/kernels/int4_gemm_bench.cu
//   /tmp/int4bench M N K [iterations [variant [splits]]]   # µs a call (GEMM + split-K reduce), TFLOP/s, packed GB/s
//   ncu --clock-control none -k regex:linear_int4_gemm --launch-skip 10 --launch-count 1 --set full /tmp/int4bench …
//
// "shipped" (linear_int4_gemm, mma.sync) and "wgmma" (linear_int4_wgmma) are the entry points with the tile, grid
// and split-K CUDABackend+Int4Linear.swift chooses (int4GemmTile, int4WgmmaTile, int4GemmSplits); weights are random
// codes with group size 128, as GPTQ-int4 checkpoints have. Each line gives the largest difference from "shipped"'s
// output. The other variants are tile shapes of the same code, for comparison.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime.h>
#include "linear_int4.cu"
#include "linear_int4_wgmma.cu"
#include "bench.cuh"

static const int MAX_SPLITS = 8;
static PFN_cuTensorMapEncodeTiled_v12000 encodeTiled;

// Tile shapes to compare with the shipped entry points (linear_int4_gemm_bf16_nNT): other instantiations of the same code.
template <int R, int T, int NT, int MIN_BLOCKS, int STAGES>
__global__ void __launch_bounds__(32 * R * T, MIN_BLOCKS) gemm_variant(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_gemm<R, T, NT, bf16_t, STAGES>(LINEAR_INT4_GEMM_ARGUMENTS);
}

typedef void (*WgmmaKernel)(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t));
struct Variant {
    const char *name;
    void (*kernel)(LINEAR_INT4_GEMM_PARAMETERS(bf16_t));
    int rows, tokens, threads, perSM, stages, shared;
    WgmmaKernel wgmmaKernel = nullptr;  // linear_int4_wgmma: x and the weight through tensor maps
};

template <int R, int T, int NT, int MIN_BLOCKS, int STAGES = INT4_GEMM_STAGES> Variant variant(const char *name) {
    using Tile = Int4GemmTile<R, T, NT>;
    return {name, gemm_variant<R, T, NT, MIN_BLOCKS, STAGES>, Tile::ROWS, Tile::TOKENS, Tile::THREADS, MIN_BLOCKS, STAGES,
            STAGES * Tile::STAGE_BYTES};
}

// linear_int4_wgmma: W warpgroups of 64 rows × NTOK tokens, x and the weight through tensor maps.
template <int W, int NTOK, int STAGES, int MIN_BLOCKS>
__global__ void __launch_bounds__(128 * W, MIN_BLOCKS) wgmma_variant(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<W, NTOK, STAGES, bf16_t>(LINEAR_INT4_WGMMA_ARGUMENTS);
}
template <int W, int NTOK, int STAGES, int MIN_BLOCKS> Variant wgmma(const char *name) {
    using Tile = Int4WgmmaTile<W, NTOK>;
    return {name, nullptr, Tile::ROWS, NTOK, Tile::THREADS, MIN_BLOCKS, STAGES, Tile::template SHARED_BYTES<STAGES>,
            wgmma_variant<W, NTOK, STAGES, MIN_BLOCKS>};
}

// The shipped entry points, by width (CUDABackend.int4GemmTile picks one per step).
static Variant shipped[] = {
    {"shipped", linear_int4_gemm_bf16_n4, 128, 32, 128, 2, 4, 4 * Int4GemmTile<4, 1, 4>::STAGE_BYTES},
    {"shipped", linear_int4_gemm_bf16_n5, 128, 40, 128, 2, 4, 4 * Int4GemmTile<4, 1, 5>::STAGE_BYTES},
    {"shipped", linear_int4_gemm_bf16_n6, 128, 48, 128, 2, 4, 4 * Int4GemmTile<4, 1, 6>::STAGE_BYTES},
    {"shipped", linear_int4_gemm_bf16_n7, 128, 56, 128, 2, 4, 4 * Int4GemmTile<4, 1, 7>::STAGE_BYTES},
    {"shipped", linear_int4_gemm_bf16_n8, 128, 64, 128, 2, 4, 4 * Int4GemmTile<4, 1, 8>::STAGE_BYTES},
};

// The shipped linear_int4_wgmma entry points (sm_90a): one warpgroup by width, then the two-warpgroup wide tiles.
static Variant shippedWgmma[] = {
    {"wgmma", nullptr, 64, 64, 128, 2, 4, Int4WgmmaTile<1, 64>::SHARED_BYTES<4>, linear_int4_wgmma_bf16_n64},
    {"wgmma", nullptr, 64, 96, 128, 2, 3, Int4WgmmaTile<1, 96>::SHARED_BYTES<3>, linear_int4_wgmma_bf16_n96},
    {"wgmma", nullptr, 64, 128, 128, 2, 3, Int4WgmmaTile<1, 128>::SHARED_BYTES<3>, linear_int4_wgmma_bf16_n128},
    {"wgmma", nullptr, 128, 192, 256, 1, 3, Int4WgmmaTile<2, 192>::SHARED_BYTES<3>, linear_int4_wgmma_bf16_w2_n192},
    {"wgmma", nullptr, 128, 256, 256, 1, 3, Int4WgmmaTile<2, 256>::SHARED_BYTES<3>, linear_int4_wgmma_bf16_w2_n256},
};

static Variant variants[] = {
    {"shipped", nullptr, 0, 0, 0, 0, 0, 0},  // the width CUDABackend.int4GemmTile picks for M (the reference output)
    {"wgmma", nullptr, 0, 0, 0, 0, 0, 0},    // the linear_int4_wgmma entry point CUDABackend.int4WgmmaTile picks
    // linear_int4_wgmma's other tiles: W warpgroups × NTOK tokens, stages, CTAs an SM.
    wgmma<2, 128, 4, 1>("wg2n128s4"),  // two warpgroups (128 rows), one CTA an SM
    wgmma<2, 256, 3, 1>("wg2n256s3"), wgmma<2, 192, 3, 1>("wg2n192s3"), wgmma<2, 192, 4, 1>("wg2n192s4"),
    wgmma<1, 256, 3, 1>("wg1n256s3"), wgmma<1, 192, 3, 1>("wg1n192s3"),
    variant<4, 1, 4, 3>("r4t1n4"),
    variant<8, 1, 4, 2>("r8t1n4"),
    variant<2, 1, 8, 3>("r2t1n8"),
    variant<4, 2, 8, 1>("r4t2n8"),
    variant<4, 1, 7, 2>("r4t1n7"),
    variant<4, 1, 6, 2>("r4t1n6"),
    variant<4, 1, 5, 2>("r4t1n5"),
    variant<4, 1, 8, 3, 3>("n8x3s3"),  // 3 CTAs an SM (12 warps), 3 stages
    variant<4, 1, 7, 3, 3>("n7x3s3"),
    variant<4, 1, 8, 2, 3>("n8x2s3"),
};

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s M N K [iterations [variant [splits]]]\n", argv[0]);
        return 2;
    }
    const int M = atoi(argv[1]), N = atoi(argv[2]), K = atoi(argv[3]), iterations = argc > 4 ? atoi(argv[4]) : 200;
    const char *only = argc > 5 ? argv[5] : nullptr;
    const int forcedSplits = argc > 6 ? atoi(argv[6]) : 0;  // K splits for the variant named (0: CUDABackend's rule)
    const int groupSize = 128, groups = K / groupSize;
    int device = 0, sms = 0;
    CHECK(cudaGetDevice(&device));
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    cudaDriverEntryPointQueryResult found;
    CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", (void **)&encodeTiled, 12000, cudaEnableDefault, &found));

    std::vector<unsigned> packed((size_t)N * K / 8);
    std::vector<bf16_t> x((size_t)M * K);
    std::vector<unsigned> scaleZeros((size_t)N * groups);
    unsigned state = 12345;
    auto next = [&] { state = state * 1664525u + 1013904223u; return state; };
    for (auto &w : packed) w = next();
    for (auto &v : x) v = 0x3C00 | (next() >> 25);        // bf16 in [2^-7, 2^-6)
    // int4.cuh's pairs: a small positive bf16 scale, −(128 + 8) in the high half (GPTQ's symmetric zero)
    for (auto &p : scaleZeros) p = (0x3B00u | (next() >> 25)) | (0xC308u << 16);

    unsigned *dPacked, *dScaleZeros;
    bf16_t *dX, *dOut;
    float *dPartials;
    CHECK(cudaMalloc(&dPacked, packed.size() * 4));
    // x with room for whole 256-token tiles (zeros past M), as the engine's activation buffers have: the tensor map
    // then covers the tiles (CUDABackend.int4WgmmaMaps).
    const int xRows = (M + 255) / 256 * 256;
    CHECK(cudaMalloc(&dX, (size_t)xRows * K * 2));
    CHECK(cudaMemset(dX, 0, (size_t)xRows * K * 2));
    CHECK(cudaMalloc(&dScaleZeros, scaleZeros.size() * 4));
    CHECK(cudaMalloc(&dOut, (size_t)M * N * 2));
    CHECK(cudaMalloc(&dPartials, (size_t)MAX_SPLITS * M * N * 4));
    CHECK(cudaMemcpy(dPacked, packed.data(), packed.size() * 4, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dX, x.data(), x.size() * 2, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(dScaleZeros, scaleZeros.data(), scaleZeros.size() * 4, cudaMemcpyHostToDevice));
    const int tiles = (M + 63) / 64, width = std::min(8, std::max(4, (M + 8 * tiles - 1) / (8 * tiles)));
    std::vector<bf16_t> reference;
    for (Variant v : variants) {
        if (only && strcmp(only, v.name) != 0 && strcmp(v.name, "shipped") != 0) continue;
        if (!v.kernel && strcmp(v.name, "wgmma") == 0) {
            // CUDABackend.int4WgmmaTile: gate_up-wide N or down-deep K at 129–256 tokens as one two-warpgroup tile of 192 or 256;
            // else as few 128-token tiles as hold M, each the narrowest of 64, 96, 128.
            const int tiles = (M + 127) / 128, share = (M + tiles - 1) / tiles;
            if ((N >= 16384 || K >= 8192) && M > 128 && M <= 256) v = shippedWgmma[M <= 192 ? 3 : 4];
            else v = shippedWgmma[share <= 64 ? 0 : share <= 96 ? 1 : 2];
        }
        if (!v.kernel && !v.wgmmaKernel) v = shipped[width - 4];
        const int shared = v.shared;
        if (v.kernel) CHECK(cudaFuncSetAttribute(v.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
        else CHECK(cudaFuncSetAttribute(v.wgmmaKernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
        TensorMap xMap{}, weightMap{};
        if (v.wgmmaKernel) {
            // As CUDABackend.int4WgmmaMaps encodes them.
            const int mapRows = std::max(M, std::min(xRows, (M + v.tokens - 1) / v.tokens * v.tokens));
            const cuuint64_t xDims[2] = {(cuuint64_t)K, (cuuint64_t)mapRows}, xStrides[1] = {(cuuint64_t)K * 2};
            const cuuint32_t xBox[2] = {64, (cuuint32_t)v.tokens}, ones[2] = {1, 1};
            const cuuint64_t wDims[2] = {(cuuint64_t)K / 8, (cuuint64_t)N}, wStrides[1] = {(cuuint64_t)K / 2};
            const cuuint32_t wBox[2] = {16, (cuuint32_t)v.rows};
            CU_CHECK(encodeTiled((CUtensorMap *)&xMap, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, dX, xDims, xStrides, xBox, ones,
                                 CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                 CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
            CU_CHECK(encodeTiled((CUtensorMap *)&weightMap, CU_TENSOR_MAP_DATA_TYPE_UINT32, 2, dPacked, wDims, wStrides, wBox, ones,
                                 CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_64B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                 CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE));
        }
        const dim3 grid((M + v.tokens - 1) / v.tokens, (N + v.rows - 1) / v.rows, 1);
        const int ctas = grid.x * grid.y, target = v.perSM * sms;
        int splits = 1;
        if (forcedSplits > 0 && strcmp(v.name, "shipped") != 0) splits = forcedSplits;
        else if (v.wgmmaKernel) {
            // CUDABackend.int4WgmmaSplits: the fewest splits that minimize the busiest SM's chunks, all CTAs resident.
            const int chunks = K / 128;
            int best = (ctas + sms - 1) / sms * chunks;
            for (int s = 2; s <= std::min(MAX_SPLITS, chunks / 4); ++s) {
                const int load = (ctas * s + sms - 1) / sms * ((chunks + s - 1) / s);
                if (ctas * s <= v.perSM * sms && load < best) best = load, splits = s;
            }
        } else if (ctas < target) splits = std::max(1, std::min({MAX_SPLITS, K / 128 / 4, (target + ctas - 1) / ctas}));
        const dim3 gemmGrid(grid.x, grid.y, splits);
        auto run = [&] {
            if (v.kernel)
                v.kernel<<<gemmGrid, v.threads, shared>>>(dX, dPacked, dScaleZeros, nullptr, dOut, dPartials, M, N, K,
                                                          groupSize);
            else
                v.wgmmaKernel<<<gemmGrid, v.threads, shared>>>(xMap, weightMap, dScaleZeros, nullptr, dOut, dPartials, M,
                                                               N, K, groupSize);
            if (splits > 1) {
                const long long count = (long long)M * N;
                const int blocks = (int)std::min<long long>((count + 255) / 256, 4LL * sms * 8);
                int4_gemm_reduce_bf16<<<blocks, 256>>>(dPartials, nullptr, dOut, M, N, splits);
            }
        };
        for (int i = 0; i < 10; ++i) run();
        CHECK(cudaGetLastError());
        const double us = microseconds_per_call(iterations, [&](int) { run(); });
        std::vector<bf16_t> out((size_t)M * N);
        CHECK(cudaMemcpy(out.data(), dOut, out.size() * 2, cudaMemcpyDeviceToHost));
        double checksum = 0, maxDiff = 0, maxRef = 0;
        if (reference.empty()) reference = out;  // the first run (shipped) is the reference
        for (size_t i = 0; i < out.size(); ++i) {
            checksum += host_bf16_to_float(out[i]);
            maxDiff = std::max(maxDiff, (double)fabsf(host_bf16_to_float(out[i]) - host_bf16_to_float(reference[i])));
            maxRef = std::max(maxRef, (double)fabsf(host_bf16_to_float(reference[i])));
        }
        printf("int4-gemm %-9s M %4d N %5d K %5d: grid %3dx%3dx%d, %7.2f us, %6.1f TFLOP/s, %5.0f GB/s packed, sum %.6e, "
               "max |diff| / max |ref| %.2e\n",
               v.name, M, N, K, gemmGrid.x, gemmGrid.y, gemmGrid.z, us, 2.0 * M * N * K / us / 1e6,
               packed.size() * 4.0 / us / 1e3, checksum, maxDiff / maxRef);
    }
    return 0;
}
