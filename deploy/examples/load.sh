#!/usr/bin/env bash
# Loads one example trial of deploy/examples into a running aesignald with
# the aesignal CLI, as deploy/run.sh loads deploy/example: the trial, its
# subjects, every baseline library its `libraries` file names (baselines
# load --library, which prints the timepoint each entry went to), then its
# reports. Safe to repeat: everything already stored comes back unchanged or
# duplicate.
#
#   bash deploy/examples/load.sh deploy/examples/ra-3x3-5y [GLOBAL FLAGS...]
#   AESIGNAL=build/clients/cli/aesignal bash deploy/examples/load.sh \
#       deploy/examples/sle-40 --server 127.0.0.1:6000
#
# GLOBAL FLAGS go before each command (--server, --principal, --tls-*, ...).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if (($# < 1)) || [[ ! -f $1/trial.json ]]; then
  echo "usage: $0 EXAMPLE_DIR [aesignal global flags...]" >&2
  exit 2
fi
ex=$(cd "$1" && pwd)
shift
cli=("${AESIGNAL:-$root/build/clients/cli/aesignal}" "$@")
trial=$(sed -n 's/^ *"trialId": *"\([^"]*\)".*/\1/p' "$ex/trial.json" | head -n 1)
[[ -n $trial ]] || { echo "$ex/trial.json: no trialId" >&2; exit 1; }

echo "== $trial: trial, subjects"
"${cli[@]}" trial create --keep-existing --file "$ex/trial.json" >/dev/null
"${cli[@]}" subjects enroll --trial "$trial" --file "$ex/subjects.csv"
while read -r library; do
  [[ -z $library || $library == \#* ]] && continue
  echo "== $trial: baselines from $library"
  "${cli[@]}" baselines load --trial "$trial" --library "$root/$library"
done <"$ex/libraries"
echo "== $trial: reports"
"${cli[@]}" reports submit --trial "$trial" --file "$ex/reports.csv"
