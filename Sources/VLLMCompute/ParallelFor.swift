import Dispatch

#if canImport(Glibc)
import Glibc
#endif

/// Host loops split over threads: the CPU backend's ops, and the unpacking of quantized checkpoints at load.
public enum ParallelFor {
    /// Cores this process may use.
    public static let availableCores: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 4
        #endif
    }()

    /// Runs `body` over disjoint ranges covering `0..<count` — up to 4 per thread, each at least `grain` long —
    /// and returns when all have run. `body` must write only what its range owns.
    public static func chunks(_ count: Int, threads: Int = availableCores, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let numChunks = min(threads * 4, max(1, count / max(grain, 1)))
        if numChunks <= 1 || threads == 1 {
            body(0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = ChunkBody(body)
            DispatchQueue.concurrentPerform(iterations: numChunks) { chunk in
                work.body((chunk * count / numChunks)..<((chunk + 1) * count / numChunks))
            }
        }
    }
}

/// Carries a non-Sendable closure into `concurrentPerform`.
// @unchecked: concurrentPerform returns only after every chunk has run, and every caller gives each chunk a
// disjoint range of its output, so the closure never outlives its caller or races.
private struct ChunkBody: @unchecked Sendable {
    let body: (Range<Int>) -> Void
    init(_ body: @escaping (Range<Int>) -> Void) { self.body = body }
}
