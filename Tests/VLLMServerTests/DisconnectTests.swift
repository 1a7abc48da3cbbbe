import Foundation
import Testing
import HummingbirdTesting
import VLLMServer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client that goes away aborts its request at once (on a real socket).
@Suite struct DisconnectTests {
    /// Sends `request` to 127.0.0.1:`port`, reads until `marker` arrives (or waits `delay`), then closes the socket.
    static func sendAndHangUp(port: Int, request: String, marker: String, after delay: Duration? = nil) throws -> String {
        let connection = try RawConnection(port: port)
        connection.send(request)
        if let delay {
            Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18)
            return ""
        }
        return connection.receive(until: marker)
    }

    /// A client waiting for a whole (non-streamed) answer that hangs up aborts the request too.
    @Test func disconnectWhileWaitingForAWholeAnswerAbortsTheRequest() async throws {
        let harness = TestHarness(maxModelLen: 100_000, stepDelay: .milliseconds(20))
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            let body = #"{"prompt": "abc", "max_tokens": 5000}"#
            let request =
                "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            // Nothing comes back before the answer is whole: hang up once the engine has the request.
            _ = try await onOwnThread {
                try Self.sendAndHangUp(port: port, request: request, marker: "", after: .milliseconds(300))
            }
            try await Self.expectAbortedAndStillServing(harness, client)
        }
    }

    @Test func disconnectMidStreamAbortsTheRequest() async throws {
        let harness = TestHarness(maxModelLen: 100_000, stepDelay: .milliseconds(20))
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            let body = #"{"prompt": "abc", "max_tokens": 5000, "stream": true}"#
            let request =
                "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
            let received = try await onOwnThread { try Self.sendAndHangUp(port: port, request: request, marker: "data: ") }
            #expect(received.contains("200 OK"))
            try await Self.expectAbortedAndStillServing(harness, client)
        }
    }

    /// The one request (5000 tokens: 100 s of steps) was aborted within 5 s, counted as an abort in the
    /// metrics, nothing is left in flight, and the server answers the next request.
    static func expectAbortedAndStillServing(_ harness: TestHarness, _ client: any TestClientProtocol) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        // The engine's abort and the metrics' count come from two places: wait for both.
        while (harness.engine.aborted.isEmpty || harness.serving.metrics.snapshot().requestSuccess[.abort] != 1)
            && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(harness.engine.aborted.count == 1)
        #expect(harness.engine.numInFlight == 0)
        #expect(harness.serving.metrics.snapshot().requestSuccess[.abort] == 1)
        let reply = try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 2}"#)
        #expect(reply.status == 200)
    }
}

/// Runs blocking socket calls on a thread of their own: on the cooperative pool (two threads on a
/// two-core machine) they would starve the server they talk to.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// One client connection on a real socket, read as HTTP/1.1 responses.
final class RawConnection {
    let fd: Int32
    private var pending = [UInt8]()

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// Whatever arrives until `marker` has (or the server closes the connection).
    func receive(until marker: String) -> String {
        while !String(decoding: pending, as: UTF8.self).contains(marker) { guard fill() else { break } }
        return String(decoding: pending, as: UTF8.self)
    }

    static func post(_ path: String, _ body: String, extraHeaders: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\(extraHeaders)"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// Reads one response: its status line and headers (lowercased names) and its body, by
    /// Content-Length or chunked. Nil when the server closed the connection first.
    func readResponse() -> (status: Int, headers: [String: String], body: String)? {
        guard let headEnd = readUntil(Array("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: pending[..<headEnd], as: UTF8.self)
        pending.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = [UInt8]()
        if let length = headers["content-length"].flatMap(Int.init) {
            guard readCount(length) else { return nil }
            body = Array(pending.prefix(length))
            pending.removeFirst(length)
        } else if headers["transfer-encoding"] == "chunked" {
            while true {
                guard let lineEnd = readUntil(Array("\r\n".utf8)) else { return nil }
                let size = Int(String(decoding: pending[..<lineEnd], as: UTF8.self), radix: 16) ?? 0
                pending.removeFirst(lineEnd + 2)
                guard readCount(size + 2) else { return nil }
                body += pending.prefix(size)
                pending.removeFirst(size + 2)
                if size == 0 { break }
            }
        }
        return (status, headers, String(decoding: body, as: UTF8.self))
    }

    private func fill() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return false }
        pending += buffer[0..<count]
        return true
    }

    private func readUntil(_ marker: [UInt8]) -> Int? {
        while true {
            if pending.count >= marker.count {
                for start in 0...(pending.count - marker.count) where pending[start..<(start + marker.count)].elementsEqual(marker) {
                    return start
                }
            }
            guard fill() else { return nil }
        }
    }

    private func readCount(_ count: Int) -> Bool {
        while pending.count < count { guard fill() else { return false } }
        return true
    }
}

/// Connections stay open between requests (HTTP/1.1 keep-alive, as uvicorn keeps them for vLLM), whole
/// answers and streams alike, and a request the HTTP parser refuses gets a JSON error body.
@Suite struct KeepAliveTests {
    @Test func wholeAnswersAndStreamsShareOneConnection() async throws {
        let harness = TestHarness(maxModelLen: 1000)
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            let answered = try await onOwnThread { () -> [(Int, [String: String], String)] in
                let connection = try RawConnection(port: port)
                var replies: [(Int, [String: String], String)] = []
                let requests = [
                    RawConnection.post("/v1/completions", #"{"prompt": "abc", "max_tokens": 3}"#),
                    RawConnection.post("/v1/completions", #"{"prompt": "abc", "max_tokens": 3, "stream": true}"#),
                    RawConnection.post("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}"#),
                    RawConnection.post("/tokenize", #"{"prompt": "abc"}"#),
                ]
                for request in requests {
                    connection.send(request)
                    guard let reply = connection.readResponse() else { break }
                    replies.append(reply)
                }
                // Pipelined: two requests in one write, answered in order on the same connection.
                connection.send(requests[0] + requests[3])
                for _ in 0..<2 {
                    guard let reply = connection.readResponse() else { break }
                    replies.append(reply)
                }
                return replies
            }
            #expect(answered.count == 6)
            for (status, headers, _) in answered {
                #expect(status == 200)
                #expect(headers["connection"]?.lowercased() != "close")
            }
            #expect(answered[1].2.hasSuffix("data: [DONE]\n\n"))
            #expect(answered[4].2.contains("\"text_completion\""))
            #expect(answered[5].2.contains("\"tokens\""))
        }
    }

    @Test func oversizedHeadersGetAJSONError() async throws {
        let harness = TestHarness()
        try await harness.test(.live) { client in
            let port = try #require(client.port)
            let reply = try await onOwnThread { () -> (Int, [String: String], String)? in
                let connection = try RawConnection(port: port)
                let huge = "X-Padding: " + String(repeating: "a", count: 100_000) + "\r\n"
                connection.send(RawConnection.post("/v1/completions", #"{"prompt": "a"}"#, extraHeaders: huge))
                return connection.readResponse()
            }
            let (status, headers, body) = try #require(reply)
            #expect(status == 400)
            #expect(headers["content-type"] == "application/json")
            let error = (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["error"] as? [String: Any]
            #expect(error?["type"] as? String == "Bad Request")
            let message = error?["message"] as? String
            #expect(message?.contains("header") == true)
            // The server goes on serving.
            #expect(try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 2}"#).status == 200)
        }
    }
}
