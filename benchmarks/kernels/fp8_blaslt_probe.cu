// fp8_blaslt_probe.cu: which cuBLASLt FP8 configurations the heuristic answers on this GPU (outer-vector scales,
// fast accumulation, scale pointers set or not before the query). Built and run on the GPU machine:
//   nvcc -O2 -o /tmp/probe benchmarks/kernels/fp8_blaslt_probe.cu -lcublasLt && /tmp/probe
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cstdio>

int main() {
    cublasLtHandle_t handle;
    cublasLtCreate(&handle);
    printf("cuBLASLt %zu\n", cublasLtGetVersion());
    void *scales = nullptr, *workspace = nullptr;
    cudaMalloc(&scales, 1 << 20);
    cudaMalloc(&workspace, 32 << 20);
    const int T = 16, N = 1024, K = 4096;
    for (int mode : {0, 3}) for (int fast : {0, 1}) for (int pointers : {0, 1}) {
        cublasLtMatmulDesc_t desc;
        cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
        cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
        int32_t m = mode;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &m, sizeof m);
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &m, sizeof m);
        int8_t f = fast;
        cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &f, sizeof f);
        if (pointers) {
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &scales, sizeof scales);
            cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &scales, sizeof scales);
        }
        cublasLtMatrixLayout_t a, b, d;
        cublasLtMatrixLayoutCreate(&a, CUDA_R_8F_E4M3, K, N, K);
        cublasLtMatrixLayoutCreate(&b, CUDA_R_8F_E4M3, K, T, K);
        cublasLtMatrixLayoutCreate(&d, CUDA_R_16BF, N, T, N);
        cublasLtMatmulPreference_t preference;
        cublasLtMatmulPreferenceCreate(&preference);
        size_t limit = 32 << 20;
        cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &limit, sizeof limit);
        cublasLtMatmulHeuristicResult_t result;
        int count = 0;
        cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, d, d, preference, 1, &result, &count);
        printf("scale mode %d fast %d pointers %d: %s, %d algorithms\n", mode, fast, pointers, cublasLtGetStatusName(status), count);
    }
    return 0;
}
