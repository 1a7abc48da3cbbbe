// layernorm.cu: RMSNorm, as transformers' LlamaRMSNorm computes it:
//   r = rsqrt(mean(float(x)²) + eps);  out = T(weight · T(float(x) · r)).
// (T = bf16 rounds twice, as `self.weight * hidden.to(input_dtype)` does; T = f32 rounds nowhere.)
//
// rms_norm_{bf16,f32}       x [N, D] T, weight [D] T → out [N, D] T.
// add_rms_norm_{bf16,f32}   residual = T(x + residual) in place, then out = rmsNorm(residual).
// grid (N), block 256 (the launcher may pick up to 1024): one CTA per row, f32 sums.
#include "common.cuh"

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

extern "C" __global__ void rms_norm_bf16(const bf16_t *__restrict__ x, const bf16_t *__restrict__ weight,
                                         bf16_t *__restrict__ out, int dim, float epsilon) {
    rms_norm(x, weight, out, dim, epsilon);
}

extern "C" __global__ void rms_norm_f32(const float *__restrict__ x, const float *__restrict__ weight,
                                        float *__restrict__ out, int dim, float epsilon) {
    rms_norm(x, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ residual,
                                             const bf16_t *__restrict__ weight, bf16_t *__restrict__ out,
                                             int dim, float epsilon) {
    add_rms_norm(x, residual, weight, out, dim, epsilon);
}

extern "C" __global__ void add_rms_norm_f32(const float *__restrict__ x, float *__restrict__ residual,
                                            const float *__restrict__ weight, float *__restrict__ out,
                                            int dim, float epsilon) {
    add_rms_norm(x, residual, weight, out, dim, epsilon);
}
