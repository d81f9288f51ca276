#!/usr/bin/env bash
# contract.openapi: api/openapi.yaml is a valid OpenAPI document (redocly lint,
# recommended rules, no errors) and lists exactly the routes the server serves:
# every "METHOD /path" printed by `crm routes` is an operation of the file, and
# every operation of the file is served.
#
# Environment: CRM_BIN (the crm binary), CRM_SOURCE_DIR (the repository root);
# optional OPENAPI_FILE (default $CRM_SOURCE_DIR/api/openapi.yaml) and REDOCLY
# (default $CRM_SOURCE_DIR/.tools/node_modules/.bin/redocly, which
# `scripts/deps.sh test` installs).
set -euo pipefail

: "${CRM_BIN:?CRM_BIN must name the crm binary}"
: "${CRM_SOURCE_DIR:?CRM_SOURCE_DIR must name the repository root}"
OPENAPI_FILE=${OPENAPI_FILE:-$CRM_SOURCE_DIR/api/openapi.yaml}
REDOCLY=${REDOCLY:-$CRM_SOURCE_DIR/.tools/node_modules/.bin/redocly}
# No usage reports or update checks from the linter: the tests run offline.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
finish() {
  echo "$passed passed, $failed failed"
  if [ "$failed" -eq 0 ]; then exit 0; fi
  exit 1
}

# Prerequisites: without them nothing below means anything.
if [ ! -f "$OPENAPI_FILE" ]; then
  fail "the contract exists: $OPENAPI_FILE"
  finish
fi
if [ ! -x "$REDOCLY" ]; then
  fail "the linter is installed: $REDOCLY (run scripts/deps.sh test)"
  finish
fi
if ! command -v jq >/dev/null; then
  fail "jq is installed (run scripts/deps.sh test)"
  finish
fi

# 1. Lint with the default (recommended) rules: errors fail, warnings are shown.
if "$REDOCLY" lint --format=stylish "$OPENAPI_FILE" >"$tmp/lint.out" 2>&1; then
  pass "redocly lint $OPENAPI_FILE"
else
  fail "redocly lint $OPENAPI_FILE"
fi
sed '/^[[:space:]]*$/d; s/^/# /' "$tmp/lint.out"

# 2. The routes the server serves.
if "$CRM_BIN" routes >"$tmp/routes.out" 2>"$tmp/routes.err" && [ -s "$tmp/routes.out" ]; then
  LC_ALL=C sort -u "$tmp/routes.out" >"$tmp/served"
  pass "crm routes lists $(wc -l <"$tmp/served") routes"
else
  fail "crm routes lists the served routes"
  sed 's/^/# /' "$tmp/routes.err"
  finish
fi

# 3. The operations of the file: bundled to JSON (resolving any $ref), then
#    every method key under paths.
if "$REDOCLY" bundle "$OPENAPI_FILE" --ext json --output "$tmp/openapi.json" >"$tmp/bundle.out" 2>&1 &&
  jq -r '.paths // {} | to_entries[] | .key as $path | .value | keys[]
           | select(IN("get","put","post","delete","patch","head","options","trace"))
           | "\(ascii_upcase) \($path)"' "$tmp/openapi.json" >"$tmp/documented.out"; then
  LC_ALL=C sort -u "$tmp/documented.out" >"$tmp/documented"
  pass "the contract lists $(wc -l <"$tmp/documented") operations"
else
  fail "the contract's operations can be read"
  sed 's/^/# /' "$tmp/bundle.out"
  finish
fi

# 4. Both directions.
LC_ALL=C comm -23 "$tmp/served" "$tmp/documented" >"$tmp/undocumented"
LC_ALL=C comm -13 "$tmp/served" "$tmp/documented" >"$tmp/unserved"
if [ -s "$tmp/undocumented" ]; then
  fail "every served route is in the contract; missing from $OPENAPI_FILE:"
  sed 's/^/#   /' "$tmp/undocumented"
else
  pass "every served route is in the contract"
fi
if [ -s "$tmp/unserved" ]; then
  fail "every route in the contract is served; not served by $CRM_BIN:"
  sed 's/^/#   /' "$tmp/unserved"
else
  pass "every route in the contract is served"
fi

finish
