import Foundation
import Hummingbird
import NIOCore
import Synchronization
@testable import VLLMHub

/// A Hugging Face hub on loopback speaking the endpoints huggingface_hub and `HubClient` use: repository info,
/// `resolve` with ETag / X-Repo-Commit, LFS files as redirects carrying X-Linked-Etag (their sha256) and
/// X-Linked-Size, and the redirect's target with Range. Knobs make it misbehave as real networks do.
final class MockHub: Sendable {
    static let repository = "test-org/tiny-model"
    static let commit = "0123456789abcdef0123456789abcdef01234567"

    struct State {
        var files: [String: [UInt8]] = [:]
        /// LFS files (served through /cdn/<sha256>).
        var lfs: Set<String> = []
        var requiredToken: String?
        /// The next LFS download sends only this many bytes, then closes.
        var cutNextDownloadAfter: Int?
        /// LFS downloads send these bytes instead of the file's (same length).
        var corruptLFS = false
        /// LFS downloads answer a range request with the whole file (200), as HTTP lets a server do.
        var ignoresRange = false
        var rangeRequests: [String] = []
        var authorizations: [String] = []
    }

    let state = Mutex(State())

    init(files: [String: [UInt8]], lfs: Set<String>) {
        state.withLock {
            $0.files = files
            $0.lfs = lfs
        }
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        var hash = SHA256()
        hash.update(bytes)
        return hash.finalizeHex()
    }

    /// Runs the hub while `body` runs, handing it the endpoint.
    func serve<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/api/models/:org/:name/revision/:revision") { request, context -> Response in
            if let refused = self.refuse(request, context: context) { return refused }
            let names = self.state.withLock { $0.files.keys.sorted() }
            let json = try JSONSerialization.data(withJSONObject: [
                "id": Self.repository, "sha": Self.commit, "siblings": names.map { ["rfilename": $0] },
            ])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        router.head("/:org/:name/resolve/:revision/**") { request, context in try self.resolve(request, context: context, head: true) }
        router.get("/:org/:name/resolve/:revision/**") { request, context in try self.resolve(request, context: context, head: false) }
        router.get("/cdn/:sha") { request, context -> Response in
            let sha = context.parameters.get("sha") ?? ""
            let (bytes, cut, corrupt, ignoresRange) = self.state.withLock { state -> ([UInt8]?, Int?, Bool, Bool) in
                if let range = request.headers[.range] { state.rangeRequests.append(range) }
                let name = state.files.keys.first { Self.sha256(state.files[$0]!) == sha }
                defer { state.cutNextDownloadAfter = nil }
                return (name.flatMap { state.files[$0] }, state.cutNextDownloadAfter, state.corruptLFS, state.ignoresRange)
            }
            guard var bytes else { return Response(status: .notFound) }
            if corrupt { bytes = bytes.map { $0 ^ 0xFF } }
            var status = HTTPResponse.Status.ok
            if !ignoresRange, let range = request.headers[.range], range.hasPrefix("bytes="),
               let start = Int(range.dropFirst(6).dropLast()) {
                bytes = Array(bytes[min(start, bytes.count)...])
                status = .partialContent
            }
            if let cut { bytes = Array(bytes.prefix(cut)) }
            return Response(status: status, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await app.runService(); return nil }
            while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            let endpoint = "http://127.0.0.1:\(port.withLock { $0 }!)"
            let result = try await body(endpoint)
            group.cancelAll()
            return result
        }
    }

    private func refuse(_ request: Request, context: some RequestContext) -> Response? {
        let (required, repoKnown) = state.withLock { state -> (String?, Bool) in
            state.authorizations.append(request.headers[.authorization] ?? "")
            return (state.requiredToken, true)
        }
        let repository = "\(context.parameters.get("org") ?? "")/\(context.parameters.get("name") ?? "")"
        if let required, request.headers[.authorization] != "Bearer \(required)" { return Response(status: .unauthorized) }
        if repository != Self.repository || !repoKnown { return Response(status: .notFound) }
        return nil
    }

    private func resolve(_ request: Request, context: some RequestContext, head: Bool) throws -> Response {
        if let refused = refuse(request, context: context) { return refused }
        let file = context.parameters.getCatchAll().joined(separator: "/")
        guard let (bytes, isLFS) = state.withLock({ state in state.files[file].map { ($0, state.lfs.contains(file)) } }) else {
            return Response(status: .notFound)
        }
        var headers: HTTPFields = [.init("X-Repo-Commit")!: Self.commit]
        if isLFS {
            let sha = Self.sha256(bytes)
            // Another host name for the same server: the hub's CDN, where a HEAD stops following.
            headers[.location] = "http://\((request.head.authority ?? "").replacingOccurrences(of: "127.0.0.1", with: "localhost"))/cdn/\(sha)"
            headers[.init("X-Linked-Etag")!] = "\"\(sha)\""
            headers[.init("X-Linked-Size")!] = "\(bytes.count)"
            headers[.eTag] = "\"unused-git-oid\""
            return Response(status: .found, headers: headers)
        }
        headers[.eTag] = "\"\(String(Self.sha256(bytes).prefix(40)))\""
        headers[.contentLength] = "\(bytes.count)"
        return Response(status: .ok, headers: headers, body: head ? .init() : .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
