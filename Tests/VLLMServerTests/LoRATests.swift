import Foundation
import HummingbirdTesting
import Testing
import VLLMCore
import VLLMEngine
@testable import VLLMServer

/// Multi-LoRA in the server, as vLLM 0.26's: a request's `model` naming an adapter, `/v1/models`' adapter cards,
/// the runtime load / unload routes (only with VLLM_ALLOW_RUNTIME_LORA_UPDATING), `--lora-modules` at start-up,
/// and `vllm:lora_requests_info`.
@Suite struct LoRATests {
    /// A fake model with LoRA on (`--max-loras 2`), `--lora-modules` registered, and the runtime routes if asked.
    static func harness(modules: [LoRAModulePath] = [], runtimeUpdates: Bool = false, maxLoras: Int? = 2,
                        stepDelay: Duration = .zero) async throws -> TestHarness {
        let harness = TestHarness(stepDelay: stepDelay) { config in
            config.maxLoras = maxLoras
            config.loraModules = modules
            config.allowRuntimeLoRAUpdating = runtimeUpdates
        }
        try await harness.serving.loadStaticLoRAs()
        return harness
    }

    static let modules = [
        LoRAModulePath(name: "sql", path: "/adapters/sql", baseModelName: "alias"),
        LoRAModulePath(name: "chat", path: "/adapters/chat"),
        LoRAModulePath(name: "other-base", path: "/adapters/other", baseModelName: "not-served"),
    ]

    @Test func aRequestNamingAnAdapterRunsWithIt() async throws {
        let harness = try await Self.harness(modules: Self.modules)
        try await harness.test { client in
            let completion = try await client.post("/v1/completions", #"{"model": "sql", "prompt": "xy", "max_tokens": 2}"#)
            #expect(completion.status == 200)
            #expect(completion.json["model"] as? String == "sql")
            #expect(harness.engine.requests.last?.lora == LoRARequest(name: "sql", id: 1, path: "/adapters/sql"))

            let chat = try await client.post(
                "/v1/chat/completions", #"{"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}"#)
            #expect(chat.status == 200 && chat.json["model"] as? String == "chat")
            #expect(harness.engine.requests.last?.lora == LoRARequest(name: "chat", id: 2, path: "/adapters/chat"))

            let stream = try await client.post("/v1/completions", #"{"model": "sql", "prompt": "xy", "max_tokens": 2, "stream": true}"#)
            #expect(stream.eventObjects.count == 2 && stream.eventObjects.allSatisfy { $0["model"] as? String == "sql" })

            // Beam search runs every beam with the adapter.
            let beams = try await client.post(
                "/v1/completions", #"{"model": "chat", "prompt": "xy", "max_tokens": 2, "n": 2, "use_beam_search": true}"#)
            #expect(beams.status == 200 && harness.engine.requests.last?.lora?.name == "chat")

            for base in [#""model": "fake-model","#, #""model": "alias","#, #""model": "","#, ""] {
                let reply = try await client.post("/v1/completions", #"{\#(base) "prompt": "xy", "max_tokens": 1}"#)
                #expect(reply.status == 200, "\(base)")
                #expect(harness.engine.requests.last?.lora == nil, "\(base)")
            }
            let tokenize = try await client.post("/tokenize", #"{"model": "sql", "prompt": "ab"}"#)
            #expect(tokenize.status == 200)
        }
    }

    /// `run-batch` goes through the same endpoints: a line's `model` names an adapter of `--lora-modules`.
    @Test func batchLinesNameAdapters() async throws {
        let harness = try await Self.harness(modules: Self.modules)
        let outputs = await BatchRunner(serving: harness.serving).run(lines: [
            #"{"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {"model": "chat", "prompt": "xy", "max_tokens": 2}}"#,
            #"{"custom_id": "b", "method": "POST", "url": "/v1/completions", "body": {"model": "nope", "prompt": "xy"}}"#,
        ])
        let parsed = outputs.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
        let first = parsed[0]["response"] as? [String: Any]
        #expect(first?["status_code"] as? Int == 200 && (first?["body"] as? [String: Any])?["model"] as? String == "chat")
        #expect(harness.engine.requests.map(\.lora?.name) == ["chat"])
        #expect((parsed[1]["response"] as? [String: Any])?["status_code"] as? Int == 404)
    }

    /// vLLM's 404 for a name that is neither served nor an adapter, field for field.
    @Test func anUnknownModelIs404() async throws {
        let harness = try await Self.harness(modules: Self.modules)
        try await harness.test { client in
            for path in ["/v1/completions", "/v1/chat/completions"] {
                let reply = try await client.post(path, #"{"model": "sqll", "prompt": "x", "messages": [{"role": "user", "content": "x"}]}"#)
                #expect(reply.status == 404)
                #expect(reply.isError(status: 404, message: "The model `sqll` does not exist.", type: "NotFoundError", param: "model"))
            }
            #expect(harness.engine.requests.isEmpty)
        }
    }

    /// vLLM looks adapters up before the served names: an adapter named as a served model takes its requests.
    @Test func anAdapterNamedAsTheModelWins() async throws {
        let harness = try await Self.harness(modules: [LoRAModulePath(name: "alias", path: "/adapters/alias")])
        try await harness.test { client in
            let reply = try await client.post("/v1/completions", #"{"model": "alias", "prompt": "xy", "max_tokens": 1}"#)
            #expect(reply.status == 200 && harness.engine.requests.last?.lora?.name == "alias")
        }
    }

    /// An adapter named by hub id is fetched (vLLM's `get_adapter_absolute_path`; the CLI sets `fetchAdapter` to the hub
    /// client): the engine reads the snapshot's folder, `/v1/models` shows the id as given; a failed download leaves the
    /// path as it was, so the load fails as a missing folder does (404 at runtime).
    @Test func hubAdaptersAreFetched() async throws {
        let harness = TestHarness { config in
            config.maxLoras = 2
            config.allowRuntimeLoRAUpdating = true
            config.loraModules = [LoRAModulePath(name: "hub", path: "org/adapter")]
            config.fetchAdapter = { path in
                if path == "org/missing" { throw FakeEngineError.overloaded }
                return path.contains("/") && !path.hasPrefix("/") ? "/snapshots/\(path)" : path
            }
        }
        try await harness.serving.loadStaticLoRAs()
        #expect(harness.engine.addedLoRAs.last?.path == "/snapshots/org/adapter")
        try await harness.test { client in
            let models = try #require(try await client.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(models.last?["root"] as? String == "org/adapter")
            let load = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "b", "lora_path": "org/b"}"#)
            #expect(load.status == 200 && harness.engine.addedLoRAs.last?.path == "/snapshots/org/b")
            let missing = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "m", "lora_path": "org/missing"}"#)
            #expect(missing.status == 404 && missing.errorMessage == "Loading lora m failed: No adapter found for org/missing")
        }
    }

    @Test func modelsListsAdaptersAfterTheBaseModel() async throws {
        let harness = try await Self.harness(modules: Self.modules)
        try await harness.test { client in
            let data = try #require(try await client.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(data.map { $0["id"] as? String } == ["fake-model", "alias", "sql", "chat", "other-base"])
            for card in data.prefix(2) {
                #expect(card["root"] as? String == "/models/fake" && card["parent"] is NSNull && card["max_model_len"] as? Int == 64)
            }
            let adapters = Array(data.dropFirst(2))
            #expect(adapters.map { $0["root"] as? String } == ["/adapters/sql", "/adapters/chat", "/adapters/other"])
            // base_model_name counts only when it is a served name; else the first served name.
            #expect(adapters.map { $0["parent"] as? String } == ["alias", "fake-model", "fake-model"])
            #expect(adapters.allSatisfy { $0["max_model_len"] is NSNull && $0["object"] as? String == "model" })
            #expect(adapters.allSatisfy { ($0["permission"] as? [[String: Any]])?.first?["object"] as? String == "model_permission" })
        }
    }

    @Test func loadAndUnloadAtRuntime() async throws {
        let harness = try await Self.harness(runtimeUpdates: true)
        try await harness.test { client in
            let load = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "a", "lora_path": "/adapters/a"}"#)
            #expect(load.status == 200)
            #expect(load.text == "Success: LoRA adapter 'a' added successfully.")
            #expect(load.headers[.contentType] == nil, "a bare text answer, as Starlette's Response")
            #expect(harness.engine.addedLoRAs.last == LoRARequest(name: "a", id: 1, path: "/adapters/a"))
            let served = try await client.post("/v1/completions", #"{"model": "a", "prompt": "xy", "max_tokens": 1}"#)
            #expect(served.status == 200 && harness.engine.requests.last?.lora?.id == 1)

            let again = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "a", "lora_path": "/adapters/a2"}"#)
            #expect(again.status == 400 && again.error["type"] as? String == "InvalidUserInput")
            #expect(again.errorMessage == "The lora adapter 'a' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.")

            _ = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "b", "lora_path": "/adapters/b"}"#)
            let inPlace = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "a", "lora_path": "/adapters/a2", "load_inplace": true}"#)
            #expect(inPlace.status == 200 && inPlace.text == "Success: LoRA adapter 'a' added successfully.")
            // Read again (a fresh id is what makes the engine re-read), and listed where it was.
            #expect(harness.engine.addedLoRAs.last == LoRARequest(name: "a", id: 3, path: "/adapters/a2"))
            let models = try #require(try await client.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(models.map { $0["id"] as? String } == ["fake-model", "alias", "a", "b"])
            #expect(models[2]["root"] as? String == "/adapters/a2")

            let unload = try await client.post("/v1/unload_lora_adapter", #"{"lora_name": "a", "lora_int_id": 7}"#)
            #expect(unload.status == 200 && unload.text == "Success: LoRA adapter 'a' removed successfully.")
            #expect(unload.headers[.contentType] == nil)
            let gone = try await client.post("/v1/completions", #"{"model": "a", "prompt": "xy", "max_tokens": 1}"#)
            #expect(gone.status == 404 && gone.errorMessage == "The model `a` does not exist.")
            let twice = try await client.post("/v1/unload_lora_adapter", #"{"lora_name": "a"}"#)
            #expect(twice.isError(status: 404, message: "The lora adapter 'a' cannot be found.", type: "NotFoundError", param: nil))
            #expect(twice.status == 404)

            // Loaded again: a new id, listed last.
            _ = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "a", "lora_path": "/adapters/a"}"#)
            #expect(harness.engine.addedLoRAs.last?.id == 4)
            let listed = try #require(try await client.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(listed.map { $0["id"] as? String } == ["fake-model", "alias", "b", "a"])
        }
    }

    @Test func loadAndUnloadRefusals() async throws {
        let harness = try await Self.harness(runtimeUpdates: true)
        try await harness.test { client in
            for body in [#"{"lora_name": "", "lora_path": "/adapters/a"}"#, #"{"lora_name": "a", "lora_path": ""}"#] {
                let reply = try await client.post("/v1/load_lora_adapter", body)
                #expect(reply.status == 400)
                #expect(reply.isError(status: 400, message: "Both 'lora_name' and 'lora_path' must be provided.", type: "InvalidUserInput", param: nil))
            }
            let missing = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "m", "lora_path": "/adapters/missing-one"}"#)
            #expect(missing.status == 404)
            // The path stays in the message (vLLM's sanitize_message would put <path> there).
            #expect(missing.isError(status: 404, message: "Loading lora m failed: No adapter found for /adapters/missing-one", type: "NotFoundError", param: nil))
            let broken = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "r", "lora_path": "/adapters/broken"}"#)
            #expect(broken.status == 500 && broken.error["type"] as? String == "InternalServerError")
            #expect(broken.errorMessage == "Call to add_lora method failed: /adapters/broken: LoRA rank 64 is greater than max_lora_rank 16.")
            let fieldMissing = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "a"}"#)
            #expect(fieldMissing.status == 400 && fieldMissing.error["type"] as? String == "Bad Request")
            #expect(fieldMissing.errorMessage.contains("lora_path"))
            let notJSON = try await client.execute(
                uri: "/v1/load_lora_adapter", method: .post, headers: [.contentType: "text/plain"],
                body: .init(string: #"{"lora_name": "a", "lora_path": "/adapters/a"}"#)
            ) { Reply(status: Int($0.status.code), text: String(buffer: $0.body), headers: $0.headers) }
            #expect(notJSON.status == 400 && notJSON.error["type"] as? String == "Bad Request")
            #expect(notJSON.errorMessage == "1 validation error:\n  Unsupported Media Type: Only 'application/json' is allowed")

            let unloadEmpty = try await client.post("/v1/unload_lora_adapter", #"{"lora_name": ""}"#)
            #expect(unloadEmpty.status == 400)
            #expect(unloadEmpty.isError(status: 400, message: "'lora_name' needs to be provided to unload a LoRA adapter.", type: "InvalidUserInput", param: nil))
            let unknown = try await client.post("/v1/unload_lora_adapter", #"{"lora_name": "nope"}"#)
            #expect(unknown.status == 404 && unknown.errorMessage == "The lora adapter 'nope' cannot be found.")

            let wrongMethod = try await client.get("/v1/load_lora_adapter")
            #expect(wrongMethod.status == 405 && wrongMethod.headers[.allow] == "POST")
            // Nothing that failed was registered.
            let models = try #require(try await client.get("/v1/models").json["data"] as? [[String: Any]])
            #expect(models.count == 2)
        }
        // LoRA off (no --enable-lora), routes on: the engine's refusal, as vLLM's add_lora reports it.
        let off = try await Self.harness(runtimeUpdates: true, maxLoras: nil)
        try await off.test { client in
            let reply = try await client.post("/v1/load_lora_adapter", #"{"lora_name": "a", "lora_path": "/adapters/a"}"#)
            #expect(reply.status == 500)
            #expect(reply.errorMessage == "Call to add_lora method failed: LoRA is not enabled. Use --enable-lora to enable LoRA.")
        }
    }

    /// Without VLLM_ALLOW_RUNTIME_LORA_UPDATING the routes do not exist: 404 as any unknown route.
    @Test func runtimeRoutesNeedTheEnvironmentVariable() async throws {
        let harness = try await Self.harness(modules: Self.modules)
        try await harness.test { client in
            for path in ["/v1/load_lora_adapter", "/v1/unload_lora_adapter"] {
                let reply = try await client.post(path, #"{"lora_name": "a", "lora_path": "/adapters/a"}"#)
                let unknown = try await client.post("/v1/no_such_route", #"{}"#)
                #expect(reply.status == 404 && unknown.status == 404)
                #expect(reply.isError(status: 404, message: "No route for \(path).", type: "Not Found", param: nil))
                #expect(unknown.isError(status: 404, message: "No route for /v1/no_such_route.", type: "Not Found", param: nil))
            }
        }
        #expect(ServerConfig.allowsRuntimeLoRAUpdating("1") && ServerConfig.allowsRuntimeLoRAUpdating(" TRUE\n"))
        #expect(!ServerConfig.allowsRuntimeLoRAUpdating(nil) && !ServerConfig.allowsRuntimeLoRAUpdating("0")
                && !ServerConfig.allowsRuntimeLoRAUpdating("yes"))
    }

    /// `--lora-modules` at start-up, in order; the first that fails stops it with its message.
    @Test func startupAdapters() async throws {
        let good = try await Self.harness(modules: Self.modules)
        #expect(good.engine.addedLoRAs.map(\.name) == ["sql", "chat", "other-base"])
        #expect(good.engine.addedLoRAs.map(\.id) == [1, 2, 3])
        func failure(_ modules: [LoRAModulePath], maxLoras: Int? = 2) async -> OpenAIError? {
            do {
                _ = try await Self.harness(modules: modules, maxLoras: maxLoras)
                return nil
            } catch {
                return error as? OpenAIError
            }
        }
        let missing = await failure([Self.modules[0], LoRAModulePath(name: "x", path: "/adapters/missing")])
        #expect(missing?.message == "Loading lora x failed: No adapter found for /adapters/missing")
        let twice = await failure([Self.modules[0], Self.modules[0]])
        #expect(twice?.message == "The lora adapter 'sql' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.")
        let off = await failure([Self.modules[0]], maxLoras: nil)
        #expect(off?.message == "Call to add_lora method failed: LoRA is not enabled. Use --enable-lora to enable LoRA.")
    }

    /// `--lora-modules` items as vLLM's LoRAParserAction reads them, its errors word for word.
    @Test func loraModulesParseAsVLLMs() throws {
        let parsed = try LoRAModulePath.parse(arguments: [
            "sql=/adapters/sql", "", "None", #"{"name": "chat", "path": "/a/b,c", "base_model_name": "m"}"#,
            #"{"name": "n", "path": "p", "base_model_name": null, "is_3d_lora_weight": false}"#,
        ])
        #expect(parsed == [LoRAModulePath(name: "sql", path: "/adapters/sql"),
                           LoRAModulePath(name: "chat", path: "/a/b,c", baseModelName: "m"), LoRAModulePath(name: "n", path: "p")])
        func message(_ item: String) -> String? {
            do {
                _ = try LoRAModulePath.parse(arguments: [item])
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message("foo") == "Invalid JSON format for --lora-modules: foo")
        #expect(message("a=/x,y") == "Invalid JSON format for --lora-modules: a=/x,y")
        #expect(message(#"{"name": "a"}"#)
                == #"Invalid fields for --lora-modules: {"name": "a"} - LoRAModulePath.__init__() missing 1 required positional argument: 'path'"#)
        #expect(message("{}") == "Invalid fields for --lora-modules: {} - LoRAModulePath.__init__() missing 2 required positional arguments: 'name' and 'path'")
        #expect(message(#"{"name": "a", "path": "b", "rank": 8}"#)
                == #"Invalid fields for --lora-modules: {"name": "a", "path": "b", "rank": 8} - LoRAModulePath.__init__() got an unexpected keyword argument 'rank'"#)
        #expect(message("[1]") == "Invalid fields for --lora-modules: [1] - vllm.entrypoints.openai.models.protocol.LoRAModulePath() argument after ** must be a mapping, not list")
        #expect(message("a=b=c") == "Invalid --lora-modules item a=b=c: too many values to unpack (expected 2)")
    }

    /// The gauge as prometheus_client writes it (golden: make_server_goldens.py's third registry), from requests
    /// whose arrivals and ends stamp each label set: vLLM's quirk of both labels naming the same adapters kept.
    @Test func loraRequestsInfoRendersAsPrometheusClientDoes() throws {
        let golden = try String(contentsOf: MetricsTests.goldens.appendingPathComponent("metrics-lora.txt"), encoding: .utf8)
        let metrics = ServerMetrics(modelName: "demo-model", maxLoras: 2)
        let base = 1_733_000_000.0
        metrics.requestStarted(adapter: nil, now: base)
        metrics.requestEnded(adapter: nil, now: 1_733_000_012.345_678_9)
        metrics.requestStarted(adapter: "sql-lora", now: base + 15)
        metrics.requestStarted(adapter: #"chat-"v2""#, now: base + 20.5)
        metrics.requestEnded(adapter: "sql-lora", now: base + 31.25)
        metrics.requestEnded(adapter: #"chat-"v2""#, now: base + 40)
        let rendered = metrics.render(replicas: [EngineStats()], now: base + 99)
        #expect(rendered.hasSuffix(golden), "\(rendered.suffix(golden.count))")
        #expect(!ServerMetrics(modelName: "demo-model").render(stats: EngineStats()).contains("lora"))
    }

    /// Through HTTP: while an adapter's request runs, a scrape shows it in both labels; without LoRA there is no gauge.
    @Test func loraRequestsInfoFollowsRequestsInFlight() async throws {
        let harness = try await Self.harness(modules: Self.modules, stepDelay: .milliseconds(20))
        try await harness.test { client in
            let running = Task { try await client.post("/v1/completions", #"{"model": "sql", "prompt": "xy", "max_tokens": 40}"#) }
            let line = #"vllm:lora_requests_info{max_lora="2",running_lora_adapters="sql",waiting_lora_adapters="sql"} "#
            var seen = false
            for _ in 0..<200 where !seen {
                seen = try await client.get("/metrics").text.contains(line)
                if !seen { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(seen)
            #expect(try await running.value.status == 200)
            let page = try await client.get("/metrics").text
            let stamp = try #require(page.split(separator: "\n").first { $0.hasPrefix(line) }.flatMap { Double($0.dropFirst(line.count)) })
            #expect(abs(stamp - Date().timeIntervalSince1970) < 60)
            #expect(!page.contains(#"running_lora_adapters="sql,"#))
        }
        try await TestHarness().test { client in
            let page = try await client.get("/metrics").text
            #expect(!page.contains("lora_requests_info"))
        }
    }
}

extension Reply {
    /// Whether this is OpenAI's error body with exactly these fields (`code` the status), and that status.
    func isError(status: Int, message: String, type: String, param: String?) -> Bool {
        let error = self.error
        return self.status == status && json.count == 1 && error.count == 4 && error["message"] as? String == message
            && error["type"] as? String == type && error["code"] as? Int == status
            && (param.map { error["param"] as? String == $0 } ?? (error["param"] is NSNull))
    }
}
