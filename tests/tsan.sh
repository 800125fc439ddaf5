#!/usr/bin/env bash
# The whole test suite under ThreadSanitizer, in its own build tree
# (build-tsan), with tests/tsan/absl_mutex_annotations.cc linked into every
# executable: Debian's Abseil is not built with TSan, and without that file
# every absl::Mutex-protected access (ours and gRPC's) is reported as a race.
# TSan reports end the test that hit them (halt_on_error).
#
#   bash tests/tsan.sh            # after deploy/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
flags="-O1 -g1"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" -DCMAKE_BUILD_TYPE=None \
    -DAESIGNAL_WERROR=OFF -DAESIGNAL_TSAN=ON -DCMAKE_CXX_FLAGS="$flags"
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}"
# The outside-consumer test builds its own project: it gets the same flags and
# the annotations as an object file.
shim="$(pwd)/$BUILD_DIR/absl_mutex_annotations.o"
${CXX:-c++} -std=c++20 $flags -fsanitize=thread -fPIC \
  -c tests/tsan/absl_mutex_annotations.cc -o "$shim"
# Suppressions name only gRPC-internal functions
# (tests/tsan/suppressions.txt says why).
# ignore_noninstrumented_modules: libc calls made by the uninstrumented
# libraries are not race-checked (their own accesses are invisible anyway).
# report_thread_leaks=0: gRPC leaves its executor threads running at exit.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:report_thread_leaks=0:suppressions=$(pwd)/tests/tsan/suppressions.txt}
# 15 SIGKILL cycles: under TSan a cycle acknowledges fewer reports, and the
# harness wants more than 1000 in all (5 was not always enough).
export AESIGNAL_CRASH_CYCLES=${AESIGNAL_CRASH_CYCLES:-15}
export AESIGNAL_POWER_CYCLES=${AESIGNAL_POWER_CYCLES:-8}
export CONSUMER_CXX_FLAGS="$flags -fsanitize=thread" CONSUMER_LINKER_FLAGS="-fsanitize=thread $shim -labsl_synchronization"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "${TEST_JOBS:-2}" \
  --timeout 900 -LE lint
