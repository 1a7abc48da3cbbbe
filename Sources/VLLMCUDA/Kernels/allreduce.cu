// allreduce.cu: the small all-reduces of tensor parallelism (a decode step's hidden states after o_proj and
// down_proj) over peer memory, in one kernel: the GPUs of one process read each other's memory directly over
// NVLink (peer access), so a rank needs no NCCL round trip for a message of a few hundred kilobytes.
//
// allreduce_oneshot_bf16   data [count] bf16, summed in place over `world` ranks (count a multiple of 8).
// allreduce_oneshot_f32    the same for f32 (count a multiple of 4).
//   table [2·MAX_RANKS + 2] u64 on this rank's GPU: staging[r] (rank r's staging buffer: two halves of
//   `capacity` 16-byte vectors, alternating by epoch parity), flags[r] (rank r's flag words, [MAX_BLOCKS,
//   MAX_RANKS] u32), then this rank's counters ([MAX_BLOCKS] u32) and `capacity`.
//   grid (B ≤ MAX_BLOCKS), block 512; every rank launches the same grid for the same message.
//
// Block b of every rank: (1) takes the next epoch from its own counter b; (2) copies its slice of the data into
// its staging half `epoch & 1`; (3) tells every rank that its slice is there (a release store of the epoch into
// flag [b][me] of each rank's flags) and waits until every rank told it the same (acquire loads); (4) sums the
// slice over the ranks' staging halves in rank order — the same order on every rank, so every rank ends with
// the same bits — and writes it back. Two halves make one barrier enough: a block overwrites a half only two
// epochs later, after a barrier its peers reach once they are done reading it. A peer that never arrives (a
// rank gone) traps after 10 s, an error rather than a hang.
#include "common.cuh"

#define MAX_RANKS 8
#define MAX_BLOCKS 64

__device__ __forceinline__ void store_release_system(unsigned int *address, unsigned int value) {
    asm volatile("st.release.sys.global.u32 [%0], %1;" ::"l"(address), "r"(value) : "memory");
}

__device__ __forceinline__ unsigned int load_acquire_system(const unsigned int *address) {
    unsigned int value;
    asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(value) : "l"(address) : "memory");
    return value;
}

__device__ __forceinline__ unsigned long long global_nanoseconds() {
    unsigned long long now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    return now;
}

// Steps (1)–(3): returns the half of every rank's staging buffer this epoch uses, once all ranks filled theirs.
__device__ __forceinline__ long long exchange(const uint4 *data, long long vectors, const unsigned long long *table,
                                              int rank, int world) {
    __shared__ unsigned int epoch;
    unsigned int *counters = (unsigned int *)table[2 * MAX_RANKS];
    const long long capacity = (long long)table[2 * MAX_RANKS + 1];
    if (threadIdx.x == 0) epoch = ++counters[blockIdx.x];
    __syncthreads();
    const long long half = (long long)(epoch & 1u) * capacity;
    uint4 *mine = (uint4 *)table[rank] + half;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < vectors; i += (long long)gridDim.x * blockDim.x) {
        mine[i] = data[i];
    }
    __threadfence_system();
    __syncthreads();
    if (threadIdx.x < world) {
        unsigned int *theirs = (unsigned int *)table[MAX_RANKS + threadIdx.x];
        store_release_system(theirs + blockIdx.x * MAX_RANKS + rank, epoch);
        const unsigned int *from = (const unsigned int *)table[MAX_RANKS + rank] + blockIdx.x * MAX_RANKS + threadIdx.x;
        const unsigned long long start = global_nanoseconds();
        while ((int)(load_acquire_system(from) - epoch) < 0) {
            if (global_nanoseconds() - start > 10000000000ull) __trap();
        }
    }
    __syncthreads();
    return half;
}

extern "C" __global__ void __launch_bounds__(512) allreduce_oneshot_bf16(uint4 *data, long long vectors,
                                                                         const unsigned long long *table, int rank,
                                                                         int world) {
    grid_dependency_wait();
    const long long half = exchange(data, vectors, table, rank, world);
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < vectors; i += (long long)gridDim.x * blockDim.x) {
        float sum[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int r = 0; r < world; ++r) {
            float values[8];
            unpack8(__ldcv((const uint4 *)table[r] + half + i), values);
#pragma unroll
            for (int j = 0; j < 8; ++j) sum[j] += values[j];
        }
        uint4 out;
        out.x = (unsigned int)f32_to_bf16(sum[0]) | ((unsigned int)f32_to_bf16(sum[1]) << 16);
        out.y = (unsigned int)f32_to_bf16(sum[2]) | ((unsigned int)f32_to_bf16(sum[3]) << 16);
        out.z = (unsigned int)f32_to_bf16(sum[4]) | ((unsigned int)f32_to_bf16(sum[5]) << 16);
        out.w = (unsigned int)f32_to_bf16(sum[6]) | ((unsigned int)f32_to_bf16(sum[7]) << 16);
        data[i] = out;
    }
}

extern "C" __global__ void __launch_bounds__(512) allreduce_oneshot_f32(uint4 *data, long long vectors,
                                                                        const unsigned long long *table, int rank,
                                                                        int world) {
    grid_dependency_wait();
    const long long half = exchange(data, vectors, table, rank, world);
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < vectors; i += (long long)gridDim.x * blockDim.x) {
        float4 sum = make_float4(0, 0, 0, 0);
        for (int r = 0; r < world; ++r) {
            const uint4 raw = __ldcv((const uint4 *)table[r] + half + i);
            sum.x += __uint_as_float(raw.x);
            sum.y += __uint_as_float(raw.y);
            sum.z += __uint_as_float(raw.z);
            sum.w += __uint_as_float(raw.w);
        }
        data[i] = make_uint4(__float_as_uint(sum.x), __float_as_uint(sum.y), __float_as_uint(sum.z), __float_as_uint(sum.w));
    }
}
