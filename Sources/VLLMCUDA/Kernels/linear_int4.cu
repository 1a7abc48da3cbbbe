// linear_int4.cu: linears of 4-bit integer weights (W4A16: GPTQ, AWQ, compressed-tensors), bf16 activations.
//
// The weight, as CUDABackend.makeInt4Weight lays it out:
//   packed [N, K/8] u32: word w of row n holds the codes of k = 8w … 8w + 7, nibble p holding k-offset
//     INTERLEAVE[p] = {0, 2, 4, 6, 1, 3, 5, 7}[p] (AutoAWQ's order), so that (word >> 4i) & 0x000F000F
//     is the pair (8w + 2i, 8w + 2i + 1) in the low halves of a bf16x2 register.
//   scales [N, G] bf16, zeros [N, G] bf16 holding −(128 + zero) (exact: |zero| ≤ 255 would still be).
//   One (row, group) covers groupSize consecutive stored k (groupSize % 32 == 0); an act-order checkpoint is
//   stored with its columns sorted by group (the launcher gathers x's columns in that order first).
//   w[n][k] = (code − zero) · scale: 0x4300 | code is the bf16 of 128 + code, so one fma (× 1, + zeros)
//   gives code − zero exactly and a second (× scale, + −0) rounds the product once, as the reference
//   tools round it to the scale's dtype (bf16 here).
//
// linear_int4_small[_g128]_bf16     x [M, K] bf16, weight, bias [N] bf16 or null → out [M, N] bf16
// linear_int4_small[_g128]_bf16_f32 the same → out [M, N] f32 holding bf16 values (logits of a quantized lm_head)
//   M ≤ 8·TG, TG ∈ {1, 2, 4} token groups (the entry point's suffix _tTG), K % 32 == 0, x 16-byte aligned;
//   _g128 where groupSize % 128 == 0 (scales applied once per 128-k step, see linear_int4_warp).
//   grid (ceil(N / 16)), block 32 · numWarps. A CTA owns 16 rows; its warps split K in steps of 128 (lane
//   t of each quad takes 32 k); lane (g, t) dequantizes rows g and g + 8 of its 32 k into registers and
//   feeds them as the A operand of mma.m16n8k16 (bf16, f32 sums) with tokens g + 8j as B — the scheme of
//   linear.cu: a dot product does not care in which order K is summed, as long as A and B share it.
//   The packed weight streams from DRAM once for all tokens (16 bytes per row per step, INT4_STEPS steps in
//   flight); x comes through L1. Warps meet in shared memory, summed in warp order (deterministic).
//
// dequantize_int4_bf16  weight → out [N, K] bf16, with perm [K] (act-order: stored column k is input column
//   perm[k]) or null; for the linears of more tokens (cuBLASLt then multiplies). grid-stride over words.
// gather_columns_bf16   x [M, K] → out [M, K], out[m][k] = x[m][perm[k]] (act-order).
#include "common.cuh"

#define INT4_MAX_WARPS 8
#define INT4_STEPS 4  // 16-byte packed loads per row a lane has in flight

__device__ __forceinline__ unsigned bf16x2_fma(unsigned a, unsigned b, unsigned c) {
    unsigned d;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}

// The 8 codes of one word as 4 bf16 pairs (k 2i, 2i + 1): (code − zero) · scale.
__device__ __forceinline__ void dequant_word(unsigned word, unsigned negZero2, unsigned scale2, unsigned *out) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        unsigned v;
        asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(v) : "r"(word >> (4 * i)), "r"(0x000F000Fu), "r"(0x43004300u));
        out[i] = bf16x2_fma(bf16x2_fma(v, 0x3F803F80u, negZero2), scale2, 0x80008000u);
    }
}

__device__ __forceinline__ unsigned duplicate(bf16_t value) { return (unsigned)value | ((unsigned)value << 16); }

// The 32 k of one lane (a 16-byte load) of one row, dequantized; zero where !valid.
__device__ __forceinline__ void dequant_lane(uint4 words, const bf16_t *scales, const bf16_t *zeros, int index, bool valid,
                                             unsigned (&out)[16]) {
    if (!valid) {
#pragma unroll
        for (int i = 0; i < 16; ++i) out[i] = 0u;
        return;
    }
    const unsigned scale2 = duplicate(scales[index]), negZero2 = duplicate(zeros[index]);
    dequant_word(words.x, negZero2, scale2, out);
    dequant_word(words.y, negZero2, scale2, out + 4);
    dequant_word(words.z, negZero2, scale2, out + 8);
    dequant_word(words.w, negZero2, scale2, out + 12);
}

// The 8 codes of one word as 4 bf16 pairs (k 2i, 2i + 1) of 128 + code, exact (the grouped path's A operand).
__device__ __forceinline__ void raw_word(unsigned word, unsigned *out) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(out[i]) : "r"(word >> (4 * i)), "r"(0x000F000Fu), "r"(0x43004300u));
    }
}

// One warp's share of a CTA's 16 rows × K. GROUPED (groupSize % 128 == 0, so a warp's 128-k step lies in one
// group): the MMAs sum (128 + code) · x over the step, an MMA of ones sums x, and the step ends with
// acc += scale · (Σ(128 + code)·x − (128 + zero) · Σx) in f32 — two instructions a code pair instead of four.
// Otherwise every element is dequantized, (code − zero) · scale, before its MMA.
template <int TG, bool GROUPED>
__device__ __forceinline__ void linear_int4_warp(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                                 const bf16_t *__restrict__ scales, const bf16_t *__restrict__ zeros,
                                                 int numTokens, int N, int K, int groupSize, int row0,
                                                 float (&acc)[TG][4]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int words = K >> 3, numGroups = K / groupSize;
    const bool hasRowA = row0 + g < N, hasRowB = row0 + g + 8 < N;
    const long long rowA = hasRowA ? row0 + g : 0, rowB = hasRowB ? row0 + g + 8 : 0;
    const unsigned *packedA = packed + rowA * words, *packedB = packed + rowB * words;
    const bf16_t *tokenRows[TG];
    bool hasToken[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        hasToken[j] = g + 8 * j < numTokens;
        tokenRows[j] = x + (long long)(hasToken[j] ? g + 8 * j : 0) * K;
    }
#pragma unroll
    for (int j = 0; j < TG; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    const int stride = numWarps * 128 * INT4_STEPS;
    uint4 wa[INT4_STEPS], wb[INT4_STEPS];
    auto load = [&](int k0) {  // zeros past K (not read)
#pragma unroll
        for (int s = 0; s < INT4_STEPS; ++s) {
            const int k = k0 + 128 * s + 32 * t;
            wa[s] = load_weight16(packedA + (k >> 3), hasRowA && k < K);
            wb[s] = load_weight16(packedB + (k >> 3), hasRowB && k < K);
        }
    };
    // The weights depend on no earlier kernel: the first loads are in flight before the wait for x.
    int k0 = warp * 128 * INT4_STEPS;
    load(k0);
    grid_dependency_wait();
    for (; k0 < K; k0 += stride) {
#pragma unroll
        for (int s = 0; s < INT4_STEPS; ++s) {
            const int k = k0 + 128 * s + 32 * t;
            if (GROUPED) {
                if (k0 + 128 * s >= K) break;  // K % 128 == 0: the whole warp leaves together
                const int group = k / groupSize;
                float part[TG][4], sums[TG][4];
#pragma unroll
                for (int j = 0; j < TG; ++j)
#pragma unroll
                    for (int i = 0; i < 4; ++i) part[j][i] = sums[j][i] = 0.0f;
                const unsigned wordsA[4] = {wa[s].x, wa[s].y, wa[s].z, wa[s].w}, wordsB[4] = {wb[s].x, wb[s].y, wb[s].z, wb[s].w};
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    unsigned a[4], b[4];
                    raw_word(wordsA[q], a);
                    raw_word(wordsB[q], b);
#pragma unroll
                    for (int j = 0; j < TG; ++j) {
                        const uint4 v = load_activation16(tokenRows[j] + k + 8 * q, hasToken[j]);
                        mma_bf16_16x8x16(part[j], a[0], b[0], a[1], b[1], v.x, v.y);
                        mma_bf16_16x8x16(part[j], a[2], b[2], a[3], b[3], v.z, v.w);
                        mma_bf16_16x8x16(sums[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, v.x, v.y);
                        mma_bf16_16x8x16(sums[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, v.z, v.w);
                    }
                }
                const long long indexA = rowA * numGroups + group, indexB = rowB * numGroups + group;
                const float scaleA = hasRowA ? bf16_to_f32(scales[indexA]) : 0.0f, zeroA = bf16_to_f32(zeros[indexA]);
                const float scaleB = hasRowB ? bf16_to_f32(scales[indexB]) : 0.0f, zeroB = bf16_to_f32(zeros[indexB]);
#pragma unroll
                for (int j = 0; j < TG; ++j) {  // zeros hold −(128 + zero)
                    acc[j][0] += scaleA * fmaf(zeroA, sums[j][0], part[j][0]);
                    acc[j][1] += scaleA * fmaf(zeroA, sums[j][1], part[j][1]);
                    acc[j][2] += scaleB * fmaf(zeroB, sums[j][2], part[j][2]);
                    acc[j][3] += scaleB * fmaf(zeroB, sums[j][3], part[j][3]);
                }
            } else {
                const bool inK = k < K;  // K % 32 == 0: a lane's 32 k are all in or all out
                const int group = inK ? k / groupSize : 0;
                unsigned a[16], b[16];
                dequant_lane(wa[s], scales, zeros, rowA * numGroups + group, hasRowA && inK, a);
                dequant_lane(wb[s], scales, zeros, rowB * numGroups + group, hasRowB && inK, b);
#pragma unroll
                for (int j = 0; j < TG; ++j) {
                    const bf16_t *xk = tokenRows[j] + (inK ? k : 0);
#pragma unroll
                    for (int q = 0; q < 4; ++q) {
                        const uint4 v = load_activation16(xk + 8 * q, hasToken[j] && inK);
                        mma_bf16_16x8x16(acc[j], a[4 * q], b[4 * q], a[4 * q + 1], b[4 * q + 1], v.x, v.y);
                        mma_bf16_16x8x16(acc[j], a[4 * q + 2], b[4 * q + 2], a[4 * q + 3], b[4 * q + 3], v.z, v.w);
                    }
                }
            }
        }
        load(k0 + stride);
    }
}

template <typename Out> __device__ __forceinline__ Out int4_output(float value);
template <> __device__ __forceinline__ bf16_t int4_output<bf16_t>(float value) { return f32_to_bf16(value); }
template <> __device__ __forceinline__ float int4_output<float>(float value) { return round_bf16(value); }

template <int TG, bool GROUPED, typename Out>
__device__ void linear_int4_small(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                  const bf16_t *__restrict__ scales, const bf16_t *__restrict__ zeros,
                                  const bf16_t *__restrict__ bias, Out *__restrict__ out, int numTokens, int N, int K,
                                  int groupSize) {
    __shared__ float sums[INT4_MAX_WARPS][8 * TG][16];  // [warp][token][row of the CTA]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * 16;
    float acc[TG][4];
    linear_int4_warp<TG, GROUPED>(x, packed, scales, zeros, numTokens, N, K, groupSize, row0, acc);
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        sums[warp][8 * j + 2 * t][g] = acc[j][0];
        sums[warp][8 * j + 2 * t + 1][g] = acc[j][1];
        sums[warp][8 * j + 2 * t][g + 8] = acc[j][2];
        sums[warp][8 * j + 2 * t + 1][g + 8] = acc[j][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * 16; i += blockDim.x) {
        const int token = i >> 4, r = i & 15, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = int4_output<Out>(sum);
    }
}

// Every entry point is written out (the kernel loader reads their names from this file). Each waits for the
// kernel before it inside linear_int4_warp, once its first weight loads are in flight.
#define LINEAR_INT4_PARAMETERS(OUT)                                                                                \
    const bf16_t *__restrict__ x, const unsigned *__restrict__ packed, const bf16_t *__restrict__ scales,            \
        const bf16_t *__restrict__ zeros, const bf16_t *__restrict__ bias, OUT *__restrict__ out, int numTokens, int N, \
        int K, int groupSize

extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_t1(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<1, false, bf16_t>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_f32_t1(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<1, false, float>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_t2(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<2, false, bf16_t>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_f32_t2(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<2, false, float>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_t4(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<4, false, bf16_t>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_f32_t4(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<4, false, float>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_t1(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<1, true, bf16_t>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_f32_t1(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<1, true, float>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_t2(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<2, true, bf16_t>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_f32_t2(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<2, true, float>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_t4(LINEAR_INT4_PARAMETERS(bf16_t)) {
    linear_int4_small<4, true, bf16_t>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_f32_t4(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<4, true, float>(x, packed, scales, zeros, bias, out, numTokens, N, K, groupSize);
}

extern "C" __global__ void dequantize_int4_bf16(const unsigned *__restrict__ packed, const bf16_t *__restrict__ scales,
                                                const bf16_t *__restrict__ zeros, const int *__restrict__ perm,
                                                bf16_t *__restrict__ out, int N, int K, int groupSize) {
    grid_dependency_wait();
    const int words = K >> 3, numGroups = K / groupSize;
    const long long count = (long long)N * words, stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        const long long row = i / words;
        const int k = (int)(i - row * words) * 8;
        const int index = (int)row * numGroups + k / groupSize;
        unsigned pairs[4];
        dequant_word(packed[i], duplicate(zeros[index]), duplicate(scales[index]), pairs);
        bf16_t *destination = out + row * K;
        if (perm) {
#pragma unroll
            for (int p = 0; p < 4; ++p) {
                destination[perm[k + 2 * p]] = (bf16_t)(pairs[p] & 0xFFFFu);
                destination[perm[k + 2 * p + 1]] = (bf16_t)(pairs[p] >> 16);
            }
        } else {
            *(uint4 *)(destination + k) = make_uint4(pairs[0], pairs[1], pairs[2], pairs[3]);
        }
    }
}

extern "C" __global__ void gather_columns_bf16(const bf16_t *__restrict__ x, const int *__restrict__ perm,
                                               bf16_t *__restrict__ out, int M, int K) {
    grid_dependency_wait();
    const long long count = (long long)M * K, stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        const long long m = i / K;
        out[i] = x[m * K + perm[i - m * K]];
    }
}
