// linear_epilogue.cuh: what a decode linear folds into its output (CUDABackend.fusedLinear; linear.cu's linear_small,
// linear_int4.cu's linear_int4_small, linear_int4_decode.cu) — the mode, the weight rows a CTA owns for it, and the
// epilogue that writes them — and how every linear rounds its output (linear_output).
#pragma once
#include "common.cuh"
#include "fp8.cuh"

#define LINEAR_STORE 0  // out = product
#define LINEAR_GATED 1  // rows [0, N/2) gate, [N/2, N) up: out [M, N/2] = silu(gate) · up, as silu_and_mul_vec_bf16
#define LINEAR_ADD 2    // out is the residual stream: out = bf16(out + bf16(product)), as add_rms_norm_vec_bf16 adds
#define LINEAR_QKV 3    // the [q | k | v] projection split as split_qkv_vec splits it into the paged cache (rotary.cu):
                        // out [M, numHeads·headSize] the rotated query, the rotated keys and the values to the cache

// The mode, and for LINEAR_QKV where the split goes: split_qkv_vec's other arguments, for a rotary embedding over whole
// heads. Kernels take it as LINEAR_MODE_PARAMETERS (bf16 out only; the f32-out ones store).
struct LinearMode {
    int mode;
    const int *positions;         // [M] int32, each token's position (validated on the host)
    const int *slots;             // [M] int32, its cache row (a negative one is skipped)
    const float *cosSin;          // [maxPositions, headSize] f32: cos of the headSize/2 frequencies, then sin
    void *keyCache, *valueCache;  // [numSlots, numKVHeads·headSize]: bf16, or fp8 bytes (cacheFormat)
    long long numSlots;
    int numHeads, numKVHeads, headSize, maxPositions;
    int cacheFormat;              // 0: bf16; FP8_E4M3, FP8_E5M2: stored as fp8(x / scale), as reshape_and_cache_fp8
    float keyScale, valueScale;
};

#define LINEAR_MODE_PARAMETERS                                                                                        \
    int mode, const int *__restrict__ positions, const int *__restrict__ slots, const float *__restrict__ cosSin,     \
        void *__restrict__ keyCache, void *__restrict__ valueCache, long long numSlots, int numHeads, int numKVHeads, \
        int headSize, int maxPositions, int cacheFormat, float keyScale, float valueScale
#define LINEAR_MODE_ARGUMENTS                                                                                         \
    LinearMode{mode, positions, slots, cosSin, keyCache, valueCache, numSlots, numHeads, numKVHeads, headSize,       \
               maxPositions, cacheFormat, keyScale, valueScale}
#define LINEAR_MODE_STORE LinearMode{LINEAR_STORE}

// silu(gate) · up of a gated linear's two bf16 outputs (f32 sums with their biases), as silu_and_mul_vec_bf16 computes
// it from the rounded gate_up product.
__device__ __forceinline__ bf16_t silu_mul_bf16(float gate, float up) {
    const float g = round_bf16(gate);
    return f32_to_bf16(round_bf16(g / (1.0f + expf(-g))) * round_bf16(up));
}

// A linear's f32 output as Out: bf16, or an f32 holding the bf16 value (logits: rounded as cuBLASLt's bf16 product).
template <typename Out> __device__ __forceinline__ Out linear_output(float value);
template <> __device__ __forceinline__ bf16_t linear_output<bf16_t>(float value) { return f32_to_bf16(value); }
template <> __device__ __forceinline__ float linear_output<float>(float value) { return round_bf16(value); }

// The decode linears' CTAs each own `rows` consecutive output rows — or, gated, rows / 2 gate rows j … and the matching
// up rows N/2 + j …, so that one CTA holds both factors of its outputs; or, LINEAR_QKV, rows / 2 rotary pairs of one
// head: dims j … of head h in its first rows / 2 rows and their partners j + headSize/2 … in its last (the launcher
// checks headSize % rows == 0), so that one CTA holds both halves it rotates. The weight row of the CTA's row r, −1
// past the weight:
__device__ __forceinline__ int linear_weight_row(int r, int rows, int N, const LinearMode &m) {
    if (m.mode == LINEAR_GATED) {
        const int half = N / 2, gateRows = rows / 2, j = blockIdx.x * gateRows + r % gateRows;
        return j < half ? (r < gateRows ? j : half + j) : -1;
    }
    if (m.mode == LINEAR_QKV) {
        const int half = m.headSize / 2, pairs = rows / 2, perHead = half / pairs, head = blockIdx.x / perHead;
        const int row = head * m.headSize + (blockIdx.x - head * perHead) * pairs + r % pairs + (r < pairs ? 0 : half);
        return row < N ? row : -1;
    }
    const int row = blockIdx.x * rows + r;
    return row < N ? row : -1;
}

// LINEAR_QKV: what the epilogue's item i (token i / (rows/2), the CTA's pair i % (rows/2)) needs of the step's inputs
// besides the product — the rotary cos and sin of its pair, its token's cache slot (kSkip: a position outside the table,
// never written) — read before grid_dependency_wait() where `early` (the step's positions, slots and the table are
// written by no kernel of the step), so that the CTA's tail after the product has no load left to wait for.
struct LinearQKVInputs {
    float c, s;
    int slot;
    static constexpr int kSkip = -0x7fffffff - 1;
};
__device__ __forceinline__ LinearQKVInputs linear_qkv_inputs(int i, int numTokens, int rows, const LinearMode &m, bool early) {
    LinearQKVInputs in = {0.0f, 0.0f, 0};
    const int pairs = rows / 2, perHead = m.headSize / 2 / pairs, head = blockIdx.x / perHead;
    if (m.mode != LINEAR_QKV || i >= numTokens * pairs || head >= m.numHeads + 2 * m.numKVHeads) return in;
    const int token = i / pairs, j = (blockIdx.x - head * perHead) * pairs + (i - token * pairs);
    auto read = [&](const void *pointer) {
        return early ? load_input_early((const int *)pointer) : *(const int *)pointer;
    };
    if (head >= m.numHeads) in.slot = read(m.slots + token);
    if (head < m.numHeads + m.numKVHeads) {
        const int position = read(m.positions + token);
        if (position < 0 || position >= m.maxPositions) {  // (validated on the host)
            in.slot = LinearQKVInputs::kSkip;
            return in;
        }
        const float *cosRow = m.cosSin + (long long)position * m.headSize;
        in.c = round_bf16(__int_as_float(read(cosRow + j)));
        in.s = round_bf16(__int_as_float(read(cosRow + m.headSize / 2 + j)));
    }
    return in;
}

// Before the wait: item threadIdx.x's inputs into `stash` (shared memory, `capacity` ≥ the kernel's most tokens · rows / 2
// items), where they wait out the main loop without holding its registers; after the block's barrier before the
// epilogue, linear_qkv_unstash hands them to it.
__device__ __forceinline__ void linear_qkv_stash(LinearQKVInputs *stash, int capacity, int numTokens, int rows,
                                                 const LinearMode &m) {
    if (m.mode == LINEAR_QKV && (int)threadIdx.x < capacity) stash[threadIdx.x] = linear_qkv_inputs(threadIdx.x, numTokens, rows, m, true);
}
__device__ __forceinline__ LinearQKVInputs linear_qkv_unstash(const LinearQKVInputs *stash, int capacity, const LinearMode &m) {
    return m.mode == LINEAR_QKV && (int)threadIdx.x < capacity ? stash[threadIdx.x] : LinearQKVInputs{};
}

// The epilogue: `total(token, r)`, the f32 product (bias included) of the CTA's row r, into out by mode — LINEAR_STORE;
// LINEAR_GATED, out [M, N/2] = silu(gate) · up; LINEAR_ADD, the residual stream out += the product; LINEAR_QKV, each
// pair rounded to bf16 as the product is, turned as split_qkv_vec turns it (q and k heads), and stored as it stores
// it: the query into out, keys and values into the cache row of the token's slot. `qkv`: item threadIdx.x's inputs
// (linear_qkv_unstash); items past the block's threads read theirs here.
template <typename Out, typename Total>
__device__ __forceinline__ void linear_epilogue(Out *__restrict__ out, int numTokens, int N, int rows, const LinearMode &m,
                                                const LinearQKVInputs &qkv, Total total) {
    if (m.mode == LINEAR_GATED) {
        const int half = N / 2, gateRows = rows / 2;
        for (int i = threadIdx.x; i < numTokens * gateRows; i += blockDim.x) {
            const int token = i / gateRows, r = i - token * gateRows, j = blockIdx.x * gateRows + r;
            if (j >= half) continue;
            out[(long long)token * half + j] = linear_output<Out>(load(silu_mul_bf16(total(token, r), total(token, r + gateRows))));
        }
        return;
    }
    if (m.mode == LINEAR_QKV) {
        const int half = m.headSize / 2, pairs = rows / 2, perHead = half / pairs, head = blockIdx.x / perHead;
        const int first = (blockIdx.x - head * perHead) * pairs;
        const bool turns = head < m.numHeads + m.numKVHeads, isValue = !turns;
        if (head >= m.numHeads + 2 * m.numKVHeads) return;
        for (int i = threadIdx.x; i < numTokens * pairs; i += blockDim.x) {
            const LinearQKVInputs in = i == (int)threadIdx.x ? qkv : linear_qkv_inputs(i, numTokens, rows, m, false);
            if (in.slot == LinearQKVInputs::kSkip) continue;
            const int token = i / pairs, p = i - token * pairs, j = first + p;
            float x1 = round_bf16(total(token, p)), x2 = round_bf16(total(token, p + pairs));
            if (turns) {
                const float first1 = round_bf16(x1 * in.c) - round_bf16(x2 * in.s);
                x2 = round_bf16(x2 * in.c) + round_bf16(x1 * in.s);
                x1 = first1;
            }
            if (head < m.numHeads) {
                bf16_t *query = (bf16_t *)out + (long long)token * m.numHeads * m.headSize + head * m.headSize;
                query[j] = f32_to_bf16(x1);
                query[j + half] = f32_to_bf16(x2);
                continue;
            }
            const long long slot = in.slot;
            if (slot < 0 || slot >= m.numSlots) continue;
            const int kvHead = head - m.numHeads - (isValue ? m.numKVHeads : 0);
            const long long index = slot * m.numKVHeads * m.headSize + (long long)kvHead * m.headSize + j;
            void *cache = isValue ? m.valueCache : m.keyCache;
            if (m.cacheFormat == 0) {
                ((bf16_t *)cache)[index] = f32_to_bf16(x1);
                ((bf16_t *)cache)[index + half] = f32_to_bf16(x2);
            } else {
                const float scale = isValue ? m.valueScale : m.keyScale;
                unsigned char *bytes = (unsigned char *)cache;
                const bool e4m3 = m.cacheFormat == FP8_E4M3;
                bytes[index] = e4m3 ? fp8_encode<FP8_E4M3>(round_bf16(x1) / scale) : fp8_encode<FP8_E5M2>(round_bf16(x1) / scale);
                bytes[index + half] = e4m3 ? fp8_encode<FP8_E4M3>(round_bf16(x2) / scale) : fp8_encode<FP8_E5M2>(round_bf16(x2) / scale);
            }
        }
        return;
    }
    for (int i = threadIdx.x; i < numTokens * rows; i += blockDim.x) {
        const int token = i / rows, r = i - token * rows, row = blockIdx.x * rows + r;
        if (row >= N) continue;
        const long long index = (long long)token * N + row;
        const float value = total(token, r);
        out[index] = linear_output<Out>(m.mode == LINEAR_ADD ? round_bf16(value) + load(out[index]) : value);
    }
}
