import VLLMTokenizers

extension EngineArgs {
    /// The demo model's tokenizer: byte-level BPE with no merges — one token per UTF-8 byte (ids
    /// 3…258, GPT-2's byte alphabet) after `<unk>`, `<s>`, `</s>` — so any text round-trips. Like
    /// Llama's, it starts every prompt with `<s>`.
    public static func demoTokenizer() throws -> Tokenizer {
        var vocab: [String] = []
        var shifted = 0
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            let scalar = printable ? byte : 256 + shifted
            if !printable { shifted += 1 }
            vocab.append(String(Character(Unicode.Scalar(UInt32(scalar))!)))
        }
        func quoted(_ s: String) -> String {
            "\"" + s.unicodeScalars.map { $0 == "\"" ? "\\\"" : $0 == "\\" ? "\\\\" : String($0) }.joined() + "\""
        }
        let entries = (["<unk>", "<s>", "</s>"] + vocab).enumerated().map { "\(quoted($0.element)): \($0.offset)" }
        let special = ["<unk>", "<s>", "</s>"].enumerated().map { id, content in
            "{\"id\": \(id), \"content\": \"\(content)\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        let json = """
            {"version": "1.0", "truncation": null, "padding": null, "added_tokens": [\(special.joined(separator: ", "))],
             "normalizer": null,
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": {"type": "TemplateProcessing",
                                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                         {"Sequence": {"id": "B", "type_id": 1}}],
                                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                       "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                       "vocab": {\(entries.joined(separator: ", "))}, "merges": []}}
            """
        return try Tokenizer(tokenizerJSON: Array(json.utf8))
    }
}
