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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
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
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        if let delay {
            Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18)
            return ""
        }
        var received = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(marker) {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received += String(decoding: buffer[0..<count], as: UTF8.self)
        }
        return received
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
            let hangUp = Task.detached { try Self.sendAndHangUp(port: port, request: request, marker: "", after: .milliseconds(300)) }
            _ = try await hangUp.value
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
            let received = try Self.sendAndHangUp(port: port, request: request, marker: "data: ")
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
