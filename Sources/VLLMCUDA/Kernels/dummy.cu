// dummy.cu: `--load-format dummy` weights, made on the device.
//
// fill_dummy_{bf16,f32}  out [count] T (any view: the launcher passes its first element's address):
//   out[i] = T((u · 2 − 1) · 1e-3), u = (mix(key ^ i) >> 40) / 2²⁴, i counted from the view's start,
//   mix = SplitMix64's finalizer of x + 0x9E3779B97F4A7C15 — bit for bit SamplingRandom.mix and
//   CPUBackend.fillDummy: every step is exact in f32 but the last product, which rounds once as the
//   host's does (no contraction can change it: __fmul_rn), and bf16 rounds to nearest even.
//   grid min(ceil(count / 256), 32 per SM), block 256, grid-stride loop.
// fill_int4_dummy  a 4-bit weight of int4.cuh's layout: packed words random, scaleZeros pairs of a scale in [1e-4, 2e-4]
//   and −136 (the zero 8 of a symmetric checkpoint): weights of about dummy floats' size.
// fill_fp8_dummy  an e4m3 weight of linear_fp8.cu's layout: codes random and finite (NaN's 0x7F → 0x7E), one f32
//   scale a row in [1e-3, 2e-3] / 448: weights of about dummy floats' size.
#include "common.cuh"

__device__ __forceinline__ unsigned long long dummy_mix(unsigned long long x) {
    unsigned long long z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

__device__ __forceinline__ float dummy_value(unsigned long long key, long long index) {
    const unsigned long long bits = dummy_mix(key ^ (unsigned long long)index);
    const float unit = (float)(unsigned int)(bits >> 40) * (1.0f / 16777216.0f);  // exact: 24 bits
    return __fmul_rn(unit * 2.0f - 1.0f, 1e-3f);  // unit · 2 − 1 is exact
}

template <typename T>
__device__ void fill_dummy(T *__restrict__ out, long long count, unsigned long long key) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < count; i += stride) {
        out[i] = store<T>(dummy_value(key, i));
    }
}

extern "C" __global__ void fill_dummy_bf16(bf16_t *__restrict__ out, long long count, unsigned long long key) { grid_dependency_wait();
    fill_dummy(out, count, key);
}

extern "C" __global__ void fill_dummy_f32(float *__restrict__ out, long long count, unsigned long long key) { grid_dependency_wait();
    fill_dummy(out, count, key);
}

extern "C" __global__ void fill_int4_dummy(unsigned *__restrict__ packed, unsigned *__restrict__ scaleZeros,
                                           long long numWords, long long numScales,
                                           unsigned long long key) {
    grid_dependency_wait();
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < numWords; i += stride) {
        packed[i] = (unsigned)dummy_mix(key ^ (unsigned long long)i);
    }
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < numScales; i += stride) {
        const float unit = (float)(unsigned)(dummy_mix(~key ^ (unsigned long long)i) >> 40) * (1.0f / 16777216.0f);
        scaleZeros[i] = (unsigned)f32_to_bf16(1e-4f * (1.0f + unit)) | ((unsigned)f32_to_bf16(-136.0f) << 16);
    }
}

extern "C" __global__ void fill_fp8_dummy(unsigned *__restrict__ codes, float *__restrict__ scales, long long numWords,
                                          long long numRows, unsigned long long key) {
    grid_dependency_wait();
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < numWords; i += stride) {
        unsigned word = (unsigned)dummy_mix(key ^ (unsigned long long)i);
        // A byte whose low 7 bits are all ones is NaN: clear its lowest bit.
        const unsigned low7 = word & 0x7F7F7F7Fu, nan = (low7 + 0x01010101u) & 0x80808080u & ~low7;
        codes[i] = word ^ (nan >> 7);
    }
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < numRows; i += stride) {
        const float unit = (float)(unsigned)(dummy_mix(~key ^ (unsigned long long)i) >> 40) * (1.0f / 16777216.0f);
        scales[i] = 1e-3f * (1.0f + unit) / 448.0f;
    }
}
