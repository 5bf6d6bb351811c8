# stream-restore server for an NVIDIA GPU host: CUDA + TensorRT base, the package, the gRPC server.
#   docker build -t stream-restore .
#   echo "$(openssl rand -hex 32)" > tokens.txt
#   docker run --gpus all -p 50051:50051 -v $PWD/tokens.txt:/run/secrets/stream-restore-tokens:ro \
#              -v stream-restore-engines:/app/engines stream-restore
# Safe by default: every call needs a bearer token from /run/secrets/stream-restore-tokens (the
# server does not start without that file). For TLS add --tls-cert/--tls-key (and --tls-client-ca
# for mutual TLS) after the image name; metrics listen on the container's loopback unless you add
# --metrics-host 0.0.0.0 (they carry no auth: expose them only to a trusted network).
# The named volume keeps built TensorRT engines across restarts (builds take minutes per shape);
# Docker creates it owned by the image's user. A host folder instead must be writable by uid
# 10001 (or run with --user "$(id -u):$(id -g)"). With TLS, let the health check use it too:
# -e STREAM_RESTORE_HEALTH_CA=/run/secrets/ca.pem (the server's CA or its own certificate).
# Added models (stream-restore models add) are served from a mounted /app/models.
FROM nvcr.io/nvidia/tensorrt:25.01-py3

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY stream_restore ./stream_restore
COPY protos ./protos
COPY engines ./engines

# The base image ships TensorRT's Python module; torch comes as its CUDA build from PyPI (pinned:
# the version the project is tested with), ONNX Runtime as its GPU build (the gpu extra).
RUN python3 -m pip install --upgrade pip \
 && python3 -m pip install "torch==2.13.0" ".[gpu]" \
 && python3 -c "import tensorrt, torch; print('tensorrt', tensorrt.__version__, 'torch', torch.__version__)"

RUN useradd --create-home --uid 10001 restore && mkdir -p /app/engines/cache /app/models \
 && chown -R restore /app
USER restore

EXPOSE 50051 9090
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python3 -m stream_restore.server.healthcheck --port 50051

ENTRYPOINT ["stream-restore", "serve", "--host", "0.0.0.0", "--port", "50051", "--device", "cuda", "--backend", "auto", \
            "--token-file", "/run/secrets/stream-restore-tokens", "--engine-cache-dir", "/app/engines/cache", \
            "--metrics-port", "9090", "--models-dir", "/app/models"]
