#!/usr/bin/env bash
# Installs the aesignal build into a temporary prefix, then configures, builds
# and runs tests/consumer against it with find_package(aesignal).
#   bash tests/consumer/run.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
src_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/aesignal-consumer-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
# A sanitized SDK needs the consumer built with the same sanitizers
# (tests/sanitize.sh sets these).
cmake -S "$src_dir" -B "$work/build" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="${CONSUMER_CXX_FLAGS:-}" \
  -DCMAKE_EXE_LINKER_FLAGS="${CONSUMER_LINKER_FLAGS:-}" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
