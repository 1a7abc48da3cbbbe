"""Soak test of `swift-vllm serve` (issue #19, item 7), bounded and loopback-only: 1,000 concurrent streams,
a quarter of them dropped mid-stream by their client, bad requests mixed in, idle connections held open
throughout. Then: the server is alive, every stream the client kept ended with a finish_reason and
`data: [DONE]`, /metrics shows nothing running or waiting and an empty KV cache, and the server's open
file descriptors are back to their count before the load.

usage: soak_check.py --bin SWIFT_VLLM --port P [--streams 1000]
"""
import argparse, asyncio, json, os, random, re, resource, socket, subprocess, tempfile, time, urllib.request

def metric(text, name):
    values = [float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}{{[^}}]*}} (\S+)$", text, re.M)]
    return sum(values)

def fds(pid): return len(os.listdir(f"/proc/{pid}/fd"))

async def request(port, body):
    """Sends one POST (its own connection, closed after); returns (reader, writer, status)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\n"
                 + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    while (await reader.readline()) not in (b"\r\n", b""): pass
    return reader, writer, status

async def events(reader):
    """The SSE events of a chunked body, one `data:` payload at a time."""
    buffer = b""
    while True:
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0: return
        buffer += await reader.readexactly(size)
        await reader.readexactly(2)
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if event.startswith(b"data: "): yield event[6:].decode()

async def stream(port, i, rng, results):
    body = {"model": "demo", "prompt": f"soak {i}", "max_tokens": rng.randint(1, 4), "ignore_eos": True, "stream": True}
    drop_after = rng.randint(1, 3) if rng.random() < 0.25 else None
    finish, count, writer = None, 0, None
    try:
        reader, writer, status = await request(port, body)
        assert status == 200, status
        async for data in events(reader):
            count += 1
            if drop_after is not None and count >= drop_after:
                results["dropped"] += 1
                return  # the connection is closed below, mid-stream
            if data == "[DONE]":
                assert finish is not None, f"stream {i}: [DONE] without a finish_reason"
                results["done"] += 1
                return
            for choice in json.loads(data).get("choices", []):
                finish = choice.get("finish_reason") or finish
        results["failed"].append(f"stream {i}: ended without [DONE]")
    except Exception as e:
        results["failed"].append(f"stream {i}: {e!r}")
    finally:
        if writer: writer.close()

async def bad(port, i, results):
    bodies = [b"{not json", b'{"prompt": 5}', b'{"prompt": "x", "temperature": "hot"}', b'{"prompt": "x", "n": 0}',
              b'{"prompt": "x", "max_tokens": 100000}', b'[]']
    reader, writer, status = await request(port, bodies[i % len(bodies)])
    text = await reader.read()
    writer.close()
    if status == 400 and b'"error"' in text: results["bad"] += 1
    else: results["failed"].append(f"bad request {i}: {status} {text[:100]!r}")

async def run(args):
    rng = random.Random(0)
    results = {"done": 0, "dropped": 0, "bad": 0, "failed": []}
    tasks = [stream(args.port, i, rng, results) for i in range(args.streams)]
    tasks += [bad(args.port, i, results) for i in range(args.streams // 10)]
    rng.shuffle(tasks)
    await asyncio.gather(*tasks)
    return results

def main():
    p = argparse.ArgumentParser(); p.add_argument("--bin", required=True); p.add_argument("--port", type=int, default=18281)
    p.add_argument("--streams", type=int, default=1000); args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 8192): resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    log = tempfile.NamedTemporaryFile("w+", delete=False, suffix=".log")
    proc = subprocess.Popen([args.bin, "serve", "--host", "127.0.0.1", "--port", str(args.port), "--served-model-name", "demo",
                             "--device", "cpu", "--disable-log-requests", "--max-model-len", "256", "--timeout-keep-alive", "30"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/health", timeout=1); break
            except Exception: time.sleep(0.2)
        time.sleep(0.5)
        before = fds(proc.pid)
        idle = [socket.create_connection(("127.0.0.1", args.port)) for _ in range(100)]  # held open, silent
        started = time.time()
        results = asyncio.run(run(args))
        elapsed = time.time() - started
        assert proc.poll() is None, "the server died"
        assert not results["failed"], f"{len(results['failed'])} failures, e.g. {results['failed'][:5]}"
        kept = args.streams - results["dropped"]
        assert results["done"] == kept, (results["done"], kept)
        print(f"ok: {args.streams} concurrent streams in {elapsed:.1f} s: {kept} ended with a finish_reason and [DONE], "
              f"{results['dropped']} dropped by the client, {results['bad']} bad requests answered 400")
        for s in idle: s.close()
        deadline = time.time() + 60
        while True:
            text = urllib.request.urlopen(f"http://127.0.0.1:{args.port}/metrics", timeout=10).read().decode()
            running, waiting = metric(text, "vllm:num_requests_running"), metric(text, "vllm:num_requests_waiting")
            usage, now = metric(text, "vllm:kv_cache_usage_perc"), fds(proc.pid)
            if (running, waiting, usage) == (0, 0, 0) and now <= before: break
            assert time.time() < deadline, f"after 60 s: running {running}, waiting {waiting}, KV {usage}, fds {now} (before {before})"
            time.sleep(0.5)
        print(f"ok: /metrics back to 0 running, 0 waiting, KV cache empty; open descriptors {now} (before the load: {before})")
    finally:
        proc.kill(); proc.wait()

if __name__ == "__main__":
    main()
