import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Synchronization

/// One per connection, in the channel pipeline after HTTP decoding: it sees the client's side of the
/// connection close (and the channel go inactive) without reading the request stream, so a handler can
/// stop generating for a client that left while the connection otherwise stays keep-alive. (Hummingbird's
/// `consumeWithCancellationOnInboundClose` watches by consuming the inbound stream, which costs the
/// connection: it is closed after the answer.)
///
/// It also answers a request the HTTP parser rejects (headers past the limit, a malformed request line)
/// with an OpenAI-style JSON 400 before the connection closes, where Hummingbird sends an empty one.
final class ConnectionWatchHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    let closed = ConnectionClosedSignal()

    func channelInactive(context: ChannelHandlerContext) {
        closed.fire()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The server allows half-closure, so a client that closes its socket shows up as `inputClosed`,
        // not as the channel closing (that waits until a write fails).
        if let event = event as? ChannelEvent, event == .inputClosed { closed.fire() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let problem: OpenAIError
        switch parserError {
        case .headerOverflow:
            problem = .invalidBody("The request's header fields are larger than the server accepts (80 KiB).")
        default:
            problem = .invalidBody("Invalid HTTP request received: \(parserError).")
        }
        let body = problem.body
        let head = HTTPResponse(
            status: .badRequest,
            headerFields: [.contentType: "application/json", .contentLength: "\(body.count)", .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    /// The signal of the connection `channel`, or nil where the pipeline has no watcher (the in-process
    /// router tests).
    static func signal(of channel: any Channel) async -> ConnectionClosedSignal? {
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ConnectionWatchHandler.self).closed
        }.get()
    }
}

/// Fires once, when the client's side of a connection has closed.
final class ConnectionClosedSignal: Sendable {
    private struct State {
        var isClosed = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    var isClosed: Bool { state.withLock { $0.isClosed } }

    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.isClosed else { return [] }
            state.isClosed = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the connection has closed, or when the calling task is cancelled.
    func wait() async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isClosed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Runs `operation`, cancelling it if the connection closes first (then throws `CancellationError`).
    func cancelling<Value: Sendable>(_ operation: () async throws -> Value) async throws -> Value {
        try await withoutActuallyEscaping(operation) { operation in
            // The group ends before `withoutActuallyEscaping` returns, so the closure never outlives it.
            let unescaped = UncheckedSendable(operation)
            return try await withThrowingTaskGroup(of: Value?.self) { group in
                group.addTask { try await unescaped.value() }
                group.addTask {
                    await self.wait()
                    return nil
                }
                defer { group.cancelAll() }
                guard case .some(.some(let value)) = try await group.next() else { throw CancellationError() }
                return value
            }
        }
    }
}

/// The request context of every route: Hummingbird's, plus the connection it came on.
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
