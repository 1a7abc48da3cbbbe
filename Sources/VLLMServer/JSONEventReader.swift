/// ijson's `parse_coro` (3.x, yajl2_c backend) as vLLM's pre-v11 Mistral parser feeds it: text in pieces, and
/// for each piece the parse events it completes, each with ijson's prefix (`""` at the top, `item` for an array's
/// items, keys joined by `.`). A token is reported once whole — a string at its closing quote, `true` at its `e`,
/// a number only when the character after it arrives. yajl's grammar is strict; at the first error the events
/// before it in that piece are reported and the reader fails for good (vLLM's coroutine raises on every later
/// send), and an empty piece is an error too (ijson reads it as the end of input).
struct JSONEventReader {
    enum Event: Equatable {
        case startMap, endMap, startArray, endArray
        case mapKey(String)
        case string(String)
        /// A number, `true`, `false` or `null`.
        case scalar
    }

    private enum Container { case object, array }
    private enum Expect { case value, firstValueOrEnd, keyOrEnd, key, colon, commaOrEnd, done }

    private var pending: PyText = []
    private var containers: [Container] = []
    private var expect = Expect.value
    /// ijson's path: a key (or `item`) per open container; nil before an object's first key.
    private var path: [String?] = []
    private(set) var failed = false

    /// ijson's prefix, written out only as deep as the pre-v11 parser looks (`item.arguments`): deeper events get
    /// one marker no state matches, so text nested thousands deep costs no more per event than text nested three.
    private var prefix: String { Self.prefix(path) }

    static let deepPrefix = "…"

    private static func prefix(_ path: some Collection<String?>) -> String {
        path.count > 2 ? deepPrefix : path.map { $0 ?? "" }.joined(separator: ".")
    }

    /// The events `piece` completes, and whether the reader has failed.
    mutating func feed(_ piece: PyText) -> (events: [(prefix: String, event: Event)], failed: Bool) {
        guard !failed else { return ([], true) }
        guard !piece.isEmpty else {
            failed = true
            return ([], true)
        }
        pending += piece
        var events: [(prefix: String, event: Event)] = []
        var i = 0
        while i < pending.count {
            let c = pending[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0B}" || c == "\u{0C}" {
                i += 1
                continue
            }
            switch lexToken(at: i) {
            case .incomplete:
                pending.removeFirst(i)
                return (events, false)
            case .invalid:
                failed = true
                return (events, true)
            case .token(let token, let end):
                guard accept(token, &events) else {
                    failed = true
                    return (events, true)
                }
                i = end
            }
        }
        pending.removeAll()
        return (events, false)
    }

    private enum Token { case open(Container), close(Container), colon, comma, string(String), scalar }
    private enum Lexed { case token(Token, end: Int), incomplete, invalid }

    private func lexToken(at start: Int) -> Lexed {
        let c = pending[start]
        switch c {
        case "{": return .token(.open(.object), end: start + 1)
        case "}": return .token(.close(.object), end: start + 1)
        case "[": return .token(.open(.array), end: start + 1)
        case "]": return .token(.close(.array), end: start + 1)
        case ":": return .token(.colon, end: start + 1)
        case ",": return .token(.comma, end: start + 1)
        case "\"": return lexString(at: start)
        case "t", "f", "n":
            let word = (c == "t" ? "true" : c == "f" ? "false" : "null").codePoints
            let available = min(word.count, pending.count - start)
            guard pending[start..<(start + available)].elementsEqual(word[..<available]) else { return .invalid }
            return available == word.count ? .token(.scalar, end: start + word.count) : .incomplete
        case "-", "0"..."9": return lexNumber(at: start)
        default: return .invalid
        }
    }

    private func lexString(at start: Int) -> Lexed {
        var i = start + 1
        while i < pending.count {
            let c = pending[i]
            if c == "\"" {
                // Checked below as yajl checks it, so Python's reading of it succeeds.
                let value = (try? PythonJSON.loads(Array(pending[start...i])))?.stringValue ?? ""
                return .token(.string(value), end: i + 1)
            }
            if c.value < 0x20 { return .invalid }
            if c == "\\" {
                guard i + 1 < pending.count else { return .incomplete }
                let e = pending[i + 1]
                if e == "u" {
                    for k in 0..<4 {
                        guard i + 2 + k < pending.count else { return .incomplete }
                        guard pending[i + 2 + k].properties.isASCIIHexDigit else { return .invalid }
                    }
                    i += 6
                    continue
                }
                guard "\"\\/bfnrt".unicodeScalars.contains(e) else { return .invalid }
                i += 2
                continue
            }
            i += 1
        }
        return .incomplete
    }

    /// yajl's number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, complete only when a character that
    /// cannot continue it follows.
    private func lexNumber(at start: Int) -> Lexed {
        var i = start
        func digit(_ k: Int) -> Bool? { k < pending.count ? ("0"..."9").contains(pending[k]) : nil }
        if pending[i] == "-" { i += 1 }
        guard let first = digit(i) else { return .incomplete }
        guard first else { return .invalid }
        if pending[i] == "0" {
            i += 1
        } else {
            while digit(i) == true { i += 1 }
        }
        guard i < pending.count else { return .incomplete }
        if pending[i] == "." {
            i += 1
            guard let d = digit(i) else { return .incomplete }
            guard d else { return .invalid }
            while digit(i) == true { i += 1 }
            guard i < pending.count else { return .incomplete }
        }
        if pending[i] == "e" || pending[i] == "E" {
            i += 1
            guard i < pending.count else { return .incomplete }
            if pending[i] == "+" || pending[i] == "-" { i += 1 }
            guard let d = digit(i) else { return .incomplete }
            guard d else { return .invalid }
            while digit(i) == true { i += 1 }
            guard i < pending.count else { return .incomplete }
        }
        return .token(.scalar, end: i)
    }

    /// The parser's step for one token; false where yajl reports a parse error.
    private mutating func accept(_ token: Token, _ events: inout [(prefix: String, event: Event)]) -> Bool {
        switch (expect, token) {
        case (.value, _), (.firstValueOrEnd, _):
            if case .close(.array) = token, expect == .firstValueOrEnd {
                closeContainer(.endArray, &events)
                return true
            }
            switch token {
            case .open(let kind):
                events.append((prefix, kind == .object ? .startMap : .startArray))
                containers.append(kind)
                path.append(kind == .object ? nil : "item")
                expect = kind == .object ? .keyOrEnd : .firstValueOrEnd
            case .string(let text):
                events.append((prefix, .string(text)))
                valueDone()
            case .scalar:
                events.append((prefix, .scalar))
                valueDone()
            default:
                return false
            }
        case (.keyOrEnd, .close(.object)):
            closeContainer(.endMap, &events)
        case (.keyOrEnd, .string(let key)), (.key, .string(let key)):
            events.append((Self.prefix(path.dropLast()), .mapKey(key)))
            path[path.count - 1] = key
            expect = .colon
        case (.colon, .colon):
            expect = .value
        case (.commaOrEnd, .comma):
            expect = containers.last == .object ? .key : .value
        case (.commaOrEnd, .close(let kind)) where kind == containers.last:
            closeContainer(kind == .object ? .endMap : .endArray, &events)
        default:
            return false
        }
        return true
    }

    private mutating func closeContainer(_ event: Event, _ events: inout [(prefix: String, event: Event)]) {
        containers.removeLast()
        path.removeLast()
        events.append((prefix, event))
        valueDone()
    }

    private mutating func valueDone() { expect = containers.isEmpty ? .done : .commaOrEnd }
}
