#!/usr/bin/env bash
# The time to import 10,000 ledger rows (issue: import and export), through
# POST /api/v1/imports/projects and through `crm import`.
#
# Generates a UTF-8 CSV of ROWS rows (default 10000) as a county's ledger
# would have them: 10 columns, Chinese text, units by name, ~1,000 investors
# (looked up, or created on first sight), the demo's county leaders. The
# API takes bodies up to 1 MiB; rows are kept short (~92 bytes) so that
# 10,000 fit (the size is printed). Then it times, on a fresh database:
#   1. POST, all rows new (created)
#   2. POST, the same file again (unchanged)
#   3. POST, every amount changed (updated)
#   4. the XLSX and CSV exports of the whole ledger
#   5. crm import of another 10,000 new rows (owner role, no body limit)
# Starts its own PostgreSQL (a fresh cluster under bench/out/import-db) and a
# Release crm, with a statement timeout of 60 s: at the default 5 s, 10,000
# new rows do not fit in one request on a small machine (the insert triggers,
# the audit row and the foreign keys cost ~0.5 ms a row), and the API answers
# 503 "split the file".
#
# usage: bench/import.sh [path/to/crm]   (a Release build; make bench builds one)
# env:   ROWS=10000 BENCH_OUT=bench/out; CRM_BENCH_FLAGS: more `crm serve` flags;
#        CRM_BENCH_BIN, CRM_BENCH_SQL_DIR: another crm (bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=${BENCH_OUT:-bench/out}
BENCH_TAG=import-
ROWS=${ROWS:-10000}
mkdir -p "$OUT"
bench_crm build-bench/crm "${1:-}"
bench_build never

bench_pg_fresh "$OUT/import-db"
bench_pg_start "$OUT/import-db"
bench_migrate --demo
bench_user_add bench.admin admin sx.yc.js 'Bench-admin-2024'
bench_crm_start --access-log 0 --db-statement-timeout-ms 60000
token=$(bench_login "$CRM_URL" bench.admin 'Bench-admin-2024')

# ledger PREFIX AMOUNT: ROWS rows of codes PREFIX00001...
ledger() {
  awk -v n="$ROWS" -v prefix="$1" -v amount="$2" 'BEGIN {
    split("稷峰镇 西社镇 化峪镇 翟店镇 清河镇 蔡村乡 太阳乡", units, " ")
    split("装备制造 新材料 农产品加工 新能源 文旅康养 现代物流", chains, " ")
    split("王县长 赵常务副县长 李副县长 张副县长", leaders, " ")
    split("谋划 线索 在谈", stages, " ")
    print "项目编号,项目名称,责任单位,投资方,产业链,计划投资(亿元),重点项目,包联领导,计划开工日期,项目阶段"
    for (i = 1; i <= n; i++)
      printf "%s%05d,项目%05d,%s,投资方%04d,%s,%s,%s,%s,2025/%d/%d,%s\n", prefix, i, i,
             units[i % 7 + 1], i % 1000, chains[i % 6 + 1], amount, (i % 10 == 0 ? "是" : "否"),
             (i % 3 == 0 ? leaders[i % 4 + 1] : ""), i % 12 + 1, i % 28 + 1, stages[i % 3 + 1]
  }'
}

post() {  # post FILE LABEL: prints the time and the outcome counts
  local t
  t=$(curl -s -o "$OUT/import-report.json" -w '%{http_code} %{time_total}' -X POST \
    -H "Authorization: Bearer $token" -H 'Content-Type: text/csv' --data-binary "@$1" \
    "$CRM_URL/api/v1/imports/projects")
  printf '| POST /imports/projects, %-11s | %6.2f s | %s\n' "$2" "${t#* }" \
    "HTTP ${t%% *}: $(jq -c '{created, updated, unchanged, rejected}' "$OUT/import-report.json" 2>/dev/null || head -c 200 "$OUT/import-report.json")"
}

ledger BA 1.25 > "$OUT/import-a.csv"
ledger BA 1.5 > "$OUT/import-a2.csv"
ledger BC 0.8 > "$OUT/import-c.csv"
size=$(stat -c %s "$OUT/import-a.csv")
echo
echo "crm $(crm_version), $(nproc) cores; $ROWS rows, $size bytes ($(awk -v s="$size" 'BEGIN {printf "%.2f", s / 1048576}') MiB; the API takes 1 MiB)"
echo "| what                                | time     | outcome"
echo "|-------------------------------------|----------|--------"
post "$OUT/import-a.csv" "new"
post "$OUT/import-a.csv" "same"
post "$OUT/import-a2.csv" "changed"
for ext in xlsx csv; do
  t=$(curl -s -o "$OUT/import-ledger.$ext" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $token" \
    "$CRM_URL/api/v1/exports/projects.$ext")
  printf '| GET /exports/projects.%-13s | %6.2f s | HTTP %s, %s bytes\n' "$ext" "${t#* }" "${t%% *}" \
    "$(stat -c %s "$OUT/import-ledger.$ext")"
done
start=$(date +%s.%N)
"$CRM" import "$OUT/import-c.csv" --database-url "$CRM_DATABASE_URL" \
  --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" > "$OUT/import-cli.txt"
end=$(date +%s.%N)
printf '| crm import, new                     | %6.2f s | %s\n' "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" "$(tail -n 1 "$OUT/import-cli.txt")"
