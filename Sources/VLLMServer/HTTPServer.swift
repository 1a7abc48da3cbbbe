import Foundation
import VLLMEngine
import Hummingbird
import Synchronization
import HummingbirdCore
import Logging
import ServiceLifecycle

/// Runs the HTTP server until SIGINT or SIGTERM: then it stops accepting, refuses requests that
/// still arrive on open connections with 503, lets in-flight requests finish for up to
/// `drainTimeoutSeconds`, aborts what is left, and returns.
public enum HTTPServer {
    public static func run(
        serving: OpenAIServing, logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }
    ) async throws {
        let config = serving.config
        let router = OpenAIRouter.make(serving: serving)
        let maxConnections = config.maxConnections ?? ConnectionLimit.fromOpenFileLimit()
        let app = Application(
            router: router,
            server: http1(config),
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil, backlog: 4096,
                                 availableConnectionsDelegate: ConnectionLimit(maxConnections, logger: logger)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                logger.info("Serving \(serving.model.names) on http://\(config.host):\(port)")
                onListening(port)
            },
            logger: logger)
        let drain = DrainWatcher(state: serving.state, engine: serving.engine, timeoutSeconds: config.drainTimeoutSeconds,
                                 logger: logger)
        var groupConfig = ServiceGroupConfiguration(
            services: [
                .init(service: app),
                .init(service: drain, successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // The drain aborts what is left at its deadline; the engine finishes the step it is in (seconds at most,
        // in a debug build), then every stream sends its ending: 30 s is the bound, not a wait.
        groupConfig.maximumGracefulShutdownDuration = .milliseconds(Int((config.drainTimeoutSeconds + 30) * 1000))
        let secondSignal = SecondSignalExit(logger: logger)
        let group = ServiceGroup(configuration: groupConfig)
        do {
            try await group.run()
        } catch {
            guard serving.state.isDraining else { throw error }
            logger.warning("Drain ended with in-flight requests aborted: \(error)")
        }
        secondSignal.cancel()
        logger.info("Server stopped.")
    }
}

extension HTTPServer {
    /// HTTP/1.1 as `serve` speaks it: keep-alive connections closed after `--timeout-keep-alive` idle, and a
    /// `ConnectionWatchHandler` on each, which sees its client leave.
    public static func http1(_ config: ServerConfig) -> HTTPServerBuilder {
        .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionWatchHandler()],
            idleTimeout: .milliseconds(Int64(config.keepAliveTimeoutSeconds * 1000))))
    }
}

/// A second SIGINT or SIGTERM during the drain exits at once (uvicorn's forced exit); the first starts
/// the graceful shutdown (ServiceGroup's own handler).
final class SecondSignalExit: @unchecked Sendable {
    // @unchecked: the sources are set once in init and only cancelled after; Dispatch synchronizes them.
    private let sources: [any DispatchSourceSignal]

    init(logger: Logger) {
        let count = Mutex(0)
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)  // delivered to the dispatch sources (ServiceGroup's too), not the default action
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let seen = count.withLock { count -> Int in
                    count += 1
                    return count
                }
                if seen >= 2 {
                    logger.warning("Second shutdown signal: exiting now, without waiting for the drain.")
                    exit(1)
                }
            }
            source.resume()
            return source
        }
    }

    func cancel() { for source in sources { source.cancel() } }
}

/// Marks the server as draining as soon as a graceful shutdown starts, before the HTTP server
/// stops (services shut down in reverse order).
struct DrainWatcher: Service {
    let state: ServerState
    let engine: any EngineClient
    let timeoutSeconds: Double
    let logger: Logger

    /// Returns as soon as draining starts, so the HTTP server stops accepting; the deadline is watched
    /// beside it: requests still in flight then are aborted, so every stream ends with
    /// `finish_reason: "abort"` and `[DONE]` (and whole answers with a 503) instead of being cut off.
    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
        logger.info("Shutting down: draining \(state.requestsInFlight) request(s) in flight.")
        let (state, engine, logger, timeout) = (state, engine, logger, timeoutSeconds)
        Task.detached {
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            while state.requestsInFlight > 0 && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            let left = state.requestsInFlight
            guard left > 0 else { return }
            logger.warning("Shutdown timeout: aborting \(left) request(s) still in flight.")
            state.markAbortedForShutdown()
            engine.abortAll()
        }
    }
}

/// The most connections the server holds open at once. At the limit it stops accepting — new clients wait
/// in the listen backlog, costing no file descriptor — and says so once in the log; accepting resumes as
/// connections close (idle ones within the keep-alive timeout). Without a limit, ~20,000 idle connections
/// used up the open-file limit and locked every new client out.
struct ConnectionLimit: AvailableConnectionsDelegate {
    let maxConnections: Int
    let logger: Logger
    private var count = 0
    private var isSaturated = false

    init(_ maxConnections: Int, logger: Logger) {
        self.maxConnections = max(1, maxConnections)
        self.logger = logger
    }

    mutating func connectionOpened() {
        count += 1
        if count >= maxConnections && !isSaturated {
            isSaturated = true
            logger.warning("\(count) connections open: the limit; new connections wait until some close")
        }
    }

    mutating func connectionClosed() {
        count -= 1
        if isSaturated && count < maxConnections * 9 / 10 {
            isSaturated = false
            logger.info("\(count) connections open: accepting again")
        }
    }

    func isAcceptingNewConnections() -> Bool { count < maxConnections }

    /// Raises the soft open-file limit to the hard one and leaves 256 descriptors to everything else
    /// (model files, the engine, logs).
    static func fromOpenFileLimit() -> Int {
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return max(64, min(Int(limit.rlim_cur) - 256, 65536))
    }
}
