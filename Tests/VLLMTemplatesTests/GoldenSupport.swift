import Foundation
import Testing

@testable import VLLMTemplates

/// Paths and golden files shared by the template tests.
enum Golden {
    /// ../shared/chat-templates next to the repository root, or nil (a visible skip; a failure under CI=true).
    static func sharedTemplates() -> URL? {
        let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/chat-templates")
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("../shared/chat-templates is missing at \(url.path) and CI=true")
        } else {
            print("SKIP: ../shared/chat-templates not found at \(url.path)")
        }
        return nil
    }

    static func load(_ name: String) throws -> TemplateValue {
        guard let url = Bundle.module.url(forResource: "Goldens/" + name, withExtension: nil) else {
            throw TemplateError.load("golden file \(name) is not in the test bundle")
        }
        return try TemplateValue(json: Data(contentsOf: url))
    }

    /// The clock the golden script fixes for `strftime_now`.
    static let now: Date = {
        var components = DateComponents()
        (components.year, components.month, components.day, components.hour) = (2025, 7, 10, 12)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)!
    }()

    static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Renders `source` with `context` and compares with one golden record; returns a failure description or nil.
    static func check(_ source: String, context: [String: TemplateValue], expected: TemplateValue) -> String? {
        let result: Result<String, Error> = Result {
            let template = try ChatTemplate(source: source)
            return try template.render(context: context, now: now, timeZone: TimeZone(identifier: "UTC")!)
        }
        if case .string(let errorType)? = expected["error_type"] {
            guard case .failure(let error) = result else {
                return "jinja2 raised \(errorType): \(expected["error"].map(describe) ?? ""), we rendered"
            }
            if errorType == "TemplateError", case .string(let message)? = expected["error"] {
                guard case TemplateError.raised(let ours)? = error as? TemplateError, ours == message else {
                    return "jinja2 raise_exception(\(message)), we threw \(error)"
                }
            }
            return nil
        }
        switch result {
        case .failure(let error):
            return "jinja2 rendered, we threw \(error)"
        case .success(let text):
            if case .string(let want)? = expected["text"], want != text {
                return "text differs:\n--- jinja2\n\(want)\n--- ours\n\(text)"
            }
            if case .int(let length)? = expected["length"], length != text.utf8.count {
                return "length \(text.utf8.count), jinja2 \(length); ours:\n\(text)"
            }
            if case .string(let hash)? = expected["fnv1a64"], hash != fnv1a64(text) {
                return "hash differs (same length); ours:\n\(text)"
            }
            return nil
        }
    }

    static func describe(_ value: TemplateValue) -> String {
        if case .string(let s) = value { return s }
        return "\(value)"
    }
}
