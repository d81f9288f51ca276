#!/usr/bin/env bash
# The projects list page under a realistic volume: 100,000 projects.
#
#  1. a fresh embedded PostgreSQL under bench/out/projects-db, migrated with
#     the demo data (the unit tree, 66 projects);
#  2. 100,000 more projects (and a few investors) generated directly as the
#     owner by one INSERT ... SELECT generate_series: valid codes BENCH-000001..,
#     spread over the towns, townships and the zone, stage lead; through the
#     schema's own triggers (scope path, lifecycle rules, audit); then ANALYZE;
#  3. a Release crm under setsid (make bench builds build-bench/crm; built
#     here when missing), a county viewer logged in;
#  4. GET /api/v1/projects?limit=50 walked to its 100th page, collecting the
#     cursors; then the first and the 100th page timed with curl
#     (-w %{time_total}, $SAMPLES requests each, sorted: p50, p90, p99) and
#     the first page (and the 100th) under wrk -t1 -c64 -d10s --latency (with
#     a 10 s timeout, so that slow answers are measured, not dropped), and
#     what 64 requests sent at once get.
#
# usage: bench/projects_list.sh [path/to/crm]
#   PROJECTS=100000 SAMPLES=200 PAGES=100 DURATION=10s CONNECTIONS=64 THREADS=1 WRK_TIMEOUT=10s
#   REBUILD=1 rebuilds build-bench/crm first (as `make bench` does); it is also
#   rebuilt when missing or older than the sources. BENCH_OUT=bench/out;
#   CRM_BENCH_FLAGS: more `crm serve` flags; CRM_BENCH_BIN, CRM_BENCH_SQL_DIR:
#   another crm (bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=${BENCH_OUT:-bench/out}
DATA="$OUT/projects-db"
BENCH_TAG=projects-
PROJECTS=${PROJECTS:-100000}
SAMPLES=${SAMPLES:-200}
PAGES=${PAGES:-100}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
mkdir -p "$OUT"
bench_crm build-bench/crm "${1:-}"
bench_build stale

# A fresh cluster: a previous run's is stopped and wiped.
bench_pg_fresh "$DATA"
bench_pg_start "$DATA"
bench_migrate --demo
bench_user_add bench.projects viewer sx.yc.js 'Bench-projects-2024'

owner() { psql "$CRM_MIGRATE_DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

say "generating $PROJECTS projects"
t0=$(date +%s.%N)
owner <<SQL
-- A few investors of the county, for the projects to name.
INSERT INTO investor (unit_id, name, origin_region, industry, chain_role)
SELECT (SELECT id FROM unit WHERE code = 'sx.yc.js.devzone'), '压测客商' || g || '号有限公司', '山西运城',
       (ARRAY['焦化', '新材料', '新能源', '农产品加工'])[1 + g % 4], 'none'
  FROM generate_series(1, 10) g;

-- The projects: one statement, through every trigger of the schema.
WITH units AS (SELECT array_agg(id ORDER BY id) AS ids FROM unit
                WHERE kind IN ('town', 'township', 'zone')
                  AND path @> ARRAY[(SELECT id FROM unit WHERE code = 'sx.yc.js')]),
     investors AS (SELECT array_agg(id ORDER BY id) AS ids FROM investor WHERE name LIKE '压测客商%')
INSERT INTO project (code, name, unit_id, investor_id, industry_chain, park, planned_investment_yuan, is_key,
                     plan, stage)
SELECT 'BENCH-' || lpad(g::text, 6, '0'),
       (ARRAY['年产', '新建', '扩建', '技改'])[1 + g % 4] || (g % 97 + 1) || '万吨'
         || (ARRAY['煤焦油深加工', '针状焦', '负极材料', '光伏组件', '板枣深加工', '冷链物流'])[1 + g % 6] || '项目'
         || g,
       units.ids[1 + g % cardinality(units.ids)],
       investors.ids[1 + g % cardinality(investors.ids)],
       (ARRAY['焦化', '新材料', '新能源', '农产品加工', '现代物流'])[1 + g % 5],
       (ARRAY['', '西社园区', '稷峰园区'])[1 + g % 3],
       (1 + g % 500) * 1000000::bigint,
       g % 10 = 0,
       '压测数据：建设内容与推进安排。',
       'lead'
  FROM generate_series(1, $PROJECTS) g, units, investors;
ANALYZE unit, investor, project, audit_log;
SQL
t1=$(date +%s.%N)
say "$(owner -c "SELECT count(*) || ' projects, ' || (SELECT count(*) FROM unit WHERE kind IN ('town','township','zone')) || ' townships and zones, ' || pg_size_pretty(pg_total_relation_size('project')) || ' (project with indexes)' FROM project") in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s"

bench_crm_start --access-log 0
auth="Authorization: Bearer $(bench_login "$CRM_URL" bench.projects 'Bench-projects-2024')"
first="/api/v1/projects?limit=50"

# Walk to the last page measured, keeping each page's cursor.
say "walking $PAGES pages of $first"
cursor=
declare -a cursors
for page in $(seq 1 "$PAGES"); do
  cursors[page]=$cursor
  path=$first${cursor:+&cursor=$cursor}
  code=$(curl -s -o "$OUT/projects-page.json" -w '%{http_code}' -H "$auth" "$CRM_URL$path")
  [ "$code" = 200 ] || { say "page $page: $code $(head -c 300 "$OUT/projects-page.json")"; exit 1; }
  body=$(cat "$OUT/projects-page.json")
  n=$(jq '.items | length' <<<"$body")
  [ "$n" = 50 ] || { say "page $page has $n items"; exit 1; }
  cursor=$(jq -r '.next_cursor // empty' <<<"$body")
  [ -n "$cursor" ] || { say "no page after $page"; exit 1; }
done
last="$first&cursor=${cursors[$PAGES]}"
last_ids=$(curl -sf -H "$auth" "$CRM_URL$last" | jq -c '[.items[0].id, .items[-1].id]')

# time_total of SAMPLES sequential requests (one connection each), sorted.
timings() {
  local path=$1 i
  for i in $(seq 1 "$SAMPLES"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "$auth" "$CRM_URL$path"
  done | sort -n
}
curl -s -o /dev/null -H "$auth" "$CRM_URL$first"   # warm
curl -s -o /dev/null -H "$auth" "$CRM_URL$last"
timings "$first" > "$OUT/projects-first.txt"
timings "$last" > "$OUT/projects-last.txt"

wrk_run() {  # wrk_run PATH LABEL: prints a table row
  local path=$1 label=$2 file="$OUT/projects-wrk.txt"
  wrk_warm -H "$auth" "$CRM_URL$path"
  wrk_measure "$file" --timeout "$WRK_TIMEOUT" -H "$auth" "$CRM_URL$path"
  local errors; errors=$(wrk_field "$file" errors)
  printf '| %-10s | %10s | %8s | %8s | %8s | %s\n' "$label" "$(wrk_field "$file" rps)" "$(wrk_field "$file" avg)" \
    "$(wrk_field "$file" p50)" "$(wrk_field "$file" p99)" "${errors:-none}"
}

echo
echo "crm $(crm_version) (Release), $(nproc) cores, PostgreSQL $(owner -c 'SHOW server_version'),"
echo "$(owner -c 'SELECT count(*) FROM project') projects; GET $first as a county viewer (every project in scope)"
echo "page $PAGES holds ids $last_ids"
echo
echo "curl, $SAMPLES sequential requests each (ms, time_total):"
echo "| page      |    p50 |    p90 |    p99 |    max |"
echo "|-----------|--------|--------|--------|--------|"
for f in first last; do
  label="1st"
  [ "$f" = last ] && label="${PAGES}th"
  printf '| %-9s | %6s | %6s | %6s | %6s |\n' "$label" \
    "$(pct 50 < "$OUT/projects-$f.txt")" "$(pct 90 < "$OUT/projects-$f.txt")" \
    "$(pct 99 < "$OUT/projects-$f.txt")" "$(pct 100 < "$OUT/projects-$f.txt")"
done
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT --latency:"
echo "| page       |      req/s |      avg |      p50 |      p99 | errors"
echo "|------------|------------|----------|----------|----------|-------"
wrk_run "$first" "1st page"
wrk_run "$last" "${PAGES}th page"
# What 64 requests at once get (wrk counts non-2xx answers without saying which).
burst=$(for i in $(seq 1 "$CONNECTIONS"); do
  [ "$i" -gt 1 ] && echo next
  printf 'url = "%s"\nheader = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$CRM_URL$first" "$auth"
done | curl -s --parallel --parallel-immediate --parallel-max "$CONNECTIONS" -K - 2>/dev/null | sort | uniq -c | tr -s ' \n' ' ')
echo "$CONNECTIONS requests of the 1st page at once, by status:$burst"
echo
echo "commands:"
printf '%s\n' "  curl -s -o /dev/null -w '%{time_total}\\n' -H 'Authorization: Bearer <token>' '$CRM_URL$first'   (x$SAMPLES)"
printf '%s\n' "  curl -s -o /dev/null -w '%{time_total}\\n' -H 'Authorization: Bearer <token>' '$CRM_URL$last'   (x$SAMPLES)"
echo "  wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT --latency -H 'Authorization: Bearer <token>' '$CRM_URL$first'"
echo "  wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $WRK_TIMEOUT --latency -H 'Authorization: Bearer <token>' '$CRM_URL$last'"
echo "crm RSS after the load: $(awk '/VmRSS/ {print $2, $3}' "/proc/$crm_pid/status")"
