import CCUDA
import VLLMCompute

/// Linear layers through cuBLASLt: A and B of the activation dtype (bf16, or f32), f32 compute (plain
/// f32, not TF32: `CUBLAS_COMPUTE_32F`), D of the output's dtype. Split-K partial sums are reduced in
/// f32 too: the preference forbids `CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE`, which would round every
/// partial sum to bf16 (PyTorch's default `allow_bf16_reduced_precision_reduction` permits it). One
/// plan (descriptors and the heuristic's algorithm) per shape, made on first use and kept.
final class BlasLtMatmul: Sendable {
    let api: BlasLtAPI
    let context: CUDAContext
    let stream: CUDAStream
    let workspace: Tensor
    private let handle: Protected<cublasLtHandle_t>
    private let plans = Protected([PlanKey: Plan]())
    /// The heuristic's algorithm per bucket of rows (`bucket(rows:)`), shared by the plans in it.
    private let algorithms = Protected([PlanKey: (cublasLtMatmulAlgo_t, String)]())

    static let workspaceBytes = 32 << 20

    struct PlanKey: Hashable {
        var rows: Int, columns: Int, depth: Int  // T, N, K
        var inType: Int32
        var outType: Int32
        var hasBias: Bool
        /// FP8 inputs with f32 scale vectors (`matmulFP8`); cuBLASLt's fast accumulation or not.
        var fp8FastAccumulation = false
        /// FP8 with 128 × 128 block scales on the weight and 1 × 128 on x (`matmulFP8(…blockScaled:)`).
        var fp8BlockScaled = false
        var alignments: [Int]
    }

    /// cuBLASLt descriptors; freed never (a handful per model, alive as long as the process).
    final class Plan: @unchecked Sendable {
        // @unchecked: opaque cuBLASLt descriptors, used only under the plans lock's owner (the stream's thread).
        let description: cublasLtMatmulDesc_t
        let layouts: (a: cublasLtMatrixLayout_t, b: cublasLtMatrixLayout_t, d: cublasLtMatrixLayout_t)
        var algorithm: cublasLtMatmulAlgo_t
        /// The algorithm's identity, for diagnosis: "algo 66 tile 20 split-K 1 reduction 0".
        var summary: String
        init(description: cublasLtMatmulDesc_t, layouts: (cublasLtMatrixLayout_t, cublasLtMatrixLayout_t, cublasLtMatrixLayout_t),
             algorithm: cublasLtMatmulAlgo_t, summary: String) {
            self.description = description
            self.layouts = layouts
            self.algorithm = algorithm
            self.summary = summary
        }
    }

    /// cuBLASLt's version number (e.g. 130100 for 13.1.0).
    var version: Int { api.raw.cublasLtGetVersion!() }

    /// One line per plan made so far: the shape and the algorithm the heuristic chose for it.
    func planSummaries() -> [String] {
        plans.withLock { plans in
            plans.sorted { ($0.key.rows, $0.key.columns, $0.key.depth) < ($1.key.rows, $1.key.columns, $1.key.depth) }
                .map { key, plan in
                    let input = key.inType == Int32(CCUDA_R_8F_E4M3) ? "fp8\(key.fp8FastAccumulation ? " fast" : "") " : ""
                    return "T \(key.rows) N \(key.columns) K \(key.depth) \(input)→ \(key.outType == Int32(CCUDA_R_32F) ? "f32" : "bf16"): \(plan.summary)"
                }
        }
    }

    init(context: CUDAContext, stream: CUDAStream, allocator: CUDAAllocator) throws {
        api = try BlasLtAPI()
        self.context = context
        self.stream = stream
        var handle: cublasLtHandle_t?
        try api.check(api.raw.cublasLtCreate!(&handle), "cublasLtCreate")
        guard let handle else { throw CUDAError("cublasLtCreate returned no handle") }
        self.handle = Protected(handle)
        let pointer = try allocator.allocate(Self.workspaceBytes)
        workspace = Tensor(storage: DeviceStorage(address: UInt(pointer), byteCount: Self.workspaceBytes,
                                                  release: { allocator.release(CUdeviceptr($0)) }),
                           shape: [Self.workspaceBytes / 4], dtype: .float32)
    }

    /// The largest power of two (≤ 256) dividing an address: what the algorithm may assume.
    static func alignment(_ address: UInt) -> Int {
        var alignment = 256
        while alignment > 1 && address % UInt(alignment) != 0 { alignment /= 2 }
        return alignment
    }

    /// out [T, N] = x [T, K] · weight [N, K]ᵀ (+ bias [N] via the epilogue when `epilogueBias`).
    /// Column-major, that is D [N, T] = Wᵀ-as-stored (K×N, transposed) · X (K×T).
    func matmul(x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor) throws {
        func type(_ dtype: DType) -> Int32 { dtype == .float32 ? Int32(CCUDA_R_32F) : Int32(CCUDA_R_16BF) }
        try run(x: x, weight: weight, bias: bias, out: out, inType: type(x.dtype), outType: type(out.dtype), scales: nil)
    }

    /// out [T, N] bf16 = (x [T, K] · weight [N, K]ᵀ) · xScales[t] · weightScales[n] (+ bias [N]) with x and weight
    /// e4m3 and f32 scale vectors (cuBLASLt's outer-vector scaling, CUDA 12.9+ on Hopper), f32 accumulation —
    /// cuBLASLt's fast FP8 accumulation where `fastAccumulation` (vLLM's CUTLASS kernels use it).
    /// `blockScaled`: weightScales one per 128 × 128 block instead, [⌈N / 128⌉, K / 128] (K / 128 a multiple of 4), and
    /// xScales one per token per 128 columns, [K / 128, T] (tokens contiguous) — cuBLASLt's BLK128x128_32F and
    /// VEC128_32F scale modes (Hopper; no fast accumulation).
    func matmulFP8(x: Tensor, xScales: Tensor, weight: Tensor, weightScales: Tensor, bias: Tensor?, out: Tensor,
                   fastAccumulation: Bool, blockScaled: Bool = false) throws {
        try run(x: x, weight: weight, bias: bias, out: out, inType: Int32(CCUDA_R_8F_E4M3), outType: Int32(CCUDA_R_16BF),
                scales: (weightScales, xScales), fastAccumulation: fastAccumulation && !blockScaled, blockScaled: blockScaled)
    }

    private func run(x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, inType: Int32, outType: Int32,
                     scales: (weight: Tensor, x: Tensor)?, fastAccumulation: Bool = false, blockScaled: Bool = false) throws {
        let (rows, depth, columns) = (x.count / weight.shape[1], weight.shape[1], weight.shape[0])
        let key = PlanKey(rows: rows, columns: columns, depth: depth, inType: inType, outType: outType,
                          hasBias: bias != nil, fp8FastAccumulation: fastAccumulation, fp8BlockScaled: blockScaled,
                          alignments: [x.address, weight.address, out.address].map { Self.alignment($0) })
        try context.makeCurrent()
        try handle.withLock { handle in
            let plan = try plans.withLock { plans in
                if let plan = plans[key] { return plan }
                let plan = try makePlan(key, handle: handle)
                plans[key] = plan
                return plan
            }
            if let bias {
                var pointer = UInt64(bias.address)
                try api.check(api.raw.cublasLtMatmulDescSetAttribute!(
                    plan.description, Int32(CCUBLASLT_MATMUL_DESC_BIAS_POINTER), &pointer, 8), "set bias pointer")
            }
            if let scales {  // cuBLASLt's A is the weight, B the activations
                for (attribute, tensor) in [(CCUBLASLT_MATMUL_DESC_A_SCALE_POINTER, scales.weight), (CCUBLASLT_MATMUL_DESC_B_SCALE_POINTER, scales.x)] {
                    var pointer = UInt64(tensor.address)
                    try api.check(api.raw.cublasLtMatmulDescSetAttribute!(plan.description, Int32(attribute), &pointer, 8),
                                  "set scale pointer")
                }
            }
            func run() -> cublasStatus_t {
                var alpha: Float = 1
                var beta: Float = 0
                return api.raw.cublasLtMatmul!(handle, plan.description, &alpha,
                                               UnsafeRawPointer(bitPattern: weight.address), plan.layouts.a,
                                               UnsafeRawPointer(bitPattern: x.address), plan.layouts.b, &beta,
                                               UnsafeRawPointer(bitPattern: out.address), plan.layouts.d,
                                               UnsafeMutableRawPointer(bitPattern: out.address), plan.layouts.d,
                                               &plan.algorithm, UnsafeMutableRawPointer(bitPattern: workspace.address),
                                               Self.workspaceBytes, stream.handle)
            }
            var status = run()
            if status != 0 && Self.bucket(rows: rows) != rows {
                // The bucket's algorithm does not take this row count: ask the heuristic for it exactly.
                (plan.algorithm, plan.summary) = try heuristic(key, description: plan.description, layouts: plan.layouts, handle: handle)
                status = run()
            }
            try api.check(status, "cublasLtMatmul(T \(rows), N \(columns), K \(depth), out \(out.dtype))")
        }
    }

    /// A plan for `key`: its own descriptor and layouts (cheap), and the algorithm cuBLASLt's heuristic
    /// picks for `key`'s bucket of rows (a query of ~0.1–1 ms, so asked once a bucket, not once a step
    /// size: a serving mix gives nearly every step a new token count).
    private func makePlan(_ key: PlanKey, handle: cublasLtHandle_t) throws -> Plan {
        let (description, layouts) = try makeDescription(key)
        var bucket = key
        bucket.rows = Self.bucket(rows: key.rows)
        if let (algorithm, summary) = algorithms.withLock({ $0[bucket] }) {
            return Plan(description: description, layouts: layouts, algorithm: algorithm, summary: summary)
        }
        let choice: (cublasLtMatmulAlgo_t, String)
        if bucket == key {
            choice = try heuristic(key, description: description, layouts: layouts, handle: handle)
        } else {
            let (bucketDescription, bucketLayouts) = try makeDescription(bucket)
            defer { destroy(bucketDescription, bucketLayouts) }
            let (algorithm, summary) = try heuristic(bucket, description: bucketDescription, layouts: bucketLayouts, handle: handle)
            choice = (algorithm, summary + " (chosen for T \(bucket.rows))")
        }
        algorithms.withLock { $0[bucket] = choice }
        return Plan(description: description, layouts: layouts, algorithm: choice.0, summary: choice.1)
    }

    /// Rows rounded up to a power of two: the bucket whose heuristic answer every row count in it uses.
    static func bucket(rows: Int) -> Int {
        rows <= 1 ? 1 : 1 << (Int.bitWidth - (rows - 1).leadingZeroBitCount)
    }

    private func destroy(_ description: cublasLtMatmulDesc_t, _ layouts: (a: cublasLtMatrixLayout_t, b: cublasLtMatrixLayout_t, d: cublasLtMatrixLayout_t)) {
        _ = api.raw.cublasLtMatmulDescDestroy!(description)
        for layout in [layouts.a, layouts.b, layouts.d] { _ = api.raw.cublasLtMatrixLayoutDestroy!(layout) }
    }

    /// The matmul descriptor (transposes, bias epilogue) and the three matrix layouts of `key`.
    private func makeDescription(_ key: PlanKey) throws
        -> (cublasLtMatmulDesc_t, (a: cublasLtMatrixLayout_t, b: cublasLtMatrixLayout_t, d: cublasLtMatrixLayout_t)) {
        let what = "cuBLASLt plan T \(key.rows) N \(key.columns) K \(key.depth)"
        var description: cublasLtMatmulDesc_t?
        try api.check(api.raw.cublasLtMatmulDescCreate!(&description, Int32(CCUBLAS_COMPUTE_32F), Int32(CCUDA_R_32F)),
                      "cublasLtMatmulDescCreate (\(what))")
        func set(_ attribute: Int, _ value: Int32) throws {
            var value = value
            try api.check(api.raw.cublasLtMatmulDescSetAttribute!(description, Int32(attribute), &value, 4),
                          "cublasLtMatmulDescSetAttribute(\(attribute)) (\(what))")
        }
        try set(Int(CCUBLASLT_MATMUL_DESC_TRANSA), Int32(CCUBLAS_OP_T))
        try set(Int(CCUBLASLT_MATMUL_DESC_TRANSB), Int32(CCUBLAS_OP_N))
        if key.hasBias {
            try set(Int(CCUBLASLT_MATMUL_DESC_EPILOGUE), Int32(CCUBLASLT_EPILOGUE_BIAS))
            try set(Int(CCUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE), key.outType)  // bias of the output's dtype
        }
        if key.inType == Int32(CCUDA_R_8F_E4M3) {
            try set(Int(CCUBLASLT_MATMUL_DESC_A_SCALE_MODE), Int32(key.fp8BlockScaled ? CCUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F
                                                                                        : CCUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F))
            try set(Int(CCUBLASLT_MATMUL_DESC_B_SCALE_MODE), Int32(key.fp8BlockScaled ? CCUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F
                                                                                        : CCUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F))
            var fast: Int8 = key.fp8FastAccumulation ? 1 : 0
            try api.check(api.raw.cublasLtMatmulDescSetAttribute!(description, Int32(CCUBLASLT_MATMUL_DESC_FAST_ACCUM), &fast, 1),
                          "set fast accumulation (\(what))")
            // Vector scales need their pointers set before the heuristic is asked (null means a scalar 1): the
            // workspace's address until each call sets the real ones.
            for attribute in [CCUBLASLT_MATMUL_DESC_A_SCALE_POINTER, CCUBLASLT_MATMUL_DESC_B_SCALE_POINTER] {
                var pointer = UInt64(workspace.address)
                try api.check(api.raw.cublasLtMatmulDescSetAttribute!(description, Int32(attribute), &pointer, 8),
                              "set scale pointer (\(what))")
            }
        }
        func layout(_ type: Int32, rows: Int, columns: Int) throws -> cublasLtMatrixLayout_t {
            var layout: cublasLtMatrixLayout_t?
            try api.check(api.raw.cublasLtMatrixLayoutCreate!(&layout, type, UInt64(rows), UInt64(columns), Int64(rows)),
                          "cublasLtMatrixLayoutCreate (\(what))")
            return layout!
        }
        let a = try layout(key.inType, rows: key.depth, columns: key.columns)  // W as stored: K × N
        let b = try layout(key.inType, rows: key.depth, columns: key.rows)     // X as stored: K × T
        let d = try layout(key.outType, rows: key.columns, columns: key.rows)           // out as stored: N × T
        return (description!, (a, b, d))
    }

    /// cuBLASLt's first choice of algorithm for `key` (with the chosen configuration, for the log).
    private func heuristic(_ key: PlanKey, description: cublasLtMatmulDesc_t,
                           layouts: (a: cublasLtMatrixLayout_t, b: cublasLtMatrixLayout_t, d: cublasLtMatrixLayout_t),
                           handle: cublasLtHandle_t) throws -> (cublasLtMatmulAlgo_t, String) {
        let what = "cuBLASLt plan T \(key.rows) N \(key.columns) K \(key.depth)"
        let (a, b, d) = layouts
        var preference: cublasLtMatmulPreference_t?
        try api.check(api.raw.cublasLtMatmulPreferenceCreate!(&preference), "cublasLtMatmulPreferenceCreate")
        defer { _ = api.raw.cublasLtMatmulPreferenceDestroy!(preference) }
        var workspaceLimit = UInt64(Self.workspaceBytes)
        try api.check(api.raw.cublasLtMatmulPreferenceSetAttribute!(
            preference, Int32(CCUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES), &workspaceLimit, 8), "set workspace limit")
        let alignmentAttributes = [CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                                   CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CCUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES]
        let alignments = [key.alignments[1], key.alignments[0], key.alignments[2], key.alignments[2]]
        for (attribute, alignment) in zip(alignmentAttributes, alignments) {
            var value = UInt32(alignment)
            try api.check(api.raw.cublasLtMatmulPreferenceSetAttribute!(preference, Int32(attribute), &value, 4),
                          "set alignment")
        }
        var reductions = UInt32(CCUBLASLT_REDUCTION_SCHEME_INPLACE | CCUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE)
        try api.check(api.raw.cublasLtMatmulPreferenceSetAttribute!(
            preference, Int32(CCUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK), &reductions, 4), "set reduction schemes")
        var result = cublasLtMatmulHeuristicResult_t()
        var count: Int32 = 0
        try api.check(api.raw.cublasLtMatmulAlgoGetHeuristic!(handle, description, a, b, d, d, preference, 1, &result, &count),
                      "cublasLtMatmulAlgoGetHeuristic (\(what))")
        guard count > 0 else { throw CUDAError("cuBLASLt has no algorithm for \(what)") }
        func config(_ attribute: Int32) -> UInt32 {
            var value: UInt32 = 0
            var written = 0
            _ = withUnsafePointer(to: result.algo) { algo in
                api.raw.cublasLtMatmulAlgoConfigGetAttribute!(algo, attribute, &value, 4, &written)
            }
            return value
        }
        let summary = "algo \(config(Int32(CCUBLASLT_ALGO_CONFIG_ID))) tile \(config(Int32(CCUBLASLT_ALGO_CONFIG_TILE_ID))) "
            + "split-K \(config(Int32(CCUBLASLT_ALGO_CONFIG_SPLITK_NUM))) "
            + "reduction \(config(Int32(CCUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME)))"
        return (result.algo, summary)
    }
}

extension CUDABackend {
    /// cuBLASLt's version (e.g. 130100) and, per matmul shape run so far, the algorithm it chose.
    public var blasLtVersion: Int { blasLt.version }
    public func matmulPlanSummaries() -> [String] { blasLt.planSummaries() }

    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor) throws {
        try linear(x, weight: weight, bias: bias, out: out, freshWeight: false)
    }

    /// `linear` of a weight a kernel queued before wrote (`freshWeight`: linear.cu's kernel then reads it only after
    /// waiting for that kernel).
    func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, freshWeight: Bool) throws {
        let act = activationDType
        try require(weight.rank == 2 && x.dtype == act && weight.dtype == act && (out.dtype == act || out.dtype == .float32),
                    "linear", "x \(x), weight \(weight), out \(out) (want \(act) x and weight [N, K], \(act) or f32 out)")
        let (columns, depth) = (weight.shape[0], weight.shape[1])
        try require(x.count % depth == 0 && out.count == x.count / depth * columns, "linear",
                    "x \(x) · weight \(weight)ᵀ into out \(out)")
        if let bias {
            try require(bias.count == columns && bias.dtype == act, "linear", "bias \(bias) for \(columns) outputs")
        }
        guard x.count > 0 else { return }
        // Decode steps (at most 8 tokens): linear.cu's skinny kernel streams the weight once for every
        // token, rounding as the cuBLASLt path below does; it declines what it does not take.
        if act == .bfloat16, Self.isSmallLinearEnabled, x.count / depth <= Self.smallLinearMaxTokens,
           try smallLinear(x, weight: weight, bias: bias, out: out, freshWeight: freshWeight) {
            try profiler.mark("linear N \(columns) K \(depth)")
            return
        }
        // bf16 operands and an f32 out (the logits): the matmul's result rounded to bf16 after, the bias
        // added before the rounding.
        let widened = out.dtype != act
        try blasLt.matmul(x: x, weight: weight, bias: widened ? nil : bias, out: out)
        try profiler.mark("linear N \(columns) K \(depth)")
        if widened { try roundToBFloat16(out, bias: bias) }
    }
}
