// common.cuh: device helpers shared by every kernel family (included by name through NVRTC).
// bf16 is carried as its raw 16 bits so no CUDA header is needed; conversions round to nearest
// even exactly as PyTorch (and VLLMCompute.HalfPrecision) do.
// Kernels over activations are templates on the element type T (bf16_t or float) with one
// `extern "C"` entry point per type (`…_bf16`, `…_f32`); `load`, `store` and `round_to<T>` are
// the only places the type shows, so the f32 path rounds nowhere and the bf16 path rounds where
// PyTorch's bf16 ops do.
#pragma once

typedef unsigned short bf16_t;

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

// Programmatic dependent launch (sm_90): a kernel launched with it may start while the kernel before it
// on the stream finishes; this waits until that kernel is done and its writes are visible. Every kernel
// calls it first, before reading anything; launched without it, it returns at once. Then it lets the
// next kernel launch: that one's CTAs are placed once every CTA of this grid has got here (so never
// ahead of this grid's own later waves), and wait at their own grid_dependency_wait — the launch
// latency between two kernels overlaps the first one's work.
__device__ __forceinline__ void grid_dependency_wait() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;");
#endif
}

// The end of a launch split over CTAs whose last CTA combines the splits' partials (split decode attention, LoRA's
// shrink): every thread of a CTA calls it once its partials are written; it returns true, in
// every thread, in the last of `numSplits` CTAs to count on `counter` (CUDABackend.splitCounters: zero before the
// launch), which sets it back to 0 for the next launch — all have counted, none touches it again in this launch.
// Each thread's fence orders its partial stores before thread 0's atomic (through the barrier); the last CTA's
// thread 0 fences after its atomic, and the last CTA reads the partials through L2 (__ldcg / ld.global.cg).
__device__ __forceinline__ bool last_split_to_finish(int *counter, int numSplits) {
    __threadfence();
    __syncthreads();
    bool isLast = false;
    if (threadIdx.x == 0) {
        isLast = atomicAdd(counter, 1) == numSplits - 1;
        if (isLast) *counter = 0;
        __threadfence();
    }
    return __syncthreads_or(isLast);
}

__device__ __forceinline__ float bf16_to_f32(bf16_t value) {
    return __uint_as_float(((unsigned int)value) << 16);
}

// f32 → bf16, round to nearest even (a NaN stays a NaN). sm_80 converts in one instruction, as PyTorch does; the
// arithmetic before it took ~7 integer instructions a value, which bound elementwise kernels such as split_qkv_rows
// (compute-bound at 83 % of the SMs' issue rate, its DRAM at 38 %: docs/benchmarks.md, session 23).
__device__ __forceinline__ bf16_t f32_to_bf16(float value) {
#if __CUDA_ARCH__ >= 800
    unsigned short bits;
    asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(bits) : "f"(value));
    return (bf16_t)bits;
#else
    unsigned int bits = __float_as_uint(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (bf16_t)(bits >> 16);
#endif
}

// Two floats → a bf16 pair (rounded as f32_to_bf16), `low` in bits 0–15.
__device__ __forceinline__ unsigned pack_bf16(float low, float high) {
#if __CUDA_ARCH__ >= 800
    unsigned packed;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(high), "f"(low));
    return packed;
#else
    return (unsigned)f32_to_bf16(low) | ((unsigned)f32_to_bf16(high) << 16);
#endif
}

// What a bf16 tensor op in PyTorch yields: the f32 result rounded to bf16.
__device__ __forceinline__ float round_bf16(float value) { return bf16_to_f32(f32_to_bf16(value)); }

__device__ __forceinline__ float load(bf16_t value) { return bf16_to_f32(value); }
__device__ __forceinline__ float load(float value) { return value; }

template <typename T> __device__ __forceinline__ T store(float value);
template <> __device__ __forceinline__ bf16_t store<bf16_t>(float value) { return f32_to_bf16(value); }
template <> __device__ __forceinline__ float store<float>(float value) { return value; }

// An intermediate as a PyTorch op on T tensors leaves it: rounded to bf16, or untouched in f32.
template <typename T> __device__ __forceinline__ float round_to(float value) { return load(store<T>(value)); }

// Eight bf16 packed in 16 bytes → floats.
__device__ __forceinline__ void unpack8(uint4 raw, float *out) {
    const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        out[2 * i] = __uint_as_float(words[i] << 16);
        out[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    }
}

// Eight consecutive elements (16-byte aligned for bf16, 32-byte for f32) → floats.
__device__ __forceinline__ void load8(const bf16_t *source, float *out) { unpack8(*(const uint4 *)source, out); }
__device__ __forceinline__ void load8(const float *source, float *out) {
    const float4 low = ((const float4 *)source)[0], high = ((const float4 *)source)[1];
    out[0] = low.x; out[1] = low.y; out[2] = low.z; out[3] = low.w;
    out[4] = high.x; out[5] = high.y; out[6] = high.z; out[7] = high.w;
}

// Eight floats → eight consecutive elements (16-byte aligned for bf16, 32-byte for f32), rounded as `store`.
__device__ __forceinline__ void store8(bf16_t *destination, const float *values) {
    *(uint4 *)destination = make_uint4(pack_bf16(values[0], values[1]), pack_bf16(values[2], values[3]),
                                       pack_bf16(values[4], values[5]), pack_bf16(values[6], values[7]));
}
__device__ __forceinline__ void store8(float *destination, const float *values) {
    ((float4 *)destination)[0] = make_float4(values[0], values[1], values[2], values[3]);
    ((float4 *)destination)[1] = make_float4(values[4], values[5], values[6], values[7]);
}

// Two consecutive elements (4-byte aligned for bf16, 8-byte for f32) → floats.
__device__ __forceinline__ void load2(const bf16_t *source, float &first, float &second) {
    const unsigned int packed = *(const unsigned int *)source;
    first = __uint_as_float(packed << 16);
    second = __uint_as_float(packed & 0xffff0000u);
}
__device__ __forceinline__ void load2(const float *source, float &first, float &second) {
    const float2 pair = *(const float2 *)source;
    first = pair.x;
    second = pair.y;
}

__device__ __forceinline__ float warp_sum(float value) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
    return value;
}

__device__ __forceinline__ float warp_max(float value) {
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
    return value;
}

// Sum over the whole block; every thread gets the result. `scratch` holds 32 floats.
__device__ __forceinline__ float block_sum(float value, float *scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = (blockDim.x + 31) >> 5;
    value = warp_sum(value);
    __syncthreads();
    if (lane == 0) scratch[warp] = value;
    __syncthreads();
    value = lane < numWarps ? scratch[lane] : 0.0f;
    return warp_sum(value);
}

__device__ __forceinline__ float block_max(float value, float *scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = (blockDim.x + 31) >> 5;
    value = warp_max(value);
    __syncthreads();
    if (lane == 0) scratch[warp] = value;
    __syncthreads();
    value = lane < numWarps ? scratch[lane] : -INFINITY;
    return warp_max(value);
}

// 2^x in one MUFU instruction (denormal results flush to 0; 2^−∞ = 0).
__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

// acc [16 × 8] += A [16 × 16] · B [16 × 8]: A rows g, g + 8 and B column g of lane (g, t) hold the
// bf16 pairs at logical k 2t, 2t + 1 (a0, a1, b0) and 2t + 8, 2t + 9 (a2, a3, b1); acc holds
// (row g: columns 2t, 2t + 1), (row g + 8: columns 2t, 2t + 1).
// (bf16 MMA needs sm_80: before it the body is empty, and the launchers of its users decline.)
__device__ __forceinline__ void mma_bf16_16x8x16(float (&acc)[4], unsigned a0, unsigned a1, unsigned a2, unsigned a3,
                                                 unsigned b0, unsigned b1) {
#if __CUDA_ARCH__ >= 800
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#endif
}

// Streaming loads of the skinny linears (linear.cu, linear_int4.cu).
// 16 bytes of the weight, streamed: no L1 allocation, 256-byte L2 prefetch. Zero where !valid (not read).
// (Before sm_80, which the launchers never use, only so that every family compiles for every device.)
__device__ __forceinline__ uint4 load_weight16(const void *pointer, bool valid) {
    uint4 v;
    asm("{\n\t.reg .pred p;\n\tsetp.ne.b32 p, %5, 0;\n\t"
        "mov.b32 %0, 0;\n\tmov.b32 %1, 0;\n\tmov.b32 %2, 0;\n\tmov.b32 %3, 0;\n\t"
#if __CUDA_ARCH__ >= 800
        "@p ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];\n}"
#else
        "@p ld.global.nc.v4.u32 {%0, %1, %2, %3}, [%4];\n}"
#endif
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(pointer), "r"((int)valid));
    return v;
}

// load_weight16 for the loads a kernel issues before grid_dependency_wait() (the weights depend on no kernel, so
// under programmatic dependent launch they stream while the kernel before still runs): a coherent load, volatile, so
// that it stays before the wait. ptxas moves ld.global.nc freely across griddepcontrol.wait — for linear_small and
// linear_int4_small it put the wait (SASS ACQBULK) before every weight load, so nothing streamed early. Only for data
// no kernel of the step writes: a weight the kernel before wrote (a dequantized scratch copy) is read after the wait.
__device__ __forceinline__ uint4 load_weight16_early(const void *pointer, bool valid) {
    uint4 v;
    asm volatile("{\n\t.reg .pred p;\n\tsetp.ne.b32 p, %5, 0;\n\t"
        "mov.b32 %0, 0;\n\tmov.b32 %1, 0;\n\tmov.b32 %2, 0;\n\tmov.b32 %3, 0;\n\t"
#if __CUDA_ARCH__ >= 800
        "@p ld.global.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];\n}"
#else
        "@p ld.global.v4.u32 {%0, %1, %2, %3}, [%4];\n}"
#endif
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(pointer), "r"((int)valid) : "memory");
    return v;
}

// Eight consecutive elements of data no kernel of the step writes (a norm's weight, the rotary table), read before
// grid_dependency_wait() by load_weight16_early (16-byte aligned for bf16, 32-byte for f32).
__device__ __forceinline__ void load8_early(const bf16_t *source, float *out) { unpack8(load_weight16_early(source, true), out); }
__device__ __forceinline__ void load8_early(const float *source, float *out) {
    const uint4 low = load_weight16_early(source, true), high = load_weight16_early(source + 4, true);
    out[0] = __uint_as_float(low.x); out[1] = __uint_as_float(low.y); out[2] = __uint_as_float(low.z); out[3] = __uint_as_float(low.w);
    out[4] = __uint_as_float(high.x); out[5] = __uint_as_float(high.y); out[6] = __uint_as_float(high.z); out[7] = __uint_as_float(high.w);
}
// One int of a step's inputs (positions, slot mapping: uploaded before the step's first kernel, written by none),
// read before grid_dependency_wait(): volatile, so ptxas keeps it there.
__device__ __forceinline__ int load_input_early(const int *pointer) {
    int v;
    asm volatile("ld.global.b32 %0, [%1];" : "=r"(v) : "l"(pointer) : "memory");
    return v;
}

// 16 bytes of the activations, through L1 (read by every warp of the SM). Zero where !valid (not read).
// A coherent load (not ld.global.nc), volatile with a memory clobber: the activations are the kernel before's
// output, so the load must stay after grid_dependency_wait(). ptxas treats .nc data as unchanging for the whole
// kernel and hoisted such loads above griddepcontrol.wait in linear_fp8_small — stale x under programmatic
// dependent launch (docs/gpu-runs/2026-12-01e run8).
__device__ __forceinline__ uint4 load_activation16(const void *pointer, bool valid) {
    uint4 v;
    asm volatile("{\n\t.reg .pred p;\n\tsetp.ne.b32 p, %5, 0;\n\t"
        "mov.b32 %0, 0;\n\tmov.b32 %1, 0;\n\tmov.b32 %2, 0;\n\tmov.b32 %3, 0;\n\t"
        "@p ld.global.v4.u32 {%0, %1, %2, %3}, [%4];\n}"
        : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
        : "l"(pointer), "r"((int)valid)
        : "memory");
    return v;
}
// Eight consecutive elements of the kernel before's output (16-byte aligned for bf16, 32-byte for f32) by
// load_activation16: in a kernel with loads before its grid_dependency_wait(), a .nc load here could be hoisted above it.
__device__ __forceinline__ void load8_activation(const bf16_t *source, float *out) { unpack8(load_activation16(source, true), out); }
__device__ __forceinline__ void load8_activation(const float *source, float *out) {
    const uint4 low = load_activation16(source, true), high = load_activation16(source + 4, true);
    out[0] = __uint_as_float(low.x); out[1] = __uint_as_float(low.y); out[2] = __uint_as_float(low.z); out[3] = __uint_as_float(low.w);
    out[4] = __uint_as_float(high.x); out[5] = __uint_as_float(high.y); out[6] = __uint_as_float(high.z); out[7] = __uint_as_float(high.w);
}
