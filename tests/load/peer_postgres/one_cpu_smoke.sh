#!/usr/bin/env bash
# ctest aesignal_bench_peer_smoke_one_cpu: run.sh --smoke --cpus=0 must pass
# and the bench must see exactly one CPU (run.sh pins PostgreSQL's cluster,
# the bench and its servers; docs/benchmarks.md, twenty-ninth round).
#
#   bash tests/load/peer_postgres/one_cpu_smoke.sh BENCH_BINARY
# Exits as run.sh does (77 without PostgreSQL: skipped), or 1 if the bench
# saw another number of CPUs.
set -uo pipefail
out=$(bash "$(dirname "$0")/run.sh" --smoke --cpus=0 "$1")
status=$?
printf '%s\n' "$out"
if ((status != 0)); then exit $status; fi
if ! grep -q '^CPUs this run may use: 1 of ' <<<"$out"; then
  echo "one_cpu_smoke: the bench did not run on exactly one CPU" >&2
  exit 1
fi
