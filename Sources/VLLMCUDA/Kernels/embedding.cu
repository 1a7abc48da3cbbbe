// embedding.cu: row lookups.
//
// embedding_bf16      tokenIds [T] int32, table [V, H] bf16 → out [T, H] bf16: out[t] = table[tokenIds[t] − first].
//                     grid (T), block 256: one CTA per token, 16-byte copies when a row is whole 16-byte words.
// embedding_f32       the same for an f32 table.
//                     An id outside [first, first + V) yields a zero row: a vocabulary shard (tensor parallelism)
//                     holds the rows of its own ids, and the all-reduce after it adds the others'.
// gather_rows_bf16    x [T, H] bf16, indices [S] int32 → out [S, H] bf16. grid (S), block 256.
// gather_rows_f32     the same for f32 rows.
// concat_columns_f32  parts [P, S, W] f32 → out [S, V] f32, out[s, c] = parts[c / W, s, c % W] for c < V ≤ P·W: a
//                     vocabulary-parallel lm_head's gathered logits into whole rows. grid (S, P), block 256.
// scatter_sampled_tokens  sampled [rows · stride] int32, rows [P], positions [P] int32 → tokenIds[positions[i]] =
//                     sampled[rows[i] · stride]: a step's input tokens that the step before it samples (async
//                     scheduling). grid (⌈P / 256⌉), block 256.
#include "common.cuh"

template <typename Element>
__device__ void copy_row(const Element *source, Element *destination, long long count) {
    const long long bytes = count * (long long)sizeof(Element);
    if ((bytes & 15) == 0 && (((unsigned long long)source | (unsigned long long)destination) & 15) == 0) {
        const uint4 *from = (const uint4 *)source;
        uint4 *to = (uint4 *)destination;
        for (long long i = threadIdx.x; i < bytes / 16; i += blockDim.x) to[i] = from[i];
    } else {
        for (long long i = threadIdx.x; i < count; i += blockDim.x) destination[i] = source[i];
    }
}

template <typename Element>
__device__ void zero_row(Element *destination, long long count) {
    for (long long i = threadIdx.x; i < count; i += blockDim.x) destination[i] = (Element)0;
}

template <typename Element>
__device__ void embedding(const int *__restrict__ tokenIds, const Element *__restrict__ table,
                          Element *__restrict__ out, int hidden, int vocab, int first) {
    const int token = blockIdx.x;
    const int id = tokenIds[token] - first;
    Element *row = out + (long long)token * hidden;
    if (id < 0 || id >= vocab) {
        zero_row(row, hidden);
        return;
    }
    copy_row(table + (long long)id * hidden, row, hidden);
}

extern "C" __global__ void embedding_bf16(const int *__restrict__ tokenIds, const bf16_t *__restrict__ table,
                                          bf16_t *__restrict__ out, int hidden, int vocab, int first) { grid_dependency_wait();
    embedding(tokenIds, table, out, hidden, vocab, first);
}

extern "C" __global__ void embedding_f32(const int *__restrict__ tokenIds, const float *__restrict__ table,
                                         float *__restrict__ out, int hidden, int vocab, int first) { grid_dependency_wait();
    embedding(tokenIds, table, out, hidden, vocab, first);
}

extern "C" __global__ void gather_rows_bf16(const bf16_t *__restrict__ x, const int *__restrict__ indices,
                                            bf16_t *__restrict__ out, int hidden, int numRows) { grid_dependency_wait();
    const int row = indices[blockIdx.x];
    bf16_t *destination = out + (long long)blockIdx.x * hidden;
    if (row < 0 || row >= numRows) {
        zero_row(destination, hidden);
        return;
    }
    copy_row(x + (long long)row * hidden, destination, hidden);
}

extern "C" __global__ void gather_rows_f32(const float *__restrict__ x, const int *__restrict__ indices,
                                           float *__restrict__ out, int hidden, int numRows) { grid_dependency_wait();
    const int row = indices[blockIdx.x];
    float *destination = out + (long long)blockIdx.x * hidden;
    if (row < 0 || row >= numRows) {
        zero_row(destination, hidden);
        return;
    }
    copy_row(x + (long long)row * hidden, destination, hidden);
}

extern "C" __global__ void scatter_sampled_tokens(const int *__restrict__ sampled, int stride, const int *__restrict__ rows,
                                                  const int *__restrict__ positions, int *__restrict__ tokenIds, int count) { grid_dependency_wait();
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < count) tokenIds[positions[i]] = sampled[(long long)rows[i] * stride];
}

extern "C" __global__ void concat_columns_f32(const float *__restrict__ parts, float *__restrict__ out, int rows, int width,
                                              int columns) { grid_dependency_wait();
    const int s = blockIdx.x, part = blockIdx.y;
    const int count = min(width, columns - part * width);
    const float *source = parts + ((long long)part * rows + s) * width;
    float *destination = out + (long long)s * columns + (long long)part * width;
    for (int i = threadIdx.x; i < count; i += blockDim.x) destination[i] = source[i];
}
