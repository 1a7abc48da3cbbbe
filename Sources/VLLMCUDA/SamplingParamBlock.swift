import VLLMCompute

/// The parameter block of one sampling row, as `sample_f32` (Kernels/sampling.cu) reads it: one
/// int32 word per case, floats as their bits. This enum is its only definition: the kernel sees it
/// as `sampling_params.cuh` (`P_TEMPERATURE` …, `FLAG_GREEDY` …), which `header` writes, and
/// `CUDABackend.sample` fills rows with `SamplingParamBlock`.
enum SamplingParamWord: Int, CaseIterable {
    case temperature
    /// 0 = all tokens.
    case topK
    case topP
    case minP
    case presence
    case frequency
    case repetition
    case seedLow, seedHigh
    case stepLow, stepHigh
    /// Top entries wanted (with `SamplingFlags.logprobs`).
    case numLogprobs
    /// Where this row's lists start: prompt ids, output ids, bias ids, bias values, allowed ids, banned ids.
    case listOffset
    case numPrompt, numOutput, numBias, numAllowed, numBanned
    /// `SamplingFlags` bits.
    case flags

    static var wordsPerRow: Int { allCases.count }

    /// `P_TOP_K` for `topK`.
    var macroName: String {
        "P_" + String(describing: self).reduce(into: "") { name, character in
            if character.isUppercase { name += "_" }
            name += character.uppercased()
        }
    }

    /// The header the kernel includes: a `#define` per word and per flag.
    static let header: String = {
        var lines = ["// sampling_params.cuh: written by VLLMCUDA/SamplingParamBlock.swift (SamplingParamWord, SamplingFlags).",
                     "#pragma once", "#define PARAM_WORDS \(wordsPerRow)"]
        lines += allCases.map { "#define \($0.macroName) \($0.rawValue)" }
        lines += SamplingFlags.named.map { "#define FLAG_\($0.name) \($0.flag.rawValue)" }
        return lines.joined(separator: "\n") + "\n"
    }()
}

/// What a sampling row asks for beyond its numbers.
struct SamplingFlags: OptionSet {
    let rawValue: Int32
    static let logprobs = SamplingFlags(rawValue: 1)
    static let allowed = SamplingFlags(rawValue: 2)
    static let greedy = SamplingFlags(rawValue: 4)
    static let penalties = SamplingFlags(rawValue: 8)

    static let named: [(name: String, flag: SamplingFlags)] = [
        ("LOGPROBS", .logprobs), ("ALLOWED", .allowed), ("GREEDY", .greedy), ("PENALTIES", .penalties),
    ]
}

/// One row's words, written by name.
struct SamplingParamBlock {
    private(set) var words = [Int32](repeating: 0, count: SamplingParamWord.wordsPerRow)

    subscript(word: SamplingParamWord) -> Int32 {
        get { words[word.rawValue] }
        set { words[word.rawValue] = newValue }
    }

    mutating func set(_ word: SamplingParamWord, float value: Float) { self[word] = Int32(bitPattern: value.bitPattern) }

    mutating func set(low: SamplingParamWord, high: SamplingParamWord, _ value: UInt64) {
        self[low] = Int32(bitPattern: UInt32(truncatingIfNeeded: value))
        self[high] = Int32(bitPattern: UInt32(truncatingIfNeeded: value >> 32))
    }
}
