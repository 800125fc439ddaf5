#!/usr/bin/env bash
# Every config file deploy/ ships starts the real aesignald, and the health
# checks the image, compose and Kubernetes use answer SERVING from it.
#   bash tests/deploy/configs.sh BUILD_DIR
# Paths that exist only inside a container or on a server host (data dir,
# TLS files, principals) and the ports are overridden on the command line,
# which also proves each key in the files is a flag aesignald knows (an
# unknown key stops it with exit 2).
set -euo pipefail
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/aesignal-deploy-XXXXXX)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
# The server's log too: a check that fails with the server gone (seen once,
# under TSan in CI) says nothing of why without it.
fail() {
  echo "FAIL: $*" >&2
  if [[ -s $work/server.log ]]; then
    echo "--- aesignald's log:" >&2
    cat "$work/server.log" >&2
  fi
  if [[ -n $server_pid ]] && ! kill -0 "$server_pid" 2>/dev/null; then
    local rc=0
    wait "$server_pid" || rc=$?
    echo "--- aesignald is gone (exit status $rc)" >&2
    server_pid=
  fi
  exit 1
}
cli="$build/clients/cli/aesignal"

# The config inside the Kubernetes ConfigMap (the block under
# "aesignald.yaml: |", indented by four spaces).
awk '/^  aesignald.yaml: \|/ {in_block = 1; next}
     in_block && /^    / {print substr($0, 5); next}
     in_block && !/^ *$/ {in_block = 0}' \
  "$root/deploy/k8s/configmap.yaml" >"$work/configmap.yaml"
grep -q '^health_listen:' "$work/configmap.yaml" ||
  fail "no health_listen in the ConfigMap's config"
# Every port the pod declares is bound on all interfaces by some listener of
# the ConfigMap's config (the test runs below override the listeners with
# loopback ports, so they would not notice one left on its loopback
# default, as http_listen once was).
for port in $(sed -n 's/^ *containerPort: \([0-9]*\)$/\1/p' "$root/deploy/k8s/statefulset.yaml"); do
  grep -Eq "^[a-z_]*listen: 0\.0\.0\.0:$port( |$)" "$work/configmap.yaml" ||
    fail "statefulset.yaml declares port $port, which no listener of the ConfigMap binds on 0.0.0.0"
done

# The health check commands as the image and compose run them, with the
# installed CLI path and the fixed port replaced by this build's and the
# port aesignald bound.
docker_check=$(sed -n 's/^ *CMD \(\[.*\]\)$/\1/p' "$root/deploy/Dockerfile")
compose_check=$(sed -n 's/^ *test: \(\[.*\]\)$/\1/p' "$root/deploy/docker-compose.yml")
[[ -n $docker_check && -n $compose_check ]] || fail "health check command not found"

run_check() {  # JSON_ARRAY PORT
  local -a argv
  # A flat JSON array of plain strings: ["a", "b", ...] -> lines.
  mapfile -t argv < <(sed -e 's/^\[ *"//' -e 's/" *\]$//' -e 's/", *"/\n/g' <<<"$1")
  [[ ${argv[0]} == CMD ]] && argv=("${argv[@]:1}")
  [[ ${argv[0]} == /usr/local/bin/aesignal ]] || fail "unexpected check binary ${argv[0]}"
  argv[0]=$cli
  argv=("${argv[@]//127.0.0.1:8081/127.0.0.1:$2}")
  # No environment, as in the container (sanitizer options pass through:
  # they configure the test build, not aesignal).
  local -a keep=()
  for var in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS; do
    [[ -n ${!var:-} ]] && keep+=("$var=${!var}")
  done
  env -i "${keep[@]}" "${argv[@]}"
}

for config in "$root/deploy/aesignald.container.yaml" \
              "$root/deploy/aesignald.production.yaml" \
              "$root/deploy/aesignald.example.yaml" \
              "$work/configmap.yaml"; do
  name=${config#"$root/"}
  rm -rf "$work/data"
  # Created here, not by the background job's redirection: the polling below
  # may otherwise read it before the forked shell has opened it (sed then
  # fails and set -e ends the test, a flake seen twice).
  : >"$work/server.log"
  "$build/services/server/aesignald" --config="$config" \
    --listen=127.0.0.1:0 --data_dir="$work/data" --tls_cert= --tls_key= \
    --tls_client_ca= --principals= --metrics_listen=127.0.0.1:0 \
    --http_listen=127.0.0.1:0 \
    --health_listen=127.0.0.1:0 --drain_seconds=0 >"$work/server.log" 2>&1 &
  server_pid=$!
  port= hport=
  for _ in $(seq 100); do
    port=$(sed -n 's/^aesignald listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log")
    hport=$(sed -n 's/^aesignald health on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/server.log")
    [[ -n $port && -n $hport ]] && break
    kill -0 "$server_pid" 2>/dev/null || fail "$name: aesignald exited: $(cat "$work/server.log")"
    sleep 0.1
  done
  [[ -n $port && -n $hport ]] || fail "$name: aesignald did not report its ports"
  [[ $("$cli" --server "127.0.0.1:$hport" health) == SERVING ]] || fail "$name: health"
  [[ $(run_check "$docker_check" "$hport") == SERVING ]] || fail "$name: Dockerfile HEALTHCHECK"
  [[ $(run_check "$compose_check" "$hport") == SERVING ]] || fail "$name: compose healthcheck"
  "$cli" --server "127.0.0.1:$port" trial list >/dev/null || fail "$name: trial list"
  # The health port serves no aesignal service.
  if "$cli" --server "127.0.0.1:$hport" trial list >/dev/null 2>&1; then
    fail "$name: an aesignal RPC answered on the health port"
  fi
  # SIGHUP (log rotation sends it) is logged and ignored, not a kill.
  kill -HUP "$server_pid"
  for _ in $(seq 50); do
    grep -q 'SIGHUP ignored' "$work/server.log" && break
    sleep 0.1
  done
  grep -q 'SIGHUP ignored' "$work/server.log" || fail "$name: no line for SIGHUP"
  kill -0 "$server_pid" 2>/dev/null || fail "$name: SIGHUP ended aesignald"
  [[ $("$cli" --server "127.0.0.1:$hport" health) == SERVING ]] || fail "$name: health after SIGHUP"
  kill -TERM "$server_pid"
  rc=0
  wait "$server_pid" || rc=$?
  ((rc == 0)) || fail "$name: aesignald exited $rc after SIGTERM: $(cat "$work/server.log")"
  server_pid=
  echo "ok: $name"
done
# An unknown key is refused (the checks above would not notice a config
# that aesignald silently ignored).
printf 'listen: 127.0.0.1:0\nno_such_flag: 1\n' >"$work/bad.yaml"
set +e
"$build/services/server/aesignald" --config="$work/bad.yaml" --data_dir="$work/bad" >"$work/bad.log" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || fail "unknown config key: exit $rc, want 2"
grep -q no_such_flag "$work/bad.log" || fail "unknown key not named: $(cat "$work/bad.log")"
echo "ok: unknown key refused"
# Values the server cannot run with exit 2 (systemd does not restart them),
# each named; so does a missing TLS file, by its flag.
for bad in "--listen=127.0.0.1:99999" "--http_listen=127.0.0.1" \
           "--max_message_mb=4096" "--grace_seconds=-1" \
           "--tls_cert=$work/missing.crt --tls_key=$work/missing.key"; do
  set +e
  # shellcheck disable=SC2086  # two flags in one case
  # (The case's flags last: the last of a flag given twice wins.)
  "$build/services/server/aesignald" --data_dir="$work/bad2" \
    --http_listen=127.0.0.1:0 --listen=127.0.0.1:0 $bad >"$work/bad.log" 2>&1
  rc=$?
  set -e
  flag=${bad%%=*}
  [[ $rc == 2 ]] || fail "$bad: exit $rc, want 2: $(cat "$work/bad.log")"
  grep -q -- "$flag" "$work/bad.log" || fail "$bad: $flag not named: $(cat "$work/bad.log")"
done
echo "ok: unusable values exit 2, named"
# Secrets readable by every user are warned about.
printf -- '- {name: a, role: admin, token_sha256: "s:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}\n' >"$work/p.yaml"
chmod 0644 "$work/p.yaml"
set +e
"$build/services/server/aesignald" --data_dir="$work/bad3" --listen=127.0.0.1:0 \
  --http_listen= --principals="$work/p.yaml" >"$work/bad.log" 2>&1
set -e
grep -q "WARNING: $work/p.yaml is readable by every user (mode 0644)" "$work/bad.log" \
  || fail "world-readable principals file not warned about: $(cat "$work/bad.log")"
echo "ok: world-readable secrets warned about"
"$build/services/server/aesignald" --version | grep -q '^aesignald [0-9.]* (store schema [0-9]*, ' \
  || fail "--version: $("$build/services/server/aesignald" --version)"
echo "ok: --version"
echo "deploy configs: all passed"
