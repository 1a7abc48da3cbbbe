/// The `partial_json_parser` package (0.2.1.1.post7) as vLLM's tool parsers call it, `loads(text, flags)`: the
/// JSON a text would be if it ended here — closing brackets added, an unfinished string closed (or, with strings
/// not allowed, dropped), a half number cut back — read by Python's `json.loads`. vLLM streams tool-call
/// arguments by diffing what this gives step by step, so its quirks are the stream's: they are kept, including
/// where the package reads an index past a stripped prefix. Only the flags vLLM passes exist here: everything
/// allowed, or everything but unfinished strings (`Allow.ALL & ~Allow.STR`).
enum PartialJSON {
    enum Failure: Error, Equatable {
        /// `MalformedJSON` / `PartialJSON`: not the start of JSON.
        case malformed
        /// `json.JSONDecodeError` from the completed text (`extraData`: a whole value with more after it); never
        /// `.recursion`, which is the case of its own.
        case decode(PythonJSON.DecodeError)
        /// An `IndexError` or `AssertionError` the package lets out (unbalanced or mismatched brackets).
        case crashed
        /// `RecursionError`, from the completers or `json.loads`: brackets nested deeper than Python's stack allows.
        case recursion
    }

    /// `partial_json_parser.loads(text, flags)`.
    static func loads(_ text: PyText, allowStrings: Bool) throws(Failure) -> PythonJSON {
        let (head, tail) = try Fixer(text: text, allowStrings: allowStrings).fixFast()
        do {
            return try PythonJSON.loads(head + tail)
        } catch {
            throw error == .recursion ? .recursion : .decode(error)
        }
    }

    /// vLLM's `partial_json_loads` (vllm/tool_parsers/utils.py): the value and how much of `text` it took — all of
    /// it, or, where the completed text has extra data after a whole value, the value `raw_decode` finds.
    static func loadsPrefix(_ text: PyText, allowStrings: Bool) throws(Failure) -> (value: PythonJSON, end: Int) {
        do {
            return (try loads(text, allowStrings: allowStrings), text.count)
        } catch .decode(.extraData) {
            do {
                return try PythonJSON.rawDecode(text[...])
            } catch {
                throw error == .recursion ? .recursion : .decode(error)
            }
        }
    }

    /// The errors Python raises inside the completers; `IndexError` is caught by the enclosing array or object.
    private enum Raise: Error {
        case index, assertion, malformed
        /// `RecursionError`, which no completer catches.
        case recursion
    }

    /// A completer's answer: `nil` is the package's `False` (cannot be completed under the flags); otherwise how
    /// much of the text to keep and what to append (`nil`: the text is already complete, Python's `True`).
    private typealias Completion = (index: Int, suffix: PyText?)?

    private struct Fixer {
        let text: PyText
        let allowStrings: Bool

        // MARK: myelin.fix_fast

        func fixFast() throws(Failure) -> (PyText, PyText) {
            let s = text
            var tokens: [(Int, Unicode.Scalar)] = []
            for (i, c) in s.enumerated() where c == "\"" || c == "[" || c == "]" || c == "{" || c == "}" { tokens.append((i, c)) }
            if tokens.isEmpty || tokens[0].1 == "\"" { return try fix(s, topLevel: true) }

            func closing(_ stack: ArraySlice<(Int, Unicode.Scalar)>) -> PyText {
                stack.reversed().map { $0.1 == "{" ? "}" : "]" }
            }
            var stack: [(Int, Unicode.Scalar)] = []
            var inString = false
            var lastStringStart = -1
            var lastStringEnd = -1
            for (i, c) in tokens {
                if c == "\"" {
                    if !inString {
                        inString = true
                        lastStringStart = i
                    } else if !s.isEscaped(i) {
                        inString = false
                        lastStringEnd = i
                    }
                } else if !inString {
                    if c == "}" || c == "]" {
                        guard let open = stack.popLast() else { throw .crashed }
                        guard open.1 == (c == "}" ? "{" : "[") else { throw .crashed }
                    } else {
                        stack.append((i, c))
                    }
                }
            }
            if stack.isEmpty { return (s, []) }
            // Python's loop variables, still in scope after the loop: the last bracket or quote.
            var (i, char) = tokens[tokens.count - 1]
            let top = stack[stack.count - 1]

            if !allowStrings && inString {
                if top.0 > lastStringEnd && top.1 == "{" { return (Array(s[...top.0]), closing(stack[...])) }
                if let lastComma = s.rfind([","], from: max(top.0, lastStringEnd) + 1, to: lastStringStart) {
                    return (Array(s[..<lastComma]), closing(stack[...]))
                }
                return truncateBeforeLastKeyStart(containerStart: top.0, lastStringEnd: lastStringEnd, stack: stack[...])
            }
            if inString {
                if top.1 == "[" {
                    let (head, tail) = try fix(Array(s[lastStringStart...]))
                    return (Array(s[..<lastStringStart]) + head, tail + closing(stack[...]))
                }
                let start = max(lastStringEnd, top.0)
                let between = s[(start + 1)..<max(start + 1, lastStringStart)]
                if between.contains(",") {
                    let lastComma = s.rfind([","], from: start, to: lastStringStart)!
                    let (head, tail) = try fix(["{"] + s[(lastComma + 1)...])
                    return (Array(s[..<lastComma]) + head.dropFirst(), tail + closing(stack.dropLast()))
                }
                if between.contains(":") {
                    let (head, tail) = try fix(Array(s[lastStringStart...]))
                    return (Array(s[..<lastStringStart]) + head, tail + closing(stack[...]))
                }
                return (Array(s[..<lastStringStart]), closing(stack[...]))
            }

            if let lastComma = s.rfind([","], from: max(lastStringEnd, i) + 1) {
                let container = top.1
                if PyText(s[(lastComma + 1)...]).stripped().isEmpty {
                    return (Array(s[..<lastComma]), closing(stack[...]))
                }
                guard container == "[" else { throw .crashed }
                let (head, tail) = try fix([container] + s[(lastComma + 1)...])
                if (Array(head.dropFirst()) + PyText(tail.dropLast()).stripped()).isEmpty {
                    return (Array(s[..<lastComma]) + head.dropFirst(), tail + closing(stack.dropLast()))
                }
                return (Array(s[...lastComma]) + head.dropFirst(), tail + closing(stack.dropLast()))
            }
            if char == "]" || char == "}" {
                guard PyText(s[(i + 1)...]).stripped().isEmpty else { throw .crashed }
                return (s, closing(stack[...]))
            }
            if char == "[" || char == "{" {
                let (head, tail) = try fix(Array(s[i...]))
                return (Array(s[..<i]) + head, tail + closing(stack.dropLast()))
            }
            (i, char) = top
            if char == "[" { return (s, closing(stack[...])) }
            let lastColon = s.rfind([":"], from: lastStringEnd)
            guard let lastComma = s.rfind([","], from: i + 1, to: lastStringStart) else {
                let (head, tail) = try fix(Array(s[i...]))
                return (Array(s[..<i]) + head, tail + closing(stack.dropLast()))
            }
            if lastColon == nil {
                if s.rfind([":"], from: max(i, lastComma) + 1, to: lastStringStart) != nil { return (s, closing(stack[...])) }
                let (head, tail) = try fix(["{"] + s[(lastComma + 1)...])
                if (Array(head.dropFirst()) + PyText(tail.dropLast()).stripped()).isEmpty {
                    return (Array(s[..<lastComma]) + head.dropFirst(), tail + closing(stack.dropLast()))
                }
                return (Array(s[...lastComma]) + head.dropFirst(), tail + closing(stack[...]))
            }
            let (head, tail) = try fix(["{"] + s[(lastComma + 1)...])
            if (Array(head.dropFirst()) + PyText(tail.dropLast()).stripped()).isEmpty {
                return (Array(s[..<lastComma]) + head.dropFirst(), tail + closing(stack.dropLast()))
            }
            return (Array(s[...lastComma]) + head.dropFirst(), tail + closing(stack.dropLast()))
        }

        /// `truncate_before_last_key_start`, reached only with strings not allowed.
        func truncateBeforeLastKeyStart(containerStart: Int, lastStringEnd: Int, stack: ArraySlice<(Int, Unicode.Scalar)>)
            -> (PyText, PyText)
        {
            let s = text
            let closing: PyText = stack.reversed().map { $0.1 == "{" ? "}" : "]" }
            var lastKeyStart = lastStringEnd
            while true {
                guard let found = s.rfind(["\""], from: containerStart, to: lastKeyStart) else {
                    return (Array(s[...containerStart]), closing)
                }
                lastKeyStart = found
                if s.isEscaped(found) {
                    lastKeyStart -= 1
                } else {
                    guard let lastComma = s.rfind([","], from: containerStart, to: lastKeyStart) else {
                        return (Array(s[...containerStart]), closing)
                    }
                    return (Array(s[..<lastComma]), closing)
                }
            }
        }

        // MARK: complete._fix and the completers

        /// `_fix`: complete the stripped text, but cut the unstripped one at the index found (the package's way).
        func fix(_ s: PyText, topLevel: Bool = false) throws(Failure) -> (PyText, PyText) {
            let result: Completion
            do {
                result = try completeAny(Suffix(s.stripped()), topLevel: topLevel, depth: 0)
            } catch .recursion {
                throw .recursion
            } catch {
                throw .malformed
            }
            guard let (index, suffix) = result else { throw .malformed }
            return (Array(s[..<pythonIndex(index, count: s.count)]), suffix ?? [])
        }

        /// The completers recurse once per open bracket, as the package does; where Python would run out of
        /// stack (its 1,000 frames, two a level) they stop, so nested brackets in a model's text cannot run this
        /// thread out of stack.
        static let maximumDepth = 490

        func completeAny(_ s: Suffix, topLevel: Bool = false, depth: Int) throws(Raise) -> Completion {
            guard depth < Self.maximumDepth else { throw .recursion }
            var i = 0
            while i < s.count && s[i].isPythonSpace { i += 1 }
            guard i < s.count else { throw .index }
            let char = s[i]
            if char == "\"" { return try completeString(s) }
            if ("0"..."9").contains(char) { return try completeNumber(s, topLevel: topLevel) }
            if char == "[" { return try completeArray(s, depth: depth) }
            if char == "{" { return try completeObject(s, depth: depth) }
            for word in ["null", "true", "false", "Infinity"] {
                let w = word.codePoints
                if s.hasPrefix(w) { return (w.count, nil) }
                if s.isPrefix(of: w) { return (0, w) }
            }
            if char == "-" {
                if s.count == 1 { return nil }
                if s[1] != "I" { return try completeNumber(s, topLevel: topLevel) }
            }
            for word in ["-Infinity", "NaN"] {
                let w = word.codePoints
                if s.hasPrefix(w) { return (w.count, nil) }
                if s.isPrefix(of: w) { return (0, w) }
            }
            throw .malformed
        }

        func completeString(_ s: Suffix) throws(Raise) -> Completion {
            guard s.count > 0 && s[0] == "\"" else { throw .assertion }
            var i = 1
            while i < s.count {
                if s[i] == "\\" {
                    if i + 1 == s.count { break }
                    i += 2
                    continue
                }
                if s[i] == "\"" { return (i + 1, nil) }
                i += 1
            }
            guard allowStrings else { return nil }
            // An unfinished \uXXXX, \UXXXXXXXX or \xXX escape is cut off whole.
            for (escape, width) in [("\\u", 5), ("\\U", 9), ("\\x", 3)] {
                if let at = s.rfind(escape.codePoints, from: max(0, i - width), to: i), !s.isEscaped(at) { return (at, ["\""]) }
            }
            return (i, ["\""])
        }

        func completeNumber(_ s: Suffix, topLevel: Bool) throws(Raise) -> Completion {
            let numberCharacters = Set("1234567890.-+eE".unicodeScalars)
            var i = 1
            while i < s.count && numberCharacters.contains(s[i]) { i += 1 }
            var modified = false
            // Python indexes from the end for a negative index; past the start it is an IndexError.
            while true {
                let at = i - 1 < 0 ? s.count + i - 1 : i - 1
                guard at >= 0 && at < s.count else { throw .index }
                guard ".-+eE".unicodeScalars.contains(s[at]) else { break }
                modified = true
                i -= 1
            }
            if modified || (i == s.count && !topLevel) { return (i, []) }
            return (i, nil)
        }

        func completeArray(_ s: Suffix, depth: Int) throws(Raise) -> Completion {
            var i = 1
            var j = 1
            do throws(Raise) {
                while true {
                    j = s.skipBlank(j)
                    guard j < s.count else { throw Raise.index }
                    if s[j] == "]" { return (j + 1, nil) }
                    guard let (length, suffix) = try completeAny(s.dropFirst(j), depth: depth + 1) else { return (i, ["]"]) }
                    guard suffix == nil else { return (j + length, suffix! + ["]"]) }
                    j += length
                    i = j
                    j = s.skipBlank(j)
                    guard j < s.count else { throw Raise.index }
                    if s[j] == "," {
                        j += 1
                    } else if s[j] == "]" {
                        return (j + 1, nil)
                    } else {
                        throw Raise.malformed
                    }
                }
            } catch .index {
                return (i, ["]"])
            }
        }

        func completeObject(_ s: Suffix, depth: Int) throws(Raise) -> Completion {
            var i = 1
            var j = 1
            do throws(Raise) {
                while true {
                    j = s.skipBlank(j)
                    guard j < s.count else { throw Raise.index }
                    if s[j] == "}" { return (j + 1, nil) }
                    guard let (keyLength, keySuffix) = try completeString(s.dropFirst(j)), keySuffix == nil else {
                        return (i, ["}"])
                    }
                    j += keyLength
                    j = s.skipBlank(j)
                    guard j < s.count else { throw Raise.index }
                    guard s[j] == ":" else { throw Raise.malformed }
                    j += 1
                    j = s.skipBlank(j)
                    guard j < s.count else { throw Raise.index }
                    guard let (length, suffix) = try completeAny(s.dropFirst(j), depth: depth + 1) else { return (i, ["}"]) }
                    guard suffix == nil else { return (j + length, suffix! + ["}"]) }
                    j += length
                    i = j
                    j = s.skipBlank(j)
                    guard j < s.count else { throw Raise.index }
                    if s[j] == "," {
                        j += 1
                    } else if s[j] == "}" {
                        return (j + 1, nil)
                    } else {
                        throw Raise.malformed
                    }
                }
            } catch .index {
                return (i, ["}"])
            }
        }

        /// Python's `s[:index]` bound for a possibly negative index.
        func pythonIndex(_ index: Int, count: Int) -> Int { index < 0 ? max(0, count + index) : min(index, count) }
    }

    /// `text[start:]` as the completers take it, without copying the text (Python's slices copy; a completer
    /// per open bracket each copying the rest made nested text quadratic).
    private struct Suffix {
        let text: PyText
        let start: Int

        init(_ text: PyText, start: Int = 0) {
            self.text = text
            self.start = start
        }

        var count: Int { text.count - start }
        subscript(i: Int) -> Unicode.Scalar { text[start + i] }
        func dropFirst(_ n: Int) -> Suffix { Suffix(text, start: start + n) }
        func hasPrefix(_ prefix: PyText) -> Bool {
            count >= prefix.count && text[start..<(start + prefix.count)].elementsEqual(prefix)
        }
        /// `word.startswith(self)`.
        func isPrefix(of word: PyText) -> Bool { count <= word.count && text[start...].elementsEqual(word[..<count]) }
        func rfind(_ needle: PyText, from lower: Int, to upper: Int) -> Int? {
            text.rfind(needle, from: start + lower, to: start + upper).map { $0 - start }
        }
        func skipBlank(_ index: Int) -> Int {
            var index = index
            while index < count && self[index].isPythonSpace { index += 1 }
            return index
        }
        /// Whether an odd number of backslashes stands right before `index`.
        func isEscaped(_ index: Int) -> Bool { text.isEscaped(start + index, notBefore: start) }
    }
}
