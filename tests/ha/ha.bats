#!/usr/bin/env bats
# Replicas and failover (issue 17), on a real Patroni pair with etcd on
# loopback (tests/ha/cluster.bash): crm is given both nodes, the primary
# found by libpq (target_session_attrs=read-write) and the replica for reads
# (CRM_DATABASE_READ_URL, prefer-standby). The tests run in order on one
# cluster: reads served by the standby; a caller's own writes read at once
# while the standby lags; the standby stopped, reads on the primary; the
# primary killed, Patroni promotes the standby and crm writes again by
# itself, with every acknowledged write found on the new primary.
#
# make test-ha (CRM_BIN: the crm to run, build/crm by default). The failover's
# figures go to $HA_DIR/../crm-ha-failover.txt and to the output (fd 3).

load cluster

setup_file() {
  CRM_BIN=${CRM_BIN:-$HA_REPO/build/crm}
  ha_setup
  printf '%s\n' 'Ha-admin-2024-pass' | "$CRM_BIN" init --unit-code ha.county --unit-name 高可用县 \
    --unit-kind county --admin ha.admin --database-url "$HA_APP_URL" \
    --migrate-database-url "$HA_OWNER_URL" > "$HA_DIR/init.out"
  local who
  for who in ha.bureau ha.other; do
    printf '%s\n' 'Ha-bureau-2024-pass' | "$CRM_BIN" user add --username "$who" --role bureau \
      --unit ha.county --database-url "$HA_APP_URL" --migrate-database-url "$HA_OWNER_URL" > /dev/null
  done
  CRM_OUT=$HA_DIR/crm.out
  # Its exit status goes to crm.rc (the tests are not its parent).
  (
    "$CRM_BIN" serve --listen 127.0.0.1:0 --workers 2 --database-url "$HA_APP_URL" \
      --database-read-url "$HA_READ_URL" --migrate-database-url "" --db-reconnect-ms 200 \
      --db-connect-timeout-ms 2000 > "$CRM_OUT" 2> "$HA_DIR/crm.err" 3>&- &
    echo $! > "$HA_DIR/crm.pid"
    rc=0; wait $! || rc=$?
    echo "$rc" > "$HA_DIR/crm.rc"
  ) 3>&- &
  ha_wait 30 grep -q '^crm: serving on ' "$CRM_OUT"
  CRM_PID=$(cat "$HA_DIR/crm.pid")
  CRM_URL=$(sed -n 's/^crm: serving on //p' "$CRM_OUT")
  UNIT=$(ha_sql 1 "SELECT id FROM unit WHERE code = 'ha.county'")
  A=$(login ha.bureau Ha-bureau-2024-pass)
  B=$(login ha.other Ha-bureau-2024-pass)
  export CRM_BIN CRM_PID CRM_URL UNIT A B
}

teardown_file() {
  [ -n "${CRM_PID:-}" ] && kill -TERM "$CRM_PID" 2>/dev/null || true
  ha_wait 30 test -s "$HA_DIR/crm.rc" || kill -KILL "$CRM_PID" 2>/dev/null || true
  [ -n "${KEEP_HA:-}" ] || ha_teardown
}

login() {
  curl -sf --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$CRM_URL/api/v1/auth/login" | jq -er .token
}

# get TOKEN PATH: the body; status in $code.
get() {
  local out; out=$(curl -s --max-time 10 -w '\n%{http_code}' -H "Authorization: Bearer $1" "$CRM_URL$2")
  code=${out##*$'\n'}
  printf '%s' "${out%$'\n'*}"
}

# post_investor TOKEN NAME: the HTTP status.
post_investor() {
  curl -s --max-time 5 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' \
    -d "{\"name\":\"$2\",\"unit_id\":$UNIT,\"industry\":\"高可用测试\"}" "$CRM_URL/api/v1/investors"
}

metric() { curl -s "$CRM_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# read_on_replica TOKEN: one list page read, which went to the standby.
read_on_replica() {
  local r0 f0
  r0=$(metric 'crm_db_reads_total{to="replica"}'); f0=$(metric crm_db_read_fallbacks_total)
  get "$1" "/api/v1/investors?limit=5" > /dev/null
  [ "$code" = 200 ] && [ "$(metric 'crm_db_reads_total{to="replica"}')" -gt "$r0" ] &&
    [ "$(metric crm_db_read_fallbacks_total)" = "$f0" ]
}

commits() { ha_sql "$1" "SELECT xact_commit FROM pg_stat_database WHERE datname = 'crm'"; }

@test "lists, figures and exports are read on the standby; no read route writes" {
  ha_is_primary 1
  ha_is_sync 2
  local r0 f0 c0 year paths p
  year=$(date +%Y)
  paths=("/api/v1/projects?limit=20" "/api/v1/investors" "/api/v1/interactions" "/api/v1/contracts"
         "/api/v1/starts" "/api/v1/problems" "/api/v1/batches" "/api/v1/units" "/api/v1/alerts"
         "/api/v1/stats/units/$UNIT?year=$year" "/api/v1/stats/ranking?year=$year"
         "/api/v1/stats/leaders?year=$year" "/api/v1/units/$UNIT/scorecard?year=$year"
         "/api/v1/scores/snapshots?year=$year" "/api/v1/exports/projects.csv")
  # The session's first read went to the primary at login's heels; now the standby.
  get "$A" /api/v1/projects > /dev/null
  sleep 0.2
  r0=$(metric 'crm_db_reads_total{to="replica"}'); f0=$(metric crm_db_read_fallbacks_total)
  c0=$(commits 2)
  for p in "${paths[@]}"; do
    get "$A" "$p" > /dev/null
    [ "$code" = 200 ] || { echo "$p: $code" >&2; return 1; }
  done
  [ "$(metric 'crm_db_reads_total{to="replica"}')" -eq $((r0 + ${#paths[@]})) ]
  [ "$(metric crm_db_read_fallbacks_total)" -eq "$f0" ]
  # The standby ran them (its own statistics, flushed within a second).
  ha_wait 5 bash -c "[ \"\$(psql '$HA_SUPER_URL:$HA_PG2/crm' -Atc \"SELECT xact_commit FROM pg_stat_database WHERE datname = 'crm'\")\" -ge $((c0 + ${#paths[@]})) ]"
}

@test "a caller reads their own write at once while the standby lags; others see it once replayed" {
  # B reads on the standby (once crm has met B's session on the primary).
  ha_wait 10 read_on_replica "$B"
  # Two seconds behind: what the standby answers is visibly older.
  ha_apply_delay 2 2s
  ha_wait 20 apply_delayed
  local name="读己之写 $RANDOM$RANDOM" i seen_by_b=0
  [ "$(post_investor "$A" "$name")" = 201 ]
  # A's reads: the write is there at once, read on the primary.
  for i in 1 2 3 4 5; do
    get "$A" "/api/v1/investors?limit=200" | jq -e --arg n "$name" '[.items[].name] | index($n) != null' > /dev/null
  done
  # B's read, on the standby, does not have it yet.
  get "$B" "/api/v1/investors?limit=200" | jq -e --arg n "$name" '[.items[].name] | index($n) == null' > /dev/null
  # Once the standby has replayed it, B's reads (still on the standby) see it too.
  for i in $(seq 1 40); do
    if get "$B" "/api/v1/investors?limit=200" | jq -e --arg n "$name" '[.items[].name] | index($n) != null' > /dev/null; then
      seen_by_b=1; break
    fi
    sleep 0.2
  done
  [ "$seen_by_b" = 1 ]
  # And A's reads went back to the standby once it had replayed A's write.
  read_on_replica "$A"
  ha_apply_delay 2 0
}

@test "the standby stopped: reads fall back to the primary, then return to the standby" {
  ha_stop_node 2
  local i
  for i in $(seq 1 20); do
    get "$A" "/api/v1/projects?limit=5" > /dev/null
    [ "$code" = 200 ] || { echo "read $i: $code" >&2; return 1; }
  done
  # Writes go on once Patroni has taken the stopped standby out of the
  # synchronous set.
  ha_wait 30 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Authorization: Bearer $A' -H 'Content-Type: application/json' -d '{\"name\":\"备节点停机时写入 $RANDOM\",\"unit_id\":$UNIT}' '$CRM_URL/api/v1/investors')\" = 201 ]"
  ha_start_node 2
  ha_wait 90 ha_is_sync 2
  # Its connections come back by themselves.
  ha_wait 30 bash -c "[ \"\$(curl -s '$CRM_URL/metrics' | awk '\$1 == \"crm_db_replica_connections_ready\" {print \$2}')\" -gt 0 ]"
  ha_wait 10 read_on_replica "$B"
}

# apply_delayed: the standby holds commits back (recovery_min_apply_delay is in
# effect in its startup process, which reads the setting on its own time): a
# commit made now is received, and half a second later still not replayed.
apply_delayed() {
  local lsn
  lsn=$(psql "$HA_SUPER_URL:$HA_PG1/crm" -At -c "SELECT txid_current()" -c "SELECT pg_current_wal_insert_lsn()" | tail -1)
  ha_wait 5 bash -c "[ \"\$(psql '$HA_SUPER_URL:$HA_PG2/crm' -Atc \"SELECT pg_last_wal_receive_lsn() >= '$lsn'\")\" = t ]" || return 1
  sleep 0.5
  [ "$(ha_sql 2 "SELECT pg_last_wal_replay_lsn() < '$lsn'")" = t ]
}

# crm_connections NODE: crm's connections to node N's PostgreSQL.
crm_connections() {
  ha_sql "$1" "SELECT count(*) FROM pg_stat_activity WHERE usename = 'crm_app' AND application_name = 'crm'"
}

@test "with several replicas listed, each worker's connections start at another one" {
  # target_session_attrs=any: without spreading, libpq would put every
  # connection on the first host listed.
  local n1 n2 pid url out=$HA_DIR/crm-spread.out
  n1=$(crm_connections 1); n2=$(crm_connections 2)
  "$CRM_BIN" serve --listen 127.0.0.1:0 --workers 2 --db-pool-size 2 --database-url "$HA_APP_URL" \
    --database-read-url "postgresql://crm_app:$HA_APP_PASSWORD@127.0.0.1:$HA_PG1,127.0.0.1:$HA_PG2/crm?target_session_attrs=any" \
    --migrate-database-url "" --jobs-tick-s 0 --stall-check-s 0 > "$out" 2> "$HA_DIR/crm-spread.err" 3>&- &
  pid=$!
  ha_wait 30 grep -q '^crm: serving on ' "$out"
  # 4 to the primary, and the 4 replica connections two and two.
  ha_wait 20 bash -c "[ \"\$(psql '$HA_SUPER_URL:$HA_PG2/crm' -Atc \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'crm_app' AND application_name = 'crm'\")\" = $((n2 + 2)) ]"
  ha_wait 20 bash -c "[ \"\$(psql '$HA_SUPER_URL:$HA_PG1/crm' -Atc \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'crm_app' AND application_name = 'crm'\")\" = $((n1 + 6)) ]"
  kill -TERM "$pid"
  wait "$pid"
}

@test "the primary killed: Patroni promotes the standby, crm writes again by itself, no acknowledged write lost" {
  ha_is_primary 1
  ha_wait 30 ha_is_sync 2
  local log=$HA_DIR/writes.txt
  : > "$log"
  # A writer: one investor after another, each line "epoch_ms status name".
  (
    i=0
    while [ ! -e "$HA_DIR/stop-writer" ]; do
      i=$((i + 1))
      n="故障切换写入 $i"
      s=$(post_investor "$A" "$n")
      echo "$(date +%s%3N) $s $n" >> "$log"
      [ "$s" = 201 ] || sleep 0.05
    done
  ) &
  local writer=$!
  sleep 3
  local killed_ms; killed_ms=$(date +%s%3N)
  ha_kill_node 1
  ha_wait 60 ha_is_primary 2
  PROMOTED_MS=$(date +%s%3N)
  # Writes succeed again, through the same crm.
  ha_wait 30 bash -c "awk -v t=$killed_ms '\$1 > t && \$2 == 201' '$log' | grep -q ."
  sleep 2
  touch "$HA_DIR/stop-writer"
  wait "$writer"
  local acked found first_fail first_after failed promoted_ms
  promoted_ms=$PROMOTED_MS
  acked=$(awk '$2 == 201' "$log" | wc -l)
  failed=$(awk '$2 != 201' "$log" | wc -l)
  # The outage: from the first write refused after the kill (one in flight
  # may still have been committed) to the next one acknowledged.
  first_fail=$(awk -v t="$killed_ms" '$1 > t && $2 != 201 {print $1; exit}' "$log")
  first_after=$(awk -v t="${first_fail:-$killed_ms}" '$1 > t && $2 == 201 {print $1; exit}' "$log")
  # Every acknowledged write is on the new primary.
  awk '$2 == 201 {$1 = ""; $2 = ""; sub(/^  /, ""); print}' "$log" > "$HA_DIR/acked.txt"
  found=$(psql "$HA_SUPER_URL:$HA_PG2/crm" -At -v ON_ERROR_STOP=1 \
    -c "CREATE TEMP TABLE acked (name text)" -c "\\copy acked FROM '$HA_DIR/acked.txt'" \
    -c "SELECT count(*) FROM acked a WHERE EXISTS (SELECT 1 FROM investor i WHERE i.name = a.name)" | tail -1)
  local figures="failover: the primary killed at 0 ms; the standby promoted (Patroni's /primary answers 200) by $((promoted_ms - killed_ms)) ms; writes refused from $((first_fail - killed_ms)) ms, acknowledged again from $((first_after - killed_ms)) ms; $acked writes acknowledged, $found of them found on the new primary; $failed refused (503), the writer trying again after 50 ms"
  echo "$figures" > "$HA_DIR/../crm-ha-failover.txt"
  echo "# $figures" >&3
  [ "$acked" -gt 0 ]
  [ "$found" = "$acked" ]
  # crm was never restarted.
  kill -0 "$CRM_PID"
}

@test "after the failover, reads are served (the new primary) and crm reports ready" {
  local i
  for i in 1 2 3; do
    get "$B" "/api/v1/projects?limit=5" > /dev/null
    [ "$code" = 200 ]
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$CRM_URL/readyz")" = 200 ]
}

@test "crm stops cleanly after it all, with no sanitizer report" {
  kill -TERM "$CRM_PID"
  ha_wait 30 test -s "$HA_DIR/crm.rc"
  [ "$(cat "$HA_DIR/crm.rc")" = 0 ] || { tail -20 "$HA_DIR/crm.err" >&2; return 1; }
  if grep -E 'AddressSanitizer|LeakSanitizer|runtime error' "$HA_DIR/crm.err"; then return 1; fi
}
