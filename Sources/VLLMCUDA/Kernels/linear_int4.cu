// linear_int4.cu: linears of 4-bit integer weights (W4A16: GPTQ, AWQ, compressed-tensors), bf16 activations.
//
// The weight's layout and the helpers both GEMMs share: int4.cuh.
//
// linear_int4_small[_g128]_bf16     x [M, xDepth] bf16, weight, bias [N] bf16 or null → out [M, N] bf16; xDepth is K,
//   or K / 2 for an 8-bit weight's two planes (stored column k multiplies x's column k mod xDepth)
// linear_int4_small[_g128]_bf16_f32 the same → out [M, N] f32 holding bf16 values (logits of a quantized lm_head)
//   M ≤ 8·TG, TG ∈ {1, 2, 4} token groups (the entry point's suffix _tTG), K % 32 == 0, x 16-byte aligned;
//   _g128 where groupSize % 128 == 0 (scales applied once per 128-k step, see linear_int4_warp; at ≤ 8 tokens those
//   run linear_int4_decode.cu instead).
//   grid (ceil(N / 16)), block 32 · numWarps. A CTA owns 16 rows; its warps split K in
//   steps of 128 (lane t of each quad takes 32 k); lane (g, t) dequantizes rows g and g + 8 of its 32 k into registers and
//   feeds them as the A operand of mma.m16n8k16 (bf16, f32 sums) with tokens g + 8j as B — the scheme of
//   linear.cu: a dot product does not care in which order K is summed, as long as A and B share it.
//   The packed weight streams from DRAM once for all tokens (16 bytes per row per step, INT4_STEPS steps in
//   flight); x comes through L1. Warps meet in shared memory, summed in warp order (deterministic).
//   The bf16-out entry points also fold the op after them in as linear_small_bf16 does (mode: linear_epilogue.cuh's LINEAR_*;
//   gated, a CTA's first ROWS/2 rows are gate rows and its last ROWS/2 the matching up rows).
// linear_int4_gemm_bf16[_f32]_nNT  the same parameters and partials [splits, M, N] f32, for decode steps of a few dozen
//   to 128 sequences (CUDABackend.int4Path says which by shape): a tiled tensor-core GEMM that dequantizes the weight in registers (as vLLM's Marlin), so the
//   packed weight is read once per token tile instead of being written out as bf16 for cuBLASLt. K % 128 == 0,
//   groupSize % 32 == 0, x 16-byte aligned. A CTA owns 32·R weight rows × 8·NT·T tokens (warps R × T, each 32 rows
//   × 8·NT tokens: two 16-row A tiles × NT 8-token B tiles) and walks K (or its share of K: grid z splits K, each
//   split's f32 sums go to partials and int4_gemm_reduce adds them up) in chunks of 128 through INT4_GEMM_STAGES
//   shared-memory stages filled by cp.async: the packed rows ([rows][64 bytes]: lane t's 16 bytes are its 32 k, as
//   in linear_int4_small) and x's rows ([tokens][256 bytes], 16-byte pieces swizzled so a warp's reads meet no bank
//   conflict). Lane (g, t) dequantizes rows g, g + 8, g + 16 and g + 24 of its warp's 32 rows, its 32 k — (code − zero) · scale rounded once to bf16,
//   as dequantize_int4_bf16 — and multiplies them with tokens g + 8j of the same 32 k. grid (⌈M / TOKENS⌉, ⌈N / ROWS⌉, splits):
//   the token tiles of one row tile are neighbours, so the packed weight mostly comes from L2 after the first.
// dequantize_int4_bf16  weight → out [N, K] bf16, with perm [K] (act-order: stored column k is input column
//   perm[k]) or null; for the linears of more tokens (cuBLASLt then multiplies). grid-stride over words.
//   dequantize_int8_planes_bf16: the same for an 8-bit weight held as two 4-bit planes (below).
// gather_columns_bf16   x [M, inK] → out [M, K], out[m][k] = x[m][perm[k mod inK]] (act-order), perm null: the
//   identity (K = 2·inK: an 8-bit weight's [x | x] for the tiled GEMMs).
#include "int4.cuh"

#define INT4_MAX_WARPS 8
#define INT4_STEPS 4  // 16-byte packed loads per row a lane has in flight

// The 32 k of one lane (a 16-byte load) of one row, dequantized; zero where !valid.
__device__ __forceinline__ void dequant_lane(uint4 words, const unsigned *scaleZeros, int index, bool valid,
                                             unsigned (&out)[16]) {
    if (!valid) {
#pragma unroll
        for (int i = 0; i < 16; ++i) out[i] = 0u;
        return;
    }
    const unsigned sz = scaleZeros[index], scale2 = sz_scale2(sz), negZero2 = sz_zero2(sz);
    dequant_word(words.x, negZero2, scale2, out);
    dequant_word(words.y, negZero2, scale2, out + 4);
    dequant_word(words.z, negZero2, scale2, out + 8);
    dequant_word(words.w, negZero2, scale2, out + 12);
}

// One warp's share of a CTA's 16·TILES rows × K: TILES tiles of 16 rows (16·i + g and 16·i + g + 8 of lane (g, t)),
// INT4_STEPS / TILES k-steps of 128 in flight (16 bytes a row each: 128 bytes a lane whatever TILES is). GROUPED
// (groupSize % 128 == 0, so a warp's 128-k step lies in one group): the MMAs sum (128 + code) · x over the step, an
// MMA of ones sums x (once for all tiles), and the step ends with acc += scale · (Σ(128 + code)·x − (128 + zero) · Σx)
// in f32 — two instructions a code pair instead of four. Otherwise every element is dequantized, (code − zero) ·
// scale, before its MMA.
// weightRow(r): the weight row of the CTA's row r, −1 where it has none. beforeWait(): run just before the wait, under
// the first weight loads (the epilogue's reads of the step's inputs).
template <int TG, bool GROUPED, int TILES, typename RowOf, typename BeforeWait>
__device__ __forceinline__ void linear_int4_warp(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                                 const unsigned *__restrict__ scaleZeros, int numTokens, int K,
                                                 int groupSize, int xDepth, RowOf weightRow,
                                                 float (&acc)[TILES][TG][4], BeforeWait beforeWait) {
    constexpr int STEPS = INT4_STEPS / TILES;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int words = K >> 3, numGroups = K / groupSize;
    bool hasRow[TILES][2];
    long long rows[TILES][2];
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = weightRow(16 * i + 8 * h + g);
            hasRow[i][h] = row >= 0;
            rows[i][h] = hasRow[i][h] ? row : 0;
        }
    const bf16_t *tokenRows[TG];
    bool hasToken[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        hasToken[j] = g + 8 * j < numTokens;
        tokenRows[j] = x + (long long)(hasToken[j] ? g + 8 * j : 0) * xDepth;
    }
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    const int stride = numWarps * 128 * STEPS;
    uint4 w[STEPS][TILES][2];  // [step][tile][rows g, g + 8]
    auto load = [&](int k0, bool early) {  // zeros past K (not read)
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 128 * s + 32 * t;
#pragma unroll
            for (int i = 0; i < TILES; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const unsigned *word = packed + rows[i][h] * words + (k >> 3);
                    w[s][i][h] = early ? load_weight16_early(word, hasRow[i][h] && k < K) : load_weight16(word, hasRow[i][h] && k < K);
                }
        }
    };
    // The weights depend on no earlier kernel: the first loads are in flight before the wait for x (loads that
    // stay before it: common.cuh's load_weight16_early).
    int k0 = warp * 128 * STEPS;
    load(k0, true);
    beforeWait();
    grid_dependency_wait();
    for (; k0 < K; k0 += stride) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 128 * s + 32 * t;
            if (GROUPED) {
                if (k0 + 128 * s >= K) break;  // K % 128 == 0: the whole warp leaves together
                const int group = k / groupSize;
                uint4 v[TG][4];
                float sums[TG][4];
#pragma unroll
                for (int j = 0; j < TG; ++j) {
#pragma unroll
                    for (int i = 0; i < 4; ++i) sums[j][i] = 0.0f;
#pragma unroll
                    for (int q = 0; q < 4; ++q) {
                        v[j][q] = load_activation16(tokenRows[j] + (k < xDepth ? k : k - xDepth) + 8 * q, hasToken[j]);
                        mma_bf16_16x8x16(sums[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, v[j][q].x, v[j][q].y);
                        mma_bf16_16x8x16(sums[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, v[j][q].z, v[j][q].w);
                    }
                }
#pragma unroll
                for (int i = 0; i < TILES; ++i) {
                    float part[TG][4];
#pragma unroll
                    for (int j = 0; j < TG; ++j) part[j][0] = part[j][1] = part[j][2] = part[j][3] = 0.0f;
                    const unsigned wordsA[4] = {w[s][i][0].x, w[s][i][0].y, w[s][i][0].z, w[s][i][0].w};
                    const unsigned wordsB[4] = {w[s][i][1].x, w[s][i][1].y, w[s][i][1].z, w[s][i][1].w};
#pragma unroll
                    for (int q = 0; q < 4; ++q) {
                        unsigned a[4], b[4];
                        raw_word(wordsA[q], a);
                        raw_word(wordsB[q], b);
#pragma unroll
                        for (int j = 0; j < TG; ++j) {
                            mma_bf16_16x8x16(part[j], a[0], b[0], a[1], b[1], v[j][q].x, v[j][q].y);
                            mma_bf16_16x8x16(part[j], a[2], b[2], a[3], b[3], v[j][q].z, v[j][q].w);
                        }
                    }
                    const long long indexA = rows[i][0] * numGroups + group, indexB = rows[i][1] * numGroups + group;
                    const unsigned szA = scaleZeros[indexA], szB = scaleZeros[indexB];
                    const float scaleA = hasRow[i][0] ? sz_scale(szA) : 0.0f, zeroA = sz_zero(szA);
                    const float scaleB = hasRow[i][1] ? sz_scale(szB) : 0.0f, zeroB = sz_zero(szB);
#pragma unroll
                    for (int j = 0; j < TG; ++j) {  // zeros hold −(128 + zero)
                        acc[i][j][0] += scaleA * fmaf(zeroA, sums[j][0], part[j][0]);
                        acc[i][j][1] += scaleA * fmaf(zeroA, sums[j][1], part[j][1]);
                        acc[i][j][2] += scaleB * fmaf(zeroB, sums[j][2], part[j][2]);
                        acc[i][j][3] += scaleB * fmaf(zeroB, sums[j][3], part[j][3]);
                    }
                }
            } else {
                const bool inK = k < K;  // K % 32 == 0: a lane's 32 k are all in or all out
                const int group = inK ? k / groupSize : 0;
#pragma unroll
                for (int i = 0; i < TILES; ++i) {
                    unsigned a[16], b[16];
                    dequant_lane(w[s][i][0], scaleZeros, rows[i][0] * numGroups + group, hasRow[i][0] && inK, a);
                    dequant_lane(w[s][i][1], scaleZeros, rows[i][1] * numGroups + group, hasRow[i][1] && inK, b);
#pragma unroll
                    for (int j = 0; j < TG; ++j) {
                        const bf16_t *xk = tokenRows[j] + (inK ? (k < xDepth ? k : k - xDepth) : 0);
#pragma unroll
                        for (int q = 0; q < 4; ++q) {
                            const uint4 v = load_activation16(xk + 8 * q, hasToken[j] && inK);
                            mma_bf16_16x8x16(acc[i][j], a[4 * q], b[4 * q], a[4 * q + 1], b[4 * q + 1], v.x, v.y);
                            mma_bf16_16x8x16(acc[i][j], a[4 * q + 2], b[4 * q + 2], a[4 * q + 3], b[4 * q + 3], v.z, v.w);
                        }
                    }
                }
            }
        }
        load(k0 + stride, false);
    }
}

template <int TG, bool GROUPED, int TILES, typename Out>
__device__ void linear_int4_small(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                  const unsigned *__restrict__ scaleZeros, const bf16_t *__restrict__ bias,
                                  Out *__restrict__ out, int numTokens, int N, int K, int groupSize, int xDepth,
                                  const LinearMode &mode) {
    constexpr int ROWS = 16 * TILES;
    __shared__ float sums[INT4_MAX_WARPS][8 * TG][ROWS];  // [warp][token][row of the CTA]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    auto weightRow = [&](int r) { return linear_weight_row(r, ROWS, N, mode); };
    float acc[TILES][TG][4];
    __shared__ LinearQKVInputs qkvStash[8 * TG * ROWS / 2];
    auto readQKVInputs = [&] { linear_qkv_stash(qkvStash, 8 * TG * ROWS / 2, numTokens, ROWS, mode); };
    linear_int4_warp<TG, GROUPED, TILES>(x, packed, scaleZeros, numTokens, K, groupSize, xDepth, weightRow, acc,
                                         readQKVInputs);
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) {
            sums[warp][8 * j + 2 * t][16 * i + g] = acc[i][j][0];
            sums[warp][8 * j + 2 * t + 1][16 * i + g] = acc[i][j][1];
            sums[warp][8 * j + 2 * t][16 * i + g + 8] = acc[i][j][2];
            sums[warp][8 * j + 2 * t + 1][16 * i + g + 8] = acc[i][j][3];
        }
    __syncthreads();
    linear_epilogue(out, numTokens, N, ROWS, mode, linear_qkv_unstash(qkvStash, 8 * TG * ROWS / 2, mode), [&](int token, int r) {  // the CTA's row r, with its bias
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        return bias ? sum + bf16_to_f32(bias[weightRow(r)]) : sum;
    });
}

// Every entry point is written out (the kernel loader reads their names from this file). Each waits for the
// kernel before it inside linear_int4_warp, once its first weight loads are in flight. The bf16-out ones take a
// mode (linear_epilogue.cuh's LINEAR_*).

extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_t1(LINEAR_INT4_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_int4_small<1, false, 1, bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_f32_t1(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<1, false, 1, float>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_t2(LINEAR_INT4_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_int4_small<2, false, 1, bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_f32_t2(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<2, false, 1, float>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_t4(LINEAR_INT4_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_int4_small<4, false, 1, bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_bf16_f32_t4(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<4, false, 1, float>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_t2(LINEAR_INT4_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_int4_small<2, true, 1, bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_f32_t2(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<2, true, 1, float>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_t4(LINEAR_INT4_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_int4_small<4, true, 1, bf16_t>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256) linear_int4_small_g128_bf16_f32_t4(LINEAR_INT4_PARAMETERS(float)) {
    linear_int4_small<4, true, 1, float>(LINEAR_INT4_ARGUMENTS, LINEAR_MODE_STORE);
}

extern "C" __global__ void dequantize_int4_bf16(const unsigned *__restrict__ packed, const unsigned *__restrict__ scaleZeros,
                                                const int *__restrict__ perm,
                                                bf16_t *__restrict__ out, int N, int K, int groupSize) {
    grid_dependency_wait();
    const int words = K >> 3, numGroups = K / groupSize;
    const long long count = (long long)N * words, stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        const long long row = i / words;
        const int k = (int)(i - row * words) * 8;
        const int index = (int)row * numGroups + k / groupSize;
        unsigned pairs[4];
        const unsigned sz = scaleZeros[index];
        dequant_word(packed[i], sz_zero2(sz), sz_scale2(sz), pairs);
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
                                               bf16_t *__restrict__ out, int M, int K, int inK) {
    grid_dependency_wait();
    const long long count = (long long)M * K, stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        const long long m = i / K;
        const int column = (int)(i - m * K) % inK;
        out[i] = x[m * inK + (perm ? perm[column] : column)];
    }
}

// An 8-bit weight held as its two 4-bit planes (CUDABackend.makeInt4Weight: packed [N, 2K/8] with the hi nibbles in
// stored columns 0 … K − 1 and the lo nibbles in K … 2K − 1, scaleZeros [N, 2G] with the hi plane's scale 16·s)
// → out [N, K] bf16: (16·hi + lo − zero)·s computed exactly and rounded once, as the reference tools round; perm [2K]
// (stored column → input column, the same for both planes) or null. grid-stride over the hi plane's words.
extern "C" __global__ void dequantize_int8_planes_bf16(const unsigned *__restrict__ packed,
                                                       const unsigned *__restrict__ scaleZeros, const int *__restrict__ perm,
                                                       bf16_t *__restrict__ out, int N, int K, int groupSize) {
    grid_dependency_wait();
    const int words = K >> 3, numGroups = 2 * K / groupSize;
    const long long count = (long long)N * words, stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        const long long row = i / words;
        const int word = (int)(i - row * words), k = 8 * word;
        const unsigned hi = packed[row * 2 * words + word], lo = packed[row * 2 * words + words + word];
        const long long hiGroup = row * numGroups + k / groupSize, loGroup = row * numGroups + (K + k) / groupSize;
        // the pairs' high halves hold −(128 + zero): exact small integers
        const int zero = 16 * (-(int)sz_zero(scaleZeros[hiGroup]) - 128) + (-(int)sz_zero(scaleZeros[loGroup]) - 128);
        const float scale = sz_scale(scaleZeros[loGroup]);
        bf16_t *destination = out + row * K;
#pragma unroll
        for (int p = 0; p < 8; ++p) {  // nibble p holds k-offset {0, 2, 4, 6, 1, 3, 5, 7}[p] (int4.cuh)
            const int offset = p < 4 ? 2 * p : 2 * (p - 4) + 1;
            const int code = (int)(((hi >> (4 * p)) & 0xF) << 4 | ((lo >> (4 * p)) & 0xF));
            const bf16_t value = f32_to_bf16((float)(code - zero) * scale);  // an exact product: 9 bits × 8 bits
            destination[perm ? perm[k + offset] : k + offset] = value;
        }
    }
}

#define INT4_GEMM_STAGES 4

// A CTA of R × T warps, each 32 weight rows × 8·NT tokens.
template <int R, int T, int NT> struct Int4GemmTile {
    static constexpr int ROWS = 32 * R, TOKENS = 8 * NT * T, THREADS = 32 * R * T;
    static constexpr int WEIGHT_BYTES = ROWS * 64, X_BYTES = TOKENS * 256, STAGE_BYTES = WEIGHT_BYTES + X_BYTES;
    static_assert(ROWS * 4 % THREADS == 0 && TOKENS * 16 % THREADS == 0, "each thread copies whole pieces");
};

// Where x's 16-byte piece c (k 8c … 8c + 7 of the chunk) of tile row r lies in its 256-byte row: lane (g, t) reads
// piece 4t + q of rows g (even) and g + 1 of a quad pair at once; flipping bit 1 for pieces 8–15 and bit 0 for odd
// rows puts those 8 reads in 8 different 16-byte bank groups.
__device__ __forceinline__ int int4_gemm_piece(int r, int c) { return c ^ ((((c >> 3) & 1) << 1) | (r & 1)); }

template <int R, int T, int NT, typename Out, int STAGES = INT4_GEMM_STAGES>
__device__ void linear_int4_gemm(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                 const unsigned *__restrict__ scaleZeros, const bf16_t *__restrict__ bias,
                                 Out *__restrict__ out, float *__restrict__ partials,
                                 int M, int N, int K, int groupSize) {
    using Tile = Int4GemmTile<R, T, NT>;
    extern __shared__ uint4 int4GemmShared[];
    unsigned char *const shared = (unsigned char *)int4GemmShared;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int warpRow = 32 * (warp % R), warpToken = 8 * NT * (warp / R);
    const int token0 = blockIdx.x * Tile::TOKENS, row0 = blockIdx.y * Tile::ROWS;
    const int words = K >> 3, numGroups = K / groupSize, totalChunks = K >> 7;
    // Split K (gridDim.z > 1): this CTA's chunks, its sums into partials[z] (f32, no bias), summed by int4_gemm_reduce.
    const int chunkBegin = (int)((long long)totalChunks * blockIdx.z / gridDim.z);
    const int numChunks = (int)((long long)totalChunks * (blockIdx.z + 1) / gridDim.z) - chunkBegin;

    auto loadWeights = [&](int chunk) {
        unsigned char *stage = shared + (chunk % STAGES) * Tile::STAGE_BYTES;
#pragma unroll
        for (int n = 0; n < Tile::ROWS * 4 / Tile::THREADS; ++n) {
            const int i = tid + n * Tile::THREADS, r = i >> 2, c = i & 3;
            const bool valid = row0 + r < N;
            const unsigned *source = packed + (long long)(valid ? row0 + r : 0) * words + (chunkBegin + chunk) * 16 + 4 * c;
            copy16_async(shared_address(stage + r * 64 + c * 16), source, valid);
        }
    };
    auto loadX = [&](int chunk) {
        unsigned char *stage = shared + (chunk % STAGES) * Tile::STAGE_BYTES + Tile::WEIGHT_BYTES;
#pragma unroll
        for (int n = 0; n < Tile::TOKENS * 16 / Tile::THREADS; ++n) {
            const int i = tid + n * Tile::THREADS, r = i >> 4, c = i & 15;
            const bool valid = token0 + r < M;
            const bf16_t *source = x + (long long)(valid ? token0 + r : 0) * K + (chunkBegin + chunk) * 128 + 8 * c;
            copy16_async(shared_address(stage + r * 256 + int4_gemm_piece(r, c) * 16), source, valid);
        }
    };
    // The bf16 pairs (scale, scale) and (−(128 + zero), …) of this lane's 4 rows in chunk `chunk`'s group.
    auto loadScales = [&](int chunk, unsigned (&scale2)[2][2], unsigned (&zero2)[2][2]) {
        const int group = ((chunkBegin + (chunk < numChunks ? chunk : 0)) * 128 + 32 * t) / groupSize;
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int row = row0 + warpRow + 16 * i + 8 * h + g;
                const long long index = (long long)(row < N ? row : 0) * numGroups + group;
                const unsigned sz = scaleZeros[index];
                scale2[i][h] = row < N ? sz_scale2(sz) : 0u;
                zero2[i][h] = sz_zero2(sz);
            }
    };

    // The packed weight and its scales depend on no earlier kernel: in flight before the wait for x.
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s)
        if (s < numChunks) loadWeights(s);
    unsigned scale2[2][2], zero2[2][2];
    loadScales(0, scale2, zero2);
    grid_dependency_wait();
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < numChunks) loadX(s);
        commit_copies();
    }

    float acc[2][NT][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;

    for (int chunk = 0; chunk < numChunks; ++chunk) {
        wait_copies<STAGES - 2>();
        __syncthreads();  // chunk's stage is filled, and every warp is done with the stage refilled next
        const int ahead = chunk + STAGES - 1;
        if (ahead < numChunks) {
            loadWeights(ahead);
            loadX(ahead);
        }
        commit_copies();  // an empty group past the end keeps the count of groups in flight uniform
        unsigned nextScale2[2][2], nextZero2[2][2];
        loadScales(chunk + 1, nextScale2, nextZero2);

        const unsigned char *stage = shared + (chunk % STAGES) * Tile::STAGE_BYTES;
        const unsigned char *xs = stage + Tile::WEIGHT_BYTES;
        uint4 rowWords[2][2];
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int h = 0; h < 2; ++h)
                rowWords[i][h] = *(const uint4 *)(stage + (warpRow + 16 * i + 8 * h + g) * 64 + 16 * t);
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            unsigned a[2][2][4];
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const uint4 w = rowWords[i][h];
                    const unsigned word = q == 0 ? w.x : q == 1 ? w.y : q == 2 ? w.z : w.w;
                    dequant_word(word, zero2[i][h], scale2[i][h], a[i][h]);
                }
#pragma unroll
            for (int j = 0; j < NT; ++j) {
                const int r = warpToken + 8 * j + g;
                const uint4 v = *(const uint4 *)(xs + r * 256 + int4_gemm_piece(r, 4 * t + q) * 16);
#pragma unroll
                for (int i = 0; i < 2; ++i) {
                    mma_bf16_16x8x16(acc[i][j], a[i][0][0], a[i][1][0], a[i][0][1], a[i][1][1], v.x, v.y);
                    mma_bf16_16x8x16(acc[i][j], a[i][0][2], a[i][1][2], a[i][0][3], a[i][1][3], v.z, v.w);
                }
            }
        }
#pragma unroll
        for (int i = 0; i < 2; ++i)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                scale2[i][h] = nextScale2[i][h];
                zero2[i][h] = nextZero2[i][h];
            }
    }
    wait_copies<0>();

    float *const partial = gridDim.z > 1 ? partials + (long long)blockIdx.z * M * N : nullptr;
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = row0 + warpRow + 16 * i + 8 * h + g;
            if (row >= N) continue;
            const float add = bias && !partial ? bf16_to_f32(bias[row]) : 0.0f;
#pragma unroll
            for (int j = 0; j < NT; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int token = token0 + warpToken + 8 * j + 2 * t + e;
                    if (token >= M) continue;
                    const long long index = (long long)token * N + row;
                    if (partial) partial[index] = acc[i][j][2 * h + e];
                    else out[index] = linear_output<Out>(acc[i][j][2 * h + e] + add);
                }
        }
}

// out [M, N] = Σ_s partials[s] (+ bias), summed in split order (deterministic), rounded as linear_int4_gemm rounds.
template <typename Out>
__device__ void int4_gemm_reduce(const float *__restrict__ partials, const bf16_t *__restrict__ bias,
                                 Out *__restrict__ out, int M, int N, int splits) {
    grid_dependency_wait();
    const long long count = (long long)M * N, stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        float sum = 0.0f;
        for (int s = 0; s < splits; ++s) sum += partials[s * count + i];
        if (bias) sum += bf16_to_f32(bias[i % N]);
        out[i] = linear_output<Out>(sum);
    }
}
extern "C" __global__ void int4_gemm_reduce_bf16(const float *__restrict__ partials, const bf16_t *__restrict__ bias,
                                                 bf16_t *__restrict__ out, int M, int N, int splits) {
    int4_gemm_reduce<bf16_t>(partials, bias, out, M, N, splits);
}
extern "C" __global__ void int4_gemm_reduce_f32(const float *__restrict__ partials, const bf16_t *__restrict__ bias,
                                                float *__restrict__ out, int M, int N, int splits) {
    int4_gemm_reduce<float>(partials, bias, out, M, N, splits);
}

// The CTA shape (bench-linear on the H200, docs/gpu-runs/2026-11-30f run1–run2: 4 × 2 and 2 × 2 warps of 32 tokens
// each, 4 × 2 and 8 × 1 warps of 64 were slower or no faster): 4 warps of 32 rows × 8·NT tokens, 2 CTAs an SM. NT
// (the suffix _nNT, 4–8) is cut to the step: a CTA's time goes with its width (docs/gpu-runs/2026-12-01c run3: at
// 80 tokens two CTAs of 40 take 21 % less than two of 64), so CUDABackend.int4GemmTile covers the tokens with as
// few 64-token tiles as fit and makes each as narrow as its share. The f32 output (a quantized lm_head's logits, a
// rare layout) has width 8 only: each entry point costs NVRTC ~2 s to compile on a cold kernel cache.
static_assert(INT4_GEMM_STAGES * Int4GemmTile<4, 1, 8>::STAGE_BYTES == 98304 && Int4GemmTile<4, 1, 8>::THREADS == 128,
              "CUDABackend.int4GemmSharedBytes and int4GemmThreads");
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_gemm_bf16_n4(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_gemm<4, 1, 4, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_gemm_bf16_n5(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_gemm<4, 1, 5, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_gemm_bf16_n6(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_gemm<4, 1, 6, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_gemm_bf16_n7(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_gemm<4, 1, 7, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_gemm_bf16_n8(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_gemm<4, 1, 8, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_gemm_bf16_f32_n8(LINEAR_INT4_GEMM_PARAMETERS(float)) {
    linear_int4_gemm<4, 1, 8, float>(LINEAR_INT4_GEMM_ARGUMENTS);
}
