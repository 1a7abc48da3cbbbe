// layernorm.cu: RMSNorm, as transformers' LlamaRMSNorm computes it in bf16:
//   r = rsqrt(mean(float(x)²) + eps);  out = bf16(weight · bf16(float(x) · r)).
//
// rms_norm_bf16       x [N, D] bf16, weight [D] bf16 → out [N, D] bf16.
// add_rms_norm_bf16   residual = bf16(x + residual) in place, then out = rmsNorm(residual).
// grid (N), block 256 (the launcher may pick up to 1024): one CTA per row, f32 sums.
#include "common.cuh"

extern "C" __global__ void rms_norm_bf16(const bf16_t *__restrict__ x, const bf16_t *__restrict__ weight,
                                         bf16_t *__restrict__ out, int dim, float epsilon) {
    __shared__ float scratch[32];
    const bf16_t *row = x + (long long)blockIdx.x * dim;
    bf16_t *outRow = out + (long long)blockIdx.x * dim;
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float value = bf16_to_f32(row[i]);
        squares += value * value;
    }
    const float inverse = rsqrtf(block_sum(squares, scratch) / (float)dim + epsilon);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float normalized = round_bf16(bf16_to_f32(row[i]) * inverse);
        outRow[i] = f32_to_bf16(bf16_to_f32(weight[i]) * normalized);
    }
}

extern "C" __global__ void add_rms_norm_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ residual,
                                             const bf16_t *__restrict__ weight, bf16_t *__restrict__ out,
                                             int dim, float epsilon) {
    __shared__ float scratch[32];
    const bf16_t *row = x + (long long)blockIdx.x * dim;
    bf16_t *residualRow = residual + (long long)blockIdx.x * dim;
    bf16_t *outRow = out + (long long)blockIdx.x * dim;
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const bf16_t sum = f32_to_bf16(bf16_to_f32(row[i]) + bf16_to_f32(residualRow[i]));
        residualRow[i] = sum;  // each thread re-reads only the elements it wrote
        const float value = bf16_to_f32(sum);
        squares += value * value;
    }
    const float inverse = rsqrtf(block_sum(squares, scratch) / (float)dim + epsilon);
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float normalized = round_bf16(bf16_to_f32(residualRow[i]) * inverse);
        outRow[i] = f32_to_bf16(bf16_to_f32(weight[i]) * normalized);
    }
}
