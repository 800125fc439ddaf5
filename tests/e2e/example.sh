#!/usr/bin/env bash
# End to end with the real binaries, as deploy/run.sh uses them: start
# aesignald on a free port with a fresh data dir, load the example trial with
# the aesignal CLI, print the incidence table, resubmit (all duplicates), send
# a bad file (exit 1, line named), restart the server and check the table is
# unchanged.
#   bash tests/e2e/example.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/aesignal-e2e-XXXXXX)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start_server() {
  # Truncated here, not by the background job's redirection, which the
  # polling below could race (reading a missing file, or a previous run's
  # port).
  : >"$work/server.log"
  "$build/services/server/aesignald" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --data_dir="$work/data" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's/^aesignald listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "aesignald exited: $(cat "$work/server.log")"
    sleep 0.1
  done
  fail "aesignald did not report its port"
}
stop_server() { kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=; }

start_server
A=("$build/clients/cli/aesignal" --server "127.0.0.1:$port")
ex="$root/deploy/example"

"${A[@]}" trial create --file "$ex/trial.json"
"${A[@]}" subjects enroll --trial MSC-IPF-EX1 --file "$ex/subjects.csv"
"${A[@]}" baselines load --trial MSC-IPF-EX1 --file "$ex/baselines.csv"
out=$("${A[@]}" reports submit --trial MSC-IPF-EX1 --file "$ex/reports.csv")
echo "$out"
[[ $out == *"accepted 16, duplicate 0, superseded 0, rejected 0"* ]] || fail "first submit: $out"
"${A[@]}" incidence --trial MSC-IPF-EX1 --by overall | tee "$work/overall.txt"
"${A[@]}" incidence --trial MSC-IPF-EX1 --by pt --format csv >"$work/pt1.csv"

out=$("${A[@]}" reports submit --trial MSC-IPF-EX1 --file "$ex/reports.csv")
[[ $out == *"accepted 0, duplicate 16"* ]] || fail "resubmit: $out"

# The signals the example raises (evaluation follows each durable batch):
# its evidence items, and the topics they make, ranked.
for _ in $(seq 50); do
  "${A[@]}" signals list --evidence --trial MSC-IPF-EX1 >"$work/signals.txt"
  grep -q "BINOMIAL~OVERALL~any_sae~D100M~M6" "$work/signals.txt" && break
  sleep 0.1
done
cat "$work/signals.txt"
grep -q "BINOMIAL~OVERALL~any_sae~D100M~M6" "$work/signals.txt" || fail "no SAE signal"
"${A[@]}" signals list --trial MSC-IPF-EX1 | tee "$work/topics.txt"
grep -q "^1 *OVERALL~any_sae " "$work/topics.txt" || fail "the SAE topic is not ranked first"
"${A[@]}" signals show --trial MSC-IPF-EX1 OVERALL~any_sae >"$work/topic.txt"
grep -q "^BINOMIAL~OVERALL~any_sae~D100M~M6 *yes" "$work/topic.txt" || fail "SAE topic evidence: $(cat "$work/topic.txt")"

printf 'report_id,version,site_id,subject_id,onset_study_day,pt,soc,grade\nX1,1,01,EX1-001,9999,Rash,Skin,2\n' >"$work/bad.csv"
set +e
err=$("${A[@]}" reports submit --trial MSC-IPF-EX1 --file "$work/bad.csv" 2>&1 >/dev/null)
code=$?
set -e
[[ $code == 1 ]] || fail "bad file exit code $code"
[[ $err == *"bad.csv:2: onset_study_day:"* ]] || fail "bad file message: $err"

stop_server
start_server
A=("$build/clients/cli/aesignal" --server "127.0.0.1:$port")
"${A[@]}" incidence --trial MSC-IPF-EX1 --by pt --format csv >"$work/pt2.csv"
cmp "$work/pt1.csv" "$work/pt2.csv" || fail "incidence changed across restart"
"${A[@]}" signals list --evidence --trial MSC-IPF-EX1 --format json >"$work/signals2.json"
grep -q '"signal_id": "BINOMIAL~OVERALL~any_sae~D100M~M6"' "$work/signals2.json" || fail "signal lost across restart"
"${A[@]}" signals list --trial MSC-IPF-EX1 --format json >"$work/topics2.json"
grep -q '"topic_id": "OVERALL~any_sae"' "$work/topics2.json" || fail "topic lost across restart"
echo "e2e example: PASS"
