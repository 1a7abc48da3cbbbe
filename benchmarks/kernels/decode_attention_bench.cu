// decode_attention_bench.cu: decode_attention_mma.cu's bf16 kernel outside the engine, at the batch sizes and contexts
// of W1–W3's decode steps (Llama-3-8B's 32 query heads over 8 KV heads, d128, 16-token blocks in shuffled order), with
// the engine's split rule (CUDABackend.decodeAttentionPassesPerSplit) and with forced split counts, against the bytes of
// K/V it must read. Checked against a double-precision reference on sampled sequences. Sources/VLLMCUDA/Kernels
// included unchanged; built here (nvcc needs no GPU) and carried:
//
//   nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/decode_attention benchmarks/kernels/decode_attention_bench.cu
//   /tmp/decode_attention [iterations]   # per shape and split count: µs a launch (32 layers' caches in turn) and TB/s
//
// Another commit's kernel: -I <a folder holding that commit's decode_attention_mma.cu and the headers it includes>.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>
#include <cuda_runtime.h>
#include "decode_attention_mma.cu"
#include "bench.cuh"

constexpr int D = 128, HEADS = 32, KV_HEADS = 8, BLOCK = 16, PASS = 64;

// CUDABackend.decodeAttentionPassesPerSplit (64 splits and 64 passes a split at most).
static int rulePassesPerSplit(int ctas, int multiprocessors, int passes) {
    int perSplit = passes;
    if (ctas < multiprocessors) {
        const int wanted = std::min(std::min(passes, 64), std::max(1, 2 * multiprocessors / ctas));
        perSplit = (passes + wanted - 1) / wanted;
    }
    const int fewest = (passes + 63) / 64;
    return std::max(fewest, std::min(perSplit, 64));
}

static void run(int seqs, int context, int iterations, int multiprocessors, std::mt19937 &rng) {
    const int blocksPerSeq = (context + BLOCK - 1) / BLOCK, numBlocks = seqs * blocksPerSeq;
    const size_t slotElements = (size_t)KV_HEADS * D, cacheElements = (size_t)numBlocks * BLOCK * slotElements;
    const double kvBytes = 2.0 * seqs * context * KV_HEADS * D * 2;
    // As many layers' caches as keep the launches' reads out of L2 (≥ 256 MB in all), 32 at most.
    const int layers = std::min(32, std::max(1, (int)std::ceil(256e6 / kvBytes)));
    unsigned long long state = rng() | 1;  // xorshift64*: uniform in [−1, 1), fast enough for 10⁸ values
    auto uniform = [&state] {
        state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
        return (float)((state * 2685821657736338717ull) >> 40) / (float)(1 << 23) - 1.0f;
    };
    std::vector<bf16_t> query((size_t)seqs * HEADS * D), key(cacheElements), value(cacheElements);
    for (auto &v : query) v = host_float_to_bf16(uniform());
    for (auto &v : key) v = host_float_to_bf16(uniform());
    for (auto &v : value) v = host_float_to_bf16(uniform());
    std::vector<int> order(numBlocks), table((size_t)seqs * blocksPerSeq), starts(seqs + 1), lens(seqs, context);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i = 0; i < table.size(); ++i) table[i] = order[i];
    for (int s = 0; s <= seqs; ++s) starts[s] = s;

    bf16_t *dQuery = upload(query), *dOut;
    std::vector<bf16_t *> dKey(layers), dValue(layers);
    int *dTable = upload(table), *dStarts = upload(starts), *dLens = upload(lens), *dCounters;
    float *dAcc, *dMax, *dSum;
    CHECK(cudaMalloc(&dOut, query.size() * 2));
    for (int l = 0; l < layers; ++l) dKey[l] = upload(key), dValue[l] = upload(value);
    CHECK(cudaMalloc(&dCounters, (size_t)seqs * KV_HEADS * 4));
    CHECK(cudaMemset(dCounters, 0, (size_t)seqs * KV_HEADS * 4));
    CHECK(cudaMalloc(&dAcc, (size_t)seqs * HEADS * 64 * D * 4));
    CHECK(cudaMalloc(&dMax, (size_t)seqs * HEADS * 64 * 4));
    CHECK(cudaMalloc(&dSum, (size_t)seqs * HEADS * 64 * 4));

    const int shared = (16 + DECODE_WARPS * 2 * 2 * 16) * (D + 8) * 2;  // CUDABackend.decodeAttentionMMASharedBytes
    CHECK(cudaFuncSetAttribute(decode_attention_mma_bf16_d128, cudaFuncAttributeMaxDynamicSharedMemorySize, shared));
    const float scale = 1.0f / std::sqrt((float)D);
    const int passes = (context + PASS - 1) / PASS;
    const int rule = rulePassesPerSplit(seqs * KV_HEADS, multiprocessors, passes);
    const int candidates[] = {rule, passes, (passes + 1) / 2, (passes + 2) / 3, (passes + 3) / 4};
    std::vector<int> tried;
    for (int perSplit : candidates) {
        if (std::find(tried.begin(), tried.end(), perSplit) != tried.end()) continue;
        tried.push_back(perSplit);
        const int splits = (passes + perSplit - 1) / perSplit;
        const int partition = splits == 1 ? 1 << 30 : perSplit * PASS;
        auto launch = [&](int i) {
            const int l = i % layers;
            decode_attention_mma_bf16_d128<<<dim3(splits, KV_HEADS, seqs), 32 * DECODE_WARPS, shared>>>(
                dQuery, dKey[l], dValue[l], dStarts, dLens, dTable, dOut, dAcc, dMax, dSum, dCounters, HEADS, KV_HEADS,
                BLOCK, blocksPerSeq, partition, scale, 1.0f, 1.0f);
        };
        launch(0);
        CHECK(cudaGetLastError());
        CHECK(cudaDeviceSynchronize());
        // The reference on a few sequences, every head (layer 0's cache).
        const std::vector<bf16_t> out = download(dOut, query.size());
        double worst = 0;
        for (int s : {0, seqs / 2, seqs - 1}) {
            for (int h = 0; h < HEADS; ++h) {
                const int kv = h / (HEADS / KV_HEADS);
                std::vector<double> scores(context), o(D, 0.0);
                double m = -INFINITY, z = 0;
                for (int k = 0; k < context; ++k) {
                    const size_t slot = (size_t)table[(size_t)s * blocksPerSeq + k / BLOCK] * BLOCK + k % BLOCK;
                    double dot = 0;
                    for (int d = 0; d < D; ++d)
                        dot += (double)host_bf16_to_float(query[((size_t)s * HEADS + h) * D + d]) *
                               host_bf16_to_float(key[slot * slotElements + kv * D + d]);
                    scores[k] = dot * scale;
                    m = std::max(m, scores[k]);
                }
                for (int k = 0; k < context; ++k) {
                    const size_t slot = (size_t)table[(size_t)s * blocksPerSeq + k / BLOCK] * BLOCK + k % BLOCK;
                    const double p = std::exp(scores[k] - m);
                    z += p;
                    for (int d = 0; d < D; ++d) o[d] += p * host_bf16_to_float(value[slot * slotElements + kv * D + d]);
                }
                for (int d = 0; d < D; ++d)
                    worst = std::max(worst, std::fabs(o[d] / z - host_bf16_to_float(out[((size_t)s * HEADS + h) * D + d])));
            }
        }
        for (int i = 0; i < 3; ++i) launch(i);
        const double us = microseconds_per_call(iterations, launch);
        printf("batch %4d × %4d keys  %2d split%s (%3d keys each)%s  %8.2f µs  %5.2f TB/s  max |err| %.2e  (%d layers)\n", seqs,
               context, splits, splits == 1 ? " " : "s", std::min(context, perSplit * PASS), perSplit == rule ? " rule" : "     ",
               us, kvBytes / us / 1e6, worst, layers);
        CHECK(cudaGetLastError());
    }
    for (int l = 0; l < layers; ++l) {
        CHECK(cudaFree(dKey[l]));
        CHECK(cudaFree(dValue[l]));
    }
    for (void *p : {(void *)dQuery, (void *)dOut, (void *)dTable, (void *)dStarts, (void *)dLens, (void *)dCounters,
                    (void *)dAcc, (void *)dMax, (void *)dSum})
        CHECK(cudaFree(p));
}

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 64;
    int multiprocessors = 0;
    CHECK(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, 0));
    std::mt19937 rng(7);
    const int shapes[][2] = {{256, 576}, {256, 640}, {192, 576}, {128, 576}, {64, 576}, {32, 576}, {8, 576}, {1, 576}, {1, 4096}};
    for (auto &shape : shapes) run(shape[0], shape[1], iterations, multiprocessors, rng);
    return 0;
}
