#!/usr/bin/env python3
"""Writes Tests/VLLMServerTests/Goldens/metrics.txt: the Prometheus text that prometheus_client
(vLLM's metrics library) renders for a fixed set of observations, with vLLM's metric names,
help texts, labels and buckets (vllm/v1/metrics/loggers.py). The Swift test feeds ServerMetrics
the same observations and must render the same bytes. `_created` series are disabled.

Run: python3 scripts/make_server_goldens.py   (needs: pip install prometheus_client)
"""
import os
import pathlib

os.environ["PROMETHEUS_DISABLE_CREATED_SERIES"] = "True"
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest  # noqa: E402

TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
ITL_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
               40.0, 80.0]
LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
                   240.0, 480.0, 960.0, 1920.0, 7680.0]

# The scenario; MetricsTests.swift replays exactly this.
MODEL = "demo-model"
RUNNING, WAITING, KV_USAGE = 2, 1, 0.25
PREFIX_QUERIES, PREFIX_HITS, PREEMPTIONS = 100, 40, 3
FIRST_TOKENS = [(1234000, 0.0005), (500, 0.03), (67, 0.3), (0, 3000.0)]  # (prompt tokens, ttft)
TOKENS = [(40, None), (2, 0.02), (0, 0.5)]  # (generated tokens, inter-token latency)
FINISHED = [("stop", 0.4, 0.0), ("stop", 12.0, 0.31), ("length", 10000.0, 0.5), ("abort", 0.3, 0.3)]

labels = ["model_name", "engine"]
r = CollectorRegistry()
Gauge("vllm:num_requests_running", "Number of requests in model execution batches.", labels,
      registry=r).labels(MODEL, "0").set(RUNNING)
Gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels,
      registry=r).labels(MODEL, "0").set(WAITING)
Gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels,
      registry=r).labels(MODEL, "0").set(KV_USAGE)
Counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", labels,
        registry=r).labels(MODEL, "0").inc(PREFIX_QUERIES)
Counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", labels,
        registry=r).labels(MODEL, "0").inc(PREFIX_HITS)
Counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", labels,
        registry=r).labels(MODEL, "0").inc(PREEMPTIONS)
prompt = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.", labels, registry=r).labels(MODEL, "0")
gen = Counter("vllm:generation_tokens", "Number of generation tokens processed.", labels,
              registry=r).labels(MODEL, "0")
success = Counter("vllm:request_success", "Count of successfully processed requests.",
                  labels + ["finished_reason"], registry=r)
for reason in ["stop", "length", "abort"]:
    success.labels(MODEL, "0", reason)
ttft = Histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", labels,
                 buckets=TTFT_BUCKETS, registry=r).labels(MODEL, "0")
itl = Histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", labels,
                buckets=ITL_BUCKETS, registry=r).labels(MODEL, "0")
e2e = Histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", labels,
                buckets=LATENCY_BUCKETS, registry=r).labels(MODEL, "0")
queue = Histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
                  labels, buckets=LATENCY_BUCKETS, registry=r).labels(MODEL, "0")

for tokens, seconds in FIRST_TOKENS:
    prompt.inc(tokens)
    ttft.observe(seconds)
for tokens, seconds in TOKENS:
    gen.inc(tokens)
    if seconds is not None:
        itl.observe(seconds)
for reason, latency, queued in FINISHED:
    success.labels(MODEL, "0", reason).inc()
    e2e.observe(latency)
    queue.observe(queued)

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/VLLMServerTests/Goldens/metrics.txt"
out.write_bytes(generate_latest(r))
print(f"wrote {out}")

# Two engine replicas (--data-parallel-size 2): the engines' gauges and counters, one sample per engine label
# (engine 0 as above, engine 1 with these values); the page's first metrics, which MetricsTests compares.
REPLICA_1 = dict(running=5, waiting=0, kv=0.5, queries=10, hits=2, preemptions=0)
r2 = CollectorRegistry()
for name, help_text, kind, values in [
    ("vllm:num_requests_running", "Number of requests in model execution batches.", Gauge, (RUNNING, REPLICA_1["running"])),
    ("vllm:num_requests_waiting", "Number of requests waiting to be processed.", Gauge, (WAITING, REPLICA_1["waiting"])),
    ("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", Gauge, (KV_USAGE, REPLICA_1["kv"])),
    ("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", Counter,
     (PREFIX_QUERIES, REPLICA_1["queries"])),
    ("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", Counter, (PREFIX_HITS, REPLICA_1["hits"])),
    ("vllm:num_preemptions", "Cumulative number of preemption from the engine.", Counter, (PREEMPTIONS, REPLICA_1["preemptions"])),
]:
    metric = kind(name, help_text, labels, registry=r2)
    for engine, value in enumerate(values):
        child = metric.labels(MODEL, str(engine))
        child.set(value) if kind is Gauge else child.inc(value)
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/VLLMServerTests/Goldens/metrics-dp2.txt"
out.write_bytes(generate_latest(r2))
print(f"wrote {out}")

# --enable-lora --max-loras 2: vllm:lora_requests_info (loggers.py; no model_name / engine labels), one child per
# label set in the order first set, each with the time it was last set (set_to_current_time). Both adapter labels
# name the same adapters, as in vLLM. MetricsTests replays the requests whose stamps give these times.
LORA_SERIES = [("", 1733000012.3456789), ("sql-lora", 1733000020.5), ('sql-lora,chat-"v2"', 1733000031.25),
               ('chat-"v2"', 1733000040.0)]
r3 = CollectorRegistry()
lora_info = Gauge("vllm:lora_requests_info", "Running stats on lora requests.",
                  labelnames=["max_lora", "waiting_lora_adapters", "running_lora_adapters"], registry=r3)
for adapters, stamp in LORA_SERIES:
    lora_info.labels(max_lora=2, waiting_lora_adapters=adapters, running_lora_adapters=adapters).set(stamp)
out = pathlib.Path(__file__).resolve().parent.parent / "Tests/VLLMServerTests/Goldens/metrics-lora.txt"
out.write_bytes(generate_latest(r3))
print(f"wrote {out}")

# --- Chat key order: what transformers' apply_chat_template renders for a request whose objects are
# not in sorted key order (json.loads keeps the order; transformers' tojson keeps it too).
import json  # noqa: E402
import jinja2  # noqa: E402
from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

REQUEST = ('{"model": "m", "messages": [{"role": "user", "content": "Weather in Paris?", "name": "ann"}], '
           '"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", '
           '"properties": {"unit": {"type": "string"}, "city": {"type": "string"}}, "required": ["city"]}, '
           '"description": "Current weather"}}], "chat_template_kwargs": {"style": {"z": 1, "a": 2}}}')
TEMPLATE = "{{ tools | tojson }}\n{% for m in messages %}{{ m | tojson }}\n{% endfor %}{{ style | tojson }}"
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
env.filters["tojson"] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(
    x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
request = json.loads(REQUEST)
rendered = env.from_string(TEMPLATE).render(messages=request["messages"], tools=request["tools"],
                                            add_generation_prompt=True, **request["chat_template_kwargs"])
(out.parent / "chat_key_order.json").write_text(json.dumps(
    {"request": REQUEST, "template": TEMPLATE, "rendered": rendered, "jinja2": jinja2.__version__}, indent=1) + "\n")
print("wrote chat_key_order.json")
