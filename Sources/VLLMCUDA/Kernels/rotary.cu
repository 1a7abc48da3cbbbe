// rotary.cu: rotary position embedding, GPT-NeoX style (rotate-half), in place.
//
// rotary_neox_bf16    positions [T] int32; query [T, numHeads·headSize] bf16; key [T, numKVHeads·headSize] bf16;
//                     cosSin [maxPositions, rotaryDim] f32 (cos of the rotaryDim/2 frequencies, then sin).
//                     Only the first rotaryDim of each head turn: (x1, x2) = (x[i], x[i + rotaryDim/2]) →
//                     (x1·cos − x2·sin, x2·cos + x1·sin), with cos/sin and each product rounded to bf16 as
//                     transformers' apply_rotary_pos_emb does in bf16.
// grid (T), block 256: one CTA per token, threads over (head, i) pairs of query then key.
#include "common.cuh"

__device__ __forceinline__ void rotate_pair(bf16_t *head, int i, int half, float c, float s) {
    const float x1 = bf16_to_f32(head[i]);
    const float x2 = bf16_to_f32(head[i + half]);
    head[i] = f32_to_bf16(round_bf16(x1 * c) - round_bf16(x2 * s));
    head[i + half] = f32_to_bf16(round_bf16(x2 * c) + round_bf16(x1 * s));
}

extern "C" __global__ void rotary_neox_bf16(const int *__restrict__ positions, bf16_t *__restrict__ query,
                                            bf16_t *__restrict__ key, const float *__restrict__ cosSin,
                                            int numHeads, int numKVHeads, int headSize, int rotaryDim,
                                            int maxPositions) {
    const int token = blockIdx.x;
    const int position = positions[token];
    if (position < 0 || position >= maxPositions) return;  // validated on the host
    const int half = rotaryDim / 2;
    const float *cosRow = cosSin + (long long)position * rotaryDim;
    const float *sinRow = cosRow + half;
    bf16_t *queryRow = query + (long long)token * numHeads * headSize;
    bf16_t *keyRow = key + (long long)token * numKVHeads * headSize;
    const int total = (numHeads + numKVHeads) * half;
    for (int index = threadIdx.x; index < total; index += blockDim.x) {
        const int head = index / half, i = index % half;
        const float c = round_bf16(cosRow[i]), s = round_bf16(sinRow[i]);
        if (head < numHeads) {
            rotate_pair(queryRow + head * headSize, i, half, c, s);
        } else {
            rotate_pair(keyRow + (head - numHeads) * headSize, i, half, c, s);
        }
    }
}
