#!/bin/bash
# H200, session 21 run6: linear_fp8_wgmma in the engine (FP8 GEMMs of 17–256-token steps where run4 / run5 found it
# faster than cuBLASLt: CUDABackend.fp8WgmmaTile; each chunk's product added into f32 registers). check-gpu (the fp8
# rows, wgmma forced: one and two 64-token tiles, ragged N, bias, two-warpgroup tiles with K split); W2 and W3 of
# `--quantization fp8` with it and without (SWIFT_VLLM_FP8_WGMMA=0) alternated.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "linear fp8 .*(wgmma|blasLt)" $L/check-gpu.log | awk '{print $(NF-2), $NF, $0}' | cut -c1-150
t "W3 / W2 fp8, wgmma on / off"
w3 fp8 --model $B --quantization fp8
SWIFT_VLLM_FP8_WGMMA=0 w3 fp8-blaslt --model $B --quantization fp8
w2 fp8 --model $B --quantization fp8
SWIFT_VLLM_FP8_WGMMA=0 w2 fp8-blaslt --model $B --quantization fp8
w3 fp8-again --model $B --quantization fp8
SWIFT_VLLM_FP8_WGMMA=0 w3 fp8-blaslt-again --model $B --quantization fp8
w2 fp8-again --model $B --quantization fp8
SWIFT_VLLM_FP8_WGMMA=0 w2 fp8-blaslt-again --model $B --quantization fp8
w1 fp8 --model $B --quantization fp8
finish
