/// One embedded CUDA source file: a kernel family (`.cu`) or a header it includes (`.cuh`).
/// The contents are generated into KernelSources/ (one file per source) by scripts/embed-kernels.py.
public struct KernelSource: Sendable {
    public var name: String
    public var source: String

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
