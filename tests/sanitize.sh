#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer, in
# its own build tree (build-asan). -O1 -g1 keeps the build short and the stack
# traces readable. Warnings stay warnings here: GCC's flow analysis under
# sanitizers reports false -Wrestrict/-Wstringop positives inside libstdc++;
# the normal build (deploy/test.sh) enforces -Werror.
#
#   bash tests/sanitize.sh            # after deploy/setup.sh
#
# ThreadSanitizer has its own script and build: tests/tsan.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
flags="-O1 -g1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=None \
    -DAESIGNAL_WERROR=OFF -DAESIGNAL_JEMALLOC=OFF -DCMAKE_CXX_FLAGS="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
# Leaks are checked too (no suppressions needed so far).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Fewer SIGKILL cycles under ASan (each restart is slower); CI's plain run
# does 20.
export AESIGNAL_CRASH_CYCLES=${AESIGNAL_CRASH_CYCLES:-5}
# Likewise power cuts (tests/integration/power_loss_test.cc; 20 in CI's plain
# run): each cycle opens and closes the store in the test's own process.
export AESIGNAL_POWER_CYCLES=${AESIGNAL_POWER_CYCLES:-8}
export CONSUMER_CXX_FLAGS="$flags" CONSUMER_LINKER_FLAGS="-fsanitize=address,undefined"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${TEST_JOBS:-2}" \
  --timeout 900 -LE lint
