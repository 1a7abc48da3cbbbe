import Foundation
import Testing
import VLLMTokenizers

/// Paths of the repo, its goldens (scripts/make_bench_goldens.py), and ../shared.
enum Paths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let goldens = repoRoot.appendingPathComponent("Tests/VLLMBenchTests/Goldens")
    static let shared = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")

    static func golden(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: goldens.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A folder under ../shared, or nil with a visible skip message (a failure when CI=true).
    static func sharedFolder(_ relative: String) -> URL? {
        let url = shared.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("\(url.path) is missing and CI=true: ../shared must sit beside the repo")
        } else {
            print("SKIPPED: \(url.path) is absent (../shared not beside the repo)")
        }
        return nil
    }
}

/// |a − b| within `relative` of |b| (or of 1e-12 near zero).
func close(_ a: Double, _ b: Double, relative: Double = 1e-9) -> Bool {
    abs(a - b) <= relative * max(abs(b), 1e-12)
}
