# swift-vllm: one static binary on a CUDA runtime image. Build: docker build -t swift-vllm .
# Run:   docker run --gpus all -p 8000:8000 -v /models/qwen:/model:ro swift-vllm
#        docker run --gpus all -p 8000:8000 -e MODEL=Qwen/Qwen2.5-7B-Instruct -e HF_TOKEN -v hf:/cache swift-vllm
# docker/entrypoint.sh maps MODEL, SERVED_MODEL_NAME, PORT, API_KEY and EXTRA_ARGS onto `swift-vllm serve` (docs/deploy.md).

# Build stage: the same script the repository's release builds run.
FROM swift:6.3-noble AS build
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts/build-release.sh ./scripts/
RUN scripts/build-release.sh /out

# NVRTC compiles the kernels at run time and includes CUDA's headers (cuda_bf16.h …); the runtime image has none.
FROM nvidia/cuda:13.0.0-devel-ubuntu24.04 AS cuda-headers

# Run stage: cuBLAS, NVRTC and NCCL come with the runtime image; glibc 2.39 as in the build image.
FROM nvidia/cuda:13.0.0-runtime-ubuntu24.04
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=cuda-headers /usr/local/cuda/include /usr/local/cuda/include
COPY --from=build /out/swift-vllm /usr/local/bin/swift-vllm
COPY docker/entrypoint.sh /usr/local/bin/entrypoint.sh
ENV CUDA_HOME=/usr/local/cuda \
    HF_HOME=/cache/huggingface \
    KERNEL_CACHE_DIR=/cache/kernels \
    NCCL_NVLS_ENABLE=0 \
    PORT=8000
# Hub downloads and compiled kernels survive restarts in this volume; a model folder mounts at /model.
VOLUME ["/cache"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=300s CMD ["sh", "-c", "curl -fs http://127.0.0.1:${PORT}/health || exit 1"]
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
