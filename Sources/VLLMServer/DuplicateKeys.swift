import Foundation

/// Python's `json.loads`, which vLLM's server parses bodies with, keeps the last of two equal keys;
/// Foundation's JSONDecoder keeps the first. A body with a repeated key is rewritten, last wins, before
/// it is decoded (JSONSerialization keeps the last), so a client gets what vLLM would give it.
enum DuplicateKeys {
    /// `body` with every repeated key's earlier values dropped, or `body` itself when no key repeats (the
    /// common case: one scan, nothing rebuilt) or it is not JSON (the decoder words that error).
    static func lastWins(_ body: Data) -> Data {
        guard hasRepeatedKey(body), let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]),
              let rewritten = try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed])
        else { return body }
        return rewritten
    }

    /// Whether some object in `body` has a key twice: one scan of its strings and brackets.
    static func hasRepeatedKey(_ body: Data) -> Bool {
        body.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Bool in
            var keys: [Set<[UInt8]>?] = []  // per open bracket: an object's keys so far; nil for an array
            var expectingKey = false
            var i = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "{"):
                    keys.append([])
                    expectingKey = true
                case UInt8(ascii: "["):
                    keys.append(nil)
                    expectingKey = false
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = keys.popLast()
                    expectingKey = false
                case UInt8(ascii: ","):
                    expectingKey = (keys.last ?? nil) != nil
                case UInt8(ascii: "\""):
                    var end = i + 1
                    while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
                        end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
                    }
                    if expectingKey, let top = keys.indices.last, keys[top] != nil {
                        // In place: a copy per key would make an object of many keys quadratic.
                        if !keys[top]!.insert(Array(bytes[i + 1..<min(end, bytes.count)])).inserted { return true }
                        expectingKey = false
                    }
                    i = end
                default:
                    break
                }
                i += 1
            }
            return false
        }
    }
}
