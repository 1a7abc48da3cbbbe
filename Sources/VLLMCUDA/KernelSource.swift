/// One embedded CUDA source file: a kernel family (`.cu`) or a header it includes (`.cuh`).
/// The files in Kernels/ are embedded by the build (SwiftPM's `.embedInCode`, `PackageResources`),
/// so each kernel exists once, as the `.cu` file.
public struct KernelSource: Sendable {
    public var name: String
    public var source: String

    init(name: String, bytes: [UInt8]) {
        self.name = name
        source = String(decoding: bytes, as: UTF8.self)
    }

    init(name: String, source: String) {
        self.name = name
        self.source = source
    }

    /// Headers the kernels include by name (`#include "common.cuh"`); `sampling_params.cuh` is
    /// written from `SamplingParamWord`, the one definition of the sampling parameter block.
    static let headers: [KernelSource] = [
        KernelSource(name: "common.cuh", bytes: PackageResources.common_cuh),
        KernelSource(name: "decode_attention_merge.cuh", bytes: PackageResources.decode_attention_merge_cuh),
        KernelSource(name: "fp8.cuh", bytes: PackageResources.fp8_cuh),
        KernelSource(name: "int4.cuh", bytes: PackageResources.int4_cuh),
        KernelSource(name: "linear_epilogue.cuh", bytes: PackageResources.linear_epilogue_cuh),
        KernelSource(name: "mma.cuh", bytes: PackageResources.mma_cuh),
        KernelSource(name: "sampling_params.cuh", source: SamplingParamWord.header),
        KernelSource(name: "wgmma.cuh", bytes: PackageResources.wgmma_cuh),
    ]

    /// One entry per op family: each `.cu` file is one NVRTC program and one CUDA module.
    static let families: [KernelSource] = [
        KernelSource(name: "allreduce.cu", bytes: PackageResources.allreduce_cu),
        KernelSource(name: "attention.cu", bytes: PackageResources.attention_cu),
        KernelSource(name: "cache.cu", bytes: PackageResources.cache_cu),
        KernelSource(name: "decode_attention.cu", bytes: PackageResources.decode_attention_cu),
        KernelSource(name: "decode_attention_mma.cu", bytes: PackageResources.decode_attention_mma_cu),
        KernelSource(name: "dummy.cu", bytes: PackageResources.dummy_cu),
        KernelSource(name: "elementwise.cu", bytes: PackageResources.elementwise_cu),
        KernelSource(name: "embedding.cu", bytes: PackageResources.embedding_cu),
        KernelSource(name: "encoder.cu", bytes: PackageResources.encoder_cu),
        KernelSource(name: "layernorm.cu", bytes: PackageResources.layernorm_cu),
        KernelSource(name: "linear.cu", bytes: PackageResources.linear_cu),
        KernelSource(name: "linear_fp8.cu", bytes: PackageResources.linear_fp8_cu),
        KernelSource(name: "linear_fp8_wgmma.cu", bytes: PackageResources.linear_fp8_wgmma_cu),
        KernelSource(name: "linear_int4.cu", bytes: PackageResources.linear_int4_cu),
        KernelSource(name: "linear_int4_decode.cu", bytes: PackageResources.linear_int4_decode_cu),
        KernelSource(name: "linear_int4_wgmma.cu", bytes: PackageResources.linear_int4_wgmma_cu),
        KernelSource(name: "lora.cu", bytes: PackageResources.lora_cu),
        KernelSource(name: "prefill_attention.cu", bytes: PackageResources.prefill_attention_cu),
        KernelSource(name: "rotary.cu", bytes: PackageResources.rotary_cu),
        KernelSource(name: "sampling.cu", bytes: PackageResources.sampling_cu),
    ]

    /// The family name: the file name without `.cu`.
    public var family: String { name.hasSuffix(".cu") ? String(name.dropLast(3)) : name }

    /// Every `extern "C" __global__` entry point the source declares, in order.
    public var entryPoints: [String] {
        var names: [String] = []
        var rest = Substring(source)
        let marker = "extern \"C\" __global__"
        while let start = Self.find(marker, in: rest) {
            rest = rest[rest.index(start, offsetBy: marker.count)...]
            // The name is the word before the first "(" that does not open `__launch_bounds__(…)`.
            while let open = rest.firstIndex(of: "(") {
                let word = rest[..<open].split(whereSeparator: { $0 == " " || $0 == "\n" }).last.map(String.init)
                if word == "__launch_bounds__", let close = rest[open...].firstIndex(of: ")") {
                    rest = rest[rest.index(after: close)...]
                    continue
                }
                if let word { names.append(word) }
                rest = rest[open...]
                break
            }
        }
        return names
    }

    /// Where `needle` first occurs in `text`.
    static func find(_ needle: String, in text: Substring) -> Substring.Index? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix(needle) { return index }
            index = text.index(after: index)
        }
        return nil
    }
}
