#!/usr/bin/env bash
# ctest node_client: installs the locked packages (npm ci) into DEPS_DIR,
# outside the source tree, then runs the example clients' tests against real
# aesignald servers on 127.0.0.1:0 with temporary data dirs. The protos are
# loaded from proto/ at run time: nothing is generated.
#   bash clients/node/test/run.sh PATH/TO/aesignald DEPS_DIR
set -euo pipefail
if (($# != 2)); then
  echo "usage: $0 AESIGNALD DEPS_DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
aesignald=$(realpath "$1")
mkdir -p "$2"
deps=$(cd "$2" && pwd)

# npm ci wipes node_modules, so only when package-lock.json changed, and
# under a lock: another ctest run may share this build dir.
# --ignore-scripts: the only install script (protobufjs's postinstall) is
# for its command-line tools, which the examples do not use.
sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
stamp="$deps/node_modules/.aesignal-package-lock.sha256"
(
  flock 9
  if [[ ! -f $stamp || $(cat "$stamp") != "$sum" ]]; then
    cp "$here/package.json" "$here/package-lock.json" "$deps/"
    (cd "$deps" && npm ci --ignore-scripts --no-audit --no-fund)
    echo "$sum" >"$stamp"
  fi
) 9>"$deps/.npm-ci.lock"

export NODE_PATH="$deps/node_modules"
export AESIGNALD=$aesignald
cd "$here"
node --test test/clients.test.js
