// linear_int4_decode.cu: the 4-bit linear of decode steps (W1's kernel), groups of whole 128-k steps, ≤ 8 tokens.
//
// linear_int4_decode_bf16[_f32]  x [M, xDepth] bf16, the 4-bit weight as linear_int4.cu's kernels take it (int4.cuh),
//   bias [N] bf16 or null → out [M, N] bf16 (or f32 holding bf16 values: a quantized lm_head's logits); the same
//   parameters as linear_int4_small, with groupSize % 128 == 0, M ≤ 8, N · K / 2 < 2^32 (32-bit byte offsets).
//   grid (ceil(N / 32)), block 32 · {4, 8, 16} warps (CUDABackend.int4DecodeWarps). The bf16 one folds the op after
//   it in (mode: linear_epilogue.cuh's LINEAR_*).
#include "int4.cuh"

#define INT4_DECODE_MAX_WARPS 16

// linear_int4_decode: the grouped path at ≤ 8 tokens (decode steps), as linear_int4_small's grouped step but built
// for instruction count and latency, which bound it (ncu: ~300 instructions a 2 KB step, a warp issuing every 7–10
// cycles; docs/gpu-runs/2026-12-02b run1–run4): nothing is predicated in the loop — rows past N, tokens past
// numTokens and steps past the end read clamped, valid addresses whose sums are never stored —, every address is a
// 32-bit byte offset from the kernel's pointers, and a warp's next step (weights, scale-zero pairs and x) is in flight in
// a second register stage while it computes this one. A CTA owns 32 rows (lane (g, t): CTA rows g, g + 8, g + 16,
// g + 24), its warps take the 128-k steps warp, warp + numWarps, …; the launcher picks 4, 8 or 16 warps so that the
// grid fills the GPU's warp slots in one wave where it can (CUDABackend.int4DecodeWarps). Both stages' weights go out
// before the wait for x, so that under programmatic dependent launch a warp's first two steps stream while the kernel
// before (a norm, attention) ends: W1 TPOT 2.05 → 2.00 ms against the first stage alone (docs/gpu-runs/2026-12-02f run2).
struct Int4DecodeStage {
    uint4 w[4];       // 16 bytes (32 k) of each of the lane's 4 rows
    uint4 x[4];       // token g's 32 k
    unsigned sz[4];   // each row's scaleZeros pair: scale (low half) and −(128 + zero) (high half), bf16
};

// common.cuh's load_weight16 / load_weight16_early without their predicate and zeroing (every address here is valid).
__device__ __forceinline__ uint4 ld_stream16(const void *pointer, bool early) {
    uint4 v;
    if (early) {  // before grid_dependency_wait: coherent and volatile so that it stays there (load_weight16_early)
        asm volatile("ld.global.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer) : "memory");
    } else {
        asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer));
    }
    return v;
}
__device__ __forceinline__ unsigned ld_u32(const void *pointer) {
    unsigned v;
    asm volatile("ld.global.nc.u32 %0, [%1];" : "=r"(v) : "l"(pointer));
    return v;
}

template <typename Out>
__device__ void linear_int4_decode(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                   const unsigned *__restrict__ scaleZeros, const bf16_t *__restrict__ bias, Out *__restrict__ out, int numTokens, int N, int K,
                                   int groupSize, int xDepth, const LinearMode &mode) {
    constexpr int ROWS = 32;
    __shared__ float sums[INT4_DECODE_MAX_WARPS][8][ROWS];  // [warp][token][row of the CTA]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    // The weight row of the CTA's row r, clamped into the weight (the loop reads it; its sums are never stored): the
    // last row, or gated, the last gate or up row.
    auto clampedRow = [&](int r) {
        const int row = linear_weight_row(r, ROWS, N, mode);
        return row >= 0 ? row : mode.mode != LINEAR_GATED ? N - 1 : r < ROWS / 2 ? N / 2 - 1 : N - 1;
    };
    const char *wBytes = (const char *)packed, *pairBytes = (const char *)scaleZeros;
    const char *xBytes = (const char *)x;
    const int numGroups = K / groupSize, numSteps = K >> 7, stepsPerGroup = groupSize >> 7;
    // step / stepsPerGroup by a multiply: exact for step, stepsPerGroup < 2^16
    const unsigned magic = stepsPerGroup == 1 ? 0u : 0xFFFFFFFFu / stepsPerGroup + 1u;
    unsigned wOffset[4], szOffset[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const unsigned row = clampedRow(8 * r + g);
        wOffset[r] = row * (unsigned)(K / 2) + 16u * t;
        szOffset[r] = row * (unsigned)numGroups * 4u;
    }
    const unsigned xOffset = (unsigned)min(g, numTokens - 1) * (unsigned)xDepth * 2u + 64u * t;
    float acc[2][4];
#pragma unroll
    for (int i = 0; i < 2; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
    Int4DecodeStage stages[2];
    auto loadWeights = [&](Int4DecodeStage &stage, int step, bool early) {
        step = min(step, numSteps - 1);
        const unsigned offset = 64u * (unsigned)step;
        const unsigned group = stepsPerGroup == 1 ? (unsigned)step : __umulhi((unsigned)step, magic);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            stage.w[r] = ld_stream16(wBytes + (wOffset[r] + offset), early);
            stage.sz[r] = ld_u32(pairBytes + (szOffset[r] + 4u * group));
        }
    };
    auto loadX = [&](Int4DecodeStage &stage, int step) {  // after the wait: the kernel before wrote x
        const int k = 128 * min(step, numSteps - 1), kk = k < xDepth ? k : k - xDepth;
#pragma unroll
        for (int q = 0; q < 4; ++q) stage.x[q] = load_activation16(xBytes + (xOffset + 2u * kk + 16u * q), true);
    };
    auto compute = [&](const Int4DecodeStage &stage) {
        float xSums[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // Σx over the step for tokens 2t, 2t + 1 (an MMA of ones)
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            mma_bf16_16x8x16(xSums, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, stage.x[q].x, stage.x[q].y);
            mma_bf16_16x8x16(xSums, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, stage.x[q].z, stage.x[q].w);
        }
#pragma unroll
        for (int tile = 0; tile < 2; ++tile) {  // rows g, g + 8 of tile 0 (slots 0, 1) and of tile 1 (slots 2, 3)
            float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            const uint4 A = stage.w[2 * tile], B = stage.w[2 * tile + 1];
            const unsigned wordsA[4] = {A.x, A.y, A.z, A.w}, wordsB[4] = {B.x, B.y, B.z, B.w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a[4], b[4];
                raw_word(wordsA[q], a);
                raw_word(wordsB[q], b);
                mma_bf16_16x8x16(part, a[0], b[0], a[1], b[1], stage.x[q].x, stage.x[q].y);
                mma_bf16_16x8x16(part, a[2], b[2], a[3], b[3], stage.x[q].z, stage.x[q].w);
            }
            const unsigned pa = stage.sz[2 * tile], pb = stage.sz[2 * tile + 1];
            const float scaleA = __uint_as_float(pa << 16), zeroA = __uint_as_float(pa & 0xFFFF0000u);
            const float scaleB = __uint_as_float(pb << 16), zeroB = __uint_as_float(pb & 0xFFFF0000u);
            acc[tile][0] += scaleA * fmaf(zeroA, xSums[0], part[0]);
            acc[tile][1] += scaleA * fmaf(zeroA, xSums[1], part[1]);
            acc[tile][2] += scaleB * fmaf(zeroB, xSums[2], part[2]);
            acc[tile][3] += scaleB * fmaf(zeroB, xSums[3], part[3]);
        }
    };
    // The first weights depend on no earlier kernel: in flight before the wait for x, and (LINEAR_QKV) the epilogue's
    // step inputs read into shared memory.
    __shared__ LinearQKVInputs qkvStash[8 * ROWS / 2];
    int step = warp;
    loadWeights(stages[0], step, true);
    loadWeights(stages[1], step + numWarps, true);
    linear_qkv_stash(qkvStash, 8 * ROWS / 2, numTokens, ROWS, mode);
    grid_dependency_wait();
    loadX(stages[0], step);
    loadX(stages[1], step + numWarps);
    while (step < numSteps) {  // two steps an iteration, so that neither stage is ever copied; each refilled once computed
        compute(stages[0]);
        step += numWarps;
        if (step >= numSteps) break;
        loadWeights(stages[0], step + numWarps, false);
        loadX(stages[0], step + numWarps);
        compute(stages[1]);
        step += numWarps;
        if (step >= numSteps) break;
        loadWeights(stages[1], step + numWarps, false);
        loadX(stages[1], step + numWarps);
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        sums[warp][2 * t][16 * i + g] = acc[i][0];
        sums[warp][2 * t + 1][16 * i + g] = acc[i][1];
        sums[warp][2 * t][16 * i + g + 8] = acc[i][2];
        sums[warp][2 * t + 1][16 * i + g + 8] = acc[i][3];
    }
    __syncthreads();
    linear_epilogue(out, numTokens, N, ROWS, mode, linear_qkv_unstash(qkvStash, 8 * ROWS / 2, mode), [&](int token, int r) {  // the CTA's row r, with its bias
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        return bias ? sum + bf16_to_f32(bias[linear_weight_row(r, ROWS, N, mode)]) : sum;
    });
}

extern "C" __global__ void __launch_bounds__(32 * INT4_DECODE_MAX_WARPS) linear_int4_decode_bf16(LINEAR_INT4_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_int4_decode<bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(32 * INT4_DECODE_MAX_WARPS) linear_int4_decode_bf16_f32(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_decode<float>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}
