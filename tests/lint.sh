#!/usr/bin/env bash
# Style checks run by CI after the tests: clang-format (Google style) on every
# C++ file, and buf lint on the protos (buf comes from the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== clang-format (Google style)"
mapfile -t files < <(git ls-files '*.cc' '*.h')
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files clean"

echo "== buf lint"
BUF_DIR=${BUF_DIR:-build/tools/buf}
if [[ ! -x "$BUF_DIR/node_modules/.bin/buf" ]]; then
  mkdir -p "$BUF_DIR"
  (cd "$BUF_DIR" && npm install --silent --no-audit --no-fund @bufbuild/buf@1.75.0)
fi
(cd proto && "../$BUF_DIR/node_modules/.bin/buf" lint)
echo "buf lint: clean"
