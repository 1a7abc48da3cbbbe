import Foundation
import Testing

@testable import VLLMTemplates

/// The huggingface.js Jinja test vectors (../shared/chat-templates/hf-jinja-test-vectors), with Python
/// jinja2's own renders of them (Goldens/test-vectors.json) as the expectation.
@Suite struct TestVectorTests {
    @Test func featureCasesMatchJinja2() throws {
        guard let shared = Golden.sharedTemplates() else { return }
        let golden = try Golden.load("test-vectors.json")
        let cases = try TemplateValue(
            json: Data(contentsOf: shared.appendingPathComponent("hf-jinja-test-vectors/jinja-feature-cases.json")))
        guard case .dict(let all) = cases, case .dict(let expectations)? = golden["feature_cases"] else {
            throw TemplateError.load("bad feature cases")
        }
        var failures: [String] = []
        for (name, testCase) in all {
            guard case .string(let source)? = testCase["template"],
                let expected = expectations.first(where: { $0.key == name })?.value
            else { continue }
            var context: [String: TemplateValue] = [:]
            if case .dict(let pairs)? = testCase["context"] { for (k, v) in pairs { context[k] = v } }
            if let failure = Golden.check(source, context: context, expected: expected) {
                failures.append("\(name): \(failure)\n  template: \(source)")
            }
        }
        print("feature cases: \(all.count - failures.count) of \(all.count) match jinja2")
        for failure in failures { print("FAIL " + failure + "\n") }
        #expect(failures.isEmpty, "\(failures.count) feature cases differ from jinja2")
    }

    @Test func modelTemplateCasesMatchJinja2() throws {
        guard let shared = Golden.sharedTemplates() else { return }
        let golden = try Golden.load("test-vectors.json")
        let cases = try TemplateValue(
            json: Data(contentsOf: shared.appendingPathComponent("hf-jinja-test-vectors/e2e-model-templates.json")))
        guard case .dict(let groups) = cases, case .dict(let expectations)? = golden["e2e_cases"] else {
            throw TemplateError.load("bad e2e cases")
        }
        var failures: [String] = []
        var total = 0
        for (group, groupCases) in groups {
            guard case .dict(let named) = groupCases else { continue }
            for (name, testCase) in named {
                guard case .string(let source)? = testCase["chat_template"],
                    let expected = expectations.first(where: { $0.key == group + "/" + name })?.value
                else { continue }
                total += 1
                var context: [String: TemplateValue] = [:]
                if case .dict(let pairs)? = testCase["data"] { for (k, v) in pairs { context[k] = v } }
                if let failure = Golden.check(source, context: context, expected: expected) {
                    failures.append("\(group)/\(name): \(failure)")
                }
            }
        }
        print("model template cases: \(total - failures.count) of \(total) match jinja2")
        for failure in failures.prefix(10) { print("FAIL " + failure + "\n") }
        #expect(failures.isEmpty, "\(failures.count) model template cases differ from jinja2")
    }
}
