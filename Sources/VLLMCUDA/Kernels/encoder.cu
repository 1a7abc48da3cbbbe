// encoder.cu: the ops of BERT-family encoders (BertModel, XLMRobertaModel).
//
// layer_norm_{bf16,f32}   x [N, D] T, residual [N, D] T or null, weight [D] T, bias [D] T → out [N, D] T (may be x
//                      or residual): transformers' nn.LayerNorm of v = T(x + residual) (the bf16 add rounds, as
//                      PyTorch's does), mean and variance in f32 over the row, two passes.
//                      grid (N), block 256.
// gelu_{bf16,f32}      x [n] T → out [n] T: x · Φ(x), the erf form (transformers' "gelu"). grid ⌈n / 1024⌉, block 256.
// add_{bf16,f32}       a, b [n] T → out [n] T. grid ⌈n / 1024⌉, block 256.
// encoder_attention_{bf16,f32}
//                      qkv [T, 3·H·D] T (each row q | k | v), queryStartLoc [S+1] int32 → out [T, H·D] T:
//                      every token attends to every token of its own sequence (no mask, no cache).
//                      grid (T, H), block 128, dynamic shared memory 4 · (D + maxSeqLen) bytes: a CTA per
//                      (token, head) finds its sequence by bisection, scores all keys into shared memory
//                      (a thread a key), softmax in f32, then sums P·V a thread per dimension. CUDA cores:
//                      the correctness path; an encoder's prefill is GEMM-bound.
#include "common.cuh"

template <typename T>
__device__ void layer_norm(const T *__restrict__ x, const T *__restrict__ residual, const T *__restrict__ weight,
                           const T *__restrict__ bias, T *out, int dim, float epsilon) {
    __shared__ float scratch[32];
    const long long row = blockIdx.x;
    const T *xr = x + row * dim;
    const T *rr = residual ? residual + row * dim : nullptr;
    T *outRow = out + row * dim;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) sum += round_to<T>(load(xr[i]) + (rr ? load(rr[i]) : 0.0f));
    const float mean = block_sum(sum, scratch) / dim;
    float squares = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float d = round_to<T>(load(xr[i]) + (rr ? load(rr[i]) : 0.0f)) - mean;
        squares += d * d;
    }
    const float inverse = rsqrtf(block_sum(squares, scratch) / dim + epsilon);
    __syncthreads();  // every thread has read its elements of x and residual: out may be either
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float v = round_to<T>(load(xr[i]) + (rr ? load(rr[i]) : 0.0f));
        outRow[i] = store<T>((v - mean) * inverse * load(weight[i]) + load(bias[i]));
    }
}

extern "C" __global__ void layer_norm_bf16(const bf16_t *__restrict__ x, const bf16_t *__restrict__ residual,
                                           const bf16_t *__restrict__ weight, const bf16_t *__restrict__ bias,
                                           bf16_t *out, int dim, float epsilon) { grid_dependency_wait();
    layer_norm(x, residual, weight, bias, out, dim, epsilon);
}

extern "C" __global__ void layer_norm_f32(const float *__restrict__ x, const float *__restrict__ residual,
                                          const float *__restrict__ weight, const float *__restrict__ bias, float *out,
                                          int dim, float epsilon) { grid_dependency_wait();
    layer_norm(x, residual, weight, bias, out, dim, epsilon);
}

template <typename T> __device__ void gelu(const T *x, T *out, long long count) {
    const long long begin = (long long)blockIdx.x * 1024;
    for (long long i = begin + threadIdx.x; i < min(count, begin + 1024); i += blockDim.x) {
        const float v = load(x[i]);
        out[i] = store<T>(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
    }
}

extern "C" __global__ void gelu_bf16(const bf16_t *x, bf16_t *out, long long count) { grid_dependency_wait();
    gelu(x, out, count);
}

extern "C" __global__ void gelu_f32(const float *x, float *out, long long count) { grid_dependency_wait();
    gelu(x, out, count);
}

template <typename T> __device__ void add(const T *a, const T *b, T *out, long long count) {
    const long long begin = (long long)blockIdx.x * 1024;
    for (long long i = begin + threadIdx.x; i < min(count, begin + 1024); i += blockDim.x)
        out[i] = store<T>(load(a[i]) + load(b[i]));
}

extern "C" __global__ void add_bf16(const bf16_t *a, const bf16_t *b, bf16_t *out, long long count) { grid_dependency_wait();
    add(a, b, out, count);
}

extern "C" __global__ void add_f32(const float *a, const float *b, float *out, long long count) { grid_dependency_wait();
    add(a, b, out, count);
}

template <typename T>
__device__ void encoder_attention(const T *__restrict__ qkv, const int *__restrict__ queryStartLoc, T *__restrict__ out,
                                  int numSeqs, int numHeads, int headSize, float scale) {
    extern __shared__ float encoderShared[];
    float *query = encoderShared;              // [headSize]
    float *scores = encoderShared + headSize;  // [keys]
    __shared__ float scratch[32];
    const int token = blockIdx.x, head = blockIdx.y;
    // The sequence holding this token: the last s with queryStartLoc[s] ≤ token.
    int low = 0, high = numSeqs - 1;
    while (low < high) {
        const int mid = (low + high + 1) / 2;
        if (queryStartLoc[mid] <= token) low = mid; else high = mid - 1;
    }
    const int begin = queryStartLoc[low], end = queryStartLoc[low + 1];
    const long long rowWidth = 3LL * numHeads * headSize;
    const T *q = qkv + token * rowWidth + head * headSize;
    for (int d = threadIdx.x; d < headSize; d += blockDim.x) query[d] = load(q[d]);
    __syncthreads();
    float localMax = -INFINITY;
    for (int j = begin + threadIdx.x; j < end; j += blockDim.x) {
        const T *k = qkv + j * rowWidth + numHeads * headSize + head * headSize;
        float dot = 0.0f;
        for (int d = 0; d < headSize; ++d) dot += query[d] * load(k[d]);
        scores[j - begin] = dot * scale;
        localMax = fmaxf(localMax, dot * scale);
    }
    const float maxScore = block_max(localMax, scratch);
    float localSum = 0.0f;
    for (int j = threadIdx.x; j < end - begin; j += blockDim.x) {
        const float p = expf(scores[j] - maxScore);
        scores[j] = p;
        localSum += p;
    }
    const float sum = block_sum(localSum, scratch);  // its barriers also publish the scores
    const float inverse = 1.0f / sum;
    for (int d = threadIdx.x; d < headSize; d += blockDim.x) {
        float acc = 0.0f;
        for (int j = begin; j < end; ++j) acc += scores[j - begin] * load(qkv[j * rowWidth + 2LL * numHeads * headSize + head * headSize + d]);
        out[((long long)token * numHeads + head) * headSize + d] = store<T>(acc * inverse);
    }
}

extern "C" __global__ void encoder_attention_bf16(const bf16_t *__restrict__ qkv, const int *__restrict__ queryStartLoc,
                                                  bf16_t *__restrict__ out, int numSeqs, int numHeads, int headSize,
                                                  float scale) { grid_dependency_wait();
    encoder_attention(qkv, queryStartLoc, out, numSeqs, numHeads, headSize, scale);
}

extern "C" __global__ void encoder_attention_f32(const float *__restrict__ qkv, const int *__restrict__ queryStartLoc,
                                                 float *__restrict__ out, int numSeqs, int numHeads, int headSize,
                                                 float scale) { grid_dependency_wait();
    encoder_attention(qkv, queryStartLoc, out, numSeqs, numHeads, headSize, scale);
}
