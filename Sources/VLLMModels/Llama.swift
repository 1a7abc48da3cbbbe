import FoundationEssentials
import VLLMCompute

/// Llama and the families that share its shape: Mistral, Qwen2 (q/k/v bias) and Qwen3 (per-head q/k
/// RMSNorm, explicit head_dim). Reads side by side with transformers' `modeling_llama.py`.
public final class LlamaModel: CausalLM {
    public let config: ModelConfig
    public let backend: any Backend

    /// One decoder layer's weights; shapes with H = hidden, I = intermediate, D = head_dim.
    struct Layer {
        var inputLayernorm: Tensor          // [H]
        var qkvProj: LinearWeight           // [(numHeads + 2·numKVHeads)·D, H]: q_proj, k_proj, v_proj rows
        var qkvBias: Tensor?                // [(numHeads + 2·numKVHeads)·D] (Qwen2)
        var qNorm: Tensor?, kNorm: Tensor?  // [D] (Qwen3)
        var oProj: LinearWeight, oBias: Tensor?   // [H, numHeads·D]
        var postAttentionLayernorm: Tensor  // [H]
        var gateUpProj: LinearWeight        // [2I, H]: gate_proj rows, then up_proj rows
        var gateUpBias: Tensor?             // [2I]
        var downProj: LinearWeight, downBias: Tensor?  // [H, I]
    }

    /// What the last pipeline stage holds after the decoder layers.
    struct Head {
        var norm: Tensor          // [H]
        var lmHead: LinearWeight  // [V, H] (or [Vr, H]); the embedding's rows when tied
    }

    /// [V, H]; under tensor parallelism this rank's vocabulary rows [Vr, H]. The first pipeline stage's only.
    let embedTokens: Tensor?
    /// The decoder layers of this pipeline stage (`pipelineStage.layers(of:)`; all of them in one stage).
    let layers: [Layer]
    /// The last pipeline stage's only.
    let head: Head?
    let cosSinCache: Tensor   // [maxPositions, rotaryDim] f32
    /// The paged cache's dtype: the activation dtype, or fp8 (`--kv-cache-dtype`) with the scales of each layer held.
    let kvCacheDType: DType
    let kvScales: [(key: Float, value: Float)]
    /// This rank's share (tensor parallelism, as vLLM splits Llama): `numHeads` query heads, `numKVHeads`
    /// key/value heads (replicated when the model has fewer than ranks), `intermediateSize` MLP columns,
    /// and the vocabulary rows `vocabStart ..< vocabStart + vocabPerRank` (the last rank's padded with zero
    /// rows when the vocabulary does not split evenly). All of the model where `tensorParallel.size == 1`.
    public let tensorParallel: TensorParallelRank
    /// This instance's pipeline stage: its decoder layers, and whether it embeds the tokens (the first) or computes
    /// the logits (the last); stages hand the residual stream on through its communicator.
    public let pipelineStage: PipelineStage
    let numHeads: Int, numKVHeads: Int, intermediateSize: Int
    let vocabStart: Int, vocabPerRank: Int
    /// The adapters' slots, where loaded with LoRA.
    let lora: LlamaLoRASlots?

    /// How the decoder layers hold their linears on this backend — "int4", "int8" (two 4-bit planes), "fp8" or
    /// "dense" (of qkv_proj, the first layer's): what a check says it ran.
    public var decoderLinearKind: String {
        switch layers.first?.qkvProj {
        case .int4(let weight): "int\(weight.bits)"
        case .fp8: "fp8"
        case .dense, nil: "dense"
        }
    }

    init(config: ModelConfig, backend: any Backend, loader: WeightLoader, maxPositions: Int, kvCacheDType: DType? = nil,
         parallel: TensorParallelRank = .single, pipeline: PipelineStage = .single, lora capacity: LoRACapacity? = nil) throws {
        self.config = config
        self.backend = backend
        self.tensorParallel = parallel
        self.pipelineStage = pipeline
        let stageLayers = pipeline.layers(of: config.numHiddenLayers)
        let cacheDType = kvCacheDType ?? backend.activationDType
        self.kvCacheDType = cacheDType
        // An fp8 cache's scales from the checkpoint where it has them (vLLM's names), else 1.
        kvScales = try stageLayers.map { i in
            let p = "model.layers.\(i).self_attn."
            guard cacheDType.float8Format != nil else { return (1, 1) }
            return (try loader.scalar([p + "k_scale", p + "attn.k_scale", p + "k_proj.output_scale"]) ?? 1,
                    try loader.scalar([p + "v_scale", p + "attn.v_scale", p + "v_proj.output_scale"]) ?? 1)
        }
        let h = config.hiddenSize, d = config.headDim, inter = config.intermediateSize
        let qWidth = config.numAttentionHeads * d, kvWidth = config.numKeyValueHeads * d
        let split = try Self.split(config, parallel)
        (numHeads, numKVHeads, intermediateSize) = (split.heads.count, split.kvHeads.count, split.intermediate.count)
        (vocabStart, vocabPerRank) = (split.vocabulary.lowerBound, split.vocabPerRank)
        let qRows = split.heads.lowerBound * d ..< split.heads.upperBound * d
        let kvRows = split.kvHeads.lowerBound * d ..< split.kvHeads.upperBound * d
        let ranks = parallel.size > 1
        func bias(_ name: String, _ n: Int, _ present: Bool) throws -> Tensor? {
            present ? try loader.load(name, shape: [n]) : nil
        }
        // Each pipeline stage reads only the tensors it holds from the mapped checkpoint.
        func embedding() throws -> Tensor {
            try loader.load("model.embed_tokens.weight", shape: [config.vocabSize, h], rows: split.vocabulary,
                            paddedRows: split.vocabPerRank)
        }
        let embedTokens = pipeline.isFirst ? try embedding() : nil
        self.embedTokens = embedTokens
        layers = try stageLayers.map { i in
            let p = "model.layers.\(i)."
            return Layer(
                inputLayernorm: try loader.load(p + "input_layernorm.weight", shape: [h]),
                // Column-parallel: this rank's heads of q, k and v, and its intermediate columns of gate and up.
                qkvProj: try loader.loadLinear([(p + "self_attn.q_proj", qWidth, qRows), (p + "self_attn.k_proj", kvWidth, kvRows),
                                                (p + "self_attn.v_proj", kvWidth, kvRows)], k: h),
                qkvBias: config.attentionBias
                    ? try loader.loadConcatenated([(p + "self_attn.q_proj.bias", [qWidth], qRows),
                                                   (p + "self_attn.k_proj.bias", [kvWidth], kvRows),
                                                   (p + "self_attn.v_proj.bias", [kvWidth], kvRows)])
                    : nil,
                qNorm: config.qkNorm ? try loader.load(p + "self_attn.q_norm.weight", shape: [d]) : nil,
                kNorm: config.qkNorm ? try loader.load(p + "self_attn.k_norm.weight", shape: [d]) : nil,
                // Row-parallel: this rank's input columns; the bias is added once, by rank 0, before the all-reduce.
                oProj: try loader.loadLinear([(p + "self_attn.o_proj", h, nil)], k: qWidth, columns: ranks ? qRows : nil),
                oBias: try bias(p + "self_attn.o_proj.bias", h, config.outputBias && parallel.rank == 0),
                postAttentionLayernorm: try loader.load(p + "post_attention_layernorm.weight", shape: [h]),
                gateUpProj: try loader.loadLinear([(p + "mlp.gate_proj", inter, split.intermediate),
                                                   (p + "mlp.up_proj", inter, split.intermediate)], k: h),
                gateUpBias: config.mlpBias
                    ? try loader.loadConcatenated([(p + "mlp.gate_proj.bias", [inter], split.intermediate),
                                                   (p + "mlp.up_proj.bias", [inter], split.intermediate)])
                    : nil,
                downProj: try loader.loadLinear([(p + "mlp.down_proj", h, nil)], k: inter, columns: ranks ? split.intermediate : nil),
                downBias: try bias(p + "mlp.down_proj.bias", h, config.mlpBias && parallel.rank == 0))
        }
        if pipeline.isLast {
            // transformers ties when tie_word_embeddings is set; a checkpoint without lm_head is tied too (a last stage
            // that is not the first reads the embedding's rows for it). A GPTQ checkpoint quantized with lm_head: true
            // holds lm_head.qweight instead.
            let lmHead: LinearWeight
            if config.tieWordEmbeddings || !(loader.contains("lm_head.weight") || loader.contains("lm_head.qweight")) {
                lmHead = .dense(try embedTokens ?? embedding())
            } else {
                lmHead = try loader.loadLinear([("lm_head", config.vocabSize, split.vocabulary)], k: h, paddedRows: vocabPerRank,
                                               inDecoderLayer: false)
            }
            head = Head(norm: try loader.load("model.norm.weight", shape: [h]), lmHead: lmHead)
        } else {
            head = nil
        }
        lora = try capacity.map {
            try LlamaLoRASlots(config: config, backend: backend, capacity: $0, qRows: qRows, kvRows: kvRows,
                               intermediate: split.intermediate, rowParallel: ranks)
        }
        let (table, rotaryDim) = RotaryEmbedding.cosSinTable(config: config, numPositions: maxPositions)
        cosSinCache = try backend.makeTensor(table, shape: [maxPositions, rotaryDim], dtype: .float32)
    }

    /// What rank `parallel.rank` holds, as vLLM splits Llama; a clear error where the model does not split
    /// into `parallel.size` ranks.
    static func split(_ config: ModelConfig, _ parallel: TensorParallelRank)
        throws -> (heads: Range<Int>, kvHeads: Range<Int>, intermediate: Range<Int>, vocabulary: Range<Int>, vocabPerRank: Int) {
        let size = parallel.size, rank = parallel.rank
        let heads = config.numAttentionHeads, kvHeads = config.numKeyValueHeads
        func refuse(_ what: String) -> ModelError {
            ModelError("--tensor-parallel-size \(size): \(what) (vLLM requires the same)")
        }
        guard heads % size == 0 else { throw refuse("the model's \(heads) attention heads do not split into \(size) ranks") }
        guard kvHeads >= size ? kvHeads % size == 0 : size % kvHeads == 0 else {
            throw refuse("the model's \(kvHeads) key/value heads neither split into \(size) ranks nor replicate over them")
        }
        guard config.intermediateSize % size == 0 else {
            throw refuse("the MLP's \(config.intermediateSize) intermediate columns do not split into \(size) ranks")
        }
        // Fewer KV heads than ranks: each is replicated over size / kvHeads consecutive ranks.
        let kvHead = kvHeads >= size ? parallel.share(of: kvHeads) : rank / (size / kvHeads) ..< rank / (size / kvHeads) + 1
        let perRank = (config.vocabSize + size - 1) / size
        let vocabulary = min(config.vocabSize, rank * perRank) ..< min(config.vocabSize, (rank + 1) * perRank)
        return (parallel.share(of: heads), kvHead, parallel.share(of: config.intermediateSize), vocabulary, perRank)
    }

    public var loraCapacity: LoRACapacity? { lora?.capacity }

    public func setLoRA(_ adapter: LoRAAdapter?, slot: Int) throws {
        guard let lora else { throw ModelError("this model was loaded without LoRA slots") }
        try lora.set(adapter, slot: slot)
    }

    public func kvCacheBytesPerBlock(blockSize: Int) -> Int {
        2 * layers.count * blockSize * numKVHeads * config.headDim * kvCacheDType.size
    }

    public func makeKVCaches(numBlocks: Int, blockSize: Int) throws -> [PagedKVCache] {
        let shape = [numBlocks, blockSize, numKVHeads, config.headDim]
        return try kvScales.map { scales in
            PagedKVCache(key: try backend.allocate(shape: shape, dtype: kvCacheDType),
                         value: try backend.allocate(shape: shape, dtype: kvCacheDType), keyScale: scales.key, valueScale: scales.value)
        }
    }

    public func makeWorkspace(maxNumTokens: Int, maxNumSeqs: Int) throws -> ForwardWorkspace {
        let t = maxNumTokens, act = backend.activationDType
        let h = config.hiddenSize, d = config.headDim
        var shapes: [String: ([Int], DType)] = [
            "hidden": ([t, h], act), "residual": ([t, h], act), "normed": ([t, h], act),
            "qkv": ([t, (numHeads + 2 * numKVHeads) * d], act),
            "q": ([t, numHeads * d], act), "k": ([t, numKVHeads * d], act),
            "v": ([t, numKVHeads * d], act), "attention": ([t, numHeads * d], act),
            "gateUp": ([t, 2 * intermediateSize], act), "activated": ([t, intermediateSize], act),
        ]
        if pipelineStage.isLast {
            shapes["selected"] = ([maxNumSeqs, h], act)
            shapes["logits"] = ([maxNumSeqs, config.vocabSize], .float32)
        }
        if tensorParallel.size > 1 && pipelineStage.isLast {
            // This rank's vocabulary columns, then every rank's side by side before they are interleaved.
            shapes["logitsShard"] = ([maxNumSeqs, vocabPerRank], .float32)
            shapes["logitsGathered"] = ([tensorParallel.size * maxNumSeqs, vocabPerRank], .float32)
        }
        return ForwardWorkspace(maxNumTokens: t, maxNumSeqs: maxNumSeqs,
                                buffers: try shapes.mapValues { try backend.allocate(shape: $0.0, dtype: $0.1) })
    }

    public func forward(_ input: ForwardInput, kvCaches: [PagedKVCache], workspace w: ForwardWorkspace) throws -> Tensor? {
        let t = input.tokenIds.count, s = input.logitsIndices.count, b = backend
        guard t <= w.maxNumTokens, s <= w.maxNumSeqs else {
            throw ModelError("forward: \(t) tokens / \(s) logits rows exceed the workspace's \(w.maxNumTokens) / \(w.maxNumSeqs)")
        }
        let hidden = w.take("hidden", rows: t), residual = w.take("residual", rows: t), normed = w.take("normed", rows: t)
        let qkv = w.take("qkv", rows: t), q = w.take("q", rows: t), k = w.take("k", rows: t), v = w.take("v", rows: t)
        let attention = w.take("attention", rows: t), gateUp = w.take("gateUp", rows: t)
        let activated = w.take("activated", rows: t)
        let eps = config.rmsNormEps, d = config.headDim
        let scale = 1 / Float(d).squareRoot()

        // Decode steps fold the q/k/v split, the SiLU·mul and the residual adds into the linears before them where the
        // backend can (`Backend.fusedLinear`; not with LoRA, whose deltas are added to the plain product). qkv and
        // gate_up are column-parallel — each rank's product is whole for its heads and rows — so theirs fold on every
        // rank (`foldsColumnParallel`); o and down's adds not across ranks, whose partial products are all-reduced
        // before the add, nor between pipeline stages, which hand on the last product and the residual apart (`fuses`).
        // `pending`: hidden holds a linear's product not yet added into residual.
        let foldsColumnParallel = input.lora == nil
        let fuses = foldsColumnParallel && tensorParallel.size == 1 && pipelineStage.size == 1
        var pending = false
        /// normed = rmsNorm(residual), after residual += hidden when pending; `feeding`, the linear normed goes to.
        func normalize(_ weight: Tensor, feeding: LinearWeight? = nil) throws {
            if let feeding {
                try b.rmsNorm(pending ? hidden : residual, residual: pending ? residual : nil, weight: weight, epsilon: eps,
                              out: normed, feeding: feeding)
            } else if pending {
                try b.addRMSNorm(hidden, residual: residual, weight: weight, epsilon: eps, out: normed)
            } else {
                try b.rmsNorm(residual, weight: weight, epsilon: eps, out: normed)
            }
            pending = false
        }
        /// residual += x · weightᵀ, or hidden = the product, left pending.
        func residualLinear(_ x: Tensor, _ weight: LinearWeight, _ bias: Tensor?, lora: KeyPath<LlamaLoRASlots.Layer, LoRAWeights>,
                            layer: Int) throws {
            if fuses, !pending, try b.fusedLinear(x, weight: weight, bias: bias, epilogue: .addToOut, out: residual) { return }
            try b.linear(x, weight: weight, bias: bias, out: hidden)
            try addLoRA(lora, layer: layer, x, input, out: hidden)
            try tensorParallel.communicator?.allReduce(hidden)
            pending = true
        }

        if let embedTokens {
            // A vocabulary shard looks up its own ids (zero rows for the others'); the all-reduce completes the rows.
            try b.embedding(tokenIds: input.tokenIds, table: embedTokens, firstTokenId: vocabStart, out: residual)
            try tensorParallel.communicator?.allReduce(residual)
        } else {
            // A later pipeline stage goes on from the stage before's last layer: its down_proj product and the residual
            // it is still to be added to (each tensor-parallel rank from the same rank there, which holds them whole).
            let previous = try stageCommunicator()
            try previous.recv(hidden, from: pipelineStage.stage - 1)
            try previous.recv(residual, from: pipelineStage.stage - 1)
            pending = true
        }
        for (i, layer) in layers.enumerated() {
            // One GEMM for q, k and v; the split rotates q and k and writes k and v into the cache on the way
            // (Qwen3 normalizes q and k first, so it splits, normalizes, rotates, then writes).
            try normalize(layer.inputLayernorm, feeding: layer.qkvProj)
            let split = LinearEpilogue.splitQKV(cache: kvCaches[i], slotMapping: input.attention.slotMapping,
                                                positions: input.positions, cosSinCache: cosSinCache, headSize: d)
            let splitFolded = try layer.qNorm == nil && foldsColumnParallel
                && b.fusedLinear(normed, weight: layer.qkvProj, bias: layer.qkvBias, epilogue: split, out: q)
            if !splitFolded {
                try b.linear(normed, weight: layer.qkvProj, bias: layer.qkvBias, out: qkv)
                try addLoRA(\.qkv, layer: i, normed, input, out: qkv)
                if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
                    try b.splitQKV(qkv, query: q, kv: .tensors(key: k, value: v), headSize: d, rotary: nil)
                    let qHeads = q.reshaped([t * numHeads, d]), kHeads = k.reshaped([t * numKVHeads, d])
                    try b.rmsNorm(qHeads, weight: qNorm, epsilon: eps, out: qHeads)
                    try b.rmsNorm(kHeads, weight: kNorm, epsilon: eps, out: kHeads)
                    try b.rotaryEmbedding(query: q, key: k, positions: input.positions, cosSinCache: cosSinCache, headSize: d)
                    try b.writeKVCache(key: k, value: v, cache: kvCaches[i], slotMapping: input.attention.slotMapping)
                } else {
                    try b.splitQKV(qkv, query: q, kv: .cache(kvCaches[i], slotMapping: input.attention.slotMapping), headSize: d,
                                   rotary: (input.positions, cosSinCache))
                }
            }
            try b.pagedAttention(query: q, cache: kvCaches[i], metadata: input.attention, scale: scale, out: attention)
            try residualLinear(attention, layer.oProj, layer.oBias, lora: \.o, layer: i)
            try normalize(layer.postAttentionLayernorm, feeding: layer.gateUpProj)
            let gated = try foldsColumnParallel
                && b.fusedLinear(normed, weight: layer.gateUpProj, bias: layer.gateUpBias, epilogue: .siluAndMul, out: activated)
            if !gated {
                try b.linear(normed, weight: layer.gateUpProj, bias: layer.gateUpBias, out: gateUp)
                try addLoRA(\.gateUp, layer: i, normed, input, out: gateUp)
                try b.siluAndMul(gateUp, out: activated, feeding: layer.downProj)
            }
            try residualLinear(activated, layer.downProj, layer.downBias, lora: \.down, layer: i)
        }
        guard let head else {
            let next = try stageCommunicator()
            try next.send(hidden, to: pipelineStage.stage + 1)
            try next.send(residual, to: pipelineStage.stage + 1)
            return nil
        }
        try normalize(head.norm)
        // Every row wanted (a decode step: the indices increase, so S = T means 0 ..< T): no gather.
        var selected = normed
        if s != t {
            selected = w.take("selected", rows: s)
            try b.gatherRows(normed, indices: input.logitsIndices, out: selected)
        }
        return try lmHeadLogits(selected, head: head, workspace: w)
    }

    /// The group of this rank's pipeline stages (only a model of several stages asks).
    private func stageCommunicator() throws -> any Communicator {
        guard let communicator = pipelineStage.communicator else {
            throw ModelError("pipeline stage \(pipelineStage.stage) of \(pipelineStage.size) has no communicator")
        }
        return communicator
    }

    /// Multi-LoRA: each token's adapter added to linear `which` of `layer` (nothing without slots or a mapping).
    private func addLoRA(_ which: KeyPath<LlamaLoRASlots.Layer, LoRAWeights>, layer: Int, _ x: Tensor, _ input: ForwardInput,
                         out: Tensor) throws {
        guard let mapping = input.lora, let slots = lora?.layers[layer] else { return }
        try backend.addLoRA(x, weights: slots[keyPath: which], mapping: mapping, out: out)
    }

    /// Logits [S, V] f32 of final hidden states [S, H]. A vocabulary-parallel lm_head computes this rank's
    /// columns, gathers every rank's, and interleaves them into whole rows (dropping the padding).
    func lmHeadLogits(_ selected: Tensor, head: Head, workspace w: ForwardWorkspace) throws -> Tensor {
        let s = selected.shape[0], logits = w.take("logits", rows: s)
        guard let communicator = tensorParallel.communicator else {
            try backend.linear(selected, weight: head.lmHead, bias: nil, out: logits)
            return logits
        }
        let shard = w.take("logitsShard", rows: s), gathered = w.take("logitsGathered", rows: tensorParallel.size * s)
        try backend.linear(selected, weight: head.lmHead, bias: nil, out: shard)
        try communicator.allGather(shard, out: gathered)
        try backend.concatenateColumns(gathered.reshaped([tensorParallel.size, s, vocabPerRank]), out: logits)
        return logits
    }

    public func finalHiddenStates(tokens: Int, workspace w: ForwardWorkspace) -> Tensor {
        w.take("normed", rows: tokens)  // the final RMSNorm's output, before the gather of the logits rows
    }

    public func logits(rows: Tensor, workspace w: ForwardWorkspace) throws -> Tensor {
        let s = rows.count
        guard s <= w.maxNumSeqs else { throw ModelError("logits: \(s) rows exceed the workspace's \(w.maxNumSeqs)") }
        guard let head else {
            throw ModelError("logits: pipeline stage \(pipelineStage.stage) of \(pipelineStage.size) holds no lm_head")
        }
        let selected = w.take("selected", rows: s)
        // "normed" still holds the last forward's final RMSNorm output.
        try backend.gatherRows(w.buffers["normed"]!, indices: rows, out: selected)
        return try lmHeadLogits(selected, head: head, workspace: w)
    }
}
