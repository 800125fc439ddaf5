#!/usr/bin/env bash
# The main job: install what is missing, build, start aesignald on an embedded
# RocksDB data dir (./var/aesignal), load the bundled example trial, print its
# incidence tables, and keep serving until Ctrl-C.
#
#   bash deploy/run.sh            # gRPC on 127.0.0.1:50051, the dashboard
#                                 # and HTTP/JSON API on 127.0.0.1:8080
#   LISTEN=127.0.0.1:6000 HTTP_LISTEN=127.0.0.1:6080 DATA_DIR=/tmp/x bash deploy/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LISTEN=${LISTEN:-127.0.0.1:50051}
HTTP_LISTEN=${HTTP_LISTEN:-127.0.0.1:8080}
DATA_DIR=${DATA_DIR:-./var/aesignal}

bash deploy/setup.sh
bash deploy/build.sh
BIN=${BUILD_DIR:-build}

"$BIN/services/server/aesignald" --listen="$LISTEN" --http_listen="$HTTP_LISTEN" \
  --data_dir="$DATA_DIR" &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null' EXIT INT TERM

CLI=("$BIN/clients/cli/aesignal" --server "$LISTEN")
for _ in $(seq 50); do
  if "${CLI[@]}" trial list >/dev/null 2>&1; then break; fi
  kill -0 $SERVER_PID 2>/dev/null || { echo "aesignald failed to start" >&2; exit 1; }
  sleep 0.2
done

echo "== Loading the example trial (deploy/example; safe to repeat)"
"${CLI[@]}" trial create --keep-existing --file deploy/example/trial.json >/dev/null
"${CLI[@]}" subjects enroll --trial MSC-IPF-EX1 --keep-corrected --file deploy/example/subjects.csv
"${CLI[@]}" baselines load --trial MSC-IPF-EX1 --file deploy/example/baselines.csv
"${CLI[@]}" reports submit --trial MSC-IPF-EX1 --file deploy/example/reports.csv

echo
echo "== Incidence, overall rows (subjects with >= 1 event by the timepoint / N dosed; add --ci or --format csv for exact 95% CIs)"
"${CLI[@]}" incidence --trial MSC-IPF-EX1 --by overall
echo
echo "== Incidence by SOC"
"${CLI[@]}" incidence --trial MSC-IPF-EX1 --by soc
echo
echo "== Signal topics against the published baselines (deploy/example/baselines.csv), ranked"
sleep 1  # evaluation runs right after each durable batch
"${CLI[@]}" signals list --trial MSC-IPF-EX1
echo
echo "== The strongest topic with its evidence table"
"${CLI[@]}" signals show --trial MSC-IPF-EX1 OVERALL~any_sae

cat <<EOT

aesignald is serving gRPC on $LISTEN (data in $DATA_DIR).

  Dashboard: http://$HTTP_LISTEN/#/trials/MSC-IPF-EX1
  (open it in a browser on this machine; the HTTP/JSON API is under
  http://$HTTP_LISTEN/v1/, e.g. curl http://$HTTP_LISTEN/v1/trials)

In another terminal try:
  $BIN/clients/cli/aesignal --server $LISTEN incidence --trial MSC-IPF-EX1 --by pt
  $BIN/clients/cli/aesignal --server $LISTEN incidence --trial MSC-IPF-EX1 --by pt --format csv
  $BIN/clients/cli/aesignal --server $LISTEN signals list --evidence --trial MSC-IPF-EX1 --topic OVERALL~any_sae
  $BIN/clients/cli/aesignal --server $LISTEN report --trial MSC-IPF-EX1 --cutoff \$(date -u +%Y-%m-%dT%H:%M:%SZ) --session closed --format pdf --out dsmb.pdf
Press Ctrl-C to stop.
EOT
wait $SERVER_PID
