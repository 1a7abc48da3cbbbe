// common.cuh: device helpers shared by every kernel family (included by name through NVRTC).
// bf16 is carried as its raw 16 bits so no CUDA header is needed; conversions round to nearest
// even exactly as PyTorch (and VLLMCompute.HalfPrecision) do.
#pragma once

typedef unsigned short bf16_t;

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ float bf16_to_f32(bf16_t value) {
    return __uint_as_float(((unsigned int)value) << 16);
}

__device__ __forceinline__ bf16_t f32_to_bf16(float value) {
    unsigned int bits = __float_as_uint(value);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (bf16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (bf16_t)(bits >> 16);
}

// What a bf16 tensor op in PyTorch yields: the f32 result rounded to bf16.
__device__ __forceinline__ float round_bf16(float value) { return bf16_to_f32(f32_to_bf16(value)); }

// Eight bf16 packed in 16 bytes → floats.
__device__ __forceinline__ void unpack8(uint4 raw, float *out) {
    const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        out[2 * i] = __uint_as_float(words[i] << 16);
        out[2 * i + 1] = __uint_as_float(words[i] & 0xffff0000u);
    }
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
