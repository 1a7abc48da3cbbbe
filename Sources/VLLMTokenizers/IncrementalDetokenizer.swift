/// Streaming detokenization as vLLM does it for tokenizer.json tokenizers (its FastIncrementalDetokenizer
/// over HF's `DecodeStream`): each new id is decoded together with a short window of the ids before it,
/// and only text that is final is emitted. A delta never ends inside a multi-byte character (a trailing
/// U+FFFD from incomplete bytes is held back), and the deltas, followed by `finish()`, concatenate to
/// `decode(ids)` of all appended ids.
public struct IncrementalDetokenizer: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    /// vLLM's `spaces_between_special_tokens`: when false (and special tokens are kept), an added token
    /// right after another added token is emitted as its bare content, without a decoder-inserted space.
    private let spacesBetweenSpecialTokens: Bool
    /// The decode window: ids whose text is partly or wholly emitted already.
    private var windowIds: [Int] = []
    /// decode(windowIds[..<prefixIndex]) as last computed: the already emitted part of the window's text.
    private var prefix: String = ""
    private var prefixIndex = 0
    private var lastWasAddedToken = false

    /// - Parameters:
    ///   - promptIds: the prompt; its last few ids prime the window (so that, e.g., a SentencePiece "▁Hi"
    ///     after the prompt yields " Hi"), and nothing of the prompt is emitted.
    public init(tokenizer: Tokenizer, promptIds: [Int] = [], skipSpecialTokens: Bool = true, spacesBetweenSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.spacesBetweenSpecialTokens = skipSpecialTokens || spacesBetweenSpecialTokens
        // As vLLM: start from the shortest prompt suffix of at least 4 ids (at most 23) that decodes
        // without a broken character.
        var suffix = promptIds
        if promptIds.count > 4 {
            for length in 4..<min(promptIds.count + 1, 24) {
                let candidate = Array(promptIds.suffix(length))
                if !tokenizer.decode(candidate, skipSpecialTokens: skipSpecialTokens).unicodeScalars.contains("\u{FFFD}") {
                    suffix = candidate
                    break
                }
            }
        }
        for id in suffix { _ = step(id) }
    }

    /// Appends one generated id; returns the text that became final (often empty).
    public mutating func append(_ id: Int) -> String {
        var text = step(id)
        if !spacesBetweenSpecialTokens {
            let added = tokenizer.addedVocabulary.token(id)
            if let added, lastWasAddedToken { text = added.content }
            lastWasAddedToken = added != nil
        }
        return text
    }

    /// The text still held back at the end of the stream (an incomplete character, as U+FFFD).
    public mutating func finish() -> String {
        let text = tokenizer.decode(windowIds, skipSpecialTokens: skipSpecialTokens)
        let pending = Self.remainder(of: text, after: prefix)
        prefix = text
        prefixIndex = windowIds.count
        return pending
    }

    /// HF's `DecodeStream::step`.
    private mutating func step(_ id: Int) -> String {
        windowIds.append(id)
        let text = tokenizer.decode(windowIds, skipSpecialTokens: skipSpecialTokens)
        guard text.utf8.count > prefix.utf8.count, text.unicodeScalars.last != "\u{FFFD}" else { return "" }
        let delta = Self.remainder(of: text, after: prefix)
        let newPrefixIndex = windowIds.count - prefixIndex
        windowIds.removeFirst(prefixIndex)
        prefix = tokenizer.decode(windowIds, skipSpecialTokens: skipSpecialTokens)
        prefixIndex = newPrefixIndex
        return delta
    }

    /// `text` past `prefix`, by scalars. Should a decoder not extend its earlier output (HF raises
    /// InvalidPrefix then), the scalars beyond the prefix's length are returned.
    private static func remainder(of text: String, after prefix: String) -> String {
        let scalars = text.unicodeScalars
        let count = prefix.unicodeScalars.count
        guard scalars.count > count else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.dropFirst(count))
        return String(view)
    }
}
