#!/usr/bin/env bats
# Issue 12, finding 1: whoever can connect must not be able to exhaust crm's
# file descriptors. crm runs under `ulimit -n 256`; a small client
# (hold_connections.py) opens hundreds of idle connections from other
# loopback addresses. crm must keep answering /healthz from 127.0.0.1,
# stay near idle (no accept loop spinning on EMFILE), keep its log small,
# and refuse the connections past its caps.

load ../api/helpers
load ../api/sync

FAULT_DIR=$BATS_TEST_DIRNAME

setup_file() {
  crm_env
  # crm under a low descriptor limit (soft and hard), started by crm_start.
  REAL_CRM_BIN=$CRM_BIN
  CRM_BIN="$BATS_FILE_TMPDIR/crm-256"
  printf '#!/bin/sh\nulimit -n 256\nexec "%s" "$@"\n' "$REAL_CRM_BIN" > "$CRM_BIN"
  chmod +x "$CRM_BIN"
  export CRM_BIN REAL_CRM_BIN
  make_user fault.viewer viewer sx.yc.js 'Fault-viewer-2024'
}

setup() {
  crm_env
  HOLD_PID=
  HOLD_STATUS="$BATS_TEST_TMPDIR/hold.status"
}

teardown() {
  if [ -n "$HOLD_PID" ]; then
    kill -TERM "$HOLD_PID" 2>/dev/null || true
    wait "$HOLD_PID" 2>/dev/null || true
  fi
  crm_stop || true
}

# hold SOURCE:COUNT...: opens and holds the connections in the background,
# returns once every connection attempt has been made.
hold() {
  rm -f "$HOLD_STATUS"
  python3 "$FAULT_DIR/hold_connections.py" "$CRM_URL" "$HOLD_STATUS" "$@" 3>&- &
  HOLD_PID=$!
  local total=0 a
  for a in "$@"; do total=$((total + ${a#*:})); done
  wait_until 30 attempted "$total"
}

# held FIELD: the client's count FIELD (opened, open, closed, failed).
held() {
  sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$HOLD_STATUS" 2>/dev/null
}

attempted() {
  [ -s "$HOLD_STATUS" ] && [ $(($(held opened) + $(held failed))) -eq "$1" ]
}

# closed_at_least N: the server has closed at least N of the held connections.
closed_at_least() {
  [ "$(held closed)" -ge "$1" ]
}

# The CPU time crm used (user + system), in clock ticks.
cpu_ticks() {
  awk '{print $14 + $15}' "/proc/$CRM_PID/stat"
}

# crm's CPU over a measurement window of 2 s must stay under 20% of a core
# (a spinning accept loop takes all of one).
assert_quiet_cpu() {
  local hz t0 t1
  hz=$(getconf CLK_TCK)
  t0=$(cpu_ticks)
  sleep 2 # a measurement window, not a wait for a condition
  t1=$(cpu_ticks)
  [ $((t1 - t0)) -lt $((hz * 2 / 5)) ] || { echo "crm used $((t1 - t0)) ticks in 2 s" >&2; return 1; }
}

# /healthz from 127.0.0.1 answers 200 within 3 s.
assert_healthz() {
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$CRM_URL/healthz" || true)
  [ "$code" = 200 ] || { echo "/healthz: $code" >&2; return 1; }
}

assert_small_log() {
  local size
  size=$(stat -c %s "$CRM_ERR")
  [ "$size" -lt 65536 ] || { echo "crm's stderr grew to $size bytes" >&2; return 1; }
}

# limit NAME: a connection limit crm announced when it started.
limit() {
  grep '"msg":"connection limits"' "$CRM_ERR" | head -n 1 | jq -r ".$1"
}

@test "one address holding idle connections cannot exhaust crm's descriptors" {
  crm_start
  hold 127.0.0.2:400
  assert_quiet_cpu
  assert_healthz
  assert_small_log
  # The limits follow from the descriptor limit, and one address gets its share.
  [ "$(limit open_files)" = 256 ]
  per=$(limit max_connections_per_address)
  [ "$per" -ge 8 ]
  [ "$per" -lt 100 ]
  wait_until 5 closed_at_least $((400 - per))
  [ "$(held open)" = "$per" ]
  [ "$(held closed)" = $((400 - per)) ]
}

@test "idle connections from many addresses past the process cap make room for new ones" {
  crm_start
  token=$(login fault.viewer 'Fault-viewer-2024')
  sources=()
  for i in $(seq 2 21); do sources+=("127.0.0.$i:20"); done
  hold "${sources[@]}"
  assert_quiet_cpu
  assert_healthz
  assert_small_log
  max=$(limit max_connections)
  [ "$max" -gt 20 ]
  [ "$max" -lt 256 ]
  wait_until 5 closed_at_least $((400 - max))
  [ "$(held open)" -le "$max" ]
  # A logged-in request too.
  api GET /api/v1/me "$token"
  [ "$status" = 200 ]
}

@test "past the descriptor limit, accept backs off quietly and sheds load" {
  # Caps above what 256 descriptors allow: accept meets EMFILE.
  CRM_MAX_CONNECTIONS=100000 CRM_MAX_CONNECTIONS_PER_ADDRESS=100000 crm_start
  hold 127.0.0.2:400
  assert_quiet_cpu
  assert_small_log
  # The descriptors ran out, and the log says so once a second at most.
  lines=$(grep -ci 'too many open files' "$CRM_ERR" || true)
  [ "$lines" -ge 1 ]
  [ "$lines" -le 10 ]
  # An idle connection gives way, so /healthz still gets in.
  wait_for_status "$CRM_URL/healthz" 200 5
  # The client lets go: crm serves as before.
  kill -TERM "$HOLD_PID"
  wait "$HOLD_PID"
  HOLD_PID=
  assert_healthz
}
