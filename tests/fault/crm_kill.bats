#!/usr/bin/env bats
# Issue 12, "then build": crm killed with SIGKILL while keyed POSTs are in
# flight, started again, and every key retried with the same body. A key
# whose write committed answers a replay (201, Idempotent-Replayed) or a 409
# "carried out"; a key whose write never committed is taken over (once the
# minute a retry waits for an abandoned key has passed: the test ages the
# keys instead of waiting) and creates its record. Either way each key has
# exactly one row, never two.

load ../api/helpers
load ../api/sync

N=50

setup_file() {
  crm_env
  make_user ck.bureau bureau sx.yc.js 'Crmkill-bureau-2026'
  # Each of this test's writes takes 100 ms in its transaction (a slow
  # write), so that the kill finds them in flight; other rows are untouched.
  owner_sql "CREATE OR REPLACE FUNCTION pg_temp_ck_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
             BEGIN PERFORM pg_sleep(0.1); RETURN NEW; END \$\$;
             DROP TRIGGER IF EXISTS ck_slow ON interaction;
             CREATE TRIGGER ck_slow BEFORE INSERT ON interaction FOR EACH ROW
                 WHEN (NEW.summary LIKE 'crmkill %') EXECUTE FUNCTION pg_temp_ck_slow()" >/dev/null
}

teardown_file() {
  owner_sql "DROP TRIGGER IF EXISTS ck_slow ON interaction; DROP FUNCTION IF EXISTS pg_temp_ck_slow()" >/dev/null
}

setup() {
  crm_env
  CURL_PID=
}

teardown() {
  if [ -n "$CURL_PID" ]; then
    kill "$CURL_PID" 2>/dev/null || true
    wait "$CURL_PID" 2>/dev/null || true
  fi
  if [ -n "${CRM_PID:-}" ]; then crm_stop || true; fi
}

# committed N: whether at least N of this run's writes have committed.
committed() {
  [ "$(owner_sql "SELECT count(*) FROM interaction WHERE summary LIKE 'crmkill ck-$run-%'")" -ge "$1" ]
}

@test "crm killed -9 with 50 keyed POSTs in flight: each key retried makes exactly one row" {
  # One worker, one connection, one statement at a time: the 50 are served
  # one after another, so that most are still in flight at the first answer.
  run=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  crm_start --workers 1 --db-pool-size 1 --db-pipeline-depth 1 --db-queue-timeout-ms 20000
  token=$(login ck.bureau 'Crmkill-bureau-2026')
  unit=$(unit_id sx.yc.js.xishe)
  inv=$(owner_sql "SELECT min(id) FROM investor WHERE unit_id = $unit")
  today=$(owner_sql "SELECT crm_today()")
  dir=$BATS_TEST_TMPDIR
  CODES=$dir/codes
  : > "$dir/curl.cfg"
  for i in $(seq 1 $N); do
    key="ck-$run-$i"
    body="{\"unit_id\":$unit,\"investor_id\":$inv,\"kind\":\"call\",\"occurred_on\":\"$today\",\"summary\":\"crmkill $key\"}"
    printf '%s' "$body" > "$dir/req.$i"
    [ "$i" -eq 1 ] || echo next >> "$dir/curl.cfg"
    cat >> "$dir/curl.cfg" <<EOF
url = "$CRM_URL/api/v1/interactions"
header = "Authorization: Bearer $token"
header = "Content-Type: application/json"
header = "Idempotency-Key: $key"
data-binary = "@$dir/req.$i"
output = "$dir/resp.$i"
write-out = "$i %{http_code} %{exitcode}\n"
max-time = 15
silent
EOF
  done
  curl -s --parallel --parallel-immediate --parallel-max $N -K "$dir/curl.cfg" > "$CODES" 3>&- &
  CURL_PID=$!
  # A fifth of the writes committed: crm dies with the rest in flight. (Their
  # answers are stored and sent after the writes queued behind them, so few
  # or none have gone out yet.)
  wait_until 20 committed 10
  kill -KILL "$CRM_PID"
  wait "$CRM_PID" 2>/dev/null || true
  CRM_PID=
  wait "$CURL_PID" || true
  CURL_PID=
  [ "$(wc -l < "$CODES")" -eq $N ]
  acked=0
  : > "$dir/acked"
  while read -r i code _; do
    if [[ $code == 2* ]]; then
      acked=$((acked + 1))
      echo "$i $(jq -r .id "$dir/resp.$i")" >> "$dir/acked"
    fi
  done < "$CODES"
  lost=$(grep -c ' 000 ' "$CODES" || true)
  # The kill did cut requests in flight.
  [ "$lost" -ge 1 ] || { cat "$CODES" >&2; return 1; }
  in_flight=$(owner_sql "SELECT count(*) FROM idempotency_key WHERE key LIKE 'ck-$run-%' AND state = 'in_flight'")
  claimed=$(owner_sql "SELECT count(*) FROM idempotency_key WHERE key LIKE 'ck-$run-%'")
  # The client retries after the minute an abandoned key is held.
  owner_sql "UPDATE idempotency_key SET created_at = now() - interval '2 minutes' WHERE key LIKE 'ck-$run-%'" >/dev/null

  crm_start
  replayed=0 new=0 carried=0
  for i in $(seq 1 $N); do
    api_json POST /api/v1/interactions "$token" "$(cat "$dir/req.$i")" -H "Idempotency-Key: ck-$run-$i"
    if [ "$status" = 201 ] && [ "$(header Idempotent-Replayed)" = true ]; then
      replayed=$((replayed + 1))
      # A replay names the id the first answer named, when it was received.
      first=$(awk -v i="$i" '$1 == i {print $2}' "$dir/acked")
      [ -z "$first" ] || [ "$first" = "$(jq -r .id <<<"$body")" ]
    elif [ "$status" = 201 ]; then
      new=$((new + 1))
      # A new record only for a key whose first answer never came.
      [ -z "$(awk -v i="$i" '$1 == i' "$dir/acked")" ] || { echo "key $i acknowledged, then created again" >&2; return 1; }
    elif [ "$status" = 409 ] && jq -e '.detail | test("carried out")' <<<"$body" >/dev/null; then
      carried=$((carried + 1))
    else
      echo "key $i: $status $body" >&2
      return 1
    fi
  done
  found=0
  if [ "$acked" -gt 0 ]; then
    found=$(owner_sql "SELECT count(*) FROM interaction WHERE id IN ($(awk '{print $2}' "$dir/acked" | paste -sd,))")
  fi
  rows=$(owner_sql "SELECT count(*) FROM interaction WHERE summary LIKE 'crmkill ck-$run-%'")
  keys=$(owner_sql "SELECT count(DISTINCT summary) FROM interaction WHERE summary LIKE 'crmkill ck-$run-%'")
  echo "# crm_kill: $N keys; acknowledged before the kill $acked, found $found; cut $lost;" \
    "claimed $claimed (in flight $in_flight); retries: replayed $replayed, new $new, 409 carried out $carried;" \
    "rows $rows for $keys keys" >&3
  [ "$found" -eq "$acked" ]
  # Both kinds of key met: committed ones replayed, uncommitted ones created.
  [ "$replayed" -ge 1 ]
  [ "$new" -ge 1 ]
  [ $((replayed + new + carried)) -eq $N ]
  [ "$rows" -eq $N ]
  [ "$keys" -eq $N ]
  crm_stop
}
