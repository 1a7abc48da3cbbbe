// lora.cu: multi-LoRA's two products (Punica's shrink and expand, as vLLM runs them), over a step whose tokens
// each read their own adapter slot (VLLMCompute/LoRA.swift). bf16 activations and slots, f32 sums.
//
// The step's tokens come grouped by slot in tiles of at most 16 (`tiles[i] = (slot, first, count)`: tokens
// sorted[first ..< first + count]; a tile of 0 tokens is padding, so a decode graph's grid stays fixed). A
// tile is one m16 row block of the tensor cores: every product below is mma.m16n8k16 with the tile's tokens
// as the 16 rows, gathered through `sorted`.
//
// lora_shrink_bf16  shrunk[first + i][n] = Σ_k x[token_i, k] · a[slot, n, k]
//   x [T, K] bf16; a [L, S·R, K] bf16 (rows = S·R); partials [splits, T, rows] f32, the sums in split 0's rows.
//   grid (maxTiles, splits), block 128: the split's 32-wide k-steps go to the 4 warps in turn; each warp
//   keeps 64 outputs (8 n-tiles) at a time and the warps' sums meet in shared memory, added in warp order.
//   Split over K (a step of few tiles), each split writes its partial sums and the tile's last split to finish
//   (`counters`, one per tile, zero before and after) adds them in split order.
//   Lane (g, t) loads the 16 bytes at k + 8t of token rows g and g + 8 and of a's row n + g, and feeds them to
//   two MMAs as they are (as linear.cu does: A and B share the order of k, so no shuffle is needed).
//   K % 8 == 0 (the launcher checks); a k-step past K reads zeros.
//
// lora_expand_bf16  y[token_i, c] += Σ_j bf16(shrunk[first + i][s·R + j]) · b[slot, c, j]
//   for every output column c of slice s (c < ends[s]); b [L, N, R] bf16 (B already scaled); y [T, N] bf16.
//   grid (maxTiles, ceil(N / 256)), block 128: warp w owns 64 columns (8 n-tiles); k = R in steps of 16, the
//   A fragments built from the shrunk sums, rounded to bf16 as vLLM's
//   kernel casts its f32 buffer to the weights' dtype; y read, added in f32, rounded once, 16 bytes at a time through
//   shared memory. Slice ends and N are multiples of 8 (an n-tile never straddles two slices; the launcher checks).
//
// lora_shrink_f32, lora_expand_f32: the same for f32 activations on CUDA cores (splits = 1), nothing rounded.
#include "common.cuh"

#define LORA_TILE 16
#define LORA_WARPS 4

extern "C" __global__ void __launch_bounds__(128) lora_shrink_bf16(
    const bf16_t *__restrict__ x, const bf16_t *__restrict__ a, const int *__restrict__ tiles,
    const int *__restrict__ sorted, float *__restrict__ partials, int *__restrict__ counters, int T, int K, int rows) {
    grid_dependency_wait();
    __shared__ float sums[LORA_WARPS][LORA_TILE][64 + 1];
    const int count = tiles[3 * blockIdx.x + 2];
    if (count == 0) return;
    const int slot = tiles[3 * blockIdx.x], first = tiles[3 * blockIdx.x + 1];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    // This split's k-steps of 32.
    const int numSteps = (K + 31) / 32, perSplit = (numSteps + gridDim.y - 1) / gridDim.y;
    const int stepBegin = blockIdx.y * perSplit, stepEnd = min(numSteps, stepBegin + perSplit);
    const bf16_t *rowLow = x + (long long)sorted[first + min(g, count - 1)] * K;
    const bf16_t *rowHigh = x + (long long)sorted[first + min(g + 8, count - 1)] * K;
    const bf16_t *slotA = a + (long long)slot * rows * K;
    float *out = partials + ((long long)blockIdx.y * T + first) * rows;

    for (int n0 = 0; n0 < rows; n0 += 64) {
        float acc[8][4];
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
#pragma unroll 2
        for (int step = stepBegin + warp; step < stepEnd; step += LORA_WARPS) {
            const int k = 32 * step + 8 * t;
            const bool valid = k < K;
            const uint4 low = load_activation16(rowLow + k, valid), high = load_activation16(rowHigh + k, valid);
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                const int n = n0 + 8 * j + g;
                if (n0 + 8 * j >= rows) break;
                const uint4 w = load_activation16(slotA + (long long)n * K + k, valid);
                mma_bf16_16x8x16(acc[j], low.x, high.x, low.y, high.y, w.x, w.y);
                mma_bf16_16x8x16(acc[j], low.z, high.z, low.w, high.w, w.z, w.w);
            }
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            sums[warp][g][8 * j + 2 * t] = acc[j][0];
            sums[warp][g][8 * j + 2 * t + 1] = acc[j][1];
            sums[warp][g + 8][8 * j + 2 * t] = acc[j][2];
            sums[warp][g + 8][8 * j + 2 * t + 1] = acc[j][3];
        }
        __syncthreads();
        for (int e = threadIdx.x; e < LORA_TILE * 64; e += blockDim.x) {
            const int row = e / 64, n = e % 64;
            if (row < count && n0 + n < rows) {
                float sum = 0.0f;
#pragma unroll
                for (int w = 0; w < LORA_WARPS; ++w) sum += sums[w][row][n];
                out[(long long)row * rows + n0 + n] = sum;
            }
        }
        __syncthreads();
    }
    if (gridDim.y == 1) return;
    // The tile's last split to finish adds the splits' partials in split order (deterministic) into split 0's.
    if (!last_split_to_finish(&counters[blockIdx.x], gridDim.y)) return;
    const long long splitStride = (long long)T * rows;
    float *total = partials + (long long)first * rows;
    for (int e = threadIdx.x; e < count * rows; e += blockDim.x) {
        float sum = 0.0f;
        for (int s = 0; s < gridDim.y; ++s) sum += __ldcg(total + s * splitStride + e);
        total[e] = sum;
    }
}

// The bf16 pair of the shrunk values at `offset`, `offset + 1`.
__device__ __forceinline__ unsigned shrunk_pair(const float *__restrict__ shrunk, long long offset) {
    const float2 pair = *(const float2 *)(shrunk + offset);
    return (unsigned)f32_to_bf16(pair.x) | ((unsigned)f32_to_bf16(pair.y) << 16);
}

extern "C" __global__ void __launch_bounds__(128) lora_expand_bf16(
    const float *__restrict__ shrunk, const bf16_t *__restrict__ b, const int *__restrict__ tiles,
    const int *__restrict__ sorted, bf16_t *__restrict__ y, int N, int R, int rows, int end0, int end1, int end2) {
    grid_dependency_wait();
    __shared__ float delta[LORA_TILE][256 + 4];
    const int count = tiles[3 * blockIdx.x + 2];
    if (count == 0) return;
    const int slot = tiles[3 * blockIdx.x], first = tiles[3 * blockIdx.x + 1];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
    const int blockColumn0 = blockIdx.y * 256, column0 = blockColumn0 + warp * 64;
    const long long low = (long long)(first + g) * rows, high = (long long)(first + min(g + 8, count - 1)) * rows;
    const bool hasLow = g < count, hasHigh = g + 8 < count;
    const bf16_t *slotB = b + (long long)slot * N * R;

    float acc[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    for (int k = 0; column0 < N && k < R; k += 16) {
        // A fragments of each slice this warp's columns reach (at most three), indexed by constants only so they
        // stay in registers.
        unsigned fragments[3][4] = {};
#pragma unroll
        for (int s = 0; s < 3; ++s) {
            const int sliceBegin = s == 0 ? 0 : (s == 1 ? end0 : end1), sliceEnd = s == 0 ? end0 : (s == 1 ? end1 : end2);
            if (sliceBegin >= N || sliceEnd <= column0 || sliceBegin >= column0 + 64) continue;
            const long long base = (long long)s * R + k + 2 * t;
            fragments[s][0] = hasLow ? shrunk_pair(shrunk, low + base) : 0u;
            fragments[s][1] = hasHigh ? shrunk_pair(shrunk, high + base) : 0u;
            fragments[s][2] = hasLow ? shrunk_pair(shrunk, low + base + 8) : 0u;
            fragments[s][3] = hasHigh ? shrunk_pair(shrunk, high + base + 8) : 0u;
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const int c = column0 + 8 * j;
            if (c >= N) break;
            const bool first = c < end0, second = !first && c < end1;
            unsigned a[4];
#pragma unroll
            for (int e = 0; e < 4; ++e) a[e] = first ? fragments[0][e] : (second ? fragments[1][e] : fragments[2][e]);
            const bf16_t *row = slotB + (long long)(c + g) * R + k + 2 * t;
            const unsigned b0 = *(const unsigned *)row, b1 = *(const unsigned *)(row + 8);
            mma_bf16_16x8x16(acc[j], a[0], a[1], a[2], a[3], b0, b1);
        }
    }
    // The tile's deltas through shared memory, so that y is read and written 16 bytes at a time, a row's 256
    // columns by 32 consecutive threads.
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int c = warp * 64 + 8 * j + 2 * t;
        delta[g][c] = acc[j][0];
        delta[g][c + 1] = acc[j][1];
        delta[g + 8][c] = acc[j][2];
        delta[g + 8][c + 1] = acc[j][3];
    }
    __syncthreads();
    for (int e = threadIdx.x; e < LORA_TILE * 32; e += blockDim.x) {
        const int row = e >> 5, c = (e & 31) * 8;
        if (row >= count || blockColumn0 + c >= N) continue;
        uint4 *target = (uint4 *)(y + (long long)sorted[first + row] * N + blockColumn0 + c);
        float values[8];
        unpack8(*target, values);
#pragma unroll
        for (int i = 0; i < 8; ++i) values[i] += delta[row][c + i];
        store8((bf16_t *)target, values);
    }
}

// f32 activations (`--dtype float32`; check-gpu's exact run): the same two products on CUDA cores, a thread per
// output, K unsplit (splits = 1), nothing rounded.
extern "C" __global__ void __launch_bounds__(256) lora_shrink_f32(
    const float *__restrict__ x, const float *__restrict__ a, const int *__restrict__ tiles, const int *__restrict__ sorted,
    float *__restrict__ shrunk, int K, int rows) {
    grid_dependency_wait();
    const int count = tiles[3 * blockIdx.x + 2];
    if (count == 0) return;
    const int slot = tiles[3 * blockIdx.x], first = tiles[3 * blockIdx.x + 1];
    for (int e = threadIdx.x; e < count * rows; e += blockDim.x) {
        const int i = e / rows, n = e % rows;
        const float *row = x + (long long)sorted[first + i] * K, *weights = a + ((long long)slot * rows + n) * K;
        float sum = 0.0f;
        for (int k = 0; k < K; ++k) sum += row[k] * weights[k];
        shrunk[(long long)(first + i) * rows + n] = sum;
    }
}

extern "C" __global__ void __launch_bounds__(256) lora_expand_f32(
    const float *__restrict__ shrunk, const float *__restrict__ b, const int *__restrict__ tiles,
    const int *__restrict__ sorted, float *__restrict__ y, int N, int R, int rows, int end0, int end1, int end2) {
    grid_dependency_wait();
    const int count = tiles[3 * blockIdx.x + 2];
    if (count == 0) return;
    const int slot = tiles[3 * blockIdx.x], first = tiles[3 * blockIdx.x + 1];
    for (int e = threadIdx.x; e < count * 256; e += blockDim.x) {
        const int i = e / 256, c = blockIdx.y * 256 + e % 256;
        if (c >= N) continue;
        const int s = c < end0 ? 0 : (c < end1 ? 1 : 2);
        const float *values = shrunk + (long long)(first + i) * rows + s * R, *weights = b + ((long long)slot * N + c) * R;
        float sum = 0.0f;
        for (int j = 0; j < R; ++j) sum += values[j] * weights[j];
        y[(long long)sorted[first + i] * N + c] += sum;
    }
}
