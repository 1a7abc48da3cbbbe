#!/bin/bash
# H200, session 22 run5: a prototype in benchmarks/kernels/fp8_wgmma_bench.cu — linear_fp8_wgmma's two-warpgroup
# 128 × 128 tile in clusters of two CTAs sharing one operand's tile by TMA multicast ("pair w": the weight, two token
# tiles; "pair x": x, two row tiles), against the landed tiles, kernel alone, the weight rotated past L2.
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/fp8wgmma.xz'), open('/tmp/fp8wgmma', 'wb'))"; chmod +x /tmp/fp8wgmma
mkdir -p /tmp/logs
echo "landed tiles"; timeout 120 stdbuf -oL /tmp/fp8wgmma 100 n1 2>&1 | tee /tmp/logs/landed.log | grep -E "M 256|M 128"
echo "pairs"; timeout 150 stdbuf -oL /tmp/fp8wgmma 100 pair 2>&1 | tee /tmp/logs/pair.log; echo "pair exit ${PIPESTATUS[0]}"
tar czf $OUT/logs.tgz -C /tmp/logs .
