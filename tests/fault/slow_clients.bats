#!/usr/bin/env bats
# Issue 12, "then build": slow clients. 50 connections (10 from each of five
# loopback addresses) send a request a byte per second: its headers, or the
# body of a POST. /healthz and a logged-in request still answer promptly,
# and crm cuts every slow connection soon after CRM_HTTP_TIMEOUT_S (2 s
# here), however steadily it trickles.

load ../api/helpers
load ../api/sync

FAULT_DIR=$BATS_TEST_DIRNAME
TIMEOUT_S=2

setup_file() {
  crm_env
  make_user slow.viewer viewer sx.yc.js 'Slow-viewer-2026'
}

setup() {
  crm_env
  SLOW_PID=
  SLOW_STATUS="$BATS_TEST_TMPDIR/slow.status"
}

teardown() {
  if [ -n "$SLOW_PID" ]; then
    kill "$SLOW_PID" 2>/dev/null || true
    wait "$SLOW_PID" 2>/dev/null || true
  fi
  crm_stop || true
}

field() {
  sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" "$SLOW_STATUS" 2>/dev/null
}

all_opened() {
  [ -s "$SLOW_STATUS" ] && [ $(($(field opened) + $(field failed))) -eq 50 ]
}

# timed METHOD PATH TOKEN: api, and ms its wall time.
timed() {
  local start
  start=$(date +%s%N)
  api "$@"
  ms=$((($(date +%s%N) - start) / 1000000))
}

slow_run() {
  local mode=$1
  CRM_HTTP_TIMEOUT_S=$TIMEOUT_S crm_start
  token=$(login slow.viewer 'Slow-viewer-2026')
  python3 "$FAULT_DIR/slow_clients.py" "$CRM_URL" "$SLOW_STATUS" "$mode" 15 \
    127.0.0.2:10 127.0.0.3:10 127.0.0.4:10 127.0.0.5:10 127.0.0.6:10 3>&- &
  SLOW_PID=$!
  wait_until 10 all_opened
  [ "$(field failed)" -eq 0 ]
  # While they trickle, others are served at once.
  for i in 1 2 3; do
    timed GET /healthz ""
    [ "$status" = 200 ]
    [ "$ms" -lt 500 ] || { echo "/healthz took $ms ms" >&2; return 1; }
    timed GET /api/v1/me "$token"
    [ "$status" = 200 ]
    [ "$ms" -lt 1000 ] || { echo "/api/v1/me took $ms ms" >&2; return 1; }
  done
  wait "$SLOW_PID"
  SLOW_PID=
  echo "# slow_clients ($mode): $(cat "$SLOW_STATUS")" >&3
  [ "$(field open)" -eq 0 ] || { echo "not cut within 15 s: $(cat "$SLOW_STATUS")" >&2; return 1; }
  [ "$(field cut)" -eq 50 ]
  # Cut by the timeout (plus a second of slack), not left to trickle.
  awk -v m="$(field max_cut_s)" -v t=$TIMEOUT_S 'BEGIN { exit !(m <= t + 1.5) }' ||
    { echo "the slowest was cut after $(field max_cut_s) s" >&2; return 1; }
}

@test "headers a byte per second: others served promptly, each cut after the timeout" {
  slow_run headers
}

@test "a body a byte per second: others served promptly, each cut after the timeout" {
  slow_run body
}
