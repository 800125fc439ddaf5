#!/usr/bin/env bash
# End to end with the real binaries: start aesignald on a free port with a
# fresh data dir, load every example trial of deploy/examples with
# deploy/examples/load.sh (trial, subjects, its baseline libraries, reports),
# check what was stored, load them all again (nothing new), and check that
# the SLE example's synthetic AEs raise the signal against the published
# "no adverse event was observed" (0/40) baseline.
#   bash tests/e2e/examples.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/aesignal-e2e-examples-XXXXXX)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

: >"$work/server.log"
"$build/services/server/aesignald" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --data_dir="$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^aesignald listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "aesignald exited: $(cat "$work/server.log")"
  sleep 0.1
done
[[ -n $port ]] || fail "aesignald did not report its port"
A=("$build/clients/cli/aesignal" --server "127.0.0.1:$port")
export AESIGNAL="$build/clients/cli/aesignal"

# example dir, trial id, reports, baselines stored
expected=(
  "ra-3x3-5y EX-RA-3X3-5Y 21 20"
  "ctd-ild-10 EX-CTD-ILD-10 7 2"
  "sle-40 EX-SLE-40 9 5"
)
for row in "${expected[@]}"; do
  read -r dir trial reports baselines <<<"$row"
  out=$(bash "$root/deploy/examples/load.sh" "$root/deploy/examples/$dir" --server "127.0.0.1:$port")
  echo "$out"
  [[ $out == *"accepted $reports, duplicate 0, superseded 0, rejected 0"* ]] || fail "$dir: reports"
  stored=$("${A[@]}" baselines list --trial "$trial" | grep -c ' v1 ' || true)
  [[ $stored == "$baselines" ]] || fail "$dir: $stored baselines stored, expected $baselines"

  again=$(bash "$root/deploy/examples/load.sh" "$root/deploy/examples/$dir" --server "127.0.0.1:$port")
  [[ $again == *"accepted 0, duplicate $reports"* ]] || fail "$dir: reload reports: $again"
  if grep '^baselines:' <<<"$again" | grep -v ' 0 new, 0 revised'; then
    fail "$dir: reloading a library changed baselines"
  fi
done

"${A[@]}" baselines show --trial EX-RA-3X3-5Y --baseline ra5y-nasopharyngitis | tee "$work/naso.txt"
grep -q 'p0=0.4444 (4/9)' "$work/naso.txt" || fail "ra5y-nasopharyngitis p0"
grep -q 'nasopharyngitis (44.4%)' "$work/naso.txt" || fail "ra5y-nasopharyngitis quote"

# Evaluation follows each durable batch; wait for it.
for _ in $(seq 50); do
  "${A[@]}" signals list --evidence --trial EX-SLE-40 >"$work/signals.txt"
  grep -q "BINOMIAL~OVERALL~any_ae~ALL~M12" "$work/signals.txt" && break
  sleep 0.1
done
cat "$work/signals.txt"
grep -q "BINOMIAL~OVERALL~any_ae~ALL~M12" "$work/signals.txt" || fail "no any_ae signal against sle40-any-ae"
"${A[@]}" signals show --trial EX-SLE-40 --evidence "BINOMIAL~OVERALL~any_ae~ALL~M12" >"$work/signal.txt"
grep -q "sle40-any-ae" "$work/signal.txt" || fail "signal does not name its baseline: $(cat "$work/signal.txt")"
"${A[@]}" signals list --trial EX-SLE-40 | tee "$work/topics.txt"
grep -q "^1 *OVERALL~any_ae " "$work/topics.txt" || fail "the any-AE topic is not ranked first"
echo "e2e examples: PASS"
