import Foundation
import HummingbirdTesting
import Testing
import VLLMCore
@testable import VLLMServer

/// The request fields that ask for a structured output, read as vLLM 0.26 reads them (plus the
/// guided_* aliases), into the SamplingParams the engine gets.
@Suite struct StructuredOutputFieldTests {
    static func submitted(_ body: String, chat: Bool = false, _ harness: TestHarness, _ client: any TestClientProtocol)
        async throws -> (Reply, StructuredOutputs?)
    {
        let before = harness.engine.requests.count
        let reply = try await client.post(chat ? "/v1/chat/completions" : "/v1/completions", body)
        let requests = harness.engine.requests
        return (reply, requests.count > before ? requests.last?.params.structuredOutputs : nil)
    }

    @Test func eachFormReachesTheEngine() async throws {
        // The schema's keys keep the client's order (the output's properties follow it).
        let schema = #"{"type": "object", "properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}}"#
        let ordered = #"{"type":"object","properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}}}"#
        let cases: [(String, StructuredOutputs)] = [
            (#""response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": \#(schema), "strict": true}}"#,
             .json(ordered)),
            (#""response_format": {"type": "json_object"}"#, .jsonObject()),
            (#""structured_outputs": {"json": \#(schema)}"#, .json(ordered)),
            (#""structured_outputs": {"json": \#(schema), "disable_any_whitespace": true}"#, .json(ordered, anyWhitespace: false)),
            (#""structured_outputs": {"regex": "[a-z]+"}"#, .regex("[a-z]+")),
            (#""structured_outputs": {"choice": ["yes", "no"]}"#, .choice(["yes", "no"])),
            (#""structured_outputs": {"grammar": "root ::= \"a\""}"#, .grammar(#"root ::= "a""#)),
            (#""structured_outputs": {"json_object": true}"#, .jsonObject()),
            (#""guided_json": \#(schema)"#, .json(ordered)),
            (#""guided_json": "{\"type\": \"integer\"}""#, .json(#"{"type": "integer"}"#)),
            (#""guided_regex": "\\d+""#, .regex(#"\d+"#)),
            (#""guided_choice": ["a", "b"]"#, .choice(["a", "b"])),
            (#""guided_grammar": "root ::= \"x\"""#, .grammar(#"root ::= "x""#)),
            // structured_outputs wins over response_format, as in vLLM.
            (#""structured_outputs": {"regex": "x"}, "response_format": {"type": "json_object"}"#, .regex("x")),
        ]
        let harness = TestHarness()
        try await harness.test { client in
        for (fields, expected) in cases {
            let (reply, spec) = try await Self.submitted(#"{"prompt": "hi", "max_tokens": 2, \#(fields)}"#, harness, client)
            #expect(reply.status == 200, "\(fields): \(reply.text)")
            #expect(spec == expected, "\(fields)")
            let (chatReply, chatSpec) = try await Self.submitted(
                #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, \#(fields)}"#, chat: true, harness, client)
            #expect(chatReply.status == 200, "\(fields): \(chatReply.text)")
            #expect(chatSpec == expected, "chat \(fields)")
        }
        let (plain, none) = try await Self.submitted(
            #"{"prompt": "hi", "max_tokens": 2, "response_format": {"type": "text"}}"#, harness, client)
        #expect(plain.status == 200 && none == nil)
        }
    }

    @Test func badFieldsAreRefusedByName() async throws {
        let cases: [(String, String)] = [
            (#""structured_outputs": {"regex": "a", "choice": ["b"]}"#, "only use one kind"),
            (#""structured_outputs": {}"#, "must use one kind"),
            (#""structured_outputs": {"json": 5}"#, "JSON Schema"),
            (#""guided_json": [1]"#, "JSON Schema"),
            (#""response_format": {"type": "json_schema"}"#, "json_schema.schema"),
            (#""response_format": {"type": "yaml"}"#, "'yaml'"),
            (#""structured_outputs": {"regex": "a", "whitespace_pattern": " *"}"#, "whitespace_pattern"),
            (#""guided_choice": "yes""#, "guided_choice"),
        ]
        let harness = TestHarness()
        try await harness.test { client in
            for (fields, message) in cases {
                let (reply, _) = try await Self.submitted(#"{"prompt": "hi", "max_tokens": 2, \#(fields)}"#, harness, client)
                #expect(reply.status == 400, "\(fields)")
                #expect(reply.errorMessage.contains(message), "\(fields): \(reply.errorMessage)")
            }
        }
    }
}

/// tool_choice "required" and a named function become the structured output vLLM derives from the tools
/// (`get_json_schema_from_tools` in vllm/tool_parsers/utils.py), and the answer becomes tool calls.
@Suite struct ToolChoiceTests {
    static let tools = #"""
        [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
          "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}}, "required": ["city"]}}},
         {"type": "function", "function": {"name": "now"}}]
        """#

    @Test func namedAndRequiredConstrainTheOutput() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let named = try await client.post("/v1/chat/completions", #"""
                {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "tools": \#(Self.tools),
                 "tool_choice": {"type": "function", "function": {"name": "get_weather"}}}
                """#)
            #expect(named.status == 200, "\(named.text)")
            // The named function's parameters, keys in the client's order.
            #expect(harness.engine.requests.last?.params.structuredOutputs == .json(
                #"{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city"]}"#))
            let choice = (named.json["choices"] as? [[String: Any]])?.first
            let message = choice?["message"] as? [String: Any]
            let calls = message?["tool_calls"] as? [[String: Any]]
            #expect(message?["content"] as? String == "")
            #expect(calls?.count == 1)
            #expect((calls?.first?["function"] as? [String: Any])?["name"] as? String == "get_weather")
            #expect((calls?.first?["id"] as? String)?.hasPrefix("chatcmpl-tool-") == true)
            #expect(calls?.first?["type"] as? String == "function")

            let required = try await client.post("/v1/chat/completions", #"""
                {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "tools": \#(Self.tools), "tool_choice": "required"}
                """#)
            #expect(required.status == 200, "\(required.text)")
            // vLLM's array of {name, parameters}: a tool without parameters takes an empty object.
            let expected = #"{"type":"array","minItems":1,"items":{"type":"object","anyOf":["#
                + #"{"properties":{"name":{"type":"string","enum":["get_weather"]},"parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["c","f"]}},"required":["city"]}},"required":["name","parameters"]},"#
                + #"{"properties":{"name":{"type":"string","enum":["now"]},"parameters":{"type":"object","properties":{}}},"required":["name","parameters"]}]}}"#
            #expect(harness.engine.requests.last?.params.structuredOutputs == .json(expected))

            for (body, message) in [
                (#""tool_choice": "required""#, "`tools` must be set"),
                (#""tools": \#(Self.tools), "tool_choice": {"type": "function", "function": {"name": "fly"}}"#, "Tool 'fly' has not been passed"),
                (#""tools": \#(Self.tools), "tool_choice": "sometimes""#, "tool_choice must be"),
            ] {
                let reply = try await client.post("/v1/chat/completions",
                                                  #"{"messages": [{"role": "user", "content": "hi"}], \#(body)}"#)
                #expect(reply.status == 400, "\(body)")
                #expect(reply.errorMessage.contains(message), "\(body): \(reply.errorMessage)")
            }
        }
    }

    @Test func requiredAnswersBecomeToolCallsWithPythonStyleArguments() {
        let calls = ToolCallParsing.requiredCalls(#"[{"name": "get_weather", "parameters": {"city": "Zürich", "days": 2, "t": 1.0}}, {"name":"now","parameters":{}}]"#)
        #expect(calls == [ToolCallBody(name: "get_weather", arguments: #"{"city": "Zürich", "days": 2, "t": 1.0}"#),
                          ToolCallBody(name: "now", arguments: "{}")])
        #expect(ToolCallParsing.requiredCalls("[") == [])
        // A call pydantic's FunctionDefinition refuses (a name that is not a string) leaves none.
        #expect(ToolCallParsing.requiredCalls(#"[{"name": "a", "parameters": {}}, {"name": 1}]"#) == [])
        // parallel_tool_calls: false keeps the first (vLLM's maybe_filter_parallel_tool_calls).
        #expect(ToolCallBody.allowed(calls, parallel: false) == Array(calls.prefix(1)))
        #expect(ToolCallBody.allowed(calls, parallel: nil) == calls)
        #expect(DeltaToolCall.allowed([DeltaToolCall(index: 1, arguments: "{}")], parallel: false).isEmpty)
    }
}
