// CCUDA loader: resolves the entry points declared in CCUDA.h from libraries opened at run time.
#include "CCUDA.h"
#include <dlfcn.h>

void *ccuda_dlopen(const char *path, int global) {
    return dlopen(path, RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL));
}

const char *ccuda_dlerror(void) {
    const char *text = dlerror();
    return text ? text : "";
}

// Each LOAD names the symbol to resolve and the field it fills; the first missing one is returned.
#define LOAD(field, symbol)                                             \
    do {                                                                \
        void *address = dlsym(library, symbol);                         \
        if (!address) return symbol;                                    \
        *(void **)(&api->field) = address;                              \
    } while (0)

const char *ccuda_load_driver(void *library, CCUDADriver *api) {
    LOAD(cuInit, "cuInit");
    LOAD(cuDriverGetVersion, "cuDriverGetVersion");
    LOAD(cuGetErrorName, "cuGetErrorName");
    LOAD(cuGetErrorString, "cuGetErrorString");
    LOAD(cuDeviceGetCount, "cuDeviceGetCount");
    LOAD(cuDeviceGet, "cuDeviceGet");
    LOAD(cuDeviceGetName, "cuDeviceGetName");
    LOAD(cuDeviceGetAttribute, "cuDeviceGetAttribute");
    LOAD(cuDeviceTotalMem, "cuDeviceTotalMem_v2");
    LOAD(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    LOAD(cuCtxSetCurrent, "cuCtxSetCurrent");
    LOAD(cuCtxSynchronize, "cuCtxSynchronize");
    LOAD(cuDeviceCanAccessPeer, "cuDeviceCanAccessPeer");
    LOAD(cuCtxEnablePeerAccess, "cuCtxEnablePeerAccess");
    LOAD(cuMemGetInfo, "cuMemGetInfo_v2");
    LOAD(cuMemAlloc, "cuMemAlloc_v2");
    LOAD(cuMemFree, "cuMemFree_v2");
    LOAD(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    LOAD(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    LOAD(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    LOAD(cuMemsetD8Async, "cuMemsetD8Async");
    LOAD(cuStreamCreate, "cuStreamCreate");
    LOAD(cuStreamDestroy, "cuStreamDestroy_v2");
    LOAD(cuStreamSynchronize, "cuStreamSynchronize");
    LOAD(cuEventCreate, "cuEventCreate");
    LOAD(cuEventDestroy, "cuEventDestroy_v2");
    LOAD(cuEventRecord, "cuEventRecord");
    LOAD(cuEventSynchronize, "cuEventSynchronize");
    LOAD(cuEventElapsedTime, "cuEventElapsedTime");
    LOAD(cuMemAllocHost, "cuMemAllocHost_v2");
    LOAD(cuMemFreeHost, "cuMemFreeHost");
    LOAD(cuModuleLoadData, "cuModuleLoadData");
    LOAD(cuModuleUnload, "cuModuleUnload");
    LOAD(cuModuleGetFunction, "cuModuleGetFunction");
    LOAD(cuFuncSetAttribute, "cuFuncSetAttribute");
    LOAD(cuLaunchKernel, "cuLaunchKernel");
    LOAD(cuLaunchKernelEx, "cuLaunchKernelEx");
    LOAD(cuStreamBeginCapture, "cuStreamBeginCapture_v2");
    LOAD(cuStreamEndCapture, "cuStreamEndCapture");
    LOAD(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
    LOAD(cuGraphLaunch, "cuGraphLaunch");
    LOAD(cuGraphExecDestroy, "cuGraphExecDestroy");
    LOAD(cuGraphDestroy, "cuGraphDestroy");
    *(void **)(&api->cuTensorMapEncodeTiled) = dlsym(library, "cuTensorMapEncodeTiled");  // optional
    return NULL;
}

const char *ccuda_load_nvrtc(void *library, CCUDANVRTC *api) {
    LOAD(nvrtcGetErrorString, "nvrtcGetErrorString");
    LOAD(nvrtcVersion, "nvrtcVersion");
    LOAD(nvrtcCreateProgram, "nvrtcCreateProgram");
    LOAD(nvrtcDestroyProgram, "nvrtcDestroyProgram");
    LOAD(nvrtcCompileProgram, "nvrtcCompileProgram");
    LOAD(nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
    LOAD(nvrtcGetProgramLog, "nvrtcGetProgramLog");
    LOAD(nvrtcGetCUBINSize, "nvrtcGetCUBINSize");
    LOAD(nvrtcGetCUBIN, "nvrtcGetCUBIN");
    return NULL;
}

const char *ccuda_load_blaslt(void *library, CCUDABlasLt *api) {
    LOAD(cublasLtCreate, "cublasLtCreate");
    LOAD(cublasLtDestroy, "cublasLtDestroy");
    LOAD(cublasLtGetStatusName, "cublasLtGetStatusName");
    LOAD(cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate");
    LOAD(cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy");
    LOAD(cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute");
    LOAD(cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate");
    LOAD(cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy");
    LOAD(cublasLtMatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate");
    LOAD(cublasLtMatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy");
    LOAD(cublasLtMatmulPreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute");
    LOAD(cublasLtMatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic");
    LOAD(cublasLtMatmul, "cublasLtMatmul");
    LOAD(cublasLtGetVersion, "cublasLtGetVersion");
    LOAD(cublasLtMatmulAlgoConfigGetAttribute, "cublasLtMatmulAlgoConfigGetAttribute");
    return NULL;
}

const char *ccuda_load_nccl(void *library, CCUDANCCL *api) {
    LOAD(ncclGetVersion, "ncclGetVersion");
    LOAD(ncclGetErrorString, "ncclGetErrorString");
    LOAD(ncclGetLastError, "ncclGetLastError");
    LOAD(ncclGetUniqueId, "ncclGetUniqueId");
    LOAD(ncclCommInitRank, "ncclCommInitRank");
    LOAD(ncclCommDestroy, "ncclCommDestroy");
    LOAD(ncclCommAbort, "ncclCommAbort");
    LOAD(ncclGroupStart, "ncclGroupStart");
    LOAD(ncclGroupEnd, "ncclGroupEnd");
    LOAD(ncclAllReduce, "ncclAllReduce");
    LOAD(ncclAllGather, "ncclAllGather");
    LOAD(ncclBroadcast, "ncclBroadcast");
    return NULL;
}

// cuda.h's CUlaunchAttribute and CUlaunchConfig, laid out as the driver reads them.
typedef struct {
    int id;
    char pad[4];
    union { char pad[64]; int value; } value;
} CCUDALaunchAttribute;

typedef struct {
    unsigned int gridDimX, gridDimY, gridDimZ;
    unsigned int blockDimX, blockDimY, blockDimZ;
    unsigned int sharedMemBytes;
    CUstream hStream;
    CCUDALaunchAttribute *attrs;
    unsigned int numAttrs;
} CCUDALaunchConfig;

enum { CCUDA_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6 };

CUresult ccuda_launch_kernel_dependent(const CCUDADriver *api, CUfunction function,
                                       unsigned int gridX, unsigned int gridY, unsigned int gridZ,
                                       unsigned int blockX, unsigned int blockY, unsigned int blockZ,
                                       unsigned int sharedMemBytes, CUstream stream, void **kernelParams) {
    CCUDALaunchAttribute attribute = {0};
    attribute.id = CCUDA_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.value = 1;
    CCUDALaunchConfig config = {gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes, stream, &attribute, 1};
    return api->cuLaunchKernelEx(&config, function, kernelParams, NULL);
}
