// rotary.cu: rotary position embedding, GPT-NeoX style (rotate-half), in place.
//
// rotary_neox_{bf16,f32}  positions [T] int32; query [T, numHeads·headSize] T; key [T, numKVHeads·headSize] T;
//                     cosSin [maxPositions, rotaryDim] f32 (cos of the rotaryDim/2 frequencies, then sin).
//                     Only the first rotaryDim of each head turn: (x1, x2) = (x[i], x[i + rotaryDim/2]) →
//                     (x1·cos − x2·sin, x2·cos + x1·sin); in bf16 cos/sin and each product are rounded to
//                     bf16 as transformers' apply_rotary_pos_emb does, in f32 nothing is.
// grid (T), block 256: one CTA per token, threads over (head, i) pairs of query then key.
//
// split_qkv_{bf16,f32}  qkv [T, (numHeads + 2·numKVHeads)·headSize] T, each row [q | k | v] (the fused
//                     projection's output) → query [T, numHeads·headSize]; keys and values either to
//                     key, value [T, numKVHeads·headSize] (slotMapping null) or, as reshape_and_cache writes
//                     them, to row slotMapping[t] of key, value viewed as [numSlots, numKVHeads·headSize]
//                     (the paged cache; a negative slot is skipped). Query and key are rotated as
//                     rotary_neox rotates them unless positions is null (then everything is copied).
// grid (T, ⌈(numHeads + 2·numKVHeads) / H⌉), block (≥ rotaryDim/2, H): threadIdx.y picks the head, so a
// decode step's few tokens still spread over the GPU (H = 1) and a prefill's many do not launch a tiny
// CTA per head (H = 8, the launcher's choice); threads turn the head's (i, i + rotaryDim/2) pairs and
// copy the dims no rotation touches.
// split_qkv_vec_{bf16,f32}: the same, 8 dims a thread with 16-byte (bf16) accesses — a thread turns dims
// i … i+7 with their partners i+rotaryDim/2 … — for headSize % 8 == 0 and rotaryDim % 16 == 0 (the
// launcher's check): block (headSize / 8, H). A prefill's 8192 tokens took 214 µs a layer with 2-byte accesses.
// split_qkv_vec_fp8_{e4m3,e5m2}: split_qkv_vec_bf16 into an fp8 paged cache (key, value its bytes; + keyScale,
// valueScale), each value stored as reshape_and_cache_fp8 stores the bf16 one: a decode step's split and cache write in
// one kernel.
// split_qkv_rows_{bf16,f32}: the same work as split_qkv_vec, for prefills: grid (T), a token's whole row per CTA,
// its threads taking the row's 8-dim units — each rotated head's pairs (dims i … i+7 with i+rotaryDim/2 …), its
// unrotated dims, then the value heads' — a unit a thread (block: the units, rounded up to whole warps, at most
// 1024), so that a CTA's loads go out at once and its one slot and position serve every head. An H200 at 16,384
// tokens of Llama-3-8B (docs/benchmarks.md, session 23): 222 µs with 256 threads taking units in turn, 164 a unit a
// thread (with the hardware's bf16 rounding; two tokens a CTA was not faster once general).
#include "common.cuh"
#include "fp8.cuh"

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

// Where head `head` of token `token`'s [q | k | v] row goes: its query row, or its key / value row — the
// token's own, or its cache slot's (slotMapping non-null); null for a skipped (negative) slot.
// kvRow: the token's cache slot (read from slotMapping by the caller), or the token itself without a mapping.
template <typename T>
__device__ __forceinline__ T *split_destination(int token, int head, T *query, T *key, T *value, long long kvRow,
                                                bool mapped, long long numSlots, int numHeads, int numKVHeads,
                                                int headSize) {
    const int qWidth = numHeads * headSize, kvWidth = numKVHeads * headSize;
    if (head < numHeads) return query + (long long)token * qWidth + head * headSize;
    if (mapped && (kvRow < 0 || kvRow >= numSlots)) return nullptr;
    if (head < numHeads + numKVHeads) return key + kvRow * kvWidth + (head - numHeads) * headSize;
    return value + kvRow * kvWidth + (head - numHeads - numKVHeads) * headSize;
}
template <typename T>
__device__ __forceinline__ T *split_destination(int token, int head, T *query, T *key, T *value,
                                                const int *__restrict__ slotMapping, long long numSlots, int numHeads,
                                                int numKVHeads, int headSize) {
    const long long kvRow = slotMapping != nullptr && head >= numHeads ? slotMapping[token] : token;
    return split_destination(token, head, query, key, value, kvRow, slotMapping != nullptr, numSlots, numHeads, numKVHeads,
                             headSize);
}

template <typename T>
__device__ void split_qkv(const T *__restrict__ qkv, const int *__restrict__ positions, T *__restrict__ query,
                          T *__restrict__ key, T *__restrict__ value, const int *__restrict__ slotMapping,
                          long long numSlots, const float *__restrict__ cosSin, int numHeads, int numKVHeads,
                          int headSize, int rotaryDim, int maxPositions) {
    const int token = blockIdx.x;
    const int head = blockIdx.y * blockDim.y + threadIdx.y;  // numHeads q heads, then k heads, then v heads
    if (head >= numHeads + 2 * numKVHeads) return;
    const T *source = qkv + (long long)token * (numHeads + 2 * numKVHeads) * headSize + head * headSize;
    T *destination = split_destination(token, head, query, key, value, slotMapping, numSlots, numHeads, numKVHeads,
                                       headSize);
    if (destination == nullptr) return;
    int turned = 0;  // leading dims this head rotates
    if (positions != nullptr && head < numHeads + numKVHeads) {
        const int position = positions[token];
        if (position < 0 || position >= maxPositions) return;  // validated on the host
        turned = rotaryDim;
        const int half = rotaryDim / 2;
        const float *cosRow = cosSin + (long long)position * rotaryDim;
        for (int i = threadIdx.x; i < half; i += blockDim.x) {
            const float c = round_to<T>(cosRow[i]), s = round_to<T>(cosRow[half + i]);
            const float x1 = load(source[i]), x2 = load(source[i + half]);
            destination[i] = store<T>(round_to<T>(x1 * c) - round_to<T>(x2 * s));
            destination[i + half] = store<T>(round_to<T>(x2 * c) + round_to<T>(x1 * s));
        }
    }
    for (int i = turned + threadIdx.x; i < headSize; i += blockDim.x) destination[i] = source[i];
}

// Eight values to an fp8 cache row (`destination` 8-byte aligned): fp8(value / scale), as reshape_and_cache_fp8 stores.
template <int FORMAT> __device__ __forceinline__ void store8_fp8(unsigned char *destination, const float *values, float scale) {
    unsigned words[2] = {0u, 0u};
#pragma unroll
    for (int j = 0; j < 8; ++j) words[j / 4] |= (unsigned)fp8_encode<FORMAT>(round_bf16(values[j]) / scale) << (8 * (j % 4));
    *(uint2 *)destination = make_uint2(words[0], words[1]);
}

// The step's inputs (position, slot) and the rotary table's row depend on no kernel of the step: they are read before
// grid_dependency_wait, under the kernel before's tail (the qkv linear's), and only the qkv row after it. FORMAT (fp8.cuh;
// bf16 qkv only): keys and values go to an fp8 cache (key, value its bytes) as fp8(x / scale) of the bf16 value the
// split would store, so that the cache needs no kernel of its own after the split.
template <typename T, int FORMAT = 0>
__device__ void split_qkv_vec(const T *__restrict__ qkv, const int *__restrict__ positions, T *__restrict__ query,
                              void *__restrict__ key, void *__restrict__ value, const int *__restrict__ slotMapping,
                              long long numSlots, const float *__restrict__ cosSin, int numHeads, int numKVHeads,
                              int headSize, int rotaryDim, int maxPositions, float keyScale = 1.0f, float valueScale = 1.0f) {
    const int token = blockIdx.x;
    const int head = blockIdx.y * blockDim.y + threadIdx.y;
    const int i = 8 * threadIdx.x;  // this thread's first dim
    const bool rotates = positions != nullptr && head < numHeads + numKVHeads;
    const int half = rotaryDim / 2;
    const bool turns = rotates && i < half, copies = !rotates || i >= rotaryDim;
    const int position = turns ? load_input_early(positions + token) : 0;
    const long long slot = slotMapping != nullptr && head >= numHeads ? load_input_early(slotMapping + token) : token;
    float c[8], s[8];
    if (turns && position >= 0 && position < maxPositions) {  // (validated on the host)
        const float *cosRow = cosSin + (long long)position * rotaryDim;
        load8_early(cosRow + i, c);
        load8_early(cosRow + half + i, s);
    }
    grid_dependency_wait();
    if (head >= numHeads + 2 * numKVHeads || (turns && (position < 0 || position >= maxPositions))) return;
    const T *source = qkv + (long long)token * (numHeads + 2 * numKVHeads) * headSize + head * headSize;
    // The head's row: the query's (T), or its key or value row in the cache (T, or fp8 bytes) or in the tensors.
    const bool toFP8 = FORMAT != 0 && head >= numHeads;
    T *destination = nullptr;
    unsigned char *bytes = nullptr;
    float scale = 1.0f;
    if (toFP8) {
        if (slot < 0 || slot >= numSlots) return;
        const bool isKey = head < numHeads + numKVHeads;
        const int kvHead = head - numHeads - (isKey ? 0 : numKVHeads);
        bytes = (unsigned char *)(isKey ? key : value) + slot * numKVHeads * headSize + (long long)kvHead * headSize;
        scale = isKey ? keyScale : valueScale;
    } else {
        destination = split_destination(token, head, query, (T *)key, (T *)value, slot, slotMapping != nullptr, numSlots,
                                        numHeads, numKVHeads, headSize);
        if (destination == nullptr) return;
    }
    auto put8 = [&](int at, const float *values) {
        if (toFP8) {
            store8_fp8<FORMAT == 0 ? FP8_E4M3 : FORMAT>(bytes + at, values, scale);
        } else {
            store8(destination + at, values);
        }
    };
    if (turns) {
        float x1[8], x2[8], first[8], second[8];
        load8_activation(source + i, x1);
        load8_activation(source + i + half, x2);
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            const float cj = round_to<T>(c[j]), sj = round_to<T>(s[j]);
            first[j] = round_to<T>(x1[j] * cj) - round_to<T>(x2[j] * sj);
            second[j] = round_to<T>(x2[j] * cj) + round_to<T>(x1[j] * sj);
        }
        put8(i, first);
        put8(i + half, second);
    } else if (copies) {
        float values[8];
        for (int start = i; start < headSize; start += 8 * blockDim.x) {
            load8_activation(source + start, values);
            put8(start, values);
        }
    }
}

template <typename T>
__device__ void split_qkv_rows(const T *__restrict__ qkv, const int *__restrict__ positions, T *__restrict__ query,
                               T *__restrict__ key, T *__restrict__ value, const int *__restrict__ slotMapping,
                               long long numSlots, const float *__restrict__ cosSin, int numHeads, int numKVHeads,
                               int headSize, int rotaryDim, int maxPositions) {
    const int token = blockIdx.x;
    const int half = positions != nullptr ? rotaryDim / 2 : 0;
    const int chunks = headSize / 8;                 // 8-dim units of a head
    const int pairUnits = half / 8;                  // a rotated head's pairs …
    const int headUnits = chunks - pairUnits;        // … and its units in all (pairs, then unrotated dims)
    const int rotatedHeads = numHeads + numKVHeads;  // q and k heads (rotated or, without positions, copied)
    const int total = rotatedHeads * headUnits + numKVHeads * chunks;
    // The step's inputs depend on no kernel of the step: read before the wait, under the qkv linear's tail.
    const int position = half > 0 ? load_input_early(positions + token) : 0;
    const long long kvRow = slotMapping != nullptr ? load_input_early(slotMapping + token) : token;
    grid_dependency_wait();
    if (half > 0 && (position < 0 || position >= maxPositions)) return;  // validated on the host
    const float *cosRow = cosSin + (long long)position * rotaryDim;
    const T *row = qkv + (long long)token * (numHeads + 2 * numKVHeads) * headSize;
    // The launcher gives a thread a unit (blockDim.x ≥ total where the row allows), so each thread's loads — the
    // qkv pieces and their rotary factors — go out together, in one round trip.
    for (int u = threadIdx.x; u < total; u += blockDim.x) {
        int head, dim;
        bool pair = false;
        if (u < rotatedHeads * headUnits) {
            head = u / headUnits;
            const int k = u - head * headUnits;
            pair = k < pairUnits;
            dim = pair ? 8 * k : 8 * (k + pairUnits);  // unrotated dims start at rotaryDim = 16 · pairUnits
        } else {
            const int v = u - rotatedHeads * headUnits;
            head = rotatedHeads + v / chunks;
            dim = 8 * (v % chunks);
        }
        T *destination = split_destination(token, head, query, key, value, kvRow, slotMapping != nullptr, numSlots,
                                           numHeads, numKVHeads, headSize);
        if (destination == nullptr) continue;
        const T *source = row + head * headSize;
        if (pair) {
            float x1[8], x2[8], c[8], s[8], first[8], second[8];
            load8_activation(source + dim, x1);  // coherent: kept after the wait
            load8_activation(source + dim + half, x2);
            load8(cosRow + dim, c);  // 32-byte aligned: rotaryDim % 16 == 0 (the launcher's check)
            load8(cosRow + half + dim, s);
#pragma unroll
            for (int j = 0; j < 8; ++j) {
                const float cj = round_to<T>(c[j]), sj = round_to<T>(s[j]);
                first[j] = round_to<T>(x1[j] * cj) - round_to<T>(x2[j] * sj);
                second[j] = round_to<T>(x2[j] * cj) + round_to<T>(x1[j] * sj);
            }
            store8(destination + dim, first);
            store8(destination + dim + half, second);
        } else {
            float values[8];
            load8_activation(source + dim, values);
            store8(destination + dim, values);
        }
    }
}

extern "C" __global__ void split_qkv_rows_bf16(const bf16_t *__restrict__ qkv, const int *__restrict__ positions,
                                               bf16_t *__restrict__ query, bf16_t *__restrict__ key,
                                               bf16_t *__restrict__ value, const int *__restrict__ slotMapping,
                                               long long numSlots, const float *__restrict__ cosSin, int numHeads,
                                               int numKVHeads, int headSize, int rotaryDim, int maxPositions) {
    split_qkv_rows(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads, headSize,
                   rotaryDim, maxPositions);
}

extern "C" __global__ void split_qkv_rows_f32(const float *__restrict__ qkv, const int *__restrict__ positions,
                                              float *__restrict__ query, float *__restrict__ key, float *__restrict__ value,
                                              const int *__restrict__ slotMapping, long long numSlots,
                                              const float *__restrict__ cosSin, int numHeads, int numKVHeads,
                                              int headSize, int rotaryDim, int maxPositions) {
    split_qkv_rows(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads, headSize,
                   rotaryDim, maxPositions);
}

extern "C" __global__ void split_qkv_vec_bf16(const bf16_t *__restrict__ qkv, const int *__restrict__ positions,
                                              bf16_t *__restrict__ query, bf16_t *__restrict__ key,
                                              bf16_t *__restrict__ value, const int *__restrict__ slotMapping,
                                              long long numSlots, const float *__restrict__ cosSin, int numHeads,
                                              int numKVHeads, int headSize, int rotaryDim, int maxPositions) {
    split_qkv_vec(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads, headSize,
                  rotaryDim, maxPositions);
}

extern "C" __global__ void split_qkv_vec_f32(const float *__restrict__ qkv, const int *__restrict__ positions,
                                             float *__restrict__ query, float *__restrict__ key, float *__restrict__ value,
                                             const int *__restrict__ slotMapping, long long numSlots,
                                             const float *__restrict__ cosSin, int numHeads, int numKVHeads,
                                             int headSize, int rotaryDim, int maxPositions) {
    split_qkv_vec(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads, headSize,
                  rotaryDim, maxPositions);
}

// split_qkv_vec into an fp8 cache (e4m3): key, value its bytes, keyScale and valueScale the layer's k_scale, v_scale.
extern "C" __global__ void split_qkv_vec_fp8_e4m3(const bf16_t *__restrict__ qkv, const int *__restrict__ positions,
                                                 bf16_t *__restrict__ query, unsigned char *__restrict__ key,
                                                 unsigned char *__restrict__ value, const int *__restrict__ slotMapping,
                                                 long long numSlots, const float *__restrict__ cosSin, int numHeads,
                                                 int numKVHeads, int headSize, int rotaryDim, int maxPositions,
                                                 float keyScale, float valueScale) {
    split_qkv_vec<bf16_t, FP8_E4M3>(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads,
                                 headSize, rotaryDim, maxPositions, keyScale, valueScale);
}

// split_qkv_vec into an fp8 cache (e5m2): key, value its bytes, keyScale and valueScale the layer's k_scale, v_scale.
extern "C" __global__ void split_qkv_vec_fp8_e5m2(const bf16_t *__restrict__ qkv, const int *__restrict__ positions,
                                                 bf16_t *__restrict__ query, unsigned char *__restrict__ key,
                                                 unsigned char *__restrict__ value, const int *__restrict__ slotMapping,
                                                 long long numSlots, const float *__restrict__ cosSin, int numHeads,
                                                 int numKVHeads, int headSize, int rotaryDim, int maxPositions,
                                                 float keyScale, float valueScale) {
    split_qkv_vec<bf16_t, FP8_E5M2>(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads,
                                 headSize, rotaryDim, maxPositions, keyScale, valueScale);
}

extern "C" __global__ void split_qkv_bf16(const bf16_t *__restrict__ qkv, const int *__restrict__ positions,
                                          bf16_t *__restrict__ query, bf16_t *__restrict__ key,
                                          bf16_t *__restrict__ value, const int *__restrict__ slotMapping,
                                          long long numSlots, const float *__restrict__ cosSin, int numHeads,
                                          int numKVHeads, int headSize, int rotaryDim, int maxPositions) { grid_dependency_wait();
    split_qkv(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads, headSize,
              rotaryDim, maxPositions);
}

extern "C" __global__ void split_qkv_f32(const float *__restrict__ qkv, const int *__restrict__ positions,
                                         float *__restrict__ query, float *__restrict__ key, float *__restrict__ value,
                                         const int *__restrict__ slotMapping, long long numSlots,
                                         const float *__restrict__ cosSin, int numHeads, int numKVHeads, int headSize,
                                         int rotaryDim, int maxPositions) { grid_dependency_wait();
    split_qkv(qkv, positions, query, key, value, slotMapping, numSlots, cosSin, numHeads, numKVHeads, headSize,
              rotaryDim, maxPositions);
}

extern "C" __global__ void rotary_neox_bf16(const int *__restrict__ positions, bf16_t *__restrict__ query,
                                            bf16_t *__restrict__ key, const float *__restrict__ cosSin,
                                            int numHeads, int numKVHeads, int headSize, int rotaryDim,
                                            int maxPositions) { grid_dependency_wait();
    rotary_neox(positions, query, key, cosSin, numHeads, numKVHeads, headSize, rotaryDim, maxPositions);
}

extern "C" __global__ void rotary_neox_f32(const int *__restrict__ positions, float *__restrict__ query,
                                           float *__restrict__ key, const float *__restrict__ cosSin,
                                           int numHeads, int numKVHeads, int headSize, int rotaryDim,
                                           int maxPositions) { grid_dependency_wait();
    rotary_neox(positions, query, key, cosSin, numHeads, numKVHeads, headSize, rotaryDim, maxPositions);
}
