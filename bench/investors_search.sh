#!/usr/bin/env bash
# Investor search by name at 100,000 investors: GET /api/v1/investors?q=...
# with a Chinese substring (pg_trgm's GIN index on the name), as a county
# viewer, on a Release crm and its own embedded PostgreSQL (setsid for both).
# Prints the p50/p99 of $SAMPLES sequential requests per query.
#
# usage: bench/investors_search.sh [path/to/crm]   (make bench builds it)
# env:   INVESTORS=100000 SAMPLES=200 BENCH_OUT=bench/out; CRM_BENCH_FLAGS: more
#        `crm serve` flags; CRM_BENCH_BIN, CRM_BENCH_SQL_DIR: another crm (bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
OUT=${BENCH_OUT:-bench/out}
DATA="$OUT/investors-db"
BENCH_TAG=investors-
INVESTORS=${INVESTORS:-100000}
SAMPLES=${SAMPLES:-200}
mkdir -p "$OUT"
bench_crm build-bench/crm "${1:-}"
bench_build never

bench_pg_fresh "$DATA"
bench_pg_start "$DATA"
bench_migrate --demo
bench_user_add bench.viewer viewer sx.yc.js 'Bench-viewer-2024'
say "generating $INVESTORS investors"
psql -q -v ON_ERROR_STOP=1 "$CRM_MIGRATE_DATABASE_URL" <<SQL
INSERT INTO investor (unit_id, name, industry)
SELECT u.id,
       (ARRAY['山西','运城','江苏','浙江','广东','河南','陕西'])[g % 7 + 1] || substr(md5(g::text), 1, 6) ||
       (ARRAY['煤焦油深加工','精细化工','新材料科技','光伏能源','食品加工','现代物流','包装制品','石墨制品'])[g % 8 + 1]
       || '有限公司', 'bench'
  FROM generate_series(1, $INVESTORS) g
  JOIN LATERAL (SELECT id FROM unit WHERE kind IN ('town', 'township', 'zone') ORDER BY id
                 OFFSET g % 8 LIMIT 1) u ON true;
ANALYZE investor;
SQL
bench_crm_start --access-log 0
token=$(bench_login "$CRM_URL" bench.viewer 'Bench-viewer-2024')

echo
echo "$INVESTORS investors; GET /api/v1/investors?q=...&limit=50 as a county viewer, $SAMPLES requests each (ms)"
echo "| q            | hits on page 1 |    p50 |    p99 |"
echo "|--------------|----------------|--------|--------|"
for q in 煤焦油 石墨制品 江苏 光伏 nomatch永不; do
  hits=$(curl -s -G -H "Authorization: Bearer $token" --data-urlencode "q=$q" "$CRM_URL/api/v1/investors?limit=50" | jq '.items | length')
  for _ in $(seq 1 "$SAMPLES"); do
    curl -s -o /dev/null -G -w '%{time_total}\n' -H "Authorization: Bearer $token" --data-urlencode "q=$q" \
      "$CRM_URL/api/v1/investors?limit=50"
  done | sort -n > "$OUT/investors-times"
  printf '| %-12s | %14s | %6.2f | %6.2f |\n' "$q" "$hits" "$(pct 50 < "$OUT/investors-times")" \
    "$(pct 99 < "$OUT/investors-times")"
done
