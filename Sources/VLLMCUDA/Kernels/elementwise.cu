// elementwise.cu: the MLP activation and the linear bias.
//
// silu_and_mul_{bf16,f32}  x [T, 2I] T → out [T, I] T: out = T(T(silu(gate)) · up), gate = x[:, :I],
//                     up = x[:, I:], as transformers computes act_fn(gate_proj(x)) * up_proj(x) in bf16
//                     (in f32 nothing is rounded). grid (T, ceil(I / 1024)), block 256, each thread up to 4 elements.
// silu_and_mul_vec_{bf16,f32}  the same with 8 elements a thread in 16-byte (bf16) loads and stores, for
//                     I % 8 == 0 and aligned rows (the launcher's check): grid (T, ceil(I / 2048)), block 256.
//                     A prefill's 8192 × 14336 took 483 µs a layer with 2-byte accesses (1.5 TB/s).
// silu_and_mul_quant_fp8_bf16  silu_and_mul_vec_bf16's out, and out quantized per row for an FP8 linear besides —
//                     codes [T, I] e4m3, codeScales [T] f32, as quantize_fp8_rows_bf16 would quantize it (fp8.cuh):
//                     grid (T), block 512, a row a CTA (its amax), I % 8 == 0, I ≤ 8 · 4 · 512.
// silu_and_mul_quant_fp8_groups_bf16  the same quantized per row per 128 columns for a block-scaled FP8 linear:
//                     codeScales [I / 128, T] (tokens contiguous), as quantize_fp8_groups_bf16 would. I % 128 == 0.
// bias_round_bf16_f32 out [T, N] f32 = bf16(out + bias [N] bf16, or + 0 when bias is null): a bf16 linear's
//                     output (the logits) as PyTorch's bf16 matmul leaves it, widened to f32.
//                     grid (ceil(T·N / 1024)), block 256. (Other biases ride cuBLASLt's epilogue.)
#include "common.cuh"
#include "fp8.cuh"

template <typename T>
__device__ void silu_and_mul(const T *__restrict__ x, T *__restrict__ out, int inner) {
    const long long token = blockIdx.x;
    const T *gate = x + token * 2 * inner;
    const T *up = gate + inner;
    T *outRow = out + token * inner;
    const int begin = blockIdx.y * 1024;
    const int end = min(inner, begin + 1024);
    for (int i = begin + threadIdx.x; i < end; i += blockDim.x) {
        const float g = load(gate[i]);
        const float activated = round_to<T>(g / (1.0f + expf(-g)));
        outRow[i] = store<T>(activated * load(up[i]));
    }
}

template <typename T>
__device__ void silu_and_mul_vec(const T *__restrict__ x, T *__restrict__ out, int inner) {
    const long long token = blockIdx.x;
    const int start = 8 * (blockIdx.y * blockDim.x + threadIdx.x);
    if (start >= inner) return;
    const T *gate = x + token * 2 * inner;
    float g[8], u[8], result[8];
    load8(gate + start, g);
    load8(gate + inner + start, u);
#pragma unroll
    for (int i = 0; i < 8; ++i) result[i] = round_to<T>(g[i] / (1.0f + expf(-g[i]))) * u[i];
    store8(out + token * inner + start, result);
}

extern "C" __global__ void silu_and_mul_vec_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, int inner) { grid_dependency_wait();
    silu_and_mul_vec(x, out, inner);
}

extern "C" __global__ void silu_and_mul_vec_f32(const float *__restrict__ x, float *__restrict__ out, int inner) { grid_dependency_wait();
    silu_and_mul_vec(x, out, inner);
}

#define SILU_QUANT_CHUNKS 4
// GROUPED: codeScales [I / 128, T] (a scale per row per 128 columns, tokens contiguous), else [T].
template <bool GROUPED>
__device__ void silu_and_mul_quant_fp8(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, unsigned char *__restrict__ codes,
                                       float *__restrict__ codeScales, int inner) {
    __shared__ float scratch[32];
    grid_dependency_wait();
    const long long token = blockIdx.x;
    const bf16_t *gate = x + token * 2 * inner;
    // Every chunk's loads first (eight 16-byte loads a thread in flight), then the arithmetic, two CTAs an SM: a row a
    // CTA leaves few CTAs to hide a load (run2, chunk by chunk, 8 a thread of 512: a W2 prefill's 16384 × 14336 took
    // ~1.0 ms against ~0.44 for silu_and_mul_vec).
    uint4 g[SILU_QUANT_CHUNKS], u[SILU_QUANT_CHUNKS];
#pragma unroll
    for (int c = 0; c < SILU_QUANT_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start < inner) {
            g[c] = *(const uint4 *)(gate + start);
            u[c] = *(const uint4 *)(gate + inner + start);
        }
    }
    float result[SILU_QUANT_CHUNKS][8];
    float amax = 0.0f;
#pragma unroll
    for (int c = 0; c < SILU_QUANT_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start < inner) {
            float gv[8], uv[8];
            unpack8(g[c], gv);
            unpack8(u[c], uv);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                result[c][i] = round_bf16(round_bf16(gv[i] / (1.0f + expf(-gv[i]))) * uv[i]);  // out as stored
                amax = fmaxf(amax, fabsf(result[c][i]));
            }
            store8(out + token * inner + start, result[c]);
        }
        // GROUPED: each chunk's codes at once (every thread: the groups' amax are warp shuffles)
        if (GROUPED) quantize_group128_chunk(result[c], start < inner, start, token, gridDim.x, codes + token * inner, codeScales);
    }
    if (GROUPED) return;
    const float scale = fp8_activation_scale(block_max(amax, scratch));
    if (threadIdx.x == 0) codeScales[token] = scale;
    const float inverse = 1.0f / scale;
#pragma unroll
    for (int c = 0; c < SILU_QUANT_CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start < inner) *(uint2 *)(codes + token * inner + start) = e4m3x8(result[c], inverse);
    }
}

extern "C" __global__ void __launch_bounds__(512, 2)
    silu_and_mul_quant_fp8_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, unsigned char *__restrict__ codes,
                                float *__restrict__ codeScales, int inner) {
    silu_and_mul_quant_fp8<false>(x, out, codes, codeScales, inner);
}

extern "C" __global__ void __launch_bounds__(512, 2)
    silu_and_mul_quant_fp8_groups_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, unsigned char *__restrict__ codes,
                                       float *__restrict__ codeScales, int inner) {
    silu_and_mul_quant_fp8<true>(x, out, codes, codeScales, inner);
}

extern "C" __global__ void silu_and_mul_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, int inner) { grid_dependency_wait();
    silu_and_mul(x, out, inner);
}

extern "C" __global__ void silu_and_mul_f32(const float *__restrict__ x, float *__restrict__ out, int inner) { grid_dependency_wait();
    silu_and_mul(x, out, inner);
}

extern "C" __global__ void bias_round_bf16_f32(float *__restrict__ out, const bf16_t *__restrict__ bias, int columns,
                                               long long count) { grid_dependency_wait();
    const long long begin = (long long)blockIdx.x * 1024;
    for (long long i = begin + threadIdx.x; i < min(count, begin + 1024); i += blockDim.x) {
        out[i] = round_bf16(out[i] + (bias ? bf16_to_f32(bias[i % columns]) : 0.0f));
    }
}
