#!/usr/bin/env bats
# The README's examples run as written (issue 11). Every ```sh block of the
# README between the markers <!-- readme-test: NAME --> and
# <!-- /readme-test --> is run here with bash -e, in order, against a
# real crm:
#   - "first-run", then "first-run-api": on an empty database
#     (CRM_DATABASE_URL and CRM_MIGRATE_DATABASE_URL name a scratch one;
#     ./build/crm is this build's crm), crm serving between the two;
#   - "walk": on a scratch database with the demo, from a folder whose
#     var/demo-logins holds the demo passwords (as `make run` leaves it),
#     with $U the test's crm instead of http://127.0.0.1:8080.
# curl is wrapped to log each answer's status: a 5xx anywhere, or a 4xx the
# README does not announce with "# expect 4xx" on the same line, fails.

load helpers

setup_file() {
  crm_env
  export README="$CRM_SOURCE_DIR/README.md"
}

setup() {
  crm_env
  NAME="readme_$$_${BATS_TEST_NUMBER}"
  scratch_db "$NAME"
  OWNER_URL=$SCRATCH_OWNER APP_URL=$SCRATCH_APP
  WORK="$BATS_TEST_TMPDIR/work"
  mkdir -p "$WORK/build"
  ln -s "$CRM_BIN" "$WORK/build/crm"
}

teardown() {
  crm_stop || true
  psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $NAME" || true
}

# readme_blocks NAME: the sh blocks of the README's part NAME, in order.
readme_blocks() {
  awk -v name="$1" '
    $0 ~ "<!-- readme-test: " name " -->" { inside = 1; next }
    inside && /<!-- \/readme-test -->/ { inside = 0 }
    inside && /^```sh$/ { code = 1; next }
    inside && code && /^```$/ { code = 0; print ""; next }
    inside && code { print }' "$README"
}

# run_readme NAME: runs the part with curl logged; prints the log on failure.
run_readme() {
  local script="$BATS_TEST_TMPDIR/$1.sh" log="$BATS_TEST_TMPDIR/$1.status"
  : > "$log"
  {
    echo 'set -e'  # as a shell runs it: a pipe's status is its last command's
    # Each curl call's status and its README line, to stderr's log.
    echo "curl() { command curl -w '%{stderr}%{http_code} %{url_effective}\n' \"\$@\" 2>>'$log.raw'; }"
    # `make build` is this test's own build (./build/crm links to it).
    echo 'make() { :; }'
    # The admin's password of the first run, set in its first block.
    [ "$1" = first-run-api ] && readme_blocks first-run | grep '^ADMIN_PASSWORD='
    readme_blocks "$1" | sed "s|^U=http://127.0.0.1:8080|U=$CRM_URL|"
  } > "$script"
  [ "$(readme_blocks "$1" | grep -c .)" -gt 2 ] || { echo "no README part $1" >&2; return 1; }
  cd "$WORK"
  run bash "$script"
  cd - >/dev/null
  echo "$output" > "$BATS_TEST_TMPDIR/$1.out"
  [ -z "${README_TEST_KEEP:-}" ] || cp "$BATS_TEST_TMPDIR/$1.out" "$README_TEST_KEEP.$1.out"
  [ "$status" -eq 0 ] || { echo "README part $1 failed ($status):" >&2; tail -n 30 "$BATS_TEST_TMPDIR/$1.out" >&2; tail -n 5 "$log.raw" >&2; return 1; }
  # The statuses: no 5xx; a 4xx only where the README says it is expected.
  local expected
  expected=$(readme_blocks "$1" | grep -c '# expect 4' || true)
  local errors
  errors=$(grep -E '^(4|5)[0-9][0-9] ' "$log.raw" || true)
  if grep -qE '^5' <<<"$errors"; then
    echo "5xx in README part $1: $errors" >&2
    return 1
  fi
  [ "$(grep -c . <<<"$errors" || true)" -le "$expected" ] ||
    { echo "unexpected 4xx in README part $1 (expected $expected): $errors" >&2; return 1; }
  [ "$(grep -c . "$log.raw" || true)" -gt 3 ] || [ "$1" = first-run ]
}

@test "README: the first run of a county, on an empty database, runs as written" {
  export CRM_DATABASE_URL="$APP_URL" CRM_MIGRATE_DATABASE_URL="$OWNER_URL"
  run_readme first-run
  [ "$(psql "$OWNER_URL" -At -c "SELECT count(*) FROM unit")" -gt 1 ]
  crm_start --database-url "$APP_URL"
  run_readme first-run-api
}

@test "README: the walk through the demo, every role, runs as written" {
  "$CRM_BIN" migrate up --database-url "$APP_URL" --migrate-database-url "$OWNER_URL" --demo \
    --data-dir "$WORK/var" >/dev/null
  [ -s "$WORK/var/demo-logins" ]
  [ "$(stat -c %a "$WORK/var/demo-logins")" = 600 ]
  crm_start --database-url "$APP_URL"
  run_readme walk
  # What the README says /readyz answers is what it answers.
  said=$(grep -o '"schema_version":[0-9]*' "$README" | head -n 1)
  [ "$said" = "\"schema_version\":$(latest_migration)" ] || { echo "README says $said" >&2; return 1; }
  grep -qF "$said" "$BATS_TEST_TMPDIR/walk.out"
  # The demo's rankings, this year's and 2024's: the seven towns and townships, the zone (and
  # the park the walk made), never the investment centre (a department).
  tok=$(login demo.viewer "$(awk '$2 == "demo.viewer" {print $3}' "$WORK/var/demo-logins")")
  for y in 2024 "$(TZ=Asia/Shanghai date +%Y)"; do
    api GET "/api/v1/stats/ranking?year=$y" "$tok"
    [ "$(jq -c '[.units[].unit.kind] | [length >= 8, (map(select(. == "department")) | length)]' <<<"$body")" = "[true,0]" ]
  done
}
