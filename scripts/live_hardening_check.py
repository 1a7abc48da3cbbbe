"""Live checks of `swift-vllm serve` against hostile but ordinary clients (issue #19, items 1 and 2):

  idle    thousands of connections that send nothing, half the headers or half a body: the server closes
          them all within its keep-alive timeout, never holds more than --max-connections, and a normal
          request on a new connection is answered meanwhile.
  drain   streams (n=8) longer than --shutdown-timeout when SIGTERM arrives: every stream ends with a
          finish_reason for each choice ("abort" where cut) and `data: [DONE]`; whole answers cut short
          are 503 error bodies; the server exits 0.
  force   a second SIGTERM during the drain exits at once.

usage: live_hardening_check.py idle|drain|force --bin SWIFT_VLLM --port P
"""
import argparse, json, os, resource, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

def wait_ready(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200: return
        except Exception: time.sleep(0.1)
    sys.exit("FAIL: the server did not become ready")

def start(binary, port, *flags):
    log = tempfile.NamedTemporaryFile("w+", delete=False, suffix=".log")
    proc = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--served-model-name", "demo",
                             "--device", "cpu", "--disable-log-requests", *flags], stdout=log, stderr=subprocess.STDOUT)
    wait_ready(port)
    return proc, log.name

def post(port, path, body, timeout=60):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()

def idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 8192)
    if soft < want: resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    per_kind = min(1000, (want - 200) // 3)
    proc, log = start(args.bin, args.port, "--timeout-keep-alive", "1", "--max-connections", "256", "--max-model-len", "512")
    try:
        sockets = []
        payloads = [b"", b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Ty",
                    b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"prompt\": \"ab"]
        for payload in payloads:
            for _ in range(per_kind):
                s = socket.create_connection(("127.0.0.1", args.port), timeout=30)
                if payload: s.sendall(payload)
                sockets.append(s)
        opened = time.time()
        print(f"ok: {len(sockets)} idle / half-header / half-body connections open")
        # A normal request on a new connection is answered while they are held (they are closed a batch of
        # 256 at a time, one keep-alive timeout apart: a liveness bound, not a timing).
        status, body = post(args.port, "/v1/completions", {"model": "demo", "prompt": "hi", "max_tokens": 4}, timeout=120)
        assert status == 200, (status, body)
        print(f"ok: a normal request was answered {time.time() - opened:.1f} s after they opened")
        # Every one of them is closed by the server (the client never closes them).
        deadline = time.time() + 120
        open_left = list(sockets)
        while open_left and time.time() < deadline:
            still = []
            for s in open_left:
                s.settimeout(0.0)
                try:
                    data = s.recv(65536)
                    if data == b"": s.close(); continue
                    still.append(s)  # an error response may precede the close
                except BlockingIOError: still.append(s)
                except OSError: s.close()
            open_left = still
            if open_left: time.sleep(0.2)
        assert not open_left, f"{len(open_left)} of {len(sockets)} connections still open after 120 s"
        print(f"ok: the server closed all {len(sockets)} connections ({time.time() - opened:.1f} s)")
        text = open(log).read()
        assert "connections open: the limit" in text, "no log line when the connection limit was reached"
        print("ok: reaching --max-connections was logged")
        status, _ = post(args.port, "/v1/completions", {"model": "demo", "prompt": "hi", "max_tokens": 4})
        assert status == 200
        print("ok: the server still serves")
    finally:
        proc.kill(); proc.wait()

def read_stream(port, body, results, index):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    events, finish = [], {}
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            for raw in r:
                line = raw.decode().strip()
                if not line.startswith("data: "): continue
                events.append(line[6:])
                if line[6:] != "[DONE]":
                    for choice in json.loads(line[6:]).get("choices", []):
                        if choice.get("finish_reason"): finish[choice["index"]] = choice["finish_reason"]
        results[index] = (events, finish, None)
    except Exception as e:
        results[index] = (events, finish, repr(e))

def drain(args):
    proc, log = start(args.bin, args.port, "--shutdown-timeout", "2", "--max-model-len", "4096")
    streams, wholes = 50, 2
    body = {"model": "demo", "prompt": "drain", "max_tokens": 4000, "n": 8, "ignore_eos": True, "stream": True}
    results = [None] * streams
    threads = [threading.Thread(target=read_stream, args=(args.port, body, results, i)) for i in range(streams)]
    whole = [None] * wholes
    def whole_answer(i):
        whole[i] = post(args.port, "/v1/completions", {"model": "demo", "prompt": "whole", "max_tokens": 4000, "ignore_eos": True})
    threads += [threading.Thread(target=whole_answer, args=(i,)) for i in range(wholes)]
    for t in threads: t.start()
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    started = time.time()
    for t in threads: t.join(60)
    code = proc.wait(60)
    aborted = 0
    for i, (events, finish, error) in enumerate(results):
        assert error is None, f"stream {i}: {error}"
        assert events and events[-1] == "[DONE]", f"stream {i} did not end with [DONE]"
        assert sorted(finish) == list(range(8)), f"stream {i}: finish reasons for choices {sorted(finish)}"
        aborted += sum(1 for r in finish.values() if r == "abort")
    assert aborted > 0, "no choice was cut by the shutdown: make the streams longer"
    print(f"ok: {streams} streams × n=8 each ended with a finish_reason per choice and [DONE] ({aborted} choices 'abort')")
    for status, raw in whole:
        assert status == 503, (status, raw[:200])
        error = json.loads(raw)["error"]
        assert error["code"] == 503 and error["message"], error
    print(f"ok: {wholes} whole answers cut by the shutdown got 503 error bodies")
    assert code == 0, f"serve exited {code}"
    print(f"ok: serve exited 0, {time.time() - started:.1f} s after SIGTERM (--shutdown-timeout 2)")

def force(args):
    proc, log = start(args.bin, args.port, "--shutdown-timeout", "60", "--max-model-len", "4096")
    body = {"model": "demo", "prompt": "long", "max_tokens": 4000, "n": 8, "ignore_eos": True, "stream": True}
    results = [None]
    t = threading.Thread(target=read_stream, args=(args.port, body, results, 0)); t.start()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert proc.poll() is None, "serve exited on the first SIGTERM though a stream was in flight"
    sent = time.time()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(10)
    assert code != 0, "a forced exit should not report success"
    print(f"ok: a second SIGTERM exited at once ({time.time() - sent:.2f} s, code {code})")
    t.join(10)

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("check", choices=["idle", "drain", "force"])
    p.add_argument("--bin", required=True)
    p.add_argument("--port", type=int, default=18241)
    a = p.parse_args()
    {"idle": idle, "drain": drain, "force": force}[a.check](a)
