#!/usr/bin/env bash
# `aesignal-bench peer` against a private PostgreSQL 15 cluster: initdb in a
# temporary directory, default durability (fsync, synchronous_commit on; only
# the listen address, port and socket directory are set), 127.0.0.1 on a
# free port, stopped and removed on exit whatever happens.
#
#   bash tests/load/peer_postgres/run.sh [--install] [--smoke] [--cpus=LIST]
#        [BENCH_BINARY] [-- extra aesignal-bench flags]
#
# --cpus=LIST (taskset's syntax, e.g. 0 or 0,1): runs PostgreSQL's cluster,
# the bench and the servers it starts on those CPUs only, to see how each
# system uses a core more or less (docs/benchmarks.md, twenty-ninth round).
#
# --install: apt-get install postgresql-15 (and libpq-dev) from Debian if
# missing. Without PostgreSQL's server binaries (and no --install) it exits
# 77, which ctest reports as skipped. BENCH_BINARY defaults to
# build/tests/aesignal-bench; it starts aesignald (and the gRPC floor
# server) as child processes of its own unless given --peer_in_process
# after `--`, with e.g. --rounds=2. See docs/benchmarks.md.
set -euo pipefail

install=0
smoke=()
cpus=""
bench=""
extra=()
while (($#)); do
  case $1 in
    --install) install=1 ;;
    --smoke) smoke=(--smoke) ;;
    --cpus=*) cpus=${1#--cpus=} ;;
    --) shift; extra=("$@"); break ;;
    *) bench=$1 ;;
  esac
  shift
done
root=$(cd "$(dirname "$0")/../../.." && pwd)
bench=${bench:-$root/build/tests/aesignal-bench}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then echo "$d"; return 0; fi
  done
  return 1
}

if ! pg_bin >/dev/null && ((install)); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends postgresql-15 libpq-dev
fi
if ! bin=$(pg_bin); then
  echo "peer_postgres: no PostgreSQL server binaries (initdb, pg_ctl);" \
    "run with --install or apt-get install postgresql-15" >&2
  exit 77
fi
if [[ ! -x $bench ]]; then
  echo "peer_postgres: no aesignal-bench at $bench" >&2
  exit 1
fi

pin=()
if [[ -n $cpus ]]; then
  if ! taskset -c "$cpus" true 2>/dev/null; then
    echo "peer_postgres: --cpus=$cpus is not a CPU list this machine has" \
      "(taskset -c syntax, e.g. 0 or 0,1)" >&2
    exit 2
  fi
  pin=(taskset -c "$cpus")
fi

# PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
run_as=()
user=$(id -un)
if [[ $(id -u) -eq 0 ]]; then
  run_as=(runuser -u postgres --)
  user=postgres
fi

# A free port above 5432's neighbourhood (the OS picks it, we re-check).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

dir=$(mktemp -d /tmp/aesignal-peer-pg.XXXXXX)
chmod 755 "$dir"
if ((${#run_as[@]})); then chown postgres: "$dir"; fi
cleanup() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust \
  --encoding=UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}
"${pin[@]}" "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir" \
  start >/dev/null || {
  cat "$dir/server.log" >&2
  exit 1
}

echo "peer_postgres: PostgreSQL ($bin) on 127.0.0.1:$port, data in $dir/data"
status=0
"${pin[@]}" "$bench" peer "${smoke[@]}" \
  --pg="host=127.0.0.1 port=$port dbname=postgres user=$user" \
  "${extra[@]}" || status=$?
if ((status != 0)); then
  echo "peer_postgres: aesignal-bench peer failed ($status); server log:" >&2
  tail -n 30 "$dir/server.log" >&2 || true
fi
exit $status
