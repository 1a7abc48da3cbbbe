import Foundation

/// The server's lifecycle as the handlers see it: serving, then draining after a shutdown signal.
/// Also counts requests in flight, so a drain can report what it waits for.
public final class ServerState: @unchecked Sendable {
    // @unchecked: `phase` and `numInFlight` are only touched while holding `lock`.
    private let lock = NSLock()

    enum Phase { case serving, draining }
    private var phase = Phase.serving
    private var numInFlight = 0
    private var abortedForShutdown = false

    public init() {}

    /// Admits a request, or refuses it with 503 once draining.
    func begin() throws(OpenAIError) {
        lock.lock()
        defer { lock.unlock() }
        guard phase == .serving else { throw .shuttingDown }
        numInFlight += 1
    }

    func end() {
        lock.lock()
        numInFlight -= 1
        lock.unlock()
    }

    public func beginDraining() {
        lock.lock()
        phase = .draining
        lock.unlock()
    }

    /// The drain ran out of time and the engine's requests were aborted: whole answers cut by it are 503s.
    public func markAbortedForShutdown() {
        lock.lock()
        abortedForShutdown = true
        lock.unlock()
    }

    public var didAbortForShutdown: Bool {
        lock.lock()
        defer { lock.unlock() }
        return abortedForShutdown
    }

    public var isDraining: Bool {
        lock.lock()
        defer { lock.unlock() }
        return phase == .draining
    }

    public var requestsInFlight: Int {
        lock.lock()
        defer { lock.unlock() }
        return numInFlight
    }
}
