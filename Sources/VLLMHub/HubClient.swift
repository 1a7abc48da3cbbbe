import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The hub's HTTP endpoints as huggingface_hub calls them:
/// - `GET {endpoint}/api/models/{repo}/revision/{revision}` → `{"sha": commit, "siblings": [{"rfilename"}]}`;
/// - `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` → `X-Repo-Commit`, `X-Linked-Etag` / `ETag`,
///   `X-Linked-Size` / `Content-Length`, and for LFS files a redirect (`Location`) to where the bytes are;
/// - `GET` of that location, with `Range: bytes=N-` to resume.
/// The token goes only to the endpoint's own host, never to a redirect's.
final class HubClient: Sendable {
    let settings: HubSettings
    private let http: HTTPClient

    init(settings: HubSettings) {
        self.settings = settings
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: .seconds(30), read: .seconds(120))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async { try? await http.shutdown() }

    struct RepositoryInfo: Decodable {
        struct Sibling: Decodable { var rfilename: String }
        var sha: String
        var siblings: [Sibling]
    }

    /// What the hub says about one file of a revision.
    struct FileMetadata: Sendable {
        var commit: String
        /// The blob's name: the sha256 of an LFS file, the git blob id of a small one.
        var etag: String
        var size: Int
        /// Where its bytes are (a redirect's target for LFS files).
        var location: String
    }

    func repositoryInfo(_ repository: String, revision: String) async throws -> RepositoryInfo {
        let url = "\(settings.endpoint)/api/models/\(repository)/revision/\(Self.escape(revision))"
        return try await json(RepositoryInfo.self, url, what: "\(repository) at revision '\(revision)'")
    }

    /// A JSON answer decoded, or an error naming the URL and what was missing.
    func json<T: Decodable>(_ type: T.Type, _ url: String, what: String) async throws -> T {
        let response = try await send(url, method: .GET, what: what)
        let body = try await response.body.collect(upTo: 64 << 20)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        } catch {
            throw HubError("hub: \(url) answered JSON without what \(what) needs: \(error)")
        }
    }

    func metadata(_ repository: String, revision: String, file: String) async throws -> FileMetadata {
        let url = resolveURL(repository, revision: revision, file: file)
        let response = try await send(url, method: .HEAD, what: "\(repository)/\(file)")
        let headers = response.headers
        guard let commit = headers.first(name: "X-Repo-Commit") else {
            throw HubError("hub: \(url) gave no X-Repo-Commit header (is \(settings.endpoint) a Hugging Face hub?)")
        }
        guard let rawETag = headers.first(name: "X-Linked-Etag") ?? headers.first(name: "ETag") else {
            throw HubError("hub: \(url) gave no ETag for \(file)")
        }
        let etag = rawETag.replacingOccurrences(of: "W/", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let size = (headers.first(name: "X-Linked-Size") ?? headers.first(name: "Content-Length")).flatMap(Int.init) else {
            throw HubError("hub: \(url) gave no size for \(file)")
        }
        var location = url
        if (300..<400).contains(response.status.code), let target = headers.first(name: "Location") {
            location = Self.absolute(target, relativeTo: url)
        }
        return FileMetadata(commit: commit, etag: etag, size: size, location: location)
    }

    /// Streams `location`'s bytes from `offset` into `sink` (following redirects); returns the bytes received. A
    /// server may answer a range request with the whole file (200, as HTTP allows): then `restart` is called first and
    /// the bytes streamed are the file's from its start.
    func download(_ location: String, from offset: Int, what: String, restart: () throws -> Void,
                  into sink: (ByteBuffer) throws -> Void) async throws -> Int {
        let response = try await send(location, method: .GET, what: what, range: offset > 0 ? offset : nil)
        if offset > 0 && response.status != .partialContent {
            guard response.status == .ok else {
                throw HubError("hub: resuming \(what) at byte \(offset): the server answered \(response.status.code), not 206")
            }
            try restart()
        }
        var received = 0
        for try await chunk in response.body {
            try sink(chunk)
            received += chunk.readableBytes
        }
        return received
    }

    /// One request, following up to 5 redirects — a HEAD only those that stay on the hub's host (a renamed
    /// repository), as huggingface_hub does, so that an LFS file's headers and its CDN location come from the hub's
    /// own answer —; HTTP errors become `HubError`s naming what was asked for.
    func send(_ url: String, method: HTTPMethod, what: String, range: Int? = nil) async throws -> HTTPClientResponse {
        var current = url
        for _ in 0..<6 {
            var request = HTTPClientRequest(url: current)
            request.method = method
            request.headers.add(name: "User-Agent", value: "swift-vllm")
            request.headers.add(name: "Accept-Encoding", value: "identity")
            if let token = settings.token, Self.host(current) == Self.host(settings.endpoint) {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            if let range { request.headers.add(name: "Range", value: "bytes=\(range)-") }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .hours(6))
            } catch {
                throw HubError("hub: cannot reach \(current) for \(what): \(error) (set HF_HUB_OFFLINE=1 to use the cache alone)")
            }
            let code = response.status.code
            if (300..<400).contains(code), let target = response.headers.first(name: "Location") {
                let next = Self.absolute(target, relativeTo: current)
                if method == .HEAD && Self.host(next) != Self.host(current) { return response }
                current = next
                continue
            }
            switch code {
            case 200..<300: return response
            case 401, 403:
                throw HubError("hub: \(what): \(code) \(response.status.reasonPhrase) — a gated or private model needs a token: set HF_TOKEN"
                               + (settings.token == nil ? "" : " (the one set was refused)")
                               + "; the hub also answers so for a model id that does not exist")
            case 404:
                throw HubError("hub: \(what) not found at \(settings.endpoint) (404): check the model id and --revision")
            default:
                throw HubError("hub: \(what): \(current) answered \(code) \(response.status.reasonPhrase)")
            }
        }
        throw HubError("hub: \(what): more than 5 redirects from \(url)")
    }

    func resolveURL(_ repository: String, revision: String, file: String) -> String {
        "\(settings.endpoint)/\(repository)/resolve/\(Self.escape(revision))/\(file.split(separator: "/").map { Self.escape(String($0)) }.joined(separator: "/"))"
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    static func host(_ url: String) -> String? { URL(string: url)?.host }

    static func absolute(_ target: String, relativeTo base: String) -> String {
        URL(string: target, relativeTo: URL(string: base))?.absoluteString ?? target
    }
}
