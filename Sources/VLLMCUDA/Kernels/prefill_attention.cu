// prefill_attention.cu: paged attention for steps that hold prefill chunks, on tensor cores
// (flash-attention 2's loop), bf16 only. f32 activations, other head sizes and G > 16 use attention.cu.
//
// prefill_attention_bf16_d{64,128,256}   (dN: headSize N)
//   query [T, numHeads·headSize] bf16; keyCache, valueCache [numBlocks, blockSize, numKVHeads, headSize] bf16;
//   queryStartLoc [S+1], seqLens [S], blockTables [S, maxBlocksPerSeq] int32 → out [T, numHeads·headSize] bf16.
//   Token t of sequence s (queryStartLoc[s] ≤ t < queryStartLoc[s+1]) sits at position
//   seqLens[s] − queryLen + (t − queryStartLoc[s]) and attends to keys 0 … position (causal), the
//   cached prefix included; the step's own K/V are already in the cache. Decode tokens (queryLen 1)
//   mixed into the step are served too, in a CTA of their own.
//
//   grid (⌊T / tokensPerTile⌋ + S, numKVHeads), block 256 (8 warps), dynamic shared memory
//   (2 stages · 2 · BC + 128) · (headSize + 8) · 2 bytes: K and V tiles twice, and the Q tile.
//   A CTA owns 128 query rows: tokensPerTile = ⌊128 / G⌋ consecutive query tokens of one sequence × the
//   G = numHeads / numKVHeads query heads of one KV head, row r = (token r / G, head r % G). Packing the
//   heads of a KV head into M loads each K/V tile once for all G heads, and keeps tiles of 128 rows (half
//   the L2 traffic of 64) with the causal diagonal 128 / G tokens wide. Warp w owns rows 16w … 16w + 15;
//   rows past the tile's tokens repeat its last token and are not stored; a warp with none of the tile's
//   rows skips the arithmetic (a decode token's CTA runs one warp of MMAs).
//   Tile → sequence: sequence s owns CTAs f(s) ..< f(s+1), f(s) = ⌊queryStartLoc[s] / tokensPerTile⌋ + s,
//   which is ⌈queryLen / tokensPerTile⌉ CTAs or one more. A CTA finds its s by counting f(s) ≤ blockIdx.x
//   over the block (one round of loads, __syncthreads_count), takes its sequence's tiles last-first (the
//   longest causal rows start first), and leaves when its tile starts past the query.
//   Keys go in tiles of BC (64; 32 for d256) from key 0 through the tile's last position, double-buffered
//   in shared memory by cp.async (16 bytes a thread, zero-filled past the last key), each key's row found
//   through the block table (any block size); the next tile's table entries are read a tile ahead. Rows
//   are padded to headSize + 8 elements so the 8 rows of every ldmatrix fall in distinct banks.
//   S = Q·Kᵀ by mma.m16n8k16 (bf16 in, f32 accumulate), Q's fragments read by ldmatrix per k-step (kept
//   in registers, they would spill the 128 registers that two CTAs an SM allow at d128: 64 accumulators
//   and 32 scores a lane). Online softmax in f32, base 2 (scale·log2 e folded into the exponent);
//   the causal mask is applied only on tiles that reach past a warp's first row, and a warp skips tiles
//   (and 16-key steps) wholly past its last row. P enters P·V rounded to bf16 relative to the running
//   max after each tile while the running sum adds the unrounded values, as flash attention does (and
//   attention.cu's bf16 path): the S accumulators of two 8-key MMAs are exactly the A fragment of a 16-key
//   step. The accumulators are rescaled only when some row's max moved.
//   V fragments by ldmatrix.trans. At the end each lane's partial row sums meet by shuffles.
//   An fp8 cache (prefill_attention_{e4m3,e5m2}_d{64,128}; keyScale, valueScale its k_scale and v_scale, unused for
//   bf16): the tiles' rows come as bytes into two raw stages (in the space of the bf16 path's second stage),
//   a thread of each row's first half copying 16 bytes, and each converts what it copied — fp8 · scale,
//   rounded to bf16 (exact at scale 1) — into the one bf16 stage the MMAs read, the next tile's bytes in
//   flight meanwhile.
//   prefill_attention_wgmma_bf16_d128 (sm_90a; CUDABackend.prefillTakesWgmma): the same kernel with S = Q·Kᵀ on the
//   warpgroup MMA — Q and each K tile staged unpadded in the 128-byte swizzle (PrefillShape<…, true>), made visible to
//   the tensor cores by fence.proxy.async, and each warpgroup's 64 rows × 64 keys computed by 8 wgmma.m64n64k16 from
//   shared memory, the accumulators in the mma.sync layout; no ldmatrix for Q or K. On an H200 1.26–1.35× the
//   mma.sync kernel (docs/benchmarks.md, session 23; P·V on wgmma too was slower at this register budget).
//   Requires sm_80 (cp.async, ldmatrix, bf16 MMA: before it the bodies are empty and the launcher says no).
#include "common.cuh"
#include "fp8.cuh"
#include "wgmma.cuh"  // cp.async, ldmatrix, bf16 pairs (mma.cuh); the warpgroup MMA

#define PREFILL_WARPS 8
#define PREFILL_THREADS (32 * PREFILL_WARPS)
#define PREFILL_ROWS (16 * PREFILL_WARPS)  // query rows (token, head) a CTA owns
#define LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu

// The per-instance constants, in elements unless named otherwise. WG (prefill_attention_wgmma_bf16_d*): Q and K
// unpadded in the 128-byte swizzle a K-major wgmma descriptor names — [D / 64 atoms][rows][128 bytes], 16-byte piece
// c of row r at ((c ^ (r & 7)) << 4) within its atom —, V padded as in the mma.sync path.
template <int D, int BC, bool WG = false> struct PrefillShape {
    enum : int {
        STRIDE = D + 8,                                   // a padded row in shared memory: 16 bytes of padding
        CHUNKS = D / 8,                                   // 16-byte chunks in a row
        KEYS_PER_PASS = PREFILL_THREADS / CHUNKS,         // rows one cp.async per thread covers
        LOAD_PASSES = BC / KEYS_PER_PASS,                 // a K (or V) tile's cp.async per thread
        Q_PASSES = PREFILL_ROWS / KEYS_PER_PASS,          // the Q tile's
        TILE = BC * STRIDE,                               // one padded K or V tile
        K_TILE = WG ? BC * D : TILE,                      // the K tile as staged
        STAGE = K_TILE + TILE,                            // K then V
        Q_TILE = WG ? PREFILL_ROWS * D : PREFILL_ROWS * STRIDE,
        ALIGN = WG ? 512 : 0,                             // WG: room to start the stages on a 1024-byte boundary
        SHARED = 2 * STAGE + Q_TILE + ALIGN,
        RAW_TILE = BC * D,                                // bytes of one fp8 K or V tile
    };
    static_assert(4 * RAW_TILE <= 2 * STAGE, "an fp8 cache's two raw stages fit in the bf16 path's second stage");
    static_assert(BC % KEYS_PER_PASS == 0 && BC % 16 == 0, "whole passes, whole 16-key steps");
    static_assert(!WG || (D % 64 == 0 && (2 * K_TILE) % 1024 == 0 && (2 * STAGE) % 1024 == 0),
                  "WG: whole swizzle atoms, 1024-byte aligned");
};

// Byte offset of 16-byte piece `chunk` of row `row` in a WG tile of `rows` rows (the 128-byte swizzle).
__device__ __forceinline__ unsigned swizzled_offset(int row, int chunk, int rows) {
    return (unsigned)((chunk >> 3) * rows * 128 + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
}

// One K and V tile's rows for this thread: key `firstKey + row + p · KEYS_PER_PASS` for each pass p, its
// slot in the cache (blockTable[key / blockSize] · blockSize + key % blockSize) read a tile ahead.
template <int D, int BC, int FORMAT, bool WG = false> struct TileLoader {
    typedef PrefillShape<D, BC, WG> Shape;
    int slot[Shape::LOAD_PASSES];
    int row, chunk;

    __device__ __forceinline__ void find(int firstKey, int keyEnd, const int *table, int blockSize) {
#pragma unroll
        for (int p = 0; p < Shape::LOAD_PASSES; ++p) {
            const int key = firstKey + row + p * Shape::KEYS_PER_PASS;
            slot[p] = key < keyEnd ? table[key / blockSize] * blockSize + key % blockSize : 0;
        }
    }

    // Queues the copies of the found rows into `stage` (bf16: K at 0, V at TILE) or, for an fp8 cache, raw
    // stage `s` of `raw` (K at 0, V at RAW_TILE bytes; the threads of a row's first half, 16 values each); keys
    // from keyEnd on are zeros.
    __device__ __forceinline__ void issue(bf16_t *stage, unsigned char *raw, int s, int firstKey, int keyEnd,
                                          const char *keyBase, const char *valueBase, long long slotStride) const {
        if (FORMAT && chunk >= Shape::CHUNKS / 2) return;
#pragma unroll
        for (int p = 0; p < Shape::LOAD_PASSES; ++p) {
            const int r = row + p * Shape::KEYS_PER_PASS;
            const bool valid = firstKey + r < keyEnd;
            if (FORMAT) {
                const long long offset = (long long)slot[p] * slotStride + chunk * 16;
                const unsigned destination = shared_address(raw + s * 2 * Shape::RAW_TILE + r * D + chunk * 16);
                copy16_async(destination, keyBase + offset, valid);
                copy16_async(destination + Shape::RAW_TILE, valueBase + offset, valid);
            } else {
                const long long offset = 2 * ((long long)slot[p] * slotStride + chunk * 8);
                const unsigned base = shared_address(stage);
                const unsigned key = WG ? base + swizzled_offset(r, chunk, BC) : base + 2 * (r * Shape::STRIDE + chunk * 8);
                copy16_async(key, keyBase + offset, valid);
                copy16_async(base + 2 * (Shape::K_TILE + r * Shape::STRIDE + chunk * 8), valueBase + offset, valid);
            }
        }
    }

    // fp8: what this thread copied into raw stage s, as bf16 (times the scales) into `stage`.
    __device__ __forceinline__ void convert(bf16_t *stage, const unsigned char *raw, int s, float keyScale,
                                            float valueScale) const {
        if (!FORMAT || chunk >= Shape::CHUNKS / 2) return;
#pragma unroll
        for (int p = 0; p < Shape::LOAD_PASSES; ++p) {
            const int r = row + p * Shape::KEYS_PER_PASS;
            const unsigned char *source = raw + s * 2 * Shape::RAW_TILE + r * D + chunk * 16;
            bf16_t *destination = stage + r * Shape::STRIDE + chunk * 16;
            uint4 low, high;
            fp8x16_to_bf16<FORMAT ? FORMAT : FP8_E4M3>(*(const uint4 *)source, keyScale, low, high);
            *(uint4 *)destination = low;
            *(uint4 *)(destination + 8) = high;
            fp8x16_to_bf16<FORMAT ? FORMAT : FP8_E4M3>(*(const uint4 *)(source + Shape::RAW_TILE), valueScale, low, high);
            *(uint4 *)(destination + Shape::TILE) = low;
            *(uint4 *)(destination + Shape::TILE + 8) = high;
        }
    }
};

// S (64 rows of a warpgroup × 64 keys, f32) = A (64 × 16 bf16, descriptor a) · B (16 × 64 bf16, descriptor b), added
// to S unless `accumulate` is 0; the accumulator layout of each warp's 16 rows is the m16n8 one of the mma.sync path.
__device__ __forceinline__ void wgmma_bf16_n64(float (&d)[8][4], unsigned long long a, unsigned long long b, int accumulate) {
#ifdef HOPPER_WGMMA
#define D4(n) "+f"(d[n][0]), "+f"(d[n][1]), "+f"(d[n][2]), "+f"(d[n][3])
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "%32, %33, p, 1, 1, 0, 0;\n}\n"
                 : D4(0), D4(1), D4(2), D4(3), D4(4), D4(5), D4(6), D4(7)
                 : "l"(a), "l"(b), "r"(accumulate));
#undef D4
#endif
}

// WG: S = Q·Kᵀ on the warpgroup MMA (P·V stays on mma.sync).
template <int D, int BC, int FORMAT, bool WG = false>
__device__ __forceinline__ void prefill_attention(const bf16_t *__restrict__ query, const void *__restrict__ keyCache,
                                                  const void *__restrict__ valueCache,
                                                  const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens,
                                                  const int *__restrict__ blockTables, bf16_t *__restrict__ out,
                                                  int numSeqs, int numHeads, int numKVHeads, int blockSize,
                                                  int maxBlocksPerSeq, float scale, float keyScale, float valueScale) {
    typedef PrefillShape<D, BC, WG> Shape;
    static_assert(!WG || (FORMAT == 0 && BC == 64), "the wgmma path: a bf16 cache, 64-key tiles");
    constexpr int ELEMENT = FORMAT ? 1 : 2;  // bytes of a cached value
    extern __shared__ uint4 prefillShared[];
    bf16_t *stages = (bf16_t *)(WG ? swizzle_aligned(prefillShared) : prefillShared);  // [2][K, V][BC][STRIDE]
    bf16_t *queries = stages + 2 * Shape::STAGE;     // [128][STRIDE]
    const int group = numHeads / numKVHeads, tokensPerTile = PREFILL_ROWS / group;
    const int kvHead = blockIdx.y, cta = blockIdx.x;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

    // This CTA's sequence: the number of s ≥ 1 with f(s) ≤ cta (f strictly increases, f(0) = 0).
    int seq = 0;
    for (int first = 1; first < numSeqs; first += PREFILL_THREADS) {
        const int s = first + tid;
        seq += __syncthreads_count(s < numSeqs && queryStartLoc[s] / tokensPerTile + s <= cta);
    }
    const int queryBegin = queryStartLoc[seq], queryLen = queryStartLoc[seq + 1] - queryBegin;
    const int tile = queryStartLoc[seq + 1] / tokensPerTile + seq - cta;  // f(seq + 1) − 1 − cta: last first
    const int tileToken = tile * tokensPerTile;                          // its first token within the query
    if (tileToken >= queryLen) return;  // the whole CTA
    const int tileTokens = min(tokensPerTile, queryLen - tileToken);
    const int tileRows = tileTokens * group;
    const int firstPosition = seqLens[seq] - queryLen + tileToken;
    const int keyEnd = firstPosition + tileTokens;  // keys 0 … the tile's last position
    const int numKeyTiles = (keyEnd + BC - 1) / BC;
    const int *table = blockTables + (long long)seq * maxBlocksPerSeq;
    const long long slotStride = (long long)numKVHeads * D;
    const char *keyBase = (const char *)keyCache + (long long)kvHead * D * ELEMENT;
    const char *valueBase = (const char *)valueCache + (long long)kvHead * D * ELEMENT;
    unsigned char *raw = (unsigned char *)(stages + Shape::STAGE);  // fp8: [2 stages][K, V][BC][D] bytes

    // Q: row r is token min(r / G, tileTokens − 1) (rows past the tile repeat its last token), head r % G;
    // the G heads of one token are G·D consecutive elements of the query.
    const bf16_t *queryTile = query + ((long long)(queryBegin + tileToken) * numHeads + kvHead * group) * D;
    TileLoader<D, BC, FORMAT, WG> loader;
    loader.row = tid / Shape::CHUNKS;
    loader.chunk = tid % Shape::CHUNKS;
#pragma unroll
    for (int p = 0; p < Shape::Q_PASSES; ++p) {
        const int r = loader.row + p * Shape::KEYS_PER_PASS;
        const int token = min(r / group, tileTokens - 1);
        copy16_async(WG ? shared_address(queries) + swizzled_offset(r, loader.chunk, PREFILL_ROWS)
                        : shared_address(queries + r * Shape::STRIDE + loader.chunk * 8),
                     queryTile + ((long long)token * numHeads + r % group) * D + loader.chunk * 8, true);
    }
    commit_copies();
    loader.find(0, keyEnd, table, blockSize);
    loader.issue(stages, raw, 0, 0, keyEnd, keyBase, valueBase, slotStride);
    commit_copies();
    if (numKeyTiles > 1) loader.find(BC, keyEnd, table, blockSize);

    // This lane's rows g and g + 8 of the warp's 16, their positions, and the warp's first and last.
    const int g = lane >> 2, t = lane & 3;
    const int row0 = 16 * warp;
    const bool isWarpActive = row0 < tileRows;
    const int positionLow = firstPosition + min((row0 + g) / group, tileTokens - 1);
    const int positionHigh = firstPosition + min((row0 + g + 8) / group, tileTokens - 1);
    const int warpFirst = firstPosition + min(row0 / group, tileTokens - 1);
    const int warpLast = firstPosition + min((row0 + 15) / group, tileTokens - 1);
    // WG: the warpgroup's rows 64·(warp / 4) … + 63 share each wgmma.
    const int groupRow0 = 64 * (warp >> 2);
    // ldmatrix addresses (bytes): A (Q) rows (l % 16), columns 8·(l / 16); K as B (non-transposed) rows
    // (l % 8) + 8·(l / 16), columns 8·((l / 8) % 2); V as B (transposed) rows l % 16, columns 8·(l / 16).
    const unsigned queryAddress = shared_address(queries + (row0 + (lane & 15)) * Shape::STRIDE + 8 * (lane >> 4));
    const unsigned keyOffset = 2 * (((lane & 7) + 8 * (lane >> 4)) * Shape::STRIDE + 8 * ((lane >> 3) & 1));
    const unsigned valueOffset = 2 * ((lane & 15) * Shape::STRIDE + 8 * (lane >> 4)) + 2 * Shape::K_TILE;

    float acc[D / 8][4];  // O: dimension step j holds columns 8j + 2t, 8j + 2t + 1 of rows g, g + 8
#pragma unroll
    for (int j = 0; j < D / 8; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
    float runningMax[2] = {-INFINITY, -INFINITY};  // raw scores (before scale), rows g and g + 8
    float runningSum[2] = {0.0f, 0.0f};            // this lane's columns only, until the end
    const float scaleLog2 = scale * LOG2E;

    for (int keyTile = 0; keyTile < numKeyTiles; ++keyTile) {
        if (keyTile + 1 < numKeyTiles) {
            loader.issue(stages + ((keyTile + 1) & 1) * Shape::STAGE, raw, (keyTile + 1) & 1, (keyTile + 1) * BC, keyEnd,
                         keyBase, valueBase, slotStride);
            if (keyTile + 2 < numKeyTiles) loader.find((keyTile + 2) * BC, keyEnd, table, blockSize);
        }
        commit_copies();  // possibly empty, so that one group is always the newest
        wait_copies<1>();
        loader.convert(stages, raw, keyTile & 1, keyScale, valueScale);  // fp8: its own copies, landed
        if (WG) fence_async_shared();  // the tiles cp.async wrote, visible to the wgmmas that read them
        __syncthreads();
        const int firstKey = keyTile * BC;
        const unsigned stage = shared_address(stages + (FORMAT ? 0 : (keyTile & 1) * Shape::STAGE));
        float score[BC / 8][4];
#pragma unroll
        for (int n = 0; n < BC / 8; ++n) score[n][0] = score[n][1] = score[n][2] = score[n][3] = 0.0f;
        if constexpr (WG) {
            // S = Q·Kᵀ for the warpgroup's 64 rows, 16 dimensions a wgmma, both operands read from shared memory:
            // dimensions 16k … are atom k / 4 (64 dimensions), 32 bytes in (the descriptor's start; the swizzle
            // applies to the address, as the tensor cores read it). Every warpgroup runs them, live or not, so that
            // they sit on no divergent path (ptxas serializes wgmmas there); a warp's dead rows are never read.
            const unsigned queryTile = shared_address(queries) + groupRow0 * 128;
            wgmma_fence();
#pragma unroll
            for (int k = 0; k < D / 16; ++k) {
                const int atom = k >> 2, piece = (k & 3) * 32;
                wgmma_bf16_n64(score, wgmma_descriptor(queryTile + atom * PREFILL_ROWS * 128 + piece),
                               wgmma_descriptor(stage + atom * BC * 128 + piece), k);
            }
            wgmma_commit();
            wgmma_wait<0>();
#pragma unroll
            for (int n = 0; n < BC / 8; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) wgmma_keep(score[n][e]);
        }
        if (isWarpActive && firstKey <= warpLast) {
            // 16-key steps holding a key ≤ the warp's last position; the rest are masked without MMAs.
            const int liveSteps = min(BC / 16, (warpLast - firstKey) / 16 + 1);
#pragma unroll
            for (int k = 0; k < (WG ? 0 : D / 16); ++k) {
                unsigned a[4];  // rows 0…7 | 8…15 × dimensions 16k + (0…7 | 8…15)
                load_matrices(a, queryAddress + 32 * k);
#pragma unroll
                for (int step = 0; step < BC / 16; ++step) {
                    if (step < liveSteps) {
                        unsigned b[4];  // keys 16·step + (0…7 | 8…15) × dimensions 16k + (0…7 | 8…15)
                        load_matrices(b, stage + keyOffset + 2 * (16 * step * Shape::STRIDE + 16 * k));
                        mma_bf16_16x8x16(score[2 * step], a[0], a[1], a[2], a[3], b[0], b[1]);
                        mma_bf16_16x8x16(score[2 * step + 1], a[0], a[1], a[2], a[3], b[2], b[3]);
                    }
                }
            }
            if (firstKey + BC - 1 > warpFirst) {  // the diagonal: keys past a row's position do not count
#pragma unroll
                for (int n = 0; n < BC / 8; ++n) {
                    const int key = firstKey + 8 * n + 2 * t;
                    if (key > positionLow) score[n][0] = -INFINITY;
                    if (key + 1 > positionLow) score[n][1] = -INFINITY;
                    if (key > positionHigh) score[n][2] = -INFINITY;
                    if (key + 1 > positionHigh) score[n][3] = -INFINITY;
                }
            }
            unsigned probability[BC / 8][2];  // P: the A fragments of the tile's 16-key steps
            online_softmax<BC / 8, D>(score, runningMax, runningSum, acc, scaleLog2, probability);
            // O += P · V, 16 keys a step.
#pragma unroll
            for (int step = 0; step < BC / 16; ++step) {
                if (step < liveSteps) {
                    const unsigned a[4] = {probability[2 * step][0], probability[2 * step][1],
                                           probability[2 * step + 1][0], probability[2 * step + 1][1]};
#pragma unroll
                    for (int d = 0; d < D / 16; ++d) {
                        unsigned b[4];  // keys 16·step + (0…7 | 8…15) × dimensions 16d + (0…7 | 8…15), transposed
                        load_matrices_transposed(b, stage + valueOffset + 2 * (16 * step * Shape::STRIDE + 16 * d));
                        mma_bf16_16x8x16(acc[2 * d], a[0], a[1], a[2], a[3], b[0], b[1]);
                        mma_bf16_16x8x16(acc[2 * d + 1], a[0], a[1], a[2], a[3], b[2], b[3]);
                    }
                }
            }
        }
        __syncthreads();  // every warp is done with this stage before the next issue overwrites it
    }

    // Rows g and g + 8: the row's sum over its 4 lanes, then out = acc / sum for the tile's own rows.
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        float sum = runningSum[h];
        sum += __shfl_xor_sync(FULL_MASK, sum, 1);
        sum += __shfl_xor_sync(FULL_MASK, sum, 2);
        const int r = row0 + g + 8 * h;
        if (r < tileRows) {
            const float inverse = 1.0f / sum;
            bf16_t *row = out + ((long long)(queryBegin + tileToken + r / group) * numHeads + kvHead * group + r % group) * D;
#pragma unroll
            for (int j = 0; j < D / 8; ++j)
                *(unsigned *)(row + 8 * j + 2 * t) = pack_bf16(acc[j][2 * h] * inverse, acc[j][2 * h + 1] * inverse);
        }
    }
}

#define PREFILL_ATTENTION_PARAMETERS                                                                          \
    const bf16_t *__restrict__ query, const void *__restrict__ keyCache, const void *__restrict__ valueCache,   \
        const int *__restrict__ queryStartLoc, const int *__restrict__ seqLens,                                 \
        const int *__restrict__ blockTables, bf16_t *__restrict__ out, int numSeqs, int numHeads,               \
        int numKVHeads, int blockSize, int maxBlocksPerSeq, float scale, float keyScale, float valueScale
#define PREFILL_ATTENTION(D, BC, FORMAT, ...)                                                                  \
    prefill_attention<D, BC, FORMAT, ##__VA_ARGS__>(query, keyCache, valueCache, queryStartLoc, seqLens, blockTables, out,       \
                                     numSeqs, numHeads, numKVHeads, blockSize, maxBlocksPerSeq, scale, keyScale,  \
                                     valueScale)

// One entry point per cache dtype and head size (BC keys a tile); fp8 caches only at d64 and d128, the head sizes
// decode_attention_mma.cu (the fp8 cache's decode kernel) takes. d64 and d128 are held to 128 registers, so an
// SM runs two CTAs (16 warps; d128: 2 × 102 KiB of shared memory on sm_90, and a few spilled words a tile); d256
// (128 accumulators a lane) runs one.
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_bf16_d64(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(64, 64, 0);
}
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_bf16_d128(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(128, 64, 0);
}
// S = Q·Kᵀ on the warpgroup MMA (sm_90a; CUDABackend takes it there for a bf16 cache at d128): Q and K staged in the
// 128-byte swizzle and read by the tensor cores from shared memory, P·V on mma.sync as above.
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_wgmma_bf16_d128(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
#ifdef HOPPER_WGMMA
    PREFILL_ATTENTION(128, 64, 0, true);
#endif
}
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 1) prefill_attention_bf16_d256(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(256, 32, 0);
}
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_e4m3_d64(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(64, 64, FP8_E4M3);
}
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_e4m3_d128(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(128, 64, FP8_E4M3);
}
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_e5m2_d64(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(64, 64, FP8_E5M2);
}
extern "C" __global__ void __launch_bounds__(PREFILL_THREADS, 2) prefill_attention_e5m2_d128(PREFILL_ATTENTION_PARAMETERS) {
    grid_dependency_wait();
    PREFILL_ATTENTION(128, 64, FP8_E5M2);
}
