// bench.cuh: what the kernel harnesses beside it share — a checked CUDA runtime / driver call, and the mean GPU time of
// a launch sequence timed by two events around `iterations` calls.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cuda.h>
#include <cuda_runtime.h>

#define CHECK(call)                                                                                   \
    do {                                                                                              \
        cudaError_t e = (call);                                                                       \
        if (e != cudaSuccess) {                                                                       \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e));      \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)

#define CU_CHECK(call)                                                                                \
    do {                                                                                              \
        CUresult r = (call);                                                                          \
        if (r != CUDA_SUCCESS) {                                                                      \
            fprintf(stderr, "%s:%d %s: CUresult %d\n", __FILE__, __LINE__, #call, (int)r);             \
            exit(1);                                                                                  \
        }                                                                                             \
    } while (0)

// µs a call: `run(i)` for i = 0 ..< iterations, back to back on the default stream, between two events.
template <typename Run> double microseconds_per_call(int iterations, Run run) {
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    CHECK(cudaEventRecord(start));
    for (int i = 0; i < iterations; ++i) run(i);
    CHECK(cudaEventRecord(stop));
    CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK(cudaEventElapsedTime(&ms, start, stop));
    CHECK(cudaEventDestroy(start));
    CHECK(cudaEventDestroy(stop));
    return ms * 1000.0 / iterations;
}
