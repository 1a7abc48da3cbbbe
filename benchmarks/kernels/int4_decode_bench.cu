// int4_decode_bench.cu: the 4-bit decode kernel of linear_int4.cu (linear_int4_small, Sources/VLLMCUDA/Kernels, included
// unchanged) at one and two tokens against the same loop at other weight rows a CTA (TILES tiles of 16 rows a warp, the
// k-steps in flight cut to keep 128 bytes a lane in flight) on Llama-3-8B's and Qwen2.5-14B's linears, groups of 128,
// outside the engine. Built here (nvcc needs no GPU) and
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
#include <cstring>
#include <vector>
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



// ---- linear_int4_pipe (experiment): the same grouped step as linear_int4_small (TILES = 2, 32 rows a CTA), its
// weight and scales/zeros copied by cp.async into a per-warp ring of D stages in shared memory (a lane reads back only
// what its quad copied), x one step ahead in registers, the MMA chains split in two. A warp's steps are
// warp, warp + numWarps, … (128 k each), as linear_int4_small's.
__device__ __forceinline__ void copy4_async(unsigned destination, const void *source, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(destination), "l"(source), "r"(valid ? 4 : 0));
}
struct PipeStage {
    uint4 w[4][32];        // [row slot 2·tile + half][lane]
    unsigned sz[8][4][2];  // [g][row slot][scale word, zero word] (the aligned 4 bytes holding the bf16)
};
static size_t pipeShared(int numWarps, int D, int TG) { return (size_t)numWarps * D * sizeof(PipeStage) + (size_t)numWarps * 8 * TG * 32 * 4; }

template <int TG, int D>
__global__ void __launch_bounds__(512) linear_int4_pipe(LINEAR_INT4_PARAMETERS(bf16_t), int mode) {
    constexpr int ROWS = 32, GATE_ROWS = 16;
    extern __shared__ __align__(16) unsigned char pipeMemory[];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    PipeStage *ring = (PipeStage *)pipeMemory + warp * D;
    float *sums = (float *)((PipeStage *)pipeMemory + numWarps * D);  // [warp][8·TG][ROWS]
    const int row0 = blockIdx.x * ROWS, half = N / 2;
    auto weightRow = [&](int r) {
        if (mode != LINEAR_GATED) return row0 + r < N ? row0 + r : -1;
        const int j = blockIdx.x * GATE_ROWS + r % GATE_ROWS;
        return j < half ? (r < GATE_ROWS ? j : half + j) : -1;
    };
    const int words = K >> 3, numGroups = K / groupSize, numSteps = K >> 7, stepsPerGroup = groupSize >> 7;
    long long rows[4];
    bool hasRow[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int row = weightRow(16 * (r >> 1) + 8 * (r & 1) + g);
        hasRow[r] = row >= 0;
        rows[r] = hasRow[r] ? row : 0;
    }
    const long long myRow = t == 0 ? rows[0] : t == 1 ? rows[1] : t == 2 ? rows[2] : rows[3];
    const bool myHas = t == 0 ? hasRow[0] : t == 1 ? hasRow[1] : t == 2 ? hasRow[2] : hasRow[3];
    const bf16_t *tokenRows[TG];
    bool hasToken[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        hasToken[j] = g + 8 * j < numTokens;
        tokenRows[j] = x + (long long)(hasToken[j] ? g + 8 * j : 0) * xDepth;
    }
    auto issue = [&](int i) {
        const int step = warp + numWarps * i;
        if (step < numSteps) {
            PipeStage &s = ring[i & (D - 1)];
            const int k = step * 128 + 32 * t;
#pragma unroll
            for (int r = 0; r < 4; ++r) copy16_async(shared_address(&s.w[r][lane]), packed + rows[r] * words + (k >> 3), hasRow[r]);
            const long long index = (myRow * numGroups + step / stepsPerGroup) & ~1LL;
            copy4_async(shared_address(&s.sz[g][t][0]), scales + index, myHas);
            copy4_async(shared_address(&s.sz[g][t][1]), zeros + index, myHas);
        }
        commit_copies();
    };
    auto loadX = [&](int i, uint4 (&v)[TG][4]) {
        const int step = warp + numWarps * i;
        const bool in = step < numSteps;
        const int k = in ? step * 128 + 32 * t : 0, kk = k < xDepth ? k : k - xDepth;
#pragma unroll
        for (int j = 0; j < TG; ++j)
#pragma unroll
            for (int q = 0; q < 4; ++q) v[j][q] = load_activation16(tokenRows[j] + kk + 8 * q, hasToken[j] && in);
    };
#pragma unroll
    for (int i = 0; i < D - 1; ++i) issue(i);
    grid_dependency_wait();
    float acc[2][TG][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    uint4 xv[TG][4];
    loadX(0, xv);
    const int mySteps = warp < numSteps ? (numSteps - warp + numWarps - 1) / numWarps : 0;
    for (int i = 0; i < mySteps; ++i) {
        __syncwarp();  // every lane is done with the slot issue() refills
        issue(i + D - 1);
        uint4 xn[TG][4];
        loadX(i + 1, xn);
        wait_copies<D - 1>();
        __syncwarp();
        const PipeStage &s = ring[i & (D - 1)];
        uint4 wv[4];
        uint2 szw[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            wv[r] = s.w[r][lane];
            szw[r] = *(const uint2 *)&s.sz[g][r][0];
        }
        const int group = (warp + numWarps * i) / stepsPerGroup;
        float xs[TG][2][4];
#pragma unroll
        for (int j = 0; j < TG; ++j) {
#pragma unroll
            for (int h = 0; h < 2; ++h) xs[j][h][0] = xs[j][h][1] = xs[j][h][2] = xs[j][h][3] = 0.0f;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                mma_bf16_16x8x16(xs[j][q & 1], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, xv[j][q].x, xv[j][q].y);
                mma_bf16_16x8x16(xs[j][q & 1], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, xv[j][q].z, xv[j][q].w);
            }
        }
#pragma unroll
        for (int tile = 0; tile < 2; ++tile) {
            float part[TG][2][4];
#pragma unroll
            for (int j = 0; j < TG; ++j)
#pragma unroll
                for (int h = 0; h < 2; ++h) part[j][h][0] = part[j][h][1] = part[j][h][2] = part[j][h][3] = 0.0f;
            const uint4 A = wv[2 * tile], B = wv[2 * tile + 1];
            const unsigned wordsA[4] = {A.x, A.y, A.z, A.w}, wordsB[4] = {B.x, B.y, B.z, B.w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a[4], b[4];
                raw_word(wordsA[q], a);
                raw_word(wordsB[q], b);
#pragma unroll
                for (int j = 0; j < TG; ++j) {
                    mma_bf16_16x8x16(part[j][q & 1], a[0], b[0], a[1], b[1], xv[j][q].x, xv[j][q].y);
                    mma_bf16_16x8x16(part[j][q & 1], a[2], b[2], a[3], b[3], xv[j][q].z, xv[j][q].w);
                }
            }
            float scaleOf[2], zeroOf[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const int r = 2 * tile + h;
                const bool high = ((rows[r] * numGroups + group) & 1) != 0;
                const unsigned sw = szw[r].x, zw = szw[r].y;
                scaleOf[h] = hasRow[r] ? __uint_as_float((high ? sw >> 16 : sw & 0xFFFFu) << 16) : 0.0f;
                zeroOf[h] = __uint_as_float((high ? zw >> 16 : zw & 0xFFFFu) << 16);
            }
#pragma unroll
            for (int j = 0; j < TG; ++j) {
#pragma unroll
                for (int c = 0; c < 4; ++c) {
                    const float p = part[j][0][c] + part[j][1][c], sx = xs[j][0][c] + xs[j][1][c];
                    acc[tile][j][c] += scaleOf[c >> 1] * fmaf(zeroOf[c >> 1], sx, p);
                }
            }
        }
#pragma unroll
        for (int j = 0; j < TG; ++j)
#pragma unroll
            for (int q = 0; q < 4; ++q) xv[j][q] = xn[j][q];
    }
    auto at = [&](int w, int token, int r) -> float & { return sums[(w * 8 * TG + token) * ROWS + r]; };
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) {
            at(warp, 8 * j + 2 * t, 16 * i + g) = acc[i][j][0];
            at(warp, 8 * j + 2 * t + 1, 16 * i + g) = acc[i][j][1];
            at(warp, 8 * j + 2 * t, 16 * i + g + 8) = acc[i][j][2];
            at(warp, 8 * j + 2 * t + 1, 16 * i + g + 8) = acc[i][j][3];
        }
    __syncthreads();
    auto total = [&](int token, int r) {
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += at(w, token, r);
        return bias ? sum + bf16_to_f32(bias[weightRow(r)]) : sum;
    };
    if (mode == LINEAR_GATED) {
        for (int i = threadIdx.x; i < numTokens * GATE_ROWS; i += blockDim.x) {
            const int token = i / GATE_ROWS, r = i % GATE_ROWS, j = blockIdx.x * GATE_ROWS + r;
            if (j >= half) continue;
            out[(long long)token * half + j] = load(silu_mul_bf16(total(token, r), total(token, r + GATE_ROWS)));
        }
        return;
    }
    for (int i = threadIdx.x; i < numTokens * ROWS; i += blockDim.x) {
        const int token = i / ROWS, r = i % ROWS, row = row0 + r;
        if (row >= N) continue;
        const long long index = (long long)token * N + row;
        const float value = total(token, r);
        out[index] = f32_to_bf16(mode == LINEAR_ADD ? round_bf16(value) + load(out[index]) : value);
    }
}


// ---- linear_int4_lean (experiment): linear_int4_small's grouped step with its per-step overhead cut — a lane's row,
// scale, zero and x pointers computed once, the group of a step by a multiply (no division), x and the scales of the
// next STEPS steps loaded with their weights; optionally (PACKED) scale and zero as one bf16 pair a (row, group).
__device__ const unsigned *leanPackedScales;  // [N, G] (scale, zero) pairs for PACKED

template <int TG, int TILES, int STEPS, bool PACKED>
__device__ __forceinline__ void linear_int4_lean_warp(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                                      const bf16_t *__restrict__ scales, const bf16_t *__restrict__ zeros,
                                                      int numTokens, int K, int groupSize, int xDepth, int row0, int N,
                                                      float (&acc)[TILES][TG][4]) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int words = K >> 3, numGroups = K / groupSize, numSteps = K >> 7, stepsPerGroup = groupSize >> 7;
    const unsigned magic = stepsPerGroup == 1 ? 0u : 0xFFFFFFFFu / stepsPerGroup + 1u;
    const unsigned *wRow[TILES][2];
    const bf16_t *sRow[TILES][2], *zRow[TILES][2];
    const unsigned *szRow[TILES][2];
    bool hasRow[TILES][2];
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int row = row0 + 16 * i + 8 * h + g;
            hasRow[i][h] = row < N;
            const long long r = hasRow[i][h] ? row : 0;
            wRow[i][h] = packed + r * words + 4 * t;
            sRow[i][h] = scales + r * numGroups;
            zRow[i][h] = zeros + r * numGroups;
            if (PACKED) szRow[i][h] = leanPackedScales + r * numGroups;
        }
    const bf16_t *xRow[TG];
    bool hasToken[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        hasToken[j] = g + 8 * j < numTokens;
        xRow[j] = x + (long long)(hasToken[j] ? g + 8 * j : 0) * xDepth + 32 * t;
    }
#pragma unroll
    for (int i = 0; i < TILES; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    uint4 w[STEPS][TILES][2], xv[STEPS][TG][4];
    float sc[STEPS][TILES][2], zr[STEPS][TILES][2];
    auto loadWeights = [&](int step, bool early) {
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const bool in = step + s < numSteps;
#pragma unroll
            for (int i = 0; i < TILES; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    const unsigned *word = wRow[i][h] + (in ? (step + s) * 16 : 0);
                    w[s][i][h] = early ? load_weight16_early(word, hasRow[i][h] && in) : load_weight16(word, hasRow[i][h] && in);
                }
        }
    };
    auto loadRest = [&](int step) {  // x (after the wait) and the scales
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int st = step + s;
            const bool in = st < numSteps;
            const int k = in ? st * 128 : 0, kk = k < xDepth ? k : k - xDepth;
            const int group = stepsPerGroup == 1 ? (in ? st : 0) : (int)__umulhi((unsigned)(in ? st : 0), magic);
#pragma unroll
            for (int j = 0; j < TG; ++j)
#pragma unroll
                for (int q = 0; q < 4; ++q) xv[s][j][q] = load_activation16(xRow[j] + kk + 8 * q, hasToken[j] && in);
#pragma unroll
            for (int i = 0; i < TILES; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    if (PACKED) {
                        const unsigned pair = szRow[i][h][group];
                        sc[s][i][h] = __uint_as_float(pair << 16);
                        zr[s][i][h] = __uint_as_float(pair & 0xFFFF0000u);
                    } else {
                        sc[s][i][h] = bf16_to_f32(sRow[i][h][group]);
                        zr[s][i][h] = bf16_to_f32(zRow[i][h][group]);
                    }
                    if (!hasRow[i][h]) sc[s][i][h] = 0.0f;
                }
        }
    };
    int step = warp * STEPS;
    const int stride = numWarps * STEPS;
    loadWeights(step, true);
    grid_dependency_wait();
    loadRest(step);
    for (; step < numSteps; step += stride) {
        uint4 cw[STEPS][TILES][2], cx[STEPS][TG][4];
        float cs[STEPS][TILES][2], cz[STEPS][TILES][2];
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
#pragma unroll
            for (int i = 0; i < TILES; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) cw[s][i][h] = w[s][i][h], cs[s][i][h] = sc[s][i][h], cz[s][i][h] = zr[s][i][h];
#pragma unroll
            for (int j = 0; j < TG; ++j)
#pragma unroll
                for (int q = 0; q < 4; ++q) cx[s][j][q] = xv[s][j][q];
        }
        if (step + stride < numSteps) {
            loadWeights(step + stride, false);
            loadRest(step + stride);
        }
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            if (step + s >= numSteps) break;  // the whole warp leaves together
            float sums[TG][4];
#pragma unroll
            for (int j = 0; j < TG; ++j) {
                sums[j][0] = sums[j][1] = sums[j][2] = sums[j][3] = 0.0f;
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    mma_bf16_16x8x16(sums[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, cx[s][j][q].x, cx[s][j][q].y);
                    mma_bf16_16x8x16(sums[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, cx[s][j][q].z, cx[s][j][q].w);
                }
            }
#pragma unroll
            for (int i = 0; i < TILES; ++i) {
                float part[TG][4];
#pragma unroll
                for (int j = 0; j < TG; ++j) part[j][0] = part[j][1] = part[j][2] = part[j][3] = 0.0f;
                const unsigned wordsA[4] = {cw[s][i][0].x, cw[s][i][0].y, cw[s][i][0].z, cw[s][i][0].w};
                const unsigned wordsB[4] = {cw[s][i][1].x, cw[s][i][1].y, cw[s][i][1].z, cw[s][i][1].w};
#pragma unroll
                for (int q = 0; q < 4; ++q) {
                    unsigned a[4], b[4];
                    raw_word(wordsA[q], a);
                    raw_word(wordsB[q], b);
#pragma unroll
                    for (int j = 0; j < TG; ++j) {
                        mma_bf16_16x8x16(part[j], a[0], b[0], a[1], b[1], cx[s][j][q].x, cx[s][j][q].y);
                        mma_bf16_16x8x16(part[j], a[2], b[2], a[3], b[3], cx[s][j][q].z, cx[s][j][q].w);
                    }
                }
#pragma unroll
                for (int j = 0; j < TG; ++j) {
                    acc[i][j][0] += cs[s][i][0] * fmaf(cz[s][i][0], sums[j][0], part[j][0]);
                    acc[i][j][1] += cs[s][i][0] * fmaf(cz[s][i][0], sums[j][1], part[j][1]);
                    acc[i][j][2] += cs[s][i][1] * fmaf(cz[s][i][1], sums[j][2], part[j][2]);
                    acc[i][j][3] += cs[s][i][1] * fmaf(cz[s][i][1], sums[j][3], part[j][3]);
                }
            }
        }
    }
}

template <int TG, int TILES, int STEPS, bool PACKED, int MAXW>
__global__ void __launch_bounds__(32 * MAXW) linear_int4_lean(LINEAR_INT4_PARAMETERS(bf16_t), int mode) {
    constexpr int ROWS = 16 * TILES;
    __shared__ float sums[MAXW][8 * TG][ROWS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * ROWS;
    float acc[TILES][TG][4];
    linear_int4_lean_warp<TG, TILES, STEPS, PACKED>(x, packed, scales, zeros, numTokens, K, groupSize, xDepth, row0, N, acc);
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
    for (int i = threadIdx.x; i < numTokens * ROWS; i += blockDim.x) {
        const int token = i / ROWS, r = i % ROWS, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = f32_to_bf16(sum);
    }
}


// ---- linear_int4_lean2 (experiment): lean with a register ring of BUFS stages (one 128-k step each), unrolled so
// that no stage is copied, addresses as one IMAD.WIDE a load; scale and zero as one bf16 pair a (row, group).
template <int TG, int BUFS>
struct Lean2Stage {
    uint4 w[4];       // row slots g, g + 8, g + 16, g + 24
    uint4 x[TG][4];
    unsigned sz[4];   // (scale, zero) of each row slot
};

template <int TG, int BUFS, int MAXW>
__global__ void __launch_bounds__(32 * MAXW) linear_int4_lean2(LINEAR_INT4_PARAMETERS(bf16_t), int mode) {
    constexpr int ROWS = 32;
    __shared__ float sums[MAXW][8 * TG][ROWS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * ROWS;
    const unsigned *pairs = leanPackedScales;
    const int words = K >> 3, numGroups = K / groupSize, numSteps = K >> 7, stepsPerGroup = groupSize >> 7;
    const unsigned magic = stepsPerGroup == 1 ? 0u : 0xFFFFFFFFu / stepsPerGroup + 1u;
    const uint4 *wRow[4];
    const unsigned *szRow[4];
    bool hasRow[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int row = row0 + 8 * r + g;  // slot r: tile r / 2, half r % 2
        hasRow[r] = row < N;
        const long long safe = hasRow[r] ? row : 0;
        wRow[r] = (const uint4 *)(packed + safe * words) + t;
        szRow[r] = pairs + safe * numGroups;
    }
    const bf16_t *xRow[TG];
    bool hasToken[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) {
        hasToken[j] = g + 8 * j < numTokens;
        xRow[j] = x + (long long)(hasToken[j] ? g + 8 * j : 0) * xDepth + 32 * t;
    }
    float acc[2][TG][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    Lean2Stage<TG, BUFS> ring[BUFS];
    auto loadWeights = [&](Lean2Stage<TG, BUFS> &stage, int step, bool early) {
        const bool in = step < numSteps;
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const uint4 *p = wRow[r] + 4 * (in ? step : 0);
            stage.w[r] = early ? load_weight16_early(p, in && hasRow[r]) : load_weight16(p, in && hasRow[r]);
        }
    };
    auto loadRest = [&](Lean2Stage<TG, BUFS> &stage, int step) {
        const bool in = step < numSteps;
        const int k = in ? 128 * step : 0, kk = k < xDepth ? k : k - xDepth;
        const int group = stepsPerGroup == 1 ? (in ? step : 0) : (int)__umulhi((unsigned)(in ? step : 0), magic);
#pragma unroll
        for (int j = 0; j < TG; ++j)
#pragma unroll
            for (int q = 0; q < 4; ++q) stage.x[j][q] = load_activation16(xRow[j] + kk + 8 * q, in && hasToken[j]);
#pragma unroll
        for (int r = 0; r < 4; ++r) stage.sz[r] = in ? szRow[r][group] : 0u;
    };
    auto compute = [&](const Lean2Stage<TG, BUFS> &stage) {
        float xs[TG][4];
#pragma unroll
        for (int j = 0; j < TG; ++j) {
            xs[j][0] = xs[j][1] = xs[j][2] = xs[j][3] = 0.0f;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                mma_bf16_16x8x16(xs[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, stage.x[j][q].x, stage.x[j][q].y);
                mma_bf16_16x8x16(xs[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, stage.x[j][q].z, stage.x[j][q].w);
            }
        }
#pragma unroll
        for (int tile = 0; tile < 2; ++tile) {
            float part[TG][4];
#pragma unroll
            for (int j = 0; j < TG; ++j) part[j][0] = part[j][1] = part[j][2] = part[j][3] = 0.0f;
            const uint4 A = stage.w[2 * tile], B = stage.w[2 * tile + 1];
            const unsigned wordsA[4] = {A.x, A.y, A.z, A.w}, wordsB[4] = {B.x, B.y, B.z, B.w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a[4], b[4];
                raw_word(wordsA[q], a);
                raw_word(wordsB[q], b);
#pragma unroll
                for (int j = 0; j < TG; ++j) {
                    mma_bf16_16x8x16(part[j], a[0], b[0], a[1], b[1], stage.x[j][q].x, stage.x[j][q].y);
                    mma_bf16_16x8x16(part[j], a[2], b[2], a[3], b[3], stage.x[j][q].z, stage.x[j][q].w);
                }
            }
            const unsigned pa = stage.sz[2 * tile], pb = stage.sz[2 * tile + 1];
            const float sa = hasRow[2 * tile] ? __uint_as_float(pa << 16) : 0.0f, za = __uint_as_float(pa & 0xFFFF0000u);
            const float sb = hasRow[2 * tile + 1] ? __uint_as_float(pb << 16) : 0.0f, zb = __uint_as_float(pb & 0xFFFF0000u);
#pragma unroll
            for (int j = 0; j < TG; ++j) {
                acc[tile][j][0] += sa * fmaf(za, xs[j][0], part[j][0]);
                acc[tile][j][1] += sa * fmaf(za, xs[j][1], part[j][1]);
                acc[tile][j][2] += sb * fmaf(zb, xs[j][2], part[j][2]);
                acc[tile][j][3] += sb * fmaf(zb, xs[j][3], part[j][3]);
            }
        }
    };
    const int stride = numWarps;
    int step = warp;
#pragma unroll
    for (int b = 0; b < BUFS - 1; ++b) loadWeights(ring[b], step + b * stride, true);
    grid_dependency_wait();
#pragma unroll
    for (int b = 0; b < BUFS - 1; ++b) loadRest(ring[b], step + b * stride);
    while (step < numSteps) {
#pragma unroll
        for (int b = 0; b < BUFS; ++b) {
            if (step < numSteps) {
                const int ahead = step + (BUFS - 1) * stride;
                loadWeights(ring[(b + BUFS - 1) % BUFS], ahead, false);
                loadRest(ring[(b + BUFS - 1) % BUFS], ahead);
                compute(ring[b]);
            }
            step += stride;
        }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) {
            sums[warp][8 * j + 2 * t][16 * i + g] = acc[i][j][0];
            sums[warp][8 * j + 2 * t + 1][16 * i + g] = acc[i][j][1];
            sums[warp][8 * j + 2 * t][16 * i + g + 8] = acc[i][j][2];
            sums[warp][8 * j + 2 * t + 1][16 * i + g + 8] = acc[i][j][3];
        }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * ROWS; i += blockDim.x) {
        const int token = i / ROWS, r = i % ROWS, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = f32_to_bf16(sum);
    }
}


// ---- linear_int4_lean3 (experiment): lean2 without predicates in the loop — rows past N, tokens past numTokens and
// steps past the end read clamped (valid) addresses whose sums are never stored —, one base pointer a kind whose row
// slots sit a kernel-uniform stride apart, unpredicated streaming loads.
__device__ __forceinline__ uint4 ld_stream16(const void *pointer) {
    uint4 v;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer));
    return v;
}
__device__ __forceinline__ uint4 ld_stream16_early(const void *pointer) {
    uint4 v;
    asm volatile("ld.global.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer) : "memory");
    return v;
}
__device__ __forceinline__ uint4 ld_activation16(const void *pointer) {
    uint4 v;
    asm volatile("ld.global.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(pointer) : "memory");
    return v;
}
__device__ __forceinline__ unsigned ld_pair(const unsigned *pointer) {
    unsigned v;
    asm volatile("ld.global.nc.u32 %0, [%1];" : "=r"(v) : "l"(pointer));
    return v;
}

template <int TG>
struct Lean3Stage {
    uint4 w[4];
    uint4 x[TG][4];
    unsigned sz[4];  // PACKED: (scale, zero); else scale in the low half, zero in the high half, from two loads
};
__device__ __forceinline__ unsigned short ld_half(const void *pointer) {
    unsigned short v;
    asm volatile("ld.global.nc.u16 %0, [%1];" : "=h"(v) : "l"(pointer));
    return v;
}

// Offsets are 32-bit bytes from the kernel's base pointers (uniform registers), so each load's address is one add.
template <int TG, int MAXW, bool PACKED, bool SPLIT = false>
__global__ void __launch_bounds__(32 * MAXW) linear_int4_lean3(LINEAR_INT4_PARAMETERS(bf16_t), int mode) {
    constexpr int ROWS = 32;
    __shared__ float sums[MAXW][8 * TG][ROWS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * ROWS;
    const char *wBytes = (const char *)packed, *pairBytes = (const char *)leanPackedScales;
    const char *scaleBytes = (const char *)scales, *zeroBytes = (const char *)zeros, *xBytes = (const char *)x;
    const int numGroups = K / groupSize, numSteps = K >> 7, stepsPerGroup = groupSize >> 7;
    const unsigned magic = stepsPerGroup == 1 ? 0u : 0xFFFFFFFFu / stepsPerGroup + 1u;
    unsigned wOffset[4], szOffset[4];  // bytes: row slot r's row (CTA row 8r + g, clamped to N − 1)
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const unsigned row = min(row0 + 8 * r + g, N - 1);
        wOffset[r] = row * (unsigned)(K / 2) + 16u * t;
        szOffset[r] = row * (unsigned)numGroups * (PACKED ? 4u : 2u);
    }
    unsigned xOffset[TG];
#pragma unroll
    for (int j = 0; j < TG; ++j) xOffset[j] = (unsigned)min(g + 8 * j, numTokens - 1) * (unsigned)xDepth * 2u + 64u * t;
    float acc[2][TG][4];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.0f;
    Lean3Stage<TG> ring[2];
    auto loadWeights = [&](Lean3Stage<TG> &stage, int step, bool early) {
        const unsigned o = 64u * (unsigned)min(step, numSteps - 1);
#pragma unroll
        for (int r = 0; r < 4; ++r) stage.w[r] = early ? ld_stream16_early(wBytes + (wOffset[r] + o)) : ld_stream16(wBytes + (wOffset[r] + o));
    };
    auto loadRest = [&](Lean3Stage<TG> &stage, int step) {
        step = min(step, numSteps - 1);
        const int k = 128 * step, kk = k < xDepth ? k : k - xDepth;
        const unsigned group = stepsPerGroup == 1 ? (unsigned)step : __umulhi((unsigned)step, magic);
#pragma unroll
        for (int j = 0; j < TG; ++j)
#pragma unroll
            for (int q = 0; q < 4; ++q) stage.x[j][q] = ld_activation16(xBytes + (xOffset[j] + 2u * kk + 16u * q));
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            if (PACKED) {
                stage.sz[r] = ld_pair((const unsigned *)(pairBytes + (szOffset[r] + 4u * group)));
            } else {
                const unsigned o = szOffset[r] + 2u * group;
                stage.sz[r] = (unsigned)ld_half(scaleBytes + o) | ((unsigned)ld_half(zeroBytes + o) << 16);
            }
        }
    };
    auto compute = [&](const Lean3Stage<TG> &stage) {
        float xs[TG][4];
#pragma unroll
        for (int j = 0; j < TG; ++j) {
            xs[j][0] = xs[j][1] = xs[j][2] = xs[j][3] = 0.0f;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                mma_bf16_16x8x16(xs[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, stage.x[j][q].x, stage.x[j][q].y);
                mma_bf16_16x8x16(xs[j], 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, stage.x[j][q].z, stage.x[j][q].w);
            }
        }
#pragma unroll
        for (int tile = 0; tile < 2; ++tile) {
            float part[TG][4], part2[TG][4];
#pragma unroll
            for (int j = 0; j < TG; ++j) {
                part[j][0] = part[j][1] = part[j][2] = part[j][3] = 0.0f;
                part2[j][0] = part2[j][1] = part2[j][2] = part2[j][3] = 0.0f;
            }
            const uint4 A = stage.w[2 * tile], B = stage.w[2 * tile + 1];
            const unsigned wordsA[4] = {A.x, A.y, A.z, A.w}, wordsB[4] = {B.x, B.y, B.z, B.w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a[4], b[4];
                raw_word(wordsA[q], a);
                raw_word(wordsB[q], b);
#pragma unroll
                for (int j = 0; j < TG; ++j) {
                    mma_bf16_16x8x16(part[j], a[0], b[0], a[1], b[1], stage.x[j][q].x, stage.x[j][q].y);
                    mma_bf16_16x8x16(SPLIT ? part2[j] : part[j], a[2], b[2], a[3], b[3], stage.x[j][q].z, stage.x[j][q].w);
                }
            }
            if (SPLIT) {
#pragma unroll
                for (int j = 0; j < TG; ++j)
#pragma unroll
                    for (int c = 0; c < 4; ++c) part[j][c] += part2[j][c];
            }
            const unsigned pa = stage.sz[2 * tile], pb = stage.sz[2 * tile + 1];
            const float sa = __uint_as_float(pa << 16), za = __uint_as_float(pa & 0xFFFF0000u);
            const float sb = __uint_as_float(pb << 16), zb = __uint_as_float(pb & 0xFFFF0000u);
#pragma unroll
            for (int j = 0; j < TG; ++j) {
                acc[tile][j][0] += sa * fmaf(za, xs[j][0], part[j][0]);
                acc[tile][j][1] += sa * fmaf(za, xs[j][1], part[j][1]);
                acc[tile][j][2] += sb * fmaf(zb, xs[j][2], part[j][2]);
                acc[tile][j][3] += sb * fmaf(zb, xs[j][3], part[j][3]);
            }
        }
    };
    const int stride = numWarps;
    int step = warp;
    loadWeights(ring[0], step, true);
    grid_dependency_wait();
    loadRest(ring[0], step);
    while (step < numSteps) {
        loadWeights(ring[1], step + stride, false);
        loadRest(ring[1], step + stride);
        compute(ring[0]);
        step += stride;
        if (step >= numSteps) break;
        loadWeights(ring[0], step + stride, false);
        loadRest(ring[0], step + stride);
        compute(ring[1]);
        step += stride;
    }
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < TG; ++j) {
            sums[warp][8 * j + 2 * t][16 * i + g] = acc[i][j][0];
            sums[warp][8 * j + 2 * t + 1][16 * i + g] = acc[i][j][1];
            sums[warp][8 * j + 2 * t][16 * i + g + 8] = acc[i][j][2];
            sums[warp][8 * j + 2 * t + 1][16 * i + g + 8] = acc[i][j][3];
        }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * ROWS; i += blockDim.x) {
        const int token = i / ROWS, r = i % ROWS, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = f32_to_bf16(sum);
    }
}


// ---- linear_int4_lean4 (experiment): lean3 with x staged once per CTA in shared memory ([numTokens][K] bf16, copied
// after the wait while the first weights stream), so a ring stage holds only the weights and scales: BUFS stages.
template <int BUFS>
struct Lean4Stage {
    uint4 w[4];
    unsigned sz[4];
};

template <int MAXW, int BUFS, bool PACKED>
__global__ void __launch_bounds__(32 * MAXW) linear_int4_lean4(LINEAR_INT4_PARAMETERS(bf16_t), int mode) {
    constexpr int ROWS = 32;
    extern __shared__ __align__(16) unsigned char lean4Memory[];
    float (*sums)[8][ROWS] = (float (*)[8][ROWS])lean4Memory;  // [warp][token][row]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int row0 = blockIdx.x * ROWS;
    uint4 *xShared = (uint4 *)(lean4Memory + MAXW * 8 * ROWS * 4);  // [numTokens][xDepth] bf16
    const char *wBytes = (const char *)packed, *pairBytes = (const char *)leanPackedScales;
    const char *scaleBytes = (const char *)scales, *zeroBytes = (const char *)zeros;
    const int numGroups = K / groupSize, numSteps = K >> 7, stepsPerGroup = groupSize >> 7;
    const unsigned magic = stepsPerGroup == 1 ? 0u : 0xFFFFFFFFu / stepsPerGroup + 1u;
    unsigned wOffset[4], szOffset[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const unsigned row = min(row0 + 8 * r + g, N - 1);
        wOffset[r] = row * (unsigned)(K / 2) + 16u * t;
        szOffset[r] = row * (unsigned)numGroups * (PACKED ? 4u : 2u);
    }
    // lane (g, t)'s x in shared memory: token min(g, numTokens − 1), its 32 k of a step (bytes)
    const unsigned xLane = shared_address(xShared) + (unsigned)min(g, numTokens - 1) * (unsigned)xDepth * 2u + 64u * t;
    float acc[2][4];
#pragma unroll
    for (int i = 0; i < 2; ++i) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
    Lean4Stage<BUFS> ring[BUFS];
    auto loadWeights = [&](Lean4Stage<BUFS> &stage, int step, bool early) {
        const unsigned o = 64u * (unsigned)min(step, numSteps - 1);
#pragma unroll
        for (int r = 0; r < 4; ++r) stage.w[r] = early ? ld_stream16_early(wBytes + (wOffset[r] + o)) : ld_stream16(wBytes + (wOffset[r] + o));
        const unsigned group = stepsPerGroup == 1 ? (unsigned)min(step, numSteps - 1) : __umulhi((unsigned)min(step, numSteps - 1), magic);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            if (PACKED) {
                stage.sz[r] = ld_pair((const unsigned *)(pairBytes + (szOffset[r] + 4u * group)));
            } else {
                const unsigned so = szOffset[r] + 2u * group;
                stage.sz[r] = (unsigned)ld_half(scaleBytes + so) | ((unsigned)ld_half(zeroBytes + so) << 16);
            }
        }
    };
    auto compute = [&](const Lean4Stage<BUFS> &stage, int step) {
        const int k = 128 * step, kk = k < xDepth ? k : k - xDepth;
        uint4 xv[4];
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            asm volatile("ld.shared.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(xv[q].x), "=r"(xv[q].y), "=r"(xv[q].z), "=r"(xv[q].w)
                         : "r"(xLane + 2u * kk + 16u * q));
        }
        float xs[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            mma_bf16_16x8x16(xs, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, xv[q].x, xv[q].y);
            mma_bf16_16x8x16(xs, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, 0x3F803F80u, xv[q].z, xv[q].w);
        }
#pragma unroll
        for (int tile = 0; tile < 2; ++tile) {
            float part[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            const uint4 A = stage.w[2 * tile], B = stage.w[2 * tile + 1];
            const unsigned wordsA[4] = {A.x, A.y, A.z, A.w}, wordsB[4] = {B.x, B.y, B.z, B.w};
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                unsigned a[4], b[4];
                raw_word(wordsA[q], a);
                raw_word(wordsB[q], b);
                mma_bf16_16x8x16(part, a[0], b[0], a[1], b[1], xv[q].x, xv[q].y);
                mma_bf16_16x8x16(part, a[2], b[2], a[3], b[3], xv[q].z, xv[q].w);
            }
            const unsigned pa = stage.sz[2 * tile], pb = stage.sz[2 * tile + 1];
            const float sa = __uint_as_float(pa << 16), za = __uint_as_float(pa & 0xFFFF0000u);
            const float sb = __uint_as_float(pb << 16), zb = __uint_as_float(pb & 0xFFFF0000u);
            acc[tile][0] += sa * fmaf(za, xs[0], part[0]);
            acc[tile][1] += sa * fmaf(za, xs[1], part[1]);
            acc[tile][2] += sb * fmaf(zb, xs[2], part[2]);
            acc[tile][3] += sb * fmaf(zb, xs[3], part[3]);
        }
    };
    const int stride = numWarps;
    int step = warp;
#pragma unroll
    for (int b = 0; b < BUFS - 1; ++b) loadWeights(ring[b], step + b * stride, true);
    grid_dependency_wait();
    {  // x → shared memory, every thread a share of 16-byte pieces
        const int pieces = numTokens * xDepth / 8;
        const uint4 *source = (const uint4 *)x;
        for (int i = threadIdx.x; i < pieces; i += blockDim.x) xShared[i] = ld_activation16(source + i);
        __syncthreads();
    }
    while (step < numSteps) {
#pragma unroll
        for (int b = 0; b < BUFS; ++b) {
            if (step < numSteps) {
                loadWeights(ring[(b + BUFS - 1) % BUFS], step + (BUFS - 1) * stride, false);
                compute(ring[b], step);
            }
            step += stride;
        }
    }
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        sums[warp][2 * t][16 * i + g] = acc[i][0];
        sums[warp][2 * t + 1][16 * i + g] = acc[i][1];
        sums[warp][2 * t][16 * i + g + 8] = acc[i][2];
        sums[warp][2 * t + 1][16 * i + g + 8] = acc[i][3];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < numTokens * ROWS; i += blockDim.x) {
        const int token = i / ROWS, r = i % ROWS, row = row0 + r;
        if (row >= N) continue;
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        if (bias) sum += bf16_to_f32(bias[row]);
        out[(long long)token * N + row] = f32_to_bf16(sum);
    }
}
static size_t lean4Shared(int maxWarps, int tokens, int K) { return (size_t)maxWarps * 8 * 32 * 4 + (size_t)tokens * K * 2; }

typedef void (*Kernel)(const bf16_t *, const unsigned *, const bf16_t *, const bf16_t *, const bf16_t *, bf16_t *, int, int,
                       int, int, int, int);
struct Variant {
    const char *name;
    Kernel kernel;
    int warps;      // 0: linear_int4_small's launcher's count
    size_t shared;  // dynamic shared memory
};

static float toFloat(bf16_t v) { unsigned u = (unsigned)v << 16; float f; memcpy(&f, &u, 4); return f; }

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 100;
    const int onlyShape = argc > 2 ? atoi(argv[2]) : -1;        // -1: every shape
    const int onlyTokens = argc > 3 ? atoi(argv[3]) : 0;        // 0: 1 and 8
    const char *onlyVariants = argc > 4 ? argv[4] : nullptr;   // e.g. "02": the variants of those indices
    const int groupSize = 128;
    const char *names[] = {"llama qkv", "llama o", "llama gate_up", "llama down", "qwen14b qkv", "qwen14b o",
                           "qwen14b gate_up", "qwen14b down"};
    const int shapes[][2] = {{6144, 4096}, {4096, 4096}, {28672, 4096}, {4096, 14336},
                             {7168, 5120}, {5120, 5120}, {27648, 5120}, {5120, 13824}};
    for (int s = 0; s < 8; ++s) {
        if (onlyShape >= 0 && s != onlyShape) continue;
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
        std::vector<unsigned> hostPairs(hostScales.size());
        for (size_t i = 0; i < hostPairs.size(); ++i) hostPairs[i] = (unsigned)hostScales[i] | ((unsigned)hostZeros[i] << 16);
        unsigned *pairs;
        CHECK(cudaMalloc(&pairs, hostPairs.size() * 4));
        CHECK(cudaMemcpy(pairs, hostPairs.data(), hostPairs.size() * 4, cudaMemcpyHostToDevice));
        CHECK(cudaMemcpyToSymbol(leanPackedScales, &pairs, sizeof(pairs)));
        for (int M : {1, 8}) {
            if (onlyTokens && M != onlyTokens) continue;
            std::vector<bf16_t> reference, result(M * N);
            const Variant variants[] = {
                {"small", linear_int4_small_g128_bf16_t1, 0, 0},  // the shipped entry point
                {"lean2 b2 w16", linear_int4_lean2<1, 2, 16>, 16, 0},
                {"lean2 b2 w4", linear_int4_lean2<1, 2, 16>, 4, 0},
                {"lean3p w4", linear_int4_lean3<1, 4, true>, 4, 0},
                {"lean3p w8", linear_int4_lean3<1, 8, true>, 8, 0},
                {"lean3p w16", linear_int4_lean3<1, 16, true>, 16, 0},
                {"lean4 b2 w4", linear_int4_lean4<4, 2, false>, 4, lean4Shared(4, M, K)},
                {"lean4 b2 w8", linear_int4_lean4<8, 2, false>, 8, lean4Shared(8, M, K)},
                {"lean4 b2 w16", linear_int4_lean4<16, 2, false>, 16, lean4Shared(16, M, K)},
                {"lean4 b3 w4", linear_int4_lean4<4, 3, false>, 4, lean4Shared(4, M, K)},
                {"lean4 b3 w8", linear_int4_lean4<8, 3, false>, 8, lean4Shared(8, M, K)},
                {"lean4 b3 w16", linear_int4_lean4<16, 3, false>, 16, lean4Shared(16, M, K)},
                {"lean4 b4 w8", linear_int4_lean4<8, 4, false>, 8, lean4Shared(8, M, K)},
                {"lean4 b3p w8", linear_int4_lean4<8, 3, true>, 8, lean4Shared(8, M, K)},
            };
            for (int vi = 0; vi < (int)(sizeof(variants) / sizeof(variants[0])); ++vi) {
                const Variant &v = variants[vi];
                if (onlyVariants && !strchr(onlyVariants, vi < 10 ? '0' + vi : 'a' + vi - 10)) continue;
                const int warps = v.warps ? v.warps : std::min(8, (K + 255) / 256);
                if (v.shared > 227 * 1024) continue;  // does not fit an SM
                if (v.shared) CHECK(cudaFuncSetAttribute(v.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)v.shared));
                auto run = [&](int i) {
                    v.kernel<<<(N + 31) / 32, 32 * warps, v.shared>>>(x, weights[i % copies], scales, zeros, nullptr, out, M, N,
                                                                     K, groupSize, K, LINEAR_STORE);
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
                run(0);
                CHECK(cudaMemcpy(result.data(), out, M * N * 2, cudaMemcpyDeviceToHost));
                if (reference.empty()) reference = result;
                float largest = 0, difference = 0;
                for (int i = 0; i < M * N; ++i) {
                    largest = std::max(largest, std::fabs(toFloat(reference[i])));
                    difference = std::max(difference, std::fabs(toFloat(result[i]) - toFloat(reference[i])));
                }
                const double us = ms * 1000.0 / iterations;
                printf("%-16s N %5d K %5d T %d %-6s %7.2f µs %6.0f GB/s  (max diff %.2e of %.3g)\n", names[s], N, K, M,
                       v.name, us, bytes / us / 1e3, difference / std::max(largest, 1e-30f), largest);
            }
        }
        for (auto w : weights) CHECK(cudaFree(w));
        CHECK(cudaFree(scales));
        CHECK(cudaFree(zeros));
        CHECK(cudaFree(pairs));
        CHECK(cudaFree(x));
        CHECK(cudaFree(out));
    }
    return 0;
}
