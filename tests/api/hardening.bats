#!/usr/bin/env bats
# Issue 12, finding 10: the small ones an outside probe found at the HTTP
# edge. A weak ETag never satisfies If-Match; a NUL byte in a request line
# or header field (an Authorization header's among them) is refused; methods evhttp
# does not know get our problem+json, not its HTML; a bad JSON body is
# described in our words; JSON must be UTF-8. (That the access log never
# reads a request evhttp has freed is tests/unit/test_exchange.c.)

load helpers

setup_file() {
  crm_env
  make_user hard.admin admin sx.yc.js 'Hard-admin-2024'
  make_user hard.target viewer sx.yc.js 'Hard-target-2024'
  crm_start
  ADMIN=$(login hard.admin 'Hard-admin-2024')
  export CRM_URL CRM_PID CRM_OUT CRM_ERR ADMIN
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# raw REQUEST: sends REQUEST (printf-style escapes, \0 too) on a fresh
# connection and prints all crm answers until it closes the connection (or
# stays silent for 5 s).
raw() {
  python3 - "$CRM_URL" "$1" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
req = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s = socket.create_connection((u.hostname, u.port), timeout=5)
s.sendall(req)
out = b""
while True:
    try:
        chunk = s.recv(65536)
    except (socket.timeout, ConnectionResetError):
        break
    if not chunk:
        break
    out += chunk
sys.stdout.write(out.decode("utf-8", "replace"))
PY
}

# The status code of a raw answer.
raw_status() {
  sed -n '1s/^HTTP\/1\.[01] \([0-9]*\).*/\1/p' <<<"$1" | tr -d '\r'
}

@test "If-Match compares strongly: a weak ETag never matches (412), the strong one does" {
  id=$(user_id hard.target)
  api GET "/api/v1/users/$id" "$ADMIN"
  [ "$status" = 200 ]
  etag=$(header ETag)
  [[ $etag =~ ^\"[0-9]+\"$ ]]
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"display_name":"弱标签"}' -H "If-Match: W/$etag"
  [ "$status" = 412 ]
  [ "$(header Content-Type)" = application/problem+json ]
  api GET "/api/v1/users/$id" "$ADMIN"
  [ "$(header ETag)" = "$etag" ]
  [ "$(jq -r .display_name <<<"$body")" != 弱标签 ]
  api_json PATCH "/api/v1/users/$id" "$ADMIN" '{"display_name":"强标签"}' -H "If-Match: $etag"
  [ "$status" = 200 ]
  [ "$(jq -r .display_name <<<"$body")" = 强标签 ]
}

@test "a NUL byte in a header is refused, the Authorization header's too, and nothing else is read" {
  token=$(login hard.target 'Hard-target-2024')
  # The raw client works: the clean request is 200.
  out=$(raw "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\r\nConnection: close\r\n\r\n")
  [ "$(raw_status "$out")" = 200 ]
  out=$(raw "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $token\0junk\r\nConnection: close\r\n\r\n")
  [ "$(raw_status "$out")" = 400 ]
  [[ "$out" == *"application/problem+json"* ]]
  [[ "$out" == *"NUL"* ]]
  # Elsewhere in the header fields too, on a public route.
  out=$(raw "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\nConnection: close\r\n\r\n")
  [ "$(raw_status "$out")" = 400 ]
  # And the connection is closed after it: a request pipelined behind is not answered.
  out=$(raw "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
  [ "$(grep -o 'HTTP/1.1 [0-9]*' <<<"$out" | wc -l)" = 1 ]
  # A clean request, then one with a NUL pipelined behind it: each is judged by its own header.
  out=$(raw "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\0b\r\n\r\n")
  [ "$(grep -o 'HTTP/1.1 [0-9]*' <<<"$out" | cut -d' ' -f2 | tr '\n' ' ')" = "200 400 " ]
}

@test "a Bearer token with junk around it, the wrong length or the wrong alphabet is 401" {
  token=$(login hard.target 'Hard-target-2024')
  api GET /api/v1/me "$token"
  [ "$status" = 200 ]
  for bad in "${token}junk" "$token junk" "${token:0:42}" "${token}A" "${token:0:42}+" \
    "${token:0:41}/A" "$token,$token" "${token:0:42}=" ; do
    api GET /api/v1/me "" -H "Authorization: Bearer $bad"
    [ "$status" = 401 ] || { echo "accepted: Bearer $bad ($status)" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ]
  done
}

@test "methods evhttp does not know are answered 501 problem+json with the security headers" {
  for m in FOO PROPFIND get TRACE; do
    local h="$BATS_TEST_TMPDIR/h" b="$BATS_TEST_TMPDIR/b"
    code=$(curl -s -X "$m" -D "$h" -o "$b" -w '%{http_code}' --max-time 5 "$CRM_URL/healthz")
    headers=$(tr -d '\r' <"$h")
    body=$(cat "$b")
    [ "$code" = 501 ] || { echo "$m: $code" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ]
    [ "$(jq -r .status <<<"$body")" = 501 ]
    [ "$(jq -r .request_id <<<"$body")" = "$(header X-Request-Id)" ]
    [ "$(header X-Content-Type-Options)" = nosniff ]
    [ "$(header Content-Security-Policy)" = "default-src 'none'; frame-ancestors 'none'" ]
  done
  # CONNECT (curl would wait for a tunnel): the same answer, and the connection closed.
  out=$(raw "CONNECT crm.example.cn:443 HTTP/1.1\r\nHost: crm.example.cn:443\r\n\r\n")
  [ "$(raw_status "$out")" = 501 ]
  [[ "$out" == *"Content-Type: application/problem+json"* ]]
  [[ "$out" == *"Connection: close"* ]]
}

@test "a request line evhttp cannot parse is its own 400, and crm is unharmed" {
  out=$(raw "GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n")
  [ "$(raw_status "$out")" = 400 ]
  out=$(raw "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n")
  [ "$(raw_status "$out")" = 400 ]
  api GET /healthz ""
  [ "$status" = 200 ]
}

@test "a body that is not JSON is described in our words, naming the position at most" {
  for text in '{"username": ' '[' '{"a":1,}' 'nul' '{"a":"x' "$(printf '{"a":"\xff"}')" \
    '{"a":1,"a":2}' '{"a":"\u0000"}'; do
    api_json POST /api/v1/auth/login "" "$text"
    [ "$status" = 400 ] || { echo "$text: $status $body" >&2; return 1; }
    detail=$(jq -r .detail <<<"$body")
    [[ "$detail" =~ ^The\ body\ (is|has)\ [a-zA-Z0-9\ ,\(\)\\-]+\.$ ]] ||
      { echo "$text: $detail" >&2; return 1; }
    [[ "$detail" != *near* && "$detail" != *expected* && "$detail" != *"'"* ]] ||
      { echo "$text: $detail" >&2; return 1; }
  done
  api_json POST /api/v1/auth/login "" '[1]'
  [ "$status" = 400 ]
  [ "$(jq -r .detail <<<"$body")" = "The body must be a JSON object." ]
}

@test "a JSON body is UTF-8: another charset is 415, utf-8 or none is read" {
  for ct in 'application/json; charset=latin1' 'application/json;charset=ISO-8859-1' \
    'application/json; charset=utf-16' 'application/json; charset="gbk"'; do
    api POST /api/v1/auth/login "" -H "Content-Type: $ct" --data-binary '{"username":"x","password":"y"}'
    [ "$status" = 415 ] || { echo "$ct: $status" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ]
  done
  for ct in 'application/json' 'application/json; charset=utf-8' 'application/json;charset=UTF-8' \
    'application/json; charset="utf-8"'; do
    api POST /api/v1/auth/login "" -H "Content-Type: $ct" --data-binary '{"username":"hard.nobody","password":"y"}'
    [ "$status" = 401 ] || { echo "$ct: $status" >&2; return 1; }
  done
}
