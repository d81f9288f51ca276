#!/usr/bin/env bash
# The restore drill of issue 12 (`make restore-drill`): pgBackRest, configured as
# docker-compose.yml configures it (deploy/pgbackrest/pgbackrest.conf, its paths moved
# into a private folder), backs up a PostgreSQL 15 cluster that crm writes to; then a
# point-in-time restore into a fresh data folder must hold exactly the rows and the
# audit rows of that time, and none written after it.
#
#   1. a private cluster (crm's embedded one: `crm pg start`, run as the unprivileged
#      postgres user when this runs as root) with archive_mode=on and
#      archive_command='pgbackrest ... archive-push %p'; the stanza; crm's migrations
#      and the demo data; a full backup;
#   2. a real crm serving on it; writes through its API (an investor, projects, visits,
#      an edit, a stage change: rows and their audit rows); then, with nothing
#      writing, the recovery point T (the server's clock) and every table's row count
#      and checksum at T, taken twice (before and after T: the same, or nothing
#      defines "the rows at T");
#   3. more writes through the API after T; the WAL holding them archived;
#   4. `pgbackrest restore --type=time --target=T --target-action=promote` into a fresh
#      folder, the restored cluster started: the time from the restore's start to the
#      promoted cluster accepting writes is the RTO;
#   5. the comparison: each table's count and checksum (audit_log among them) equal to
#      those at T; the rows and audit rows written after T absent; crm serving on the
#      restored cluster (a project written before T found, one written after not).
# Prints the recovery point, the RTO and the comparison; exits 1 on any mismatch,
# 2 when the drill itself could not run.
#
# usage: scripts/restore-drill.sh [path/to/crm]   (make restore-drill builds ./build/crm)
# DRILL_DIR: the folder (default: a new one under /tmp, removed after a successful run);
# DRILL_KEEP=1 keeps it.
set -euo pipefail
cd "$(dirname "$0")/.."
CRM=$(realpath "${1:-build/crm}")
CONF_SRC=deploy/pgbackrest/pgbackrest.conf
PGBIN=${CRM_PG_BINDIR:-/usr/lib/postgresql/15/bin}
STANZA=crm
export PGCLIENTENCODING=UTF8 LC_ALL=C.UTF-8

say() { echo "drill: $*"; }
die() { echo "drill: $*" >&2; exit 2; }
[ -x "$CRM" ] || die "$CRM is not built (make restore-drill builds it)"
for t in pgbackrest jq curl psql runuser; do
  command -v "$t" >/dev/null || die "$t is missing (scripts/deps.sh restore-drill installs it)"
done
[ -x "$PGBIN/pg_ctl" ] || die "no PostgreSQL 15 in $PGBIN"

# Everything runs in one folder that the postgres user can enter (short: it holds
# Unix sockets).
if [ -n "${DRILL_DIR:-}" ]; then
  D=$DRILL_DIR
  mkdir -p "$D"
else
  D=$(mktemp -d /tmp/crm-restore-drill.XXXXXX)
fi
D=$(realpath "$D")
chmod 755 "$D"
# as_pg CMD...: CMD as the cluster's user (postgres under root, else ourselves).
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user (apt-get install postgresql-15)"
  as_pg() { runuser -u postgres -- "$@"; }
  pg_owner=postgres
else
  as_pg() { "$@"; }
  pg_owner=$(id -un)
fi
mkdir -p "$D"/repo "$D"/log "$D"/lock "$D"/restored/run "$D"/restored/data
chown "$pg_owner" "$D"/repo "$D"/log "$D"/lock "$D"/restored "$D"/restored/run "$D"/restored/data
chmod 700 "$D"/repo "$D"/restored "$D"/restored/run "$D"/restored/data

crm_pid=""
restored_up=0
cleanup() {
  local rc=$?
  [ -z "$crm_pid" ] || { kill -TERM "$crm_pid" 2>/dev/null || true; wait "$crm_pid" 2>/dev/null || true; }
  [ "$restored_up" = 0 ] || as_pg "$PGBIN/pg_ctl" stop -D "$D/restored/data" -m fast -w >/dev/null 2>&1 || true
  "$CRM" pg stop --data-dir "$D/primary" >/dev/null 2>&1 || true
  if [ "$rc" = 0 ] && [ "${DRILL_KEEP:-0}" != 1 ] && [ -z "${DRILL_DIR:-}" ]; then
    rm -rf "$D"
  else
    echo "drill: kept $D (logs: $D/log, $D/*.log, $D/primary/pg/postgresql.log, $D/restored/postgresql.log)" >&2
  fi
}
trap cleanup EXIT

# --- 1. the cluster, archiving into pgBackRest, and a full backup -------------------

say "folder $D; crm $CRM; $(pgbackrest version); $("$PGBIN/postgres" --version)"
"$CRM" pg start --data-dir "$D/primary" > "$D/env" 2> "$D/pg.log" || { cat "$D/pg.log" >&2; die "crm pg start failed"; }
eval "$(cat "$D/env")"
case "$CRM_PG_DIR" in "$D"/*) ;; *) die "the cluster went to $CRM_PG_DIR, outside $D" ;; esac
SUPER=$CRM_PG_SUPERUSER_URL

# The deployment's pgbackrest.conf with its paths moved here: each must be there.
for k in repo1-path log-path lock-path pg1-path pg1-socket-path; do
  grep -q "^$k=" "$CONF_SRC" || die "$CONF_SRC sets no $k"
done
sed -e "s#^repo1-path=.*#repo1-path=$D/repo#" -e "s#^log-path=.*#log-path=$D/log#" \
    -e "s#^lock-path=.*#lock-path=$D/lock#" -e "s#^pg1-path=.*#pg1-path=$CRM_PG_DIR/data#" \
    -e "s#^pg1-socket-path=.*#pg1-socket-path=$CRM_PG_DIR/run#" "$CONF_SRC" > "$D/pgbackrest.conf"
chmod 644 "$D/pgbackrest.conf"
grep -q "^\[$STANZA\]" "$D/pgbackrest.conf" || die "$CONF_SRC has no stanza [$STANZA]"
PGBR=(pgbackrest "--config=$D/pgbackrest.conf" "--stanza=$STANZA" --log-level-console=warn)
sql() { psql "$1" -X -v ON_ERROR_STOP=1 -qAt -c "$2"; }

# What docker-compose.yml passes with -c, set here with ALTER SYSTEM; then a restart.
sql "$SUPER" "ALTER SYSTEM SET wal_level = replica"
sql "$SUPER" "ALTER SYSTEM SET archive_mode = on"
sql "$SUPER" "ALTER SYSTEM SET archive_command = 'pgbackrest --config=$D/pgbackrest.conf --stanza=$STANZA archive-push %p'"
"$CRM" pg stop --data-dir "$D/primary" >> "$D/pg.log" 2>&1
"$CRM" pg start --data-dir "$D/primary" > /dev/null 2>> "$D/pg.log"
[ "$(sql "$SUPER" "SHOW archive_mode")" = on ] || die "archive_mode is not on after the restart"
as_pg "${PGBR[@]}" stanza-create
as_pg "${PGBR[@]}" check
"$CRM" migrate up --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" \
  --demo > "$D/migrate.log" 2>&1 || { cat "$D/migrate.log" >&2; die "crm migrate failed"; }
PASSWORD='Drill-bureau-2026!'
printf '%s\n' "$PASSWORD" | "$CRM" user add --username drill.bureau --role bureau --unit sx.yc.js.invest \
  --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" >> "$D/migrate.log" 2>&1
t=$(date +%s.%N)
as_pg "${PGBR[@]}" backup --type=full
backup_label=$(as_pg "${PGBR[@]}" info --output=json | jq -r '.[0].backup[-1].label')
say "full backup $backup_label in $(awk -v t="$t" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - t}') s"

# --- 2. crm writes; the recovery point T -------------------------------------------

setsid "$CRM" serve --listen 127.0.0.1:0 --database-url "$CRM_DATABASE_URL" --stall-check-s 0 \
  > "$D/crm.out" 2> "$D/crm.log" &
crm_pid=$!
for _ in $(seq 1 100); do
  grep -q '^crm: serving on ' "$D/crm.out" 2>/dev/null && break
  sleep 0.1
done
URL=$(sed -n 's/^crm: serving on //p' "$D/crm.out")
[ -n "$URL" ] || die "crm did not start (see $D/crm.log)"
login() {
  curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"drill.bureau\",\"password\":\"$PASSWORD\"}" "$1/api/v1/auth/login" | jq -r .token
}
TOKEN=$(login "$URL")
{ [ -n "$TOKEN" ] && [ "$TOKEN" != null ]; } || die "cannot log in to crm"
# api METHOD PATH [BODY] [HEADER...]: the answer's body; dies on anything but 2xx.
api() {
  local method=$1 path=$2 body=${3:-} out code
  shift 3 || shift $#
  local args=(-s -o "$D/answer" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $TOKEN")
  [ -z "$body" ] || args+=(-H 'Content-Type: application/json' -d "$body")
  for h in "$@"; do args+=(-H "$h"); done
  code=$(curl "${args[@]}" "$URL$path")
  out=$(cat "$D/answer")
  [[ $code == 2* ]] || die "$method $path answered $code: $out"
  printf '%s' "$out"
}
TODAY=$(TZ=Asia/Shanghai date +%F)
UNIT=$(api GET /api/v1/units | jq '.items[] | select(.code == "sx.yc.js.xishe") | .id')
# write_batch L: an investor, 4 projects (Idempotency-Key), 2 visits each, an edit
# (If-Match) and a stage change: 15 writes, each with its audit rows. Prints the ids.
write_batch() {
  local L=$1 inv p ids=() i v
  inv=$(api POST /api/v1/investors "{\"name\":\"演练投资方$L\",\"unit_id\":$UNIT,\"industry\":\"新材料\"}" | jq .id)
  for i in 1 2 3 4; do
    p=$(api POST /api/v1/projects "{\"code\":\"DRILL-$L-00$i\",\"name\":\"演练项目$L$i\",\"unit_id\":$UNIT,
      \"investor_id\":$inv,\"planned_investment_yuan\":$((i * 100000000)),\"stage\":\"negotiating\"}" \
      "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" | jq .id)
    ids+=("$p")
    for v in 1 2; do
      api POST /api/v1/interactions "{\"unit_id\":$UNIT,\"project_id\":$p,\"kind\":\"site_visit\",
        \"occurred_on\":\"$TODAY\",\"summary\":\"演练$L：第${v}次考察项目$L$i\"}" > /dev/null
    done
  done
  v=$(api GET "/api/v1/projects/${ids[0]}" | jq .version)
  api PATCH "/api/v1/projects/${ids[0]}" "{\"plan\":\"演练$L：修改计划\"}" "If-Match: \"$v\"" > /dev/null
  api POST "/api/v1/projects/${ids[1]}/transitions" '{"to":"stalled"}' > /dev/null
  echo "${ids[*]}"
}

# fingerprint URL: "table count md5" for every table of crm's database, in one snapshot.
TABLES=$(sql "$CRM_MIGRATE_DATABASE_URL" "SELECT string_agg(quote_ident(table_schema) || '.' || quote_ident(table_name), ' ' ORDER BY 1)
  FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')")
[ -n "$TABLES" ] || die "crm's database has no tables"
fingerprint() {
  local q="" t
  for t in $TABLES; do
    [ -z "$q" ] || q+=" UNION ALL "
    q+="SELECT '$t', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM $t x"
  done
  psql "$1" -X -v ON_ERROR_STOP=1 -qAt -F ' ' \
    -c "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" -c "$q ORDER BY 1" -c "COMMIT"
}
CRM_DB=${SUPER/dbname=postgres/dbname=crm}   # the superuser sees every row (no RLS)

say "writing before T through crm's API ($URL)"
ids_a=$(write_batch A)
fingerprint "$CRM_DB" > "$D/at_t.before"
sleep 1
T=$(sql "$CRM_DB" "SET TIME ZONE 'UTC'; SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1
fingerprint "$CRM_DB" > "$D/at_t"
cmp -s "$D/at_t.before" "$D/at_t" || { diff "$D/at_t.before" "$D/at_t" >&2 || true; die "the database changed while nothing wrote: no state defines T"; }
audit_t=$(awk '$1 == "public.audit_log" {print $2}' "$D/at_t")

# --- 3. more writes after T, archived -----------------------------------------------

say "recovery point T = $T; writing after T"
TOKEN=$(login "$URL")   # a new session after T (absent once restored)
ids_b=$(write_batch B)
kill -TERM "$crm_pid"; wait "$crm_pid" || die "crm exited non-zero on SIGTERM"
crm_pid=""
fingerprint "$CRM_DB" > "$D/at_end"
audit_end=$(awk '$1 == "public.audit_log" {print $2}' "$D/at_end")
audit_after_t=$(sql "$CRM_DB" "SELECT count(*) FROM audit_log WHERE at > '$T'")
audit_upto_t_live=$(sql "$CRM_DB" "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM audit_log x WHERE at <= '$T'")
# The WAL holding the writes after T, archived (the restore reads up to the first
# commit after T to know where to stop).
# Recovery needs max_connections (and the like) at least the primary's: crm's embedded
# cluster starts with more than postgresql.conf says.
maxconn=$(sql "$SUPER" "SHOW max_connections")
wal=$(sql "$SUPER" "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 300); do
  last=$(sql "$SUPER" "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
  [[ "$last" < "$wal" ]] || break
  sleep 0.1
done
[[ ! "$last" < "$wal" ]] || die "WAL $wal was not archived in 30 s (see $CRM_PG_DIR/postgresql.log)"
"$CRM" pg stop --data-dir "$D/primary" >> "$D/pg.log" 2>&1

# --- 4. the point-in-time restore into a fresh folder ------------------------------

say "restoring to T into $D/restored/data"
t0=$(date +%s.%N)
as_pg "${PGBR[@]}" restore "--pg1-path=$D/restored/data" --type=time "--target=$T" \
  --target-action=promote --archive-mode=off
t1=$(date +%s.%N)
as_pg "$PGBIN/pg_ctl" start -D "$D/restored/data" -w -t 300 -l "$D/restored/postgresql.log" \
  -o "-c listen_addresses='' -c unix_socket_directories='$D/restored/run' -p 5432 -c max_connections=$maxconn" \
  > "$D/restored/pg_ctl.log"
restored_up=1
R_SUPER="host=$D/restored/run port=5432 dbname=postgres user=postgres"
R_DB="host=$D/restored/run port=5432 dbname=crm user=postgres"
for _ in $(seq 1 600); do
  [ "$(sql "$R_SUPER" "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && break
  sleep 0.1
done
[ "$(sql "$R_SUPER" "SELECT pg_is_in_recovery()")" = f ] || die "the restored cluster is still in recovery after 60 s"
t2=$(date +%s.%N)
rto=$(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')
rto_restore=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
rto_replay=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')
stopped=$(grep -oE 'recovery stopping [^,]*, time [^ ]+ [^ ]+' "$D/restored/postgresql.log" | tail -1 || true)
last_tx=$(grep -oE 'last completed transaction was at log time .*' "$D/restored/postgresql.log" | tail -1 || true)

# --- 5. the comparison -------------------------------------------------------------

fingerprint "$R_DB" > "$D/restored.fp"
failures=()
check() {  # check WHAT EXPECTED FOUND
  if [ "$2" = "$3" ]; then printf '  ok    %-52s %s\n' "$1" "$3"; else
    printf '  FAIL  %-52s expected %s, found %s\n' "$1" "$2" "$3"; failures+=("$1"); fi
}
echo
echo "recovery point (T):    $T"
echo "recovery stopped:      ${stopped:-?}"
echo "                       ${last_tx:-}"
echo "restore time (RTO):    $rto s (pgbackrest restore $rto_restore s, start and WAL replay to T $rto_replay s)"
echo
echo "rows per table (count at T / found after the restore / at the end, after T):"
LC_ALL=C join "$D/at_t" "$D/restored.fp" | LC_ALL=C join - "$D/at_end" | while read -r t c_t m_t c_r m_r c_e m_e; do
  mark=ok; [ "$c_t $m_t" = "$c_r $m_r" ] || mark=FAIL
  changed=""
  if [ "$c_e" != "$c_t" ]; then changed="   ($((c_e - c_t)) more after T)"
  elif [ "$m_e" != "$m_t" ]; then changed="   (changed after T)"; fi
  printf '  %-4s %-28s %7s / %7s / %7s%s\n' "$mark" "${t#public.}" "$c_t" "$c_r" "$c_e" "$changed"
done
rows_t=$(awk '{s += $2} END {print s}' "$D/at_t")
rows_r=$(awk '{s += $2} END {print s}' "$D/restored.fp")
rows_e=$(awk '{s += $2} END {print s}' "$D/at_end")
printf '       %-28s %7s / %7s / %7s\n' "all $(wc -l < "$D/at_t") tables" "$rows_t" "$rows_r" "$rows_e"
echo
echo "checks:"
check "tables at T = tables restored" "$(wc -l < "$D/at_t")" "$(wc -l < "$D/restored.fp")"
check "rows at T = rows restored (all tables)" "$rows_t" "$rows_r"
check "every table's rows (count and checksum) as at T" "$(md5sum < "$D/at_t" | cut -c1-12)" "$(md5sum < "$D/restored.fp" | cut -c1-12)"
check "audit rows at T = audit rows restored" "$audit_t" "$(awk '$1 == "public.audit_log" {print $2}' "$D/restored.fp")"
check "audit rows (count and checksum) up to T, live = restored" "$audit_upto_t_live" \
  "$(sql "$R_DB" "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM audit_log x")"
check "audit rows after T restored (live: $audit_after_t)" 0 "$(sql "$R_DB" "SELECT count(*) FROM audit_log WHERE at > '$T'")"
check "writes after T happened (audit rows at the end > at T)" yes "$([ "$audit_end" -gt "$audit_t" ] && echo yes || echo no)"
check "projects written before T restored" 4 "$(sql "$R_DB" "SELECT count(*) FROM project WHERE code LIKE 'DRILL-A-%'")"
check "projects written after T restored" 0 "$(sql "$R_DB" "SELECT count(*) FROM project WHERE code LIKE 'DRILL-B-%'")"
check "interactions written before T restored" 8 "$(sql "$R_DB" "SELECT count(*) FROM interaction WHERE summary LIKE '演练A：%'")"
check "interactions written after T restored" 0 "$(sql "$R_DB" "SELECT count(*) FROM interaction WHERE summary LIKE '演练B：%'")"
check "the edit before T restored" "演练A：修改计划" "$(sql "$R_DB" "SELECT plan FROM project WHERE code = 'DRILL-A-001'")"

# crm on the restored cluster: the app role, row-level security, a session made now.
setsid "$CRM" serve --listen 127.0.0.1:0 --database-url "host=$D/restored/run port=5432 dbname=crm user=crm_app" \
  --stall-check-s 0 > "$D/crm-restored.out" 2> "$D/crm-restored.log" &
crm_pid=$!
for _ in $(seq 1 100); do
  grep -q '^crm: serving on ' "$D/crm-restored.out" 2>/dev/null && break
  sleep 0.1
done
URL=$(sed -n 's/^crm: serving on //p' "$D/crm-restored.out")
check "crm serves the restored cluster (/readyz)" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")"
TOKEN=$(login "$URL" || true)
read -r a1 _ <<<"$ids_a"
read -r b1 _ <<<"$ids_b"
status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL$1"; }
check "crm: a project written before T (GET /projects/$a1)" 200 "$(status "/api/v1/projects/$a1")"
check "crm: a project written after T (GET /projects/$b1)" 404 "$(status "/api/v1/projects/$b1")"
kill -TERM "$crm_pid"; wait "$crm_pid" || true
crm_pid=""

echo
if [ ${#failures[@]} -eq 0 ]; then
  say "passed: restored to $T in $rto s; ${audit_t} audit rows and every table as at T, nothing written after T"
else
  say "FAILED: ${failures[*]}"
  exit 1
fi
