#!/usr/bin/env bash
# Installs clients/web's locked npm packages (npm ci --ignore-scripts) into
# DEPS_DIR/node_modules, outside the source tree, only when package-lock.json
# changed since the last install there, and under a lock: the CMake build
# (the bundle) and tests/web (playwright-core, axe-core) share the directory.
#   bash clients/web/npm_ci.sh DEPS_DIR
# --ignore-scripts: no package here needs an install script (esbuild's JS
# API finds its platform binary, @esbuild/linux-x64, without its postinstall;
# playwright-core downloads nothing: the tests use Debian's chromium).
set -euo pipefail
if (($# != 1)); then
  echo "usage: $0 DEPS_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
deps=$(cd "$1" && pwd)
sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$deps/node_modules/.aesignal-package-lock.sha256"
(
  flock 9
  if [[ ! -f $stamp || $(cat "$stamp") != "$sum" ]]; then
    cp "$here/package.json" "$here/package-lock.json" "$deps/"
    (cd "$deps" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$sum" >"$stamp"
  fi
) 9>"$deps/.npm-ci.lock"
