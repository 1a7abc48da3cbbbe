/// Python `str` algorithms on Unicode scalars (Python indexes code points, not grapheme clusters).
enum PyString {
    static func make<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    static func strip(_ s: String, _ chars: String?, left: Bool, right: Bool) -> String {
        let scalars = Array(s.unicodeScalars)
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { set?.contains($0) ?? $0.isPythonSpace }
        var start = 0
        var end = scalars.count
        if left { while start < end, drop(scalars[start]) { start += 1 } }
        if right { while end > start, drop(scalars[end - 1]) { end -= 1 } }
        return make(scalars[start..<end])
    }

    /// Start offsets of non-overlapping occurrences, scanning left to right (an empty needle matches everywhere).
    static func occurrences(_ haystack: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> [Int] {
        if needle.isEmpty { return Array(0...haystack.count) }
        var hits: [Int] = []
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i..<i + needle.count].elementsEqual(needle) {
                hits.append(i)
                i += needle.count
            } else {
                i += 1
            }
        }
        return hits
    }

    static func split(_ s: String, _ separator: String?, maxSplit: Int, fromRight: Bool) throws -> [String] {
        let scalars = Array(s.unicodeScalars)
        guard let separator else {
            // Runs of whitespace separate; leading and trailing whitespace produce no empty parts.
            var words: [Range<Int>] = []
            var i = 0
            while i < scalars.count {
                while i < scalars.count, scalars[i].isPythonSpace { i += 1 }
                guard i < scalars.count else { break }
                let start = i
                while i < scalars.count, !scalars[i].isPythonSpace { i += 1 }
                words.append(start..<i)
            }
            // After `maxSplit` splits the rest is one part, keeping its inner and outer whitespace.
            guard maxSplit >= 0, words.count > maxSplit else { return words.map { make(scalars[$0]) } }
            if fromRight {
                let kept = words.suffix(maxSplit)
                let headEnd = words[words.count - maxSplit - 1].upperBound
                return [make(scalars[0..<headEnd])] + kept.map { make(scalars[$0]) }
            }
            let kept = words.prefix(maxSplit)
            let tailStart = words[maxSplit].lowerBound
            return kept.map { make(scalars[$0]) } + [make(scalars[tailStart...])]
        }
        let needle = Array(separator.unicodeScalars)
        guard !needle.isEmpty else { throw TemplateError.runtime("ValueError: empty separator") }
        var hits = occurrences(scalars, needle)
        if maxSplit >= 0, hits.count > maxSplit {
            hits = fromRight ? Array(hits.suffix(maxSplit)) : Array(hits.prefix(maxSplit))
        }
        var parts: [String] = []
        var start = 0
        for hit in hits {
            parts.append(make(scalars[start..<hit]))
            start = hit + needle.count
        }
        parts.append(make(scalars[start...]))
        return parts
    }

    static func splitLines(_ s: String, keepEnds: Bool) -> [String] {
        let scalars = Array(s.unicodeScalars)
        let breaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < scalars.count {
            if breaks.contains(scalars[i].value) {
                var end = i + 1
                if scalars[i] == "\r", end < scalars.count, scalars[end] == "\n" { end += 1 }
                lines.append(make(scalars[start..<(keepEnds ? end : i)]))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < scalars.count { lines.append(make(scalars[start...])) }
        return lines
    }

    /// Python `str.title`: a cased letter following a cased letter is lowered, any other is raised.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for character in s {
            let cased = character.isCased
            out += previousCased ? character.lowercased() : character.uppercased()
            previousCased = cased
        }
        return out
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst().lowercased()
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        let scalars = Array(s.unicodeScalars)
        let needle = Array(old.unicodeScalars)
        var hits = occurrences(scalars, needle)
        if count >= 0 { hits = Array(hits.prefix(count)) }
        var out = String.UnicodeScalarView()
        var start = 0
        for hit in hits {
            out.append(contentsOf: scalars[start..<hit])
            out.append(contentsOf: new.unicodeScalars)
            if needle.isEmpty {
                if hit < scalars.count { out.append(scalars[hit]) }
                start = hit + 1
            } else {
                start = hit + needle.count
            }
        }
        if start < scalars.count { out.append(contentsOf: scalars[start...]) }
        return String(out)
    }

    static func pad(_ s: String, width: Int, fill: String, mode: String) -> String {
        let length = s.unicodeScalars.count
        guard width > length else { return s }
        let total = width - length
        switch mode {
        case "ljust": return s + String(repeating: fill, count: total)
        case "rjust": return String(repeating: fill, count: total) + s
        case "zfill":
            if let sign = s.unicodeScalars.first, sign == "+" || sign == "-" {
                return String(sign) + String(repeating: "0", count: total) + s.dropFirst()
            }
            return String(repeating: "0", count: total) + s
        default:
            // Python's centre puts the odd pad character on the left when the width is odd.
            let left = total / 2 + (total & width & 1)
            return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
        }
    }
}

extension Character {
    var isCased: Bool { isUppercase || isLowercase || isCased(titlecase: true) }
    private func isCased(titlecase: Bool) -> Bool {
        unicodeScalars.contains { $0.properties.changesWhenLowercased || $0.properties.changesWhenUppercased }
    }
}
