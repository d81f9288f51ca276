#!/usr/bin/env bats
# Issue 15: PostgreSQL killed with SIGKILL (the postmaster and every
# backend) while events stream, then started again, crm left alone. Two
# writers log meetings of two townships through the API all along (each
# key retried until settled, keyed_writer.py). Streams that stay connected
# across the outage, and a client that leaves during it and comes back
# with Last-Event-ID, each receive every event of their scope exactly once,
# in id order, compared with the event table; the township's stream never
# carries the other township's events. The cluster killed is a private one.

load ../api/helpers
load ../api/sync
load ../api/events
load cluster

FAULT_DIR=$BATS_TEST_DIRNAME

setup_file() {
  crm_env
  EK_DATA="$BATS_FILE_TMPDIR/evkill"
  "$CRM_BIN" pg start --data-dir "$EK_DATA" > "$BATS_FILE_TMPDIR/pg.env" 2>/dev/null
  eval "$(cat "$BATS_FILE_TMPDIR/pg.env")"
  "$CRM_BIN" migrate up --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null 2>&1
  make_user ek.county bureau sx.yc.js 'Evkill-county-2026'
  make_user ek.xishe unit sx.yc.js.xishe 'Evkill-xishe-2026'
  export EK_DATA CRM_DATABASE_URL CRM_MIGRATE_DATABASE_URL CRM_PG_DIR
}

teardown_file() {
  "$CRM_BIN" pg start --data-dir "$EK_DATA" > /dev/null 2>&1 || true
  "$CRM_BIN" pg stop --data-dir "$EK_DATA" > /dev/null 2>&1 || true
  [ -z "${CRM_PG_DIR:-}" ] || [[ "$CRM_PG_DIR" != /tmp/crm-pg-* ]] || rm -rf "$CRM_PG_DIR"
}

setup() {
  [ -n "${EK_DATA:-}" ]
  CLIENTS=()
  WRITERS=()
}

teardown() {
  local p
  for p in "${CLIENTS[@]}" "${WRITERS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  crm_stop || true
}

ready() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$CRM_URL/readyz")" = 200 ]
}

# acked LOG: keys the writer has settled with a 2xx.
acked() {
  cat "$1" 2>/dev/null | grep -cE '^final .* 2[0-9][0-9] ' || true
}

at_least_acked() {
  [ "$(acked "$1")" -ge "$2" ]
}

# exactly_once NAME AFTER UPTO UNIT [FILE...]: the ids received (in the
# files given, in order; NAME's by default) in (AFTER, UPTO] are the
# published ids UNIT's subtree may see there, each once, in order.
exactly_once() {
  local name=$1 after=$2 upto=$3 unit=$4
  shift 4
  local files=("$@")
  [ "${#files[@]}" -gt 0 ] || files=("$BATS_TEST_TMPDIR/$name")
  local got want
  got=$(jq -r .sse_id "${files[@]}" | awk -v a="$after" -v u="$upto" '$1 > a && $1 <= u')
  want=$(in_scope "$unit" "$after" "$upto")
  if [ "$got" != "$want" ]; then
    echo "$name: received and published differ (< received, > published):" >&2
    diff <(echo "$got") <(echo "$want") | head -n 20 >&2
    return 1
  fi
  echo "# $name: $(echo "$got" | wc -l) events in ($after, $upto], each once, in order" >&3
}

@test "PostgreSQL killed -9 during streams: every event of each scope once, in order, resumed with Last-Event-ID" {
  crm_start --workers 2 --db-pool-size 2 --db-reconnect-ms 200 --db-connect-timeout-ms 1000 \
    --db-job-timeout-ms 3000 --events-heartbeat-s 1 --events-recheck-s 1
  tc=$(login ek.county 'Evkill-county-2026')
  tx=$(login ek.xishe 'Evkill-xishe-2026')
  COUNTY=$(unit_id sx.yc.js)
  XISHE=$(unit_id sx.yc.js.xishe)
  HUAYU=$(unit_id sx.yc.js.huayu)
  follow stay "$tc" --reconnect
  follow town "$tx" --reconnect
  follow leaver "$tc"
  leaver_pid=${CLIENTS[2]}
  connected stay; connected town; connected leaver

  today=$(owner_sql "SELECT crm_today()")
  run=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  for u in "$XISHE" "$HUAYU"; do
    inv=$(owner_sql "SELECT min(id) FROM investor WHERE unit_id = $u")
    template="{\"unit_id\":$u,\"investor_id\":$inv,\"kind\":\"call\",\"occurred_on\":\"$today\",\"summary\":\"evkill @KEY@\"}"
    python3 "$FAULT_DIR/keyed_writer.py" "$CRM_URL" "$tc" "ek-$run-$u" 40 "$template" \
      "$BATS_TEST_TMPDIR/writer.$u.log" 60 2>"$BATS_TEST_TMPDIR/writer.$u.err" 3>&- &
    WRITERS+=($!)
  done

  # Some events streamed, then the whole cluster dies at once.
  wait_until 20 at_least_acked "$BATS_TEST_TMPDIR/writer.$XISHE.log" 8
  pids=$(cluster_pids)
  [ -n "$pids" ]
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
  # shellcheck disable=SC2086
  wait_until 10 none_alive $pids
  # A client leaves during the outage, remembering the last id it got.
  kill "$leaver_pid"
  wait "$leaver_pid" 2>/dev/null || true
  last=$(jq -r .sse_id "$BATS_TEST_TMPDIR/leaver" | tail -n 1)
  [ -n "$last" ]
  "$CRM_BIN" pg start --data-dir "$EK_DATA" > /dev/null 2>&1
  wait_until 20 ready
  age_keys_in_flight "ek-$run" > /dev/null
  # It comes back as EventSource does, with Last-Event-ID.
  follow back "$tc" --last-event-id "$last"
  connected back
  for p in "${WRITERS[@]}"; do wait "$p"; done
  WRITERS=()
  for u in "$XISHE" "$HUAYU"; do
    [ "$(grep -c '^final ' "$BATS_TEST_TMPDIR/writer.$u.log")" = 40 ]
  done

  # The last event of each township: once a stream has it, it has all
  # before it.
  fx=$(log_visit "$tc" "$XISHE" "西社镇 最后 $run")
  fh=$(log_visit "$tc" "$HUAYU" "化峪镇 最后 $run")
  wait_for_id town "$fx"
  wait_for_id stay "$fh"
  wait_for_id back "$fh"

  exactly_once stay "$(start_of stay)" "$fh" "$COUNTY"
  exactly_once town "$(start_of town)" "$fx" "$XISHE"
  exactly_once leaver+back "$(start_of leaver)" "$fh" "$COUNTY" \
    "$BATS_TEST_TMPDIR/leaver" "$BATS_TEST_TMPDIR/back"
  # The township's stream carries its own events only.
  [ -z "$(jq -r "select(.unit_id != $XISHE) | .id" "$BATS_TEST_TMPDIR/town")" ]
  # The events written during the outage were among them: the writers' 503s
  # were retried, and what committed was published once the database was
  # back.
  written=$(owner_sql "SELECT count(*) FROM event WHERE type = 'interaction.logged' AND entity_id IN
                         (SELECT id FROM interaction WHERE summary LIKE 'evkill ek-$run-%')")
  [ "$written" = 80 ]
  echo "# stay reconnected $(($(grep -c '^connected' "$BATS_TEST_TMPDIR/stay.log") - 1)) times;" \
    "left at $last, came back with Last-Event-ID" >&3
  # The same crm all along; it stops cleanly with its streams open (under
  # the sanitizers: nothing leaked).
  kill -0 "$CRM_PID"
  crm_stop
}
