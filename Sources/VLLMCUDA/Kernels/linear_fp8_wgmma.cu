// linear_fp8_wgmma.cu: FP8 linears of decode batches (17–128 tokens: CUDABackend.fp8WgmmaTile) on Hopper's warpgroup MMA
// (sm_90a), where cuBLASLt's FP8 GEMM reads a narrow weight slowly (docs/gpu-runs/2026-12-02e run4 / run5: Llama-3-8B's
// down at 64–128 tokens 47 µs against 24–29 here).
//
// linear_fp8_wgmma_bf16_n64, linear_fp8_wgmma_bf16_w2_n128  x [M, K] e4m3 with per-token scales xScales [M] (the
//   activations quantize_fp8_rows_bf16 or the op before wrote), weight [N, K] e4m3 with weightScales [N], bias [N]
//   bf16 or null → out [M, N] bf16 = bf16(Σ_k x·w · xScale · weightScale + bias); K % 128 == 0; x and the weight passed
//   as tensor maps (boxes of 128 k × the tile's tokens or rows, 128-byte swizzle). A CTA of W warpgroups owns 64·W weight
//   rows × NTOK tokens (grid (⌈M / NTOK⌉, ⌈N / 64W⌉, splits), K split over blockIdx.z where the grid would leave SMs
//   idle, the f32 partial sums then added by fp8_wgmma_reduce_bf16). Both operands of wgmma.m64nNTOKk32.e4m3 come from
//   shared memory, a 128-k chunk a stage — x [NTOK rows][128 bytes], then the weight [64·W rows][128 bytes], 16-byte
//   piece c of row r at c ^ (r & 7) — filled by the tensor memory accelerator, the weight's copies issued before the
//   wait for the kernel before (it depends on none). Each chunk's four wgmmas write a chunk accumulator that is then
//   added into f32 registers: the tensor cores' FP8 accumulation keeps fewer bits than f32, and summed over all of K
//   in it the products came out 0.5–5.6 % off an f32 reference (run5), against 0.17 % promoted chunk by chunk.
// linear_fp8_wgmma_block_bf16_n64, …_w2_n128  the same on a block-scaled weight (weightScales [⌈N / bn⌉, K / bk], bk %
//   128 == 0) and x quantized per token per bk columns (xScales [K / bk, the grid's tokens], tokens contiguous:
//   quantize_fp8_groups_bf16, padding rows zero with scale 1), as vLLM's
//   block FP8 linear: each 128-k chunk's sums are scaled by their token's and row's scales as they are added, so the
//   epilogue adds only the bias (and the K split's partial sums are already scaled). For any token count.
// fp8_wgmma_reduce_bf16  partials [splits, M, N] f32 → out, scaled (where the scales are not null) and biased as above.
#include "fp8.cuh"
#include "wgmma.cuh"

template <int N> __device__ __forceinline__ void wgmma_fp8(float (&d)[N / 2], unsigned long long a, unsigned long long b, int accumulate);
#define D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
// d [64 × N] f32 += A (64 weight rows × 32 k, e4m3, descriptor a) · B (32 k × N tokens, e4m3, descriptor b); d = A · B
// where `accumulate` is 0.
template <> __device__ __forceinline__ void wgmma_fp8<64>(float (&d)[32], unsigned long long a, unsigned long long b, int accumulate) {
#ifdef HOPPER_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "%32, %33, p, 1, 1;\n}\n"
                 : D8(0), D8(8), D8(16), D8(24)
                 : "l"(a), "l"(b), "r"(accumulate));
#endif
}
template <> __device__ __forceinline__ void wgmma_fp8<128>(float (&d)[64], unsigned long long a, unsigned long long b, int accumulate) {
#ifdef HOPPER_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "%64, %65, p, 1, 1;\n}\n"
                 : D8(0), D8(8), D8(16), D8(24), D8(32), D8(40), D8(48), D8(56)
                 : "l"(a), "l"(b), "r"(accumulate));
#endif
}
#undef D8

template <int W, int NTOK> using FP8WgmmaTile = WgmmaTile<W, NTOK, 128, 128>;

// BLOCK: xScales [K / bk, gridDim.x · NTOK] (tokens contiguous, the rows past M padding) and weightScales [⌈N / bn⌉,
// K / bk], applied chunk by chunk; else [M] and [N], at the end.
template <int W, int NTOK, int STAGES, bool BLOCK>
__device__ void linear_fp8_wgmma(const TensorMap &xMap, const TensorMap &weightMap, const float *__restrict__ xScales,
                                 const float *__restrict__ weightScales, const bf16_t *__restrict__ bias,
                                 bf16_t *__restrict__ out, float *__restrict__ partials, int M, int N, int K, int bn, int bk) {
#ifdef HOPPER_WGMMA
    using Tile = FP8WgmmaTile<W, NTOK>;
    extern __shared__ uint4 fp8GemmShared[];
    const typename Tile::template Stages<STAGES> stages(fp8GemmShared);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, group = warp >> 2;
    const int g = lane >> 2, t = lane & 3;
    const int token0 = blockIdx.x * NTOK, row0 = blockIdx.y * Tile::ROWS;
    const WgmmaChunks chunks = wgmma_chunks(K);
    const int chunkBegin = chunks.begin, numChunks = chunks.count;
    const bool producer = tid == 0;
    auto loadWeights = [&](int chunk) {  // counts the whole stage: x's copy follows (loadX)
        mbarrier_expect(stages.barrier(chunk), Tile::STAGE_BYTES);
        tma_load(stages.stage(chunk) + Tile::X_BYTES, weightMap, (chunkBegin + chunk) * 128, row0, stages.barrier(chunk));
    };
    auto loadX = [&](int chunk) { tma_load(stages.stage(chunk), xMap, (chunkBegin + chunk) * 128, token0, stages.barrier(chunk)); };
    if (producer) {
#pragma unroll
        for (int s = 0; s < STAGES; ++s) mbarrier_init(stages.barrier(s), 1);
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s)
            if (s < numChunks) loadWeights(s);
    }
    grid_dependency_wait();
    if (producer) {
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s)
            if (s < numChunks) loadX(s);
    }
    __syncthreads();  // the barriers are initialized before anyone waits on them

    float acc[NTOK / 2], part[NTOK / 2];
#pragma unroll
    for (int i = 0; i < NTOK / 2; ++i) acc[i] = 0.0f;
    const int rowA = 64 * group + 16 * (warp & 3) + g;
    // BLOCK: the scales of this thread's rows (rowA, rowA + 8) and tokens (8j + 2t + e) in their bk-column groups.
    const int kGroups = BLOCK ? K / bk : 0, chunksPerGroup = BLOCK ? bk / 128 : 1;
    const float *rowScales[2];
    if (BLOCK) {
#pragma unroll
        for (int h = 0; h < 2; ++h) rowScales[h] = weightScales + (long long)(min(row0 + rowA + 8 * h, N - 1) / bn) * kGroups;
    }
    const long long paddedTokens = (long long)gridDim.x * NTOK;  // BLOCK: xScales' row length
    for (int chunk = 0; chunk < numChunks; ++chunk) {
        mbarrier_wait(stages.barrier(chunk), stages.parity(chunk));
        const unsigned xAddress = stages.stage(chunk);
        const unsigned weightAddress = xAddress + Tile::X_BYTES + group * 64 * 128;
        wgmma_fence();
#pragma unroll
        for (int s = 0; s < 4; ++s)
            wgmma_fp8<NTOK>(part, wgmma_descriptor(weightAddress + 32 * s), wgmma_descriptor(xAddress + 32 * s), s == 0 ? 0 : 1);
        wgmma_commit();
        float2 tokenScale[NTOK / 8];  // BLOCK: tokens 8j + 2t and 8j + 2t + 1, loaded while the chunk's wgmmas run
        float rowScale[2];
        if (BLOCK) {
            const int kGroup = (chunkBegin + chunk) / chunksPerGroup;
#pragma unroll
            for (int h = 0; h < 2; ++h) rowScale[h] = __ldg(rowScales[h] + kGroup);
            const float2 *column = (const float2 *)(xScales + kGroup * paddedTokens + token0 + 2 * t);
#pragma unroll
            for (int j = 0; j < NTOK / 8; ++j) tokenScale[j] = column[4 * j];
        }
        // This warpgroup waits for its chunk before adding it (a wgmma in flight must share no register with other
        // instructions, or ptxas serializes them all): the other warpgroup, or the SM's other CTA, keeps the tensor
        // cores busy meanwhile.
        wgmma_wait<0>();
#pragma unroll
        for (int i = 0; i < NTOK / 2; ++i) {
            wgmma_keep(part[i]);
            // part[4j + 2h + e]: token 8j + 2t + e, row rowA + 8h
            acc[i] += BLOCK ? part[i] * ((i & 1 ? tokenScale[i / 4].y : tokenScale[i / 4].x) * rowScale[(i >> 1) & 1]) : part[i];
        }
        if (chunk + STAGES - 1 < numChunks) {  // the chunk before's stage takes chunk + STAGES − 1
            __syncthreads();
            if (producer) {
                loadWeights(chunk + STAGES - 1);
                loadX(chunk + STAGES - 1);
            }
        }
    }
    float *const partial = gridDim.z > 1 ? partials + (long long)blockIdx.z * M * N : nullptr;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int row = row0 + rowA + 8 * h;
        if (row >= N) continue;
        const float rowScale = BLOCK ? 1.0f : weightScales[row], add = bias && !partial ? bf16_to_f32(bias[row]) : 0.0f;
#pragma unroll
        for (int j = 0; j < NTOK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int token = token0 + 8 * j + 2 * t + e;
                if (token >= M) continue;
                const long long index = (long long)token * N + row;
                const float value = acc[4 * j + 2 * h + e];
                if (partial) partial[index] = value;
                else out[index] = f32_to_bf16((BLOCK ? value : value * xScales[token] * rowScale) + add);
            }
    }
#endif
}

#define LINEAR_FP8_WGMMA_PARAMETERS                                                                                    \
    const __grid_constant__ TensorMap xMap, const __grid_constant__ TensorMap weightMap, const float *__restrict__ xScales, \
        const float *__restrict__ weightScales, const bf16_t *__restrict__ bias, bf16_t *__restrict__ out,                 \
        float *__restrict__ partials, int numTokens, int N, int K
#define LINEAR_FP8_WGMMA_ARGUMENTS xMap, weightMap, xScales, weightScales, bias, out, partials, numTokens, N, K
// CUDABackend.FP8WgmmaTile: one warpgroup × 64 tokens, two CTAs an SM, 6 stages; two warpgroups × 128 tokens, one CTA an
// SM, 5 stages.
static_assert(FP8WgmmaTile<1, 64>::SHARED_BYTES<6> == 99376 && FP8WgmmaTile<2, 128>::SHARED_BYTES<5> == 164904,
              "CUDABackend.FP8WgmmaTile.sharedBytes");
extern "C" __global__ void __launch_bounds__(128, 2) linear_fp8_wgmma_bf16_n64(LINEAR_FP8_WGMMA_PARAMETERS) {
    linear_fp8_wgmma<1, 64, 6, false>(LINEAR_FP8_WGMMA_ARGUMENTS, 0, 0);
}
extern "C" __global__ void __launch_bounds__(256, 1) linear_fp8_wgmma_bf16_w2_n128(LINEAR_FP8_WGMMA_PARAMETERS) {
    linear_fp8_wgmma<2, 128, 5, false>(LINEAR_FP8_WGMMA_ARGUMENTS, 0, 0);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_fp8_wgmma_block_bf16_n64(LINEAR_FP8_WGMMA_PARAMETERS, int bn, int bk) {
    linear_fp8_wgmma<1, 64, 6, true>(LINEAR_FP8_WGMMA_ARGUMENTS, bn, bk);
}
extern "C" __global__ void __launch_bounds__(256, 1)
    linear_fp8_wgmma_block_bf16_w2_n128(LINEAR_FP8_WGMMA_PARAMETERS, int bn, int bk) {
    linear_fp8_wgmma<2, 128, 5, true>(LINEAR_FP8_WGMMA_ARGUMENTS, bn, bk);
}

extern "C" __global__ void __launch_bounds__(256)
    fp8_wgmma_reduce_bf16(const float *__restrict__ partials, int splits, const float *__restrict__ xScales,
                          const float *__restrict__ weightScales, const bf16_t *__restrict__ bias, bf16_t *__restrict__ out,
                          int M, int N) {
    grid_dependency_wait();
    const long long index = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (index >= (long long)M * N) return;
    const int row = (int)(index % N);
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += partials[(long long)s * M * N + index];
    if (xScales) sum *= xScales[index / N] * weightScales[row];
    out[index] = f32_to_bf16(sum + (bias ? bf16_to_f32(bias[row]) : 0.0f));
}
