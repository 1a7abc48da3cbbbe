#!/bin/bash
# H200, session 26 run3b (same lease as run3a): the vLLM 0.26.0 peer's first part onto the machine (../shared/gpu/README.md).
cp .peer0/vllm-lean.part00 /root/ && ls -la /root/vllm-lean.part00 /root/sv
