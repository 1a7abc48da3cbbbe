#!/usr/bin/env bash
# The release binary, as the Docker image's build stage and the GPU recipe (../shared/gpu/README.md) make it: one
# static executable (the Swift runtime linked in; it needs only glibc, libstdc++ and what it dlopens at run time).
# usage: scripts/build-release.sh [OUT_DIR]   (copies the binary to OUT_DIR, default .build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product swift-vllm
out=${1:-}
if [ -n "$out" ]; then
  mkdir -p "$out"
  cp "$(swift build -c release --show-bin-path)/swift-vllm" "$out/swift-vllm"
  strip "$out/swift-vllm" 2>/dev/null || true
fi
