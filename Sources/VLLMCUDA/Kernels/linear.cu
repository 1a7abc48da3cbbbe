// linear.cu: skinny linears for decode steps, out = x · weightᵀ (+ bias) with at most 8 tokens, bf16.
//
// linear_small_bf16      x [M, K] bf16, weight [N, K] bf16 (row-major), bias [N] bf16 or null → out [M, N] bf16
// linear_small_bf16_f32  the same → out [M, N] f32 holding bf16 values (the logits: as cuBLASLt + bias_round_bf16_f32)
//   M ≤ 8, K % 8 == 0, x and weight 16-byte aligned (the launcher checks and otherwise uses cuBLASLt).
//   Every output is the f32 sum over K, plus the bias in f32, rounded to bf16 once.
//   linear_small_bf16 also folds the op after it in (linear_epilogue.cuh's LINEAR_*; CUDABackend.fusedLinear): mode
//   LINEAR_GATED — a CTA's first R/2 rows are gate rows, its last R/2 the matching up rows (N/2 further on), out
//   [M, N/2] = silu(gate) · up; LINEAR_ADD — out (the residual stream) += the product. (Not LINEAR_QKV: folding the
//   q/k/v split in made bf16 W1 slower, docs/gpu-runs/2026-12-02d run3; CUDABackend.fusedLinear declines it.)
//
//   grid (ceil(N / R)), block 32 · numWarps (numWarps ≤ 8, fewer only when K is short),
//   R = rowsPerBlock ∈ {8, 16}, the launcher's choice: 8 (more CTAs), except 16 when x is too large for
//   L1 (M · K · 2 > 128 KiB, e.g. 8 tokens of K 14336) and N still gives a CTA per SM: each x load then
//   serves 16 rows instead of 8.
//   A CTA owns R weight rows; its warps split K (warp w takes k-steps w, w + numWarps, … of 32 · STEPS
//   elements) and meet in shared memory at the end, summed in warp order (deterministic).
//   The first weight loads are issued before the wait for x (load_weight16_early): a weight written by the kernel
//   before (a 4-bit weight dequantized for this step) must say so, freshWeight ≠ 0, and is read after the wait.
//   Tensor cores do the arithmetic: each 32-element k-step of a warp is two mma.m16n8k16 (bf16 in, f32
//   accumulators) with the weight rows as A (16 rows; rows 8–15 zero when R = 8) and the tokens as B
//   (8 columns; tokens ≥ M zero). Lane (g = lane / 4, t = lane % 4) loads the 16 bytes at k + 8t of weight
//   rows g (and g + 8) and of token g, and feeds them to the MMA as they are: a dot product does not
//   care in which order K is summed, as long as A and B use the same order, so no shuffles are needed.
//   The weight streams from DRAM once for all M tokens (ld.global.nc, no L1 allocation, 256-byte L2
//   prefetch), 8 × 16 bytes in flight per lane (96 registers, 2 CTAs = 64 KiB in flight per SM); x (≤ 8
//   rows) comes through L1, where every warp of the SM finds it.
//   H200, back to back, weights not in L2 (copy: 4.2 TB/s): N 28672 K 4096 4.1 TB/s, lm_head N 128256
//   4.3, N 4096 K 14336 3.7, N 6144 K 4096 3.2, N 4096 K 4096 2.9 (cuBLAS 4.1, 4.1, 3.6, 3.1, 2.5): a launch
//   costs ≈ 3.5 µs beyond its bytes (ramp-up and drain), which small N cannot hide.
#include "linear_epilogue.cuh"

#define LINEAR_MAX_WARPS 8
#define LINEAR_LOADS 8  // 16-byte weight loads a lane has in flight per iteration

// One warp's share of a CTA's R rows × K: acc as mma_bf16_16x8x16 leaves it (rows × tokens). rowA and rowB are the
// weight rows of the lane's tile rows g and g + 8 (R = 16 only), −1 where the tile row has none.
// Each iteration a lane issues LINEAR_LOADS weight loads (STEPS k-steps × R / 8 rows) before any MMA.
template <int R>
__device__ __forceinline__ void linear_small_warp(const bf16_t *__restrict__ x, const bf16_t *__restrict__ weight,
                                                  int numTokens, int K, int rowA, int rowB, float (&acc)[4]) {
    constexpr int STEPS = LINEAR_LOADS / (R / 8);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const bool hasRowA = rowA >= 0, hasRowB = R == 16 && rowB >= 0, hasToken = g < numTokens;
    // Rows past N (the last CTA) and tokens past M are never read; their pointers stay in bounds anyway.
    const bf16_t *weightA = weight + (long long)(hasRowA ? rowA : 0) * K + 8 * t;
    const bf16_t *weightB = weight + (long long)(hasRowB ? rowB : 0) * K + 8 * t;
    const bf16_t *token = x + (long long)(hasToken ? g : 0) * K + 8 * t;
    float partial[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};  // two chains of MMAs
    uint4 a[STEPS], b[STEPS];
    auto loadWeights = [&](int k0, bool early) {  // zeros past K (not read)
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 32 * s;
            const bool inK = k + 8 * t < K;  // K % 8 == 0: a lane's 8 elements are all in or all out
            if (early) {  // before the wait: loads that stay there (common.cuh)
                a[s] = load_weight16_early(weightA + k, hasRowA && inK);
                b[s] = R == 16 ? load_weight16_early(weightB + k, hasRowB && inK) : make_uint4(0, 0, 0, 0);
            } else {
                a[s] = load_weight16(weightA + k, hasRowA && inK);
                b[s] = R == 16 ? load_weight16(weightB + k, hasRowB && inK) : make_uint4(0, 0, 0, 0);
            }
        }
    };
    // The weights depend on no earlier kernel: the first iteration's loads are issued before the wait for x (a warp
    // with no iteration waits after the loop; waiting again returns at once).
    bool first = true;
    for (int k0 = warp * STEPS * 32; k0 < K; k0 += numWarps * STEPS * 32) {
        loadWeights(k0, first);
        if (first) grid_dependency_wait();
        first = false;
        uint4 v[STEPS];
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            const int k = k0 + 32 * s;
            v[s] = load_activation16(token + k, hasToken && k + 8 * t < K);
        }
#pragma unroll
        for (int s = 0; s < STEPS; ++s) {
            mma_bf16_16x8x16(partial[0], a[s].x, b[s].x, a[s].y, b[s].y, v[s].x, v[s].y);
            mma_bf16_16x8x16(partial[1], a[s].z, b[s].z, a[s].w, b[s].w, v[s].z, v[s].w);
        }
    }
    grid_dependency_wait();
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[i] = partial[0][i] + partial[1][i];
}


template <typename Out>
__device__ void linear_small(const bf16_t *__restrict__ x, const bf16_t *__restrict__ weight,
                             const bf16_t *__restrict__ bias, Out *__restrict__ out, int numTokens, int N, int K,
                             int rowsPerBlock, int freshWeight, const LinearMode &mode) {
    if (freshWeight) grid_dependency_wait();  // the kernel before wrote the weight: no load may precede the wait
    __shared__ float sums[LINEAR_MAX_WARPS][8][16];  // [warp][token][row of the CTA]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    auto weightRow = [&](int r) { return linear_weight_row(r, rowsPerBlock, N, mode); };
    float acc[4];
    if (rowsPerBlock == 16) {
        linear_small_warp<16>(x, weight, numTokens, K, weightRow(g), weightRow(g + 8), acc);
    } else {
        linear_small_warp<8>(x, weight, numTokens, K, weightRow(g), -1, acc);
    }
    sums[warp][2 * t][g] = acc[0];
    sums[warp][2 * t + 1][g] = acc[1];
    sums[warp][2 * t][g + 8] = acc[2];
    sums[warp][2 * t + 1][g + 8] = acc[3];
    __syncthreads();
    linear_epilogue(out, numTokens, N, rowsPerBlock, mode, LinearQKVInputs{}, [&](int token, int r) {  // the CTA's row r, with its bias
        float sum = 0.0f;
        for (int w = 0; w < numWarps; ++w) sum += sums[w][token][r];
        return bias ? sum + bf16_to_f32(bias[weightRow(r)]) : sum;
    });
}

#define LINEAR_SMALL_PARAMETERS(OUT)                                                                               \
    const bf16_t *__restrict__ x, const bf16_t *__restrict__ weight, const bf16_t *__restrict__ bias,               \
        OUT *__restrict__ out, int numTokens, int N, int K, int rowsPerBlock, int freshWeight

// Each waits inside, after its first weight loads.
extern "C" __global__ void __launch_bounds__(256, 2) linear_small_bf16(LINEAR_SMALL_PARAMETERS(bf16_t), LINEAR_MODE_PARAMETERS) {
    linear_small<bf16_t>(x, weight, bias, out, numTokens, N, K, rowsPerBlock, freshWeight, LINEAR_MODE_ARGUMENTS);
}

extern "C" __global__ void __launch_bounds__(256, 2) linear_small_bf16_f32(LINEAR_SMALL_PARAMETERS(float)) {
    linear_small<float>(x, weight, bias, out, numTokens, N, K, rowsPerBlock, freshWeight, LINEAR_MODE_STORE);
}
