#!/usr/bin/env bats
# Writes racing each other (issue acceptance): 50 PATCHes of one project
# with the same ETag let exactly one through; 20 POSTs with one
# Idempotency-Key make one record; and, in the same spirit, 20 verifications
# of one claim verify it once. The requests are sent at once with
# curl --parallel --parallel-immediate, each with its own body.

load helpers

setup_file() {
  crm_env
  make_user cc.bureau bureau sx.yc.js 'Cc-bureau-2024'
  make_user cc.viewer viewer sx.yc.js 'Cc-viewer-2024'
  make_user cc.leader leader sx.yc.js 'Cc-leader-2024'
  crm_start
  BUREAU=$(login cc.bureau 'Cc-bureau-2024')
  VIEWER=$(login cc.viewer 'Cc-viewer-2024')
  XISHE_UNIT=$(unit_id sx.yc.js.xishe)
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  export CRM_URL CRM_PID CRM_OUT CRM_ERR BUREAU VIEWER XISHE_UNIT RUN
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# A value quoted for a curl config file.
cfg_quote() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# cfg_request FILE I METHOD PATH TOKEN BODY [HEADER...]: appends request I
# (its answer's body to $BATS_TEST_TMPDIR/answer.I, its status printed as
# "STATUS I").
cfg_request() {
  local file=$1 i=$2 method=$3 path=$4 token=$5 json=$6
  shift 6
  [ -s "$file" ] && echo next >> "$file"
  {
    echo "url = $(cfg_quote "$CRM_URL$path")"
    echo "request = $method"
    echo "header = $(cfg_quote "Authorization: Bearer $token")"
    echo "max-time = 60"
    if [ -n "$json" ]; then
      echo "header = \"Content-Type: application/json\""
      echo "data-binary = $(cfg_quote "$json")"
    fi
    local h
    for h in "$@"; do echo "header = $(cfg_quote "$h")"; done
    echo "output = $(cfg_quote "$BATS_TEST_TMPDIR/answer.$i")"
    echo "dump-header = $(cfg_quote "$BATS_TEST_TMPDIR/headers.$i")"
    echo "write-out = \"%{http_code} $i\\n\""
  } >> "$file"
}

# fire FILE N: sends the requests of FILE all at once; prints "STATUS I" lines.
fire() {
  curl -s --parallel --parallel-immediate --parallel-max "$2" -K "$1" 2>/dev/null
}

@test "a retry sent right after the first answer is a replay, never 'still running'" {
  # Creations, each retried with its key as soon as its 201 arrived, on the
  # same connection (one curl, one request after another), while other
  # callers keep the server and its database busy; up to three rounds of
  # 100, stopping at the first retry that is not a replay. (The answer is
  # stored under its key just after it is sent: a retry that comes in
  # between finds the key "still running".)
  load="$BATS_TEST_TMPDIR/load.cfg"
  one="url = $(cfg_quote "$CRM_URL/api/v1/projects?limit=50")
header = $(cfg_quote "Authorization: Bearer $VIEWER")
output = \"/dev/null\""
  for i in $(seq 1 3000); do
    [ "$i" = 1 ] || echo next
    echo "$one"
  done > "$load"
  url=$(cfg_quote "$CRM_URL/api/v1/projects")
  auth=$(cfg_quote "Authorization: Bearer $BUREAU")
  for round in 1 2 3; do
    cfg="$BATS_TEST_TMPDIR/retry.$round.cfg"
    for i in $(seq 1 100); do
      for try in first retry; do
        [ "$i.$try" = 1.first ] || echo next
        echo "url = $url"
        echo "request = POST"
        echo "header = $auth"
        echo "header = \"Content-Type: application/json\""
        echo "header = \"Idempotency-Key: cc-retry-$RUN-$round-$i\""
        echo "data-binary = \"{\\\"code\\\":\\\"T-CC-$RUN-r$round-$i\\\",\\\"name\\\":\\\"重试$i\\\",\\\"unit_id\\\":$XISHE_UNIT}\""
        echo "output = \"/dev/null\""
        echo "write-out = \"%{http_code} $i.$try\\n\""
      done
    done > "$cfg"
    curl -s --parallel --parallel-max 12 -K "$load" > /dev/null 2>&1 &
    loader=$!
    curl -s -K "$cfg" 2>/dev/null > "$BATS_TEST_TMPDIR/statuses.$round"
    kill "$loader" 2>/dev/null || true
    wait "$loader" 2>/dev/null || true
    echo "# round $round: $(awk '{split($2, a, "."); print $1, a[2]}' "$BATS_TEST_TMPDIR/statuses.$round" | sort | uniq -c | tr -s ' \n' ' ')" >&3
    [ "$(owner_sql "SELECT count(*) FROM project WHERE code LIKE 'T-CC-$RUN-r$round-%'")" = 100 ]
    [ "$(awk '$1 != 201' "$BATS_TEST_TMPDIR/statuses.$round" | wc -l)" = 0 ] ||
      { echo "round $round: $(awk '$1 != 201' "$BATS_TEST_TMPDIR/statuses.$round" | wc -l) retries answered otherwise than by a replay" >&2; false; }
  done
}

@test "50 parallel PATCHes with the same ETag: exactly one 200, the rest 412" {
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-CC-$RUN-patch\",\"name\":\"并发修改测试\",\"unit_id\":$XISHE_UNIT}"
  [ "$status" = 201 ]
  id=$(jq -r .id <<<"$body")
  # Moved on a little first, so that the ETag is not the trivial "1".
  api_json PATCH "/api/v1/projects/$id" "$BUREAU" '{"plan":"预热"}' -H 'If-Match: "1"'
  [ "$status" = 200 ]
  etag=$(header ETag)
  old=$(owner_sql "SELECT version FROM project WHERE id = $id")
  [ "$etag" = "\"$old\"" ]
  audit_before=$(owner_sql "SELECT count(*) FROM audit_log WHERE table_name = 'project' AND row_id = '$id'")
  cfg="$BATS_TEST_TMPDIR/patch.cfg"
  : > "$cfg"
  for i in $(seq 1 50); do
    cfg_request "$cfg" "$i" PATCH "/api/v1/projects/$id" "$BUREAU" \
      "{\"name\":\"并发修改-$i\",\"park\":\"园区$i\"}" "If-Match: $etag"
  done
  fire "$cfg" 50 > "$BATS_TEST_TMPDIR/statuses"
  echo "# $(cut -d' ' -f1 "$BATS_TEST_TMPDIR/statuses" | sort | uniq -c | tr -s ' \n' ' ')" >&3
  [ "$(wc -l < "$BATS_TEST_TMPDIR/statuses")" = 50 ]
  [ "$(awk '$1 == 200' "$BATS_TEST_TMPDIR/statuses" | wc -l)" = 1 ]
  [ "$(awk '$1 == 412' "$BATS_TEST_TMPDIR/statuses" | wc -l)" = 49 ]
  winner=$(awk '$1 == 200 {print $2}' "$BATS_TEST_TMPDIR/statuses")
  # The final version is the old one plus one, with the winner's body, and
  # the winner's answer said so.
  [ "$(owner_sql "SELECT version FROM project WHERE id = $id")" = "$((old + 1))" ]
  [ "$(owner_sql "SELECT name || '|' || park FROM project WHERE id = $id")" = "并发修改-$winner|园区$winner" ]
  [ "$(jq -r .version "$BATS_TEST_TMPDIR/answer.$winner")" = "$((old + 1))" ]
  grep -qi "^ETag: \"$((old + 1))\"" "$BATS_TEST_TMPDIR/headers.$winner"
  # Each loser got a problem document.
  for i in $(awk '$1 == 412 {print $2}' "$BATS_TEST_TMPDIR/statuses"); do
    [ "$(jq -r .status "$BATS_TEST_TMPDIR/answer.$i")" = 412 ]
  done
  # One change, one audit entry.
  [ "$(owner_sql "SELECT count(*) FROM audit_log WHERE table_name = 'project' AND row_id = '$id'")" = "$((audit_before + 1))" ]
  api GET "/api/v1/projects/$id" "$BUREAU"
  [ "$(header ETag)" = "\"$((old + 1))\"" ]
}

@test "The same Idempotency-Key posted 20 times at once: one record" {
  code="T-CC-$RUN-idem"
  key="cc-idem-$RUN"
  json="{\"code\":\"$code\",\"name\":\"幂等并发测试项目\",\"unit_id\":$XISHE_UNIT,\"planned_investment_yuan\":120000000}"
  cfg="$BATS_TEST_TMPDIR/idem.cfg"
  : > "$cfg"
  for i in $(seq 1 20); do
    cfg_request "$cfg" "$i" POST /api/v1/projects "$BUREAU" "$json" "Idempotency-Key: $key"
  done
  fire "$cfg" 20 > "$BATS_TEST_TMPDIR/statuses"
  echo "# $(cut -d' ' -f1 "$BATS_TEST_TMPDIR/statuses" | sort | uniq -c | tr -s ' \n' ' ')" >&3
  [ "$(wc -l < "$BATS_TEST_TMPDIR/statuses")" = 20 ]
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code = '$code'")" = 1 ]
  id=$(owner_sql "SELECT id FROM project WHERE code = '$code'")
  # Each answer is the first 201, a replay of it, or a 409 (still running).
  [ "$(awk '$1 != 201 && $1 != 409' "$BATS_TEST_TMPDIR/statuses" | wc -l)" = 0 ]
  [ "$(awk '$1 == 201' "$BATS_TEST_TMPDIR/statuses" | wc -l)" -ge 1 ]
  first=
  for i in $(awk '$1 == 201 {print $2}' "$BATS_TEST_TMPDIR/statuses"); do
    [ "$(jq -r '[.id, .code] | join(",")' "$BATS_TEST_TMPDIR/answer.$i")" = "$id,$code" ]
    if [ -z "$first" ]; then first=$(cat "$BATS_TEST_TMPDIR/answer.$i"); fi
    [ "$(cat "$BATS_TEST_TMPDIR/answer.$i")" = "$first" ]
  done
  for i in $(awk '$1 == 409 {print $2}' "$BATS_TEST_TMPDIR/statuses"); do
    [ "$(jq -r .status "$BATS_TEST_TMPDIR/answer.$i")" = 409 ]
  done
  # Exactly one of the 201s was not a replay.
  [ "$(grep -li '^Idempotent-Replayed: true' "$BATS_TEST_TMPDIR"/headers.* | wc -l)" = \
    "$(( $(awk '$1 == 201' "$BATS_TEST_TMPDIR/statuses" | wc -l) - 1 ))" ]
  # Once it is all over, the key replays the first answer.
  for _ in $(seq 1 50); do
    [ "$(owner_sql "SELECT state FROM idempotency_key WHERE key = '$key'")" = done ] && break
    sleep 0.05
  done
  api_json POST /api/v1/projects "$BUREAU" "$json" -H "Idempotency-Key: $key"
  [ "$status" = 201 ]
  [ "$(header Idempotent-Replayed)" = true ]
  [ "$body" = "$first" ]
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code = '$code'")" = 1 ]
  [ "$(owner_sql "SELECT count(*) FROM audit_log WHERE table_name = 'project' AND row_id = '$id' AND action = 'insert'")" = 1 ]
}

@test "50 parallel creations with their own keys: 50 records, each answered 201 once" {
  cfg="$BATS_TEST_TMPDIR/many.cfg"
  : > "$cfg"
  for i in $(seq 1 50); do
    cfg_request "$cfg" "$i" POST /api/v1/projects "$BUREAU" \
      "{\"code\":\"T-CC-$RUN-m$i\",\"name\":\"并发新建$i\",\"unit_id\":$XISHE_UNIT}" "Idempotency-Key: cc-many-$RUN-$i"
  done
  fire "$cfg" 50 > "$BATS_TEST_TMPDIR/statuses"
  [ "$(awk '$1 == 201' "$BATS_TEST_TMPDIR/statuses" | wc -l)" = 50 ]
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code LIKE 'T-CC-$RUN-m%'")" = 50 ]
  for i in $(seq 1 50); do
    [ "$(jq -r .code "$BATS_TEST_TMPDIR/answer.$i")" = "T-CC-$RUN-m$i" ]
  done
}

@test "20 parallel verifications of one claim: one 200, the rest 409; verified once" {
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-CC-$RUN-verify\",\"name\":\"并发认定测试\",\"unit_id\":$XISHE_UNIT,\"investor_id\":$(owner_sql "SELECT min(id) FROM investor"),\"leader_id\":$(user_id cc.leader),\"planned_investment_yuan\":5000000}"
  [ "$status" = 201 ]
  pid=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"negotiating"}'
  [ "$status" = 200 ]
  api_json POST /api/v1/contracts "$BUREAU" "{\"project_id\":$pid,\"kind\":\"formal\",\"amount_yuan\":5000000,\"signed_on\":\"$(owner_sql "SELECT crm_today() - 3")\",\"evidence\":\"合同\"}"
  [ "$status" = 201 ]
  cid=$(jq -r .id <<<"$body")
  cfg="$BATS_TEST_TMPDIR/verify.cfg"
  : > "$cfg"
  for i in $(seq 1 20); do
    cfg_request "$cfg" "$i" POST "/api/v1/contracts/$cid/verify" "$VIEWER" ""
  done
  fire "$cfg" 20 > "$BATS_TEST_TMPDIR/statuses"
  echo "# $(cut -d' ' -f1 "$BATS_TEST_TMPDIR/statuses" | sort | uniq -c | tr -s ' \n' ' ')" >&3
  [ "$(awk '$1 == 200' "$BATS_TEST_TMPDIR/statuses" | wc -l)" = 1 ]
  [ "$(awk '$1 == 409' "$BATS_TEST_TMPDIR/statuses" | wc -l)" = 19 ]
  [ "$(owner_sql "SELECT version || ':' || (verified_by = $(user_id cc.viewer)) FROM contract WHERE id = $cid")" = "2:true" ]
  [ "$(owner_sql "SELECT count(*) FROM audit_log WHERE table_name = 'contract' AND row_id = '$cid' AND action = 'update'")" = 1 ]
}
