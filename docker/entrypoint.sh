#!/bin/sh
# The container's entrypoint, as deployments of vLLM write theirs: environment variables onto `swift-vllm serve`.
#   MODEL              a model folder (default /model, a mounted volume) or a hub id (org/name)
#   SERVED_MODEL_NAME  the name clients send (default: MODEL)
#   PORT               default 8000
#   API_KEY            clients must send 'Authorization: Bearer API_KEY' (unset or empty: no key)
#   EXTRA_ARGS         more serve flags, split on spaces (e.g. "--tensor-parallel-size 2 --kv-cache-dtype fp8")
#   KERNEL_CACHE_DIR   where compiled CUDA kernels are kept (default /cache/kernels)
# Arguments given to `docker run IMAGE …` are appended after EXTRA_ARGS.
set -eu
BIN=${SWIFT_VLLM:-swift-vllm}
set -- serve "${MODEL:-/model}" --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
  --kernel-cache-dir "${KERNEL_CACHE_DIR:-/cache/kernels}" "$@"
if [ -n "${SERVED_MODEL_NAME:-}" ]; then set -- "$@" --served-model-name "$SERVED_MODEL_NAME"; fi
if [ -n "${API_KEY:-}" ]; then set -- "$@" --api-key "$API_KEY"; fi
# shellcheck disable=SC2086  # EXTRA_ARGS is split on purpose
exec "$BIN" "$@" ${EXTRA_ARGS:-}
