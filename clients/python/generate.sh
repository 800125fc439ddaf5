#!/usr/bin/env bash
# Generates the Python message and gRPC stubs of the aesignal API from proto/
# into OUT_DIR (nothing generated is committed: the protos are the contract,
# and stubs must match the protoc and grpcio that run them).
#   bash clients/python/generate.sh OUT_DIR
#   PYTHONPATH=OUT_DIR python3 clients/python/safety_officer.py ...
#
# Debian's system protoc (3.21) and grpc_python_plugin, not grpc_tools: the
# protoc bundled in python3-grpc-tools is 3.5 and cannot compile proto3
# `optional` (AdverseEventReport.onset_study_day). google/rpc/*.proto are
# generated too: they decode the rich error details (grpc-status-details-bin);
# google/protobuf/* (Any, Timestamp) come with python3-protobuf.
set -euo pipefail
if (($# != 1)); then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$1
protoc=${PROTOC:-/usr/bin/protoc}
plugin=${GRPC_PYTHON_PLUGIN:-/usr/bin/grpc_python_plugin}
mkdir -p "$out"
"$protoc" -I "$root/proto" --python_out="$out" --grpc_python_out="$out" \
  --plugin=protoc-gen-grpc_python="$plugin" \
  "$root"/proto/aesignal/v1/*.proto "$root"/proto/google/rpc/*.proto
