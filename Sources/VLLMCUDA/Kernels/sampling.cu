// sampling.cu: one token per row of f32 logits, on the device, as VLLMCompute.SamplingRow specifies.
//
// sample_f32
//   logits [S, V] f32 (read only); work [S, V] f32 and counts [S, V] int32 are scratch;
//   params [S, PARAM_WORDS] int32 (SamplingParamWord's layout, floats as their bits); lists: the rows' token lists;
//   result [S, 3 + 2·maxLogprobs] int32: sampled id, its raw logprob (bits), its rank, then the top ids,
//   then their logprobs (bits).
//   grid (S), block 1024: one CTA per row. Steps (vLLM v1's order):
//   raw log-softmax for logprobs → allowed / banned masks → logit bias → repetition, frequency and
//   presence penalties → greedy argmax (lowest id wins ties), or: ÷ temperature, softmax, min-p, top-k
//   and top-p as thresholds found by a binary search over the float bits of the probabilities (no sort),
//   then the exponential race argmax p / −log(u) with u = SamplingRandom.uniform(seed, step, id).
//
// argmax_f32: the same greedy choice for a step whose rows are all plain greedy (no logprobs, masks, bias or
//   penalties), spread over the GPU: grid (S, C) CTAs of 256 threads each find the best (value, id) of a 1/C slice of
//   the row into partials [S, C]; the last of a row's C CTAs to finish (common.cuh's last_split_to_finish on
//   counters[row]) merges the C slices in order into result[row] (ties and NaN as `better`). One CTA per row walking
//   128k logits three times was latency-bound: 65 µs at batch 1 on an H200; the merge was a kernel of its own
//   until session 20.
#include "common.cuh"

#include "sampling_params.cuh"  // P_* word indices and FLAG_* bits: VLLMCUDA/SamplingParamBlock.swift

#define PROMPT_MARK (1 << 30)

__device__ __forceinline__ unsigned long long splitmix(unsigned long long x) {
    unsigned long long z = x + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// SamplingRandom.uniform: 24 random bits → (0, 1].
__device__ __forceinline__ float uniform(unsigned long long seed, unsigned long long step, unsigned long long token) {
    const unsigned long long bits = splitmix(splitmix(splitmix(seed) ^ step) ^ token);
    return (float)((bits >> 40) + 1) * (1.0f / 16777216.0f);
}

// (value, id) pairs ordered by value descending, then id ascending; NaN never wins.
__device__ __forceinline__ bool better(float value, int id, float bestValue, int bestId) {
    if (value != value) return false;
    if (bestValue != bestValue) return true;
    return value > bestValue || (value == bestValue && id < bestId);
}

__device__ void block_argmax(float &value, int &id, float *scratchValues, int *scratchIds) {
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float otherValue = __shfl_xor_sync(0xffffffffu, value, offset);
        const int otherId = __shfl_xor_sync(0xffffffffu, id, offset);
        if (better(otherValue, otherId, value, id)) { value = otherValue; id = otherId; }
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, numWarps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) { scratchValues[warp] = value; scratchIds[warp] = id; }
    __syncthreads();
    value = lane < numWarps ? scratchValues[lane] : __int_as_float(0x7fffffff);
    id = lane < numWarps ? scratchIds[lane] : 0x7fffffff;
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float otherValue = __shfl_xor_sync(0xffffffffu, value, offset);
        const int otherId = __shfl_xor_sync(0xffffffffu, id, offset);
        if (better(otherValue, otherId, value, id)) { value = otherValue; id = otherId; }
    }
}

// The largest threshold τ ≤ upper (probabilities ≥ 0, compared by their bits) for which
// Σ_{p ≥ τ} weight(p) ≥ target, where weight is 1 (counting, for top-k) or p (mass, for top-p).
__device__ float threshold_search(const float *p, int vocab, float upper, float target, bool byMass, float *scratch) {
    unsigned int low = 0, high = __float_as_uint(upper);
    while (low < high) {
        const unsigned int middle = low + (high - low + 1) / 2;
        const float tau = __uint_as_float(middle);
        float total = 0.0f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const float value = p[i];
            if (value >= tau && value > 0.0f) total += byMass ? value : 1.0f;
        }
        total = block_sum(total, scratch);
        if (total >= target) low = middle; else high = middle - 1;
    }
    return __uint_as_float(low);
}

extern "C" __global__ void __launch_bounds__(1024)
sample_f32(const float *__restrict__ logits, float *__restrict__ workAll, int *__restrict__ countsAll,
           const int *__restrict__ paramsAll, const int *__restrict__ lists, int *__restrict__ resultAll,
           int vocab, int maxLogprobs) { grid_dependency_wait();
    __shared__ float scratch[32];
    __shared__ int scratchIds[32];
    const int row = blockIdx.x;
    const int *params = paramsAll + row * PARAM_WORDS;
    const float *x = logits + (long long)row * vocab;
    float *work = workAll + (long long)row * vocab;
    int *result = resultAll + row * (3 + 2 * maxLogprobs);
    const int flags = params[P_FLAGS];
    const int *promptIds = lists + params[P_LIST_OFFSET];
    const int *outputIds = promptIds + params[P_NUM_PROMPT];
    const int *biasIds = outputIds + params[P_NUM_OUTPUT];
    const float *biasValues = (const float *)(biasIds + params[P_NUM_BIAS]);
    const int *allowedIds = (const int *)(biasValues + params[P_NUM_BIAS]);
    const int *bannedIds = allowedIds + params[P_NUM_ALLOWED];

    // 1. Raw log-softmax normalizer, for logprobs.
    // logprob = x − max − log Σ exp(x − max), the CPU twin's form.
    float rowMaximum = 0.0f, logSum = 0.0f;
    if (flags & FLAG_LOGPROBS) {
        float localMax = -INFINITY;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) localMax = fmaxf(localMax, x[i]);
        rowMaximum = block_max(localMax, scratch);
        float localSum = 0.0f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) localSum += expf(x[i] - rowMaximum);
        logSum = logf(block_sum(localSum, scratch));
    }

    // 2. Masks, 3. bias.
    const bool restricted = (flags & FLAG_ALLOWED) != 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) work[i] = restricted ? -INFINITY : x[i];
    __syncthreads();
    if (restricted)
        for (int i = threadIdx.x; i < params[P_NUM_ALLOWED]; i += blockDim.x) work[allowedIds[i]] = x[allowedIds[i]];
    __syncthreads();
    for (int i = threadIdx.x; i < params[P_NUM_BANNED]; i += blockDim.x) work[bannedIds[i]] = -INFINITY;
    __syncthreads();
    for (int i = threadIdx.x; i < params[P_NUM_BIAS]; i += blockDim.x) work[biasIds[i]] += biasValues[i];
    __syncthreads();

    // 4. Penalties, over the set of prompt tokens and the counts of output tokens.
    if (flags & FLAG_PENALTIES) {
        int *counts = countsAll + (long long)row * vocab;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) counts[i] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < params[P_NUM_PROMPT]; i += blockDim.x) atomicOr(&counts[promptIds[i]], PROMPT_MARK);
        for (int i = threadIdx.x; i < params[P_NUM_OUTPUT]; i += blockDim.x) atomicAdd(&counts[outputIds[i]], 1);
        __syncthreads();
        const float repetition = __int_as_float(params[P_REPETITION]);
        const float frequency = __int_as_float(params[P_FREQUENCY]);
        const float presence = __int_as_float(params[P_PRESENCE]);
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const int count = counts[i];
            if (count == 0) continue;
            const int outputCount = count & (PROMPT_MARK - 1);
            float value = work[i];
            if (repetition != 1.0f) value = value > 0.0f ? value / repetition : value * repetition;
            // As the CPU twin: one subtraction of frequency·count + presence.
            if (outputCount > 0) value -= frequency * (float)outputCount + presence;
            work[i] = value;
        }
        __syncthreads();
    }

    int chosen;
    if (flags & FLAG_GREEDY) {
        float bestValue = __int_as_float(0x7fffffff);
        int bestId = 0x7fffffff;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x)
            if (better(work[i], i, bestValue, bestId)) { bestValue = work[i]; bestId = i; }
        block_argmax(bestValue, bestId, scratch, scratchIds);
        chosen = bestId;
    } else {
        // 5. Temperature and softmax.
        const float temperature = __int_as_float(params[P_TEMPERATURE]);
        float localMax = -INFINITY;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            work[i] = work[i] / temperature;
            localMax = fmaxf(localMax, work[i]);
        }
        const float scaledMax = block_max(localMax, scratch);
        float localSum = 0.0f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const float e = expf(work[i] - scaledMax);
            work[i] = e;
            localSum += e;
        }
        const float sum = block_sum(localSum, scratch);
        float localTop = 0.0f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            work[i] = work[i] / sum;
            localTop = fmaxf(localTop, work[i]);
        }
        const float topProbability = block_max(localTop, scratch);
        // min-p.
        const float minP = __int_as_float(params[P_MIN_P]);
        if (minP > 0.0f) {
            const float floor = minP * topProbability;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x)
                if (work[i] < floor) work[i] = 0.0f;
            __syncthreads();
        }
        // top-k: keep p ≥ the k-th largest.
        const int topK = params[P_TOP_K];
        if (topK > 0 && topK < vocab) {
            const float tau = threshold_search(work, vocab, topProbability, (float)topK, false, scratch);
            for (int i = threadIdx.x; i < vocab; i += blockDim.x)
                if (work[i] < tau) work[i] = 0.0f;
            __syncthreads();
        }
        // top-p over what is left: the smallest prefix (by probability) whose mass reaches topP of it.
        const float topP = __int_as_float(params[P_TOP_P]);
        if (topP < 1.0f) {
            float localMass = 0.0f;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) localMass += work[i];
            const float mass = block_sum(localMass, scratch);
            const float tau = threshold_search(work, vocab, topProbability, topP * mass, true, scratch);
            for (int i = threadIdx.x; i < vocab; i += blockDim.x)
                if (work[i] < tau) work[i] = 0.0f;
            __syncthreads();
        }
        // The exponential race.
        const unsigned long long seed =
            ((unsigned long long)(unsigned int)params[P_SEED_HIGH] << 32) | (unsigned int)params[P_SEED_LOW];
        const unsigned long long step =
            ((unsigned long long)(unsigned int)params[P_STEP_HIGH] << 32) | (unsigned int)params[P_STEP_LOW];
        float bestValue = __int_as_float(0x7fffffff);
        int bestId = 0x7fffffff;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
            const float p = work[i];
            if (!(p > 0.0f)) continue;
            const float score = p / -logf(uniform(seed, step, (unsigned long long)i));
            if (better(score, i, bestValue, bestId)) { bestValue = score; bestId = i; }
        }
        block_argmax(bestValue, bestId, scratch, scratchIds);
        chosen = bestId == 0x7fffffff ? 0 : bestId;
    }

    // 6. Logprobs of the raw logits: the sampled token's, its rank, and the top entries.
    if (threadIdx.x == 0) result[0] = chosen;
    if (flags & FLAG_LOGPROBS) {
        const float sampledLogit = x[chosen];
        // vLLM's rank: how many tokens are at least as likely as the sampled one (itself included).
        float localRank = 0.0f;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x)
            if (x[i] >= sampledLogit) localRank += 1.0f;
        const float atLeast = block_sum(localRank, scratch);
        if (threadIdx.x == 0) {
            result[1] = __float_as_int(sampledLogit - rowMaximum - logSum);
            result[2] = (int)atLeast;
        }
        const int wanted = min(params[P_NUM_LOGPROBS], maxLogprobs);
        float previousValue = INFINITY;
        int previousId = -1;
        for (int k = 0; k < wanted; ++k) {
            float bestValue = __int_as_float(0x7fffffff);
            int bestId = 0x7fffffff;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
                const float value = x[i];
                // Only entries strictly after the previous one in (value desc, id asc) order.
                const bool after = value < previousValue || (value == previousValue && i > previousId);
                if (after && better(value, i, bestValue, bestId)) { bestValue = value; bestId = i; }
            }
            block_argmax(bestValue, bestId, scratch, scratchIds);
            if (threadIdx.x == 0) {
                result[3 + k] = bestId;
                result[3 + maxLogprobs + k] = __float_as_int(bestValue - rowMaximum - logSum);
            }
            previousValue = bestValue;
            previousId = bestId;
        }
    }
}

extern "C" __global__ void __launch_bounds__(256)
argmax_f32(const float *__restrict__ logits, float *__restrict__ partialValues, int *__restrict__ partialIds,
           int *__restrict__ counters, int *__restrict__ result, int vocab) { grid_dependency_wait();
    __shared__ float scratch[32];
    __shared__ int scratchIds[32];
    const int row = blockIdx.x, slice = blockIdx.y, numSlices = gridDim.y;
    const float *x = logits + (long long)row * vocab;
    const int begin = (int)((long long)vocab * slice / numSlices), end = (int)((long long)vocab * (slice + 1) / numSlices);
    float bestValue = __int_as_float(0x7fffffff);
    int bestId = 0x7fffffff;
    for (int i = begin + threadIdx.x; i < end; i += blockDim.x)
        if (better(x[i], i, bestValue, bestId)) { bestValue = x[i]; bestId = i; }
    block_argmax(bestValue, bestId, scratch, scratchIds);
    if (threadIdx.x == 0) {
        partialValues[row * numSlices + slice] = bestValue;
        partialIds[row * numSlices + slice] = bestId;
    }
    if (!last_split_to_finish(counters + row, numSlices) || threadIdx.x >= 32) return;
    // The row's last CTA: its first warp merges the slices in order (read through L2: the other CTAs wrote them).
    const int lane = threadIdx.x;
    bestValue = __int_as_float(0x7fffffff);
    bestId = 0x7fffffff;
    for (int i = lane; i < numSlices; i += 32) {
        const float value = __ldcg(partialValues + row * numSlices + i);
        const int id = __ldcg(partialIds + row * numSlices + i);
        if (better(value, id, bestValue, bestId)) { bestValue = value; bestId = id; }
    }
    for (int offset = 16; offset > 0; offset >>= 1) {
        const float otherValue = __shfl_xor_sync(0xffffffffu, bestValue, offset);
        const int otherId = __shfl_xor_sync(0xffffffffu, bestId, offset);
        if (better(otherValue, otherId, bestValue, bestId)) { bestValue = otherValue; bestId = otherId; }
    }
    if (lane == 0) result[row] = bestId;
}

// apply_token_bitmask_f32  logits [S, V] f32, rows [M] int32, masks [M, W] uint32: logits[rows[m], v] = -inf where
//                          bit v % 32 of masks[m, v / 32] is clear (structured outputs; xgrammar's layout).
//                          grid (M, ⌈V / 1024⌉), block 1024.
extern "C" __global__ void apply_token_bitmask_f32(float *__restrict__ logits, const int *__restrict__ rows,
                                                   const unsigned int *__restrict__ masks, int vocab, int words) {
    grid_dependency_wait();
    const int m = blockIdx.x;
    const int v = blockIdx.y * blockDim.x + threadIdx.x;
    if (v >= vocab) return;
    const unsigned int word = (v >> 5) < words ? masks[(long long)m * words + (v >> 5)] : 0u;
    if (!((word >> (v & 31)) & 1u)) logits[(long long)rows[m] * vocab + v] = -INFINITY;
}
