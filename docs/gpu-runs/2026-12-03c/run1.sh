#!/bin/bash
# H200, session 26 run1. (1) Session 25's run5, never run: the block-scaled FP8 linears' per-token-per-128-column
# activation quantization folded into the norm / add+norm / SiLU·mul before them (run5/source.patch of 2026-12-03b,
# applied on 4f08169; the binary in .gpu is that). check-gpu; the fused ops alone (elementwise harness); W2 / W3 of the
# block-FP8 shape fused and with SWIFT_VLLM_FUSED_QUANT=0, alternated; W2 of --quantization fp8 as this lease's
# baseline. (2) decode attention's kernel alone (benchmarks/kernels/decode_attention_bench.cu) at W2's batch 256 ×
# ~576 keys and smaller: HEAD's kernel (da_old), block-table entries read a chunk ahead (da_new), and with three
# stages a warp (da_s3), each with the engine's split rule and forced split counts. The three harnesses: HEAD's kernel,
# and run1/decode_attention_variants.patch applied (da_new; da_s3 with -DDECODE_MMA_STAGES=3, the harness then sizing
# its shared memory by DECODE_MMA_STAGES rather than 2); not kept.
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
t decode attention alone: HEAD / table entries a chunk ahead / 3 stages
for v in old new s3; do echo "== da_$v"; .gpu/da_$v 64; done
t check-gpu
timeout 300 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error|feeding fp8.*(blocks|groups)" $L/check-gpu.log | head -40; tail -2 $L/check-gpu.err
t the ops alone, µs: fused groups against the plain op + quantize_fp8_groups_bf16
.gpu/elementwise 30 | grep -E "groups|memcpy"
t W2 / W3
w2 fp8 --model $B --quantization fp8
w2 fp8block-fused --model $FB
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8block-separate --model $FB
w2 fp8block-fused-2 --model $FB
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8block-separate-2 --model $FB
w3 fp8block-fused --model $FB
SWIFT_VLLM_FUSED_QUANT=0 w3 fp8block-separate --model $FB
finish
