#!/usr/bin/env bats
# Issue 12, "then build": PostgreSQL killed with SIGKILL (the postmaster and
# every backend, as an OOM killer or a power cut of the database host would)
# while a client writes, then started again. A writer (keyed_writer.py)
# creates interactions one by one, each with its own Idempotency-Key, and
# retries a key with the same body until it is settled. While the database
# is gone every answer is a 503 problem+json; crm reconnects by itself
# (nobody restarts it); and every acknowledged write is in the database,
# none twice. The cluster killed here is a private one.

load ../api/helpers
load ../api/sync
load cluster

FAULT_DIR=$BATS_TEST_DIRNAME

setup_file() {
  crm_env
  PK_DATA="$BATS_FILE_TMPDIR/pgkill"
  "$CRM_BIN" pg start --data-dir "$PK_DATA" > "$BATS_FILE_TMPDIR/pg.env" 2>/dev/null
  eval "$(cat "$BATS_FILE_TMPDIR/pg.env")"
  "$CRM_BIN" migrate up --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null 2>&1
  make_user pk.bureau bureau sx.yc.js 'Pgkill-bureau-2026'
  export PK_DATA CRM_DATABASE_URL CRM_MIGRATE_DATABASE_URL CRM_PG_DIR
}

teardown_file() {
  "$CRM_BIN" pg start --data-dir "$PK_DATA" > /dev/null 2>&1 || true
  "$CRM_BIN" pg stop --data-dir "$PK_DATA" > /dev/null 2>&1 || true
  [ -z "${CRM_PG_DIR:-}" ] || [[ "$CRM_PG_DIR" != /tmp/crm-pg-* ]] || rm -rf "$CRM_PG_DIR"
}

setup() {
  [ -n "${PK_DATA:-}" ]
  WRITER_PID=
}

teardown() {
  if [ -n "$WRITER_PID" ]; then
    kill "$WRITER_PID" 2>/dev/null || true
    wait "$WRITER_PID" 2>/dev/null || true
  fi
  crm_stop || true
}

# count PATTERN: lines of the writer's log matching the extended regex.
count() {
  grep -scE "$1" "$LOG" || true
}

at_least() {
  [ "$(count "$1")" -ge "$2" ]
}

ready() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$CRM_URL/readyz")" = 200 ]
}

@test "PostgreSQL killed -9 under writes and started again: every acknowledged write stored once" {
  crm_start --workers 2 --db-pool-size 2 --db-reconnect-ms 200 --db-connect-timeout-ms 1000 \
    --db-job-timeout-ms 3000
  token=$(login pk.bureau 'Pgkill-bureau-2026')
  unit=$(unit_id sx.yc.js.xishe)
  inv=$(owner_sql "SELECT min(id) FROM investor WHERE unit_id = $unit")
  today=$(owner_sql "SELECT crm_today()")
  run=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  template="{\"unit_id\":$unit,\"investor_id\":$inv,\"kind\":\"call\",\"occurred_on\":\"$today\",\"summary\":\"pgkill @KEY@\"}"
  LOG="$BATS_TEST_TMPDIR/writer.log"
  total=80
  python3 "$FAULT_DIR/keyed_writer.py" "$CRM_URL" "$token" "pk-$run" "$total" "$template" "$LOG" 25 2>"$BATS_TEST_TMPDIR/writer.err" 3>&- &
  WRITER_PID=$!

  # A quarter of the writes acknowledged, then the whole cluster dies at once.
  wait_until 20 at_least '^final .* 2[0-9][0-9] ' 20
  pids=$(cluster_pids)
  [ -n "$pids" ]
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  # shellcheck disable=SC2086
  wait_until 10 none_alive $pids
  # The writer meets the outage...
  wait_until 10 at_least '^attempt .* 503 ' 1
  acked_before=$(count '^final .* 2[0-9][0-9] ')
  curl -s --max-time 2 "$CRM_URL/readyz" > "$BATS_TEST_TMPDIR/readyz.down" || true
  # ... and the cluster comes back (crash recovery), crm left alone.
  "$CRM_BIN" pg start --data-dir "$PK_DATA" > /dev/null 2>&1
  wait_until 20 ready
  stuck=$(age_keys_in_flight "pk-$run")
  rc=0
  wait "$WRITER_PID" || rc=$?
  WRITER_PID=
  [ "$rc" -eq 0 ] || { echo "the writer did not finish: rc $rc" >&2; cat "$BATS_TEST_TMPDIR/writer.err" >&2; tail -n 20 "$LOG" >&2; return 1; }

  acked=$(count '^final .* 2[0-9][0-9] ')
  carried=$(count '^final .* 409 carried-out$')
  outage=$(count '^attempt .* 503 ')
  # Every key settled: acknowledged, or committed with its answer lost.
  [ "$(count '^final ')" -eq "$total" ]
  [ $((acked + carried)) -eq "$total" ] || { grep '^final' "$LOG" | grep -vE ' (2[0-9][0-9] |409 carried-out)' >&2; return 1; }
  # Every answer that was not a 2xx is a 503 problem+json (a status 0 would be
  # a connection crm dropped).
  bad=$(grep '^attempt ' "$LOG" | awk '$3 !~ /^2/ && !($3 == 503 && $4 == "application/problem+json") && !($3 == 409 && $6 == "carried-out") && !($3 == 409 && $6 == "running")' || true)
  running=$(count '^attempt .* 409 .* running$')
  [ -z "$bad" ] || { echo "answers other than 2xx, 409 and 503 problem+json:" >&2; echo "$bad" >&2; return 1; }

  # The database holds each acknowledged id, and one row per key.
  grep '^final .* 2[0-9][0-9] ' "$LOG" | awk '{print $4}' | sort -n > "$BATS_TEST_TMPDIR/acked.ids"
  owner_sql "SELECT id FROM interaction WHERE summary LIKE 'pgkill pk-$run-%' ORDER BY id" | sort -n > "$BATS_TEST_TMPDIR/found.ids"
  found=$(owner_sql "SELECT count(DISTINCT i.id) FROM interaction i WHERE i.id IN ($(paste -sd, "$BATS_TEST_TMPDIR/acked.ids"))")
  rows=$(wc -l < "$BATS_TEST_TMPDIR/found.ids")
  twice=$(owner_sql "SELECT count(*) FROM (SELECT summary FROM interaction WHERE summary LIKE 'pgkill pk-$run-%' GROUP BY summary HAVING count(*) > 1) s")
  replayed=$(grep '^attempt ' "$LOG" | awk '$3 ~ /^2/ && $5 == "true"' | wc -l)
  echo "# pg_kill: $total keys; acknowledged $acked (before the kill $acked_before), found $found of them;" \
    "rows $rows; keys with two rows $twice; 409 carried out $carried; replays $replayed; 503s during the outage $outage;" \
    "keys left in flight by the crash $stuck (409 still running answered $running times)" >&3
  echo "# readyz while down: $(cat "$BATS_TEST_TMPDIR/readyz.down")" >&3
  [ "$outage" -ge 1 ]
  [ "$found" -eq "$acked" ]
  [ "$rows" -eq "$total" ]
  [ "$twice" -eq 0 ]
  # Recovered by itself: the same crm process answers /readyz 200.
  kill -0 "$CRM_PID"
  api GET /readyz ""
  [ "$status" = 200 ]
}
