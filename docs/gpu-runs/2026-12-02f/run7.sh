#!/bin/bash
# H200, session 22 run7: a prototype in benchmarks/kernels/fp8_wgmma_bench.cu — the two-warpgroup FP8 tile with a producer
# warp issuing every tensor copy and per-stage `empty` barriers (no block barrier in the K loop), 5 and 6 stages, against
# the landed tile; kernel alone.
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/fp8wgmma.xz'), open('/tmp/fp8wgmma', 'wb'))"; chmod +x /tmp/fp8wgmma
mkdir -p /tmp/logs
echo "landed tile"; timeout 120 stdbuf -oL /tmp/fp8wgmma 100 n1 2>&1 | tee /tmp/logs/landed.log | grep -E "M 256|M 128"
echo "producer warp"; timeout 150 stdbuf -oL /tmp/fp8wgmma 100 producer 2>&1 | tee /tmp/logs/producer.log | grep -E "M 256|M 128"; echo "producer exit ${PIPESTATUS[0]}"
tar czf $OUT/logs.tgz -C /tmp/logs .
