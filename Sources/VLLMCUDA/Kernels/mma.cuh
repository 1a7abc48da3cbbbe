// mma.cuh: the tensor-core kernels' shared helpers (prefill_attention.cu, decode_attention_mma.cu):
// cp.async copies global → shared, ldmatrix fragments, bf16 pairs. mma_bf16_16x8x16 is in common.cuh.
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

// Two floats → a bf16 pair (round to nearest even, as f32_to_bf16 for finite values), `low` in bits 0–15.
__device__ __forceinline__ unsigned pack_bf16(float low, float high) {
#if __CUDA_ARCH__ >= 800
    unsigned packed;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(high), "f"(low));
    return packed;
#else
    return (unsigned)f32_to_bf16(low) | ((unsigned)f32_to_bf16(high) << 16);
#endif
}

