#!/usr/bin/env bats
# Issue 12, "then build": SIGTERM under load (tests/api/shutdown.bats holds
# requests with a lock; here they run freely). 30 parallel clients
# (curl --parallel, keep-alive) read lists and create interactions; crm gets
# SIGTERM once it has answered a good share. Every answer is a 2xx or a 503
# problem+json (no other 5xx, no request cut off after crm took it: a
# refused connection is fine, a reset or empty reply is not), each 201 names
# a stored row, and crm exits 0 within its grace period.

load ../api/helpers
load ../api/sync

N=600
GRACE_MS=3000

setup_file() {
  crm_env
  make_user sl.bureau bureau sx.yc.js 'Sigload-bureau-2026'
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

# logged N: whether crm's access log shows at least N answers.
logged() {
  [ "$(grep -c '"msg":"request"' "$CRM_ERR" || true)" -ge "$1" ]
}

@test "SIGTERM under load: 2xx or 503 problem+json, nothing cut, exit 0 within the grace" {
  crm_start --workers 2 --db-pool-size 4 --shutdown-grace-ms $GRACE_MS
  token=$(login sl.bureau 'Sigload-bureau-2026')
  unit=$(unit_id sx.yc.js.xishe)
  inv=$(owner_sql "SELECT min(id) FROM investor WHERE unit_id = $unit")
  today=$(owner_sql "SELECT crm_today()")
  run=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  dir=$BATS_TEST_TMPDIR
  : > "$dir/curl.cfg"
  for i in $(seq 1 $N); do
    [ "$i" -eq 1 ] || echo next >> "$dir/curl.cfg"
    case $((i % 3)) in
      0) printf '{"unit_id":%s,"investor_id":%s,"kind":"call","occurred_on":"%s","summary":"sigload %s-%s"}' \
           "$unit" "$inv" "$today" "$run" "$i" > "$dir/req.$i"
         printf 'url = "%s"\nheader = "Content-Type: application/json"\ndata-binary = "@%s"\n' \
           "$CRM_URL/api/v1/interactions" "$dir/req.$i" >> "$dir/curl.cfg" ;;
      1) echo "url = \"$CRM_URL/api/v1/units\"" >> "$dir/curl.cfg" ;;
      2) echo "url = \"$CRM_URL/api/v1/interactions?limit=20\"" >> "$dir/curl.cfg" ;;
    esac
    cat >> "$dir/curl.cfg" <<EOF
header = "Authorization: Bearer $token"
output = "$dir/resp.$i"
write-out = "$i %{http_code} %{exitcode} %{content_type}\n"
max-time = 20
silent
EOF
  done
  curl -s --parallel --parallel-max 30 -K "$dir/curl.cfg" > "$dir/codes" 2>/dev/null 3>&- &
  CURL_PID=$!
  # Under load: a sixth of the requests answered, the rest coming.
  wait_until 30 logged $((N / 6))
  start=$(date +%s%N)
  kill -TERM "$CRM_PID"
  rc=0
  wait "$CRM_PID" || rc=$?
  CRM_PID=
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  wait "$CURL_PID" || true
  CURL_PID=
  [ "$(wc -l < "$dir/codes")" -eq $N ]
  ok=$(awk '$2 ~ /^2/' "$dir/codes" | wc -l)
  s503=$(awk '$2 == 503' "$dir/codes" | wc -l)
  refused=$(awk '$2 == "000" && $3 == 7' "$dir/codes" | wc -l)
  other=$(awk '!($2 ~ /^2/) && $2 != 503 && !($2 == "000" && $3 == 7)' "$dir/codes")
  echo "# sigterm_load: $N requests: $ok 2xx, $s503 503, $refused refused after the listener closed;" \
    "crm exited $rc in $elapsed_ms ms (grace $GRACE_MS ms)" >&3
  [ -z "$other" ] || { echo "answers other than 2xx, 503 or refused:" >&2; echo "$other" | head -n 20 >&2; return 1; }
  [ "$rc" -eq 0 ]
  [ "$elapsed_ms" -lt $((GRACE_MS + 2000)) ]
  # The signal came under load: something was left to refuse or turn away.
  [ $((s503 + refused)) -ge 1 ]
  # Each 503 is a problem+json.
  bad=$(awk '$2 == 503 && $4 !~ /^application\/problem\+json/' "$dir/codes")
  [ -z "$bad" ] || { echo "$bad" >&2; return 1; }
  # Each 201 names a stored row (a POST answered 503 may have been stored: it
  # carried no Idempotency-Key, and the rows are only counted).
  awk '$2 == 201 {print $1}' "$dir/codes" | while read -r i; do jq -r .id "$dir/resp.$i"; done > "$dir/ids"
  created=$(wc -l < "$dir/ids")
  found=0
  if [ "$created" -gt 0 ]; then
    found=$(owner_sql "SELECT count(*) FROM interaction WHERE id IN ($(paste -sd, "$dir/ids")) AND summary LIKE 'sigload $run-%'")
  fi
  rows=$(owner_sql "SELECT count(*) FROM interaction WHERE summary LIKE 'sigload $run-%'")
  echo "# sigterm_load: $created created (201), $found of them found; $rows rows in all" >&3
  [ "$found" -eq "$created" ]
  grep -q '"msg":"stopped"' "$CRM_ERR"
}
