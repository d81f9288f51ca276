#!/usr/bin/env bats
# The service's schedule (issue 15): two crm processes on one database, each
# looking at every job every second (CRM_JOBS_TICK_S, CRM_STALL_CHECK_S), run
# each job once per period between them: the alerts digest of today is
# written once per unit with a target, and the /metrics of both show each
# job's last run and success, read from job_run. A job's advisory lock makes
# a second session skip while a first is running it. The jobs' rules
# themselves are proven in tests/sql/schedule.sql.

load helpers
load sync

setup_file() {
  crm_env
  NAME="schedule_$$"
  scratch_db "$NAME"
  OWNER_URL=$SCRATCH_OWNER APP_URL=$SCRATCH_APP
  "$CRM_BIN" migrate up --database-url "$APP_URL" --migrate-database-url "$OWNER_URL" --demo >/dev/null
  export NAME OWNER_URL APP_URL
}

teardown_file() {
  psql "$CRM_PG_SUPERUSER_URL" -q -c "DROP DATABASE IF EXISTS $NAME WITH (FORCE)" || true
}

setup() {
  crm_env
}

teardown() {
  release_transaction || true
  [ -z "${PID_A:-}" ] || { CRM_PID=$PID_A; crm_stop || true; }
  [ -z "${PID_B:-}" ] || { CRM_PID=$PID_B; crm_stop || true; }
}

sched_sql() {
  psql "$OWNER_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"
}

app_sql() {
  psql "$APP_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"
}

# digests: today's alerts.digest events, published or not, as "events units".
digests() {
  sched_sql "SELECT count(*) || ' ' || count(DISTINCT unit_id) FROM (
               SELECT unit_id, payload FROM event WHERE type = 'alerts.digest'
               UNION ALL SELECT unit_id, payload FROM event_pending WHERE type = 'alerts.digest') d
              WHERE payload ->> 'date' = crm_today()::text"
}

digests_are() {
  [ "$(digests)" = "$1" ]
}

# runs_at_least JOB N: whether job_run records N runs of JOB or more.
runs_at_least() {
  [ "$(sched_sql "SELECT coalesce((SELECT runs FROM job_run WHERE job = '$1'), 0) >= $2")" = t ]
}

# metrics_show URL JOB: whether URL/metrics shows JOB's last run, succeeded.
metrics_show() {
  local m
  m=$(curl -s --max-time 2 "$1/metrics")
  grep -q "^crm_job_last_run_timestamp_seconds{job=\"$2\"} [1-9]" <<<"$m" &&
    grep -q "^crm_job_last_success{job=\"$2\"} 1$" <<<"$m"
}

# metric URL NAME JOB: the value of NAME{job="JOB"} on URL/metrics.
metric() {
  curl -s --max-time 2 "$1/metrics" | sed -n "s/^$2{job=\"$3\"} //p"
}

@test "two processes run each job once per period; /metrics of both shows the last runs" {
  units=$(sched_sql "SELECT count(*) FROM target WHERE year = extract(year FROM crm_today())")
  [ "$units" -gt 0 ]
  crm_start --database-url "$APP_URL" --jobs-tick-s 1 --stall-check-s 1 --score-freeze-day 1 --log-level debug
  PID_A=$CRM_PID URL_A=$CRM_URL ERR_A=$CRM_ERR
  crm_start --database-url "$APP_URL" --jobs-tick-s 1 --stall-check-s 1 --score-freeze-day 1 --log-level debug
  PID_B=$CRM_PID URL_B=$CRM_URL ERR_B=$CRM_ERR

  # Today's digest: one event per unit with a target this year.
  wait_until 30 digests_are "$units $units"
  for job in alerts expiry scores stalled; do
    wait_until 30 metrics_show "$URL_A" "$job"
    wait_until 30 metrics_show "$URL_B" "$job"
  done
  # Both keep looking every second (the stalled sweep runs again each
  # second); the daily, hourly and monthly jobs do not run again.
  wait_until 30 runs_at_least stalled 5
  wait_until 30 logged alerts skipped "$ERR_A"
  wait_until 30 logged alerts skipped "$ERR_B"
  [ "$(digests)" = "$units $units" ]
  [ "$(sched_sql "SELECT string_agg(job || '=' || runs, ' ' ORDER BY job) FROM job_run
                   WHERE job IN ('alerts', 'expiry', 'scores')")" = "alerts=1 expiry=1 scores=1" ]
  [ "$(runs_logged alerts ran "$ERR_A" "$ERR_B")" = 1 ]
  [ "$(sched_sql "SELECT count(*) FROM job_run WHERE outcome <> 'ok' OR failures > 0")" = 0 ]
  # Last month's scores were frozen by the service (no user), for every
  # unit with a target that year.
  [ "$(sched_sql "WITH m AS (SELECT extract(year FROM d)::int AS y, extract(month FROM d)::int AS m
                              FROM (SELECT date_trunc('month', crm_today()) - interval '1 month' AS d) t)
                   SELECT (SELECT count(*) FROM target, m WHERE year = m.y)
                        = (SELECT count(*) FROM score_snapshot s, m
                            WHERE s.year = m.y AND s.month = m.m AND s.frozen_by IS NULL)")" = t ]
  # Both processes show the same record, read from the database.
  wait_until 10 metric_is_on "$URL_A" crm_job_runs_total alerts 1
  wait_until 10 metric_is_on "$URL_B" crm_job_runs_total alerts 1
  [ "$(metric "$URL_A" crm_job_failures_total scores)" = 0 ]
  # Both stop cleanly, a look perhaps in flight.
  CRM_PID=$PID_A; PID_A=
  crm_stop
  CRM_PID=$PID_B; PID_B=
  crm_stop
}

# logged JOB OUTCOME FILE: whether crm's log FILE has a look at JOB with OUTCOME.
logged() {
  [ "$(runs_logged "$1" "$2" "$3")" -gt 0 ]
}

# runs_logged JOB OUTCOME FILE...: how many looks at JOB the logs show with OUTCOME.
runs_logged() {
  local job=$1 outcome=$2
  shift 2
  cat "$@" | jq -R --arg j "$job" --arg o "$outcome" \
    'fromjson? | select(.msg == "scheduled job" and .job == $j and .outcome == $o)' | jq -s length
}

metric_is_on() {
  [ "$(metric "$1" "$2" "$3")" = "$4" ]
}

advisory_lock_held() {
  [ "$(sched_sql "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")" = t ]
}

@test "while one session runs a job, another skips it; after, the period is done" {
  # Every job, its periods forgotten (the test above did them all).
  sched_sql "DELETE FROM job_run" >/dev/null
  for call in "job_alerts()" "job_expiry(1800, 86400)" "job_scores(1)" "job_stalled(86400)"; do
    # The job runs in a session of the owner whose transaction stays open.
    hold_transaction "$OWNER_URL" "SELECT outcome FROM $call;" advisory_lock_held
    [ "$(app_sql "SELECT outcome FROM $call")" = skipped ]
    release_transaction
    [ "$(cat "$HOLD_OUT")" = ran ]
    [ "$(app_sql "SELECT outcome FROM $call")" = skipped ]
  done
  [ "$(sched_sql "SELECT string_agg(job || '=' || runs, ' ' ORDER BY job) FROM job_run")" = \
    "alerts=1 expiry=1 scores=1 stalled=1" ]
}

@test "crm serve --help lists the schedule's settings" {
  run "$CRM_BIN" serve --help
  for v in CRM_JOBS_TICK_S CRM_JOBS_TIMEOUT_MS CRM_STALL_CHECK_S CRM_SCORE_FREEZE_DAY CRM_IDEMPOTENCY_KEEP_S; do
    grep -q "$v" <<<"$output"
  done
}
