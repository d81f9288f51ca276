#!/usr/bin/env bats
# The web console as crm serves it (issue 14): `GET /` gives a browser the
# page and everyone else the JSON index; `GET /assets/{name}` gives the files
# of web/, byte for byte, typed by extension, with an ETag, revalidated every
# time, under a Content-Security-Policy that allows nothing from elsewhere;
# and no name reaches anything but those files.

load helpers

CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
BROWSER_ACCEPT='text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'

setup_file() {
  crm_env
  crm_start
  export CRM_URL CRM_PID CRM_OUT CRM_ERR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
  WEB="$CRM_SOURCE_DIR/web"
}

# call METHOD PATH [curl args]: sets status, headers and body (body kept in
# $BATS_TEST_TMPDIR/b for byte comparisons).
call() {
  local method=$1 path=$2
  shift 2
  local h="$BATS_TEST_TMPDIR/h"
  BODY_FILE="$BATS_TEST_TMPDIR/b"
  rm -f "$BODY_FILE" # curl writes no file for an empty body (304)
  status=$(curl -s -X "$method" -D "$h" -o "$BODY_FILE" -w '%{http_code}' --max-time 10 "$@" "$CRM_URL$path")
  headers=$(tr -d '\r' <"$h")
  body=$(cat "$BODY_FILE" 2>/dev/null || true)
}

# The media type crm must give a file of web/, by its extension.
content_type_of() {
  case "$1" in
  *.html) echo "text/html; charset=utf-8" ;;
  *.js) echo "text/javascript; charset=utf-8" ;;
  *.css) echo "text/css; charset=utf-8" ;;
  *.txt) echo "text/plain; charset=utf-8" ;;
  *.svg) echo image/svg+xml ;;
  *.png) echo image/png ;;
  *.json) echo application/json ;;
  *) echo application/octet-stream ;;
  esac
}

assert_console_headers() {
  [ "$(header Content-Security-Policy)" = "$CSP" ]
  [ "$(header Cache-Control)" = no-cache ]
  [ "$(header X-Content-Type-Options)" = nosniff ]
  [ "$(header Referrer-Policy)" = no-referrer ]
  [[ "$(header ETag)" =~ ^\"[0-9a-f]{32}\"$ ]]
  # One of each: a second, stricter policy would apply as well.
  [ "$(grep -ci '^Content-Security-Policy:' <<<"$headers")" = 1 ]
  [ "$(grep -ci '^Cache-Control:' <<<"$headers")" = 1 ]
}

assert_not_found() {
  [ "$status" = 404 ] || { echo "$1: $status" >&2; return 1; }
  [ "$(header Content-Type)" = application/problem+json ]
  [ "$(jq -r .status <<<"$body")" = 404 ]
}

# The /assets/ files a page or module refers to: src= and href= under
# /assets/, and the relative imports of a module ('./x.js').
references() {
  grep -oE '(src|href)="/assets/[^"]+"' "$1" | sed -E 's/^[a-z]+="\/assets\/(.*)"$/\1/' || true
  grep -oE "(from|import)[[:space:]]*\\(?[[:space:]]*['\"]\\./[^'\"]+['\"]" "$1" |
    sed -E "s/.*['\"]\\.\\/([^'\"]+)['\"]$/\\1/" || true
}

@test "a browser opening / gets the console's page, under the console's policy" {
  call GET / -H "Accept: $BROWSER_ACCEPT"
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = "text/html; charset=utf-8" ]
  assert_console_headers
  [ "$(header Vary)" = "Accept, Origin" ]
  cmp "$BODY_FILE" "$WEB/index.html"
  # The same file, the same tag, under its own name.
  etag=$(header ETag)
  call GET /assets/index.html
  [ "$status" = 200 ]
  [ "$(header ETag)" = "$etag" ]
}

@test "a program asking / still gets the JSON index, as before" {
  # curl's own Accept (*/*), none at all, and JSON asked for by name.
  for accept in '' 'Accept:' 'Accept: application/json' 'Accept: application/json, text/plain, */*' \
    'Accept: text/html;q=0.5, application/json'; do
    if [ -n "$accept" ]; then call GET / -H "$accept"; else call GET /; fi
    [ "$status" = 200 ] || { echo "$accept: $status" >&2; return 1; }
    [ "$(header Content-Type)" = "application/json; charset=utf-8" ]
    [ "$(jq -r .service <<<"$body")" = crm ]
    [ "$(jq -r .links.openapi.href <<<"$body")" = /api/v1/openapi.yaml ]
    [ "$(header Vary)" = "Accept, Origin" ]
    [ "$(header Cache-Control)" = no-store ]
    [ "$(header Content-Security-Policy)" = "default-src 'none'; frame-ancestors 'none'" ]
    [ -z "$(header ETag)" ]
  done
}

@test "every file the page refers to, and the modules they import, is served with its type" {
  local seen=" " queue=() name
  mapfile -t queue < <(references "$WEB/index.html")
  while [ ${#queue[@]} -gt 0 ]; do
    name=${queue[0]}
    queue=("${queue[@]:1}")
    [[ "$seen" == *" $name "* ]] && continue
    seen+="$name "
    call GET "/assets/$name"
    [ "$status" = 200 ] || { echo "/assets/$name: $status" >&2; return 1; }
    [ "$(header Content-Type)" = "$(content_type_of "$name")" ]
    assert_console_headers
    cmp "$BODY_FILE" "$WEB/$name"
    [[ "$name" == *.js ]] && mapfile -t -O ${#queue[@]} queue < <(references "$WEB/$name")
  done
  echo "# served:$seen" >&3
}

@test "every file of web/ is served byte for byte, hidden files and folders are not" {
  local f name
  for f in "$WEB"/*; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    call GET "/assets/$name"
    [ "$status" = 200 ] || { echo "/assets/$name: $status" >&2; return 1; }
    [ "$(header Content-Type)" = "$(content_type_of "$name")" ]
    cmp "$BODY_FILE" "$f"
    # HEAD: the same status and headers, no body.
    local got
    got=$(curl -s --head -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code} %{size_download}' \
      --max-time 10 "$CRM_URL/assets/$name")
    [ "$got" = "200 0" ] || { echo "HEAD /assets/$name: $got" >&2; return 1; }
    headers=$(tr -d '\r' <"$BATS_TEST_TMPDIR/h")
    [ "$(header Content-Type)" = "$(content_type_of "$name")" ]
    assert_console_headers
  done
  call GET /assets/.gitkeep
  assert_not_found .gitkeep
}

@test "If-None-Match with the file's tag is 304 without a body, a stale tag gets the file" {
  call GET /assets/index.html
  etag=$(header ETag)
  for path in /assets/index.html /; do
    call GET "$path" -H "Accept: $BROWSER_ACCEPT" -H "If-None-Match: $etag"
    [ "$status" = 304 ] || { echo "$path: $status" >&2; return 1; }
    [ "$(header ETag)" = "$etag" ]
    [ "$(header Cache-Control)" = no-cache ]
    [ ! -s "$BODY_FILE" ]
    call GET "$path" -H "Accept: $BROWSER_ACCEPT" -H "If-None-Match: \"0123\", W/$etag"
    [ "$status" = 304 ]
    call GET "$path" -H "Accept: $BROWSER_ACCEPT" -H 'If-None-Match: "00000000000000000000000000000000"'
    [ "$status" = 200 ]
    cmp "$BODY_FILE" "$WEB/index.html"
  done
  # A tag is a file's own: another file's is not a match.
  local other
  other=$(cd "$WEB" && ls | grep -v '^index\.html$' | head -n 1)
  if [ -n "$other" ]; then
    call GET "/assets/$other" -H "If-None-Match: $etag"
    [ "$status" = 200 ]
  fi
}

@test "an unknown file is 404 problem+json" {
  for name in no-such-file.js app.js.map INDEX.HTML index.htm; do
    call GET "/assets/$name"
    assert_not_found "$name"
    [ "$(jq -r .request_id <<<"$body")" = "$(header X-Request-Id)" ]
  done
}

@test "no name under /assets/ reaches anything but the console's files" {
  for path in /assets/../CMakeLists.txt /assets/../api/openapi.yaml /assets/..%2fCMakeLists.txt \
    /assets/%2e%2e%2fCMakeLists.txt /assets/%2e%2e/CMakeLists.txt /assets/..%5cCMakeLists.txt \
    /assets/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd /assets/..%252fCMakeLists.txt /assets//etc/passwd \
    /assets/%2fetc%2fpasswd /assets/.. /assets/. /assets/ /assets /assets/index.html/ \
    /assets/index.html/.. /assets/index.html%00.js /assets/%00 "/assets/index.html;.js" \
    /assets/../../../../etc/passwd; do
    call GET "$path" --path-as-is
    [ "$status" = 404 ] || [ "$status" = 400 ] || { echo "$path: $status" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ] || { echo "$path" >&2; return 1; }
    [[ "$body" != *cmake_minimum_required* && "$body" != *openapi:* && "$body" != *root:* ]]
  done
  # crm is still there.
  call GET /assets/index.html
  [ "$status" = 200 ]
}
