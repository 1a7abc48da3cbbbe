#!/usr/bin/env bash
# Live test of `swift-vllm serve` on the CPU demo model: the official openai client (completions,
# chat, streaming, errors, 256 concurrent streams, /metrics), then SIGTERM during a stream: the
# stream must finish and the server exit 0. Needs python3 with `openai` and `prometheus_client`.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18231}
CONCURRENCY=${CONCURRENCY:-256}
swift build --product swift-vllm >/dev/null
BIN=$(swift build --show-bin-path)/swift-vllm
LOG=$(mktemp)
"$BIN" serve --host 127.0.0.1 --port "$PORT" --served-model-name demo --api-key sk-live --max-model-len 512 \
  --device cpu --disable-log-requests >"$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "localhost:$PORT/health" >/dev/null && break; sleep 0.2; done
python3 scripts/live_server_check.py --base-url "http://127.0.0.1:$PORT" --api-key sk-live --model demo \
  --max-model-len 512 --concurrency "$CONCURRENCY"

# Drain: a stream in flight when SIGTERM arrives still completes; then the server exits 0.
STREAM=$(mktemp)
curl -sN "localhost:$PORT/v1/completions" -H 'Authorization: Bearer sk-live' -H 'Content-Type: application/json' \
  -d '{"model":"demo","prompt":"drain","max_tokens":200,"ignore_eos":true,"stream":true}' >"$STREAM" &
CURL=$!
sleep 0.5
kill -TERM $PID
wait $CURL
set +e
wait $PID
STATUS=$?
set -e
trap - EXIT
tail -c 200 "$STREAM" | grep -q 'data: \[DONE\]' || { echo "FAIL: the in-flight stream did not finish"; exit 1; }
grep -q '"finish_reason":"length"' "$STREAM" || { echo "FAIL: the in-flight stream was cut short"; exit 1; }
[ "$STATUS" = 0 ] || { echo "FAIL: serve exited $STATUS after SIGTERM"; tail -20 "$LOG"; exit 1; }
echo "ok: SIGTERM drained the in-flight stream and serve exited 0"
echo "live server test passed"
