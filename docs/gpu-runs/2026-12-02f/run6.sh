#!/bin/bash
# H200, session 22 run6: run5's pairs with the refill of the chunk before's stage issued while this chunk's wgmmas run
# ("pair-early"), against the landed two-warpgroup tile; kernel alone.
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/fp8wgmma.xz'), open('/tmp/fp8wgmma', 'wb'))"; chmod +x /tmp/fp8wgmma
mkdir -p /tmp/logs
echo "landed tile"; timeout 120 stdbuf -oL /tmp/fp8wgmma 100 n1 2>&1 | tee /tmp/logs/landed.log | grep -E "M 256"
echo "pairs, refill early"; timeout 150 stdbuf -oL /tmp/fp8wgmma 100 pair-early 2>&1 | tee /tmp/logs/pair-early.log | grep -E "M 256|M 128"; echo "pair exit ${PIPESTATUS[0]}"
tar czf $OUT/logs.tgz -C /tmp/logs .
