// fp8.cuh: the fp8 KV cache's formats, e4m3fn (FP8_E4M3) and e5m2 (FP8_E5M2), bit for bit as
// VLLMCompute.Float8Format (and PyTorch's float8 types): decoding is exact; encoding rounds to nearest even
// and saturates to the largest finite value (448, 57344) as vLLM's cache kernels do (__NV_SATFINITE).
// FORMAT 0 means a bf16 cache in the kernels templated on it.
#pragma once
#include "common.cuh"

#define FP8_E4M3 1
#define FP8_E5M2 2

template <int FORMAT> __device__ __forceinline__ unsigned char fp8_encode(float value) {
    constexpr int M = FORMAT == FP8_E4M3 ? 3 : 2, BIAS = FORMAT == FP8_E4M3 ? 7 : 15;
    constexpr float MAX = FORMAT == FP8_E4M3 ? 448.0f : 57344.0f;
    if (value != value) return FORMAT == FP8_E4M3 ? 0x7F : 0x7E;
    const unsigned sign = (__float_as_uint(value) >> 24) & 0x80u;
    const float magnitude = fminf(fabsf(value), MAX);
    int exponent = magnitude == 0.0f ? 1 - BIAS : max(ilogbf(magnitude), 1 - BIAS);
    // The quantum is a power of two: the scaling is exact and the one rounding is to nearest even.
    int units = __float2int_rn(magnitude * ldexpf(1.0f, M - exponent));
    if (units >= (2 << M)) {  // rounded up into the next binade
        units >>= 1;
        exponent += 1;
    }
    if (units < (1 << M)) return (unsigned char)(sign | units);  // subnormal or zero
    return (unsigned char)(sign | ((exponent + BIAS) << M) | (units - (1 << M)));
}

// The low byte of `bits` as a float (finite codes; the saturating encoder writes no others).
template <int FORMAT> __device__ __forceinline__ float fp8_decode(unsigned bits) {
    const unsigned magnitude = bits & 0x7Fu;
    float value;
    if (FORMAT == FP8_E4M3) {  // subnormals m · 2^-9; normals by moving the fields into an f32, bias 7 → 127
        value = magnitude < 8u ? (float)magnitude * 0.001953125f : __uint_as_float((magnitude << 20) + (120u << 23));
    } else {                   // subnormals m · 2^-16; bias 15 → 127
        value = magnitude < 4u ? (float)magnitude * 1.52587890625e-05f : __uint_as_float((magnitude << 21) + (112u << 23));
    }
    return bits & 0x80u ? -value : value;
}

// Two fp8 values (the low and high byte of `pair`) times `scale` as a bf16 pair, each rounded once: on sm_89 and
// later the hardware converts the pair to f16 (exact: every fp8 value is an f16), the rest is f32.
template <int FORMAT> __device__ __forceinline__ unsigned fp8x2_to_bf16x2(unsigned pair, float scale) {
    float low, high;
#if __CUDA_ARCH__ >= 890
    unsigned halves;
    if (FORMAT == FP8_E4M3) {
        asm("cvt.rn.f16x2.e4m3x2 %0, %1;" : "=r"(halves) : "h"((unsigned short)pair));
    } else {
        asm("cvt.rn.f16x2.e5m2x2 %0, %1;" : "=r"(halves) : "h"((unsigned short)pair));
    }
    asm("cvt.f32.f16 %0, %1;" : "=f"(low) : "h"((unsigned short)(halves & 0xFFFFu)));
    asm("cvt.f32.f16 %0, %1;" : "=f"(high) : "h"((unsigned short)(halves >> 16)));
    unsigned packed;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(high * scale), "f"(low * scale));
    return packed;
#else
    low = fp8_decode<FORMAT>(pair);
    high = fp8_decode<FORMAT>(pair >> 8);
    return (unsigned)f32_to_bf16(low * scale) | ((unsigned)f32_to_bf16(high * scale) << 16);
#endif
}

// 16 fp8 values (16 bytes, in order) times `scale` as 16 bf16 (two 16-byte halves, in order).
template <int FORMAT> __device__ __forceinline__ void fp8x16_to_bf16(uint4 raw, float scale, uint4 &low, uint4 &high) {
    const unsigned words[4] = {raw.x, raw.y, raw.z, raw.w};
    unsigned out[8];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        out[2 * i] = fp8x2_to_bf16x2<FORMAT>(words[i] & 0xFFFFu, scale);
        out[2 * i + 1] = fp8x2_to_bf16x2<FORMAT>(words[i] >> 16, scale);
    }
    low = make_uint4(out[0], out[1], out[2], out[3]);
    high = make_uint4(out[4], out[5], out[6], out[7]);
}

// FP8 W8A8's dynamic per-token activation quantization (vLLM's): a row's scale = max(amax / 448, 1 / (448 · 512)) and
// each value e4m3(x / scale) by the hardware's conversion (sm_89+, nearest even, saturating). quantize_fp8_rows_bf16
// (linear_fp8.cu) and the ops that quantize their own bf16 output for an FP8 linear (layernorm.cu, elementwise.cu)
// share it, so that either gives the same codes.
__device__ __forceinline__ float fp8_activation_scale(float amax) { return fmaxf(amax / 448.0f, 1.0f / (448.0f * 512.0f)); }

// Two floats as e4m3 codes, `first` in the low byte.
__device__ __forceinline__ unsigned short f32x2_to_e4m3x2(float first, float second) {
#if __CUDA_ARCH__ >= 890
    unsigned short pair;
    asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(second), "f"(first));
    return pair;
#else
    return 0;  // (FP8 GEMMs need sm_89: the launchers never run this before it)
#endif
}

// Eight values (bf16 values held in floats) times `inverse` (1 / scale) as eight e4m3 codes, in order.
__device__ __forceinline__ uint2 e4m3x8(const float *v, float inverse) {
    uint2 packed;
    packed.x = (unsigned)f32x2_to_e4m3x2(v[0] * inverse, v[1] * inverse) | ((unsigned)f32x2_to_e4m3x2(v[2] * inverse, v[3] * inverse) << 16);
    packed.y = (unsigned)f32x2_to_e4m3x2(v[4] * inverse, v[5] * inverse) | ((unsigned)f32x2_to_e4m3x2(v[6] * inverse, v[7] * inverse) << 16);
    return packed;
}

// Per-token-per-128-column quantization (block-scaled FP8 linears' activations, vLLM's per-token-group rule) of the
// chunk of 8 values at column `start` of row `row` (of `rows`): the 16 consecutive lanes holding a 128-column group
// (start = 8 · lane-index, groups starting at lanes 0 and 16 of a warp) share its amax, the group's first lane writes
// scales[start / 128][row] (tokens contiguous, as cuBLASLt's VEC128_32F reads them). Every lane of the warp calls it,
// `valid` false past the row (no stores, amax 0). The same codes and scales as quantize_fp8_groups_bf16 at G = 128.
__device__ __forceinline__ void quantize_group128_chunk(const float *v, bool valid, int start, long long row, int rows,
                                                        unsigned char *__restrict__ codesRow, float *__restrict__ scales) {
    float amax = 0.0f;
    if (valid) {
#pragma unroll
        for (int i = 0; i < 8; ++i) amax = fmaxf(amax, fabsf(v[i]));
    }
#pragma unroll
    for (int offset = 8; offset > 0; offset /= 2) amax = fmaxf(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, offset));
    if (!valid) return;
    const float scale = fp8_activation_scale(amax);
    if (start % 128 == 0) scales[(long long)(start / 128) * rows + row] = scale;
    *(uint2 *)(codesRow + start) = e4m3x8(v, 1.0f / scale);
}
