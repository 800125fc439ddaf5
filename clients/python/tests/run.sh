#!/usr/bin/env bash
# ctest python_client: generates the stubs from proto/ into a temporary dir
# (never committed), then runs the example clients' tests against real
# aesignald servers on 127.0.0.1:0 with temporary data dirs.
#   bash clients/python/tests/run.sh PATH/TO/aesignald
set -euo pipefail
if (($# != 1)); then
  echo "usage: $0 AESIGNALD" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
# Debian's python3-grpcio and python3-protobuf are installed for the system
# interpreter; a python3 earlier on PATH (pyenv, a venv) may not see them.
python=${PYTHON:-/usr/bin/python3}
stubs=$(mktemp -d /tmp/aesignal-py-stubs-XXXXXX)
trap 'rm -rf "$stubs"' EXIT
bash "$here/generate.sh" "$stubs"
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1
export AESIGNALD=$1
export PYTHONPATH="$stubs:$here"
"$python" -m unittest discover -s "$here/tests" -p 'test_*.py' -v
