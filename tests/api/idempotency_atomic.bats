#!/usr/bin/env bats
# Issue 12, finding 6: an Idempotency-Key is settled in its write's own
# transaction. The answer used to be stored in a transaction of its own
# after the write's; when that failed, the key stayed in_flight and a retry
# a minute later ran the write again. Here the late store is made to fail
# (a trigger, as the owner, refuses idempotency_finish's update for keys
# "lose-*") and the key is aged past the minute: the retry must replay the
# first answer, and the record exist once.

load helpers

setup_file() {
  crm_env
  owner_sql "CREATE OR REPLACE FUNCTION pg_temp_lose_finish() RETURNS trigger LANGUAGE plpgsql AS \$\$
             BEGIN
                 IF NEW.key LIKE 'lose-%' AND current_query() LIKE '%idempotency_finish(%' THEN
                     RAISE EXCEPTION 'the answer is lost (test)';
                 END IF;
                 RETURN NEW;
             END \$\$;
             DROP TRIGGER IF EXISTS lose_finish ON idempotency_key;
             CREATE TRIGGER lose_finish BEFORE UPDATE ON idempotency_key
                 FOR EACH ROW EXECUTE FUNCTION pg_temp_lose_finish()" >/dev/null
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  make_user "ia.bureau.$RUN" bureau sx.yc.js 'Idem-bureau-2026'
  crm_start
  BUREAU=$(login "ia.bureau.$RUN" 'Idem-bureau-2026')
  XISHE=$(unit_id sx.yc.js.xishe)
  export CRM_URL CRM_PID CRM_OUT CRM_ERR RUN BUREAU XISHE
}

teardown_file() {
  crm_stop
  owner_sql "DROP TRIGGER IF EXISTS lose_finish ON idempotency_key; DROP FUNCTION IF EXISTS pg_temp_lose_finish()" >/dev/null
}

setup() {
  crm_env
}

@test "the answer's late store fails, the key ages: the retry replays, one record" {
  key="lose-$RUN-1"
  inv=$(owner_sql "SELECT min(id) FROM investor WHERE unit_id = $XISHE")
  json="{\"unit_id\":$XISHE,\"investor_id\":$inv,\"kind\":\"call\",\"occurred_on\":\"$(owner_sql "SELECT crm_today()")\",\"summary\":\"幂等测试 $RUN\"}"
  api_json POST /api/v1/interactions "$BUREAU" "$json" -H "Idempotency-Key: $key"
  [ "$status" = 201 ] || { echo "first: $status $body" >&2; return 1; }
  first=$body
  id=$(jq -r .id <<<"$body")
  # The answer is kept with the write (the key is done), or else its late store has
  # failed (the log says so). The key is then made older than the minute a retry waits
  # before taking over a key whose request never finished.
  settled() {
    [ "$(owner_sql "SELECT state FROM idempotency_key WHERE key = '$key'")" = done ] ||
      grep -q 'idempotency: answer not stored' "$CRM_ERR"
  }
  for _ in $(seq 1 50); do settled && break; sleep 0.1; done
  settled
  owner_sql "UPDATE idempotency_key SET created_at = now() - interval '2 minutes' WHERE key = '$key'" >/dev/null
  api_json POST /api/v1/interactions "$BUREAU" "$json" -H "Idempotency-Key: $key"
  [ "$status" = 201 ] || { echo "retry: $status $body" >&2; return 1; }
  [ "$(header Idempotent-Replayed)" = true ]
  [ "$(jq -r .id <<<"$body")" = "$id" ]
  [ "$body" = "$first" ]
  [ "$(owner_sql "SELECT count(*) FROM interaction WHERE summary = '幂等测试 $RUN'")" = 1 ]
}

@test "a keyed request without a stored answer is never run twice: 409" {
  key="lose-$RUN-2"
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-IA-$RUN\",\"name\":\"幂等转段\",\"unit_id\":$XISHE,\"stage\":\"planned\"}"
  [ "$status" = 201 ]
  pid=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"lead"}' -H "Idempotency-Key: $key"
  [ "$status" = 200 ]
  owner_sql "UPDATE idempotency_key SET created_at = now() - interval '2 minutes' WHERE key = '$key'" >/dev/null
  [ "$(owner_sql "SELECT state FROM idempotency_key WHERE key = '$key'")" = written ]
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"lead"}' -H "Idempotency-Key: $key"
  [ "$status" = 409 ]
  jq -e '.detail | test("carried out")' <<<"$body"
  [ "$(owner_sql "SELECT count(*) FROM audit_log WHERE table_name = 'project' AND row_id = '$pid' AND action = 'update'")" = 1 ]
}
