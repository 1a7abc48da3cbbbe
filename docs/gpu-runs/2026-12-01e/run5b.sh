#!/bin/bash
# H200, lease 2026-12-01e, 5b: the peer's second part, joined, checked and unpacked into /root/site.
cat /root/vllm-lean.part00 .peer1/vllm-lean.part01 > /root/v.tar.xz && rm /root/vllm-lean.part00
sha256sum /root/v.tar.xz; grep tar.xz .peer1/SHA256SUMS
mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz && du -sh /root/site
