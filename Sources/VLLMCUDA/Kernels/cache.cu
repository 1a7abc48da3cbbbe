// cache.cu: writes each new token's K and V into the paged cache.
//
// reshape_and_cache_{bf16,f32}  key, value [T, numKVHeads·headSize] T; slotMapping [T] int32;
//                          keyCache, valueCache [numBlocks, blockSize, numKVHeads, headSize] T.
//                          Slot s = block·blockSize + offset is row s of the cache viewed as
//                          [numBlocks·blockSize, numKVHeads·headSize]; a negative slot is skipped.
// reshape_and_cache_fp8_{e4m3,e5m2}  the same from bf16 key, value into an fp8 cache (bytes): each value
//                          stored as fp8(x / scale), keyScale and valueScale being the layer's k_scale, v_scale.
// grid (T), block 256: one CTA per token, 16-byte copies when the row allows.
#include "common.cuh"
#include "fp8.cuh"

template <typename T>
__device__ void reshape_and_cache(const T *__restrict__ key, const T *__restrict__ value, T *__restrict__ keyCache,
                                  T *__restrict__ valueCache, const int *__restrict__ slotMapping, int rowElements,
                                  long long numSlots) {
    const int token = blockIdx.x;
    const long long slot = slotMapping[token];
    if (slot < 0 || slot >= numSlots) return;
    const T *keyRow = key + (long long)token * rowElements;
    const T *valueRow = value + (long long)token * rowElements;
    T *keyDestination = keyCache + slot * rowElements;
    T *valueDestination = valueCache + slot * rowElements;
    const int perChunk = 16 / (int)sizeof(T);
    if (rowElements % perChunk == 0) {
        const int chunks = rowElements / perChunk;
        for (int i = threadIdx.x; i < chunks; i += blockDim.x) {
            ((uint4 *)keyDestination)[i] = ((const uint4 *)keyRow)[i];
            ((uint4 *)valueDestination)[i] = ((const uint4 *)valueRow)[i];
        }
    } else {
        for (int i = threadIdx.x; i < rowElements; i += blockDim.x) {
            keyDestination[i] = keyRow[i];
            valueDestination[i] = valueRow[i];
        }
    }
}

extern "C" __global__ void reshape_and_cache_bf16(const bf16_t *__restrict__ key, const bf16_t *__restrict__ value,
                                                  bf16_t *__restrict__ keyCache, bf16_t *__restrict__ valueCache,
                                                  const int *__restrict__ slotMapping, int rowElements,
                                                  long long numSlots) { grid_dependency_wait();
    reshape_and_cache(key, value, keyCache, valueCache, slotMapping, rowElements, numSlots);
}

extern "C" __global__ void reshape_and_cache_f32(const float *__restrict__ key, const float *__restrict__ value,
                                                 float *__restrict__ keyCache, float *__restrict__ valueCache,
                                                 const int *__restrict__ slotMapping, int rowElements,
                                                 long long numSlots) { grid_dependency_wait();
    reshape_and_cache(key, value, keyCache, valueCache, slotMapping, rowElements, numSlots);
}

template <int FORMAT>
__device__ void reshape_and_cache_fp8(const bf16_t *__restrict__ key, const bf16_t *__restrict__ value,
                                      unsigned char *__restrict__ keyCache, unsigned char *__restrict__ valueCache,
                                      const int *__restrict__ slotMapping, int rowElements, long long numSlots,
                                      float keyScale, float valueScale) {
    const int token = blockIdx.x;
    const long long slot = slotMapping[token];
    if (slot < 0 || slot >= numSlots) return;
    const bf16_t *keyRow = key + (long long)token * rowElements, *valueRow = value + (long long)token * rowElements;
    unsigned char *keyDestination = keyCache + slot * rowElements, *valueDestination = valueCache + slot * rowElements;
    for (int i = threadIdx.x; i < rowElements; i += blockDim.x) {
        keyDestination[i] = fp8_encode<FORMAT>(bf16_to_f32(keyRow[i]) / keyScale);
        valueDestination[i] = fp8_encode<FORMAT>(bf16_to_f32(valueRow[i]) / valueScale);
    }
}

extern "C" __global__ void reshape_and_cache_fp8_e4m3(const bf16_t *__restrict__ key, const bf16_t *__restrict__ value,
                                                      unsigned char *__restrict__ keyCache,
                                                      unsigned char *__restrict__ valueCache,
                                                      const int *__restrict__ slotMapping, int rowElements,
                                                      long long numSlots, float keyScale, float valueScale) {
    grid_dependency_wait();
    reshape_and_cache_fp8<FP8_E4M3>(key, value, keyCache, valueCache, slotMapping, rowElements, numSlots, keyScale, valueScale);
}

extern "C" __global__ void reshape_and_cache_fp8_e5m2(const bf16_t *__restrict__ key, const bf16_t *__restrict__ value,
                                                      unsigned char *__restrict__ keyCache,
                                                      unsigned char *__restrict__ valueCache,
                                                      const int *__restrict__ slotMapping, int rowElements,
                                                      long long numSlots, float keyScale, float valueScale) {
    grid_dependency_wait();
    reshape_and_cache_fp8<FP8_E5M2>(key, value, keyCache, valueCache, slotMapping, rowElements, numSlots, keyScale, valueScale);
}
