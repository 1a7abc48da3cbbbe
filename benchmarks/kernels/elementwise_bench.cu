// elementwise_bench.cu: times the ops between a prefill's linears — the RMSNorms (layernorm.cu) and the SiLU·mul
// (elementwise.cu), plain and quantizing for an FP8 linear — at prefill row counts, outside the engine, against a plain
// streaming kernel and a device-to-device copy (the ceiling), beside two variants tried in session 22 and not kept
// (docs/benchmarks.md): the norm a warp a row, and the quantizing SiLU·mul in other CTA shapes and writing its codes
// alone. Sources/VLLMCUDA/Kernels included unchanged; built here (nvcc needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/elementwise benchmarks/kernels/elementwise_bench.cu
//   /tmp/elementwise [iterations]   # per op, shape and variant: µs a call, GB/s moved, elements differing from the first
//
// GB/s counts each byte read or written once (x, residual, out, codes; the weight not).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>
#include <cuda_runtime.h>
#include "layernorm.cu"
#include "elementwise.cu"
#include "bench.cuh"

// Eight floats → eight bf16 packed in 16 bytes.
__device__ __forceinline__ uint4 pack8(const float *values) {
    uint4 raw;
    raw.x = (unsigned int)f32_to_bf16(values[0]) | ((unsigned int)f32_to_bf16(values[1]) << 16);
    raw.y = (unsigned int)f32_to_bf16(values[2]) | ((unsigned int)f32_to_bf16(values[3]) << 16);
    raw.z = (unsigned int)f32_to_bf16(values[4]) | ((unsigned int)f32_to_bf16(values[5]) << 16);
    raw.w = (unsigned int)f32_to_bf16(values[6]) | ((unsigned int)f32_to_bf16(values[7]) << 16);
    return raw;
}

// The same for many rows (a prefill's), in bf16: a warp a row and no block barrier. Each lane holds CHUNKS chunks of 8
// (elements 8·(lane + 32c) …), its row's loads of x (and the residual) all issued before any arithmetic; the sum of
// squares and the amax are warp sums. `out` may be null where only the codes are wanted (the FP8 linear after it
// reads nothing else).
template <int CHUNKS>
__device__ void rms_norm_rows(const bf16_t *x, bf16_t *__restrict__ residual, const bf16_t *__restrict__ weight,
                              bf16_t *out, int rows, int dim, float epsilon, unsigned char *__restrict__ codes = nullptr,
                              float *__restrict__ codeScales = nullptr) {
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    grid_dependency_wait();
    if (row >= rows) return;
    const long long rowStart = row * dim;
    uint4 v[CHUNKS], r[CHUNKS];
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (lane + 32 * c);
        if (start >= dim) continue;
        v[c] = *(const uint4 *)(x + rowStart + start);
        if (residual != nullptr) r[c] = *(const uint4 *)(residual + rowStart + start);
    }
    float squares = 0.0f;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (lane + 32 * c);
        if (start >= dim) continue;
        float values[8];
        unpack8(v[c], values);
        if (residual != nullptr) {
            float previous[8];
            unpack8(r[c], previous);
#pragma unroll
            for (int i = 0; i < 8; ++i) values[i] = round_bf16(values[i] + previous[i]);
            v[c] = pack8(values);
            *(uint4 *)(residual + rowStart + start) = v[c];
        }
#pragma unroll
        for (int i = 0; i < 8; ++i) squares += values[i] * values[i];
    }
    const float inverse = rsqrtf(warp_sum(squares) / (float)dim + epsilon);
    float amax = 0.0f;  // of out as stored
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (lane + 32 * c);
        if (start >= dim) continue;
        float values[8], scale[8];
        unpack8(v[c], values);
        load8(weight + start, scale);
#pragma unroll
        for (int i = 0; i < 8; ++i) values[i] = scale[i] * round_bf16(values[i] * inverse);
        v[c] = pack8(values);
        if (out != nullptr) *(uint4 *)(out + rowStart + start) = v[c];
        if (codes != nullptr) {
            unpack8(v[c], values);
#pragma unroll
            for (int i = 0; i < 8; ++i) amax = fmaxf(amax, fabsf(values[i]));
        }
    }
    if (codes == nullptr) return;
    const float codeScale = fp8_activation_scale(warp_max(amax));
    if (lane == 0) codeScales[row] = codeScale;
    const float codeInverse = 1.0f / codeScale;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (lane + 32 * c);
        if (start >= dim) continue;
        float values[8];
        unpack8(v[c], values);
        *(uint2 *)(codes + rowStart + start) = e4m3x8(values, codeInverse);
    }
}

// A row a CTA: each thread's CHUNKS chunks of 8 (elements 8·(threadIdx.x + c·blockDim.x) …) loaded first, then the
// arithmetic, the row's amax, the codes. `out` may be null where only the codes are wanted (the FP8 linear after it
// reads nothing else).
template <int CHUNKS>
__device__ void silu_and_mul_quant_fp8(const bf16_t *__restrict__ x, bf16_t *__restrict__ out, unsigned char *__restrict__ codes,
                                       float *__restrict__ codeScales, int inner) {
    __shared__ float scratch[32];
    grid_dependency_wait();
    const long long token = blockIdx.x;
    const bf16_t *gate = x + token * 2 * inner;
    // Every chunk's loads first (eight 16-byte loads a thread in flight), then the arithmetic, two CTAs an SM: a row a
    // CTA leaves few CTAs to hide a load (run2, chunk by chunk, 8 a thread of 512: a W2 prefill's 16384 × 14336 took
    // ~1.0 ms against ~0.44 for silu_and_mul_vec).
    uint4 g[CHUNKS], u[CHUNKS];
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start < inner) {
            g[c] = *(const uint4 *)(gate + start);
            u[c] = *(const uint4 *)(gate + inner + start);
        }
    }
    float amax = 0.0f;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start >= inner) continue;
        float gv[8], uv[8];
        unpack8(g[c], gv);
        unpack8(u[c], uv);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            gv[i] = round_bf16(round_bf16(gv[i] / (1.0f + expf(-gv[i]))) * uv[i]);  // out as stored
            amax = fmaxf(amax, fabsf(gv[i]));
        }
        g[c] = pack8(gv);
        if (out != nullptr) *(uint4 *)(out + token * inner + start) = g[c];
    }
    const float scale = fp8_activation_scale(block_max(amax, scratch));
    if (threadIdx.x == 0) codeScales[token] = scale;
    const float inverse = 1.0f / scale;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) {
        const int start = 8 * (threadIdx.x + c * blockDim.x);
        if (start >= inner) continue;
        float result[8];
        unpack8(g[c], result);
        *(uint2 *)(codes + token * inner + start) = e4m3x8(result, inverse);
    }
}

// The ceiling: each thread reads `reads` 16-byte pieces (a piece of each input) and writes one, grid-stride.
__global__ void stream(const uint4 *a, const uint4 *b, uint4 *out, long long pieces) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < pieces; i += (long long)gridDim.x * blockDim.x) {
        const uint4 p = a[i], q = b ? b[i] : make_uint4(0, 0, 0, 0);
        out[i] = make_uint4(p.x ^ q.x, p.y ^ q.y, p.z ^ q.z, p.w ^ q.w);
    }
}

template <int CHUNKS>
__global__ void __launch_bounds__(128) norm_rows(const bf16_t *x, bf16_t *residual, const bf16_t *weight, bf16_t *out, int rows,
                                                 int dim, float epsilon, unsigned char *codes, float *scales) {
    rms_norm_rows<CHUNKS>(x, residual, weight, out, rows, dim, epsilon, codes, scales);
}
template <int CHUNKS>
__global__ void __launch_bounds__(256) norm_rows8(const bf16_t *x, bf16_t *residual, const bf16_t *weight, bf16_t *out, int rows,
                                                  int dim, float epsilon, unsigned char *codes, float *scales) {
    rms_norm_rows<CHUNKS>(x, residual, weight, out, rows, dim, epsilon, codes, scales);
}
template <int CHUNKS, int THREADS, int PER_SM>
__global__ void __launch_bounds__(THREADS, PER_SM) silu_quant(const bf16_t *x, bf16_t *out, unsigned char *codes, float *scales,
                                                              int inner) {
    silu_and_mul_quant_fp8<CHUNKS>(x, out, codes, scales, inner);
}

static unsigned state = 12345;
static unsigned next() { state = state * 1664525u + 1013904223u; return state >> 8; }
template <typename T> T *device(size_t count) { T *p; CHECK(cudaMalloc(&p, count * sizeof(T))); return p; }
static bf16_t *randomBF16(size_t count, float spread) {
    std::vector<bf16_t> host(count);
    for (auto &v : host) {
        const float f = ((int)(next() & 0xFFFF) - 32768) / 32768.0f * spread;
        unsigned bits; memcpy(&bits, &f, 4); v = (bf16_t)(bits >> 16);
    }
    bf16_t *p = device<bf16_t>(count);
    CHECK(cudaMemcpy(p, host.data(), count * 2, cudaMemcpyHostToDevice));
    return p;
}
template <typename T> static long long differing(const T *a, const T *b, size_t count) {
    std::vector<T> ha(count), hb(count);
    CHECK(cudaMemcpy(ha.data(), a, count * sizeof(T), cudaMemcpyDeviceToHost));
    CHECK(cudaMemcpy(hb.data(), b, count * sizeof(T), cudaMemcpyDeviceToHost));
    long long n = 0;
    for (size_t i = 0; i < count; ++i) n += memcmp(&ha[i], &hb[i], sizeof(T)) != 0;
    return n;
}

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 50;
    int sms = 0;
    CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    auto report = [&](const char *op, int rows, int dim, const char *name, double us, double bytes, long long diff) {
        printf("%-10s %6d x %5d  %-34s %9.2f us  %7.0f GB/s  differing %lld\n", op, rows, dim, name, us, bytes / us / 1e3, diff);
    };
    {  // the ceiling
        const long long pieces = 16384LL * 14336 * 2 / 16;
        uint4 *a = device<uint4>(pieces), *b = device<uint4>(pieces), *o = device<uint4>(pieces);
        CHECK(cudaMemset(a, 1, pieces * 16)); CHECK(cudaMemset(b, 2, pieces * 16));
        for (int grid : {sms * 4, sms * 8, sms * 16})
            for (bool two : {false, true}) {
                double us = microseconds_per_call(iterations, [&](int) { stream<<<grid, 512>>>(a, two ? b : nullptr, o, pieces); });
                printf("stream     %s, grid %d x 512: %.2f us, %.0f GB/s\n", two ? "2 in 1 out" : "1 in 1 out", grid, us,
                       (two ? 3 : 2) * pieces * 16.0 / us / 1e3);
            }
        double us = microseconds_per_call(iterations, [&](int) { CHECK(cudaMemcpyAsync(o, a, pieces * 16, cudaMemcpyDeviceToDevice)); });
        printf("memcpy     d2d %.0f MB: %.2f us, %.0f GB/s (read + write)\n", pieces * 16 / 1e6, us, 2 * pieces * 16.0 / us / 1e3);
        CHECK(cudaFree(a)); CHECK(cudaFree(b)); CHECK(cudaFree(o));
    }
    for (int dim : {4096, 5120}) {
        const int maxRows = 16384;
        bf16_t *x = randomBF16((size_t)maxRows * dim, 2.0f), *residual0 = randomBF16((size_t)maxRows * dim, 4.0f);
        bf16_t *weight = randomBF16(dim, 1.0f), *residual = device<bf16_t>((size_t)maxRows * dim);
        bf16_t *out[2] = {device<bf16_t>((size_t)maxRows * dim), device<bf16_t>((size_t)maxRows * dim)};
        bf16_t *res[2] = {device<bf16_t>((size_t)maxRows * dim), device<bf16_t>((size_t)maxRows * dim)};
        unsigned char *codes[2] = {device<unsigned char>((size_t)maxRows * dim), device<unsigned char>((size_t)maxRows * dim)};
        float *scales[2] = {device<float>(maxRows), device<float>(maxRows)};
        const int threads = std::min(1024, std::max(32, (dim / 16 + 31) / 32 * 32));
        for (int rows : {16384, 4096, 1024, 256, 64}) {
            const size_t n = (size_t)rows * dim;
            const double plainBytes = 4.0 * n * 2, quantBytes = plainBytes + n + 4.0 * rows, codesOnlyBytes = 3.0 * n * 2 + n;
            struct V { const char *name; bool quant, outWritten; std::function<void(bf16_t *, bf16_t *, unsigned char *, float *)> run; };
            auto rowsLaunch = [&](auto kernel, int warps) {
                return [=](bf16_t *r, bf16_t *o, unsigned char *c, float *s) {
                    kernel<<<(rows + warps - 1) / warps, 32 * warps>>>(x, r, weight, o, rows, dim, 1e-5f, c, s);
                };
            };
            auto rows4 = dim == 4096 ? rowsLaunch(norm_rows<16>, 4) : rowsLaunch(norm_rows<20>, 4);
            auto rows8 = dim == 4096 ? rowsLaunch(norm_rows8<16>, 8) : rowsLaunch(norm_rows8<20>, 8);
            std::vector<V> variants = {
                {"add_rms_norm_vec (now)", false, true, [&](bf16_t *r, bf16_t *o, unsigned char *, float *) {
                     add_rms_norm_vec_bf16<<<rows, threads>>>(x, r, weight, o, dim, 1e-5f); }},
                {"rows, 4 warps", false, true, [&](bf16_t *r, bf16_t *o, unsigned char *, float *) { rows4(r, o, nullptr, nullptr); }},
                {"rows, 8 warps", false, true, [&](bf16_t *r, bf16_t *o, unsigned char *, float *) { rows8(r, o, nullptr, nullptr); }},
                {"add_rms_norm_vec_quant (now)", true, true, [&](bf16_t *r, bf16_t *o, unsigned char *c, float *s) {
                     add_rms_norm_vec_quant_fp8_bf16<<<rows, threads>>>(x, r, weight, o, dim, 1e-5f, c, s); }},
                {"rows quant, 4 warps", true, true, [&](bf16_t *r, bf16_t *o, unsigned char *c, float *s) { rows4(r, o, c, s); }},
                {"rows quant, 8 warps", true, true, [&](bf16_t *r, bf16_t *o, unsigned char *c, float *s) { rows8(r, o, c, s); }},
                {"rows codes only, 4 warps", true, false, [&](bf16_t *r, bf16_t *, unsigned char *c, float *s) { rows4(r, nullptr, c, s); }},
                {"rows codes only, 8 warps", true, false, [&](bf16_t *r, bf16_t *, unsigned char *c, float *s) { rows8(r, nullptr, c, s); }},
            };
            bool firstPlain = true, firstQuant = true;
            for (auto &v : variants) {
                const int slot = (v.quant ? !firstQuant : !firstPlain) ? 1 : 0;
                CHECK(cudaMemcpy(res[slot], residual0, n * 2, cudaMemcpyDeviceToDevice));
                v.run(res[slot], out[slot], codes[slot], scales[slot]);
                CHECK(cudaGetLastError());
                CHECK(cudaDeviceSynchronize());
                long long diff = 0;
                if (slot == 1) {
                    diff = differing(res[0], res[1], n);
                    if (v.outWritten) diff += differing(out[0], out[1], n);
                    if (v.quant) diff += differing(codes[0], codes[1], n) + differing(scales[0], scales[1], rows);
                }
                (v.quant ? firstQuant : firstPlain) = false;
                CHECK(cudaMemcpy(residual, residual0, n * 2, cudaMemcpyDeviceToDevice));
                const double us = microseconds_per_call(iterations, [&](int) { v.run(residual, out[1], codes[1], scales[1]); });
                report("addRMSNorm", rows, dim, v.name, us, v.quant ? (v.outWritten ? quantBytes : codesOnlyBytes) : plainBytes, diff);
            }
        }
        for (void *p : {(void *)x, (void *)residual0, (void *)weight, (void *)residual, (void *)out[0], (void *)out[1],
                        (void *)res[0], (void *)res[1], (void *)codes[0], (void *)codes[1], (void *)scales[0], (void *)scales[1]})
            CHECK(cudaFree(p));
    }
    for (int inner : {14336, 13824}) {
        const int maxRows = 16384;
        bf16_t *x = randomBF16((size_t)maxRows * 2 * inner, 4.0f);
        bf16_t *out[2] = {device<bf16_t>((size_t)maxRows * inner), device<bf16_t>((size_t)maxRows * inner)};
        unsigned char *codes[2] = {device<unsigned char>((size_t)maxRows * inner), device<unsigned char>((size_t)maxRows * inner)};
        float *scales[2] = {device<float>(maxRows), device<float>(maxRows)};
        for (int rows : {16384, 4096, 1024, 256, 64}) {
            const size_t n = (size_t)rows * inner;
            struct V { const char *name; bool quant, outWritten; std::function<void(bf16_t *, unsigned char *, float *)> run; };
            std::vector<V> variants = {
                {"silu_and_mul_vec (now)", false, true, [&](bf16_t *o, unsigned char *, float *) {
                     silu_and_mul_vec_bf16<<<dim3(rows, (inner + 2047) / 2048), 256>>>(x, o, inner); }},
                {"silu_and_mul_quant (now) 512 x 4", true, true, [&](bf16_t *o, unsigned char *c, float *s) {
                     silu_and_mul_quant_fp8_bf16<<<rows, 512>>>(x, o, c, s, inner); }},
                {"codes only 512 x 4", true, false, [&](bf16_t *, unsigned char *c, float *s) {
                     silu_quant<4, 512, 2><<<rows, 512>>>(x, nullptr, c, s, inner); }},
                {"256 x 8, 2 an SM", true, true, [&](bf16_t *o, unsigned char *c, float *s) {
                     silu_quant<8, 256, 2><<<rows, 256>>>(x, o, c, s, inner); }},
                {"codes only 256 x 8, 2 an SM", true, false, [&](bf16_t *, unsigned char *c, float *s) {
                     silu_quant<8, 256, 2><<<rows, 256>>>(x, nullptr, c, s, inner); }},
                {"1024 x 2", true, true, [&](bf16_t *o, unsigned char *c, float *s) {
                     silu_quant<2, 1024, 2><<<rows, 1024>>>(x, o, c, s, inner); }},
                {"codes only 1024 x 2", true, false, [&](bf16_t *, unsigned char *c, float *s) {
                     silu_quant<2, 1024, 2><<<rows, 1024>>>(x, nullptr, c, s, inner); }},
            };
            for (size_t i = 0; i < variants.size(); ++i) {
                auto &v = variants[i];
                const int slot = i <= 1 ? 0 : 1;
                v.run(out[slot], codes[slot], scales[slot]);
                CHECK(cudaGetLastError());
                CHECK(cudaDeviceSynchronize());
                long long diff = 0;
                if (i == 1) diff = differing(out[0], out[1], 0);
                if (i >= 2) {
                    if (v.outWritten) diff += differing(out[0], out[1], n);
                    diff += differing(codes[0], codes[1], n) + differing(scales[0], scales[1], rows);
                }
                const double us = microseconds_per_call(iterations, [&](int) { v.run(out[1], codes[1], scales[1]); });
                const double bytes = 4.0 * n + (v.outWritten ? 2.0 * n : 0) + (v.quant ? n + 4.0 * rows : 0);
                report("siluAndMul", rows, inner, v.name, us, bytes, diff);
            }
        }
        for (void *p : {(void *)x, (void *)out[0], (void *)out[1], (void *)codes[0], (void *)codes[1], (void *)scales[0],
                        (void *)scales[1]})
            CHECK(cudaFree(p));
    }
    return 0;
}
