#!/bin/bash
# H200, session 21 run5: the FP8 wgmma prototype again, now with check-gpu's error measure (‖err‖ / ‖ref‖; cuBLASLt's
# FP8 path with fast accumulation: 2.2e-3 at K 4096, 3.1e-3 at K 14336 in run3's check-gpu) and two variants that add
# each 128-k chunk's product into f32 registers (`f32`, DeepGEMM's promotion).
# (The harness of this run was fp8_wgmma_bench.cu's first form, with its own kernel variants; the commit after run5 made
# it time linear_fp8_wgmma.cu's entry points instead.)
source docs/gpu-runs/lib.sh
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/fp8wgmma.xz'), open('/tmp/fp8wgmma', 'wb'))"; chmod +x /tmp/fp8wgmma
t "fp8 wgmma prototype"
timeout 150 /tmp/fp8wgmma 200 | tee $L/fp8wgmma.txt
finish
