#!/usr/bin/env bash
# ctest web_dashboard: the dashboard in a real browser (Debian's chromium,
# driven by playwright-core) against a real aesignald serving it over HTTPS:
# a self-signed certificate and a principals file with an admin, a safety
# officer and a site principal (site 01) made per run; the example trial
# (deploy/example) and the CDISC pilot (tests/data/cdiscpilot01, via
# `aesignal import adam`) loaded with the CLI; then node's test runner on
# tests/web/*.spec.mjs, one spec file at a time (node >= 18).
#   bash tests/web/run.sh AESIGNALD AESIGNAL_CLI NPM_DIR OUT_DIR
# NPM_DIR: where clients/web's locked packages are (or get) installed (the
# build's copy, build/clients/web/npm). OUT_DIR: screenshots and logs.
# UPDATE_SCREENSHOTS=1 also writes the screenshots to docs/images/.
# WEB_SPECS="a b" runs only tests/web/a.spec.mjs and b.spec.mjs (or a.mjs
# where it exists: WEB_SPECS=first_load.bench, the dashboard's benchmark).
# AESIGNAL_WEB_ROOT=clients/web/dist serves a bundle from disk (aesignald
# --web_root) instead of the embedded one: dashboard work without a C++
# rebuild.
set -euo pipefail
if (($# != 4)); then
  echo "usage: $0 AESIGNALD AESIGNAL_CLI NPM_DIR OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
aesignald=$(realpath "$1")
cli=$(realpath "$2")
mkdir -p "$3" "$4"
npm_dir=$(cd "$3" && pwd)
out=$(cd "$4" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

# node >= 18 (clients/web/package.json engines; Debian 12's nodejs is 18.20;
# playwright-core is pinned to 1.61, the last release supporting node 18).
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
((node_major >= 18)) || fail "node >= 18 is needed (found $(node --version 2>/dev/null || echo none)); see deploy/setup.sh"
echo "node $(node --version), npm $(npm --version 2>/dev/null || echo none)"
chromium=${AESIGNAL_CHROMIUM:-/usr/bin/chromium}
[[ -x $chromium ]] || fail "no $chromium: install Debian's chromium (bash deploy/setup.sh)"
[[ $("$aesignald" --help 2>&1) == *--http_listen* ]] || fail "$aesignald has no --http_listen"
bash "$root/clients/web/npm_ci.sh" "$npm_dir"

work=$(mktemp -d /tmp/aesignal-web-XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null; then
    wait "$server_pid" 2>/dev/null || true
  fi
  [[ -f $work/server.log ]] && cp "$work/server.log" "$out/server.log"
  rm -rf "$work"
}
trap cleanup EXIT

# TLS: a self-signed certificate for 127.0.0.1 (its own CA for the CLI and
# for node's fetch; the browser context ignores HTTPS errors).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Principals: a random token each, stored as SALT:sha256(SALT + token).
entry() {  # NAME ROLE TOKEN [SITE]
  local salt hash
  salt=$(openssl rand -hex 8)
  hash=$(printf '%s%s' "$salt" "$3" | sha256sum | cut -d' ' -f1)
  printf -- '- name: %s\n  role: %s\n' "$1" "$2"
  [[ -n ${4:-} ]] && printf '  sites: ["%s"]\n' "$4"
  printf '  token_sha256: "%s:%s"\n' "$salt" "$hash"
}
admin_token=$(openssl rand -hex 32)
officer_token=$(openssl rand -hex 32)
site_token=$(openssl rand -hex 32)
dsmb_token=$(openssl rand -hex 32)
{
  entry web-admin admin "$admin_token"
  entry web-officer safety_officer "$officer_token"
  entry web-site-01 site "$site_token" 01
  entry web-dsmb dsmb_member "$dsmb_token"
} >"$work/principals.yaml"

: >"$work/server.log"
"$aesignald" --listen=127.0.0.1:0 --http_listen=127.0.0.1:0 --data_dir="$work/data" \
  --tls_cert="$work/cert.pem" --tls_key="$work/key.pem" \
  --principals="$work/principals.yaml" ${AESIGNAL_WEB_ROOT:+--web_root="$(realpath "$AESIGNAL_WEB_ROOT")"} \
  >"$work/server.log" 2>&1 &
server_pid=$!
port='' http_url=''
for _ in $(seq 300); do
  port=$(sed -n 's/^aesignald listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
  http_url=$(sed -n 's|^aesignald http on \(https\{0,1\}://127.0.0.1:[0-9]*/\).*|\1|p' "$work/server.log")
  [[ -n $port && -n $http_url ]] && break
  kill -0 "$server_pid" 2>/dev/null || fail "aesignald exited: $(cat "$work/server.log")"
  sleep 0.1
done
[[ -n $port && -n $http_url ]] || fail "aesignald did not report its ports: $(cat "$work/server.log")"
echo "aesignald: gRPC 127.0.0.1:$port, dashboard $http_url"

A=("$cli" --server "127.0.0.1:$port" --tls-ca "$work/cert.pem")
ex="$root/deploy/example"
export AESIGNAL_TOKEN=$admin_token
"${A[@]}" trial create --file "$ex/trial.json" >/dev/null
"${A[@]}" subjects enroll --trial MSC-IPF-EX1 --file "$ex/subjects.csv"
"${A[@]}" baselines load --trial MSC-IPF-EX1 --file "$ex/baselines.csv"
"${A[@]}" reports submit --trial MSC-IPF-EX1 --file "$ex/reports.csv"
pilot="$root/tests/data/cdiscpilot01"
"${A[@]}" import adam --trial CDISCPILOT01 --adsl "$pilot/adsl.csv" --adae "$pilot/adae.csv" >"$work/import.log" 2>&1 ||
  fail "import: $(cat "$work/import.log")"
# Signals are evaluated after each durable batch: wait for both trials'.
for trial in MSC-IPF-EX1 CDISCPILOT01; do
  for _ in $(seq 100); do
    "${A[@]}" signals list --trial "$trial" >"$work/topics.txt" 2>&1 || true
    grep -q '^1 ' "$work/topics.txt" && break
    sleep 0.2
  done
  grep -q '^1 ' "$work/topics.txt" || fail "no topic for $trial: $(cat "$work/topics.txt")"
done
unset AESIGNAL_TOKEN

export AESIGNAL_WEB_URL=$http_url
export AESIGNAL_WEB_ADMIN_TOKEN=$admin_token
export AESIGNAL_WEB_OFFICER_TOKEN=$officer_token
export AESIGNAL_WEB_SITE_TOKEN=$site_token
export AESIGNAL_WEB_DSMB_TOKEN=$dsmb_token
export AESIGNAL_WEB_NPM=$npm_dir/node_modules
export AESIGNAL_WEB_OUT=$out
export AESIGNAL_CHROMIUM=$chromium
export AESIGNAL_SOURCE_DIR=$root
# node's fetch trusts the run's certificate (the browser ignores it).
export NODE_EXTRA_CA_CERTS=$work/cert.pem

specs=()
if [[ -n ${WEB_SPECS:-} ]]; then
  for s in $WEB_SPECS; do
    if [[ -f $root/tests/web/$s.mjs ]]; then
      specs+=("$root/tests/web/$s.mjs")  # e.g. first_load.bench
    else
      specs+=("$root/tests/web/$s.spec.mjs")
    fi
  done
else
  specs=("$root"/tests/web/*.spec.mjs)
fi
cd "$root"
# One spec file at a time (each launches its own chromium), every file run
# even after a failure; no --test-concurrency, which node 18 does not have.
failed=()
for spec in "${specs[@]}"; do
  echo "== $(basename "$spec")"
  node --test --test-reporter=spec "$spec" || failed+=("$(basename "$spec")")
done
if ((${#failed[@]})); then
  fail "${#failed[@]} of ${#specs[@]} spec files failed (node $(node --version)): ${failed[*]}"
fi
echo "web: all ${#specs[@]} spec files passed (node $(node --version))"
