#!/usr/bin/env bash
# Install what is missing, build, and run every test (ctest prints the
# summary line last).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
bash deploy/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "${TEST_JOBS:-2}" --timeout 600 -LE lint
