#!/usr/bin/env bash
# Investor search by name at 100,000 investors: GET /api/v1/investors?q=...
# with a Chinese substring (pg_trgm's GIN index on the name), as a county
# viewer, on a Release crm and its own embedded PostgreSQL (setsid for both).
# Prints the p50/p99 of $SAMPLES sequential requests per query.
#
# usage: bench/investors_search.sh [path/to/crm]   (make bench builds it)
set -euo pipefail
cd "$(dirname "$0")/.."
CRM=${1:-build-bench/crm}
OUT=bench/out
DATA="$OUT/investors-db"
INVESTORS=${INVESTORS:-100000}
SAMPLES=${SAMPLES:-200}
mkdir -p "$OUT"

if "$CRM" pg env --data-dir "$DATA" > "$OUT/investors-env.old" 2>/dev/null; then
  eval "$(cat "$OUT/investors-env.old")"
  "$CRM" pg stop --data-dir "$DATA" > /dev/null 2>&1 || true
  rm -rf "$CRM_PG_DIR"
fi
rm -rf "$DATA" "$OUT/investors-env.old"
"$CRM" pg start --data-dir "$DATA" > "$OUT/investors-env"
eval "$(cat "$OUT/investors-env")"
pid=
cleanup() {
  [ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
  "$CRM" pg stop --data-dir "$DATA" > /dev/null 2>&1 || true
}
trap cleanup EXIT
"$CRM" migrate up --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null
printf '%s\n' 'Bench-viewer-2024' | "$CRM" user add --username bench.viewer --role viewer --unit sx.yc.js \
  --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" > /dev/null
echo "generating $INVESTORS investors" >&2
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
setsid "$CRM" serve --listen 127.0.0.1:0 --database-url "$CRM_DATABASE_URL" --access-log 0 \
  > "$OUT/investors-crm.out" 2> "$OUT/investors-crm.err" &
pid=$!
for _ in $(seq 1 100); do grep -q '^crm: serving on ' "$OUT/investors-crm.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^crm: serving on //p' "$OUT/investors-crm.out")
token=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d '{"username":"bench.viewer","password":"Bench-viewer-2024"}' "$url/api/v1/auth/login" | jq -r .token)

echo
echo "$INVESTORS investors; GET /api/v1/investors?q=...&limit=50 as a county viewer, $SAMPLES requests each (ms)"
echo "| q            | hits on page 1 |    p50 |    p99 |"
echo "|--------------|----------------|--------|--------|"
for q in 煤焦油 石墨制品 江苏 光伏 nomatch永不; do
  hits=$(curl -s -G -H "Authorization: Bearer $token" --data-urlencode "q=$q" "$url/api/v1/investors?limit=50" | jq '.items | length')
  for _ in $(seq 1 "$SAMPLES"); do
    curl -s -o /dev/null -G -w '%{time_total}\n' -H "Authorization: Bearer $token" --data-urlencode "q=$q" \
      "$url/api/v1/investors?limit=50"
  done | sort -n > "$OUT/investors-times"
  n=$(wc -l < "$OUT/investors-times")
  p50=$(sed -n "$(( (n + 1) / 2 ))p" "$OUT/investors-times")
  p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$OUT/investors-times")
  printf '| %-12s | %14s | %6.2f | %6.2f |\n' "$q" "$hits" "$(echo "$p50 * 1000" | bc -l)" "$(echo "$p99 * 1000" | bc -l)"
done
