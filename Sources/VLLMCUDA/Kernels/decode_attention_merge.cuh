// decode_attention_merge.cuh: decode_attention.cu's split partitions merged in the same launch (see that
// file's opening comment): the last CTA of a (sequence, head chunk) to finish, counted on splitCounters,
// merges the partitions' unnormalized accumulators, maxima (base 2) and sums into out, a warp a head.
#pragma once
#include "common.cuh"

#define DECODE_WARPS 4  // a decode CTA's warps (the launcher's decodeAttentionWarps)

// The subtrahend that turns a running max into exponents: 0 while nothing has been seen (max −∞), so
// 2^(−∞ − base) is 0 rather than NaN.
__device__ __forceinline__ float max_base(float runningMax) { return runningMax == -INFINITY ? 0.0f : runningMax; }

// Four consecutive elements (8-byte aligned for bf16, 16-byte for f32), rounded as `store`.
__device__ __forceinline__ void store4(bf16_t *destination, float4 v) {
    uint2 raw;
    raw.x = (unsigned int)f32_to_bf16(v.x) | ((unsigned int)f32_to_bf16(v.y) << 16);
    raw.y = (unsigned int)f32_to_bf16(v.z) | ((unsigned int)f32_to_bf16(v.w) << 16);
    *(uint2 *)destination = raw;
}
__device__ __forceinline__ void store4(float *destination, float4 v) { *(float4 *)destination = v; }

// IN_FLIGHT partitions' accumulators from `start` on, this lane's float4 slots lane + 32·j of each row
// (lanes past a short row read its last float4, unused); partitions from `numActive` on are read as
// the last active one (weight 0), so nothing unwritten is read. Through L2 (ld.global.cg): other CTAs
// wrote them during this launch.
template <int IN_FLIGHT, int SLOTS>
__device__ __forceinline__ void load_partials(float4 (&a)[IN_FLIGHT][SLOTS], const float *partialAcc, long long base,
                                              int start, int numActive, int headSize, int lane) {
    const int quads = headSize / 4;
    const int last = max(numActive - 1, 0);
#pragma unroll
    for (int i = 0; i < IN_FLIGHT; ++i) {
        const float4 *row = (const float4 *)(partialAcc + (base + min(start + i, last)) * headSize);
#pragma unroll
        for (int j = 0; j < SLOTS; ++j)
            if (j == 0 || 32 * j < quads) a[i][j] = __ldcg(row + min(lane + 32 * j, quads - 1));
    }
}

// One warp merges the first `numActive` partitions of one (token, head) into its output row; `base`
// is the head's partition 0 in partialMax / partialSum (and in partialAcc, in rows of headSize).
template <typename T, int IN_FLIGHT, int SLOTS>
__device__ __forceinline__ void merge_partitions(const float *partialAcc, const float *partialMax,
                                                 const float *partialSum, T *row, long long base, int headSize,
                                                 int numActive) {
    const int lane = threadIdx.x & 31;
    const int quads = headSize / 4;  // float4s in a row: 2 … 64
    // The first partitions' accumulators do not depend on the weights: their loads go out with the
    // maxima's, so up to IN_FLIGHT partitions cost one round of loads.
    float4 a[IN_FLIGHT][SLOTS];
    load_partials(a, partialAcc, base, 0, numActive, headSize, lane);
    // Lane i holds partitions i and i + 32: their max, sum and weight 2^(m − M).
    float m[2], l[2], weight[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        const int s = lane + 32 * i;
        m[i] = s < numActive ? __ldcg(partialMax + base + s) : -INFINITY;
        l[i] = s < numActive ? __ldcg(partialSum + base + s) : 0.0f;
    }
    const float globalMax = warp_max(fmaxf(m[0], m[1]));
    float sum = 0.0f;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
        weight[i] = fast_exp2(m[i] - max_base(globalMax));
        sum += weight[i] * l[i];
    }
    const float denominator = warp_sum(sum);

    float4 total[SLOTS];
#pragma unroll
    for (int j = 0; j < SLOTS; ++j) total[j].x = total[j].y = total[j].z = total[j].w = 0.0f;
    for (int start = 0; start < numActive; start += IN_FLIGHT) {
        if (start > 0) load_partials(a, partialAcc, base, start, numActive, headSize, lane);
#pragma unroll
        for (int i = 0; i < IN_FLIGHT; ++i) {
            const int s = start + i;
            const float w = __shfl_sync(0xffffffffu, (s & 32) ? weight[1] : weight[0], s & 31);
            const float ws = s < numActive ? w : 0.0f;
#pragma unroll
            for (int j = 0; j < SLOTS; ++j) {
                total[j].x += ws * a[i][j].x;
                total[j].y += ws * a[i][j].y;
                total[j].z += ws * a[i][j].z;
                total[j].w += ws * a[i][j].w;
            }
        }
    }
    // A zero denominator only for a context of 0 keys: 0, as the unsplit path writes.
#pragma unroll
    for (int j = 0; j < SLOTS; ++j) {
        if (lane + 32 * j < quads) {
            const bool any = denominator > 0.0f;
            total[j].x = any ? total[j].x / denominator : 0.0f;
            total[j].y = any ? total[j].y / denominator : 0.0f;
            total[j].z = any ? total[j].z / denominator : 0.0f;
            total[j].w = any ? total[j].w / denominator : 0.0f;
            store4(row + 4 * (lane + 32 * j), total[j]);
        }
    }
}

// Called by every thread of a CTA of a split launch once its partials are written (or, for a
// partition past the context, without writing any). The CTA counts itself done on its (sequence, head
// chunk)'s counter (last_split_to_finish); the last of the numSplits to count merges the partitions of its
// heads into out, a warp a head, reading through L2.
template <typename T, int MAX_G, int L>
__device__ __forceinline__ void merge_if_last(const float *partialAcc, const float *partialMax,
                                              const float *partialSum, T *out, int *splitCounters, int token,
                                              int firstHead, int heads, int numHeads, int headSize, int numActive) {
    const int numSplits = gridDim.x;
    if (!last_split_to_finish(splitCounters + blockIdx.z * gridDim.y + blockIdx.y, numSplits)) return;
    // A row holds headSize ≤ 8L floats: one float4 a lane up to L = 16, two at L = 32. g4 and g8 keep
    // 16 float4s of loads in flight (one round for the 16 partitions of batch 1 × 512 keys in Llama 3's
    // shape) within the registers their key loops already take; g1 and g2 keep 4, as more would raise
    // their register counts (or spill, where g1 is held to 64).
    constexpr int SLOTS = L == 32 ? 2 : 1;
    constexpr int IN_FLIGHT = (MAX_G >= 4 ? 16 : 4) / SLOTS;
    for (int g = threadIdx.x >> 5; g < heads; g += DECODE_WARPS) {
        const long long head = (long long)token * numHeads + firstHead + g;
        merge_partitions<T, IN_FLIGHT, SLOTS>(partialAcc, partialMax, partialSum, out + head * headSize,
                                              head * numSplits, headSize, numActive);
    }
}

// A CTA's warps meet after their key loops: for each of its `heads` rows and each dimension, the warps'
// unnormalized accumulators, maxima (base 2) and sums — row r of warp w at w · rowStride + r in shared
// memory, written before a barrier — weighed by 2^(m_w − M). With one partition (gridDim.x == 1) out gets
// total / sum (0 for a context of 0 keys), rounded to T once; otherwise the partition's partials go to
// partialAcc / partialMax / partialSum for merge_if_last.
template <typename T>
__device__ __forceinline__ void write_warp_merge(const float *warpAcc, const float *warpMax, const float *warpSum,
                                                 int rowStride, int heads, int headSize, int token, int firstHead,
                                                 int numHeads, T *out, float *partialAcc, float *partialMax,
                                                 float *partialSum) {
    const int numSplits = gridDim.x, split = blockIdx.x;
    for (int i = threadIdx.x; i < heads * headSize; i += blockDim.x) {
        const int g = i / headSize, d = i % headSize;
        float ctaMax = -INFINITY;
#pragma unroll
        for (int w = 0; w < DECODE_WARPS; ++w) ctaMax = fmaxf(ctaMax, warpMax[w * rowStride + g]);
        const float base = max_base(ctaMax);
        float total = 0.0f, sum = 0.0f;
#pragma unroll
        for (int w = 0; w < DECODE_WARPS; ++w) {
            const float weight = fast_exp2(warpMax[w * rowStride + g] - base);
            total += weight * warpAcc[(w * rowStride + g) * headSize + d];
            sum += weight * warpSum[w * rowStride + g];
        }
        const int head = firstHead + g;
        if (numSplits == 1) {
            out[((long long)token * numHeads + head) * headSize + d] = store<T>(sum > 0.0f ? total / sum : 0.0f);
        } else {
            const long long index = ((long long)token * numHeads + head) * numSplits + split;
            partialAcc[index * headSize + d] = total;
            if (d == 0) {
                partialMax[index] = ctaMax;
                partialSum[index] = sum;
            }
        }
    }
}
