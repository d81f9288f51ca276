#!/usr/bin/env bats
# One crm per address: a second `crm serve` on a port a crm already serves
# exits non-zero with a message instead of sharing the port (SO_REUSEPORT) and
# half the traffic; so does one on a port another program holds, with or
# without SO_REUSEPORT. Port 0 still gives each of many crm a port of its own,
# and a stopped crm's port can be served again at once.

load helpers

setup() {
  crm_env
  HOLDER_PID=
}

teardown() {
  crm_stop || true
  if [ -n "$HOLDER_PID" ]; then
    kill "$HOLDER_PID" 2>/dev/null || true
    wait "$HOLDER_PID" 2>/dev/null || true
  fi
}

# second_crm LISTEN [flags...]: runs another crm on the run's database (bats
# `run`: status and output, stderr included). It must give up by itself; the
# timeout only keeps a broken build from hanging the test.
second_crm() {
  local listen=$1
  shift
  run timeout 30 "$CRM_BIN" serve --listen "$listen" --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "" --workers 2 "$@"
}

# hold_port SHARED: another program listens on a free port of 127.0.0.1, with
# SO_REUSEPORT when SHARED is 1; sets HOLDER_PID and HOLDER_PORT.
hold_port() {
  local out="$BATS_TEST_TMPDIR/holder.out" i
  python3 -u -c '
import socket, sys, time
s = socket.socket()
if sys.argv[1] == "1":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1])
time.sleep(120)' "$1" >"$out" 3>&- &
  HOLDER_PID=$!
  for i in $(seq 1 50); do
    HOLDER_PORT=$(head -n 1 "$out")
    [ -n "$HOLDER_PORT" ] && return 0
    sleep 0.1
  done
  return 1
}

@test "a second crm on a served address exits non-zero and says so; the first serves on" {
  crm_start
  port=${CRM_URL##*:}
  second_crm "127.0.0.1:$port"
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ]
  [[ "$output" == *"crm: 127.0.0.1:$port is already served by another process"* ]]
  [[ "$output" != *"serving on"* ]]
  # The first one answers every request: nobody else took a share of the port.
  for i in $(seq 1 20); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$CRM_URL/healthz")" = 200 ]
  done
  kill -0 "$CRM_PID"
  crm_stop
}

@test "the lock is the port's: another address on the same port is refused too" {
  crm_start
  port=${CRM_URL##*:}
  second_crm "0.0.0.0:$port"
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ]
  [[ "$output" == *"0.0.0.0:$port is already served by another process"* ]]
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$CRM_URL/healthz")" = 200 ]
}

@test "a stopped crm's port is served again at once" {
  crm_start
  port=${CRM_URL##*:}
  crm_stop
  crm_start --listen "127.0.0.1:$port"
  [ "$CRM_URL" = "http://127.0.0.1:$port" ]
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$CRM_URL/healthz")" = 200 ]
}

@test "a port another program listens on (no SO_REUSEPORT): crm exits non-zero and says so" {
  python3 -u -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR" 0 \
    >"$BATS_TEST_TMPDIR/http.out" 2>&1 3>&- &
  HOLDER_PID=$!
  port=
  for i in $(seq 1 50); do
    port=$(sed -n 's/^Serving HTTP on .* port \([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/http.out")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ]
  second_crm "127.0.0.1:$port"
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ]
  [[ "$output" == *"crm: 127.0.0.1:$port is already in use by another program"* ]]
  # The program still has its port.
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/")" = 200 ]
}

@test "a port another program shares with SO_REUSEPORT: crm refuses it too" {
  hold_port 1
  second_crm "127.0.0.1:$HOLDER_PORT"
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ]
  [[ "$output" == *"crm: 127.0.0.1:$HOLDER_PORT is already in use by another program"* ]]
}

@test "port 0: many crm at once, each on a port of its own" {
  local pids=() urls=() i
  for i in 1 2 3 4; do
    crm_start --workers 2 --db-pool-size 1
    pids+=("$CRM_PID")
    urls+=("$CRM_URL")
  done
  [ "$(printf '%s\n' "${urls[@]}" | sort -u | wc -l)" -eq 4 ]
  for url in "${urls[@]}"; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/healthz")" = 200 ]
  done
  for pid in "${pids[@]}"; do
    CRM_PID=$pid
    crm_stop
  done
}

@test "make run: twice on one address, the second leaves the first one's embedded PostgreSQL alone" {
  local data="$BATS_TEST_TMPDIR/data" out="$BATS_TEST_TMPDIR/first.out" port=
  # The embedded cluster: no database URL at all.
  env -u CRM_DATABASE_URL -u CRM_MIGRATE_DATABASE_URL \
    "$CRM_BIN" serve --listen 127.0.0.1:0 --data-dir "$data" --workers 1 \
    >"$out" 2>"$BATS_TEST_TMPDIR/first.err" 3>&- &
  CRM_PID=$!
  for i in $(seq 1 600); do
    port=$(sed -n 's/^crm: serving on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    kill -0 "$CRM_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$BATS_TEST_TMPDIR/first.err" >&2; false; }
  wait_for_status "http://127.0.0.1:$port/readyz" 200 20
  run timeout 30 env -u CRM_DATABASE_URL -u CRM_MIGRATE_DATABASE_URL \
    "$CRM_BIN" serve --listen "127.0.0.1:$port" --data-dir "$data" --workers 1
  [ "$status" -ne 0 ]
  [ "$status" -ne 124 ]
  [[ "$output" == *"is already served by another process"* ]]
  # The first one's database is still up.
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/readyz")" = 200 ]
  crm_stop
  eval "$("$CRM_BIN" pg env --data-dir "$data")"
  rm -rf "$CRM_PG_DIR" "$data"
}
