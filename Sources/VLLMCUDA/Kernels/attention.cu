// attention.cu: paged attention over a mixed batch (prefill chunks and decode tokens together).
//
// paged_attention_{bf16,f32}_g{1,2,4,8,16}   (gN: at most N query heads per KV head)
//   query [T, numHeads·headSize] T; keyCache, valueCache [numBlocks, blockSize, numKVHeads, headSize] T;
//   queryStartLoc [S+1], seqLens [S], blockTables [S, maxBlocksPerSeq] int32.
//   Token t of sequence s (queryStartLoc[s] ≤ t < queryStartLoc[s+1]) sits at position
//   seqLens[s] − queryLen + (t − queryStartLoc[s]) and attends to keys 0 … position (causal).
//   grid (numSplits, numKVHeads, T), block 128, dynamic shared memory (see the launcher):
//   one CTA per (query token, KV head, key partition) serves the G = numHeads / numKVHeads query heads
//   sharing that KV head (GQA), so each key and value is read once for all of them.
//   Keys go by tiles of 128: each thread scores one key against the G queries (16-byte loads) and
//   leaves the key's cache slot in shared memory, one warp per head updates the running max and sum
//   (online softmax, f32), then threads own pairs of output dimensions (and, when headSize/2 < 128,
//   a subset of the tile's keys) to accumulate P·V. Both loops are unrolled so each thread has several
//   loads in flight: a decode CTA is bound by memory latency, not bandwidth.
//   In bf16 the probabilities enter P·V rounded to bf16 while the running sum adds them unrounded,
//   as the flash-attention kernels behind PyTorch's bf16 SDPA do; in f32 nothing is rounded.
//   numSplits == 1: out [T, numHeads·headSize] T directly. Otherwise the partition's unnormalized
//   accumulator, max and sum go to partialAcc [T, numHeads, numSplits, headSize] f32 and
//   partialMax / partialSum [T, numHeads, numSplits] f32, and paged_attention_combine_* merges them.
//   Requires headSize % 8 == 0, headSize ≤ 256, G ≤ 16.
//
// paged_attention_combine_{bf16,f32}
//   grid (numHeads, T), block headSize: out = Σ_s e^(m_s − M) acc_s / Σ_s e^(m_s − M) l_s.
#include "common.cuh"

#define TILE 128
#define MAX_GROUP 16

template <typename T, int MAX_G>
__device__ void paged_attention(const T *__restrict__ query, const T *__restrict__ keyCache,
                                const T *__restrict__ valueCache, const int *__restrict__ queryStartLoc,
                                const int *__restrict__ seqLens, const int *__restrict__ blockTables,
                                T *__restrict__ out, float *__restrict__ partialAcc, float *__restrict__ partialMax,
                                float *__restrict__ partialSum, int numSeqs, int numHeads, int numKVHeads,
                                int headSize, int blockSize, int maxBlocksPerSeq, int partitionSize, float scale) {
    extern __shared__ float shared[];
    __shared__ float rowMax[MAX_GROUP], rowSum[MAX_GROUP], rowAlpha[MAX_GROUP];
    __shared__ long long tileSlots[TILE];  // element offset of each key's row in the caches
    const int split = blockIdx.x, kvHead = blockIdx.y, token = blockIdx.z;
    const int numSplits = gridDim.x;
    const int group = numHeads / numKVHeads;
    float *queries = shared;                          // [group][headSize], pre-scaled
    float *scores = queries + group * headSize;       // [group][TILE]: scores, then probabilities
    float *reduction = scores + group * TILE;         // [numKeySubsets][group][headSize]

    // The sequence this token belongs to: the last s with queryStartLoc[s] ≤ token.
    int low = 0, high = numSeqs - 1;
    while (low < high) {
        const int middle = (low + high + 1) / 2;
        if (queryStartLoc[middle] <= token) low = middle; else high = middle - 1;
    }
    const int seq = low;
    const int queryLen = queryStartLoc[seq + 1] - queryStartLoc[seq];
    const int position = seqLens[seq] - queryLen + (token - queryStartLoc[seq]);
    const int keyBegin = split * partitionSize;
    const int keyEnd = min(position + 1, keyBegin + partitionSize);
    const int *table = blockTables + (long long)seq * maxBlocksPerSeq;
    const long long slotStride = (long long)numKVHeads * headSize;

    const T *queryRow = query + ((long long)token * numHeads + kvHead * group) * headSize;
    for (int i = threadIdx.x; i < group * headSize; i += blockDim.x) queries[i] = load(queryRow[i]) * scale;
    if (threadIdx.x < group) {
        rowMax[threadIdx.x] = -INFINITY;
        rowSum[threadIdx.x] = 0.0f;
    }

    const int pairs = headSize / 2;
    const int numKeySubsets = blockDim.x / pairs;
    const int pair = threadIdx.x % pairs, keySubset = threadIdx.x / pairs;
    const bool accumulates = keySubset < numKeySubsets;
    float acc[MAX_G][2];
#pragma unroll
    for (int g = 0; g < MAX_G; ++g) acc[g][0] = acc[g][1] = 0.0f;
    __syncthreads();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, numWarps = blockDim.x >> 5;
    for (int tileStart = keyBegin; tileStart < keyEnd; tileStart += TILE) {
        const int tileLen = min(TILE, keyEnd - tileStart);
        if (threadIdx.x < tileLen) {
            const int k = tileStart + threadIdx.x;
            const long long slot = ((long long)table[k / blockSize] * blockSize + k % blockSize) * slotStride + kvHead * headSize;
            tileSlots[threadIdx.x] = slot;
            const T *keyVector = keyCache + slot;
            float dot[MAX_G];
#pragma unroll
            for (int g = 0; g < MAX_G; ++g) dot[g] = 0.0f;
#pragma unroll 4
            for (int d = 0; d < headSize; d += 8) {
                float k8[8];
                load8(keyVector + d, k8);
#pragma unroll
                for (int g = 0; g < MAX_G; ++g) {
                    if (g < group) {
                        const float *q = queries + g * headSize + d;
#pragma unroll
                        for (int j = 0; j < 8; ++j) dot[g] += q[j] * k8[j];
                    }
                }
            }
#pragma unroll
            for (int g = 0; g < MAX_G; ++g)
                if (g < group) scores[g * TILE + threadIdx.x] = dot[g];
        }
        __syncthreads();
        for (int g = warp; g < group; g += numWarps) {
            float tileMax = -INFINITY;
            for (int i = lane; i < tileLen; i += 32) tileMax = fmaxf(tileMax, scores[g * TILE + i]);
            tileMax = warp_max(tileMax);
            const float oldMax = rowMax[g];
            const float newMax = fmaxf(oldMax, tileMax);
            float tileSum = 0.0f;
            for (int i = lane; i < tileLen; i += 32) {
                const float p = expf(scores[g * TILE + i] - newMax);
                scores[g * TILE + i] = round_to<T>(p);
                tileSum += p;
            }
            tileSum = warp_sum(tileSum);
            if (lane == 0) {
                const float alpha = oldMax == -INFINITY ? 0.0f : expf(oldMax - newMax);
                rowAlpha[g] = alpha;
                rowSum[g] = rowSum[g] * alpha + tileSum;
                rowMax[g] = newMax;
            }
        }
        __syncthreads();
        if (accumulates) {
#pragma unroll
            for (int g = 0; g < MAX_G; ++g) {
                if (g < group) {
                    acc[g][0] *= rowAlpha[g];
                    acc[g][1] *= rowAlpha[g];
                }
            }
#pragma unroll 8
            for (int i = keySubset; i < tileLen; i += numKeySubsets) {
                float v0, v1;
                load2(valueCache + tileSlots[i] + 2 * pair, v0, v1);
#pragma unroll
                for (int g = 0; g < MAX_G; ++g) {
                    if (g < group) {
                        const float p = scores[g * TILE + i];
                        acc[g][0] += p * v0;
                        acc[g][1] += p * v1;
                    }
                }
            }
        }
        __syncthreads();
    }

    // Merge the key subsets' accumulators.
    if (accumulates) {
#pragma unroll
        for (int g = 0; g < MAX_G; ++g) {
            if (g < group) {
                float *slot = reduction + ((long long)keySubset * group + g) * headSize + 2 * pair;
                slot[0] = acc[g][0];
                slot[1] = acc[g][1];
            }
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < group * headSize; i += blockDim.x) {
        const int g = i / headSize, d = i % headSize;
        float total = 0.0f;
        for (int s = 0; s < numKeySubsets; ++s) total += reduction[((long long)s * group + g) * headSize + d];
        const int head = kvHead * group + g;
        if (numSplits == 1) {
            out[((long long)token * numHeads + head) * headSize + d] = store<T>(total / rowSum[g]);
        } else {
            const long long index = ((long long)token * numHeads + head) * numSplits + split;
            partialAcc[index * headSize + d] = total;
            if (d == 0) {
                partialMax[index] = rowMax[g];
                partialSum[index] = rowSum[g];
            }
        }
    }
}

template <typename T>
__device__ void paged_attention_combine(const float *__restrict__ partialAcc, const float *__restrict__ partialMax,
                                        const float *__restrict__ partialSum, T *__restrict__ out, int numHeads,
                                        int headSize, int numSplits) {
    const int head = blockIdx.x, token = blockIdx.y, d = threadIdx.x;
    const long long base = ((long long)token * numHeads + head) * numSplits;
    float globalMax = -INFINITY;
    for (int s = 0; s < numSplits; ++s) globalMax = fmaxf(globalMax, partialMax[base + s]);
    float numerator = 0.0f, denominator = 0.0f;
    for (int s = 0; s < numSplits; ++s) {
        const float m = partialMax[base + s];
        if (m == -INFINITY) continue;  // a partition past this token's context
        const float weight = expf(m - globalMax);
        numerator += weight * partialAcc[(base + s) * headSize + d];
        denominator += weight * partialSum[base + s];
    }
    out[((long long)token * numHeads + head) * headSize + d] = store<T>(numerator / denominator);
}

#define PAGED_ATTENTION_PARAMETERS(T)                                                                         \
    const T *__restrict__ query, const T *__restrict__ keyCache, const T *__restrict__ valueCache,              \
        const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens,                                 \
        const int *__restrict__ blockTables, T *__restrict__ out, float *__restrict__ partialAcc,               \
        float *__restrict__ partialMax, float *__restrict__ partialSum, int numSeqs, int numHeads,              \
        int numKVHeads, int headSize, int blockSize, int maxBlocksPerSeq, int partitionSize, float scale
#define PAGED_ATTENTION(T, MAX_G)                                                                              \
    paged_attention<T, MAX_G>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc, \
                              partialMax, partialSum, numSeqs, numHeads, numKVHeads, headSize, blockSize,        \
                              maxBlocksPerSeq, partitionSize, scale)

// One entry point per bound on G (query heads per KV head): the per-head arrays and loops are sized
// at compile time, so a GQA group of 4 runs 4 heads' worth of instructions, not 16 predicated ones.
extern "C" __global__ void __launch_bounds__(128) paged_attention_bf16_g1(PAGED_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    PAGED_ATTENTION(bf16_t, 1);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_bf16_g2(PAGED_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    PAGED_ATTENTION(bf16_t, 2);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_bf16_g4(PAGED_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    PAGED_ATTENTION(bf16_t, 4);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_bf16_g8(PAGED_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    PAGED_ATTENTION(bf16_t, 8);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_bf16_g16(PAGED_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    PAGED_ATTENTION(bf16_t, 16);
}

extern "C" __global__ void __launch_bounds__(128) paged_attention_f32_g1(PAGED_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    PAGED_ATTENTION(float, 1);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_f32_g2(PAGED_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    PAGED_ATTENTION(float, 2);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_f32_g4(PAGED_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    PAGED_ATTENTION(float, 4);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_f32_g8(PAGED_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    PAGED_ATTENTION(float, 8);
}
extern "C" __global__ void __launch_bounds__(128) paged_attention_f32_g16(PAGED_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    PAGED_ATTENTION(float, 16);
}

extern "C" __global__ void paged_attention_combine_bf16(const float *__restrict__ partialAcc,
                                                       const float *__restrict__ partialMax,
                                                       const float *__restrict__ partialSum, bf16_t *__restrict__ out,
                                                       int numHeads, int headSize, int numSplits) { grid_dependency_wait();
    paged_attention_combine(partialAcc, partialMax, partialSum, out, numHeads, headSize, numSplits);
}

extern "C" __global__ void paged_attention_combine_f32(const float *__restrict__ partialAcc,
                                                       const float *__restrict__ partialMax,
                                                       const float *__restrict__ partialSum, float *__restrict__ out,
                                                       int numHeads, int headSize, int numSplits) { grid_dependency_wait();
    paged_attention_combine(partialAcc, partialMax, partialSum, out, numHeads, headSize, numSplits);
}
