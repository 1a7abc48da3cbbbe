// int4.cuh: what linear_int4.cu, linear_int4_decode.cu and linear_int4_wgmma.cu share — the 4-bit weight's layout,
// its dequantization and the kernels' parameter lists.
//
// The weight, as CUDABackend.makeInt4Weight lays it out:
//   packed [N, K/8] u32: word w of row n holds the codes of k = 8w … 8w + 7, nibble p holding k-offset
//     INTERLEAVE[p] = {0, 2, 4, 6, 1, 3, 5, 7}[p] (AutoAWQ's order), so that (word >> 4i) & 0x000F000F
//     is the pair (8w + 2i, 8w + 2i + 1) in the low halves of a bf16x2 register.
//   scaleZeros [N, G] u32: each (row, group)'s scale as bf16 in the low half and −(128 + zero) as bf16 in the high half
//     (exact: |zero| ≤ 255 would still be), so that one 4-byte load gives both.
//   One (row, group) covers groupSize consecutive stored k (groupSize % 32 == 0); an act-order checkpoint is
//   stored with its columns sorted by group (the launcher gathers x's columns in that order first).
//   w[n][k] = (code − zero) · scale: 0x4300 | code is the bf16 of 128 + code, so one fma (× 1, + zeros)
//   gives code − zero exactly and a second (× scale, + −0) rounds the product once, as the reference
//   tools round it to the scale's dtype (bf16 here).
#pragma once
#include "mma.cuh"
#include "linear_epilogue.cuh"

__device__ __forceinline__ unsigned bf16x2_fma(unsigned a, unsigned b, unsigned c) {
    unsigned d;
    asm("fma.rn.bf16x2 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
    return d;
}

// The 8 codes of one word as 4 bf16 pairs (k 2i, 2i + 1): (code − zero) · scale.
__device__ __forceinline__ void dequant_word(unsigned word, unsigned negZero2, unsigned scale2, unsigned *out) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        unsigned v;
        asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(v) : "r"(word >> (4 * i)), "r"(0x000F000Fu), "r"(0x43004300u));
        out[i] = bf16x2_fma(bf16x2_fma(v, 0x3F803F80u, negZero2), scale2, 0x80008000u);
    }
}

// The 8 codes of one word as 4 bf16 pairs (k 2i, 2i + 1) of 128 + code, exact (the grouped path's A operand).
__device__ __forceinline__ void raw_word(unsigned word, unsigned *out) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(out[i]) : "r"(word >> (4 * i)), "r"(0x000F000Fu), "r"(0x43004300u));
    }
}

// A scaleZeros pair's parts: (scale, scale) and (−(128 + zero), …) as bf16x2, or each as a float.
__device__ __forceinline__ unsigned sz_scale2(unsigned sz) { return __byte_perm(sz, 0u, 0x1010); }
__device__ __forceinline__ unsigned sz_zero2(unsigned sz) { return __byte_perm(sz, 0u, 0x3232); }
__device__ __forceinline__ float sz_scale(unsigned sz) { return __uint_as_float(sz << 16); }
__device__ __forceinline__ float sz_zero(unsigned sz) { return __uint_as_float(sz & 0xFFFF0000u); }


// The parameters of the small-batch kernels (linear_int4_small, linear_int4_decode).
#define LINEAR_INT4_PARAMETERS(OUT)                                                                                \
    const bf16_t *__restrict__ x, const unsigned *__restrict__ packed, const unsigned *__restrict__ scaleZeros,       \
        const bf16_t *__restrict__ bias, OUT *__restrict__ out, int numTokens, int N,                                   \
        int K, int groupSize, int xDepth
#define LINEAR_INT4_ARGUMENTS x, packed, scaleZeros, bias, out, numTokens, N, K, groupSize, xDepth

// The parameters of both tiled GEMMs (linear_int4_gemm, linear_int4_wgmma).
#define LINEAR_INT4_GEMM_PARAMETERS(OUT)                                                                           \
    const bf16_t *__restrict__ x, const unsigned *__restrict__ packed, const unsigned *__restrict__ scaleZeros,       \
        const bf16_t *__restrict__ bias, OUT *__restrict__ out,                                                       \
        float *__restrict__ partials, int numTokens, int N, int K, int groupSize
#define LINEAR_INT4_GEMM_ARGUMENTS x, packed, scaleZeros, bias, out, partials, numTokens, N, K, groupSize
