import Foundation
import Testing

@testable import VLLMTokenizers

/// encode / decode against HF tokenizers' outputs over the corpus, for every shared and synthetic tokenizer.
@Suite struct GoldenTests {
    @Test(arguments: GoldenSupport.tokenizerNames)
    func matchesHFTokenizers(name: String) throws {
        guard let tokenizer = try GoldenSupport.tokenizer(name) else { return }
        let golden = try GoldenSupport.golden(name)
        var failures = 0
        for item in golden["cases"]?.arrayValue ?? [] {
            let text = item["text"]?.stringValue ?? ""
            let plain = item["ids_no_special"]?.intArray ?? []
            let ids = item["ids"]?.intArray ?? plain
            let decoded = item["decoded"]?.stringValue ?? text
            let decodedWithSpecial = item["decoded_with_special"]?.stringValue ?? decoded
            let gotPlain = tokenizer.encode(text, addSpecialTokens: false)
            let gotIds = tokenizer.encode(text, addSpecialTokens: true)
            let gotDecoded = tokenizer.decode(ids, skipSpecialTokens: true)
            let gotWithSpecial = tokenizer.decode(ids, skipSpecialTokens: false)
            let ok =
                gotPlain == plain && gotIds == ids && gotDecoded.utf8.elementsEqual(decoded.utf8)
                && gotWithSpecial.utf8.elementsEqual(decodedWithSpecial.utf8)
            if !ok {
                failures += 1
                if failures <= 5 {
                    Issue.record(
                        """
                        \(name) text \(text.debugDescription):
                          ids      \(gotIds == ids ? "ok" : "got \(gotIds) want \(ids)")
                          plain    \(gotPlain == plain ? "ok" : "got \(gotPlain) want \(plain)")
                          decoded  \(gotDecoded.utf8.elementsEqual(decoded.utf8) ? "ok" : "got \(gotDecoded.debugDescription) want \(decoded.debugDescription)")
                          special  \(gotWithSpecial.utf8.elementsEqual(decodedWithSpecial.utf8) ? "ok" : "got \(gotWithSpecial.debugDescription) want \(decodedWithSpecial.debugDescription)")
                        """)
                }
            }
        }
        #expect(failures == 0, "\(name): \(failures) corpus strings differ from HF tokenizers")
        for item in golden["random_decode"]?.arrayValue ?? [] {
            let ids = item["ids"]?.intArray ?? []
            let decoded = item["decoded"]?.stringValue ?? ""
            let withSpecial = item["decoded_with_special"]?.stringValue ?? ""
            #expect(tokenizer.decode(ids).utf8.elementsEqual(decoded.utf8), "\(name) decode \(ids)")
            #expect(tokenizer.decode(ids, skipSpecialTokens: false).utf8.elementsEqual(withSpecial.utf8), "\(name) decode \(ids)")
        }
    }

    /// Recorded HF outputs under ../shared/tokenizers/expectations that the shared files reproduce in HF
    /// (the golden script lists which fields of which cases).
    @Test func reproducesSharedExpectations() throws {
        let base = GoldenSupport.shared.appendingPathComponent("tokenizers/expectations/swift-transformers")
        guard FileManager.default.fileExists(atPath: base.path) else {
            if GoldenSupport.isCI { Issue.record("\(base.path) is missing (CI=true)") }
            print("note: skipping expectations: \(base.path) not found")
            return
        }
        let checks = try GoldenSupport.golden("expectations")["checks"]?.arrayValue ?? []
        var checked = 0
        for check in checks {
            guard let folder = check["tokenizer"]?.stringValue, let file = check["file"]?.stringValue,
                let tokenizer = try GoldenSupport.tokenizer(folder)
            else { continue }
            let prepend = check["prepend_ids"]?.intArray ?? []
            let fields = Set(check["fields"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            let data = try GoldenSupport.json(base.appendingPathComponent(file))
            if let model = check["model"]?.stringValue, let index = check["index"]?.intValue {
                guard let item = data[model]?.arrayValue?[index], let input = item["input"]?.stringValue,
                    let expectedIds = item["encoded"]?["input_ids"]?.intArray
                else {
                    Issue.record("\(file) has no case \(model)[\(index)]")
                    continue
                }
                if fields.contains("input_ids") {
                    #expect(prepend + tokenizer.encode(input) == expectedIds, "\(model)[\(index)] \(input.debugDescription)")
                    checked += 1
                }
                if fields.contains("decoded_with_special") {
                    #expect(tokenizer.decode(expectedIds, skipSpecialTokens: false) == item["decoded_with_special"]?.stringValue)
                    checked += 1
                }
                if fields.contains("decoded_without_special") {
                    #expect(tokenizer.decode(expectedIds, skipSpecialTokens: true) == item["decoded_without_special"]?.stringValue)
                    checked += 1
                }
            } else {
                let text = data["text"]?.stringValue ?? ""
                let expectedIds = data["token_ids"]?.intArray ?? []
                if fields.contains("token_ids") {
                    #expect(prepend + tokenizer.encode(text) == expectedIds, "\(file)")
                    checked += 1
                }
                if fields.contains("decoded_text") {
                    #expect(tokenizer.decode(expectedIds, skipSpecialTokens: false) == data["decoded_text"]?.stringValue, "\(file)")
                    checked += 1
                }
            }
        }
        #expect(checked > 150, "only \(checked) expectation fields were checked")
    }
}
