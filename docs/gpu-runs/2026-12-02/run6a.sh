#!/bin/bash
# H200, session 17 lease 6 (#12's figures, swift-vllm and vLLM 0.26.0 in the same lease): the vLLM peer onto the machine
# in four quarters, as docs/gpu-runs/2026-12-01g/run8a.sh — calls 1–3 each carry .gpu/pN (the device keeps ignored paths
# of earlier calls); run6b.sh carries the fourth, joins, unpacks and measures.
ls -la .gpu/p*
