#!/usr/bin/env bash
# aesignald refuses to start, with exit status 2 (what only a change of
# configuration mends: systemd's RestartPreventExitStatus=2) and a message
# naming the cause, when the service's user may not write its data dir or
# read its config or principals file. Before, these read as "in use by
# another process" (exit 1, a restart loop) or "not readable YAML".
# And what it creates is not readable by every user: a new data dir 0750,
# its files 0640 (the systemd unit's UMask=0027, also outside systemd).
#   bash tests/deploy/start_checks.sh AESIGNALD
# As root the server runs as `nobody` (root reads and writes anything); as
# another user, against files made unreadable with chmod.
set -euo pipefail
aesignald=$(realpath "$1")
work=$(mktemp -d /tmp/aesignal-start-XXXXXX)
trap 'chmod -R u+rwx "$work"; rm -rf "$work"' EXIT
chmod 755 "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

if ((EUID == 0)); then
  as_user=(runuser -u nobody --)
  # nobody must reach the binary: copy it when a parent dir is closed.
  if ! "${as_user[@]}" test -x "$aesignald"; then
    cp "$aesignald" "$work/aesignald"
    chmod 755 "$work/aesignald"
    aesignald=$work/aesignald
  fi
  deny() { chown root:root "$1"; chmod 700 "$1"; }
  read_only() { chown root:root "$1"; chmod 755 "$1"; }
else
  as_user=()
  deny() { chmod 000 "$1"; }
  read_only() { chmod 555 "$1"; }
fi

# expect NAME OUTPUT_PATTERN ARGS...: exit 2 and the pattern in the log.
expect() {
  local name=$1 pattern=$2
  shift 2
  local rc=0
  "${as_user[@]}" "$aesignald" --listen=127.0.0.1:0 --http_listen= "$@" \
    >"$work/$name.log" 2>&1 || rc=$?
  ((rc == 2)) || fail "$name: exit status $rc, want 2: $(cat "$work/$name.log")"
  grep -q -- "$pattern" "$work/$name.log" ||
    fail "$name: no '$pattern' in: $(cat "$work/$name.log")"
  if grep -q "in use by another process\|not readable YAML" "$work/$name.log"; then
    fail "$name: misleading cause: $(cat "$work/$name.log")"
  fi
  echo "ok: $name: $(tail -1 "$work/$name.log")"
}

mkdir -p "$work/closed" "$work/data-closed" "$work/data-read-only"
deny "$work/closed"
expect parent_not_writable "PERMISSION_DENIED: cannot create data dir" \
  --data_dir="$work/closed/data"
deny "$work/data-closed"
expect data_dir_not_readable "PERMISSION_DENIED: .*Permission denied" \
  --data_dir="$work/data-closed"
# Readable but not writable: RocksDB fails on its LOCK file, which read as
# "in use by another process".
read_only "$work/data-read-only"
expect data_dir_not_writable "PERMISSION_DENIED: .*LOCK: Permission denied" \
  --data_dir="$work/data-read-only"

mkdir -p "$work/open"
chmod 777 "$work/open"
printf 'listen: "127.0.0.1:0"\n' >"$work/config.yaml"
deny "$work/config.yaml"
expect config_not_readable "config.yaml: cannot be read: Permission denied" \
  --config="$work/config.yaml" --data_dir="$work/open/data"
printf -- '- name: a\n  role: admin\n  token_sha256: x\n' >"$work/principals.yaml"
deny "$work/principals.yaml"
expect principals_not_readable \
  "principals.yaml: cannot be read: Permission denied" \
  --principals="$work/principals.yaml" --data_dir="$work/open/data2"
echo "start errors: 5 of 5 refused with exit 2 and their cause"

# A new data dir, from a shell whose umask would leave it open to all.
(
  umask 022
  "$aesignald" --listen=127.0.0.1:0 --http_listen= --data_dir="$work/fresh" \
    >"$work/fresh.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q "listening on" "$work/fresh.log" && break
    sleep 0.1
  done
  kill -TERM $pid
  wait $pid || true
)
grep -q "listening on" "$work/fresh.log" || fail "fresh: $(cat "$work/fresh.log")"
mode=$(stat -c %a "$work/fresh")
[[ $mode == 750 ]] || fail "new data dir has mode $mode, want 750"
open=$(find "$work/fresh" -perm /o=rwx | head -3)
[[ -z $open ]] || fail "files of the data dir open to every user: $open"
echo "ok: a new data dir is 0750 and none of its files is open to others"
