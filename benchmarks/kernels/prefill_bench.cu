// prefill_bench.cu: a prefill step's attention and q/k/v split outside the engine — prefill_attention.cu's mma.sync
// kernel and its wgmma one (S = Q·Kᵀ on the warpgroup MMA), each checked against a double-precision reference on
// sampled rows and against each other, and rotary.cu's split_qkv_rows — at the shapes W2 and long prompts give them.
// (P·V on the warpgroup MMA too, V transposed in shared memory, was slower: docs/gpu-runs/2026-12-02g/run2/source.patch.)
// Sources/VLLMCUDA/Kernels included unchanged; built here (nvcc needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/prefill benchmarks/kernels/prefill_bench.cu
//   /tmp/prefill [iterations] [once | split]   # once: the first shape, one launch a kernel (for ncu); split: the split alone
//
// A split kernel of another commit: -DSPLIT_ONLY -I <that commit's Kernels> (its attention kernels may differ), and
// -DSPLIT_THREADS=256 where it took 256 threads a CTA (before session 23: a token a CTA, its units in turn).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>
#include <cuda_runtime.h>
#ifndef SPLIT_ONLY
#include "prefill_attention.cu"
#endif
#include "rotary.cu"
#include "bench.cuh"

static std::vector<bf16_t> randomHost(size_t count, float spread, std::mt19937 &rng) {
    std::uniform_real_distribution<float> u(-spread, spread);
    std::vector<bf16_t> host(count);
    for (auto &v : host) v = host_float_to_bf16(u(rng));
    return host;
}

#ifndef SPLIT_THREADS
#define SPLIT_THREADS 448  // CUDABackend.splitQKV: a unit of 8 dims a thread, (32 + 8) · 8 pairs + 8 · 16 value pieces
#endif

#ifndef SPLIT_ONLY

struct AttentionShape { const char *name; int seqs, len, heads, kvHeads; };

static void attention(const AttentionShape &shape, int iterations, bool once, std::mt19937 &rng) {
    constexpr int D = 128, blockSize = 16;
    const int T = shape.seqs * shape.len, width = shape.heads * D, kvWidth = shape.kvHeads * D;
    const int blocksPerSeq = (shape.len + blockSize - 1) / blockSize, numBlocks = shape.seqs * blocksPerSeq + 7;
    std::vector<int> blockOrder(numBlocks);
    std::iota(blockOrder.begin(), blockOrder.end(), 0);
    std::shuffle(blockOrder.begin(), blockOrder.end(), rng);
    std::vector<int> table((size_t)shape.seqs * blocksPerSeq), starts(shape.seqs + 1), lens(shape.seqs, shape.len);
    for (size_t i = 0; i < table.size(); ++i) table[i] = blockOrder[i];
    for (int s = 0; s <= shape.seqs; ++s) starts[s] = s * shape.len;
    const auto q = randomHost((size_t)T * width, 1.5f, rng);
    const auto k = randomHost((size_t)numBlocks * blockSize * kvWidth, 1.5f, rng);
    const auto v = randomHost((size_t)numBlocks * blockSize * kvWidth, 1.0f, rng);
    bf16_t *dq = upload(q), *dk = upload(k), *dv = upload(v);
    int *dTable = upload(table), *dStarts = upload(starts), *dLens = upload(lens);
    constexpr int KERNELS = 2;
    bf16_t *out[KERNELS];
    for (auto &o : out) { CHECK(cudaMalloc(&o, (size_t)T * width * 2)); CHECK(cudaMemset(o, 0xFF, (size_t)T * width * 2)); }
    const float scale = 1.0f / sqrtf((float)D);
    const int tokensPerTile = PREFILL_ROWS / (shape.heads / shape.kvHeads);
    const dim3 grid(T / tokensPerTile + shape.seqs, shape.kvHeads);
    const int wgShared = (int)sizeof(bf16_t) * PrefillShape<D, 64, true>::SHARED;
    const int shared[KERNELS] = {(int)sizeof(bf16_t) * PrefillShape<D, 64>::SHARED, wgShared};
    decltype(&prefill_attention_bf16_d128) kernels[KERNELS] = {prefill_attention_bf16_d128, prefill_attention_wgmma_bf16_d128};
    const char *names[KERNELS] = {"mma.sync", "wgmma S"};
    double flops = 0;  // causal: each query attends to its position + 1 keys; Q·Kᵀ and P·V, 2 flops a multiply-add
    for (int t = 0; t < shape.len; ++t) flops += 4.0 * D * (t + 1);
    flops *= (double)shape.seqs * shape.heads;
    for (int i = 0; i < KERNELS; ++i) {
        CHECK(cudaFuncSetAttribute(kernels[i], cudaFuncAttributeMaxDynamicSharedMemorySize, shared[i]));
        auto launch = [&](int) {
            kernels[i]<<<grid, PREFILL_THREADS, shared[i]>>>(dq, dk, dv, dStarts, dLens, dTable, out[i], shape.seqs, shape.heads,
                                                             shape.kvHeads, blockSize, blocksPerSeq, scale, 1.0f, 1.0f);
        };
        launch(0);
        CHECK(cudaGetLastError());
        CHECK(cudaDeviceSynchronize());
        if (once) continue;
        const double us = microseconds_per_call(iterations, launch);
        printf("%-26s %-13s %9.1f us  %6.1f TFLOP/s (causal)\n", shape.name, names[i], us, flops / us / 1e6);
    }
    if (once) return;
    // The reference: 48 sampled (token, head) rows in double; each kernel's error against it, and the two against each other.
    std::vector<std::vector<bf16_t>> o;
    for (auto *p : out) o.push_back(download(p, (size_t)T * width));
    double maxDiff[KERNELS] = {0, 0};  // from the mma.sync kernel's output
    for (int i = 1; i < KERNELS; ++i)
        for (size_t j = 0; j < o[0].size(); ++j)
            maxDiff[i] = std::max(maxDiff[i], (double)fabsf(host_bf16_to_float(o[0][j]) - host_bf16_to_float(o[i][j])));
    double err[KERNELS] = {0, 0}, norm = 0, maxErr[KERNELS] = {0, 0};
    std::uniform_int_distribution<int> pickToken(0, T - 1), pickHead(0, shape.heads - 1);
    for (int sample = 0; sample < 48; ++sample) {
        const int token = sample == 0 ? T - 1 : pickToken(rng), head = pickHead(rng);
        const int seq = token / shape.len, position = token % shape.len, kvHead = head / (shape.heads / shape.kvHeads);
        std::vector<double> p(position + 1), ref(D, 0.0);
        double maxScore = -1e300, sum = 0;
        for (int j = 0; j <= position; ++j) {
            const size_t slot = (size_t)table[(size_t)seq * blocksPerSeq + j / blockSize] * blockSize + j % blockSize;
            double dot = 0;
            for (int d = 0; d < D; ++d)
                dot += (double)host_bf16_to_float(q[(size_t)token * width + head * D + d]) * host_bf16_to_float(k[slot * kvWidth + kvHead * D + d]);
            p[j] = dot * scale;
            maxScore = std::max(maxScore, p[j]);
        }
        for (int j = 0; j <= position; ++j) sum += (p[j] = exp(p[j] - maxScore));
        for (int j = 0; j <= position; ++j) {
            const size_t slot = (size_t)table[(size_t)seq * blocksPerSeq + j / blockSize] * blockSize + j % blockSize;
            for (int d = 0; d < D; ++d) ref[d] += p[j] / sum * host_bf16_to_float(v[slot * kvWidth + kvHead * D + d]);
        }
        for (int d = 0; d < D; ++d) {
            const size_t at = (size_t)token * width + head * D + d;
            norm += ref[d] * ref[d];
            for (int i = 0; i < KERNELS; ++i) {
                const double e = host_bf16_to_float(o[i][at]) - ref[d];
                err[i] += e * e;
                maxErr[i] = std::max(maxErr[i], fabs(e));
            }
        }
    }
    for (int i = 0; i < KERNELS; ++i)
        printf("%-26s %-13s error against double on 48 rows %.2e (max %.2e); from mma.sync's output at most %.2e\n",
               shape.name, names[i], sqrt(err[i] / norm), maxErr[i], maxDiff[i]);
    for (void *ptr : {(void *)dq, (void *)dk, (void *)dv, (void *)dTable, (void *)dStarts, (void *)dLens}) CHECK(cudaFree(ptr));
    for (auto *p : out) CHECK(cudaFree(p));
}
#endif

// split_qkv_rows at a prefill's token counts (Llama-3-8B: 32 + 8 + 8 heads of 128, rotated whole), keys and values into
// a cache of as many slots; bytes: the qkv row read, q, k and v written.
static void split(int iterations) {
    std::mt19937 rng(23);  // its own: a -DSPLIT_ONLY build draws the same inputs
    constexpr int heads = 32, kvHeads = 8, D = 128, maxPositions = 8192;
    for (int T : {16384, 4096, 257}) {  // 257: an odd count, the last CTA's second token absent
        const auto qkv = randomHost((size_t)T * (heads + 2 * kvHeads) * D, 2.0f, rng);
        std::vector<int> positions(T), slots(T);
        for (int t = 0; t < T; ++t) { positions[t] = t % 512; slots[t] = t; }
        std::vector<float> cosSin((size_t)maxPositions * D);
        for (int p = 0; p < maxPositions; ++p)
            for (int i = 0; i < D / 2; ++i) {
                const double angle = p * pow(500000.0, -2.0 * i / D);
                cosSin[(size_t)p * D + i] = (float)cos(angle);
                cosSin[(size_t)p * D + D / 2 + i] = (float)sin(angle);
            }
        bf16_t *dqkv = upload(qkv), *query, *key, *value;
        CHECK(cudaMalloc(&query, (size_t)T * heads * D * 2));
        CHECK(cudaMalloc(&key, (size_t)T * kvHeads * D * 2));
        CHECK(cudaMalloc(&value, (size_t)T * kvHeads * D * 2));
        int *dPositions = upload(positions), *dSlots = upload(slots);
        float *dCosSin = upload(cosSin);
        const double us = microseconds_per_call(iterations, [&](int) {
            split_qkv_rows_bf16<<<T, SPLIT_THREADS>>>(dqkv, dPositions, query, key, value, dSlots, T, dCosSin, heads, kvHeads, D, D,
                                                      maxPositions);
        });
        CHECK(cudaGetLastError());
        // A checksum of the outputs, equal between two builds (or kernels) that agree bit for bit.
        auto checksum = [&] {
            const auto hq = download(query, (size_t)T * heads * D), hk = download(key, (size_t)T * kvHeads * D),
                       hv = download(value, (size_t)T * kvHeads * D);
            unsigned long long sum = 0;
            for (const auto *h : {&hq, &hk, &hv})
                for (size_t i = 0; i < h->size(); ++i) sum = sum * 1000003ull + (*h)[i];
            return sum;
        };
        const double bytes = (double)T * (heads + 2 * kvHeads) * D * 2 * 2;
        printf("split_qkv_rows_bf16 %6d tokens  %8.2f us  %6.0f GB/s  checksum %016llx\n", T, us, bytes / us / 1e3, checksum());
        for (void *ptr : {(void *)dqkv, (void *)query, (void *)key, (void *)value, (void *)dPositions, (void *)dSlots, (void *)dCosSin})
            CHECK(cudaFree(ptr));
    }
}

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 20;
    const bool once = argc > 2 && strcmp(argv[2], "once") == 0, splitOnly = argc > 2 && strcmp(argv[2], "split") == 0;
    std::mt19937 rng(2026);
#ifndef SPLIT_ONLY
    const AttentionShape shapes[] = {{"llama3-8b 32 x 512", 32, 512, 32, 8},
                                     {"qwen2.5-14b 32 x 512", 32, 512, 40, 8},
                                     {"llama3-8b 4 x 2048", 4, 2048, 32, 8},
                                     {"llama3-8b 1 x 8192", 1, 8192, 32, 8}};
    for (const auto &shape : shapes) {
        if (splitOnly) break;
        attention(shape, iterations, once, rng);
        if (once) return 0;
    }
#endif
    if (!once) split(iterations);
    return 0;
}
