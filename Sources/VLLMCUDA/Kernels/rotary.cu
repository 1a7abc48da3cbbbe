// rotary.cu: rotary position embedding, GPT-NeoX style (rotate-half), in place.
//
// rotary_neox_{bf16,f32}  positions [T] int32; query [T, numHeads·headSize] T; key [T, numKVHeads·headSize] T;
//                     cosSin [maxPositions, rotaryDim] f32 (cos of the rotaryDim/2 frequencies, then sin).
//                     Only the first rotaryDim of each head turn: (x1, x2) = (x[i], x[i + rotaryDim/2]) →
//                     (x1·cos − x2·sin, x2·cos + x1·sin); in bf16 cos/sin and each product are rounded to
//                     bf16 as transformers' apply_rotary_pos_emb does, in f32 nothing is.
// grid (T), block 256: one CTA per token, threads over (head, i) pairs of query then key.
#include "common.cuh"

template <typename T>
__device__ __forceinline__ void rotate_pair(T *head, int i, int half, float c, float s) {
    const float x1 = load(head[i]);
    const float x2 = load(head[i + half]);
    head[i] = store<T>(round_to<T>(x1 * c) - round_to<T>(x2 * s));
    head[i + half] = store<T>(round_to<T>(x2 * c) + round_to<T>(x1 * s));
}

template <typename T>
__device__ void rotary_neox(const int *__restrict__ positions, T *__restrict__ query, T *__restrict__ key,
                            const float *__restrict__ cosSin, int numHeads, int numKVHeads, int headSize,
                            int rotaryDim, int maxPositions) {
    const int token = blockIdx.x;
    const int position = positions[token];
    if (position < 0 || position >= maxPositions) return;  // validated on the host
    const int half = rotaryDim / 2;
    const float *cosRow = cosSin + (long long)position * rotaryDim;
    const float *sinRow = cosRow + half;
    T *queryRow = query + (long long)token * numHeads * headSize;
    T *keyRow = key + (long long)token * numKVHeads * headSize;
    const int total = (numHeads + numKVHeads) * half;
    for (int index = threadIdx.x; index < total; index += blockDim.x) {
        const int head = index / half, i = index % half;
        const float c = round_to<T>(cosRow[i]), s = round_to<T>(sinRow[i]);
        if (head < numHeads) {
            rotate_pair(queryRow + head * headSize, i, half, c, s);
        } else {
            rotate_pair(keyRow + (head - numHeads) * headSize, i, half, c, s);
        }
    }
}

extern "C" __global__ void rotary_neox_bf16(const int *__restrict__ positions, bf16_t *__restrict__ query,
                                            bf16_t *__restrict__ key, const float *__restrict__ cosSin,
                                            int numHeads, int numKVHeads, int headSize, int rotaryDim,
                                            int maxPositions) {
    rotary_neox(positions, query, key, cosSin, numHeads, numKVHeads, headSize, rotaryDim, maxPositions);
}

extern "C" __global__ void rotary_neox_f32(const int *__restrict__ positions, float *__restrict__ query,
                                           float *__restrict__ key, const float *__restrict__ cosSin,
                                           int numHeads, int numKVHeads, int headSize, int rotaryDim,
                                           int maxPositions) {
    rotary_neox(positions, query, key, cosSin, numHeads, numKVHeads, headSize, rotaryDim, maxPositions);
}
