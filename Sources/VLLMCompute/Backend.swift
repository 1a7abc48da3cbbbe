/// The fused operations a decoder-only transformer needs, and nothing wider.
///
/// Models are written once against this protocol; the executable chooses the CPU or CUDA
/// implementation and hands it in. Every op writes into an `out` tensor the caller allocated
/// (destination passing), so a backend may keep all activations in one arena and replay a step
/// as a graph. Shapes below use `T` = tokens in the step, `H` = hidden size, `S` = sequences
/// (logits rows), `V` = vocabulary size.
///
/// The CPU backend is the numerical oracle: each op has a CPU twin that is obviously right, and
/// every other backend is tested against it by relative error.
public protocol Backend: AnyObject, Sendable {
    /// Short name for logs and errors (`"cpu"`, `"cuda:0 (NVIDIA H100 80GB HBM3)"`).
    var name: String { get }
    /// Cache dtypes besides the activation dtype (fp8) that attention and cache writes take for `headSize`.
    func kvCacheDTypes(headSize: Int) -> [DType]
    /// dtype of activations and of the KV cache on this backend.
    var activationDType: DType { get }
    /// dtype weights are stored in on this backend, given the checkpoint's (or `--dtype`'s) dtype.
    func weightDType(for checkpointDType: DType) -> DType

    // MARK: Memory

    /// Uninitialized memory of `shape`.
    func allocate(shape: [Int], dtype: DType) throws -> Tensor
    /// Copies host bytes of `sourceDType` into a new tensor of `dtype`, converting on the way.
    func upload(_ bytes: UnsafeRawBufferPointer, sourceDType: DType, shape: [Int], dtype: DType) throws -> Tensor
    /// Copies host int32 values into an existing tensor (index inputs of a step).
    func copy(_ values: [Int32], into tensor: Tensor) throws
    /// Any float tensor → host Float (converted). Waits for pending work.
    func downloadFloats(_ tensor: Tensor) throws -> [Float]
    /// An int32 tensor → host. Waits for pending work.
    func downloadInt32(_ tensor: Tensor) throws -> [Int32]
    /// Device-to-device copy of equal shape and dtype.
    func copy(_ source: Tensor, to destination: Tensor) throws
    /// Waits until all queued work is done.
    func synchronize() throws
    /// Fills `out` with `--load-format dummy`'s values, made where `out` lives: element `i`, counted from
    /// the view's first element, is `(u · 2 − 1) · 1e-3` in f32 with `u` the top 24 bits of
    /// `SamplingRandom.mix(key ^ i)` over 2²⁴, rounded to `out`'s dtype (nearest even).
    /// out: any shape of a float dtype (a stacked weight fills each part's rows with the part's key).
    func fillDummy(_ out: Tensor, key: UInt64) throws

    // MARK: Ops

    /// `out[t] = table[tokenIds[t] − firstTokenId]`, a zero row where that is outside the table: a
    /// vocabulary shard (tensor parallelism) holds the rows of ids `firstTokenId ..< firstTokenId + V`.
    /// tokenIds [T] int32, table [V, H], out [T, H].
    func embedding(tokenIds: Tensor, table: Tensor, firstTokenId: Int, out: Tensor) throws

    /// `out = x / sqrt(mean(x²) + eps) * weight`, per row, in f32.
    /// x [N, D], weight [D], out [N, D]. Also used per head (q/k-norm) with x viewed as [T·heads, headSize].
    func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws

    /// vLLM's fused_add_rms_norm: `residual += x` (in place), then `out = rmsNorm(residual)`.
    /// x [N, D], residual [N, D], weight [D], out [N, D].
    func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws

    /// `addRMSNorm` (or `rmsNorm` of x where `residual` is nil) whose `out` is the input of `feeding`'s linear, the next
    /// op the model runs on it: a backend that runs that linear on quantized activations (FP8 W8A8's per-token
    /// quantization) may quantize `out` here as well, and the linear then takes that copy instead of quantizing out
    /// again — the same result, a pass over the activations fewer. The default is the plain op.
    func rmsNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, epsilon: Float, out: Tensor, feeding: LinearWeight) throws

    /// `out = x · weightᵀ (+ bias)`, f32 accumulation; `out` may be of any float dtype (logits are f32).
    /// x [T, K], weight [N, K], bias [N]?, out [T, N].
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor) throws

    /// `linear` and the op after it (`epilogue`) as one kernel, where the backend has one for the step's size (decode
    /// steps); false, doing nothing, where it has not — the model then runs the two ops. The result equals theirs.
    func fusedLinear(_ x: Tensor, weight: LinearWeight, bias: Tensor?, epilogue: LinearEpilogue, out: Tensor) throws -> Bool

    /// Rotary embedding, GPT-NeoX style (rotate-half), in place on the first `rotaryDim` of each head.
    /// query [T, numHeads·headSize], key [T, numKVHeads·headSize], positions [T] int32,
    /// cosSinCache [maxPositions, rotaryDim] f32: `cos` of the rotaryDim/2 frequencies, then `sin`.
    func rotaryEmbedding(query: Tensor, key: Tensor, positions: Tensor, cosSinCache: Tensor, headSize: Int) throws

    /// The fused q/k/v projection split into its parts: qkv [T, (numHeads + 2·numKVHeads)·headSize] holds
    /// each token's `[q | k | v]`; query [T, numHeads·headSize]; key and value go to `kv` — two tensors
    /// [T, numKVHeads·headSize], or straight into the paged cache (as `writeKVCache` writes them). With
    /// `rotary`, query and key leave rotated exactly as `rotaryEmbedding` would rotate them.
    func splitQKV(_ qkv: Tensor, query: Tensor, kv: KVDestination, headSize: Int,
                  rotary: (positions: Tensor, cosSinCache: Tensor)?) throws

    /// Writes each token's key and value into the cache slot `slotMapping[t]`; a negative slot is skipped.
    /// key, value [T, numKVHeads·headSize]; slotMapping [T] int32.
    func writeKVCache(key: Tensor, value: Tensor, cache: PagedKVCache, slotMapping: Tensor) throws

    /// Causal attention of each query token over its sequence's cached keys (see AttentionMetadata),
    /// GQA by `numHeads / numKVHeads`, softmax in f32 with `scale`.
    /// query [T, numHeads·headSize], out [T, numHeads·headSize].
    func pagedAttention(query: Tensor, cache: PagedKVCache, metadata: AttentionMetadata, scale: Float, out: Tensor) throws

    /// `out = silu(x[:, :I]) * x[:, I:]`. x [T, 2I], out [T, I].
    func siluAndMul(_ x: Tensor, out: Tensor) throws

    /// `siluAndMul` whose `out` is the input of `feeding`'s linear (as `rmsNorm(_:residual:…feeding:)`).
    func siluAndMul(_ x: Tensor, out: Tensor, feeding: LinearWeight) throws

    /// `out[s] = x[indices[s]]` (the rows whose logits are wanted). x [T, H], indices [S] int32, out [S, H].
    func gatherRows(_ x: Tensor, indices: Tensor, out: Tensor) throws

    /// `out[s, c] = parts[c / W, s, c % W]` for every column c of out: shards of columns side by side, the
    /// padding past out's width dropped (a vocabulary-parallel lm_head's gathered logits into whole rows).
    /// parts [P, S, W] f32, out [S, V] f32 with V ≤ P·W.
    func concatenateColumns(_ parts: Tensor, out: Tensor) throws

    /// Multi-LoRA (`LoRAWeights`): for every token t with a slot l = `mapping.tokenSlots[t]` ≥ 0 and every output n
    /// of slice s, `out[t, n] += Σ_j b[l, n, j] · Σ_k a[l, s·R + j, k] · x[t, k]`, the inner sums in f32 (the
    /// CUDA backend rounds them to the activation dtype before the second product, as vLLM's kernels do).
    /// x [T, K], out [T, N] (the layer's output, added to in place).
    func addLoRA(_ x: Tensor, weights: LoRAWeights, mapping: LoRAMapping, out: Tensor) throws

    // MARK: Encoders (BERT, XLM-RoBERTa)

    /// transformers' nn.LayerNorm over each row of `x (+ residual)`: `(v − mean) / sqrt(var + eps) · weight +
    /// bias`, statistics in f32. x [N, D], residual [N, D]? (read only), weight [D], bias [D], out [N, D]
    /// (may be x or residual).
    func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, epsilon: Float, out: Tensor) throws

    /// transformers' "gelu": `x · Φ(x)`, the exact erf form. x, out of one shape (out may be x).
    func gelu(_ x: Tensor, out: Tensor) throws

    /// `out = a + b`, elementwise over tensors of one shape (out may be a or b).
    func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws

    /// Bidirectional attention within each sequence of a step (an encoder: every token sees every token
    /// of its own sequence, no cache). qkv [T, 3·numHeads·headSize]: each row q | k | v, heads of
    /// `headSize` each; queryStartLoc [S + 1] int32, sequence s holding rows queryStartLoc[s] ..<
    /// queryStartLoc[s + 1]; `maxSeqLen` bounds them. out [T, numHeads·headSize].
    func encoderAttention(qkv: Tensor, queryStartLoc: Tensor, numSeqs: Int, maxSeqLen: Int, numHeads: Int,
                          headSize: Int, scale: Float, out: Tensor) throws

    /// Queues the sampling of one token per row of `logits` [S, V] f32 as `SamplingRow` specifies and
    /// returns without waiting for the device; the result's `wait()` brings back the token ids and the
    /// requested logprobs (nothing else comes back to the host). Wait for one before launching the next.
    func launchSample(logits: Tensor, rows: [SamplingRow]) throws -> PendingSample

    /// `logits[rows[m], v] = -inf` wherever bit `v % 32` of word `v / 32` of row m's mask is clear:
    /// structured outputs' token masks (xgrammar's layout), applied before sampling, so logprobs and
    /// every sampling path see them. logits [S, V] f32; `masks`: `rows.count` masks of `masks.count /
    /// rows.count` words (a token past a mask's words is masked).
    func applyTokenBitmask(logits: Tensor, rows: [Int32], masks: [UInt32]) throws

    /// `tokenIds[positions[i]] = sampled[rows[i] · stride]`, for i < positions.count: the inputs of a step
    /// whose tokens the step before it samples, read on the device before that step is back (async
    /// scheduling). sampled: a `PendingSample`'s `tokens`; rows, positions [P] int32; tokenIds [T] int32.
    func scatterSampledTokens(_ sampled: Tensor, stride: Int, rows: Tensor, positions: Tensor, into tokenIds: Tensor) throws
}

extension Backend {
    /// No fused kernels (the CPU oracle runs every op on its own).
    public func fusedLinear(_ x: Tensor, weight: LinearWeight, bias: Tensor?, epilogue: LinearEpilogue, out: Tensor) throws -> Bool {
        false
    }

    /// The plain op: nothing quantized ahead for `feeding`.
    public func rmsNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, epsilon: Float, out: Tensor, feeding: LinearWeight) throws {
        if let residual {
            try addRMSNorm(x, residual: residual, weight: weight, epsilon: epsilon, out: out)
        } else {
            try rmsNorm(x, weight: weight, epsilon: epsilon, out: out)
        }
    }

    /// The plain op: nothing quantized ahead for `feeding`.
    public func siluAndMul(_ x: Tensor, out: Tensor, feeding: LinearWeight) throws {
        try siluAndMul(x, out: out)
    }

    /// `out[t] = table[tokenIds[t]]` (the whole vocabulary).
    public func embedding(tokenIds: Tensor, table: Tensor, out: Tensor) throws {
        try embedding(tokenIds: tokenIds, table: table, firstTokenId: 0, out: out)
    }

    /// Whether this backend's attention and cache writes take a paged cache of `dtype` for heads of `headSize`
    /// (the activation dtype always; fp8 where the backend says so by overriding `kvCacheDTypes`).
    public func supportsKVCache(dtype: DType, headSize: Int) -> Bool {
        dtype == activationDType || (kvCacheDTypes(headSize: headSize).contains(dtype))
    }

    /// Samples and waits: `launchSample(…).wait()`.
    public func sample(logits: Tensor, rows: [SamplingRow]) throws -> SamplerOutput {
        try launchSample(logits: logits, rows: rows).wait()
    }
}

/// A sampling queued on a backend: the device may still be running the step that feeds it, and the
/// host is free meanwhile (to process the last step's outputs); `wait()` blocks until the tokens are
/// back. A backend that computes eagerly (the CPU) hands back a finished one.
public struct PendingSample: Sendable {
    private let collect: @Sendable () throws -> SamplerOutput
    /// The sampled token ids where the backend keeps them, row `r` at element `r · stride` (int32): what
    /// the next step's `scatterSampledTokens` reads before this one is back.
    public let tokens: (tensor: Tensor, stride: Int)?

    /// `collect` waits for the device and reads the results; it is called once, by `wait()`.
    public init(tokens: (tensor: Tensor, stride: Int)?, collect: @escaping @Sendable () throws -> SamplerOutput) {
        self.tokens = tokens
        self.collect = collect
    }

    /// Already computed.
    public init(done output: SamplerOutput, tokens: (tensor: Tensor, stride: Int)?) {
        self.tokens = tokens
        collect = { output }
    }

    public func wait() throws -> SamplerOutput { try collect() }
}

/// Where `splitQKV` puts keys and values.
public enum KVDestination: Sendable {
    /// key, value [T, numKVHeads·headSize].
    case tensors(key: Tensor, value: Tensor)
    /// The cache slots `slotMapping[t]` (a negative slot is skipped), as `writeKVCache`.
    case cache(PagedKVCache, slotMapping: Tensor)
}

/// A backend failure that names the operation and what was wrong.
public struct BackendError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Backend {
    /// `allocate` then fill with int32 values.
    public func makeInt32(_ values: [Int32], shape: [Int]? = nil) throws -> Tensor {
        let tensor = try allocate(shape: shape ?? [values.count], dtype: .int32)
        try copy(values, into: tensor)
        return tensor
    }

    /// Host floats → a new tensor of `dtype`.
    public func makeTensor(_ values: [Float], shape: [Int], dtype: DType) throws -> Tensor {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values for shape \(shape)")
        return try values.withUnsafeBytes {
            try upload($0, sourceDType: .float32, shape: shape, dtype: dtype)
        }
    }
}

/// Device memory of a backend that owns a fixed amount of it (a GPU), for sizing the KV cache.
public struct DeviceMemoryStats: Sendable, Equatable {
    public var totalBytes: Int
    public var bytesInUse: Int
    /// Most bytes in use since the last `resetPeakMemory()`.
    public var peakBytesInUse: Int

    public init(totalBytes: Int, bytesInUse: Int, peakBytesInUse: Int) {
        self.totalBytes = totalBytes
        self.bytesInUse = bytesInUse
        self.peakBytesInUse = peakBytesInUse
    }
}

/// Memory accounting; backends without device memory of their own (the CPU) keep the defaults.
public protocol DeviceMemoryReporting {
    func memoryStats() throws -> DeviceMemoryStats
    func resetPeakMemory()
    /// Returns cached-but-unused blocks to the device.
    func releaseCachedMemory() throws
}

/// A backend that records a step's queued work once and replays it with one launch (CUDA graphs). A
/// replay reads and writes the very buffers the recorded ops were handed, so the caller keeps a graph's
/// inputs at fixed addresses and changes only their contents between replays.
public protocol GraphCapturing: Backend {
    /// Whether graphs may be recorded and replayed now: not while ops are timed one by one (profiling).
    var isGraphUseAllowed: Bool { get }
    /// Records, without running it, the work `body` queues. Nil, recording nothing, where
    /// `isGraphUseAllowed` is false.
    func captureGraph(_ body: () throws -> Void) throws -> (any DeviceGraph)?
}

/// Recorded device work (`GraphCapturing.captureGraph`).
public protocol DeviceGraph: AnyObject, Sendable {
    /// Queues the recorded work again, in order with everything else on the backend.
    func replay() throws
}

/// A backend that times its own queue: a mark placed between queued ops, read once the device passed it
/// (`ModelRunner`'s GPU time per step and the idle gaps between steps).
public protocol DeviceTiming: Backend {
    /// Queues a timestamp after the work queued so far.
    func markTime() throws -> any DeviceTimestamp
}

/// A timestamp in a backend's queue (`DeviceTiming.markTime`).
public protocol DeviceTimestamp: AnyObject, Sendable {
    /// Milliseconds from `earlier` to this mark, once the device has passed both.
    func milliseconds(since earlier: any DeviceTimestamp) throws -> Double
}
