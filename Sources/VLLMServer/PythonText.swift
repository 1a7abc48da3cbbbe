import VLLMTemplates

/// Text as Python's `str` holds it — code points, which is what vLLM's tool parsers index, slice and measure
/// (a Swift `String` counts grapheme clusters: `"é"` written with a combining accent is one there, two here).
typealias PyText = [Unicode.Scalar]

extension StringProtocol {
    /// The text as Python's `str` indexes it.
    var codePoints: PyText { Array(unicodeScalars) }
}

extension Array where Element == Unicode.Scalar {
    var string: String { String(String.UnicodeScalarView(self)) }

    /// `str.find(sub, start)`: the first index at or after `start` where `needle` begins.
    func find(_ needle: PyText, from start: Int = 0, to end: Int? = nil) -> Int? {
        let end = Swift.min(end ?? count, count)
        guard !needle.isEmpty else { return start <= end ? start : nil }
        var i = Swift.max(start, 0)
        while i + needle.count <= end {
            if self[i] == needle[0] && self[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// `str.rfind(sub, start, end)`: the last index where `needle` lies wholly inside `self[start..<end]`.
    func rfind(_ needle: PyText, from start: Int = 0, to end: Int? = nil) -> Int? {
        let start = Swift.max(start, 0)
        var i = Swift.min(end ?? count, count) - needle.count
        while i >= start {
            if self[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }

    func contains(_ needle: PyText) -> Bool { find(needle) != nil }
    func hasPrefix(_ prefix: PyText) -> Bool { count >= prefix.count && self[..<prefix.count].elementsEqual(prefix) }
    func hasSuffix(_ suffix: PyText) -> Bool { count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix) }

    /// Whether an odd number of backslashes stands right before `index`, counting none before `lower` (a quote
    /// there is escaped, as a JSON string reads it).
    func isEscaped(_ index: Int, notBefore lower: Int = 0) -> Bool {
        var count = 0
        while index - count - 1 >= lower && self[index - count - 1] == "\\" { count += 1 }
        return count % 2 == 1
    }

    /// `str.strip()`, `lstrip()`, `rstrip()`: Python's whitespace (`str.isspace`), not just JSON's.
    func stripped(leading: Bool = true, trailing: Bool = true) -> PyText {
        var start = 0
        var end = count
        if leading { while start < end, self[start].isPythonSpace { start += 1 } }
        if trailing { while end > start, self[end - 1].isPythonSpace { end -= 1 } }
        return Array(self[start..<end])
    }

    /// `str.split(sep)`.
    func split(separator: PyText) -> [PyText] {
        precondition(!separator.isEmpty, "empty separator")  // Python's ValueError; every caller passes a tag
        var parts: [PyText] = []
        var start = 0
        while let hit = find(separator, from: start) {
            parts.append(Array(self[start..<hit]))
            start = hit + separator.count
        }
        parts.append(Array(self[start...]))
        return parts
    }

    /// `str.replace(old, new)`, or its first `limit` replacements.
    func replacing(_ old: PyText, with new: PyText, limit: Int = .max) -> PyText {
        precondition(!old.isEmpty, "empty needle")  // every caller replaces a tag
        var result: PyText = []
        var start = 0
        var done = 0
        while done < limit, let hit = find(old, from: start) {
            result += self[start..<hit] + new
            start = hit + old.count
            done += 1
        }
        return result + self[start...]
    }
}

extension Unicode.Scalar {
    /// `\s` of the `regex` module vLLM's parsers match with: Unicode's White_Space (Python's `isspace` adds
    /// U+001C–U+001F).
    var isRegexSpace: Bool { properties.isWhitespace }
}

/// The length of the longest start of `tag` that ends `text` (vLLM's `partial_tag_overlap`): a stream holds
/// that much back, since the next piece may complete the tag.
func partialTagOverlap(_ text: PyText, _ tag: PyText) -> Int {
    for length in stride(from: min(tag.count - 1, text.count), to: 0, by: -1) where text.hasSuffix(Array(tag[..<length])) {
        return length
    }
    return 0
}
