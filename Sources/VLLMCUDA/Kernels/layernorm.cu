// layernorm.cu: RMSNorm, as transformers' LlamaRMSNorm computes it:
//   r = rsqrt(mean(float(x)²) + eps);  out = T(weight · T(float(x) · r)).
// (T = bf16 rounds twice, as `self.weight * hidden.to(input_dtype)` does; T = f32 rounds nowhere.)
//
// rms_norm_{bf16,f32}       x [N, D] T, weight [D] T → out [N, D] T.
// add_rms_norm_{bf16,f32}   residual = T(x + residual) in place, then out = rmsNorm(residual).
// grid (N), block 256 (the launcher may pick up to 1024): one CTA per row, f32 sums.
//
// rms_norm_vec_{bf16,f32}, add_rms_norm_vec_{bf16,f32}: the same, one pass. Each thread holds up to
// VEC_CHUNKS chunks of 8 elements of the row in registers (16-byte loads and stores), so the row is
// read once and nothing waits on a second pass (in place, out == x, is fine: each thread writes only
// the chunks it has read): at one row (a decode step) the launch is latency,
// and two dependent sweeps over 8 KB were most of it (11 µs a call on an H200).
// Requires D % 8 == 0 and D ≤ 8 · VEC_CHUNKS · blockDim.x; block = ⌈D / (8 · VEC_CHUNKS)⌉ rounded up to
// a warp (the launcher's choice).
// rms_norm_vec_quant_fp8_bf16, add_rms_norm_vec_quant_fp8_bf16: the bf16 ones, and out quantized per row for an FP8
// linear besides — codes [N, D] e4m3, codeScales [N] f32, exactly as quantize_fp8_rows_bf16 would quantize out
// (fp8.cuh), one launch fewer before the FP8 GEMM (CUDABackend's `feeding`).
// rms_norm_vec_quant_fp8_groups_bf16, add_rms_norm_vec_quant_fp8_groups_bf16: the same quantized per row per 128
// columns for a block-scaled FP8 linear — codeScales [D / 128, N] (tokens contiguous), as quantize_fp8_groups_bf16
// would quantize out. D % 128 == 0.
#include "common.cuh"
#include "fp8.cuh"

#define VEC_CHUNKS 2

// torch's rsqrt in the bf16 path; the CPU twin's 1/sqrt (correctly rounded) in the f32 path.
template <typename T> __device__ __forceinline__ float inverse_sqrt(float value) { return rsqrtf(value); }
template <> __device__ __forceinline__ float inverse_sqrt<float>(float value) { return 1.0f / sqrtf(value); }

template <typename T>
__device__ void rms_norm(const T *__restrict__ x, const T *__restrict__ weight, T *__restrict__ out, int dim,
                         float epsilon) {
    __shared__ float scratch[32];
    const T *row = x + (long long)blockIdx.x * dim;
    T *outRow = out + (long long)blockIdx.x * dim;
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float value = load(row[i]);
        squares += value * value;
    }
    const float inverse = inverse_sqrt<T>(block_sum(squares, scratch) / (float)dim + epsilon);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float normalized = round_to<T>(load(row[i]) * inverse);
        outRow[i] = store<T>(load(weight[i]) * normalized);
    }
}

template <typename T>
__device__ void add_rms_norm(const T *__restrict__ x, T *__restrict__ residual, const T *__restrict__ weight,
                             T *__restrict__ out, int dim, float epsilon) {
    __shared__ float scratch[32];
    const T *row = x + (long long)blockIdx.x * dim;
    T *residualRow = residual + (long long)blockIdx.x * dim;
    T *outRow = out + (long long)blockIdx.x * dim;
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const T sum = store<T>(load(row[i]) + load(residualRow[i]));
        residualRow[i] = sum;  // each thread re-reads only the elements it wrote
        const float value = load(sum);
        squares += value * value;
    }
    const float inverse = inverse_sqrt<T>(block_sum(squares, scratch) / (float)dim + epsilon);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float normalized = round_to<T>(load(residualRow[i]) * inverse);
        outRow[i] = store<T>(load(weight[i]) * normalized);
    }
}

// The row's chunks this thread owns: chunk c covers elements 8·(threadIdx.x + c·blockDim.x) … +8.
// The weight depends on no kernel: its loads go out before grid_dependency_wait, under the kernel before's tail, and
// are in flight while the sum of squares is reduced.
template <typename T>
__device__ void rms_norm_vec(const T *x, T *__restrict__ residual, const T *__restrict__ weight,
                             T *__restrict__ out, int dim, float epsilon, unsigned char *__restrict__ codes = nullptr,
                             float *__restrict__ codeScales = nullptr, bool grouped = false) {
    __shared__ float scratch[32];
    const long long rowStart = (long long)blockIdx.x * dim;
    float values[VEC_CHUNKS][8], scale[VEC_CHUNKS][8];
#pragma unroll
    for (int c = 0; c < VEC_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start < dim) load8_early(weight + start, scale[c]);
    }
    grid_dependency_wait();
    float squares = 0.0f;
#pragma unroll
    for (int c = 0; c < VEC_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start >= dim) continue;
        load8(x + rowStart + start, values[c]);
        if (residual != nullptr) {
            float previous[8];
            load8(residual + rowStart + start, previous);
#pragma unroll
            for (int i = 0; i < 8; ++i) values[c][i] = round_to<T>(values[c][i] + previous[i]);
            store8(residual + rowStart + start, values[c]);
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) squares += values[c][i] * values[c][i];
    }
    const float inverse = inverse_sqrt<T>(block_sum(squares, scratch) / (float)dim + epsilon);
#pragma unroll
    for (int c = 0; c < VEC_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start >= dim) continue;
#pragma unroll
        for (int i = 0; i < 8; ++i) values[c][i] = scale[c][i] * round_to<T>(values[c][i] * inverse);
        store8(out + rowStart + start, values[c]);
    }
    if (codes == nullptr) return;
    if (grouped) {  // every thread reaches here: the groups' amax are warp shuffles
#pragma unroll
        for (int c = 0; c < VEC_CHUNKS; ++c) {
            const int start = 8 * (threadIdx.x + c * blockDim.x);
#pragma unroll
            for (int i = 0; i < 8; ++i) values[c][i] = round_to<T>(values[c][i]);  // out as stored
            quantize_group128_chunk(values[c], start < dim, start, blockIdx.x, gridDim.x, codes + rowStart, codeScales);
        }
        return;
    }
    float amax = 0.0f;  // of out as stored
#pragma unroll
    for (int c = 0; c < VEC_CHUNKS; ++c) {
        if (8 * (threadIdx.x + c * blockDim.x) >= dim) continue;
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            values[c][i] = round_to<T>(values[c][i]);
            amax = fmaxf(amax, fabsf(values[c][i]));
        }
    }
    const float codeScale = fp8_activation_scale(block_max(amax, scratch));
    if (threadIdx.x == 0) codeScales[blockIdx.x] = codeScale;
    const float codeInverse = 1.0f / codeScale;
#pragma unroll
    for (int c = 0; c < VEC_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start < dim) *(uint2 *)(codes + rowStart + start) = e4m3x8(values[c], codeInverse);
    }
}

extern "C" __global__ void rms_norm_vec_bf16(const bf16_t *x, const bf16_t *__restrict__ weight,
                                             bf16_t *out, int dim, float epsilon) {
    rms_norm_vec<bf16_t>(x, nullptr, weight, out, dim, epsilon);
}

extern "C" __global__ void rms_norm_vec_quant_fp8_bf16(const bf16_t *x, const bf16_t *__restrict__ weight, bf16_t *out,
                                                       int dim, float epsilon, unsigned char *__restrict__ codes,
                                                       float *__restrict__ codeScales) {
    rms_norm_vec<bf16_t>(x, nullptr, weight, out, dim, epsilon, codes, codeScales);
}

extern "C" __global__ void add_rms_norm_vec_quant_fp8_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ residual,
                                                           const bf16_t *__restrict__ weight, bf16_t *__restrict__ out,
                                                           int dim, float epsilon, unsigned char *__restrict__ codes,
                                                           float *__restrict__ codeScales) {
    rms_norm_vec<bf16_t>(x, residual, weight, out, dim, epsilon, codes, codeScales);
}

extern "C" __global__ void rms_norm_vec_quant_fp8_groups_bf16(const bf16_t *x, const bf16_t *__restrict__ weight, bf16_t *out,
                                                              int dim, float epsilon, unsigned char *__restrict__ codes,
                                                              float *__restrict__ codeScales) {
    rms_norm_vec<bf16_t>(x, nullptr, weight, out, dim, epsilon, codes, codeScales, true);
}

extern "C" __global__ void add_rms_norm_vec_quant_fp8_groups_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ residual,
                                                                  const bf16_t *__restrict__ weight, bf16_t *__restrict__ out,
                                                                  int dim, float epsilon, unsigned char *__restrict__ codes,
                                                                  float *__restrict__ codeScales) {
    rms_norm_vec<bf16_t>(x, residual, weight, out, dim, epsilon, codes, codeScales, true);
}

extern "C" __global__ void rms_norm_vec_f32(const float *x, const float *__restrict__ weight,
                                            float *out, int dim, float epsilon) {
    rms_norm_vec<float>(x, nullptr, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_vec_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ residual,
                                                 const bf16_t *__restrict__ weight, bf16_t *__restrict__ out,
                                                 int dim, float epsilon) {
    rms_norm_vec<bf16_t>(x, residual, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_vec_f32(const float *__restrict__ x, float *__restrict__ residual,
                                                const float *__restrict__ weight, float *__restrict__ out,
                                                int dim, float epsilon) {
    rms_norm_vec<float>(x, residual, weight, out, dim, epsilon);
}

extern "C" __global__ void rms_norm_bf16(const bf16_t *__restrict__ x, const bf16_t *__restrict__ weight,
                                         bf16_t *__restrict__ out, int dim, float epsilon) { grid_dependency_wait();
    rms_norm(x, weight, out, dim, epsilon);
}

extern "C" __global__ void rms_norm_f32(const float *__restrict__ x, const float *__restrict__ weight,
                                        float *__restrict__ out, int dim, float epsilon) { grid_dependency_wait();
    rms_norm(x, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ residual,
                                             const bf16_t *__restrict__ weight, bf16_t *__restrict__ out,
                                             int dim, float epsilon) { grid_dependency_wait();
    add_rms_norm(x, residual, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_f32(const float *__restrict__ x, float *__restrict__ residual,
                                            const float *__restrict__ weight, float *__restrict__ out,
                                            int dim, float epsilon) { grid_dependency_wait();
    add_rms_norm(x, residual, weight, out, dim, epsilon);
}
