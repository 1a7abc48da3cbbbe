// decode_attention.cu: paged attention for pure decode steps (every sequence feeds one token).
//
// decode_attention_{bf16,f32}_g{1,2,4,8}_l{8,16,32}   (gN: a CTA serves at most N query heads;
//                                                      lL: L lanes share a key, headSize ≤ 8L)
//   query [T, numHeads·headSize] T; keyCache, valueCache [numBlocks, blockSize, numKVHeads, headSize] T;
//   queryStartLoc [S+1], seqLens [S], blockTables [S, maxBlocksPerSeq] int32. Sequence s feeds the one
//   token t = queryStartLoc[s] (none when its query is empty), at position seqLens[s] − 1, which attends
//   to keys 0 … seqLens[s] − 1.
//   grid (numSplits, numKVHeads · headChunks, S), block 128 (4 warps), dynamic shared memory
//   4 · 4 warps · N · (headSize + 2) bytes: one CTA per (sequence, KV head, key partition) serves the
//   G = numHeads / numKVHeads query heads sharing that KV head, so each K/V row is read once for all
//   of them. G > N (G = 16 on g8) runs headChunks = ⌈G / N⌉ CTAs per KV head, each over N of the heads.
//   No __syncthreads in the key loop: each warp walks its own keys. Within a warp, L lanes share a key,
//   each holding 8 of its dimensions (one 16-byte load in bf16), so a warp covers 32/L keys per load
//   instruction (2 for headSize 128, L = 16). A lane group takes U consecutive keys a pass (U = 4 in
//   bf16 up to g4, 2 on g8; half that in f32) and loads all U keys' K and V rows at once (32·U·32 bytes
//   a warp), then reads the block table two passes ahead and prefetches those rows into L2, so a row's
//   DRAM latency is hidden behind a pass. Needs blockSize % U == 0 and partitions of whole passes (the
//   launcher's), so a group's U keys are consecutive slots of one block.
//   Queries (pre-scaled by scale·log2 e) and the N×8 accumulators live in registers. The U·N partial
//   dot products of a pass are reduce-scattered over the L lanes (each xor step halves what a lane
//   holds), so each lane ends with the full score of one (key, head) pair — or two, or a copy of one —
//   and runs the online softmax (f32, base 2) of that pair alone: a max over the keys of the pass by
//   shuffles, then 2^(s − max); the probabilities and rescale factors are then broadcast by shuffles
//   to the lanes that accumulate P·V for their dimensions. At the end the lane groups of a warp merge
//   by shuffles and the warps through shared memory.
//   In bf16 the probabilities enter P·V rounded to bf16 (relative to the running max after each pass
//   of U keys) while the running sum adds them unrounded, as flash attention does; in f32 nothing is
//   rounded.
//   numSplits == 1: out [T, numHeads·headSize] T directly. Otherwise (numSplits ≤ 64) the partition's
//   unnormalized accumulator, max (base 2: scores carry the factor log2 e) and sum go to partialAcc
//   [T, numHeads, numSplits, headSize] f32 and partialMax / partialSum [T, numHeads, numSplits] f32, and
//   the last CTA of a (sequence, head chunk) to finish merges them into out in the same launch: each CTA
//   adds 1 to splitCounters [S, numKVHeads · headChunks] int32 (zero before the launch, and left zero
//   by it: the merging CTA sets its counter back) once its partials are written, and the one that
//   counts numSplits merges, a warp per head: lane i reads partitions i and i + 32's max and sum, the
//   warp reduces them, and each lane sums its float4s of the row over the partitions, up to 16
//   partitions' loads at once (through L2), weights broadcast by shuffles: out = Σ_s 2^(m_s − M) acc_s /
//   Σ_s 2^(m_s − M) l_s, rounded to T once. A partition past the sequence's context writes nothing and
//   weighs 0 (as max −∞, sum 0 would). The merge was a second launch (a warp per head), ≈ 4 µs a layer
//   on an H200 at batch 1 × 512 keys.
//   Requires headSize % 8 == 0, headSize ≤ 8L.
#include "common.cuh"
#include "decode_attention_merge.cuh"  // max_base, merge_if_last: the split partitions' merge

#define LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu

__host__ __device__ constexpr int log2_of(int n) { return n <= 1 ? 0 : 1 + log2_of(n / 2); }

// The per-instance constants. U, keys per lane group per pass: K and V rows of U keys in flight, within
// the register budget that the query and accumulator arrays (16·N floats a lane) leave. After the
// reduce-scatter of the V = U·N scores of a pass over L lanes, a lane holds R = max(1, V/L) of them,
// and the low SHIFT bits of its lane index do not matter (copies, when V < L).
template <typename T, int MAX_G, int L> struct DecodeShape {
    enum : int {
        U = sizeof(T) == 2 ? (MAX_G >= 8 ? 2 : 4) : (MAX_G >= 8 ? 1 : 2),
        V = U * MAX_G,
        LOG_L = log2_of(L),
        LOG_G = log2_of(MAX_G),
        LOG_V = log2_of(U * MAX_G),
        R = U * MAX_G > L ? U * MAX_G / L : 1,
        LOG_R = log2_of(U * MAX_G > L ? U * MAX_G / L : 1),
        SHIFT = U * MAX_G < L ? log2_of(L) - log2_of(U * MAX_G) : 0,
    };
};

// Eight consecutive elements in their stored form: one 16-byte load in bf16, two in f32.
template <typename T> struct Row8;
template <> struct Row8<bf16_t> {
    uint4 raw;
    __device__ __forceinline__ void load(const bf16_t *source) { raw = *(const uint4 *)source; }
    __device__ __forceinline__ void clear() { raw.x = raw.y = raw.z = raw.w = 0u; }
    __device__ __forceinline__ void unpack(float *out) const { unpack8(raw, out); }
};
template <> struct Row8<float> {
    float4 low, high;
    __device__ __forceinline__ void load(const float *source) {
        low = ((const float4 *)source)[0];
        high = ((const float4 *)source)[1];
    }
    __device__ __forceinline__ void clear() { low.x = low.y = low.z = low.w = high.x = high.y = high.z = high.w = 0.0f; }
    __device__ __forceinline__ void unpack(float *out) const {
        out[0] = low.x; out[1] = low.y; out[2] = low.z; out[3] = low.w;
        out[4] = high.x; out[5] = high.y; out[6] = high.z; out[7] = high.w;
    }
};

// A probability as it enters P·V: rounded to bf16 (round to nearest even, as round_to; one cvt on
// sm_80+, and the value is finite and ≥ 0 so round_to's NaN rule never applies), untouched in f32.
template <typename T> __device__ __forceinline__ float round_probability(float p);
template <> __device__ __forceinline__ float round_probability<float>(float p) { return p; }
template <> __device__ __forceinline__ float round_probability<bf16_t>(float p) {
#if __CUDA_ARCH__ >= 800
    unsigned int packed;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(packed) : "f"(p), "f"(0.0f));
    return __uint_as_float(packed & 0xffff0000u);
#else
    return round_bf16(p);
#endif
}

// One lane's share of a CTA: the queries of its 8 dimensions for each head (pre-scaled by
// scale·log2 e), the unnormalized P·V of those dimensions per head, and the online softmax of the R
// (key-in-pass, head) pairs whose scores the reduce-scatter leaves in this lane. Every lane with the
// same head holds the same running max; the running sums are per key-in-pass and add up at the end.
template <typename T, int MAX_G, int L> struct DecodeLane {
    typedef DecodeShape<T, MAX_G, L> Shape;
    float q[MAX_G][8];
    float acc[MAX_G][8];
    float runningMax[Shape::R], runningSum[Shape::R];

    // The lane (within its group) that holds the score of key-in-pass u and head g after the
    // reduce-scatter, and the slot of it there.
    static __device__ __forceinline__ int holder(int u, int g) {
        return ((u * MAX_G + g) >> Shape::LOG_R) << Shape::SHIFT;
    }
    static __device__ __forceinline__ int slot(int u, int g) { return (u * MAX_G + g) & (Shape::R - 1); }

    // Reduce-scatter of the partial scores over the L lanes of a group: at the step over lane bit m a
    // lane keeps the upper half of what it holds when that bit is set and the lower half otherwise,
    // adding its partner's copy of that half; once it holds one value the steps are plain sums.
    template <int STEP>
    static __device__ __forceinline__ void reduce_scatter(float (&score)[Shape::V], int lane) {
        if constexpr (STEP < Shape::LOG_L) {
            constexpr int m = (L >> 1) >> STEP;
            if constexpr (STEP < Shape::LOG_V) {
                constexpr int half = Shape::V >> (STEP + 1);
                const bool upper = (lane & m) != 0;
#pragma unroll
                for (int i = 0; i < half; ++i) {
                    const float send = upper ? score[i] : score[i + half];
                    const float keep = upper ? score[i + half] : score[i];
                    score[i] = keep + __shfl_xor_sync(FULL_MASK, send, m);
                }
            } else {
                score[0] += __shfl_xor_sync(FULL_MASK, score[0], m);
            }
            reduce_scatter<STEP + 1>(score, lane);
        }
    }

    // One pass over the group's U keys, whose rows are in registers. Keys from `validKeys` on are not
    // in the partition (their rows are block 0's, read but ignored); `laneKey` is the key-in-pass whose
    // scores this lane holds.
    __device__ __forceinline__ void attend(const Row8<T> (&keyRow)[Shape::U], Row8<T> (&valueRow)[Shape::U],
                                           int validKeys, int laneKey, int lane) {
        constexpr int U = Shape::U, R = Shape::R;
        float score[Shape::V];  // partial dot products, key-in-pass major
#pragma unroll
        for (int u = 0; u < U; ++u) {
            float k[8];
            keyRow[u].unpack(k);
#pragma unroll
            for (int g = 0; g < MAX_G; ++g) {
                float dot = 0.0f;
#pragma unroll
                for (int j = 0; j < 8; ++j) dot += q[g][j] * k[j];
                score[u * MAX_G + g] = dot;
            }
        }
        reduce_scatter<0>(score, lane);
        float alpha[R], probability[R];
#pragma unroll
        for (int i = 0; i < R; ++i) {
            const float s = laneKey < validKeys ? score[i] : -INFINITY;
            float passMax = s;  // over the keys of the pass: the lane bits above the head bits
#pragma unroll
            for (int b = Shape::LOG_G; b < Shape::LOG_V; ++b)
                passMax = fmaxf(passMax, __shfl_xor_sync(FULL_MASK, passMax, 1 << (b - Shape::LOG_R + Shape::SHIFT)));
            const float newMax = fmaxf(runningMax[i], passMax);
            const float base = max_base(newMax);
            alpha[i] = fast_exp2(runningMax[i] - base);
            const float p = fast_exp2(s - base);
            runningSum[i] = runningSum[i] * alpha[i] + p;  // the sum takes p unrounded, P·V rounded
            runningMax[i] = newMax;
            probability[i] = round_probability<T>(p);
        }
        // Once the maxima settle, a pass rarely moves one: skip the broadcast and rescale when no lane's did.
        bool moved = false;
#pragma unroll
        for (int i = 0; i < R; ++i) moved = moved || alpha[i] != 1.0f;
        if (__any_sync(FULL_MASK, moved)) {
#pragma unroll
            for (int g = 0; g < MAX_G; ++g) {
                const float a = __shfl_sync(FULL_MASK, alpha[slot(0, g)], holder(0, g), L);
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[g][j] *= a;
            }
        }
        if (validKeys < U) {
#pragma unroll
            for (int u = 0; u < U; ++u)
                if (u >= validKeys) valueRow[u].clear();  // its p is 0, but 0·NaN would poison acc
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            float v[8];
            valueRow[u].unpack(v);
#pragma unroll
            for (int g = 0; g < MAX_G; ++g) {
                const float p = __shfl_sync(FULL_MASK, probability[slot(u, g)], holder(u, g), L);
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[g][j] += p * v[j];
            }
        }
    }

    // The group's max and sum per head, in every lane.
    __device__ __forceinline__ void gather(float (&maxOut)[MAX_G], float (&sumOut)[MAX_G]) {
#pragma unroll
        for (int i = 0; i < Shape::R; ++i)
#pragma unroll
            for (int b = Shape::LOG_G; b < Shape::LOG_V; ++b)
                runningSum[i] += __shfl_xor_sync(FULL_MASK, runningSum[i], 1 << (b - Shape::LOG_R + Shape::SHIFT));
#pragma unroll
        for (int g = 0; g < MAX_G; ++g) {
            maxOut[g] = __shfl_sync(FULL_MASK, runningMax[slot(0, g)], holder(0, g), L);
            sumOut[g] = __shfl_sync(FULL_MASK, runningSum[slot(0, g)], holder(0, g), L);
        }
    }
};

// Where a lane group's U keys of one pass are: the first key, its block-table index and its offset in
// that block. The launcher keeps blockSize a multiple of U and partitions whole passes, so the U keys
// are consecutive slots of one block.
struct PassCursor {
    int first, index, offset;

    __device__ __forceinline__ PassCursor(int first, int blockSize)
        : first(first), index(first / blockSize), offset(first % blockSize) {}

    // Moves on by a pass: `blocks` and `slots` are its keys' count in whole blocks and the remainder.
    __device__ __forceinline__ void advance(int keys, int blocks, int slots, int blockSize) {
        first += keys;
        index += blocks;
        offset += slots;
        if (offset >= blockSize) offset -= blockSize, ++index;
    }

    // The first key's block-table entry, read whether or not the key is in the partition (the read
    // stays inside the sequence's row of the table), so it need not wait for the context length.
    __device__ __forceinline__ int entry(const int *table, int maxBlocksPerSeq) const {
        return index < maxBlocksPerSeq ? table[index] : 0;
    }

    // The byte offset of the first key's row in the cache (past the partition: block 0's, read but
    // unused); key u's row follows u·slotBytes later.
    __device__ __forceinline__ unsigned long long row(int entry, int keyEnd, unsigned blockBytes,
                                                      unsigned slotBytes) const {
        const unsigned block = first < keyEnd ? (unsigned)entry : 0u;
        return (unsigned long long)block * blockBytes + (unsigned)offset * slotBytes;
    }
};

// Asks L2 for the rows of the first `validKeys` (≤ U) of U keys whose K and V rows start at these
// addresses, slotBytes apart.
template <int U>
__device__ __forceinline__ void prefetch_rows(const char *key, const char *value, int validKeys, unsigned slotBytes) {
#pragma unroll
    for (int u = 0; u < U; ++u) {
        if (u < validKeys) {
            asm volatile("prefetch.global.L2 [%0];" ::"l"(key + u * slotBytes));
            asm volatile("prefetch.global.L2 [%0];" ::"l"(value + u * slotBytes));
        }
    }
}

template <typename T, int MAX_G, int L>
__device__ __forceinline__ void decode_attention(
    const T *__restrict__ query, const T *__restrict__ keyCache, const T *__restrict__ valueCache,
    const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens, const int *__restrict__ blockTables,
    T *__restrict__ out, float *__restrict__ partialAcc, float *__restrict__ partialMax,
    float *__restrict__ partialSum, int *__restrict__ splitCounters, int numHeads, int numKVHeads, int headSize,
    int blockSize, int maxBlocksPerSeq, int partitionSize, float scale) {
    typedef DecodeShape<T, MAX_G, L> Shape;
    constexpr int U = Shape::U;
    extern __shared__ float shared[];
    const int split = blockIdx.x, seq = blockIdx.z;
    const int numSplits = gridDim.x;
    const int group = numHeads / numKVHeads;
    const int headChunks = gridDim.y / numKVHeads;
    const int kvHead = blockIdx.y / headChunks, chunk = blockIdx.y % headChunks;
    const int firstHead = kvHead * group + chunk * MAX_G;    // this CTA's heads: firstHead …
    const int heads = min(MAX_G, group - chunk * MAX_G);     // … firstHead + heads − 1

    // Three dependent rounds of loads before the first key's scores: {queryStartLoc, seqLens, the
    // block table}, then {the query, K and V rows}; the first passes' table entries do not wait for the
    // context length.
    const int token = queryStartLoc[seq], tokenEnd = queryStartLoc[seq + 1];
    const int context = seqLens[seq];
    const int keyBegin = split * partitionSize;

    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    constexpr int keysPerWarp = 32 / L;
    const int dim0 = (lane & (L - 1)) * 8;    // this lane's 8 dimensions
    const int keySlot = lane / L;             // this lane's group within the warp
    const bool hasDims = dim0 < headSize;     // lanes past headSize/8 (headSize 72, 96, …) hold zero
    const int loadDim = hasDims ? dim0 : 0;   // queries and read dimensions 0–7 harmlessly
    // The key-in-pass whose scores this lane holds after the reduce-scatter.
    const int laneKey = (((lane & (L - 1)) >> Shape::SHIFT) << Shape::LOG_R) >> Shape::LOG_G;

    const int *table = blockTables + (long long)seq * maxBlocksPerSeq;
    const unsigned slotBytes = numKVHeads * headSize * sizeof(T);  // from one slot's row to the next
    const unsigned blockBytes = blockSize * slotBytes;              // … and from one block to the next
    const char *keyBase = (const char *)(keyCache + (long long)kvHead * headSize + loadDim);
    const char *valueBase = (const char *)(valueCache + (long long)kvHead * headSize + loadDim);
    const int keysPerPass = DECODE_WARPS * keysPerWarp * U;
    const int passBlocks = keysPerPass / blockSize, passSlots = keysPerPass % blockSize;
    // Passes are the warp's, so every lane of a warp runs the same ones (the shuffles need them all);
    // a lane group's keys past the partition are masked. Pipeline: while pass n's rows are loaded into
    // registers and used, the block-table entry of pass n + 2 is loaded and then its rows are
    // prefetched into L2, so each row's DRAM latency is covered by a whole pass.
    int warpFirst = keyBegin + warp * keysPerWarp * U;
    PassCursor current(warpFirst + keySlot * U, blockSize);
    PassCursor ahead = current;
    ahead.advance(keysPerPass, passBlocks, passSlots, blockSize);
    const int entry = current.entry(table, maxBlocksPerSeq), entryNext = ahead.entry(table, maxBlocksPerSeq);

    if (tokenEnd == token) return;  // a sequence with nothing to feed
    const int keyEnd = min(context, keyBegin + partitionSize);
    // The partitions holding keys; those from numActive on are past this sequence's context.
    const int numActive = numSplits == 1 ? 1 : min(numSplits, (context + partitionSize - 1) / partitionSize);
    if (keyBegin >= keyEnd) {  // a partition past the context: it writes nothing, and weighs 0 in the merge
        if (numSplits > 1) {
            merge_if_last<T, MAX_G, L>(partialAcc, partialMax, partialSum, out, splitCounters, token, firstHead,
                                       heads, numHeads, headSize, numActive);
        } else {  // a context of 0 keys: 0, as a zero sum gives below
            for (int i = threadIdx.x; i < heads * headSize; i += blockDim.x)
                out[((long long)token * numHeads + firstHead) * headSize + i] = store<T>(0.0f);
        }
        return;
    }

    DecodeLane<T, MAX_G, L> state;
    const float queryScale = scale * LOG2E;
#pragma unroll
    for (int g = 0; g < MAX_G; ++g) {
        if (g < heads && hasDims) {
            Row8<T> row;
            row.load(query + ((long long)token * numHeads + firstHead + g) * headSize + dim0);
            row.unpack(state.q[g]);
#pragma unroll
            for (int j = 0; j < 8; ++j) state.q[g][j] *= queryScale;
        } else {
#pragma unroll
            for (int j = 0; j < 8; ++j) state.q[g][j] = 0.0f;
        }
#pragma unroll
        for (int j = 0; j < 8; ++j) state.acc[g][j] = 0.0f;
    }
#pragma unroll
    for (int i = 0; i < Shape::R; ++i) {
        state.runningMax[i] = -INFINITY;
        state.runningSum[i] = 0.0f;
    }

    // One lane per 128-byte line of a row asks L2 to prefetch it.
    const bool prefetches = hasDims && (dim0 * (int)sizeof(T)) % 128 == 0;
    unsigned long long row = current.row(entry, keyEnd, blockBytes, slotBytes);
    unsigned long long rowNext = ahead.row(entryNext, keyEnd, blockBytes, slotBytes);
    if (prefetches) prefetch_rows<U>(keyBase + rowNext, valueBase + rowNext, keyEnd - ahead.first, slotBytes);
    ahead.advance(keysPerPass, passBlocks, passSlots, blockSize);
    while (warpFirst < keyEnd) {
        Row8<T> keyRow[U], valueRow[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            keyRow[u].load((const T *)(keyBase + row + u * slotBytes));
            valueRow[u].load((const T *)(valueBase + row + u * slotBytes));
        }
        const unsigned long long rowAhead =
            ahead.row(ahead.entry(table, maxBlocksPerSeq), keyEnd, blockBytes, slotBytes);
        state.attend(keyRow, valueRow, keyEnd - current.first, laneKey, lane);
        if (prefetches) prefetch_rows<U>(keyBase + rowAhead, valueBase + rowAhead, keyEnd - ahead.first, slotBytes);
        current.first += keysPerPass;
        ahead.advance(keysPerPass, passBlocks, passSlots, blockSize);
        row = rowNext;
        rowNext = rowAhead;
        warpFirst += keysPerPass;
    }

    // Merge the lane groups of each warp (lanes L apart hold the same dimensions of other keys).
    float groupMax[MAX_G], groupSum[MAX_G];
    state.gather(groupMax, groupSum);
#pragma unroll
    for (int mask = L; mask < 32; mask <<= 1) {
#pragma unroll
        for (int g = 0; g < MAX_G; ++g) {
            const float otherMax = __shfl_xor_sync(FULL_MASK, groupMax[g], mask);
            const float otherSum = __shfl_xor_sync(FULL_MASK, groupSum[g], mask);
            const float newMax = fmaxf(groupMax[g], otherMax);
            const float base = max_base(newMax);
            const float mine = fast_exp2(groupMax[g] - base), theirs = fast_exp2(otherMax - base);
            groupSum[g] = groupSum[g] * mine + otherSum * theirs;
            groupMax[g] = newMax;
#pragma unroll
            for (int j = 0; j < 8; ++j)
                state.acc[g][j] = state.acc[g][j] * mine + __shfl_xor_sync(FULL_MASK, state.acc[g][j], mask) * theirs;
        }
    }

    // Merge the warps through shared memory: [DECODE_WARPS][MAX_G][headSize] accumulators, then
    // [DECODE_WARPS][MAX_G] maxima and sums.
    float *warpAcc = shared;
    float *warpMax = warpAcc + DECODE_WARPS * MAX_G * headSize;
    float *warpSum = warpMax + DECODE_WARPS * MAX_G;
    if (keySlot == 0 && hasDims) {
#pragma unroll
        for (int g = 0; g < MAX_G; ++g) {
            float *row = warpAcc + (warp * MAX_G + g) * headSize + dim0;
#pragma unroll
            for (int j = 0; j < 8; ++j) row[j] = state.acc[g][j];
        }
    }
    if (lane == 0) {
#pragma unroll
        for (int g = 0; g < MAX_G; ++g) {
            warpMax[warp * MAX_G + g] = groupMax[g];
            warpSum[warp * MAX_G + g] = groupSum[g];
        }
    }
    __syncthreads();
    write_warp_merge(warpAcc, warpMax, warpSum, MAX_G, heads, headSize, token, firstHead, numHeads, out, partialAcc,
                     partialMax, partialSum);
    if (numSplits > 1)
        merge_if_last<T, MAX_G, L>(partialAcc, partialMax, partialSum, out, splitCounters, token, firstHead, heads,
                                   numHeads, headSize, numActive);
}

#define DECODE_ATTENTION_PARAMETERS(T)                                                                        \
    const T *__restrict__ query, const T *__restrict__ keyCache, const T *__restrict__ valueCache,              \
        const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens,                                 \
        const int *__restrict__ blockTables, T *__restrict__ out, float *__restrict__ partialAcc,               \
        float *__restrict__ partialMax, float *__restrict__ partialSum, int *__restrict__ splitCounters,       \
        int numHeads, int numKVHeads, int headSize, int blockSize, int maxBlocksPerSeq, int partitionSize,      \
        float scale
#define DECODE_ATTENTION(T, MAX_G, L)                                                                          \
    decode_attention<T, MAX_G, L>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out,         \
                                  partialAcc, partialMax, partialSum, splitCounters, numHeads, numKVHeads,      \
                                  headSize, blockSize, maxBlocksPerSeq, partitionSize, scale)

// One entry point per (dtype, bound on the heads a CTA serves, lanes per key): the per-head arrays,
// the reduce-scatter and the broadcasts are laid out at compile time. bf16 g4 with 16 or 32 lanes a key
// (Llama 3's shape) is held to 128 registers, so an SM runs 4 CTAs instead of 3: on an H200 that took
// batch 256 × 512 keys from 170 to 157 µs and batch 64 from 58 to 43 µs (no spills; g4_l8 would spill).
// bf16 g1 is held to 64 registers (8 CTAs an SM, no spills): 1 % at batch 64 × 512 keys.
extern "C" __global__ void __launch_bounds__(128, 8) decode_attention_bf16_g1_l8(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 1, 8);
}
extern "C" __global__ void __launch_bounds__(128, 8) decode_attention_bf16_g1_l16(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 1, 16);
}
extern "C" __global__ void __launch_bounds__(128, 8) decode_attention_bf16_g1_l32(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 1, 32);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g2_l8(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 2, 8);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g2_l16(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 2, 16);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g2_l32(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 2, 32);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g4_l8(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 4, 8);
}
extern "C" __global__ void __launch_bounds__(128, 4) decode_attention_bf16_g4_l16(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 4, 16);
}
extern "C" __global__ void __launch_bounds__(128, 4) decode_attention_bf16_g4_l32(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 4, 32);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g8_l8(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 8, 8);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g8_l16(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 8, 16);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_bf16_g8_l32(DECODE_ATTENTION_PARAMETERS(bf16_t)) { grid_dependency_wait();
    DECODE_ATTENTION(bf16_t, 8, 32);
}

extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g1_l8(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 1, 8);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g1_l16(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 1, 16);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g1_l32(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 1, 32);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g2_l8(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 2, 8);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g2_l16(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 2, 16);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g2_l32(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 2, 32);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g4_l8(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 4, 8);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g4_l16(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 4, 16);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g4_l32(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 4, 32);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g8_l8(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 8, 8);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g8_l16(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 8, 16);
}
extern "C" __global__ void __launch_bounds__(128) decode_attention_f32_g8_l32(DECODE_ATTENTION_PARAMETERS(float)) { grid_dependency_wait();
    DECODE_ATTENTION(float, 8, 32);
}
