import Foundation
import Hummingbird
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
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? config.port
                logger.info("Serving \(serving.model.names) on http://\(config.host):\(port)")
                onListening(port)
            },
            logger: logger)
        var groupConfig = ServiceGroupConfiguration(
            services: [
                .init(service: app),
                .init(service: DrainWatcher(state: serving.state, logger: logger), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfig.maximumGracefulShutdownDuration = .milliseconds(Int(config.drainTimeoutSeconds * 1000))
        let group = ServiceGroup(configuration: groupConfig)
        do {
            try await group.run()
        } catch {
            guard serving.state.isDraining else { throw error }
            logger.warning("Drain ended with in-flight requests aborted: \(error)")
        }
        logger.info("Server stopped.")
    }
}

/// Marks the server as draining as soon as a graceful shutdown starts, before the HTTP server
/// stops (services shut down in reverse order).
struct DrainWatcher: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
        logger.info("Shutting down: draining \(state.requestsInFlight) request(s) in flight.")
    }
}
