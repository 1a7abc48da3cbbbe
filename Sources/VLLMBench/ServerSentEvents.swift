import Foundation

/// Splits a streamed response body into server-sent event messages as the bytes arrive: a message ends at a
/// blank line ("\n\n", or "\r\n\r\n"). As in vLLM's `StreamedResponseHandler`, a last `data:` message whose
/// payload is already complete JSON (or `[DONE]`) is handed out before its blank line arrives, so a token is
/// timed when its bytes come, not when the next ones do. Multi-byte characters split between network chunks are
/// joined before decoding.
struct ServerSentEventSplitter {
    private var buffer: [UInt8] = []

    /// The complete messages (trimmed, comments included) `chunk` finishes.
    mutating func add(_ chunk: some Sequence<UInt8>) -> [String] {
        buffer.append(contentsOf: chunk)
        var messages: [String] = []
        var start = 0
        var index = 0
        while index + 1 < buffer.count {
            var separator = 0
            if buffer[index] == 0x0A && buffer[index + 1] == 0x0A {
                separator = 2
            } else if index + 3 < buffer.count, buffer[index] == 0x0D, buffer[index + 1] == 0x0A, buffer[index + 2] == 0x0D,
                buffer[index + 3] == 0x0A
            {
                separator = 4
            }
            if separator > 0 {
                let message = Self.trimmed(buffer[start..<index])
                if !message.isEmpty { messages.append(message) }
                index += separator
                start = index
            } else {
                index += 1
            }
        }
        buffer.removeFirst(start)
        let rest = Self.trimmed(buffer[...])
        if rest.hasPrefix("data: ") {
            let payload = rest.dropFirst(6).trimmingCharacters(in: .whitespaces)
            if payload == "[DONE]" || (!payload.isEmpty && (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) != nil) {
                messages.append(rest)
                buffer.removeAll()
            }
        }
        return messages
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
