// linear_int4_wgmma.cu: linear_int4.cu's tiled 4-bit GEMM on Hopper's warpgroup MMA (sm_90a).
//
// linear_int4_wgmma_bf16_nNTOK  the parameters of linear_int4_gemm, bf16 out; K % 128 == 0, groupSize % 128 == 0 (a
//   128-k chunk in one group), x 16-byte aligned; compiled for sm_90a only (elsewhere the body is empty and
//   CUDABackend.int4Path never picks it). A CTA of W warpgroups owns 64·W weight rows × NTOK tokens (grid
//   (⌈M / NTOK⌉, ⌈N / 64W⌉, splits), K split as in linear_int4_gemm). Warpgroup w's 64 rows are the A operand of
//   wgmma.m64nNTOKk16, dequantized in registers (warp q of the group: rows 16q + g and 16q + g + 8, lane t taking
//   pair t of each packed word — the mma.m16n8k16 fragment); x's token tile is the B operand, read by the tensor
//   cores from shared memory: per stage [2 atoms of k 64][NTOK rows][128 bytes], 16-byte piece c of row r at
//   ((c ^ (r & 7)) << 4) — the 128-byte swizzle a K-major wgmma descriptor names. The packed weight follows x in the
//   stage, [64·W rows][64 bytes], piece p of row r at ((p ^ ((r >> 1) & 3)) << 4) so that the 8 rows a warp reads at
//   once meet no bank conflict. While a chunk's 8 wgmmas run, the warps wait for the next chunk's stage, refill the
//   stage the previous chunk read, and dequantize the next chunk; each chunk's wgmmas are waited for before the loop
//   goes on, so no register an in-flight wgmma reads crosses an iteration (ptxas would serialize the wgmmas).
//   Where it wins (CUDABackend.int4Path): 64–192 tokens, by bench-linear on the H200 (docs/gpu-runs/2026-12-01d run4).
//   It runs at ~230–390 TFLOP/s there: a chunk's dequantize (≈ 180 instructions a thread) is as long as its 8 wgmmas,
//   and every CTA reads the whole token tile of x from L2 (two of three bytes moved at 128 tokens).
#include "int4.cuh"

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define INT4_WGMMA 1
#endif

template <int N> __device__ __forceinline__ void wgmma_bf16(float (&d)[N / 2], const unsigned (&a)[4], unsigned long long b);
#define WGMMA_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
// d [64 × N] f32 += a (this thread's A fragment of 64 × 16 bf16) · B (16 × N bf16 in shared memory, descriptor b).
template <> __device__ __forceinline__ void wgmma_bf16<64>(float (&d)[32], const unsigned (&a)[4], unsigned long long b) {
#ifdef INT4_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
                 "{%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}\n"
                 : WGMMA_D8(0), WGMMA_D8(8), WGMMA_D8(16), WGMMA_D8(24)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
}
template <> __device__ __forceinline__ void wgmma_bf16<128>(float (&d)[64], const unsigned (&a)[4], unsigned long long b) {
#ifdef INT4_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
                 "{%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}\n"
                 : WGMMA_D8(0), WGMMA_D8(8), WGMMA_D8(16), WGMMA_D8(24), WGMMA_D8(32), WGMMA_D8(40), WGMMA_D8(48), WGMMA_D8(56)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
}
template <> __device__ __forceinline__ void wgmma_bf16<96>(float (&d)[48], const unsigned (&a)[4], unsigned long long b) {
#ifdef INT4_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %53, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n96k16.f32.bf16.bf16 "
                 "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47}, "
                 "{%48, %49, %50, %51}, %52, p, 1, 1, 0;\n}\n"
                 : WGMMA_D8(0), WGMMA_D8(8), WGMMA_D8(16), WGMMA_D8(24), WGMMA_D8(32), WGMMA_D8(40)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
}
#undef WGMMA_D8

__device__ __forceinline__ void wgmma_fence() {
#ifdef INT4_WGMMA
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void wgmma_commit() {
#ifdef INT4_WGMMA
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
template <int N> __device__ __forceinline__ void wgmma_wait() {
#ifdef INT4_WGMMA
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
#endif
}
// Orders an accumulator after the wait for the wgmmas that write it: the compiler sees the wgmmas as done when
// issued, so without this it could read the register before wgmma_wait.
__device__ __forceinline__ void wgmma_keep(float &r) { asm volatile("" : "+f"(r)::"memory"); }

// A K-major operand tile in shared memory with the 128-byte swizzle: 8-row groups 1024 bytes apart.
__device__ __forceinline__ unsigned long long wgmma_descriptor(unsigned address) {
    return (unsigned long long)((address & 0x3FFFF) >> 4) | (1ull << 16) | ((unsigned long long)(1024 >> 4) << 32) |
           (1ull << 62);
}

template <int W, int NTOK> struct Int4WgmmaTile {
    static constexpr int ROWS = 64 * W, THREADS = 128 * W;
    static constexpr int X_BYTES = NTOK * 256, WEIGHT_BYTES = ROWS * 64, STAGE_BYTES = X_BYTES + WEIGHT_BYTES;
    static_assert(NTOK % 8 == 0 && STAGE_BYTES % 1024 == 0, "swizzle atoms 1024-byte aligned");
};

template <int W, int NTOK, int STAGES, typename Out>
__device__ void linear_int4_wgmma(const bf16_t *__restrict__ x, const unsigned *__restrict__ packed,
                                  const bf16_t *__restrict__ scales, const bf16_t *__restrict__ zeros,
                                  const bf16_t *__restrict__ bias, Out *__restrict__ out, float *__restrict__ partials,
                                  int M, int N, int K, int groupSize) {
#ifdef INT4_WGMMA
    using Tile = Int4WgmmaTile<W, NTOK>;
    static_assert(STAGES >= 3, "a stage computed, one dequantized, one or more in flight");
    // Each thread copies the same pieces of every chunk: x piece (row xRow + n·X_ROWS, column tid % 16) and weight
    // piece (row wRow + n·W_ROWS, column tid % 4), n < X_COPIES / W_COPIES.
    constexpr int X_ROWS = Tile::THREADS / 16, X_COPIES = NTOK / X_ROWS, W_ROWS = Tile::THREADS / 4, W_COPIES = Tile::ROWS / W_ROWS;
    static_assert(NTOK % X_ROWS == 0 && X_ROWS % 8 == 0 && W_ROWS % 8 == 0, "whole copies, swizzle fixed per thread");
    extern __shared__ uint4 int4GemmShared[];
    // Swizzle atoms must start at 1024-byte boundaries: the launcher adds 1024 bytes to round up into.
    unsigned char *const shared = (unsigned char *)(((size_t)int4GemmShared + 1023) & ~(size_t)1023);
    const unsigned sharedBase = shared_address(shared);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int rowA = 64 * (warp >> 2) + 16 * (warp & 3) + g, rowB = rowA + 8;  // this thread's rows in the tile
    const int token0 = blockIdx.x * NTOK, row0 = blockIdx.y * Tile::ROWS;
    const int words = K >> 3, numGroups = K / groupSize, totalChunks = K >> 7;
    const int chunkBegin = (int)((long long)totalChunks * blockIdx.z / gridDim.z);
    const int numChunks = (int)((long long)totalChunks * (blockIdx.z + 1) / gridDim.z) - chunkBegin;

    const int xRow = tid >> 4, xPiece = tid & 15, wRow = tid >> 2, wPiece = tid & 3;
    const bf16_t *const xSource = x + (long long)(token0 + xRow) * K + chunkBegin * 128 + 8 * xPiece;
    const unsigned xTarget = (xPiece >> 3) * (NTOK * 128) + xRow * 128 + (((xPiece & 7) ^ (xRow & 7)) << 4);
    const unsigned *const wSource = packed + (long long)(row0 + wRow) * words + chunkBegin * 16 + 4 * wPiece;
    const unsigned wTarget = Tile::X_BYTES + wRow * 64 + ((wPiece ^ ((wRow >> 1) & 3)) << 4);
    auto loadWeights = [&](int chunk) {
        const unsigned stage = sharedBase + (chunk % STAGES) * Tile::STAGE_BYTES + wTarget;
#pragma unroll
        for (int n = 0; n < W_COPIES; ++n) {
            const bool valid = row0 + wRow + n * W_ROWS < N;
            copy16_async(stage + n * W_ROWS * 64, valid ? wSource + (long long)n * W_ROWS * words + chunk * 16 : packed, valid);
        }
    };
    auto loadX = [&](int chunk) {
        const unsigned stage = sharedBase + (chunk % STAGES) * Tile::STAGE_BYTES + xTarget;
#pragma unroll
        for (int n = 0; n < X_COPIES; ++n) {
            const bool valid = token0 + xRow + n * X_ROWS < M;
            copy16_async(stage + n * X_ROWS * 128, valid ? xSource + (long long)n * X_ROWS * K + chunk * 128 : x, valid);
        }
    };
    // (scale, scale) and (−(128 + zero), …) of rows A and B in chunk `chunk`'s group (groupSize % 128 == 0).
    const bool hasA = row0 + rowA < N, hasB = row0 + rowB < N;
    const bf16_t *const scalesA = scales + (long long)(hasA ? row0 + rowA : 0) * numGroups;
    const bf16_t *const scalesB = scales + (long long)(hasB ? row0 + rowB : 0) * numGroups;
    const bf16_t *const zerosA = zeros + (scalesA - scales), *const zerosB = zeros + (scalesB - scales);
    auto loadScales = [&](int chunk, unsigned (&scale2)[2], unsigned (&zero2)[2]) {
        const int group = (chunkBegin + chunk) * 128 / groupSize;
        scale2[0] = hasA ? duplicate(scalesA[group]) : 0u;
        scale2[1] = hasB ? duplicate(scalesB[group]) : 0u;
        zero2[0] = duplicate(zerosA[group]);
        zero2[1] = duplicate(zerosB[group]);
    };

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s)
        if (s < numChunks) loadWeights(s);
    unsigned scale2[2], zero2[2];
    loadScales(0, scale2, zero2);
    grid_dependency_wait();
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < numChunks) loadX(s);
        commit_copies();
    }

    // Chunk `chunk`'s weights, dequantized from its stage into A fragments.
    auto dequantize = [&](int chunk, unsigned (&a)[8][4]) {
        const unsigned char *weights = shared + (chunk % STAGES) * Tile::STAGE_BYTES + Tile::X_BYTES;
        uint4 pieces[2][4];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int r = h ? rowB : rowA;
#pragma unroll
            for (int p = 0; p < 4; ++p) pieces[h][p] = *(const uint4 *)(weights + r * 64 + ((p ^ ((r >> 1) & 3)) << 4));
        }
#pragma unroll
        for (int s = 0; s < 8; ++s)
#pragma unroll
            for (int h = 0; h < 2; ++h)
#pragma unroll
                for (int half = 0; half < 2; ++half) {
                    const uint4 piece = pieces[h][(2 * s + half) >> 2];
                    const int w = (2 * s + half) & 3;
                    const unsigned word = w == 0 ? piece.x : w == 1 ? piece.y : w == 2 ? piece.z : piece.w;
                    unsigned v;
                    asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(v) : "r"(word >> (4 * t)), "r"(0x000F000Fu), "r"(0x43004300u));
                    a[s][2 * half + h] = bf16x2_fma(bf16x2_fma(v, 0x3F803F80u, zero2[h]), scale2[h], 0x80008000u);
                }
    };

    float acc[NTOK / 2];
#pragma unroll
    for (int i = 0; i < NTOK / 2; ++i) acc[i] = 0.0f;
    unsigned fragments[2][8][4];
    wait_copies<STAGES - 2>();
    __syncthreads();
    dequantize(0, fragments[0]);
    if (numChunks > 1) loadScales(1, scale2, zero2);

    // One chunk: its 8 wgmmas issued on `a`; while they run, the next chunk's stage is awaited, the stage the last
    // chunk's wgmmas read is refilled, and the next chunk is dequantized into `next`. Every wgmma is waited for
    // within its chunk, so that no register an in-flight wgmma reads crosses the loop (ptxas would serialize them).
    auto step = [&](int chunk, unsigned (&a)[8][4], unsigned (&next)[8][4]) {
        const unsigned xAddress = sharedBase + (chunk % STAGES) * Tile::STAGE_BYTES;
        wgmma_fence();
#pragma unroll
        for (int s = 0; s < 8; ++s)
            wgmma_bf16<NTOK>(acc, a[s], wgmma_descriptor(xAddress + (s >> 2) * (NTOK * 128) + (s & 3) * 32));
        wgmma_commit();
        if (chunk + 1 < numChunks) {
            wait_copies<STAGES - 3>();
            __syncthreads();  // chunk + 1's stage is filled; every warpgroup is done with chunk − 1's stage
            if (chunk + STAGES - 1 < numChunks) {
                loadWeights(chunk + STAGES - 1);
                loadX(chunk + STAGES - 1);
            }
            commit_copies();  // an empty group past the end keeps the count uniform
            dequantize(chunk + 1, next);
            if (chunk + 2 < numChunks) loadScales(chunk + 2, scale2, zero2);
        }
        wgmma_wait<0>();
    };
    for (int chunk = 0; chunk < numChunks; chunk += 2) {
        step(chunk, fragments[0], fragments[1]);
        if (chunk + 1 < numChunks) step(chunk + 1, fragments[1], fragments[0]);
    }
#pragma unroll
    for (int i = 0; i < NTOK / 2; ++i) wgmma_keep(acc[i]);
    wait_copies<0>();

    float *const partial = gridDim.z > 1 ? partials + (long long)blockIdx.z * M * N : nullptr;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        const int row = row0 + (h ? rowB : rowA);
        if (row >= N) continue;
        const float add = bias && !partial ? bf16_to_f32(bias[row]) : 0.0f;
#pragma unroll
        for (int j = 0; j < NTOK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
                const int token = token0 + 8 * j + 2 * t + e;
                if (token >= M) continue;
                const long long index = (long long)token * N + row;
                const float value = acc[4 * j + 2 * h + e];
                if (partial) partial[index] = value;
                else out[index] = int4_output<Out>(value + add);
            }
    }
#endif
}

// One warpgroup a CTA, two CTAs an SM; NTOK (the suffix _n) 64, 96 or 128, as CUDABackend.int4WgmmaTile cuts a step
// (run3: one warpgroup of 64 rows beat two of 128 rows at 64 tokens and tied at 100–256). The widest tile takes 3
// stages so that two CTAs fit in an SM's shared memory.
static_assert(3 * Int4WgmmaTile<1, 128>::STAGE_BYTES + 1024 == 111616 && 4 * Int4WgmmaTile<1, 64>::STAGE_BYTES + 1024 == 82944,
              "CUDABackend.int4WgmmaSharedBytes");
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_wgmma_bf16_n64(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<1, 64, 4, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_wgmma_bf16_n96(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<1, 96, 3, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_wgmma_bf16_n128(LINEAR_INT4_GEMM_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<1, 128, 3, bf16_t>(LINEAR_INT4_GEMM_ARGUMENTS);
}
