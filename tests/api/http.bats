#!/usr/bin/env bats
# HTTP conventions of every route: headers, request ids, problem+json errors
# (404, 405, 413, 415, 431), CORS, HEAD/OPTIONS, the access log, metrics, and
# the one database-backed route, the unit tree.

load helpers
load sync

setup_file() {
  crm_env
  make_user http.viewer viewer sx.yc.js 'Http-viewer-2024'
  crm_start --cors-origins "https://crm.example.cn, http://localhost:5173"
  TOKEN=$(login http.viewer 'Http-viewer-2024')
  export CRM_URL CRM_PID CRM_OUT CRM_ERR TOKEN
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# call METHOD PATH [curl args]: sets status, headers, body.
call() {
  local method=$1 path=$2
  shift 2
  local h="$BATS_TEST_TMPDIR/h" b="$BATS_TEST_TMPDIR/b"
  rm -f "$b" # curl writes no file for an empty body (204, 304)
  status=$(curl -s -X "$method" -D "$h" -o "$b" -w '%{http_code}' --max-time 10 "$@" "$CRM_URL$path")
  headers=$(tr -d '\r' < "$h")
  body=$(cat "$b" 2>/dev/null || true)
}

# assert_common_headers [VARY]: VARY is Origin unless the route varies with more.
assert_common_headers() {
  [ -n "$(header X-Request-Id)" ]
  [ "$(header X-Content-Type-Options)" = nosniff ]
  [ "$(header Cache-Control)" = no-store ]
  [ "$(header Content-Security-Policy)" = "default-src 'none'; frame-ancestors 'none'" ]
  [ "$(header Vary)" = "${1:-Origin}" ]
}

assert_problem() {
  local want=$1
  [ "$status" = "$want" ]
  [ "$(header Content-Type)" = application/problem+json ]
  [ "$(jq -r .status <<<"$body")" = "$want" ]
  [ "$(jq -r .type <<<"$body")" = about:blank ]
  [ -n "$(jq -r .title <<<"$body")" ]
  [ -n "$(jq -r .detail <<<"$body")" ]
  [ "$(jq -r .request_id <<<"$body")" = "$(header X-Request-Id)" ]
  assert_common_headers
}

@test "healthz answers 200 JSON with the security headers" {
  call GET /healthz
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = "application/json; charset=utf-8" ]
  [ "$(jq -r .status <<<"$body")" = ok ]
  assert_common_headers
}

@test "a sane X-Request-Id is echoed, a bad one replaced" {
  call GET /healthz -H "X-Request-Id: phone-app.42:abc_DEF-9"
  [ "$(header X-Request-Id)" = "phone-app.42:abc_DEF-9" ]
  call GET /healthz -H "X-Request-Id: bad id with spaces"
  [ "$(header X-Request-Id)" != "bad id with spaces" ]
  [[ "$(header X-Request-Id)" =~ ^[0-9a-f]{20}$ ]]
  call GET /healthz -H "X-Request-Id: $(printf 'a%.0s' {1..65})"
  [[ "$(header X-Request-Id)" =~ ^[0-9a-f]{20}$ ]]
}

@test "an unknown path is a 404 problem" {
  call GET /api/v1/nothing-here
  assert_problem 404
  call GET /api/v1/units/
  assert_problem 404
}

@test "a wrong method is a 405 problem with Allow" {
  call DELETE /api/v1/me
  assert_problem 405
  [ "$(header Allow)" = "GET, HEAD" ]
  call POST /healthz -H 'Content-Type: application/json' --data '{}'
  assert_problem 405
}

@test "an unsupported method is a problem, not a crash" {
  call TRACE /healthz
  [ "$status" = 405 ] || [ "$status" = 501 ]
  [ "$(header Content-Type)" = application/problem+json ]
}

@test "a body over 1 MiB is a 413 problem" {
  head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' > "$BATS_TEST_TMPDIR/big"
  call POST /api/v1/me -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/big"
  assert_problem 413
}

@test "a body of exactly 1 MiB is not refused for its size" {
  head -c $((1024 * 1024)) /dev/zero | tr '\0' ' ' > "$BATS_TEST_TMPDIR/edge"
  call POST /api/v1/me -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/edge"
  assert_problem 405
}

@test "a huge body is refused by size without being read into memory" {
  head -c $((8 * 1024 * 1024)) /dev/zero > "$BATS_TEST_TMPDIR/huge"
  call POST /api/v1/me -H 'Content-Type: application/json' --data-binary "@$BATS_TEST_TMPDIR/huge"
  [ "$status" = 413 ]
  # The server is still fine.
  call GET /healthz
  [ "$status" = 200 ]
}

@test "a body that is not JSON is a 415 problem" {
  call POST /api/v1/auth/login -H 'Content-Type: text/plain' --data 'hello'
  assert_problem 415
  call POST /api/v1/auth/login --data 'username=a&password=b'
  assert_problem 415
  call POST /api/v1/auth/login -H 'Content-Type: application/merge-patch+json' --data '{}'
  [ "$status" = 422 ]
  # A route that takes CSV wants CSV (and a caller first).
  call POST /api/v1/imports/projects -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data '{}'
  [ "$status" = 403 ] || [ "$status" = 415 ]
}

@test "header fields over 8 KiB are a 431 problem" {
  call GET /healthz -H "X-Filler: $(head -c 9000 /dev/zero | tr '\0' 'x')"
  assert_problem 431
  call GET /healthz -H "X-Filler: $(head -c 7000 /dev/zero | tr '\0' 'x')"
  [ "$status" = 200 ]
}

@test "HEAD answers like GET without a body" {
  run curl -s --head --max-time 5 "$CRM_URL/healthz"
  [ "$status" -eq 0 ]
  [[ "$output" == "HTTP/1.1 200 OK"* ]]
  [[ "$output" != *'"status"'* ]]
}

@test "OPTIONS answers 204 with Allow" {
  call OPTIONS /api/v1/me
  [ "$status" = 204 ]
  [ "$(header Allow)" = "GET, HEAD, OPTIONS" ]
  [ -z "$(header Access-Control-Allow-Origin)" ]
}

@test "CORS: an allowed origin is answered, others get nothing" {
  call GET /healthz -H "Origin: https://crm.example.cn"
  [ "$(header Access-Control-Allow-Origin)" = "https://crm.example.cn" ]
  [ "$(header Vary)" = Origin ]
  call GET /healthz -H "Origin: https://evil.example.com"
  [ -z "$(header Access-Control-Allow-Origin)" ]
  [ "$(header Vary)" = Origin ]
  call GET /healthz -H "Origin: https://crm.example.cn.evil.com"
  [ -z "$(header Access-Control-Allow-Origin)" ]
}

@test "CORS preflight from an allowed origin" {
  call OPTIONS /api/v1/units -H "Origin: http://localhost:5173" \
    -H "Access-Control-Request-Method: GET" -H "Access-Control-Request-Headers: authorization"
  [ "$status" = 204 ]
  [ "$(header Access-Control-Allow-Origin)" = "http://localhost:5173" ]
  [[ "$(header Access-Control-Allow-Methods)" == *GET* ]]
  [[ "$(header Access-Control-Allow-Headers)" == *Authorization* ]]
  call OPTIONS /api/v1/units -H "Origin: https://evil.example.com" -H "Access-Control-Request-Method: GET"
  [ -z "$(header Access-Control-Allow-Origin)" ]
  [ -z "$(header Access-Control-Allow-Methods)" ]
}

@test "GET /api/v1/units returns the demo unit tree from PostgreSQL" {
  call GET /api/v1/units -H "Authorization: Bearer $TOKEN"
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = "application/json; charset=utf-8" ]
  assert_common_headers
  county=$(jq -r '.items[] | select(.code == "sx.yc.js") | .id' <<<"$body")
  [ -n "$county" ]
  [ "$(jq -r '.items[] | select(.code == "sx.yc.js") | .name' <<<"$body")" = "稷山县" ]
  # Its seven towns and townships, the zone and the bureau, all one level down.
  [ "$(jq --argjson c "$county" '[.items[] | select(.parent_id == $c)] | length' <<<"$body")" = 9 ]
  [ "$(jq -r '.items[] | select(.kind == "zone") | .name' <<<"$body")" = "稷山经济技术开发区" ]
  [ "$(jq --argjson c "$county" '[.items[] | select(.parent_id == $c) | .depth] | unique' -c <<<"$body")" = "[3]" ]
  # Tree order: each unit comes after its parent.
  jq -e '[.items[].id] as $ids | all(.items[] | select(.parent_id != null); . as $u | ($ids | index($u.parent_id)) < ($ids | index($u.id)))' <<<"$body"
}

@test "every answer is in the JSON access log with its request id" {
  call GET /healthz -H "X-Request-Id: access-log-check-1"
  # The line follows the answer by a moment: poll for it.
  wait_until 5 grep -q '"request_id":"access-log-check-1"' "$CRM_ERR"
  line=$(grep '"request_id":"access-log-check-1"' "$CRM_ERR" | tail -n 1)
  [ -n "$line" ]
  [ "$(jq -r .msg <<<"$line")" = request ]
  [ "$(jq -r .status <<<"$line")" = 200 ]
  [ "$(jq -r .route <<<"$line")" = /healthz ]
  # Every line of the log is JSON.
  jq -e . "$CRM_ERR" > /dev/null
}

@test "metrics count requests by route and status, with latency and pool gauges" {
  call GET /api/v1/units -H "Authorization: Bearer $TOKEN"
  call GET /api/v1/nothing
  call GET /metrics
  [ "$status" = 200 ]
  [[ "$(header Content-Type)" == text/plain* ]]
  grep -q '^crm_http_requests_total{method="GET",route="/api/v1/units",status="200"} [1-9]' <<<"$body"
  grep -q '^crm_http_requests_total{method="",route="unmatched",status="404"} [1-9]' <<<"$body"
  grep -q '^crm_http_request_duration_seconds_bucket{method="GET",route="/api/v1/units",le="+Inf"} [1-9]' <<<"$body"
  grep -q '^crm_db_pool_connections 4$' <<<"$body"
  grep -q '^crm_db_pool_connections_busy [0-9]' <<<"$body"
  grep -q '^crm_db_pool_waiting_requests [0-9]' <<<"$body"
  grep -q '^crm_db_errors_total [0-9]' <<<"$body"
}

# job_metrics_shown: whether /metrics shows the record of each scheduled job.
job_metrics_shown() {
  local m job
  m=$(curl -s --max-time 2 "$CRM_URL/metrics")
  for job in alerts expiry scores stalled; do
    grep -q "^crm_job_runs_total{job=\"$job\"} [0-9]" <<<"$m" || return 1
    grep -q "^crm_job_failures_total{job=\"$job\"} [0-9]" <<<"$m" || return 1
  done
  grep -q '^crm_job_last_success{job="stalled"} [01]$' <<<"$m" &&
    grep -q '^crm_job_last_run_timestamp_seconds{job="stalled"} [1-9]' <<<"$m"
}

@test "metrics show each scheduled job's record, read from the database" {
  # The first look at the jobs is 5 s after start; the stalled sweep has run
  # by then, here or in an earlier crm on the same database.
  wait_until 15 job_metrics_shown
  call GET /metrics
  grep -q '^# TYPE crm_job_runs_total counter$' <<<"$body"
  grep -q '^# TYPE crm_job_last_success gauge$' <<<"$body"
}

@test "a client that sends garbage does not hurt the server" {
  host=${CRM_URL#http://}
  # Not HTTP: evhttp answers 400 itself and closes the connection.
  exec {c}<>"/dev/tcp/${host%:*}/${host#*:}"
  printf 'NOT HTTP AT ALL\r\n\r\n' >&"$c"
  answer=$(timeout 5 cat <&"$c" || true)
  exec {c}>&-
  [[ "$answer" == "HTTP/1.1 400 "* ]]
  # A body announced and never sent: the client hangs up midway.
  exec {c}<>"/dev/tcp/${host%:*}/${host#*:}"
  printf 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{' >&"$c"
  exec {c}>&-
  call GET /healthz
  [ "$status" = 200 ]
  kill -0 "$CRM_PID"
}

@test "GET / names the service and its version and links to the contract, login and health" {
  call GET /
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = "application/json; charset=utf-8" ]
  assert_common_headers "Accept, Origin" # a browser gets the console (console.bats)
  [ "$(jq -r .service <<<"$body")" = crm ]
  [ "crm $(jq -r .version <<<"$body")" = "$("$CRM_BIN" version)" ]
  [ "$(jq -r .api <<<"$body")" = /api/v1 ]
  [ "$(jq -r .links.openapi.href <<<"$body")" = /api/v1/openapi.yaml ]
  [ "$(jq -r .links.login.href <<<"$body")" = /api/v1/auth/login ]
  [ "$(jq -r .links.healthz.href <<<"$body")" = /healthz ]
  [ "$(jq -r .links.readyz.href <<<"$body")" = /readyz ]
  [ "$(jq -r .links.metrics.href <<<"$body")" = /metrics ]
  # Every link leads somewhere served (login only to POST: 405 for GET, not 404).
  for href in $(jq -r '.links[].href' <<<"$body"); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$CRM_URL$href")
    [ "$code" = 200 ] || { [ "$href" = /api/v1/auth/login ] && [ "$code" = 405 ]; }
  done
  # Public, from a browser of an allowed origin too.
  call GET / -H "Origin: http://localhost:5173"
  [ "$status" = 200 ]
  [ "$(header Access-Control-Allow-Origin)" = "http://localhost:5173" ]
}

@test "GET /api/v1/openapi.yaml serves the contract byte for byte, without a token" {
  local served="$BATS_TEST_TMPDIR/served.yaml"
  status=$(curl -s -D "$BATS_TEST_TMPDIR/h" -o "$served" -w '%{http_code}' --max-time 10 \
    "$CRM_URL/api/v1/openapi.yaml")
  headers=$(tr -d '\r' <"$BATS_TEST_TMPDIR/h")
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = application/yaml ]
  assert_common_headers
  cmp "$served" "$CRM_SOURCE_DIR/api/openapi.yaml"
  etag=$(header ETag)
  [[ "$etag" =~ ^\"[0-9a-f]{32}\"$ ]]
  # The tag is the file's: a client that has it gets 304 and no body.
  call GET /api/v1/openapi.yaml -H "If-None-Match: $etag"
  [ "$status" = 304 ]
  [ -z "$body" ]
  [ "$(header ETag)" = "$etag" ]
  call GET /api/v1/openapi.yaml -H "If-None-Match: \"0123\", W/$etag"
  [ "$status" = 304 ]
  call GET /api/v1/openapi.yaml -H 'If-None-Match: *'
  [ "$status" = 304 ]
  call GET /api/v1/openapi.yaml -H 'If-None-Match: "0123456789abcdef0123456789abcdef"'
  [ "$status" = 200 ]
  [ "$(header ETag)" = "$etag" ]
  # HEAD: the same status and type, no body.
  run curl -s --head --max-time 5 "$CRM_URL/api/v1/openapi.yaml"
  [ "$status" -eq 0 ]
  [[ "$output" == "HTTP/1.1 200 OK"* ]]
  [[ "$output" != *"openapi: 3.1.0"* ]]
  # The contract lists itself and the index.
  grep -q '^  /api/v1/openapi.yaml:$' "$served"
  grep -q '^  /:$' "$served"
  # Only GET and HEAD.
  call PUT /api/v1/openapi.yaml -H 'Content-Type: application/json' --data '{}'
  assert_problem 405
}

@test "make run lets a local front-end dev server call crm, unless CRM_CORS_ORIGINS says otherwise" {
  run env -u CRM_CORS_ORIGINS make -s -n -C "$CRM_SOURCE_DIR" run BUILD=build-x
  [ "$status" -eq 0 ]
  [[ "$output" == *"CRM_CORS_ORIGINS='http://localhost:5173,http://127.0.0.1:5173' ./build-x/crm serve --demo"* ]]
  run env CRM_CORS_ORIGINS=https://crm.example.cn make -s -n -C "$CRM_SOURCE_DIR" run BUILD=build-x
  [[ "$output" == *"CRM_CORS_ORIGINS='https://crm.example.cn' ./build-x/crm serve --demo"* ]]
  run env CRM_CORS_ORIGINS= make -s -n -C "$CRM_SOURCE_DIR" run BUILD=build-x
  [[ "$output" == *"CRM_CORS_ORIGINS='' ./build-x/crm serve --demo"* ]]
}
