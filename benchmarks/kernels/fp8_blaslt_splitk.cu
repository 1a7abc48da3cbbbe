// fp8_blaslt_splitk.cu: the engine's per-row FP8 GEMM (e4m3 weight [N, K] and x [T, K], outer-vector f32 scales —
// a scale a weight row and a scale a token — fast accumulation, bf16 out; BlasLtMatmul.swift's plan) on Llama-3-8B's
// linears at decode batches of 64–256 tokens (and W2's prefill step of 16,384), where cuBLASLt's FP8 GEMM took about as long as its bf16 one
// (session 21's bench-linear: down 47–49 µs at 64, 128 and 256 tokens). For each shape: the heuristic's first answer
// (the engine's choice), every other configuration the heuristic answers, and the first answer with its K split
// 2–8 ways (where the algorithm takes split-K), each timed with the weight rotated past L2 and its output compared with
// the first answer's; then the same GEMM as a strided batch over K / s columns each into f32 partials, added by a kernel
// (K split by hand); and which configurations cuBLASLt answers for the same GEMM with scalar scales (split-K among
// them), each timed. Built and run on the GPU machine:
//   nvcc -O2 -std=c++17 -o /tmp/splitk benchmarks/kernels/fp8_blaslt_splitk.cu -lcublasLt && /tmp/splitk
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "bench.cuh"

static size_t workspaceBytes = 32 << 20;  // BlasLtMatmul.workspaceBytes

static unsigned config(const cublasLtMatmulAlgo_t &algo, cublasLtMatmulAlgoConfigAttributes_t attribute) {
    unsigned value = 0;
    size_t written = 0;
    cublasLtMatmulAlgoConfigGetAttribute(&algo, attribute, &value, sizeof value, &written);
    return value;
}
static std::string summary(const cublasLtMatmulAlgo_t &algo) {
    char text[160];
    snprintf(text, sizeof text, "algo %u tile %u stages %u split-K %u reduction %u swizzle %u", config(algo, CUBLASLT_ALGO_CONFIG_ID),
             config(algo, CUBLASLT_ALGO_CONFIG_TILE_ID), config(algo, CUBLASLT_ALGO_CONFIG_STAGES_ID),
             config(algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM), config(algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME),
             config(algo, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING));
    return text;
}

// out [T, N] bf16 = Σ_b partials[b] (each [T, N] f32, `stride` apart), four elements a thread at a time.
__global__ void add_partials(const float *partials, int parts, long long stride, __nv_bfloat16 *out) {
    for (long long i = 4 * ((long long)blockIdx.x * blockDim.x + threadIdx.x); i < stride; i += 4LL * gridDim.x * blockDim.x) {
        float4 sum = *(const float4 *)(partials + i);
        for (int b = 1; b < parts; ++b) {
            const float4 v = *(const float4 *)(partials + b * stride + i);
            sum.x += v.x, sum.y += v.y, sum.z += v.z, sum.w += v.w;
        }
        out[i] = __float2bfloat16(sum.x), out[i + 1] = __float2bfloat16(sum.y);
        out[i + 2] = __float2bfloat16(sum.z), out[i + 3] = __float2bfloat16(sum.w);
    }
}

// The engine's FP8 matmul (BlasLtMatmul.swift): out = W · x with W transposed, f32 compute, fast accumulation; a scale
// a weight row and a scale a token as outer vectors, or with null pointers cuBLASLt's default scalar scales.
static cublasLtMatmulDesc_t description(const float *weightScales, const float *tokenScales) {
    cublasLtMatmulDesc_t desc;
    cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    int8_t fast = 1;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof fast);
    if (weightScales) {
        int32_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof mode);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode, sizeof mode);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &weightScales, sizeof weightScales);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &tokenScales, sizeof tokenScales);
    }
    return desc;
}

int main() {
    cublasLtHandle_t handle;
    cublasLtCreate(&handle);
    printf("cuBLASLt %zu\n", cublasLtGetVersion());
    void *workspace;
    cudaMalloc(&workspace, workspaceBytes);
    unsigned state = 12345;
    auto next = [&] { state = state * 1664525u + 1013904223u; return state >> 8; };
    struct Shape { const char *name; int n, k; };
    const Shape shapes[] = {{"qkv", 6144, 4096}, {"o", 4096, 4096}, {"gate_up", 28672, 4096}, {"down", 4096, 14336}};
    for (const Shape &shape : shapes) for (int T : {64, 128, 192, 256, 16384}) {
        const int N = shape.n, K = shape.k;
        const size_t weightBytes = (size_t)N * K;
        const int copies = std::max(1, (int)((256u << 20) / weightBytes));  // ≥ 256 MB of weights in turn: past L2
        std::vector<unsigned char> w(weightBytes), x((size_t)T * K);
        for (auto &c : w) c = (next() % 0x70) | (next() & 0x80);  // |value| < 2^7, never NaN
        for (auto &c : x) c = (next() % 0x70) | (next() & 0x80);
        std::vector<float> ws(N), xs(T);
        for (auto &s : ws) s = (0.5f + (next() % 1024) / 1024.0f) / 4096.0f;
        for (auto &s : xs) s = (0.5f + (next() % 1024) / 1024.0f) / 64.0f;
        std::vector<unsigned char *> dw(copies);
        for (auto &p : dw) { cudaMalloc(&p, weightBytes); cudaMemcpy(p, w.data(), weightBytes, cudaMemcpyHostToDevice); }
        unsigned char *dx; float *dws, *dxs; __nv_bfloat16 *dout, *dref;
        cudaMalloc(&dx, x.size()); cudaMalloc(&dws, N * 4); cudaMalloc(&dxs, T * 4);
        cudaMalloc(&dout, (size_t)T * N * 2); cudaMalloc(&dref, (size_t)T * N * 2);
        cudaMemcpy(dx, x.data(), x.size(), cudaMemcpyHostToDevice);
        cudaMemcpy(dws, ws.data(), N * 4, cudaMemcpyHostToDevice);
        cudaMemcpy(dxs, xs.data(), T * 4, cudaMemcpyHostToDevice);

        cublasLtMatmulDesc_t desc = description(dws, dxs);
        cublasLtMatrixLayout_t la, lb, ld;
        cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, K, N, K);
        cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, K, T, K);
        cublasLtMatrixLayoutCreate(&ld, CUDA_R_16BF, N, T, N);
        cublasLtMatmulPreference_t preference;
        cublasLtMatmulPreferenceCreate(&preference);
        cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspaceBytes, sizeof workspaceBytes);
        uint32_t reductions = CUBLASLT_REDUCTION_SCHEME_INPLACE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;  // the engine's mask
        cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &reductions, sizeof reductions);
        cublasLtMatmulHeuristicResult_t results[32];
        int count = 0;
        cublasLtMatmulAlgoGetHeuristic(handle, desc, la, lb, ld, ld, preference, 32, results, &count);

        float alpha = 1, beta = 0;
        // W (copy i) · x into out by `algo`, with description d (desc unless said otherwise).
        auto run = [&](const cublasLtMatmulAlgo_t &algo, __nv_bfloat16 *out, int i, cublasLtMatmulDesc_t d = nullptr) {
            return cublasLtMatmul(handle, d ? d : desc, &alpha, dw[i % copies], la, dx, lb, &beta, out, ld, out, ld, &algo,
                                  workspace, workspaceBytes, 0);
        };
        // µs a call after 3 warm-up calls (−1 where cuBLASLt refuses to run it), 100 calls.
        auto time = [&](const cublasLtMatmulAlgo_t &algo, cublasLtMatmulDesc_t d = nullptr) -> double {
            for (int i = 0; i < 3; ++i) if (run(algo, dout, i, d) != CUBLAS_STATUS_SUCCESS) return -1;
            return microseconds_per_call(100, [&](int i) { run(algo, dout, i, d); });
        };
        // ‖out − first answer's‖ / ‖first answer's‖.
        std::vector<__nv_bfloat16> reference((size_t)T * N), out((size_t)T * N);
        auto difference = [&]() {
            if (T > 256) return -1.0;  // (a prefill's: timed only)
            cudaMemcpy(out.data(), dout, out.size() * 2, cudaMemcpyDeviceToHost);
            double err = 0, ref = 0;
            for (size_t i = 0; i < out.size(); ++i) {
                const double r = __bfloat162float(reference[i]), d = __bfloat162float(out[i]) - r;
                err += d * d, ref += r * r;
            }
            return std::sqrt(err / std::max(ref, 1e-30));
        };
        if (count == 0) { printf("%s T %d: no algorithm\n", shape.name, T); continue; }
        run(results[0].algo, dref, 0);
        cudaDeviceSynchronize();
        cudaMemcpy(reference.data(), dref, reference.size() * 2, cudaMemcpyDeviceToHost);
        const double first = time(results[0].algo);
        printf("%-7s T %3d N %5d K %5d: first answer %7.2f µs (%s); %d answers\n", shape.name, T, N, K, first,
               summary(results[0].algo).c_str(), count);
        double best = first;
        std::string bestWhat = "the first answer";
        for (int r = 1; r < count; ++r) {
            const double us = time(results[r].algo);
            const double diff = difference();
            if (us > 0 && us < best) best = us, bestWhat = "answer " + std::to_string(r) + " (" + summary(results[r].algo) + ")";
            printf("    answer %2d %7.2f µs  diff %.1e  %s\n", r, us, diff, summary(results[r].algo).c_str());
        }
        int splitSupport = 0;
        size_t written = 0;
        cublasLtMatmulAlgoCapGetAttribute(&results[0].algo, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT, &splitSupport, sizeof splitSupport, &written);
        uint32_t schemes = 0;
        cublasLtMatmulAlgoCapGetAttribute(&results[0].algo, CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK, &schemes, sizeof schemes, &written);
        printf("    first answer's algorithm: split-K support %d, reduction schemes 0x%x\n", splitSupport, schemes);
        for (int split : {2, 3, 4, 6, 8}) for (uint32_t scheme : {(uint32_t)CUBLASLT_REDUCTION_SCHEME_INPLACE,
                                                                  (uint32_t)CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE,
                                                                  (uint32_t)CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE}) {
            cublasLtMatmulAlgo_t algo = results[0].algo;
            cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &split, sizeof split);
            cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme, sizeof scheme);
            cublasLtMatmulHeuristicResult_t check;
            const cublasStatus_t status = cublasLtMatmulAlgoCheck(handle, desc, la, lb, ld, ld, &algo, &check);
            if (status != CUBLAS_STATUS_SUCCESS) {
                printf("    split %d scheme %u: %s\n", split, scheme, cublasLtGetStatusName(status));
                continue;
            }
            if (check.workspaceSize > workspaceBytes) {
                printf("    split %d scheme %u: wants %zu bytes of workspace\n", split, scheme, check.workspaceSize);
                continue;
            }
            const double us = time(algo);
            const double diff = difference();
            if (us > 0 && us < best) best = us, bestWhat = "split " + std::to_string(split) + " scheme " + std::to_string(scheme);
            printf("    split %d scheme %u: %7.2f µs  diff %.1e\n", split, scheme, us, diff);
        }
        // K split by hand: a strided batch of s GEMMs over K / s columns each (the same weight and x, batch stride
        // K / s elements, leading dimension K) into s f32 partials, then a kernel adding them into bf16.
        for (int s : {2, 4, 7}) {
            if (K % (128 * s) != 0 || T > 256) continue;
            const long long part = K / s, outStride = (long long)N * T;
            float *partials, *dwsRep, *dxsRep;
            cudaMalloc(&partials, (size_t)s * N * T * 4);
            cudaMalloc(&dwsRep, (size_t)s * N * 4);
            cudaMalloc(&dxsRep, (size_t)s * T * 4);
            for (int b = 0; b < s; ++b) {  // the scales once per batch too, whichever way cuBLASLt reads them
                cudaMemcpy(dwsRep + (size_t)b * N, ws.data(), N * 4, cudaMemcpyHostToDevice);
                cudaMemcpy(dxsRep + (size_t)b * T, xs.data(), T * 4, cudaMemcpyHostToDevice);
            }
            cublasLtMatmulDesc_t bdesc = description(dwsRep, dxsRep);
            cublasLtMatrixLayout_t ba, bb, bd;
            cublasLtMatrixLayoutCreate(&ba, CUDA_R_8F_E4M3, part, N, K);
            cublasLtMatrixLayoutCreate(&bb, CUDA_R_8F_E4M3, part, T, K);
            cublasLtMatrixLayoutCreate(&bd, CUDA_R_32F, N, T, N);
            for (auto layout : {ba, bb, bd}) {
                int32_t batches = s;
                cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batches, sizeof batches);
            }
            cublasLtMatrixLayoutSetAttribute(ba, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &part, sizeof part);
            cublasLtMatrixLayoutSetAttribute(bb, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &part, sizeof part);
            cublasLtMatrixLayoutSetAttribute(bd, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &outStride, sizeof outStride);
            cublasLtMatmulHeuristicResult_t batched;
            int found = 0;
            const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, bdesc, ba, bb, bd, bd, preference, 1, &batched, &found);
            if (status != CUBLAS_STATUS_SUCCESS || found == 0) {
                printf("    batch of %d K-parts: %s, %d answers\n", s, cublasLtGetStatusName(status), found);
            } else {
                auto gemm = [&](int i) {
                    return cublasLtMatmul(handle, bdesc, &alpha, dw[i % copies], ba, dx, bb, &beta, partials, bd, partials, bd,
                                          &batched.algo, workspace, workspaceBytes, 0);
                };
                auto timed = [&](bool withSum) {
                    return microseconds_per_call(100, [&](int i) {
                        gemm(i);
                        if (withSum) add_partials<<<264, 256>>>(partials, s, outStride, dout);
                    });
                };
                const cublasStatus_t ran = gemm(0);
                add_partials<<<264, 256>>>(partials, s, outStride, dout);
                cudaDeviceSynchronize();
                const double diff = difference();
                const double gemmAlone = timed(false), both = timed(true);
                if (ran == CUBLAS_STATUS_SUCCESS && both < best) best = both, bestWhat = "batch of " + std::to_string(s) + " K-parts + sum";
                printf("    batch of %d K-parts (%s): GEMM %7.2f µs, + the sum %7.2f µs  diff %.1e  %s\n", s,
                       cublasLtGetStatusName(ran), gemmAlone, both, diff, summary(batched.algo).c_str());
            }
            cublasLtMatrixLayoutDestroy(ba); cublasLtMatrixLayoutDestroy(bb); cublasLtMatrixLayoutDestroy(bd);
            cublasLtMatmulDescDestroy(bdesc);
            cudaFree(partials); cudaFree(dwsRep); cudaFree(dxsRep);
        }
        // The same GEMM with scalar scales (cuBLASLt's default; the row and token scales would then be the ops' around
        // it): which configurations, split-K among them, cuBLASLt answers when the scales are not outer vectors.
        {
            cublasLtMatmulDesc_t sdesc = description(nullptr, nullptr);
            cublasLtMatmulHeuristicResult_t scalar[32];
            int found = 0;
            cublasLtMatmulAlgoGetHeuristic(handle, sdesc, la, lb, ld, ld, preference, 32, scalar, &found);
            double scalarBest = 1e30;
            int split = 0;
            std::string scalarWhat = "none";
            for (int r = 0; r < found; ++r) {
                const double us = time(scalar[r].algo, sdesc);
                if (config(scalar[r].algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM) > 1) ++split;
                if (us > 0 && us < scalarBest) scalarBest = us, scalarWhat = "answer " + std::to_string(r) + " (" + summary(scalar[r].algo) + ")";
                if (r == 0) printf("    scalar scales: first answer %7.2f µs (%s)\n", us, summary(scalar[r].algo).c_str());
            }
            printf("  %s T %d scalar scales: %d answers (%d split-K), best %.2f µs, %s\n", shape.name, T, found, split, scalarBest,
                   scalarWhat.c_str());
            cublasLtMatmulDescDestroy(sdesc);
        }
        printf("  %s T %d best: %.2f µs, %s (first answer %.2f)\n", shape.name, T, best, bestWhat.c_str(), first);
        for (auto p : dw) cudaFree(p);
        cudaFree(dx); cudaFree(dws); cudaFree(dxs); cudaFree(dout); cudaFree(dref);
        cublasLtMatmulPreferenceDestroy(preference);
        cublasLtMatrixLayoutDestroy(la); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(ld);
        cublasLtMatmulDescDestroy(desc);
    }
    return 0;
}
