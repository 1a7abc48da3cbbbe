// cache.cu: writes each new token's K and V into the paged cache.
//
// reshape_and_cache_bf16   key, value [T, numKVHeads·headSize] bf16; slotMapping [T] int32;
//                          keyCache, valueCache [numBlocks, blockSize, numKVHeads, headSize] bf16.
//                          Slot s = block·blockSize + offset is row s of the cache viewed as
//                          [numBlocks·blockSize, numKVHeads·headSize]; a negative slot is skipped.
// grid (T), block 256: one CTA per token, 16-byte copies when the row allows.
#include "common.cuh"

extern "C" __global__ void reshape_and_cache_bf16(const bf16_t *__restrict__ key, const bf16_t *__restrict__ value,
                                                  bf16_t *__restrict__ keyCache, bf16_t *__restrict__ valueCache,
                                                  const int *__restrict__ slotMapping, int rowElements,
                                                  long long numSlots) {
    const int token = blockIdx.x;
    const long long slot = slotMapping[token];
    if (slot < 0 || slot >= numSlots) return;
    const bf16_t *keyRow = key + (long long)token * rowElements;
    const bf16_t *valueRow = value + (long long)token * rowElements;
    bf16_t *keyDestination = keyCache + slot * rowElements;
    bf16_t *valueDestination = valueCache + slot * rowElements;
    if ((rowElements & 7) == 0) {
        const int chunks = rowElements / 8;
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
