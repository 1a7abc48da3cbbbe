// linear_int4_wgmma.cu: linear_int4.cu's tiled 4-bit GEMM on Hopper's warpgroup MMA (sm_90a).
//
// linear_int4_wgmma_bf16[_w2]_nNTOK  linear_int4_gemm's problem (bf16 out; K % 128 == 0, groupSize % 128 == 0: a 128-k
//   chunk in one group; x 16-byte aligned) with x and the packed weight passed as tensor maps
//   (LINEAR_INT4_WGMMA_PARAMETERS); compiled for sm_90a only (elsewhere the body is empty and CUDABackend.int4Path
//   never picks it). A CTA of W warpgroups owns 64·W weight rows × NTOK tokens (grid (⌈M / NTOK⌉, ⌈N / 64W⌉,
//   splits), K split as in linear_int4_gemm). Warpgroup w's 64 rows are the A operand of wgmma.m64nNTOKk16,
//   dequantized in registers (warp q of the group: rows 16q + g and 16q + g + 8, lane t taking pair t of each packed
//   word — the mma.m16n8k16 fragment); x's token tile is the B operand, read by the tensor cores from shared memory.
//   A stage holds one 128-k chunk, filled by the tensor memory accelerator (three copies thread 0 issues, counted on
//   the stage's mbarrier): x as [2 atoms of k 64][NTOK rows][128 bytes], 16-byte piece c of row r at
//   ((c ^ (r & 7)) << 4) — the 128-byte swizzle a K-major wgmma descriptor names — then the weight rows
//   [64·W rows][64 bytes], piece p of row r at ((p ^ ((r >> 1) & 3)) << 4): the 64-byte swizzle, under which the 8
//   rows a warp reads at once meet no bank conflict. Each chunk's wgmmas are issued while the last chunk's may still
//   run; then the stage the last chunk read is refilled and the next chunk dequantized.
//   H200 (docs/gpu-runs/2026-12-01f, int4_gemm_bench): the tensor-map copies replaced 18 cp.async a thread a chunk,
//   two chunks of wgmmas in flight replaced one, and the weight words are read by ld.shared (the aligned generic
//   pointer had made them generic 64-bit loads); with CUDABackend's split and tensor-map rules, Qwen2.5-14B gate_up at
//   100 tokens 119 → 77 µs, down 92 → 48, qkv 44 → 26, o 34 → 22 (cuBLASLt on bf16 weights: 84, 50, 26, 21). Where
//   it is taken (CUDABackend.int4Path): 64–256 tokens.
#include "int4.cuh"
#include "wgmma.cuh"

template <int N> __device__ __forceinline__ void wgmma_bf16(float (&d)[N / 2], const unsigned (&a)[4], unsigned long long b);
#define WGMMA_D8(i) "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), "+f"(d[i + 6]), "+f"(d[i + 7])
// d [64 × N] f32 += a (this thread's A fragment of 64 × 16 bf16) · B (16 × N bf16 in shared memory, descriptor b).
template <> __device__ __forceinline__ void wgmma_bf16<64>(float (&d)[32], const unsigned (&a)[4], unsigned long long b) {
#ifdef HOPPER_WGMMA
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
#ifdef HOPPER_WGMMA
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
#ifdef HOPPER_WGMMA
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
template <> __device__ __forceinline__ void wgmma_bf16<192>(float (&d)[96], const unsigned (&a)[4], unsigned long long b) {
#ifdef HOPPER_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %101, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n192k16.f32.bf16.bf16 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
                 "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
                 "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95}, "
                 "{%96, %97, %98, %99}, %100, p, 1, 1, 0;\n}\n"
                 : WGMMA_D8(0), WGMMA_D8(8), WGMMA_D8(16), WGMMA_D8(24), WGMMA_D8(32), WGMMA_D8(40), WGMMA_D8(48), WGMMA_D8(56),
                   WGMMA_D8(64), WGMMA_D8(72), WGMMA_D8(80), WGMMA_D8(88)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
}
template <> __device__ __forceinline__ void wgmma_bf16<256>(float (&d)[128], const unsigned (&a)[4], unsigned long long b) {
#ifdef HOPPER_WGMMA
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"
                 "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
                 "{"
                 "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
                 "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
                 "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
                 "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, "
                 "%64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, "
                 "%80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, "
                 "%96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, "
                 "%112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
                 "{%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
                 : WGMMA_D8(0), WGMMA_D8(8), WGMMA_D8(16), WGMMA_D8(24), WGMMA_D8(32), WGMMA_D8(40), WGMMA_D8(48), WGMMA_D8(56),
                   WGMMA_D8(64), WGMMA_D8(72), WGMMA_D8(80), WGMMA_D8(88), WGMMA_D8(96), WGMMA_D8(104), WGMMA_D8(112), WGMMA_D8(120)
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(1));
#endif
}
#undef WGMMA_D8

template <int W, int NTOK> using Int4WgmmaTile = WgmmaTile<W, NTOK, 256, 64>;

template <int W, int NTOK, int STAGES, typename Out>
__device__ void linear_int4_wgmma(const TensorMap &xMap, const TensorMap &weightMap, const unsigned *__restrict__ scaleZeros,
                                  const bf16_t *__restrict__ bias, Out *__restrict__ out,
                                  float *__restrict__ partials, int M, int N, int K, int groupSize) {
#ifdef HOPPER_WGMMA
    using Tile = Int4WgmmaTile<W, NTOK>;
    static_assert(NTOK % 8 == 0, "whole groups of 8 tokens");
    static_assert(STAGES >= 3, "a stage computed, one dequantized, one or more in flight");
    extern __shared__ uint4 int4GemmShared[];
    const typename Tile::template Stages<STAGES> stages(int4GemmShared);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int rowA = 64 * (warp >> 2) + 16 * (warp & 3) + g, rowB = rowA + 8;  // this thread's rows in the tile
    const int token0 = blockIdx.x * NTOK, row0 = blockIdx.y * Tile::ROWS;
    const int numGroups = K / groupSize;
    const WgmmaChunks chunks = wgmma_chunks(K);
    const int chunkBegin = chunks.begin, numChunks = chunks.count;

    // Thread 0 fills a stage with three copies of the tensor memory accelerator, counted on the stage's barrier:
    // the weight rows [64·W rows][64 bytes] with the 64-byte swizzle (piece p of row r at p ^ ((r >> 1) & 3)), and
    // x's two k-atoms [NTOK rows][128 bytes] with the 128-byte swizzle the wgmma descriptor names. Rows past a map's
    // end arrive as zeros (x's map may reach past M, over rows whose outputs are never stored).
    const bool producer = tid == 0;
    auto loadWeights = [&](int chunk) {
        mbarrier_expect(stages.barrier(chunk), Tile::STAGE_BYTES);
        tma_load(stages.stage(chunk) + Tile::X_BYTES, weightMap, (chunkBegin + chunk) * 16, row0, stages.barrier(chunk));
    };
    auto loadX = [&](int chunk) {
        const unsigned stage = stages.stage(chunk);
        tma_load(stage, xMap, (chunkBegin + chunk) * 128, token0, stages.barrier(chunk));
        tma_load(stage + NTOK * 128, xMap, (chunkBegin + chunk) * 128 + 64, token0, stages.barrier(chunk));
    };
    // (scale, scale) and (−(128 + zero), …) of rows A and B in chunk `chunk`'s group (groupSize % 128 == 0).
    const bool hasA = row0 + rowA < N, hasB = row0 + rowB < N;
    const unsigned *const pairsA = scaleZeros + (long long)(hasA ? row0 + rowA : 0) * numGroups;
    const unsigned *const pairsB = scaleZeros + (long long)(hasB ? row0 + rowB : 0) * numGroups;
    const int chunksPerGroup = groupSize >> 7;
    auto loadScales = [&](int chunk, unsigned (&scale2)[2], unsigned (&zero2)[2]) {
        const int index = chunkBegin + chunk;
        const int group = chunksPerGroup == 1 ? index : index / chunksPerGroup;  // GPTQ's 128 without a division
        const unsigned a = pairsA[group], b = pairsB[group];
        scale2[0] = hasA ? sz_scale2(a) : 0u;
        scale2[1] = hasB ? sz_scale2(b) : 0u;
        zero2[0] = sz_zero2(a);
        zero2[1] = sz_zero2(b);
    };

    if (producer) {
#pragma unroll
        for (int s = 0; s < STAGES; ++s) mbarrier_init(stages.barrier(s), 1);
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s)
            if (s < numChunks) loadWeights(s);  // the weights depend on no earlier kernel
    }
    unsigned scale2[2], zero2[2];
    loadScales(0, scale2, zero2);
    grid_dependency_wait();
    if (producer) {
#pragma unroll
        for (int s = 0; s < STAGES - 1; ++s)
            if (s < numChunks) loadX(s);
    }
    __syncthreads();  // the barriers are initialized before anyone waits on them

    // Chunk `chunk`'s weights, dequantized from its stage into A fragments. (ld.shared with 32-bit addresses: through
    // the aligned generic pointer the compiler emitted generic 64-bit loads.)
    auto dequantize = [&](int chunk, unsigned (&a)[8][4]) {
        const unsigned weights = stages.stage(chunk) + Tile::X_BYTES;
        uint4 pieces[2][4];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int r = h ? rowB : rowA;
#pragma unroll
            for (int p = 0; p < 4; ++p) pieces[h][p] = load_shared16(weights + r * 64 + ((p ^ ((r >> 1) & 3)) << 4));
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
    mbarrier_wait(stages.barrier(0), 0);
    dequantize(0, fragments[0]);
    if (numChunks > 1) loadScales(1, scale2, zero2);

    // One chunk: its 8 wgmmas are issued on `a` while the last chunk's may still run (so the tensor cores always
    // have a chunk queued); once the last chunk's are done, its stage is refilled and `next` (which they read) takes
    // the next chunk's dequantized weights. At most two chunks' wgmmas are in flight, each reading its own fragments.
    auto step = [&](int chunk, unsigned (&a)[8][4], unsigned (&next)[8][4]) {
        const unsigned xAddress = stages.stage(chunk);
        wgmma_fence();
#pragma unroll
        for (int s = 0; s < 8; ++s)
            wgmma_bf16<NTOK>(acc, a[s], wgmma_descriptor(xAddress + (s >> 2) * (NTOK * 128) + (s & 3) * 32));
        wgmma_commit();
        wgmma_wait<1>();
        if (chunk + STAGES - 1 < numChunks) {
            __syncthreads();  // every warp is done with chunk − 1's stage
            if (producer) {
                loadWeights(chunk + STAGES - 1);
                loadX(chunk + STAGES - 1);
            }
        }
        if (chunk + 1 < numChunks) {
            mbarrier_wait(stages.barrier(chunk + 1), stages.parity(chunk + 1));
            dequantize(chunk + 1, next);
            if (chunk + 2 < numChunks) loadScales(chunk + 2, scale2, zero2);
        }
    };
    for (int chunk = 0; chunk < numChunks; chunk += 2) {
        step(chunk, fragments[0], fragments[1]);
        if (chunk + 1 < numChunks) step(chunk + 1, fragments[1], fragments[0]);
    }
    wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < NTOK / 2; ++i) wgmma_keep(acc[i]);

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
                else out[index] = linear_output<Out>(value + add);
            }
    }
#endif
}

// The parameters of linear_int4_wgmma's entry points: linear_int4_gemm's, with x and the packed weight as tensor maps
// (CUDABackend.int4WgmmaMaps: x [M, K] bf16 in boxes of 64 k × NTOK tokens, 128-byte swizzle; packed [N, K/8] u32 in
// boxes of 16 words × 64·W rows, 64-byte swizzle).
#define LINEAR_INT4_WGMMA_PARAMETERS(OUT)                                                                          \
    const __grid_constant__ TensorMap xMap, const __grid_constant__ TensorMap weightMap,                             \
        const unsigned *__restrict__ scaleZeros, const bf16_t *__restrict__ bias,                                     \
        OUT *__restrict__ out, float *__restrict__ partials, int numTokens, int N, int K, int groupSize
#define LINEAR_INT4_WGMMA_ARGUMENTS xMap, weightMap, scaleZeros, bias, out, partials, numTokens, N, K, groupSize

// One warpgroup a CTA, two CTAs an SM; NTOK (the suffix _n) 64, 96 or 128, as CUDABackend.int4WgmmaTile cuts a step.
// The widest tile takes 3 stages so that two CTAs fit in an SM's shared memory. For 129–256 tokens on the widest
// linears (gate_up), two warpgroups × 192 or 256 tokens, one CTA an SM (_w2_n192, _w2_n256): each weight fragment
// dequantized once for the whole step (run5: Llama-3-8B gate_up at 256 tokens 140 → 120 µs, at 192 120 → 100; on the
// narrower linears the grid grows too small and they lose).
static_assert(Int4WgmmaTile<1, 128>::SHARED_BYTES<3> == 111640 && Int4WgmmaTile<1, 64>::SHARED_BYTES<4> == 82976 &&
                  Int4WgmmaTile<2, 256>::SHARED_BYTES<3> == 222232,
              "CUDABackend.int4WgmmaSharedBytes");
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_wgmma_bf16_n64(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<1, 64, 4, bf16_t>(LINEAR_INT4_WGMMA_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_wgmma_bf16_n96(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<1, 96, 3, bf16_t>(LINEAR_INT4_WGMMA_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(128, 2) linear_int4_wgmma_bf16_n128(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<1, 128, 3, bf16_t>(LINEAR_INT4_WGMMA_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256, 1) linear_int4_wgmma_bf16_w2_n192(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<2, 192, 3, bf16_t>(LINEAR_INT4_WGMMA_ARGUMENTS);
}
extern "C" __global__ void __launch_bounds__(256, 1) linear_int4_wgmma_bf16_w2_n256(LINEAR_INT4_WGMMA_PARAMETERS(bf16_t)) {
    linear_int4_wgmma<2, 256, 3, bf16_t>(LINEAR_INT4_WGMMA_ARGUMENTS);
}
