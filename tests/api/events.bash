# Shared by the tests of the live events (api/events.bats,
# fault/events_pg_kill.bats): SSE clients (sse_client.py) started in the
# background, what they received, and the database's truth to compare with.
# A test sets CLIENTS=() in setup and kills them in teardown.

SSE_CLIENT="$(dirname "${BASH_SOURCE[0]}")/sse_client.py"

# follow NAME TOKEN [args...]: starts an SSE client writing to $BATS_TEST_TMPDIR/NAME.
follow() {
  local name=$1 token=$2
  shift 2
  python3 "$SSE_CLIENT" "$CRM_URL" "$token" "$BATS_TEST_TMPDIR/$name" "$@" 3>&- &
  CLIENTS+=($!)
}

# start_of NAME: the id the stream said it starts after.
start_of() {
  sed -n 's/^comment : stream of events after //p' "$BATS_TEST_TMPDIR/$1.log" | head -n 1
}

# connected NAME: waits (5 s at most) for the stream's first line.
connected() {
  local i
  for i in $(seq 1 50); do
    grep -q '^comment : stream of events after' "$BATS_TEST_TMPDIR/$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "stream $1 did not start" >&2
  return 1
}

# received NAME: the ids NAME has received, one a line.
received() {
  jq -r .sse_id "$BATS_TEST_TMPDIR/$1" 2>/dev/null || true
}

# wait_for_id NAME ID: waits (10 s at most) until NAME has received ID.
wait_for_id() {
  local i
  for i in $(seq 1 100); do
    received "$1" | grep -qx "$2" && return 0
    sleep 0.1
  done
  echo "stream $1 never got event $2; it got: $(received "$1" | tr '\n' ' ')" >&2
  return 1
}

# log_visit TOKEN UNIT TEXT: logs a call on a project of UNIT's subtree,
# prints the event id it made.
log_visit() {
  local project
  project=$(owner_sql "SELECT min(id) FROM project WHERE unit_path @> ARRAY[$2::bigint]")
  api_json POST /api/v1/interactions "$1" \
    "{\"unit_id\":$2,\"project_id\":$project,\"kind\":\"call\",\"occurred_on\":\"2026-11-20\",\"summary\":\"$3\"}" \
    -H "Idempotency-Key: ev-$RANDOM-$RANDOM"
  [ "$status" = 201 ] || { echo "log_visit: $status $body" >&2; return 1; }
  local id i ev
  id=$(jq -r .id <<<"$body")
  for i in $(seq 1 100); do
    ev=$(owner_sql "SELECT id FROM event WHERE entity = 'interaction' AND entity_id = $id")
    [ -n "$ev" ] && { echo "$ev"; return 0; }
    sleep 0.1
  done
  echo "log_visit: interaction $id was never published" >&2
  return 1
}

# in_scope UNIT AFTER UPTO: the published ids in (AFTER, UPTO] that UNIT's
# subtree may see, by the database's rule.
in_scope() {
  owner_sql "SELECT id FROM event WHERE id > $2 AND id <= $3 AND scope_covers(unit_path, $1) ORDER BY id"
}
