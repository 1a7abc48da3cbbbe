// decode_attention_mma.cu: paged attention for pure decode steps on tensor cores, bf16 activations.
//
// decode_attention_mma_{bf16,e4m3,e5m2}_d{64,128}   (the cache's dtype; dN: headSize N)
//   The inputs and outputs of decode_attention.cu's kernels (see there): query [T, numHeads·headSize];
//   the paged K/V cache; queryStartLoc [S+1], seqLens [S], blockTables [S, maxBlocksPerSeq]; out
//   [T, numHeads·headSize]; for a split launch the partials, maxima (base 2) and sums and the split
//   counters, merged by the last CTA of a sequence's KV head (decode_attention_merge.cuh).
//   grid (numSplits, numKVHeads, S), block 128 (4 warps), dynamic shared memory
//   (16 + 4 warps · 2 stages · 2 · 16) · (D + 8) · 2 bytes (74 KiB at d128: three CTAs an SM).
//   A CTA serves the G = numHeads / numKVHeads ≤ 16 query heads of one KV head as the 16 rows of an
//   m16n8k16 MMA (rows past G are zero), so each K/V row is read once for all of them. Its warps take
//   the partition's keys 16 at a time, warp w chunks w, w + 4, …: each chunk's K and V rows are copied
//   into the warp's own two-stage buffer by cp.async (16 bytes a lane, zero past the context; the slots
//   found through the block table, one entry a lane, shared by shuffles), the next chunk's copy in
//   flight while the warp computes on this one, with no barrier between warps. S = Q·Kᵀ (16 rows × 16
//   keys, D/16 k-steps of two MMAs, Q's fragments held in registers), an online softmax per row in f32,
//   base 2, and O += P·V (P rounded to bf16 after the running max, the sum unrounded, as flash attention
//   and decode_attention.cu's bf16 path do; V's fragments by ldmatrix.trans). The warps then meet in
//   shared memory, and the CTA writes out (or its partition's partials) as decode_attention.cu does.
//   An fp8 cache (e4m3, e5m2; keyScale and valueScale its k_scale and v_scale, unused for bf16): a chunk's rows
//   are copied as bytes into a two-stage raw buffer (in the space of the bf16 path's second stage), and each
//   lane converts the pieces it copied — fp8 · scale, rounded to bf16 (exact at scale 1) — into the one bf16
//   stage the MMAs read; the next chunk's bytes are in flight meanwhile.
//   Requires sm_80 (cp.async, ldmatrix, bf16 MMA), 16-byte aligned rows.
#include "common.cuh"
#include "fp8.cuh"
#include "mma.cuh"
#include "decode_attention_merge.cuh"  // max_base, merge_if_last

#define LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu
#define MMA_KEYS 16  // keys a warp takes at a time

template <int D> struct DecodeMMAShape {
    enum : int {
        STRIDE = D + 8,               // a row in shared memory: 16 bytes of padding against bank conflicts
        TILE = MMA_KEYS * STRIDE,     // one chunk's K (or V) rows
        STAGE = 2 * TILE,             // K then V
        WARP = 2 * STAGE,             // a warp's two stages
        CHUNKS = D / 8,               // 16-byte pieces of a row
        COPIES = MMA_KEYS * CHUNKS / 32,  // of K (and of V) per lane per chunk
        RAW_CHUNKS = D / 16,          // 16-byte pieces of an fp8 row
        RAW_COPIES = MMA_KEYS * RAW_CHUNKS / 32,
        RAW_TILE = MMA_KEYS * D,      // bytes of one chunk's fp8 K (or V) rows
    };
};

template <int D, int FORMAT>
__device__ __forceinline__ void decode_attention_mma(
    const bf16_t *__restrict__ query, const void *__restrict__ keyCache, const void *__restrict__ valueCache,
    const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens, const int *__restrict__ blockTables,
    bf16_t *__restrict__ out, float *__restrict__ partialAcc, float *__restrict__ partialMax,
    float *__restrict__ partialSum, int *__restrict__ splitCounters, int numHeads, int numKVHeads, int blockSize,
    int maxBlocksPerSeq, int partitionSize, float scale, float keyScale, float valueScale) {
    typedef DecodeMMAShape<D> Shape;
    constexpr int ELEMENT = FORMAT ? 1 : 2;  // bytes of a cached value
    extern __shared__ uint4 decodeShared[];
    bf16_t *queries = (bf16_t *)decodeShared;  // [16][STRIDE]
    const int split = blockIdx.x, kvHead = blockIdx.y, seq = blockIdx.z;
    const int numSplits = gridDim.x;
    const int group = numHeads / numKVHeads, firstHead = kvHead * group;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    bf16_t *stages = queries + MMA_KEYS * Shape::STRIDE + warp * Shape::WARP;

    const int token = queryStartLoc[seq], tokenEnd = queryStartLoc[seq + 1];
    const int context = seqLens[seq];
    const int keyBegin = split * partitionSize, keyEnd = min(context, keyBegin + partitionSize);
    const int numActive = numSplits == 1 ? 1 : min(numSplits, (context + partitionSize - 1) / partitionSize);
    const int *table = blockTables + (long long)seq * maxBlocksPerSeq;
    const long long slotStride = (long long)numKVHeads * D;
    const char *keyBase = (const char *)keyCache + (long long)kvHead * D * ELEMENT;
    const char *valueBase = (const char *)valueCache + (long long)kvHead * D * ELEMENT;
    unsigned char *raw = (unsigned char *)(stages + Shape::STAGE);  // fp8: [2 stages][K, V][16 keys][D] bytes
    const int numChunks = keyEnd > keyBegin ? (keyEnd - keyBegin + MMA_KEYS - 1) / MMA_KEYS : 0;

    // Queues chunk c's K and V rows into stage s (bf16), or into raw stage s (fp8): lane l copies piece j·32 + l,
    // key (j·32 + l) / (pieces a row). Lane k < 16 looks up key k's slot; the others take theirs by shuffle.
    auto issue = [&](int c, int s) {
        const int first = keyBegin + c * MMA_KEYS;
        const int myKey = first + (lane & (MMA_KEYS - 1));
        const int mySlot = myKey < keyEnd ? table[myKey / blockSize] * blockSize + myKey % blockSize : 0;
        if (FORMAT) {
            const unsigned stage = shared_address(raw + s * 2 * Shape::RAW_TILE);
#pragma unroll
            for (int j = 0; j < Shape::RAW_COPIES; ++j) {
                const int piece = j * 32 + lane, key = piece / Shape::RAW_CHUNKS, chunk = piece % Shape::RAW_CHUNKS;
                const int slot = __shfl_sync(FULL_MASK, mySlot, key);
                const long long offset = (long long)slot * slotStride + 16 * chunk;
                const bool valid = first + key < keyEnd;
                const unsigned destination = stage + key * D + 16 * chunk;
                copy16_async(destination, keyBase + offset, valid);
                copy16_async(destination + Shape::RAW_TILE, valueBase + offset, valid);
            }
            return;
        }
        const unsigned stage = shared_address(stages + s * Shape::STAGE);
#pragma unroll
        for (int j = 0; j < Shape::COPIES; ++j) {
            const int piece = j * 32 + lane, key = piece / Shape::CHUNKS, chunk = piece % Shape::CHUNKS;
            const int slot = __shfl_sync(FULL_MASK, mySlot, key);
            const long long offset = 2 * ((long long)slot * slotStride + 8 * chunk);
            const bool valid = first + key < keyEnd;
            const unsigned destination = stage + 2 * (key * Shape::STRIDE + 8 * chunk);
            copy16_async(destination, keyBase + offset, valid);
            copy16_async(destination + 2 * Shape::TILE, valueBase + offset, valid);
        }
    };

    // Before grid_dependency_wait, under the kernel before's tail: the warp's first chunk of K/V rows, where none of
    // its keys is one this step writes (the last tokenEnd − token of the context, written by the kernel before; the
    // older ones, the step's inputs and the block table depend on no kernel of the step). Everything else waits.
    const bool feeds = tokenEnd > token, past = keyBegin >= keyEnd && numSplits > 1;
    const bool early = feeds && !past && warp < numChunks && keyBegin + (warp + 1) * MMA_KEYS <= context - (tokenEnd - token);
    if (early) issue(warp, 0);
    grid_dependency_wait();
    if (!feeds) return;  // a sequence with nothing to feed
    if (past) {  // a partition past the context: nothing, weight 0 in the merge
        merge_if_last<bf16_t, 4, D <= 128 ? 16 : 32>(partialAcc, partialMax, partialSum, out, splitCounters, token,
                                                       firstHead, group, numHeads, D, numActive);
        return;
    }

    // Q: rows 0 … G − 1 the heads' queries, the rest zero.
    for (int i = tid; i < MMA_KEYS * Shape::CHUNKS; i += blockDim.x) {
        const int r = i / Shape::CHUNKS, c = i % Shape::CHUNKS;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < group) v = load_activation16(query + ((long long)token * numHeads + firstHead + r) * D + 8 * c, true);
        *(uint4 *)(queries + r * Shape::STRIDE + 8 * c) = v;
    }
    __syncthreads();
    unsigned q[D / 16][4];  // A fragments: rows 0…7 | 8…15 × dimensions 16k + (0…7 | 8…15)
    {
        const unsigned address = shared_address(queries + (lane & 15) * Shape::STRIDE + 8 * (lane >> 4));
#pragma unroll
        for (int k = 0; k < D / 16; ++k) load_matrices(q[k], address + 32 * k);
    }

    // fp8: the pieces this lane copied into raw stage s, as bf16 (times the scales) into the bf16 stage.
    auto convert = [&](int s) {
        const unsigned char *stage = raw + s * 2 * Shape::RAW_TILE;
#pragma unroll
        for (int j = 0; j < Shape::RAW_COPIES; ++j) {
            const int piece = j * 32 + lane, key = piece / Shape::RAW_CHUNKS, chunk = piece % Shape::RAW_CHUNKS;
            uint4 low, high;
            fp8x16_to_bf16<FORMAT>(*(const uint4 *)(stage + key * D + 16 * chunk), keyScale, low, high);
            *(uint4 *)(stages + key * Shape::STRIDE + 16 * chunk) = low;
            *(uint4 *)(stages + key * Shape::STRIDE + 16 * chunk + 8) = high;
            fp8x16_to_bf16<FORMAT>(*(const uint4 *)(stage + Shape::RAW_TILE + key * D + 16 * chunk), valueScale, low, high);
            *(uint4 *)(stages + Shape::TILE + key * Shape::STRIDE + 16 * chunk) = low;
            *(uint4 *)(stages + Shape::TILE + key * Shape::STRIDE + 16 * chunk + 8) = high;
        }
    };

    // ldmatrix lane offsets (bytes) in a stage: K as B (non-transposed) rows (l % 8) + 8·(l / 16), columns
    // 8·((l / 8) % 2); V as B (transposed) rows l % 16, columns 8·(l / 16).
    const unsigned keyOffset = 2 * (((lane & 7) + 8 * (lane >> 4)) * Shape::STRIDE + 8 * ((lane >> 3) & 1));
    const unsigned valueOffset = 2 * ((lane & 15) * Shape::STRIDE + 8 * (lane >> 4)) + 2 * Shape::TILE;

    float acc[D / 8][4];  // O: dimension step j holds columns 8j + 2t, 8j + 2t + 1 of rows g, g + 8
#pragma unroll
    for (int j = 0; j < D / 8; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    float runningMax[2] = {-INFINITY, -INFINITY};  // raw scores (before scale), rows g and g + 8
    float runningSum[2] = {0.0f, 0.0f};            // this lane's keys only, until the end
    const float scaleLog2 = scale * LOG2E;

    if (!early && warp < numChunks) issue(warp, 0);
    commit_copies();
    for (int c = warp, i = 0; c < numChunks; c += DECODE_WARPS, ++i) {
        if (c + DECODE_WARPS < numChunks) issue(c + DECODE_WARPS, (i + 1) & 1);
        commit_copies();  // possibly empty, so that one group is always the newest
        wait_copies<1>();
        if (FORMAT) convert(i & 1);  // its own copies, which wait_copies has seen land
        __syncwarp();
        const unsigned stage = shared_address(stages + (FORMAT ? 0 : (i & 1) * Shape::STAGE));
        const int firstKey = keyBegin + c * MMA_KEYS;

        float score[2][4] = {{0.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 0.0f}};  // keys 0…7 | 8…15
#pragma unroll
        for (int k = 0; k < D / 16; ++k) {
            unsigned b[4];  // keys (0…7 | 8…15) × dimensions 16k + (0…7 | 8…15)
            load_matrices(b, stage + keyOffset + 32 * k);
            mma_bf16_16x8x16(score[0], q[k][0], q[k][1], q[k][2], q[k][3], b[0], b[1]);
            mma_bf16_16x8x16(score[1], q[k][0], q[k][1], q[k][2], q[k][3], b[2], b[3]);
        }
        if (firstKey + MMA_KEYS > keyEnd) {  // the context's last chunk: keys past it do not count
#pragma unroll
            for (int n = 0; n < 2; ++n) {
                const int key = firstKey + 8 * n + 2 * t;
                if (key >= keyEnd) score[n][0] = score[n][2] = -INFINITY;
                if (key + 1 >= keyEnd) score[n][1] = score[n][3] = -INFINITY;
            }
        }
        unsigned probability[2][2];  // P: the A fragment of the chunk's one 16-key step
        online_softmax<2, D>(score, runningMax, runningSum, acc, scaleLog2, probability);
#pragma unroll
        for (int d = 0; d < D / 16; ++d) {
            unsigned b[4];  // keys (0…7 | 8…15) × dimensions 16d + (0…7 | 8…15), transposed
            load_matrices_transposed(b, stage + valueOffset + 32 * d);
            mma_bf16_16x8x16(acc[2 * d], probability[0][0], probability[0][1], probability[1][0], probability[1][1],
                             b[0], b[1]);
            mma_bf16_16x8x16(acc[2 * d + 1], probability[0][0], probability[0][1], probability[1][0],
                             probability[1][1], b[2], b[3]);
        }
        __syncwarp();  // every lane is done with this stage before the next issue overwrites it
    }
    wait_copies<0>();

    // The warps meet in shared memory (over the stages, free now): [4 warps][16 rows][D] accumulators,
    // then [4][16] maxima (base 2, scaled) and sums.
    __syncthreads();
    float *warpAcc = (float *)decodeShared;
    float *warpMax = warpAcc + DECODE_WARPS * MMA_KEYS * D;
    float *warpSum = warpMax + DECODE_WARPS * MMA_KEYS;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        float sum = runningSum[h];
        sum += __shfl_xor_sync(FULL_MASK, sum, 1);
        sum += __shfl_xor_sync(FULL_MASK, sum, 2);
        const int r = g + 8 * h;
        if (r < group) {
            float *row = warpAcc + (warp * MMA_KEYS + r) * D;
#pragma unroll
            for (int j = 0; j < D / 8; ++j) *(float2 *)(row + 8 * j + 2 * t) = make_float2(acc[j][2 * h], acc[j][2 * h + 1]);
            if (t == 0) {
                warpMax[warp * MMA_KEYS + r] = runningMax[h] == -INFINITY ? -INFINITY : runningMax[h] * scaleLog2;
                warpSum[warp * MMA_KEYS + r] = sum;
            }
        }
    }
    __syncthreads();
    write_warp_merge(warpAcc, warpMax, warpSum, MMA_KEYS, group, D, token, firstHead, numHeads, out, partialAcc,
                     partialMax, partialSum);
    if (numSplits > 1)
        merge_if_last<bf16_t, 4, D <= 128 ? 16 : 32>(partialAcc, partialMax, partialSum, out, splitCounters, token,
                                                       firstHead, group, numHeads, D, numActive);
}

// Every entry point is written out (the kernel loader reads their names from this file).
#define DECODE_MMA_PARAMETERS                                                                                       \
    const bf16_t *__restrict__ query, const void *__restrict__ keyCache, const void *__restrict__ valueCache,       \
        const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens, const int *__restrict__ blockTables, \
        bf16_t *__restrict__ out, float *__restrict__ partialAcc, float *__restrict__ partialMax,                    \
        float *__restrict__ partialSum, int *__restrict__ splitCounters, int numHeads, int numKVHeads, int blockSize, \
        int maxBlocksPerSeq, int partitionSize, float scale, float keyScale, float valueScale

extern "C" __global__ void __launch_bounds__(128) decode_attention_mma_bf16_d64(DECODE_MMA_PARAMETERS) {
    decode_attention_mma<64, 0>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc,
                                     partialMax, partialSum, splitCounters, numHeads, numKVHeads, blockSize, maxBlocksPerSeq,
                                     partitionSize, scale, keyScale, valueScale);
}

extern "C" __global__ void __launch_bounds__(128) decode_attention_mma_bf16_d128(DECODE_MMA_PARAMETERS) {
    decode_attention_mma<128, 0>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc,
                                     partialMax, partialSum, splitCounters, numHeads, numKVHeads, blockSize, maxBlocksPerSeq,
                                     partitionSize, scale, keyScale, valueScale);
}

extern "C" __global__ void __launch_bounds__(128) decode_attention_mma_e4m3_d64(DECODE_MMA_PARAMETERS) {
    decode_attention_mma<64, FP8_E4M3>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc,
                                     partialMax, partialSum, splitCounters, numHeads, numKVHeads, blockSize, maxBlocksPerSeq,
                                     partitionSize, scale, keyScale, valueScale);
}

extern "C" __global__ void __launch_bounds__(128) decode_attention_mma_e4m3_d128(DECODE_MMA_PARAMETERS) {
    decode_attention_mma<128, FP8_E4M3>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc,
                                     partialMax, partialSum, splitCounters, numHeads, numKVHeads, blockSize, maxBlocksPerSeq,
                                     partitionSize, scale, keyScale, valueScale);
}

extern "C" __global__ void __launch_bounds__(128) decode_attention_mma_e5m2_d64(DECODE_MMA_PARAMETERS) {
    decode_attention_mma<64, FP8_E5M2>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc,
                                     partialMax, partialSum, splitCounters, numHeads, numKVHeads, blockSize, maxBlocksPerSeq,
                                     partitionSize, scale, keyScale, valueScale);
}

extern "C" __global__ void __launch_bounds__(128) decode_attention_mma_e5m2_d128(DECODE_MMA_PARAMETERS) {
    decode_attention_mma<128, FP8_E5M2>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out, partialAcc,
                                     partialMax, partialSum, splitCounters, numHeads, numKVHeads, blockSize, maxBlocksPerSeq,
                                     partitionSize, scale, keyScale, valueScale);
}
