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

    let embedTokens: Tensor   // [V, H]
    let layers: [Layer]
    let norm: Tensor          // [H]
    let lmHead: LinearWeight  // [V, H]; the embedding itself when tied
    let cosSinCache: Tensor   // [maxPositions, rotaryDim] f32
    /// The paged cache's dtype: the activation dtype, or fp8 (`--kv-cache-dtype`) with each layer's scales.
    let kvCacheDType: DType
    let kvScales: [(key: Float, value: Float)]

    init(config: ModelConfig, backend: any Backend, loader: WeightLoader, maxPositions: Int, kvCacheDType: DType? = nil) throws {
        self.config = config
        self.backend = backend
        let cacheDType = kvCacheDType ?? backend.activationDType
        self.kvCacheDType = cacheDType
        // An fp8 cache's scales from the checkpoint where it has them (vLLM's names), else 1.
        kvScales = try (0..<config.numHiddenLayers).map { i in
            let p = "model.layers.\(i).self_attn."
            guard cacheDType.float8Format != nil else { return (1, 1) }
            return (try loader.scalar([p + "k_scale", p + "attn.k_scale", p + "k_proj.output_scale"]) ?? 1,
                    try loader.scalar([p + "v_scale", p + "attn.v_scale", p + "v_proj.output_scale"]) ?? 1)
        }
        let h = config.hiddenSize, d = config.headDim, inter = config.intermediateSize
        let qWidth = config.numAttentionHeads * d, kvWidth = config.numKeyValueHeads * d
        func bias(_ name: String, _ n: Int, _ present: Bool) throws -> Tensor? {
            present ? try loader.load(name, shape: [n]) : nil
        }
        embedTokens = try loader.load("model.embed_tokens.weight", shape: [config.vocabSize, h])
        layers = try (0..<config.numHiddenLayers).map { i in
            let p = "model.layers.\(i)."
            return Layer(
                inputLayernorm: try loader.load(p + "input_layernorm.weight", shape: [h]),
                qkvProj: try loader.loadLinear([(p + "self_attn.q_proj", qWidth), (p + "self_attn.k_proj", kvWidth),
                                                (p + "self_attn.v_proj", kvWidth)], k: h),
                qkvBias: config.attentionBias
                    ? try loader.loadConcatenated([(p + "self_attn.q_proj.bias", [qWidth]), (p + "self_attn.k_proj.bias", [kvWidth]),
                                                   (p + "self_attn.v_proj.bias", [kvWidth])])
                    : nil,
                qNorm: config.qkNorm ? try loader.load(p + "self_attn.q_norm.weight", shape: [d]) : nil,
                kNorm: config.qkNorm ? try loader.load(p + "self_attn.k_norm.weight", shape: [d]) : nil,
                oProj: try loader.loadLinear([(p + "self_attn.o_proj", h)], k: qWidth),
                oBias: try bias(p + "self_attn.o_proj.bias", h, config.outputBias),
                postAttentionLayernorm: try loader.load(p + "post_attention_layernorm.weight", shape: [h]),
                gateUpProj: try loader.loadLinear([(p + "mlp.gate_proj", inter), (p + "mlp.up_proj", inter)], k: h),
                gateUpBias: config.mlpBias
                    ? try loader.loadConcatenated([(p + "mlp.gate_proj.bias", [inter]), (p + "mlp.up_proj.bias", [inter])])
                    : nil,
                downProj: try loader.loadLinear([(p + "mlp.down_proj", h)], k: inter),
                downBias: try bias(p + "mlp.down_proj.bias", h, config.mlpBias))
        }
        norm = try loader.load("model.norm.weight", shape: [h])
        // transformers ties when tie_word_embeddings is set; a checkpoint without lm_head is tied too.
        // A GPTQ checkpoint quantized with lm_head: true holds lm_head.qweight instead.
        if config.tieWordEmbeddings || !(loader.contains("lm_head.weight") || loader.contains("lm_head.qweight")) {
            lmHead = .dense(embedTokens)
        } else {
            lmHead = try loader.loadLinear([("lm_head", config.vocabSize)], k: h, inDecoderLayer: false)
        }
        let (table, rotaryDim) = RotaryEmbedding.cosSinTable(config: config, numPositions: maxPositions)
        cosSinCache = try backend.makeTensor(table, shape: [maxPositions, rotaryDim], dtype: .float32)
    }

    public func kvCacheBytesPerBlock(blockSize: Int) -> Int {
        2 * config.numHiddenLayers * blockSize * config.numKeyValueHeads * config.headDim * kvCacheDType.size
    }

    public func makeKVCaches(numBlocks: Int, blockSize: Int) throws -> [PagedKVCache] {
        let shape = [numBlocks, blockSize, config.numKeyValueHeads, config.headDim]
        return try kvScales.map { scales in
            PagedKVCache(key: try backend.allocate(shape: shape, dtype: kvCacheDType),
                         value: try backend.allocate(shape: shape, dtype: kvCacheDType), keyScale: scales.key, valueScale: scales.value)
        }
    }

    public func makeWorkspace(maxNumTokens: Int, maxNumSeqs: Int) throws -> ForwardWorkspace {
        let t = maxNumTokens, act = backend.activationDType
        let h = config.hiddenSize, d = config.headDim
        let shapes: [String: ([Int], DType)] = [
            "hidden": ([t, h], act), "residual": ([t, h], act), "normed": ([t, h], act),
            "qkv": ([t, (config.numAttentionHeads + 2 * config.numKeyValueHeads) * d], act),
            "q": ([t, config.numAttentionHeads * d], act), "k": ([t, config.numKeyValueHeads * d], act),
            "v": ([t, config.numKeyValueHeads * d], act), "attention": ([t, config.numAttentionHeads * d], act),
            "gateUp": ([t, 2 * config.intermediateSize], act), "activated": ([t, config.intermediateSize], act),
            "selected": ([maxNumSeqs, h], act), "logits": ([maxNumSeqs, config.vocabSize], .float32),
        ]
        return ForwardWorkspace(maxNumTokens: t, maxNumSeqs: maxNumSeqs,
                                buffers: try shapes.mapValues { try backend.allocate(shape: $0.0, dtype: $0.1) })
    }

    public func forward(_ input: ForwardInput, kvCaches: [PagedKVCache], workspace w: ForwardWorkspace) throws -> Tensor {
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

        try b.embedding(tokenIds: input.tokenIds, table: embedTokens, out: hidden)
        for (i, layer) in layers.enumerated() {
            if i == 0 {
                try b.copy(hidden, to: residual)
                try b.rmsNorm(residual, weight: layer.inputLayernorm, epsilon: eps, out: normed)
            } else {
                try b.addRMSNorm(hidden, residual: residual, weight: layer.inputLayernorm, epsilon: eps, out: normed)
            }
            // One GEMM for q, k and v; the split rotates q and k and writes k and v into the cache on the way
            // (Qwen3 normalizes q and k first, so it splits, normalizes, rotates, then writes).
            try b.linear(normed, weight: layer.qkvProj, bias: layer.qkvBias, out: qkv)
            if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
                try b.splitQKV(qkv, query: q, kv: .tensors(key: k, value: v), headSize: d, rotary: nil)
                let qHeads = q.reshaped([t * config.numAttentionHeads, d]), kHeads = k.reshaped([t * config.numKeyValueHeads, d])
                try b.rmsNorm(qHeads, weight: qNorm, epsilon: eps, out: qHeads)
                try b.rmsNorm(kHeads, weight: kNorm, epsilon: eps, out: kHeads)
                try b.rotaryEmbedding(query: q, key: k, positions: input.positions, cosSinCache: cosSinCache, headSize: d)
                try b.writeKVCache(key: k, value: v, cache: kvCaches[i], slotMapping: input.attention.slotMapping)
            } else {
                try b.splitQKV(qkv, query: q, kv: .cache(kvCaches[i], slotMapping: input.attention.slotMapping), headSize: d,
                               rotary: (input.positions, cosSinCache))
            }
            try b.pagedAttention(query: q, cache: kvCaches[i], metadata: input.attention, scale: scale, out: attention)
            try b.linear(attention, weight: layer.oProj, bias: layer.oBias, out: hidden)
            try b.addRMSNorm(hidden, residual: residual, weight: layer.postAttentionLayernorm, epsilon: eps, out: normed)
            try b.linear(normed, weight: layer.gateUpProj, bias: layer.gateUpBias, out: gateUp)
            try b.siluAndMul(gateUp, out: activated)
            try b.linear(activated, weight: layer.downProj, bias: layer.downBias, out: hidden)
        }
        try b.addRMSNorm(hidden, residual: residual, weight: norm, epsilon: eps, out: normed)
        let selected = w.take("selected", rows: s), logits = w.take("logits", rows: s)
        try b.gatherRows(normed, indices: input.logitsIndices, out: selected)
        try b.linear(selected, weight: lmHead, bias: nil, out: logits)
        return logits
    }

    public func finalHiddenStates(tokens: Int, workspace w: ForwardWorkspace) -> Tensor {
        w.take("normed", rows: tokens)  // the final RMSNorm's output, before the gather of the logits rows
    }

    public func logits(rows: Tensor, workspace w: ForwardWorkspace) throws -> Tensor {
        let s = rows.count
        guard s <= w.maxNumSeqs else { throw ModelError("logits: \(s) rows exceed the workspace's \(w.maxNumSeqs)") }
        let selected = w.take("selected", rows: s), logits = w.take("logits", rows: s)
        // "normed" still holds the last forward's final RMSNorm output.
        try backend.gatherRows(w.buffers["normed"]!, indices: rows, out: selected)
        try backend.linear(selected, weight: lmHead, bias: nil, out: logits)
        return logits
    }
}
