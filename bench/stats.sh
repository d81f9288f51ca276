#!/usr/bin/env bash
# GET /api/v1/stats/units/{id} (a unit's KPI figures against its target,
# DESIGN.md section 5) at two scales, as issue 5 asks:
#
#  county:   a county and 10 townships, 1,000 projects (5,000 interactions);
#  province: a province > 11 cities > 132 counties > 1,848 townships
#            (1,992 units), 1,000,000 projects, 5,000,000 interactions,
#            100,000 investors.
#
# For each scale: a fresh embedded PostgreSQL under bench/out/stats-db,
# migrated without demo data; bench/data/generate.sh fills it (set-based,
# triggers off, then kpi_rebuild() and VACUUM ANALYZE); a Release crm under
# setsid (see ../shared/BENCHMARKING.md) and a viewer of the root unit logged
# in. Then, for the county (at county scale the root; at province scale
# bench.c01.k01, ~7,600 projects) and, at province scale, the root with all
# 1,000,000 projects below it, each of
#   ?year=2024                    (as of today: kpi_as_of() with no date)
#   ?year=2024&as_of=2024-06-30   (what was known on 30 June)
# is timed: SAMPLES sequential requests on one keep-alive connection (curl,
# %{time_total}, sorted: p50, p99) and wrk -t1 -c64 -d10s --latency, with the
# CPU per request of the PostgreSQL backends and of crm. Last, as the
# superuser, for the root: EXPLAIN ANALYZE of kpi_fast() (auto_explain shows
# the statement inside: the functions are not inlined); kpi_reference()'s
# body under EXPLAIN, then the function run with auto_explain under a
# statement timeout; the route's SQL alone under pgbench (stats_unit,
# kpi_json, kpi_fast, the bare roll-up query); and the statements one
# stats_unit() call runs, with their times.
#
# usage: bench/stats.sh [path/to/crm]
#   SCALES="county province" SAMPLES=300 DURATION=10s CONNECTIONS=64 THREADS=1 WRK_TIMEOUT=10s
#   PROVINCE_PROJECTS=1000000 PROVINCE_INTERACTIONS=5000000 PROVINCE_INVESTORS=100000 PROVINCE_UNITS=2000
#   COUNTY_PROJECTS=1000 COUNTY_UNITS=11 REFERENCE=1 (0 skips kpi_reference)
#   REUSE=1 keeps the data of the previous run when it is of the same scale (the last scale run only)
#   REF_TIMEOUT=60s: kpi_reference runs are stopped after this (0: no limit; at the province root it took
#     347 s with an index on project_start(project_id), and did not finish without one)
#   REBUILD=1 rebuilds build-bench/crm first; it is also rebuilt when missing or older than the sources.
#   BENCH_OUT=bench/out; CRM_BENCH_FLAGS: more `crm serve` flags; CRM_BENCH_BIN, CRM_BENCH_SQL_DIR: another
#   crm (bench/lib.sh)
# The report is also kept in bench/out/stats-report.txt.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=${BENCH_OUT:-bench/out}
DATA="$OUT/stats-db"
BENCH_TAG=stats-
SCALES=${SCALES:-county province}
SAMPLES=${SAMPLES:-300}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
REFERENCE=${REFERENCE:-1}
YEAR=2024
mkdir -p "$OUT"
REPORT="$OUT/stats-report.txt"
t_begin=$(date +%s)
bench_crm build-bench/crm "${1:-}"
bench_build stale

: > "$REPORT"
out() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# A fresh cluster: a previous run's is stopped and wiped.
fresh_cluster() {
  bench_pg_fresh "$DATA"
  bench_pg_start "$DATA"
  # Bulk loads write a lot of WAL: fewer checkpoints (reloadable settings only;
  # the cluster's command line fixes shared_buffers = 128MB).
  psql "$CRM_PG_SUPERUSER_URL" -X -q -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET max_wal_size = '8GB'" -c "ALTER SYSTEM SET checkpoint_timeout = '30min'" \
    -c "SELECT pg_reload_conf()" > /dev/null
  bench_migrate
}

start_crm() {
  bench_crm_start --access-log 0
  auth="Authorization: Bearer $(bench_login "$CRM_URL" bench.stats 'Bench-stats-2024')"
}

declare -a ROWS
# measure SCALE LABEL PATH: one table row
measure() {
  local scale=$1 label=$2 path=$3
  local code
  code=$(curl -s -o "$OUT/stats-answer.json" -w '%{http_code}' -H "$auth" "$CRM_URL$path")
  if [ "$code" != 200 ]; then
    say "$path: HTTP $code $(head -c 400 "$OUT/stats-answer.json")"
    exit 1
  fi
  out "  $label $path -> $(jq -c '{as_of, time_progress, target: (.target | if . then {signing_amount_yuan, signed_count, start_rate} else null end), verified: (.verified | {signing_amount_yuan, signed_count, started_count, start_rate, signing_progress, behind}), reported: (.reported | {signing_amount_yuan, signed_count, started_count}), forecast_yuan}' "$OUT/stats-answer.json")"
  # sequential: SAMPLES requests, one after the other, on one keep-alive connection
  curl_seq "$CRM_URL$path" "$SAMPLES" -H "$auth" > "$OUT/stats-seq.raw"
  local bad; bad=$(awk '$1 != 200' "$OUT/stats-seq.raw" | wc -l)
  awk '{print $2}' "$OUT/stats-seq.raw" | sort -n > "$OUT/stats-seq.txt"
  local s50 s99 smax
  s50=$(pct 50 < "$OUT/stats-seq.txt"); s99=$(pct 99 < "$OUT/stats-seq.txt"); smax=$(pct 100 < "$OUT/stats-seq.txt")
  # under load; CPU of the cluster's running processes (crm's pool connections live through a run) and of crm
  wrk_warm --timeout "$WRK_TIMEOUT" -H "$auth" "$CRM_URL$path"
  local p0 c0 p1 c1 file="$OUT/stats-wrk.txt"
  p0=$(pg_ticks "$CRM_PG_DIR/data" live); c0=$(ticks "$crm_pid")
  wrk_measure "$file" --timeout "$WRK_TIMEOUT" -H "$auth" "$CRM_URL$path"
  p1=$(pg_ticks "$CRM_PG_DIR/data" live); c1=$(ticks "$crm_pid")
  local rps reqs avg p50 p99 errors little pg_us crm_us
  rps=$(wrk_field "$file" rps)
  reqs=$(wrk_field "$file" reqs)
  avg=$(wrk_field "$file" avg)
  p50=$(wrk_field "$file" p50)
  p99=$(wrk_field "$file" p99)
  errors=$(wrk_field "$file" errors)
  [ "$bad" -gt 0 ] && errors="$errors sequential non-200: $bad"
  little=$(awk -v c="$CONNECTIONS" -v r="$rps" 'BEGIN {printf "%.2fms", c / r * 1000}')
  pg_us=$(awk -v t="$((p1 - p0))" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
  crm_us=$(awk -v t="$((c1 - c0))" -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.0f", t / hz * 1e6 / n}')
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  ROWS+=("$(printf '| %-8s | %-20s | %-30s | %7s | %7s | %7s | %9s | %8s | %8s | %8s | %8s | %5s | %6s | %4s | %s' \
    "$scale" "$label" "${path#/api/v1/stats/units/}" "$s50" "$s99" "$smax" "$rps" "$avg" "$little" "$p50" "$p99" \
    "$pg_us" "$crm_us" "$load" "${errors:-none}")")
  say "${ROWS[-1]}"
}

# explain UNIT_ID LABEL: EXPLAIN ANALYZE of the fast path and the reference
# (auto_explain shows the statements inside the functions, which are not
# inlined), and what one stats_unit() call runs.
explain() {
  local unit=$1 label=$2
  out ""
  out "---- $label (unit $unit): EXPLAIN ANALYZE, year $YEAR as of $YEAR-12-31 ----"
  supsql 2>&1 <<SQL | sed 's/^/    /' | tee -a "$REPORT"
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
\echo '== kpi_fast (verified): the statement and the plan inside it'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM kpi_fast($unit, $YEAR, '$YEAR-12-31');
SQL
  if [ "$REFERENCE" = 1 ]; then
    # kpi_reference is not inlined (SECURITY DEFINER): its body is shown with
    # EXPLAIN (parameters as literals), then the function is run with
    # auto_explain under a statement timeout. It reads project_start by
    # project_id once per signed project, and 0006 has no index for that
    # (only the partial unique one of live starts): when none exists, it is
    # run once as migrated, then again with a helper index (dropped after).
    local need_index timeout=${REF_TIMEOUT:-60s}
    [ "$timeout" = 0 ] && timeout=0
    need_index=$(supsql -c "SELECT NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = 'project_start'::regclass
                              AND i.indpred IS NULL AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                              WHERE attrelid = 'project_start'::regclass AND attname = 'project_id'))")
    supsql -c "SELECT prosrc FROM pg_proc WHERE proname = 'kpi_reference'" |
      perl -pe "s/\bp_unit\b/$unit::bigint/g; s/\bp_year\b/$YEAR/g; s/\bp_as_of\b/'$YEAR-12-31'::date/g; s/\bp_basis\b/'verified'/g" \
      > "$OUT/stats-reference-body.sql"
    local pass
    for pass in migrated helper; do
      [ "$pass" = helper ] && [ "$need_index" != t ] && break
      if [ "$pass" = helper ]; then
        out "    == again with a helper index: CREATE INDEX bench_ref_start ON project_start (project_id) (dropped after)"
        supsql -c "CREATE INDEX bench_ref_start ON project_start (project_id)" -c "ANALYZE project_start"
      fi
      # shellcheck disable=SC2028 # \\echo, \\timing: psql's meta-commands
      {
        echo "SET work_mem = '64MB';"
        echo "\\echo '== kpi_reference ($pass schema): the plan of its body (EXPLAIN, parameters as literals)'"
        echo "EXPLAIN"
        cat "$OUT/stats-reference-body.sql"
        echo ";"
        echo "\\echo '== kpi_reference($unit, $YEAR, $YEAR-12-31) ($pass schema), statement_timeout $timeout, auto_explain:'"
        echo "SET statement_timeout = '$timeout';"
        echo "LOAD 'auto_explain';"
        echo "SET auto_explain.log_min_duration = 0;"
        echo "SET auto_explain.log_analyze = on;"
        echo "SET auto_explain.log_buffers = on;"
        echo "SET auto_explain.log_nested_statements = on;"
        echo "SET client_min_messages = log;"
        echo "\\timing on"
        echo "SELECT row(r.*)::text AS reference FROM kpi_reference($unit, $YEAR, '$YEAR-12-31') r;"
      } | supsql 2>&1 | sed 's/^/    /' | tee -a "$REPORT" || true
      [ "$pass" = helper ] && supsql -c "DROP INDEX bench_ref_start"
    done
    supsql 2>&1 <<SQL | sed 's/^/    /' | tee -a "$REPORT"
\echo '== the fast path, for comparison with the reference above'
\timing on
SELECT row(f.*)::text AS fast FROM kpi_fast($unit, $YEAR, '$YEAR-12-31') f;
SQL
  fi
  # The SQL alone, without HTTP: pgbench -M prepared, one client.
  local uid; uid=$(supsql -c "SELECT id FROM app_user WHERE username = 'bench.stats'")
  printf '%s\n' "BEGIN;" \
    "SELECT set_config('crm.user_id', '$uid', true), set_config('crm.unit_id', '$unit', true), set_config('crm.role', 'viewer', true);" \
    "SELECT stats_unit($unit, $YEAR, NULL)::text;" "COMMIT;" > "$OUT/stats-pgbench-route.sql"
  printf '%s\n' "SELECT kpi_json($unit, $YEAR, '$YEAR-12-31')::text;" > "$OUT/stats-pgbench-json.sql"
  printf '%s\n' "SELECT kpi_fast($unit, $YEAR, '$YEAR-12-31');" > "$OUT/stats-pgbench-fast.sql"
  printf '%s\n' "SELECT sum(signing), sum(signed), sum(started), sum(signed_amt), sum(started_amt) FROM kpi_rollup WHERE unit_id = $unit AND basis = 'verified' AND year = $YEAR AND day <= '$YEAR-12-31';" > "$OUT/stats-pgbench-rollup.sql"
  out "== the SQL alone: pgbench -M prepared -c1 -T5 (latency average; load average $(cut -d' ' -f1-3 /proc/loadavg))"
  local f lat
  for f in route json fast rollup; do
    lat=$(setsid pgbench "$SU_URL" -n -M prepared -c1 -T5 -f "$OUT/stats-pgbench-$f.sql" 2>&1 | awk '/latency average/ {print $4, $5}')
    out "$(printf '    %-7s %10s  %s' "$f" "$lat" "$(grep -v '^BEGIN;\|^COMMIT;\|set_config' "$OUT/stats-pgbench-$f.sql" | head -1 | cut -c1-120)")"
  done
  local trace="$OUT/stats-explain-${3}.txt"
  supsql > "$trace" 2>&1 <<SQL
SELECT set_config('crm.user_id', id::text, false), set_config('crm.unit_id', unit_id::text, false),
       set_config('crm.role', role, false)
  FROM app_user WHERE username = 'bench.stats' \gset
SELECT length(stats_unit($unit, $YEAR, NULL)::text) AS warm \gset
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_nested_statements = on;
SET client_min_messages = log;
SELECT length(stats_unit($unit, $YEAR, NULL)::text) AS bytes;
SQL
  out "== stats_unit($unit, $YEAR, NULL) as the viewer: the statements it runs (auto_explain, nested; ms, first line)"
  out "   (full plans in $trace)"
  awk '/LOG:  duration: / {d = $3; q = 1; next}
       q == 1 && /Query Text:/ {sub(/.*Query Text: */, ""); if ($0 != "") {printf "    %8s ms  %s\n", d, substr($0, 1, 110); q = 0} else q = 2; next}
       q == 2 && NF {sub(/^ +/, ""); printf "    %8s ms  %s\n", d, substr($0, 1, 110); q = 0}' "$trace" | tee -a "$REPORT"
}

run_scale() {
  local scale=$1 units=$2 projects=$3 investors=$4 interactions=$5
  out ""
  out "==== $scale scale: ~$units units, $projects projects, $investors investors, $interactions interactions ===="
  local t0; t0=$(date +%s)
  local reused=
  if [ -n "${REUSE:-}" ] && [ "$(cat "$OUT/stats-scale" 2>/dev/null)" = "$scale $units $projects $investors $interactions" ]; then
    bench_pg_start "$DATA"
    reused=1
    out "REUSE: the $scale data of the previous run ($DATA), not generated again"
  else
    rm -f "$OUT/stats-scale"
    fresh_cluster
    UNITS=$units PROJECTS=$projects INVESTORS=$investors INTERACTIONS=$interactions \
      bench/data/generate.sh "$SU_URL" 2>&1 | tee -a "$REPORT"
    echo "$scale $units $projects $investors $interactions" > "$OUT/stats-scale"
    local t1; t1=$(date +%s)
    out "generation (fresh cluster, migrations, data, kpi_rebuild, vacuum): $((t1 - t0)) s"
  fi
  out "database size: $(supsql -c "SELECT pg_size_pretty(pg_database_size('crm'))")"
  [ -n "$reused" ] || bench_user_add bench.stats viewer bench 'Bench-stats-2024'
  start_crm
  local root county
  root=$(supsql -c "SELECT id FROM unit WHERE code = 'bench'")
  if [ "$scale" = county ]; then
    county=$root
  else
    county=$(supsql -c "SELECT id FROM unit WHERE code = 'bench.c01.k01'")
  fi
  local n_county n_root
  n_county=$(supsql -c "SELECT count(*) FROM project WHERE unit_path @> ARRAY[$county::bigint]")
  n_root=$(supsql -c "SELECT count(*) FROM project WHERE unit_path @> ARRAY[$root::bigint]")
  measure "$scale" "county ($n_county p.)" "/api/v1/stats/units/$county?year=$YEAR"
  measure "$scale" "county ($n_county p.)" "/api/v1/stats/units/$county?year=$YEAR&as_of=$YEAR-06-30"
  if [ "$scale" != county ]; then
    measure "$scale" "root ($n_root p.)" "/api/v1/stats/units/$root?year=$YEAR"
    measure "$scale" "root ($n_root p.)" "/api/v1/stats/units/$root?year=$YEAR&as_of=$YEAR-06-30"
  fi
  out "crm RSS after the load: $(awk '/VmRSS/ {print $2, $3}' "/proc/$crm_pid/status")"
  stop_pid "$crm_pid"; crm_pid=
  explain "$root" "$scale root" "$scale"
  bench_pg_stop
}

for scale in $SCALES; do
  case $scale in
    county) run_scale county "${COUNTY_UNITS:-11}" "${COUNTY_PROJECTS:-1000}" "${COUNTY_INVESTORS:-100}" \
              "${COUNTY_INTERACTIONS:-5000}" ;;
    province) run_scale province "${PROVINCE_UNITS:-2000}" "${PROVINCE_PROJECTS:-1000000}" \
                "${PROVINCE_INVESTORS:-100000}" "${PROVINCE_INTERACTIONS:-5000000}" ;;
    *) say "unknown scale $scale"; exit 2 ;;
  esac
done

out ""
out "crm $(crm_version) (Release), $(nproc) cores, PostgreSQL 15 (embedded, shared_buffers 128MB), GET /api/v1/stats/units/{id} as a viewer of the root unit"
out "sequential: $SAMPLES requests one after another on one keep-alive connection (curl time_total, ms);"
out "load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT --latency after a 2 s warm-up;"
out "Little = connections / req/s (the average a stall-free run should show); CPU = µs per request, PostgreSQL backends and crm;"
out "load = 1-minute load average after the wrk run (others share this 2-core box); without as_of the figures are as of today ($(date +%F))"
out "| scale    | unit                 | path                           | seq p50 | seq p99 | seq max |     req/s |      avg |   Little |      p50 |      p99 | pg µs | crm µs | load | errors"
out "|----------|----------------------|--------------------------------|---------|---------|---------|-----------|----------|----------|----------|----------|-------|--------|------|-------"
for r in "${ROWS[@]}"; do out "$r"; done
out ""
out "commands:"
out "  bench/stats.sh   (SCALES=\"$SCALES\" SAMPLES=$SAMPLES DURATION=$DURATION CONNECTIONS=$CONNECTIONS)"
out "  UNITS=.. PROJECTS=.. INVESTORS=.. INTERACTIONS=.. bench/data/generate.sh 'host=<socket dir> dbname=crm user=postgres'"
out "  curl -s -H 'Authorization: Bearer <token>' -w '%{http_code} %{time_total}\\n' -K <config: $SAMPLES x url + output /dev/null>"
out "  wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT --latency -H 'Authorization: Bearer <token>' '<url>/api/v1/stats/units/<id>?year=${YEAR}[&as_of=$YEAR-06-30]'"
out "total run time: $(( $(date +%s) - t_begin )) s"
