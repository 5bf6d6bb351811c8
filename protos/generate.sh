#!/usr/bin/env sh
# Regenerate the Python gRPC code from protos/ into stream_restore/v1/ (run from anywhere).
set -eu
cd "$(dirname "$0")/.."
python -m grpc_tools.protoc -Iprotos --python_out=. --grpc_python_out=. --pyi_out=. \
    protos/stream_restore/v1/restore.proto protos/stream_restore/v1/jobs.proto protos/stream_restore/v1/live.proto
[ -f stream_restore/v1/__init__.py ] || printf '"""Generated gRPC code for the stream_restore.v1 API (see protos/)."""\n' > stream_restore/v1/__init__.py
