#!/usr/bin/env bash
# The web console in a real browser (issue 14), under CTest as browser.console.
#
# On the run's PostgreSQL (fixture db) it makes a scratch database with the demo
# data (so that the shared one keeps its figures: the scenarios verify claims and
# create users), whose demo passwords go to this test's own var/demo-logins (never
# the developer's var/), starts a crm on a free port as tests/api/helpers.bash does,
# waits for /readyz, then runs tests/browser/console.mjs: playwright-core driving
# Debian's chromium headless through each scenario at 1280x800 and 390x844.
# crm is stopped and the scratch database dropped whatever happens.
#
# Environment (CTest sets it): CRM_BIN, CRM_TEST_DB, CRM_SOURCE_DIR, CRM_SQL_DIR;
# CRM_BROWSER_ARTIFACTS, where screenshots and timings.json go. Optional:
# BROWSER_SCENARIOS (names, comma-separated: scorecard,log,verify,users,board, or
# "smoke" for the harness alone), BROWSER_VIEWPORTS (desktop,phone),
# BROWSER_KEEP=1 (keep the temp folder with crm's logs).
set -euo pipefail
: "${CRM_BIN:?}" "${CRM_TEST_DB:?}" "${CRM_SOURCE_DIR:?}"
HERE=$(cd "$(dirname "$0")" && pwd)
export CRM_BROWSER_ARTIFACTS=${CRM_BROWSER_ARTIFACTS:-$PWD/artifacts/browser}

# What `make test` installs (scripts/deps.sh test); missing here is a failure, not a skip.
CHROMIUM=${CRM_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "browser: $CHROMIUM is missing (scripts/deps.sh test installs it)" >&2; exit 1; }
[ -f "$CRM_SOURCE_DIR/.tools/node_modules/playwright-core/package.json" ] ||
  { echo "browser: playwright-core is missing from .tools/ (scripts/deps.sh test installs it)" >&2; exit 1; }

# The helpers of the API tests (crm_env, scratch_db, crm_start, crm_stop,
# wait_for_status), with this script's temp folder standing for bats's.
# shellcheck source=../api/helpers.bash
source "$CRM_SOURCE_DIR/tests/api/helpers.bash"
BATS_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/crm-browser.XXXXXX")
WORK=$BATS_TEST_TMPDIR
DB_NAME="crm_browser_$$"

cleanup() {
  local rc=$?
  crm_stop || { echo "browser: crm exited non-zero at SIGTERM; its stderr:" >&2; tail -n 40 "$CRM_ERR" >&2; rc=1; }
  psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $DB_NAME" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] && [ -n "${CRM_ERR:-}" ] && [ -s "$CRM_ERR" ]; then
    echo "--- crm's last log lines ($CRM_ERR) ---" >&2
    grep -v '"msg":"request"' "$CRM_ERR" | tail -n 20 >&2 || true
  fi
  if [ -n "${BROWSER_KEEP:-}" ] || [ "$rc" -ne 0 ]; then
    echo "browser: temp folder kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

crm_env
scratch_db "$DB_NAME"
mkdir -p "$WORK/var" "$CRM_BROWSER_ARTIFACTS"
# The demo, and its users with fresh passwords written to this test's var/demo-logins.
"$CRM_BIN" migrate up --database-url "$SCRATCH_APP" --migrate-database-url "$SCRATCH_OWNER" --demo \
  --data-dir "$WORK/var" >"$WORK/demo.out" 2>&1 || { cat "$WORK/demo.out" >&2; exit 1; }
[ -s "$WORK/var/demo-logins" ] || { echo "browser: no demo-logins after the demo load" >&2; exit 1; }

crm_start --database-url "$SCRATCH_APP"
wait_for_status "$CRM_URL/readyz" 200 60
echo "browser: crm $("$CRM_BIN" version 2>/dev/null || true) serving on $CRM_URL (pid $CRM_PID)"

CRM_URL=$CRM_URL DEMO_LOGINS="$WORK/var/demo-logins" CRM_CHROMIUM=$CHROMIUM \
  node "$HERE/console.mjs"
