import FoundationEssentials

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The RoPE variant of a config and its parameters, as transformers' `rope_parameters` holds them.
public struct RopeParameters: Sendable, Equatable {
    public enum Scaling: Sendable, Equatable {
        case none
        case linear(factor: Double)
        /// NTK-aware scaling recomputed for the sequence length (transformers' `dynamic`).
        case dynamic(factor: Double)
        case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
        case yarn(factor: Double, originalMaxPositions: Int, attentionFactor: Double?, betaFast: Double,
                  betaSlow: Double, mscale: Double?, mscaleAllDim: Double?, truncate: Bool)
    }

    public var theta: Double
    public var scaling: Scaling
    public var partialRotaryFactor: Double

    init(_ raw: RawRope?, theta: Double, maxPositionEmbeddings: Int, originalMaxPositionEmbeddings: Int?,
         partialRotaryFactor: Double?, path: String) throws {
        self.theta = theta
        self.partialRotaryFactor = raw?.partial_rotary_factor ?? partialRotaryFactor ?? 1
        let type = raw?.rope_type ?? raw?.type ?? "default"
        func factor() throws -> Double {
            guard let factor = raw?.factor else { throw ModelError("\(path): rope type '\(type)' needs a 'factor'") }
            guard factor > 0 else { throw ModelError("\(path): rope 'factor' must be positive, got \(factor)") }
            return factor
        }
        // transformers: config.original_max_position_embeddings wins, then the rope dict's, then max_position_embeddings.
        let originalMax = originalMaxPositionEmbeddings ?? raw?.original_max_position_embeddings ?? maxPositionEmbeddings
        switch type {
        case "default": scaling = .none
        case "linear": scaling = .linear(factor: try factor())
        case "dynamic": scaling = .dynamic(factor: try factor())
        case "llama3":
            guard let low = raw?.low_freq_factor, let high = raw?.high_freq_factor else {
                throw ModelError("\(path): rope type 'llama3' needs low_freq_factor and high_freq_factor")
            }
            scaling = .llama3(factor: try factor(), lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: originalMax)
        case "yarn":
            let factor = raw?.factor ?? Double(maxPositionEmbeddings) / Double(originalMax)
            scaling = .yarn(factor: factor, originalMaxPositions: originalMax, attentionFactor: raw?.attention_factor,
                            betaFast: raw?.beta_fast ?? 32, betaSlow: raw?.beta_slow ?? 1,
                            mscale: raw?.mscale, mscaleAllDim: raw?.mscale_all_dim, truncate: raw?.truncate ?? true)
        default:
            throw ModelError("\(path): rope type '\(type)' is not supported; supported: default, linear, dynamic, llama3, yarn")
        }
    }
}

/// Builds the cos/sin table the `rotaryEmbedding` op reads, exactly as transformers' RoPE init functions
/// compute the inverse frequencies (in f32, as torch does).
public enum RotaryEmbedding {
    /// `[numPositions, rotaryDim]` f32: per position, `cos` of the rotaryDim/2 angles, then `sin`,
    /// both already multiplied by the attention factor (yarn).
    ///
    /// `dynamic` depends on the sequence length in transformers; row `p` here uses the frequencies for a
    /// sequence of `max(p + 1, maxPositionEmbeddings)` tokens, which is what transformers' incremental
    /// decoding uses for the token at position `p`. (A single prefill longer than the original context
    /// is the one case that differs: transformers then rotates the whole prompt with its final length.)
    public static func cosSinTable(config: ModelConfig, numPositions: Int) -> (values: [Float], rotaryDim: Int) {
        let rope = config.rope
        let rotaryDim = Int(Double(config.headDim) * rope.partialRotaryFactor)
        let half = rotaryDim / 2
        var table = [Float](repeating: 0, count: numPositions * rotaryDim)
        var (invFreq, attentionFactor) = inverseFrequencies(rope, rotaryDim: rotaryDim, seqLen: config.maxPositionEmbeddings,
                                                            maxPositionEmbeddings: config.maxPositionEmbeddings)
        for p in 0..<numPositions {
            if case .dynamic = rope.scaling, p + 1 > config.maxPositionEmbeddings {
                (invFreq, attentionFactor) = inverseFrequencies(rope, rotaryDim: rotaryDim, seqLen: p + 1,
                                                                maxPositionEmbeddings: config.maxPositionEmbeddings)
            }
            for i in 0..<half {
                let angle = Float(p) * invFreq[i]
                table[p * rotaryDim + i] = Float(cos(Double(angle))) * attentionFactor
                table[p * rotaryDim + half + i] = Float(sin(Double(angle))) * attentionFactor
            }
        }
        return (table, rotaryDim)
    }

    /// transformers' `_compute_*_parameters`: inverse frequencies (f32) and the attention factor.
    static func inverseFrequencies(_ rope: RopeParameters, rotaryDim dim: Int, seqLen: Int,
                                   maxPositionEmbeddings: Int) -> ([Float], Float) {
        func base(_ theta: Double) -> [Float] {
            stride(from: 0, to: dim, by: 2).map { 1 / powf(Float(theta), Float($0) / Float(dim)) }
        }
        switch rope.scaling {
        case .none:
            return (base(rope.theta), 1)
        case .linear(let factor):
            return (base(rope.theta).map { $0 / Float(factor) }, 1)
        case .dynamic(let factor):
            let length = Double(max(seqLen, maxPositionEmbeddings))
            let scaled = rope.theta * pow(factor * length / Double(maxPositionEmbeddings) - (factor - 1),
                                          Double(dim) / Double(dim - 2))
            return (base(scaled), 1)
        case .llama3(let factor, let lowFreqFactor, let highFreqFactor, let originalMax):
            let lowFreqWavelen = Double(originalMax) / lowFreqFactor
            let highFreqWavelen = Double(originalMax) / highFreqFactor
            let frequencies = base(rope.theta).map { (invFreq: Float) -> Float in
                let wavelen = 2 * Double.pi / Double(invFreq)
                if wavelen > lowFreqWavelen { return invFreq / Float(factor) }
                if wavelen < highFreqWavelen { return invFreq }
                let smooth = Float((Double(originalMax) / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor))
                return (1 - smooth) * invFreq / Float(factor) + smooth * invFreq
            }
            return (frequencies, 1)
        case .yarn(let factor, let originalMax, let attentionFactor, let betaFast, let betaSlow, let mscale,
                   let mscaleAllDim, let truncate):
            func getMscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            let factorOut: Double
            if let attentionFactor {
                factorOut = attentionFactor
            } else if let mscale, let mscaleAllDim, mscale != 0, mscaleAllDim != 0 {
                factorOut = getMscale(factor, mscale) / getMscale(factor, mscaleAllDim)
            } else {
                factorOut = getMscale(factor)
            }
            func correctionDim(_ rotations: Double) -> Double {
                Double(dim) * log(Double(originalMax) / (rotations * 2 * Double.pi)) / (2 * log(rope.theta))
            }
            var low = correctionDim(betaFast), high = correctionDim(betaSlow)
            if truncate { low = floor(low); high = ceil(high) }
            low = max(low, 0)
            high = min(high, Double(dim - 1))
            if low == high { high += 0.001 }
            let extrapolation = base(rope.theta)
            let frequencies = (0..<(dim / 2)).map { i -> Float in
                let ramp = Float(min(max((Double(i) - low) / (high - low), 0), 1))
                let extrapolationFactor = 1 - ramp
                let interpolation = extrapolation[i] / Float(factor)
                return interpolation * (1 - extrapolationFactor) + extrapolation[i] * extrapolationFactor
            }
            return (frequencies, Float(factorOut))
        }
    }
}
