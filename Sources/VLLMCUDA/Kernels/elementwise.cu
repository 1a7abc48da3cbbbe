// elementwise.cu: the MLP activation and the linear bias.
//
// silu_and_mul_bf16   x [T, 2I] bf16 → out [T, I] bf16: out = bf16(bf16(silu(gate)) · up), gate = x[:, :I],
//                     up = x[:, I:], as transformers computes act_fn(gate_proj(x)) * up_proj(x) in bf16.
//                     grid (T, ceil(I / 1024)), block 256, each thread up to 4 elements.
// add_bias_bf16       out [T, N] bf16 += bias [N] bf16 (rounded once). grid (ceil(T·N / 1024)), block 256.
// add_bias_f32        out [T, N] f32 += bias [N] bf16.
#include "common.cuh"

extern "C" __global__ void silu_and_mul_bf16(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, int inner) {
    const long long token = blockIdx.x;
    const bf16_t *gate = x + token * 2 * inner;
    const bf16_t *up = gate + inner;
    bf16_t *outRow = out + token * inner;
    const int begin = blockIdx.y * 1024;
    const int end = min(inner, begin + 1024);
    for (int i = begin + threadIdx.x; i < end; i += blockDim.x) {
        const float g = bf16_to_f32(gate[i]);
        const float activated = round_bf16(g / (1.0f + expf(-g)));
        outRow[i] = f32_to_bf16(activated * bf16_to_f32(up[i]));
    }
}

extern "C" __global__ void add_bias_bf16(bf16_t *__restrict__ out, const bf16_t *__restrict__ bias, int columns,
                                         long long count) {
    const long long begin = (long long)blockIdx.x * 1024;
    for (long long i = begin + threadIdx.x; i < min(count, begin + 1024); i += blockDim.x) {
        out[i] = f32_to_bf16(bf16_to_f32(out[i]) + bf16_to_f32(bias[i % columns]));
    }
}

extern "C" __global__ void add_bias_f32(float *__restrict__ out, const bf16_t *__restrict__ bias, int columns,
                                        long long count) {
    const long long begin = (long long)blockIdx.x * 1024;
    for (long long i = begin + threadIdx.x; i < min(count, begin + 1024); i += blockDim.x) {
        out[i] += bf16_to_f32(bias[i % columns]);
    }
}
