#!/usr/bin/env bash
# CTest fixture cleanup: stops the run's PostgreSQL.
set -euo pipefail
: "${CRM_BIN:?}" "${CRM_TEST_DB:?}"
"$CRM_BIN" pg stop --data-dir "$CRM_TEST_DB"
