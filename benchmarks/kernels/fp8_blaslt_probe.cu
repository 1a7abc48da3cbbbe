// fp8_blaslt_probe.cu: which cuBLASLt FP8 configurations the heuristic answers on this GPU, and in which layout
// cuBLASLt reads block scales. Outer-vector scales (the engine's per-token × per-row FP8 GEMM) with and without fast
// accumulation; then block scales — the weight (A) BLK128x128_32F, x (B) VEC128_32F — at several token counts, with and
// without a bias, each answered configuration run on random codes and scales and compared with a double-precision
// reference under two readings of the scale layouts:
//   rows-major: weight scales [⌈N / 128⌉][K / 128], x scales [K / 128][T] (tokens contiguous)
//   k-major:    weight scales [K / 128][⌈N / 128⌉], x scales [T][K / 128]
// (the right one is ~2e-3 off, the wrong one 0.3–1). Built and run on the GPU machine:
//   nvcc -O2 -o /tmp/probe benchmarks/kernels/fp8_blaslt_probe.cu -lcublasLt && /tmp/probe
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

static float e4m3_value(unsigned char code) {
    const int sign = code >> 7, exponent = (code >> 3) & 15, mantissa = code & 7;
    const float magnitude = exponent == 0 ? std::ldexp((float)mantissa, -9) : std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
    return sign ? -magnitude : magnitude;
}

static cublasLtMatmulDesc_t description(int aMode, int bMode, int fast, bool bias, void *scales) {
    cublasLtMatmulDesc_t desc;
    cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    int32_t a = aMode, b = bMode;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &a, sizeof a);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &b, sizeof b);
    int8_t f = fast;
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &f, sizeof f);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scales, sizeof scales);
    cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scales, sizeof scales);
    if (bias) {
        cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
        cudaDataType_t type = CUDA_R_16BF;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &type, sizeof type);
    }
    return desc;
}

int main() {
    cublasLtHandle_t handle;
    cublasLtCreate(&handle);
    printf("cuBLASLt %zu\n", cublasLtGetVersion());
    void *workspace = nullptr;
    cudaMalloc(&workspace, 32 << 20);
    size_t limit = 32 << 20;
    cublasLtMatmulPreference_t preference;
    cublasLtMatmulPreferenceCreate(&preference);
    cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &limit, sizeof limit);
    unsigned state = 12345;
    auto next = [&] { state = state * 1664525u + 1013904223u; return state >> 8; };
    const int N = 384, K = 1024, KB = K / 128, NB = (N + 127) / 128;
    for (int T : {16, 17, 20, 64, 1143, 1144}) for (int bias : {0, 1}) for (int swap : {0, 1}) {
        const int aMode = swap ? CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F : CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
        const int bMode = swap ? CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F : CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        std::vector<unsigned char> w(N * K), x(T * K);
        for (auto &c : w) c = (next() % 0x70) | (next() & 0x80);  // |value| < 2^7, never NaN
        for (auto &c : x) c = (next() % 0x70) | (next() & 0x80);
        std::vector<float> ws(NB * KB), xs(T * KB);
        for (auto &s : ws) s = 0.5f + (next() % 1024) / 1024.0f;
        for (auto &s : xs) s = 0.5f + (next() % 1024) / 1024.0f;
        std::vector<__nv_bfloat16> b(N);
        for (auto &v : b) v = __float2bfloat16((int)(next() % 64) - 32);
        unsigned char *dw, *dx; float *dws, *dxs; __nv_bfloat16 *dout, *dbias;
        cudaMalloc(&dw, N * K); cudaMalloc(&dx, T * K); cudaMalloc(&dws, ws.size() * 4); cudaMalloc(&dxs, xs.size() * 4);
        cudaMalloc(&dout, T * N * 2); cudaMalloc(&dbias, N * 2);
        cudaMemcpy(dw, w.data(), N * K, cudaMemcpyHostToDevice); cudaMemcpy(dx, x.data(), T * K, cudaMemcpyHostToDevice);
        cudaMemcpy(dws, ws.data(), ws.size() * 4, cudaMemcpyHostToDevice); cudaMemcpy(dxs, xs.data(), xs.size() * 4, cudaMemcpyHostToDevice);
        cudaMemcpy(dbias, b.data(), N * 2, cudaMemcpyHostToDevice);
        cublasLtMatmulDesc_t desc = description(aMode, bMode, 0, bias, workspace);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &dws, sizeof dws);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &dxs, sizeof dxs);
        if (bias) cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &dbias, sizeof dbias);
        cublasLtMatrixLayout_t la, lb, ld;
        cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, K, N, K);
        cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, K, T, K);
        cublasLtMatrixLayoutCreate(&ld, CUDA_R_16BF, N, T, N);
        cublasLtMatmulHeuristicResult_t result;
        int count = 0;
        cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, desc, la, lb, ld, ld, preference, 1, &result, &count);
        printf("blocks T %5d bias %d A/B modes %d/%d: %s, %d algorithms", T, bias, aMode, bMode, cublasLtGetStatusName(status), count);
        if (status == CUBLAS_STATUS_SUCCESS && count > 0) {
            float alpha = 1, beta = 0;
            status = cublasLtMatmul(handle, desc, &alpha, dw, la, dx, lb, &beta, dout, ld, dout, ld, &result.algo, workspace, limit, 0);
            cudaDeviceSynchronize();
            std::vector<__nv_bfloat16> out(T * N);
            cudaMemcpy(out.data(), dout, T * N * 2, cudaMemcpyDeviceToHost);
            for (int layout = 0; layout < 2; ++layout) {
                double err = 0, ref2 = 0;
                for (int t = 0; t < T; ++t)
                    for (int n = 0; n < N; ++n) {
                        double sum = 0;
                        for (int k = 0; k < K; ++k) {
                            const int kb = k / 128, nb = n / 128;
                            const double sw = layout == 0 ? ws[nb * KB + kb] : ws[kb * NB + nb];
                            const double sx = layout == 0 ? xs[kb * T + t] : xs[t * KB + kb];
                            sum += (double)e4m3_value(x[t * K + k]) * sx * (double)e4m3_value(w[n * K + k]) * sw;
                        }
                        if (bias) sum += __bfloat162float(b[n]);
                        const double diff = __bfloat162float(out[t * N + n]) - sum;
                        err += diff * diff, ref2 += sum * sum;
                    }
                printf("; %s %.2e", layout == 0 ? "rows-major" : "k-major", std::sqrt(err / ref2));
            }
            printf(" (run: %s)", cublasLtGetStatusName(status));
        }
        printf("\n");
        cudaFree(dw); cudaFree(dx); cudaFree(dws); cudaFree(dxs); cudaFree(dout); cudaFree(dbias);
        cublasLtMatmulDescDestroy(desc);
    }
    return 0;
}
