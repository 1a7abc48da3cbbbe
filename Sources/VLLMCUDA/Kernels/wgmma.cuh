// wgmma.cuh: Hopper's warpgroup MMA and tensor memory accelerator, as the wgmma GEMMs use them (linear_int4_wgmma.cu,
// linear_fp8_wgmma.cu): the fence / commit / wait around a chunk of wgmmas, the shared-memory descriptor of a K-major
// operand tile with the 128-byte swizzle, the CUtensorMap passed by value, and the mbarrier-counted bulk tensor copies
// that fill a stage. HOPPER_WGMMA is defined only where the target has them (sm_90a); elsewhere the helpers are empty
// and the launchers never pick a kernel that uses them.
#pragma once
#include "mma.cuh"

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define HOPPER_WGMMA 1
#endif

__device__ __forceinline__ void wgmma_fence() {
#ifdef HOPPER_WGMMA
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_commit() {
#ifdef HOPPER_WGMMA
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N> __device__ __forceinline__ void wgmma_wait() {
#ifdef HOPPER_WGMMA
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// Orders an accumulator after the wait for the wgmmas that write it: the compiler sees the wgmmas as done when
// issued, so without this it could read the register before wgmma_wait.
__device__ __forceinline__ void wgmma_keep(float &r) { asm volatile("" : "+f"(r)::"memory"); }

// Makes this thread's generic-proxy writes to shared memory (st.shared, cp.async) visible to the async proxy, through
// which wgmma reads its operands; then a barrier, and the wgmmas may read them.
__device__ __forceinline__ void fence_async_shared() {
#ifdef HOPPER_WGMMA
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

// Dynamic shared memory rounded up to the 1024-byte boundary that swizzle atoms start on (the launcher allots 1024 bytes
// more to round up into).
__device__ __forceinline__ void *swizzle_aligned(const void *dynamicShared) {
    return (void *)(((size_t)dynamicShared + 1023) & ~(size_t)1023);
}

// A K-major operand tile in shared memory with the 128-byte swizzle: 8-row groups 1024 bytes apart.
__device__ __forceinline__ unsigned long long wgmma_descriptor(unsigned address) {
    return (unsigned long long)((address & 0x3FFFF) >> 4) | (1ull << 16) | ((unsigned long long)(1024 >> 4) << 32) |
           (1ull << 62);
}

// The tensor memory accelerator (sm_90): a CUtensorMap the host encodes (cuTensorMapEncodeTiled) and passes by value.
struct alignas(64) TensorMap {
    unsigned long long opaque[16];
};
__device__ __forceinline__ void mbarrier_init(unsigned barrier, unsigned count) {
#ifdef HOPPER_WGMMA
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(barrier), "r"(count));
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
#endif
}
// One arrival that also announces `bytes` of copies still to land on `barrier`.
__device__ __forceinline__ void mbarrier_expect(unsigned barrier, unsigned bytes) {
#ifdef HOPPER_WGMMA
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(barrier), "r"(bytes) : "memory");
#endif
}
__device__ __forceinline__ void mbarrier_wait(unsigned barrier, unsigned parity) {
#ifdef HOPPER_WGMMA
    asm volatile("{\n.reg .pred done;\nwaiting:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
                 "@!done bra waiting;\n}\n" ::"r"(barrier), "r"(parity) : "memory");
#endif
}
// The box of `map` at (c0, c1) (innermost first) into shared memory at `destination`, counted on `barrier`.
__device__ __forceinline__ void tma_load(unsigned destination, const TensorMap &map, int c0, int c1, unsigned barrier) {
#ifdef HOPPER_WGMMA
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                 ::"r"(destination), "l"((unsigned long long)&map), "r"(c0), "r"(c1), "r"(barrier) : "memory");
#endif
}

// 16 bytes of shared memory; volatile, so it stays after the mbarrier wait that says they have landed.
__device__ __forceinline__ uint4 load_shared16(unsigned address) {
    uint4 v;
    asm volatile("ld.shared.v4.b32 {%0, %1, %2, %3}, [%4];\n" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "r"(address));
    return v;
}

// The stage ring of a wgmma GEMM: STAGES stages of STAGE_BYTES in dynamic shared memory, the first aligned to 1024
// bytes (swizzle atoms start there; the launcher adds 1024 bytes to round up into), then an 8-byte mbarrier a stage.
// Chunk c of the K loop uses stage c % STAGES and waits for its barrier's phase (c / STAGES) & 1.
template <int STAGES, int STAGE_BYTES> struct WgmmaStages {
    static_assert(STAGE_BYTES % 1024 == 0, "swizzle atoms 1024-byte aligned");
    static constexpr int SHARED_BYTES = STAGES * STAGE_BYTES + 8 * STAGES + 1024;
    unsigned base, barriers;
    __device__ __forceinline__ explicit WgmmaStages(const void *dynamicShared) {
        base = shared_address(swizzle_aligned(dynamicShared));
        barriers = base + STAGES * STAGE_BYTES;
    }
    __device__ __forceinline__ unsigned stage(int chunk) const { return base + (chunk % STAGES) * STAGE_BYTES; }
    __device__ __forceinline__ unsigned barrier(int chunk) const { return barriers + 8 * (chunk % STAGES); }
    __device__ __forceinline__ unsigned parity(int chunk) const { return (unsigned)(chunk / STAGES) & 1; }
};

// A wgmma GEMM's tile: W warpgroups of 64 weight rows each × NTOK tokens, a stage holding X_ROW_BYTES of a 128-k chunk
// of each token, then WEIGHT_ROW_BYTES of it of each weight row (linear_fp8_wgmma: e4m3 both, 128 and 128;
// linear_int4_wgmma: bf16 x and packed 4-bit weights, 256 and 64).
template <int W, int NTOK, int X_ROW_BYTES, int WEIGHT_ROW_BYTES> struct WgmmaTile {
    static constexpr int ROWS = 64 * W, THREADS = 128 * W;
    static constexpr int X_BYTES = NTOK * X_ROW_BYTES, WEIGHT_BYTES = ROWS * WEIGHT_ROW_BYTES, STAGE_BYTES = X_BYTES + WEIGHT_BYTES;
    static_assert(X_BYTES % 1024 == 0, "the weight's swizzle atoms 1024-byte aligned after x's");
    template <int STAGES> using Stages = WgmmaStages<STAGES, STAGE_BYTES>;
    template <int STAGES> static constexpr int SHARED_BYTES = Stages<STAGES>::SHARED_BYTES;
};

// This CTA's share of K's 128-k chunks, K split evenly over gridDim.z: chunks begin ..< begin + count.
struct WgmmaChunks {
    int begin, count;
};
__device__ __forceinline__ WgmmaChunks wgmma_chunks(int K) {
    const int total = K >> 7;
    const int begin = (int)((long long)total * blockIdx.z / gridDim.z);
    return {begin, (int)((long long)total * (blockIdx.z + 1) / gridDim.z) - begin};
}

