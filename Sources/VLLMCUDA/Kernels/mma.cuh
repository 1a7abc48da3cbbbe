// mma.cuh: the tensor-core kernels' shared helpers (prefill_attention.cu, decode_attention_mma.cu, linear_int4.cu, linear_int4_wgmma.cu):
// cp.async copies global → shared, ldmatrix fragments. mma_bf16_16x8x16 and pack_bf16 are in common.cuh.
#pragma once
#include "common.cuh"

__device__ __forceinline__ unsigned shared_address(const void *pointer) {
    return (unsigned)__cvta_generic_to_shared(pointer);
}

// 16 bytes global → shared without registers; zero-filled (nothing read) where !valid.
__device__ __forceinline__ void copy16_async(unsigned destination, const void *source, bool valid) {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(destination), "l"(source),
                 "r"(valid ? 16 : 0));
#endif
}
__device__ __forceinline__ void commit_copies() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
// Waits until at most N of this thread's committed groups are still in flight.
template <int N> __device__ __forceinline__ void wait_copies() {
#if __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

// Four 8×8 bf16 matrices; lane l gives the address of row l % 8 of matrix l / 8, and register i of lane
// (g = lane / 4, t = lane % 4) receives matrix i's row g, elements 2t and 2t + 1 (.trans: its column g,
// elements 2t and 2t + 1 — i.e. rows 2t and 2t + 1 at column g).
__device__ __forceinline__ void load_matrices(unsigned (&r)[4], unsigned address) {
#if __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
#endif
}
__device__ __forceinline__ void load_matrices_transposed(unsigned (&r)[4], unsigned address) {
#if __CUDA_ARCH__ >= 800
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
#endif
}

// One tile's online softmax for a warp of m16n8k16 scores — lane (g, t) holds rows g and g + 8, the 4 lanes
// of a row N·4 of its scores in `score[n]` (8 keys each, -∞ where masked) —, shared by the prefill and decode
// kernels: each row's tile max by shuffles, the running max and sum (raw scores; scale·log2 e folded into the
// base-2 exponent) and the accumulators `acc` rescaled (skipped when no row of the warp moved: once the
// maxima settle a tile rarely moves one), and P as bf16 pairs — the accumulators of score[2s] and
// score[2s + 1] are exactly the A fragment of 16-key step s. P enters P·V rounded to bf16 relative to the
// running max while the running sum adds it unrounded, as flash attention does.
template <int N, int D>
__device__ __forceinline__ void online_softmax(const float (&score)[N][4], float (&runningMax)[2], float (&runningSum)[2],
                                               float (&acc)[D / 8][4], float scaleLog2, unsigned (&probability)[N][2]) {
    float base[2], alphas[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        float tileMax = -INFINITY;
#pragma unroll
        for (int n = 0; n < N; ++n) tileMax = fmaxf(tileMax, fmaxf(score[n][2 * h], score[n][2 * h + 1]));
        tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 1));
        tileMax = fmaxf(tileMax, __shfl_xor_sync(0xffffffffu, tileMax, 2));
        const float newMax = fmaxf(runningMax[h], tileMax);
        base[h] = newMax == -INFINITY ? 0.0f : newMax * scaleLog2;  // 2^(−∞ − base) = 0, never NaN
        alphas[h] = fast_exp2(runningMax[h] * scaleLog2 - base[h]);
        runningMax[h] = newMax;
        runningSum[h] *= alphas[h];
    }
    if (__any_sync(0xffffffffu, alphas[0] != 1.0f || alphas[1] != 1.0f)) {
#pragma unroll
        for (int j = 0; j < D / 8; ++j) {
            acc[j][0] *= alphas[0];
            acc[j][1] *= alphas[0];
            acc[j][2] *= alphas[1];
            acc[j][3] *= alphas[1];
        }
    }
#pragma unroll
    for (int n = 0; n < N; ++n) {
        float p[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            p[e] = fast_exp2(fmaf(score[n][e], scaleLog2, -base[e >> 1]));
            runningSum[e >> 1] += p[e];
        }
        probability[n][0] = pack_bf16(p[0], p[1]);
        probability[n][1] = pack_bf16(p[2], p[3]);
    }
}
