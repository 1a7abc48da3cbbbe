#!/bin/bash
# H200, session 25 run4a (a fresh lease: run3 found the machine of run2b given back): the vLLM peer's first part.
cp .peer0/vllm-lean.part00 /root/ && ls -la /root/vllm-lean.part00
