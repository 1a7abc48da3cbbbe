// linear_fp8.cu: linears of FP8 e4m3 weights (W8A8: `fp8` checkpoints, compressed-tensors float-quantized,
// `--quantization fp8`), weight [N, K] e4m3 bytes with one f32 scale per output row.
//
// linear_fp8_small_bf16_tTG  decode steps (M ≤ 8·TG tokens, TG ∈ {1, 2} groups of 8), as linear.cu's linear_small
//   but reading one byte a weight:
//   x [M, K] bf16, weight [N, K] e4m3, scales [N] f32, bias [N] bf16 or null → out [M, N] bf16,
//   out = bf16(Σ_k w·x · scale + bias). The activations stay bf16 (W8A16 here: exact e4m3 → bf16 in registers,
//   no activation quantization launch), the sum is f32. K % 16 == 0, x and weight 16-byte aligned.
//   grid (ceil(N / R)), block 32 · numWarps, R ∈ {8, 16} rows a CTA (16 where N / 16 still fills the GPU). Lane (g, t) loads the 16
//   bytes at k + 16t of weight rows g (and g + 8) and 32 bytes of token g at the same k, and feeds them to four
//   mma.m16n8k16 in one k order for both operands (a dot product does not care which). A weight byte becomes
//   a bf16 whose exponent and mantissa fields are the e4m3's (its value 2^-120 times the e4m3's, subnormals
//   included), times 2^120 by one exact bf16x2 FMA.
// linear_fp8_small_block_bf16_tTG  the same on a block-scaled weight (`weight_block_size`, DeepSeek / Qwen3-FP8
//   checkpoints): scales [⌈N / bn⌉, ⌈K / bk⌉] f32, weight (n, k) = e4m3 · scales[n / bn][k / bk]; bk = 2^bkShift ≥ 64
//   (a warp's 64-k step lies in one block). Each step's MMAs start from zero and are added scaled by the step's block
//   (its two rows' scales), so the sum stays f32 and no product is rounded.
// quantize_fp8_rows_bf16  x [M, K] bf16 → q [M, K] e4m3, scales [M] f32: per token, scale = max(amax / 448,
//   1 / (448 · 512)) and q = e4m3(x / scale) (nearest even, saturating), as vLLM's dynamic per-token quantization
//   (fp8.cuh). grid M, block 256; K % 8 == 0. The GEMM that follows is cuBLASLt's FP8 one (scales as outer vectors),
//   for the steps CUDABackend.fp8TakesSmall leaves it (more than 16 tokens, or 8 on the largest linears) — where the
//   op before does not quantize its own output for it (layernorm.cu's and elementwise.cu's *_quant_fp8 kernels).
// dequantize_fp8_block_bf16  a block-scaled weight [N, K] → bf16 [N, K], each e4m3 · its block's scale rounded once
//   (for the steps CUDABackend leaves to cuBLASLt's bf16 GEMM: no wgmma here, or a block that is not whole 128-k chunks).
//   K % 8 == 0; 8 weights a thread.
// quantize_fp8_groups_bf16  x [numTokens, K] bf16 → q [M, K] e4m3, scales [K / G, M] f32 (tokens contiguous, as
//   cuBLASLt's VEC128_32F and linear_fp8_wgmma_block read them; M = the grid): a scale per token per G columns (the
//   same rule), as vLLM's per-token-group quantization before a block-scaled FP8 GEMM (G = the weight's bk). Rows
//   from numTokens on are padding: zero codes, scales 1. block 256; G ∈ {64, 128, 256}, K % G == 0.
#include "fp8.cuh"

#define FP8_LINEAR_MAX_WARPS 8
#define FP8_LINEAR_LOADS 8  // 16-byte weight loads a lane has in flight per iteration

// Four e4m3 codes (one word, k order) as two bf16 pairs with the same values, exact.
__device__ __forceinline__ void e4m3x4_to_bf16x4(unsigned word, unsigned &low, unsigned &high) {
#if __CUDA_ARCH__ >= 800
    // Bytes [0, b0, 0, b1] and [0, b2, 0, b3]: each half a code shifted to the top byte (sign at bit 15);
    // exponent and mantissa down four bits into the low end of bf16's (bits 10..4), the sign kept.
    const unsigned p0 = __byte_perm(word, 0, 0x1404), p1 = __byte_perm(word, 0, 0x3424);
    const unsigned h0 = ((p0 >> 4) & 0x07F007F0u) | (p0 & 0x80008000u);
    const unsigned h1 = ((p1 >> 4) & 0x07F007F0u) | (p1 & 0x80008000u);
    const unsigned twoTo120 = 0x7B807B80u, negativeZero = 0x80008000u;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(low) : "r"(h0), "r"(twoTo120), "r"(negativeZero));
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(high) : "r"(h1), "r"(twoTo120), "r"(negativeZero));
#else
    low = high = 0;
#endif
}

// One warp's share of a CTA's R rows × K for TG groups of 8 tokens: acc[j] as mma_bf16_16x8x16 leaves it (rows ×
// tokens 8j …).
// BLOCK: blockScales [⌈N / bn⌉, ⌈K / 2^bkShift⌉], each step's products scaled by their block (bkShift ≥ 6).
template <int R, int TG, bool BLOCK>
__device__ __forceinline__ void linear_fp8_small_warp(const bf16_t *__restrict__ x, const unsigned char *__restrict__ weight,
                                                      const float *__restrict__ blockScales, int bn, int bkShift,
                                                      int numTokens, int N, int K, int row0, float (&acc)[TG][4]) {
    constexpr int STEPS = FP8_LINEAR_LOADS / (R / 8);  // 64 k a step
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const bool hasRowA = row0 + g < N, hasRowB = R == 16 && row0 + g + 8 < N;
    const unsigned char *rowA = weight + (long long)(hasRowA ? row0 + g : 0) * K + 16 * t;
    const unsigned char *rowB = weight + (long long)(hasRowB ? row0 + g + 8 : 0) * K + 16 * t;
    const int kBlocks = BLOCK ? (K + (1 << bkShift) - 1) >> bkShift : 0;
    const float *scalesA = BLOCK ? blockScales + (long long)((hasRowA ? row0 + g : 0) / bn) * kBlocks : nullptr;
    const float *scalesB = BLOCK ? blockScales + (long long)((hasRowB ? row0 + g + 8 : 0) / bn) * kBlocks : nullptr;
    bool hasToken[TG];
    const bf16_t *tokens[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        hasToken[j] = g + 8 * j < numTokens;
        tokens[j] = x + (long long)(hasToken[j] ? g + 8 * j : 0) * K + 16 * t;
    }
    float partial[2][TG][4];  // two chains of MMAs a token group
#pragma unroll
    for (int c = 0; c < 2; ++c)
#pragma unroll
        for (int j = 0; j < TG; ++j) partial[c][j][0] = partial[c][j][1] = partial[c][j][2] = partial[c][j][3] = 0.0f;
    // One k-step of the warp; `early` (the first, a constant at each call) issues its weight loads with loads that stay
    // before the wait (common.cuh's load_weight16_early), then waits for x.
    auto iteration = [&](int k0, bool early) {
        uint4 a[STEPS], b[STEPS];
        float scaleA[STEPS], scaleB[STEPS];  // BLOCK: the step's block scales of rows g and g + 8 (0 past K)
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 64 * s;
            const bool inK = k + 16 * t < K;  // K % 16 == 0: a lane's 16 elements are all in or all out
            if (BLOCK) {
                scaleA[s] = k < K ? __ldg(scalesA + (k >> bkShift)) : 0.0f;
                scaleB[s] = k < K && R == 16 ? __ldg(scalesB + (k >> bkShift)) : 0.0f;
            }
            if (early) {
                a[s] = load_weight16_early(rowA + k, hasRowA && inK);
                b[s] = R == 16 ? load_weight16_early(rowB + k, hasRowB && inK) : make_uint4(0, 0, 0, 0);
            } else {
                a[s] = load_weight16(rowA + k, hasRowA && inK);
                b[s] = R == 16 ? load_weight16(rowB + k, hasRowB && inK) : make_uint4(0, 0, 0, 0);
            }
        }
        if (early) grid_dependency_wait();
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 64 * s;
            const bool inK = k + 16 * t < K;
            unsigned xs[TG][8];
#pragma unroll
            for (int j = 0; j < TG; ++j) {
                const uint4 v0 = load_activation16(tokens[j] + k, hasToken[j] && inK);
                const uint4 v1 = load_activation16(tokens[j] + k + 8, hasToken[j] && inK);
                xs[j][0] = v0.x, xs[j][1] = v0.y, xs[j][2] = v0.z, xs[j][3] = v0.w;
                xs[j][4] = v1.x, xs[j][5] = v1.y, xs[j][6] = v1.z, xs[j][7] = v1.w;
            }
            const unsigned va[4] = {a[s].x, a[s].y, a[s].z, a[s].w}, vb[4] = {b[s].x, b[s].y, b[s].z, b[s].w};
            constexpr int CHAINS = TG == 1 ? 2 : 1;  // BLOCK: two MMA chains for one token group (two groups are two)
            float step[CHAINS][TG][4];               // BLOCK: this step's products, before its block scales
            if (BLOCK) {
#pragma unroll
                for (int c = 0; c < CHAINS; ++c)
#pragma unroll
                    for (int j = 0; j < TG; ++j) step[c][j][0] = step[c][j][1] = step[c][j][2] = step[c][j][3] = 0.0f;
            }
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a0, a2, a1 = 0, a3 = 0;
                e4m3x4_to_bf16x4(va[q], a0, a2);
                if (R == 16) e4m3x4_to_bf16x4(vb[q], a1, a3);
#pragma unroll
                for (int j = 0; j < TG; ++j)
                    mma_bf16_16x8x16(BLOCK ? step[q % CHAINS][j] : partial[q & 1][j], a0, a1, a2, a3, xs[j][2 * q], xs[j][2 * q + 1]);
            }
            if (BLOCK) {
#pragma unroll
                for (int j = 0; j < TG; ++j) {  // accumulator elements 0, 1: row g; 2, 3: row g + 8
#pragma unroll
                    for (int c = 0; c < CHAINS; ++c) {
                        partial[s & 1][j][0] += step[c][j][0] * scaleA[s];
                        partial[s & 1][j][1] += step[c][j][1] * scaleA[s];
                        partial[s & 1][j][2] += step[c][j][2] * scaleB[s];
                        partial[s & 1][j][3] += step[c][j][3] * scaleB[s];
                    }
                }
            }
        }
    };
    const int stride = numWarps * STEPS * 64;
    int k0 = warp * STEPS * 64;
    if (k0 < K) {
        iteration(k0, true);
        k0 += stride;
    }
    for (; k0 < K; k0 += stride) iteration(k0, false);
    grid_dependency_wait();
#pragma unroll
    for (int j = 0; j < TG; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[j][i] = partial[0][j][i] + partial[1][j][i];
}

// BLOCK: `scales` are block scales [⌈N / bn⌉, ⌈K / bk⌉], applied step by step; else one a row, applied to the sum.
template <int TG, bool BLOCK>
__device__ void linear_fp8_small(const bf16_t *__restrict__ x, const unsigned char *__restrict__ weight,
                                 const float *__restrict__ scales, const bf16_t *__restrict__ bias, bf16_t *__restrict__ out,
                                 int numTokens, int N, int K, int rowsPerBlock, int bn, int bkShift) {
    __shared__ float sums[FP8_LINEAR_MAX_WARPS][8 * TG][16];  // [warp][token][row of the CTA]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * rowsPerBlock;
    float acc[TG][4];
    if (rowsPerBlock == 16) {
        linear_fp8_small_warp<16, TG, BLOCK>(x, weight, scales, bn, bkShift, numTokens, N, K, row0, acc);
    } else {
        linear_fp8_small_warp<8, TG, BLOCK>(x, weight, scales, bn, bkShift, numTokens, N, K, row0, acc);
    }
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        sums[warp][8 * j + 2 * t][g] = acc[j][0];
        sums[warp][8 * j + 2 * t + 1][g] = acc[j][1];
        sums[warp][8 * j + 2 * t][g + 8] = acc[j][2];
        sums[warp][8 * j + 2 * t + 1][g + 8] = acc[j][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * rowsPerBlock; i += blockDim.x) {
        const int tokenIndex = i / rowsPerBlock, r = i - tokenIndex * rowsPerBlock, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][tokenIndex][r];
        if (!BLOCK) sum *= scales[row];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)tokenIndex * N + row] = f32_to_bf16(sum);
    }
}

#define LINEAR_FP8_SMALL_PARAMETERS                                                                                     \
    const bf16_t *__restrict__ x, const unsigned char *__restrict__ weight, const float *__restrict__ scales,           \
        const bf16_t *__restrict__ bias, bf16_t *__restrict__ out, int numTokens, int N, int K, int rowsPerBlock
// Each waits for the kernel before it inside linear_fp8_small_warp, once its first weight loads are in flight.
extern "C" __global__ void __launch_bounds__(256, 2) linear_fp8_small_bf16_t1(LINEAR_FP8_SMALL_PARAMETERS) {
    linear_fp8_small<1, false>(x, weight, scales, bias, out, numTokens, N, K, rowsPerBlock, 0, 0);
}
extern "C" __global__ void __launch_bounds__(256, 2) linear_fp8_small_bf16_t2(LINEAR_FP8_SMALL_PARAMETERS) {
    linear_fp8_small<2, false>(x, weight, scales, bias, out, numTokens, N, K, rowsPerBlock, 0, 0);
}
// `scales` the block scales, blocks of bn rows × 2^bkShift columns.
extern "C" __global__ void __launch_bounds__(256, 2)
    linear_fp8_small_block_bf16_t1(LINEAR_FP8_SMALL_PARAMETERS, int bn, int bkShift) {
    linear_fp8_small<1, true>(x, weight, scales, bias, out, numTokens, N, K, rowsPerBlock, bn, bkShift);
}
extern "C" __global__ void __launch_bounds__(256, 2)
    linear_fp8_small_block_bf16_t2(LINEAR_FP8_SMALL_PARAMETERS, int bn, int bkShift) {
    linear_fp8_small<2, true>(x, weight, scales, bias, out, numTokens, N, K, rowsPerBlock, bn, bkShift);
}

extern "C" __global__ void __launch_bounds__(256)
    quantize_fp8_rows_bf16(const bf16_t *__restrict__ x, unsigned char *__restrict__ q, float *__restrict__ scales,
                           int K) {
    __shared__ float scratch[32];
    grid_dependency_wait();
    const long long base = (long long)blockIdx.x * K;
    float amax = 0.0f;
    for (int k = 8 * threadIdx.x; k < K; k += 8 * blockDim.x) {
        float v[8];
        load8(x + base + k, v);
#pragma unroll
        for (int i = 0; i < 8; ++i) amax = fmaxf(amax, fabsf(v[i]));
    }
    amax = block_max(amax, scratch);
    const float scale = fp8_activation_scale(amax);
    const float inverse = 1.0f / scale;
    if (threadIdx.x == 0) scales[blockIdx.x] = scale;
    for (int k = 8 * threadIdx.x; k < K; k += 8 * blockDim.x) {
        float v[8];
        load8(x + base + k, v);
        *(uint2 *)(q + base + k) = e4m3x8(v, inverse);
    }
}

extern "C" __global__ void __launch_bounds__(256)
    quantize_fp8_groups_bf16(const bf16_t *__restrict__ x, unsigned char *__restrict__ q, float *__restrict__ scales, int K,
                             int groupSize, int numTokens) {
    grid_dependency_wait();
    const long long base = (long long)blockIdx.x * K;
    if ((int)blockIdx.x >= numTokens) {  // a padding row (cuBLASLt's block scales want a multiple of 4 tokens): zeros
        for (int k = 8 * threadIdx.x; k < K; k += 8 * blockDim.x) {
            *(uint2 *)(q + base + k) = make_uint2(0, 0);
            if (k % groupSize == 0) scales[(long long)(k / groupSize) * gridDim.x + blockIdx.x] = 1.0f;
        }
        return;
    }
    const int lanesPerGroup = groupSize / 8;  // 8, 16 or 32 consecutive lanes of one warp: a group's 8-column units
    for (int k = 8 * threadIdx.x; k < K; k += 8 * blockDim.x) {  // blockDim.x · 8 is a multiple of groupSize
        float v[8];
        load8(x + base + k, v);
        float amax = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) amax = fmaxf(amax, fabsf(v[i]));
        for (int offset = lanesPerGroup / 2; offset > 0; offset /= 2) amax = fmaxf(amax, __shfl_xor_sync(__activemask(), amax, offset));  // whole groups are active
        const float scale = fp8_activation_scale(amax);
        if (k % groupSize == 0) {
            scales[(long long)(k / groupSize) * gridDim.x + blockIdx.x] = scale;
        }
        *(uint2 *)(q + base + k) = e4m3x8(v, 1.0f / scale);
    }
}

extern "C" __global__ void __launch_bounds__(256)
    dequantize_fp8_block_bf16(const unsigned char *__restrict__ codes, const float *__restrict__ scales, bf16_t *__restrict__ out,
                              int N, int K, int bn, int bk) {
    grid_dependency_wait();
    const long long units = (long long)N * K / 8, stride = (long long)gridDim.x * blockDim.x;
    const int kBlocks = (K + bk - 1) / bk;
    for (long long unit = (long long)blockIdx.x * blockDim.x + threadIdx.x; unit < units; unit += stride) {
        const long long index = unit * 8;
        const int row = (int)(index / K), k = (int)(index - (long long)row * K);
        const uint2 word = *(const uint2 *)(codes + index);
        unsigned pairs[4];
        e4m3x4_to_bf16x4(word.x, pairs[0], pairs[1]);
        e4m3x4_to_bf16x4(word.y, pairs[2], pairs[3]);
        float v[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) {  // element i of the 8 (bk % 8 == 0: all in one block)
            const unsigned half = (pairs[i >> 1] >> (16 * (i & 1))) & 0xFFFFu;
            v[i] = __uint_as_float(half << 16) * scales[(long long)(row / bn) * kBlocks + k / bk];
        }
        store8(out + index, v);
    }
}
