// CCUDA: a hand-declared subset of the CUDA driver API, NVRTC, cuBLASLt and NCCL, filled by dlopen
// at run time, so the package builds and tests on machines without CUDA. Only what swift-vllm calls
// is declared; the values are those of the public CUDA 12/13 headers (ABI-stable).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: Driver API types

typedef int CUresult;                       // CUDA_SUCCESS == 0
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

enum {
    CCUDA_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
    CCUDA_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CCUDA_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CCUDA_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CCUDA_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
    CCUDA_STREAM_NON_BLOCKING = 1,
    CCUDA_EVENT_DEFAULT = 0,
    CCUDA_EVENT_DISABLE_TIMING = 2,
    CCUDA_STREAM_CAPTURE_MODE_RELAXED = 2,
};

/// The driver entry points swift-vllm uses (versioned symbol names where the header maps them).
typedef struct CCUDADriver {
    CUresult (*cuInit)(unsigned int flags);
    CUresult (*cuDriverGetVersion)(int *version);
    CUresult (*cuGetErrorName)(CUresult error, const char **name);
    CUresult (*cuGetErrorString)(CUresult error, const char **text);
    CUresult (*cuDeviceGetCount)(int *count);
    CUresult (*cuDeviceGet)(CUdevice *device, int ordinal);
    CUresult (*cuDeviceGetName)(char *name, int length, CUdevice device);
    CUresult (*cuDeviceGetAttribute)(int *value, int attribute, CUdevice device);
    CUresult (*cuDeviceTotalMem)(size_t *bytes, CUdevice device);                 // _v2
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *context, CUdevice device);
    CUresult (*cuCtxSetCurrent)(CUcontext context);
    CUresult (*cuCtxSynchronize)(void);
    CUresult (*cuDeviceCanAccessPeer)(int *canAccess, CUdevice device, CUdevice peer);
    CUresult (*cuCtxEnablePeerAccess)(CUcontext peer, unsigned int flags);  // on the current context
    CUresult (*cuMemGetInfo)(size_t *free, size_t *total);                        // _v2
    CUresult (*cuMemAlloc)(CUdeviceptr *pointer, size_t bytes);                   // _v2
    CUresult (*cuMemFree)(CUdeviceptr pointer);                                   // _v2
    CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes, CUstream stream);   // _v2
    CUresult (*cuMemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream stream);         // _v2
    CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream);   // _v2
    CUresult (*cuMemsetD8Async)(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream);
    CUresult (*cuStreamCreate)(CUstream *stream, unsigned int flags);
    CUresult (*cuStreamDestroy)(CUstream stream);                                 // _v2
    CUresult (*cuStreamSynchronize)(CUstream stream);
    CUresult (*cuEventCreate)(CUevent *event, unsigned int flags);
    CUresult (*cuEventDestroy)(CUevent event);                                    // _v2
    CUresult (*cuEventRecord)(CUevent event, CUstream stream);
    CUresult (*cuEventSynchronize)(CUevent event);
    CUresult (*cuEventElapsedTime)(float *milliseconds, CUevent start, CUevent end);
    CUresult (*cuMemAllocHost)(void **pointer, size_t bytes);                     // _v2
    CUresult (*cuMemFreeHost)(void *pointer);
    CUresult (*cuModuleLoadData)(CUmodule *module, const void *image);
    CUresult (*cuModuleUnload)(CUmodule module);
    CUresult (*cuModuleGetFunction)(CUfunction *function, CUmodule module, const char *name);
    CUresult (*cuFuncSetAttribute)(CUfunction function, int attribute, int value);
    CUresult (*cuLaunchKernel)(CUfunction function,
                               unsigned int gridX, unsigned int gridY, unsigned int gridZ,
                               unsigned int blockX, unsigned int blockY, unsigned int blockZ,
                               unsigned int sharedMemBytes, CUstream stream,
                               void **kernelParams, void **extra);
    /// cuLaunchKernelEx; its config is built by `ccuda_launch_kernel_dependent`.
    CUresult (*cuLaunchKernelEx)(const void *config, CUfunction function, void **kernelParams, void **extra);
    // CUDA graphs: a stream's work captured once, replayed with one launch.
    CUresult (*cuStreamBeginCapture)(CUstream stream, int mode);                  // _v2
    CUresult (*cuStreamEndCapture)(CUstream stream, CUgraph *graph);
    CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *exec, CUgraph graph, unsigned long long flags);
    CUresult (*cuGraphLaunch)(CUgraphExec exec, CUstream stream);
    CUresult (*cuGraphExecDestroy)(CUgraphExec exec);
    CUresult (*cuGraphDestroy)(CUgraph graph);
    /// cuTensorMapEncodeTiled (CUDA 12.0+): a CUtensorMap (128 bytes, 64-aligned) for the tensor memory accelerator.
    /// Optional: NULL where the driver lacks it (linear_int4_wgmma, its only user, is then not taken).
    CUresult (*cuTensorMapEncodeTiled)(void *tensorMap, int dataType, unsigned int rank, void *globalAddress,
                                       const unsigned long long *globalDim, const unsigned long long *globalStrides,
                                       const unsigned int *boxDim, const unsigned int *elementStrides, int interleave,
                                       int swizzle, int l2Promotion, int oobFill);
} CCUDADriver;

// cuda.h's CUtensorMap enumerations, as far as swift-vllm uses them.
#define CCUDA_TENSOR_MAP_DATA_TYPE_UINT8 0
#define CCUDA_TENSOR_MAP_DATA_TYPE_UINT32 2
#define CCUDA_TENSOR_MAP_DATA_TYPE_BFLOAT16 9
#define CCUDA_TENSOR_MAP_INTERLEAVE_NONE 0
#define CCUDA_TENSOR_MAP_SWIZZLE_64B 2
#define CCUDA_TENSOR_MAP_SWIZZLE_128B 3
#define CCUDA_TENSOR_MAP_L2_PROMOTION_L2_256B 3
#define CCUDA_TENSOR_MAP_FLOAT_OOB_FILL_NONE 0

/// Launches `function` with programmatic dependent launch allowed (sm_90: CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_
/// STREAM_SERIALIZATION): it may start while the kernel before it on `stream` finishes, and waits for that
/// kernel's results at its `griddepcontrol.wait` (common.cuh's grid_dependency_wait, first in every kernel).
CUresult ccuda_launch_kernel_dependent(const CCUDADriver *api, CUfunction function,
                                       unsigned int gridX, unsigned int gridY, unsigned int gridZ,
                                       unsigned int blockX, unsigned int blockY, unsigned int blockZ,
                                       unsigned int sharedMemBytes, CUstream stream, void **kernelParams);

// MARK: NVRTC

typedef int nvrtcResult;                     // NVRTC_SUCCESS == 0
typedef struct _nvrtcProgram *nvrtcProgram;

typedef struct CCUDANVRTC {
    const char *(*nvrtcGetErrorString)(nvrtcResult result);
    nvrtcResult (*nvrtcVersion)(int *major, int *minor);
    nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *program, const char *source, const char *name,
                                      int numHeaders, const char *const *headers,
                                      const char *const *includeNames);
    nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *program);
    nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram program, int numOptions, const char *const *options);
    nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram program, size_t *size);
    nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram program, char *log);
    nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram program, size_t *size);
    nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram program, char *cubin);
} CCUDANVRTC;

// MARK: cuBLASLt

typedef int cublasStatus_t;                  // CUBLAS_STATUS_SUCCESS == 0
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulDescOpaque_t;
typedef cublasLtMatmulDescOpaque_t *cublasLtMatmulDesc_t;
typedef struct { uint64_t data[8]; } cublasLtMatrixLayoutOpaque_t;
typedef cublasLtMatrixLayoutOpaque_t *cublasLtMatrixLayout_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulPreferenceOpaque_t;
typedef cublasLtMatmulPreferenceOpaque_t *cublasLtMatmulPreference_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

enum {
    CCUDA_R_32F = 0,
    CCUDA_R_16F = 2,
    CCUDA_R_16BF = 14,
    CCUDA_R_8F_E4M3 = 28,
    CCUBLAS_COMPUTE_32F = 68,
    CCUBLAS_OP_N = 0,
    CCUBLAS_OP_T = 1,
    CCUBLASLT_MATMUL_DESC_TRANSA = 3,
    CCUBLASLT_MATMUL_DESC_TRANSB = 4,
    CCUBLASLT_MATMUL_DESC_EPILOGUE = 7,
    CCUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
    CCUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26,
    CCUBLASLT_MATMUL_DESC_A_SCALE_POINTER = 17,
    CCUBLASLT_MATMUL_DESC_B_SCALE_POINTER = 18,
    CCUBLASLT_MATMUL_DESC_FAST_ACCUM = 25,
    CCUBLASLT_MATMUL_DESC_A_SCALE_MODE = 31,
    CCUBLASLT_MATMUL_DESC_B_SCALE_MODE = 32,
    CCUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F = 3,
    CCUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F = 4,
    CCUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F = 5,
    CCUBLASLT_EPILOGUE_DEFAULT = 1,
    CCUBLASLT_EPILOGUE_BIAS = 4,
    CCUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8,
    CCUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK = 3,
    CCUBLASLT_REDUCTION_SCHEME_NONE = 0,
    CCUBLASLT_REDUCTION_SCHEME_INPLACE = 1,
    CCUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE = 2,
    CCUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE = 4,
    CCUBLASLT_ALGO_CONFIG_ID = 0,
    CCUBLASLT_ALGO_CONFIG_TILE_ID = 1,
    CCUBLASLT_ALGO_CONFIG_SPLITK_NUM = 2,
    CCUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME = 3,
};

typedef struct CCUDABlasLt {
    cublasStatus_t (*cublasLtCreate)(cublasLtHandle_t *handle);
    cublasStatus_t (*cublasLtDestroy)(cublasLtHandle_t handle);
    const char *(*cublasLtGetStatusName)(cublasStatus_t status);
    cublasStatus_t (*cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *desc, int computeType, int scaleType);
    cublasStatus_t (*cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t desc);
    cublasStatus_t (*cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t desc, int attribute,
                                                     const void *buffer, size_t bytes);
    cublasStatus_t (*cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *layout, int type,
                                                 uint64_t rows, uint64_t cols, int64_t ld);
    cublasStatus_t (*cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t layout);
    cublasStatus_t (*cublasLtMatmulPreferenceCreate)(cublasLtMatmulPreference_t *preference);
    cublasStatus_t (*cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t preference);
    cublasStatus_t (*cublasLtMatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t preference,
                                                           int attribute, const void *buffer, size_t bytes);
    cublasStatus_t (*cublasLtMatmulAlgoGetHeuristic)(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                                     cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                     cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                                     cublasLtMatmulPreference_t preference,
                                                     int requestedAlgoCount,
                                                     cublasLtMatmulHeuristicResult_t *results,
                                                     int *returnedAlgoCount);
    cublasStatus_t (*cublasLtMatmul)(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha,
                                     const void *a, cublasLtMatrixLayout_t aLayout,
                                     const void *b, cublasLtMatrixLayout_t bLayout, const void *beta,
                                     const void *c, cublasLtMatrixLayout_t cLayout,
                                     void *d, cublasLtMatrixLayout_t dLayout,
                                     const cublasLtMatmulAlgo_t *algo, void *workspace,
                                     size_t workspaceBytes, CUstream stream);
    size_t (*cublasLtGetVersion)(void);
    cublasStatus_t (*cublasLtMatmulAlgoConfigGetAttribute)(const cublasLtMatmulAlgo_t *algo, int attribute,
                                                           void *buffer, size_t bytes, size_t *written);
} CCUDABlasLt;

// MARK: NCCL (tensor parallelism: NCCLCommunicator)

typedef struct ncclComm *ncclComm_t;
typedef int ncclResult_t;                    // ncclSuccess == 0, ncclInProgress == 7
typedef struct { char internal[128]; } ncclUniqueId;
typedef int ncclDataType_t;                  // ncclInt32 2, ncclFloat16 6, ncclFloat32 7, ncclBfloat16 9
typedef int ncclRedOp_t;                     // ncclSum 0

typedef struct {
    ncclResult_t (*ncclGetVersion)(int *version);
    const char *(*ncclGetErrorString)(ncclResult_t result);
    const char *(*ncclGetLastError)(ncclComm_t comm);
    ncclResult_t (*ncclGetUniqueId)(ncclUniqueId *uniqueId);
    ncclResult_t (*ncclCommInitRank)(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank);
    ncclResult_t (*ncclCommDestroy)(ncclComm_t comm);
    ncclResult_t (*ncclCommAbort)(ncclComm_t comm);
    ncclResult_t (*ncclGroupStart)(void);
    ncclResult_t (*ncclGroupEnd)(void);
    ncclResult_t (*ncclAllReduce)(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype,
                                  ncclRedOp_t op, ncclComm_t comm, CUstream stream);
    ncclResult_t (*ncclAllGather)(const void *sendbuff, void *recvbuff, size_t sendcount, ncclDataType_t datatype,
                                  ncclComm_t comm, CUstream stream);
    ncclResult_t (*ncclBroadcast)(const void *sendbuff, void *recvbuff, size_t count, ncclDataType_t datatype, int root,
                                  ncclComm_t comm, CUstream stream);
} CCUDANCCL;

// MARK: Loader

/// dlopen(path, RTLD_NOW | RTLD_LOCAL, or RTLD_GLOBAL when `global`); NULL and `ccuda_dlerror()` on failure.
void *ccuda_dlopen(const char *path, int global);
/// The last dlerror() text, or "" (never NULL).
const char *ccuda_dlerror(void);
/// Fills `api` from `library`; returns NULL when all symbols were found, else the first missing name.
const char *ccuda_load_driver(void *library, CCUDADriver *api);
const char *ccuda_load_nvrtc(void *library, CCUDANVRTC *api);
const char *ccuda_load_blaslt(void *library, CCUDABlasLt *api);
const char *ccuda_load_nccl(void *library, CCUDANCCL *api);

#ifdef __cplusplus
}
#endif
