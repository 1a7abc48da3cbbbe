// bench.cuh: what the kernel harnesses beside it share — a checked CUDA runtime / driver call, a host vector copied to a
// new device array and back, and the mean GPU time of a launch sequence timed by two events around `iterations` calls.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>
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

// `host` in a new device array, and `count` elements of a device array back on the host.
template <typename T> T *upload(const std::vector<T> &host) {
    T *p; CHECK(cudaMalloc(&p, host.size() * sizeof(T)));
    CHECK(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
    return p;
}
template <typename T> std::vector<T> download(const T *p, size_t count) {
    std::vector<T> host(count);
    CHECK(cudaMemcpy(host.data(), p, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
}

// A bf16 value (its 16 bits) read on the host, and a float rounded to one (to nearest even), as the kernels round.
static inline float host_bf16_to_float(unsigned short v) {
    const unsigned bits = (unsigned)v << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}
static inline unsigned short host_float_to_bf16(float f) {
    unsigned bits;
    memcpy(&bits, &f, 4);
    return (unsigned short)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

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
