#!/usr/bin/env bash
# Style checks, registered as ctest tests with label "lint" (CI runs them after
# the README test command; see .ci/run):
#   bash tests/lint.sh clang-format   # Google style on every tracked C++ file
#   bash tests/lint.sh buf            # buf lint on the protos (buf from npm)
#   bash tests/lint.sh function-length  # no function of 100+ lines in
#                                       # services/, storage/, clients/ but
#                                       # those docs/architecture.md lists
set -euo pipefail
cd "$(dirname "$0")/.."

case ${1:-} in
  clang-format)
    mapfile -t files < <(git ls-files '*.cc' '*.h')
    clang-format --dry-run --Werror "${files[@]}"
    echo "clang-format: ${#files[@]} files clean"
    ;;
  buf)
    mkdir -p "${BUF_DIR:-build/tools/buf}"
    BUF_DIR=$(cd "${BUF_DIR:-build/tools/buf}" && pwd)
    if [[ ! -x "$BUF_DIR/node_modules/.bin/buf" ]]; then
      (cd "$BUF_DIR" && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0)
    fi
    (cd proto && "$BUF_DIR/node_modules/.bin/buf" lint)
    echo "buf lint: clean"
    ;;
  function-length)
    python3 tests/function_lengths.py --check
    ;;
  *)
    echo "usage: $0 clang-format|buf|function-length" >&2
    exit 2
    ;;
esac
