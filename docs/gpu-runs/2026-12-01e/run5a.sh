#!/bin/bash
# H200, lease 2026-12-01e, 5a: the vLLM 0.26.0 peer's first part onto the machine (../shared/gpu/README.md).
cp .peer0/vllm-lean.part00 /root/ && ls -la /root/vllm-lean.part00
