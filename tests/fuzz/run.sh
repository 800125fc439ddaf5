#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a
# bounded time on a copy of its seed corpus and regression inputs; fails if
# any target crashes, leaks, times out or runs out of memory.
#   bash tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   # default 30, all
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (build jobs, default
# nproc). Failing inputs are kept in $FUZZ_BUILD_DIR/fuzz-artifacts/TARGET/,
# the logs of the last run in $FUZZ_BUILD_DIR/fuzz-logs/.
# See docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-30}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=(fuzz_report_validation fuzz_csv fuzz_trial_json fuzz_keys fuzz_http_request
  fuzz_dirty_mark)
if (($# > 0)); then TARGETS=("$@"); fi

bash deploy/setup.sh fuzz

if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # No -DNDEBUG, so header DCHECKs (protobuf, Abseil) stay on. Warnings are
  # not errors here: aesignal_warnings' flags are tuned for gcc.
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja "${launcher[@]}" \
    -DAESIGNAL_FUZZ=ON -DAESIGNAL_BUILD_TESTS=OFF \
    -DAESIGNAL_BUILD_BENCHMARKS=OFF -DAESIGNAL_WERROR=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
fi
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target "${TARGETS[@]}"

# Work on tmpfs when there is one: the report target's store syncs its WAL on
# every batch.
base=/dev/shm
[[ -d $base && -w $base ]] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/aesignal-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for target in "${TARGETS[@]}"; do
  corpus=$work/$target/corpus
  artifacts=$BUILD_DIR/fuzz-artifacts/$target
  mkdir -p "$corpus" "$work/$target/tmp" "$artifacts"
  # Seeds: the checked-in corpus and the regression inputs, copied so the
  # run does not grow the checked-in corpus.
  for dir in tests/fuzz/corpus/$target tests/fuzz/regressions/$target; do
    [[ -d $dir ]] || continue
    find "$dir" -maxdepth 1 -type f ! -name '.*' ! -name 'README*' \
      -exec cp -t "$corpus" {} +
  done
  dict=()
  if [[ -f tests/fuzz/dicts/$target.dict ]]; then
    dict=(-dict="tests/fuzz/dicts/$target.dict")
  fi
  log=$BUILD_DIR/fuzz-logs/$target.log
  mkdir -p "$BUILD_DIR/fuzz-logs"
  echo "== fuzz: $target for ${SECONDS_PER_TARGET}s ($(ls "$corpus" | wc -l) seeds)"
  status=0
  TMPDIR=$work/$target/tmp "$BUILD_DIR/tests/fuzz/$target" \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
    "$corpus" >"$log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb' "$log" || true
  if ((status != 0)); then
    failed+=("$target")
    echo "!! fuzz: $target FAILED (exit $status); last lines of its log:"
    tail -n 60 "$log"
    crash=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 |
      sed 's/Test unit written to //' || true)
    if [[ -n $crash ]]; then
      echo "!! fuzz: $target failing input: $crash"
      echo "!! reproduce: $BUILD_DIR/tests/fuzz/$target $crash"
    fi
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]} (inputs in $BUILD_DIR/fuzz-artifacts/)"
  exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, ${SECONDS_PER_TARGET}s each, no failures"
