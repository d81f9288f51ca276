#!/usr/bin/env bash
# The benchmark of issue 6 in one run: crm against the stack most teams would
# write (bench/peer: fastify + postgres.js, one worker per core) and against
# the database's own ceiling (pgbench running exactly crm's statements), on
# one PostgreSQL tuned for this box, at two scales. Prints one table at the
# end and writes it, with the machine and the details, to bench/RESULTS.md.
#
#  1. builds a Release crm (build-bench/), installs the peer (npm ci) when
#     bench/peer/server.js exists (else its columns say n/a);
#  2. for each scale (county: 11 units, 1,000 projects; province: 1,992 units,
#     1,000,000 projects, 5,000,000 interactions, 100,000 investors) a fresh
#     cluster (crm pg start makes it, then it is restarted by pg_ctl with the
#     settings below, listening on 127.0.0.1:$PGPORT: crm, the peer and
#     pgbench all connect over TCP, as crm_app, so row-level security applies
#     to all three), migrated, filled by bench/data/generate.sh;
#  3. users (viewers of the root for the reads, unit-role writers for the
#     write, login users for the storm), each logged in once through crm:
#     their tokens go to the wrk scripts (bench/lua/*.lua, round robin), and
#     their sessions' callers (what crm's copy of a check holds) to pgbench;
#  4. for each route, crm, then the peer, then the ceiling, each under setsid
#     (../shared/BENCHMARKING.md), each on an idle database (no statement of
#     crm_app running) and after a 2 s warm-up:
#       wrk -t2 -c64 -d${DURATION}s --latency -s bench/lua/<route>.lua
#       pgbench -n -M prepared -c64 -j2 -T(2 + $DURATION) -P1 -f bench/pgbench/<route>.sql
#         (its last $DURATION seconds: the same, warm, backends)
#     sampling the server's RSS (the peer: all its processes) every 0.2 s, and
#     the CPU time of the server, of the PostgreSQL backends, of the load
#     generator and of the whole machine (what other sessions took) over the run;
#       county:   GET /stats/units/{county}        (1,000 projects below it)
#       province: GET /healthz, GET /projects/{id}, GET /projects?unit_id=..&limit=50,
#                 GET /stats/units/{province}       (1,000,000 projects below it),
#                 POST /interactions, then the login storm (POST /auth/login,
#                 wrk --timeout 30s) with GET /healthz -c8 measured during it;
#  5. a short probe per route with pg_stat_statements tracking on: which
#     statements each contender sent per request (the ceiling's must be
#     crm's), and the JSON of crm and the peer compared for one request.
#
# usage: bench/run.sh            (make bench)
# env:   DURATION=10 (seconds per measured run) WARMUP=2 CONNECTIONS=64 THREADS=2
#        PGPORT=55432 PEER_PORT=8090 SCALES="county province"
#        ROUNDS=3: runs of crm and of the peer per compared route, alternating
#          (see contend); PEER=0 or ROUNDS=1 for one run each
#        SWEEP_CONNECTIONS="1 2 4 8 16 32" SWEEP_S=4 SWEEP_P99_MS=5: crm's latency
#          below saturation, each route after its main run (a table of p50/p99 by
#          connections, and the largest concurrency with p99 under 5 ms)
#        REUSE=1: keep the generated data of a previous run when its parameters,
#          bench/data/generate.* and the SQL (migrations/, schema/) are
#          unchanged (a run adds interactions and sessions: for trying the
#          script, not for figures)
#        PEER=0 skips the peer; CRM_BENCH_FLAGS: more `crm serve` flags
#        OUT=bench/out/run (raw outputs, the clusters' data)
#        RESULTS=bench/RESULTS.md (where the report goes; $OUT/RESULTS.md when
#          any of the four settings below is given: not a run for the record)
#        BENCH_ROUTES=list,stats,...: only these routes (comma-separated), and
#          only the scales they need: healthz, get (project_get), list
#          (projects_list), stats (stats_county and stats_province), write
#          (interaction_create), login (the storm and /healthz during it)
#        CRM_BENCH_BIN=/path/to/crm: measure this crm instead of build-bench/crm
#          (not built here); CRM_BENCH_SQL_DIR=/path/to/sql: its SQL folder
#          (migrations/, given to crm as CRM_SQL_DIR; without it, the folder
#          that crm was built with); both relative to the current folder
#        COUNTY_UNITS=11 COUNTY_PROJECTS=1000 COUNTY_INVESTORS=100
#          COUNTY_INTERACTIONS=5000 PROVINCE_UNITS=2000 PROVINCE_PROJECTS=1000000
#          PROVINCE_INVESTORS=100000 PROVINCE_INTERACTIONS=5000000: smaller
#          scales, to try the script (the labels keep the sizes above)
#        (bench/lib.sh: the set-up shared with the other bench scripts)
#
# Two builds back to back, e.g. the commit before a change against the tree:
# the older one built in a folder of its own (git archive, no checkout), then
# each measured on the same routes, each with its own OUT:
#
#   git archive OLD_COMMIT | (mkdir -p /tmp/crm-old && tar -x -C /tmp/crm-old)
#   cmake -S /tmp/crm-old -B /tmp/crm-old/build -DCMAKE_BUILD_TYPE=Release -DCRM_TESTS=OFF
#   cmake --build /tmp/crm-old/build -j2
#   CRM_BENCH_BIN=/tmp/crm-old/build/crm CRM_BENCH_SQL_DIR=/tmp/crm-old/sql \
#     BENCH_ROUTES=get,list,stats OUT=bench/out/old bench/run.sh
#   BENCH_ROUTES=get,list,stats OUT=bench/out/new bench/run.sh
#   (reports: bench/out/old/RESULTS.md and bench/out/new/RESULTS.md)
#
# Both use this tree's bench/ (data generator, wrk and pgbench scripts, the
# peer): the older schema must accept them.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
T_BEGIN=$(date +%s)

OUT=${OUT:-bench/out/run}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
SWEEP_CONNECTIONS=${SWEEP_CONNECTIONS:-1 2 4 8 16 32}
SWEEP_S=${SWEEP_S:-4}
SWEEP_P99_MS=${SWEEP_P99_MS:-5}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
PGPORT=${PGPORT:-55432}
PEER_PORT=${PEER_PORT:-8090}
SCALES=${SCALES:-county province}
REUSE=${REUSE:-0}
PEER=${PEER:-1}
COUNTY_SIZE="${COUNTY_UNITS:-11} ${COUNTY_PROJECTS:-1000} ${COUNTY_INVESTORS:-100} ${COUNTY_INTERACTIONS:-5000}"
PROVINCE_SIZE="${PROVINCE_UNITS:-2000} ${PROVINCE_PROJECTS:-1000000} ${PROVINCE_INVESTORS:-100000} ${PROVINCE_INTERACTIONS:-5000000}"
# Not a run for the record: what it leaves out or changes (the report says so).
TRIAL=
[ -z "${BENCH_ROUTES:-}" ] || TRIAL+="${TRIAL:+; }only routes $BENCH_ROUTES"
[ -z "${CRM_BENCH_BIN:-}" ] || TRIAL+="${TRIAL:+; }crm $CRM_BENCH_BIN"
[ -z "${CRM_BENCH_SQL_DIR:-}" ] || TRIAL+="${TRIAL:+; }SQL from $CRM_BENCH_SQL_DIR"
[ "$COUNTY_SIZE $PROVINCE_SIZE" = "11 1000 100 5000 2000 1000000 100000 5000000" ] ||
  TRIAL+="${TRIAL:+; }scales of units, projects, investors, interactions: county $COUNTY_SIZE, province $PROVINCE_SIZE"
if [ -n "$TRIAL" ]; then RESULTS=${RESULTS:-$OUT/RESULTS.md}; else RESULTS=${RESULTS:-bench/RESULTS.md}; fi
YEAR=2024
IDLE_S=1800                 # crm's default CRM_SESSION_IDLE_S: what auth_session gets
READ_ROLES='{admin,leader,bureau,unit,viewer}'   # READERS in crm/api/routes.c, as role_array_literal writes it
LOG_ROLES='{admin,leader,bureau,unit}'           # LOGGERS (POST /interactions)
PASSWORD='Bench-run-2024!'
N_READERS=4
N_WRITERS=4
N_LOGIN=4
export BENCH_LUA_DIR=$ROOT/bench/lua

# BENCH_ROUTES: the short names made route keys (route_wanted KEY).
if [ -n "${BENCH_ROUTES:-}" ]; then
  routes=
  for r in ${BENCH_ROUTES//,/ }; do
    case $r in
      healthz | login | stats_county | stats_province) routes+=,$r ;;
      get | project_get) routes+=,project_get ;;
      list | projects_list) routes+=,projects_list ;;
      stats) routes+=,stats_county,stats_province ;;
      write | interaction_create) routes+=,interaction_create ;;
      *) die "BENCH_ROUTES: no route $r (healthz, get, list, stats, stats_county, stats_province, write, login)" ;;
    esac
  done
  BENCH_ROUTES=${routes#,}
fi

# ---- processes started here, stopped at exit (bench/lib.sh: crm, bg_pid) ------

peer_pid='' sampler_pid='' PGDATA_DIR='' HUGEPAGES_BEFORE=''
pg_stop() {
  [ -n "$PGDATA_DIR" ] || return 0
  runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl stop -D "$PGDATA_DIR" -m fast -w > /dev/null 2>&1 || true
  PGDATA_DIR=
}
hugepages_restore() {
  if [ -n "$HUGEPAGES_BEFORE" ] && [ "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null)" != "$HUGEPAGES_BEFORE" ]; then
    echo "$HUGEPAGES_BEFORE" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  fi
}
bench_on_exit() {
  [ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null || true
  stop_pid "$peer_pid"; peer_pid=
  pg_stop
  hugepages_restore
}

# The same PostgreSQL for every contender. Durable commits (fsync and
# synchronous_commit on, the defaults): the write is measured as it would run.
PG_SETTINGS=(
  "listen_addresses=127.0.0.1"
  "max_connections=200"
  "shared_buffers=4GB"
  "effective_cache_size=8GB"
  "work_mem=16MB"
  "maintenance_work_mem=512MB"
  "wal_buffers=16MB"
  "max_wal_size=8GB"
  "checkpoint_timeout=30min"
  "checkpoint_completion_target=0.9"
  "synchronous_commit=on"
  "fsync=on"
  "random_page_cost=1.1"
  "jit=off"
  "shared_preload_libraries=pg_stat_statements"
)
# pg_stat_statements.track is 'none' but for the statement probes (set with
# ALTER SYSTEM: the command line would override it).
#
# Huge pages for shared_buffers: each backend otherwise takes a page fault
# the first time it touches each 4 kB of the 4 GB buffer cache, which on this
# virtual machine costs about 15 µs: a fresh connection read a township's 51
# projects in 1.0 ms, the same query again in 0.1 ms, and at the province
# scale the 64 connections of a run kept faulting (pgbench -c8 on crm's
# statements: the point read +18%, the list page +39% with huge pages).
# When the kernel has too few reserved and we may reserve them (root), 2,300
# pages of 2 MB are reserved for the run and given back at the end;
# otherwise huge_pages=try.
HUGEPAGES_BEFORE=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo '')
HUGEPAGES_NOTE="huge pages not available"
if [ "$(sed -n 's/^Hugepagesize: *\([0-9]*\) kB/\1/p' /proc/meminfo 2>/dev/null)" = 2048 ]; then
  if [ "${HUGEPAGES_BEFORE:-0}" -lt 2300 ] && [ -w /proc/sys/vm/nr_hugepages ]; then
    echo 2300 > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  fi
  if [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 2300 ]; then
    PG_SETTINGS+=("huge_pages=on")
    HUGEPAGES_NOTE="shared_buffers in 2 MB huge pages (vm.nr_hugepages=$(cat /proc/sys/vm/nr_hugepages) during the run)"
  else
    PG_SETTINGS+=("huge_pages=try")
    HUGEPAGES_NOTE="huge pages could not be reserved (vm.nr_hugepages=$(cat /proc/sys/vm/nr_hugepages)): 4 kB pages"
  fi
fi

mkdir -p "$OUT"
LOG="$OUT/run.log"
: > "$LOG"
say() { printf '[%4ds] %s\n' "$(( $(date +%s) - T_BEGIN ))" "$*" | tee -a "$LOG" >&2; }

# ---- build, peer install ---------------------------------------------------

for tool in wrk pgbench psql jq curl runuser; do
  command -v "$tool" > /dev/null || die "$tool is missing (make bench installs it: scripts/deps.sh bench)"
done
PGBIN=$(pg_config --bindir)
bench_crm build-bench/crm "${CRM:-}"
bench_build always

PEER_NOTE=
if [ "$PEER" != 1 ]; then
  PEER_NOTE="skipped (PEER=0)"
elif [ ! -f bench/peer/server.js ]; then
  PEER_NOTE="n/a: bench/peer/server.js does not exist yet"
elif ! command -v node > /dev/null; then
  PEER_NOTE="n/a: no node"
else
  say "installing the peer (npm ci --prefix bench/peer)"
  if ! npm ci --prefix bench/peer --no-audit --no-fund --loglevel=error > "$OUT/peer-npm.log" 2>&1; then
    PEER_NOTE="n/a: npm ci failed (see $OUT/peer-npm.log)"
  fi
fi
[ -n "$PEER_NOTE" ] && say "peer: $PEER_NOTE"

# ---- the cluster -------------------------------------------------------------

PEER_DB_URL="postgres://crm_app@127.0.0.1:$PGPORT/crm"

# pg_launch PG_DIR: starts the cluster of PG_DIR with PG_SETTINGS, on TCP;
# crm (CRM_DATABASE_URL), its migrations (CRM_MIGRATE_DATABASE_URL) and
# supsql (SU_URL) then connect there.
pg_launch() {
  local dir=$1 opts="-p $PGPORT -c unix_socket_directories='$1/run'" s
  for s in "${PG_SETTINGS[@]}"; do opts+=" -c $s"; done
  # Left running by an interrupted run: stopped first.
  runuser -u postgres -- "$PGBIN/pg_ctl" status -D "$dir/data" > /dev/null 2>&1 &&
    runuser -u postgres -- "$PGBIN/pg_ctl" stop -D "$dir/data" -m fast -w > /dev/null 2>&1
  if (exec 3<> "/dev/tcp/127.0.0.1/$PGPORT") 2> /dev/null; then
    die "127.0.0.1:$PGPORT is taken (PGPORT=... picks another port)"
  fi
  PGDATA_DIR=$dir/data
  setsid runuser -u postgres -- "$PGBIN/pg_ctl" start -D "$PGDATA_DIR" -w -t 120 -l "$dir/postgresql.log" \
    -o "$opts" > /dev/null || { tail -20 "$dir/postgresql.log" >&2; die "pg_ctl start"; }
  psql "host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres" -X -q -v ON_ERROR_STOP=1 \
    -c "ALTER SYSTEM SET pg_stat_statements.track = 'none'" -c "SELECT pg_reload_conf()" > /dev/null
  CRM_DATABASE_URL="host=127.0.0.1 port=$PGPORT dbname=crm user=crm_app"
  CRM_MIGRATE_DATABASE_URL="host=127.0.0.1 port=$PGPORT dbname=crm user=crm_owner"
  SU_URL="host=127.0.0.1 port=$PGPORT dbname=crm user=postgres"
}

# scale_cluster NAME UNITS PROJECTS INVESTORS INTERACTIONS: a running cluster
# holding that scale (fresh and generated, or the previous run's with REUSE=1).
scale_cluster() {
  local name=$1 units=$2 projects=$3 investors=$4 interactions=$5
  local data="$OUT/$name-db" stamp
  BENCH_TAG=$name-
  local sql; mapfile -t sql < <(find "$BENCH_SQL_DIR/migrations" "$BENCH_SQL_DIR/schema" -name '*.sql' 2>/dev/null | sort)
  stamp="$units $projects $investors $interactions $(cat bench/data/generate.sh bench/data/generate.sql "${sql[@]}" | sha1sum | cut -c1-16)"
  local pgdir
  pgdir=$("$CRM" pg env --data-dir "$data" 2>/dev/null | sed -n "s/^CRM_PG_DIR='\(.*\)'$/\1/p")
  if [ "$REUSE" = 1 ] && [ -n "$pgdir" ] && [ "$(cat "$data/scale" 2>/dev/null)" = "$stamp" ]; then
    say "$name: REUSE=1, the data of the previous run ($data)"
    pg_launch "$pgdir"
    prewarm "$name"
    return
  fi
  # A fresh cluster: crm makes it (initdb, roles, database), pg_ctl restarts it with our settings.
  bench_pg_fresh "$data"
  bench_pg_start "$data"
  bench_pg_stop
  pg_launch "$CRM_PG_DIR"
  bench_migrate
  say "$name: generating $projects projects, $interactions interactions, $investors investors, ~$units units"
  UNITS=$units PROJECTS=$projects INVESTORS=$investors INTERACTIONS=$interactions \
    bench/data/generate.sh "$SU_URL" 2>&1 | tee -a "$LOG" | sed 's/^/    /' >&2
  supsql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
  local i
  for i in $(seq 1 "$N_READERS"); do bench_user_add "bench.read$i" viewer bench "$PASSWORD"; done
  for i in $(seq 1 "$N_WRITERS"); do bench_user_add "bench.write$i" unit bench "$PASSWORD"; done
  for i in $(seq 1 "$N_LOGIN"); do bench_user_add "bench.login$i" unit bench "$PASSWORD"; done
  supsql -c "CHECKPOINT" > /dev/null
  echo "$stamp" > "$data/scale"
  prewarm "$name"
}
# The whole database fits in shared_buffers: it is loaded there before the
# runs, so that every contender meets a warm server (not the first reads of
# a 2 s warm-up).
prewarm() {
  local t0 n; t0=$(date +%s)
  supsql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" > /dev/null
  n=$(supsql -c "SELECT sum(pg_prewarm(c.oid)) FROM pg_class c
                  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 't', 'm')
                  AND c.relpersistence = 'p'")
  say "$1: prewarmed $((n * 8 / 1024)) MB into shared_buffers in $(( $(date +%s) - t0 )) s"
}

# ---- the contenders ------------------------------------------------------------

PEER_URL=''
start_crm() {  # start_crm NAME
  # The login throttles and the cap on hashes in flight out of the way of the
  # storm (no login fails; none must be refused), as bench/login_storm.sh.
  BENCH_TAG=$1-
  # Its schedule off (--jobs-tick-s 0 --stall-check-s 0): a day's alerts digest
  # or the hourly expiry would run inside whichever route is measured first.
  bench_crm_start --access-log 0 --hash-max-in-flight 256 --login-max-failures 1000 \
    --login-max-failures-address 100000 --jobs-tick-s 0 --stall-check-s 0
}
start_peer() {  # start_peer NAME
  [ -z "$PEER_NOTE" ] || return 0
  if (exec 3<> "/dev/tcp/127.0.0.1/$PEER_PORT") 2> /dev/null; then
    PEER_NOTE="n/a: 127.0.0.1:$PEER_PORT was taken"; return 0
  fi
  PORT=$PEER_PORT DATABASE_URL=$PEER_DB_URL WORKERS=2 setsid node bench/peer/server.js \
    > "$OUT/$1-peer.out" 2> "$OUT/$1-peer.err" &
  peer_pid=$!
  PEER_URL=http://127.0.0.1:$PEER_PORT
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$PEER_URL/healthz" 2>/dev/null && return 0
    kill -0 "$peer_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$OUT/$1-peer.err" >&2
  PEER_NOTE="n/a: the peer did not start (see $OUT/$1-peer.err)"
  stop_pid "$peer_pid"; peer_pid=
}
stop_contenders() { stop_pid "$crm_pid"; crm_pid=; stop_pid "$peer_pid"; peer_pid=; }

# ---- measuring -----------------------------------------------------------------

per_req() { awk -v t="$1" -v hz="$hz" -v n="$2" 'BEGIN {printf "%.0f", (n > 0) ? t / hz * 1e6 / n : 0}'; }
little() { awk -v c="$1" -v r="$2" 'BEGIN {printf "%.2f", (r > 0) ? c / r * 1000 : 0}'; }
tree_pids() {  # the process and its descendants
  local p=$1 c
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}
tree_sum() {  # tree_sum PID FILE PROGRAM: awk PROGRAM on /proc/P/FILE, summed over the tree
  local t=0 p r
  for p in $(tree_pids "$1"); do
    r=$(awk "$3" "/proc/$p/$2" 2>/dev/null || true)
    t=$((t + ${r:-0}))
  done
  echo "$t"
}
# shellcheck disable=SC2016 # awk programs
tree_rss_kb() { tree_sum "$1" status '/^VmRSS:/ {print $2}'; }   # kB
# shellcheck disable=SC2016
tree_ticks() { tree_sum "$1" stat '{print $14 + $15}'; }         # CPU, clock ticks
pg_children() { ps -o pid= --ppid "$(head -1 "$PGDATA_DIR/postmaster.pid")" | wc -l; }
# pg_backends_gone N: waits (up to 10 s) until the postmaster has N children
# again: the CPU time of an exiting backend is counted (in the postmaster's
# cutime) only once it has been reaped.
pg_backends_gone() {
  for _ in $(seq 1 100); do
    [ "$(pg_children)" -le "$1" ] && break
    sleep 0.1
  done
  sleep 0.2
}
# Waits until no statement of crm_app has run for 0.5 s (up to 30 s): the
# queries a previous run left queued (a slow route's) must not eat into the
# next contender's run.
pg_quiesce() {
  local quiet=0 n
  for _ in $(seq 1 300); do
    n=$(supsql -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'crm_app' AND state <> 'idle' AND pid <> pg_backend_pid()")
    if [ "$n" = 0 ]; then quiet=$((quiet + 1)); [ "$quiet" -ge 5 ] && return 0; else quiet=0; fi
    sleep 0.1
  done
  say "  warning: statements of crm_app still running after 30 s"
}
# follow_ticks PID: waits for PID (a load generator) to end, printing its
# last CPU ticks read (polled every 0.2 s: /proc/PID is gone once it ends).
follow_ticks() {
  local last=0 v
  while kill -0 "$1" 2>/dev/null; do
    v=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || true)
    [ -n "$v" ] && last=$v
    sleep 0.2
  done
  wait "$1" 2>/dev/null || true
  echo "$last"
}
# others_pct BUSY0 TOTAL0 BUSY1 TOTAL1 OURS_TICKS: the share of the machine's
# CPU not charged to the run's processes, in %: other processes (other sessions
# on this box), steal, and interrupt and softirq work charged to none of the
# run's processes (while a core idled, or by ksoftirqd), which on loopback is
# mostly the run's own network traffic
others_pct() {
  awk -v b="$(($3 - $1))" -v t="$(($4 - $2))" -v o="$5" 'BEGIN {v = (t > 0) ? (b - o) * 100 / t : 0; if (v < 0) v = 0; printf "%.0f", v}'
}
sampler_start() {  # sampler_start PID FILE: the peak RSS (kB) of the process tree, every 0.2 s
  local pid=$1 file=$2
  echo 0 > "$file"
  ( peak=0; while kill -0 "$pid" 2>/dev/null; do
      r=$(tree_rss_kb "$pid"); [ "$r" -gt "$peak" ] && { peak=$r; echo "$peak" > "$file"; }
      sleep 0.2; done ) &
  sampler_pid=$!
}
sampler_stop() { [ -n "$sampler_pid" ] && { kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; }; sampler_pid=; }

declare -A R   # R[key.field]: every figure measured, key = route key + contender

# wrk_parse KEY FILE CONNS [TIMEOUT_MS]
wrk_parse() {
  local k=$1 f=$2 c=$3
  R[$k.rps]=$(wrk_field "$f" rps | awk '{printf "%.0f", $1}')
  R[$k.reqs]=$(wrk_field "$f" reqs)
  R[$k.avg]=$(ms "$(wrk_field "$f" avg)")
  R[$k.max]=$(ms "$(wrk_field "$f" max)")
  R[$k.p50]=$(ms "$(wrk_field "$f" p50)")
  R[$k.p99]=$(ms "$(wrk_field "$f" p99)")
  local non2xx sock timeouts
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$f")
  sock=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$f")
  timeouts=$(awk '/Socket errors/ {print $NF}' "$f")
  R[$k.errors]=$(( ${non2xx:-0} + ${sock:-0} ))
  local detail=""
  [ -n "$non2xx" ] && detail="non-2xx $non2xx ($(sed -n 's/^statuses: //p' "$f"))"
  [ -n "$sock" ] && detail="${detail:+$detail; }$(grep 'Socket errors' "$f" | sed 's/^ *//')"
  # wrk leaves answers slower than its timeout out of the latency histogram
  # (and counts them as timeouts): the percentiles they would move are shown
  # as "> timeout"; no answer at all is an error of every connection.
  local n=${R[$k.reqs]:-0} tmo_ms=${4:-2000}
  if [ "$n" = 0 ]; then
    R[$k.errors]=$((R[$k.errors] + c)); detail="${detail:+$detail; }no answer at all during the run"
    R[$k.p50]="-"; R[$k.p99]="-"; R[$k.avg]="-"; R[$k.max]="-"
  elif [ "${timeouts:-0}" -gt 0 ]; then
    awk -v t="$timeouts" -v n="$n" 'BEGIN {exit !(t > 0.01 * n)}' && R[$k.p99]="> $tmo_ms"
    awk -v t="$timeouts" -v n="$n" 'BEGIN {exit !(t > 0.5 * n)}' && { R[$k.p50]="> $tmo_ms"; R[$k.avg]="> $tmo_ms"; R[$k.max]="> $tmo_ms"; }
  fi
  R[$k.errdetail]=$detail
  R[$k.little]=$(little "$c" "${R[$k.rps]}")
}

# wrk_run KEY WHO URL LUA|- [extra wrk args]: warm-up, then the measured run
wrk_run() {
  local key=$1 who=$2 url=$3 lua=$4; shift 4
  local k=$key.$who pid file="$OUT/wrk-$key-$who.txt"
  if [ "$who" = crm ]; then pid=$crm_pid; else pid=$peer_pid; fi
  local sargs=(); [ "$lua" != - ] && sargs=(-s "bench/lua/$lua")
  pg_quiesce
  setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "${sargs[@]}" "$@" "$url" > "$OUT/wrk-$key-$who-warmup.txt" 2>&1 || true
  pg_quiesce   # what the warm-up left queued (a slow route) is not the measured run's
  local t0 p0 b0 tt0; t0=$(tree_ticks "$pid"); p0=$(pg_ticks "$PGDATA_DIR"); read -r b0 tt0 < <(box_cpu)
  sampler_start "$pid" "$OUT/rss-$key-$who"
  setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${sargs[@]}" "$@" "$url" > "$file" 2>&1 &
  local wrk_ticks; wrk_ticks=$(follow_ticks $!)
  sampler_stop
  local t1 p1 b1 tt1; t1=$(tree_ticks "$pid"); p1=$(pg_ticks "$PGDATA_DIR"); read -r b1 tt1 < <(box_cpu)
  R[$k.others]=$(others_pct "$b0" "$tt0" "$b1" "$tt1" "$((t1 - t0 + p1 - p0 + wrk_ticks))")
  wrk_parse "$k" "$file" "$CONNECTIONS"
  R[$k.rss]=$(cat "$OUT/rss-$key-$who")
  R[$k.cpu]=$(per_req "$((t1 - t0))" "${R[$k.reqs]:-0}")
  R[$k.pgcpu]=$(per_req "$((p1 - p0))" "${R[$k.reqs]:-0}")
  R[$k.load]=$(cut -d' ' -f1 /proc/loadavg)
  say "  $who: ${R[$k.rps]} req/s, p50 ${R[$k.p50]} ms, p99 ${R[$k.p99]} ms, max ${R[$k.max]} ms, errors ${R[$k.errors]}${R[$k.errdetail]:+ (${R[$k.errdetail]})}, RSS $(( ${R[$k.rss]} / 1024 )) MB, CPU ${R[$k.cpu]} + PG ${R[$k.pgcpu]} µs/req, others ${R[$k.others]}%"
}

# latency_sweep KEY URL LUA|- [extra wrk args]: crm's latency below saturation,
# after its main run: SWEEP_S seconds of wrk at each of SWEEP_CONNECTIONS
# connections (the main run gives $CONNECTIONS), p50 and p99 each; then the
# largest of those concurrencies at which p99 stays under SWEEP_P99_MS.
latency_sweep() {
  local key=$1 url=$2 lua=$3; shift 3
  local sargs=(); [ "$lua" != - ] && sargs=(-s "bench/lua/$lua")
  local c t best=none file
  for c in $SWEEP_CONNECTIONS; do
    t=$(( c < THREADS ? c : THREADS ))
    file="$OUT/wrk-$key-crm-c$c.txt"
    pg_quiesce
    setsid wrk -t"$t" -c"$c" -d"${SWEEP_S}s" --latency "${sargs[@]}" "$@" "$url" > "$file" 2>&1 || true
    R[$key.crm.c$c.p50]=$(ms "$(wrk_field "$file" p50)")
    R[$key.crm.c$c.p99]=$(ms "$(wrk_field "$file" p99)")
    R[$key.crm.c$c.rps]=$(wrk_field "$file" rps | awk '{printf "%.0f", $1}')
  done
  R[$key.crm.c$CONNECTIONS.p50]=${R[$key.crm.p50]}
  R[$key.crm.c$CONNECTIONS.p99]=${R[$key.crm.p99]}
  R[$key.crm.c$CONNECTIONS.rps]=${R[$key.crm.rps]}
  for c in $SWEEP_CONNECTIONS $CONNECTIONS; do
    [[ ${R[$key.crm.c$c.p99]:-} =~ ^[0-9.]+$ ]] &&
      awk -v v="${R[$key.crm.c$c.p99]}" -v m="$SWEEP_P99_MS" 'BEGIN {exit !(v < m)}' && best=$c
  done
  R[$key.crm.p99under]=$best
  say "  crm by concurrency (p50/p99 ms): $(for c in $SWEEP_CONNECTIONS $CONNECTIONS; do
    printf '%s: %s/%s  ' "$c" "${R[$key.crm.c$c.p50]:-?}" "${R[$key.crm.c$c.p99]:-?}"; done)largest with p99 < ${SWEEP_P99_MS} ms: $best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
# crm_peer KEY: the route's crm/peer, the median of its rounds' (contend)
crm_peer() { if [ -n "${R[$1.ratio]:-}" ]; then echo "${R[$1.ratio]}"; else ratio "${R[$1.crm.rps]:-}" "${R[$1.peer.rps]:-}"; fi; }

# contend KEY PATH LUA|- [extra wrk args]: crm and the peer on one route,
# ROUNDS runs each (wrk_run), alternating within each round (crm first in odd
# rounds, the peer first in even ones), then crm's latency sweep. This box is
# shared and its speed drifts by tens of percent within minutes (one
# point read's ceiling measured 3,375 and 6,700 tps in two runs of one day):
# the two runs of a round are adjacent, so their ratio is the fairest one,
# and the route's crm/peer is the median of the rounds' ratios. Each
# contender's other figures (req/s, latency, CPU, RSS) are those of its own
# median round by req/s; its errors are the sum over all its rounds.
contend() {
  local key=$1 path=$2 lua=$3; shift 3
  local i who order
  for ((i = 1; i <= ROUNDS; i++)); do
    if ((i % 2)); then order="crm peer"; else order="peer crm"; fi
    for who in $order; do
      [ "$who" = peer ] && [ -n "$PEER_NOTE" ] && continue
      if [ "$who" = crm ]; then
        wrk_run "$key.run$i" crm "$CRM_URL$path" "$lua" "$@"
      else
        wrk_run "$key.run$i" peer "$PEER_URL$path" "$lua" "$@"
      fi
    done
  done
  local ratios=()
  for who in crm peer; do
    [ -n "${R[$key.run1.$who.rps]:-}" ] || continue
    local mid errors=0 detail='' rates=() f
    mid=$(for ((i = 1; i <= ROUNDS; i++)); do echo "${R[$key.run$i.$who.rps]:-0} $i"; done |
          sort -n | awk -v n="$ROUNDS" 'NR == int((n + 1) / 2) {print $2}')
    for f in "${!R[@]}"; do
      [[ $f == "$key.run$mid.$who."* ]] && R[$key.$who.${f#"$key.run$mid.$who."}]=${R[$f]}
    done
    for ((i = 1; i <= ROUNDS; i++)); do
      rates+=("${R[$key.run$i.$who.rps]:-?}")
      errors=$((errors + ${R[$key.run$i.$who.errors]:-0}))
      [ -n "${R[$key.run$i.$who.errdetail]:-}" ] && detail+="${detail:+; }round $i: ${R[$key.run$i.$who.errdetail]}"
    done
    R[$key.$who.errors]=$errors R[$key.$who.errdetail]=$detail
    R[$key.$who.rounds]=$(IFS=/; echo "${rates[*]}")
  done
  if [ -n "${R[$key.run1.peer.rps]:-}" ]; then
    for ((i = 1; i <= ROUNDS; i++)); do ratios+=("$(ratio "${R[$key.run$i.crm.rps]:-}" "${R[$key.run$i.peer.rps]:-}")"); done
    R[$key.ratios]=$(IFS=/; echo "${ratios[*]}")
    R[$key.ratio]=$(printf '%s\n' "${ratios[@]}" | grep -v 'n/a' | sort -n |
                    awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "n/a"}')
    say "  crm/peer by round: ${R[$key.ratios]} (median ${R[$key.ratio]})"
  fi
  latency_sweep "$key" "$CRM_URL$path" "$lua" "$@"
}

# pgbench_run KEY SCRIPT -D... : one pgbench of WARMUP + DURATION seconds
# with a progress line a second; the figures are those of the last DURATION
# seconds, so the 64 backends are warm (their plans and caches made), as
# crm's and the peer's long-lived connections are.
pgbench_run() {
  local key=$1 script=$2; shift 2
  local k=$key.ceil file="$OUT/pgbench-$key.txt"
  local files; mapfile -t files < <(pgbench_scripts "$script")
  local args=(-n -M prepared -c "$CONNECTIONS" -j "$THREADS" "${files[@]}"
              "${TH_ARGS[@]}" -D "rid=bench0000000000000000" -D "idle=$IDLE_S" "$@")
  # crm's connections run with statement_timeout (CRM_DB_STATEMENT_TIMEOUT_MS): so do pgbench's.
  pg_quiesce
  local nb; nb=$(pg_children)
  PGOPTIONS='-c statement_timeout=5000' setsid pgbench "${args[@]}" -T "$((WARMUP + DURATION))" -P 1 "$CRM_DATABASE_URL" \
    > "$file" 2>&1 &
  bg_pid=$!
  sleep "$WARMUP"
  local p0 b0 tt0 g0; p0=$(pg_ticks "$PGDATA_DIR"); read -r b0 tt0 < <(box_cpu)
  g0=$(awk '{print $14 + $15}' "/proc/$bg_pid/stat" 2>/dev/null || echo 0)
  local g1; g1=$(follow_ticks "$bg_pid")
  bg_pid=''
  pg_backends_gone "$nb"
  local p1 b1 tt1; p1=$(pg_ticks "$PGDATA_DIR"); read -r b1 tt1 < <(box_cpu)
  R[$k.others]=$(others_pct "$b0" "$tt0" "$b1" "$tt1" "$((p1 - p0 + g1 - g0))")
  # progress: 3.0 s, 2086.0 tps, lat 30.612 ms stddev 9.871, 0 failed
  read -r "R[$k.rps]" "R[$k.reqs]" "R[$k.avg]" < <(awk -v w="$WARMUP" '
    /^progress: / { t = $2 + 0; if (t > w + 0.5) { n++; tps += $4; lat += $7 * $4 } }
    END { if (n > 0) printf "%.0f %.0f %.2f\n", tps / n, tps, (tps > 0) ? lat / tps : 0; else print "" }' "$file")  || true
  local failed aborted
  failed=$(awk '/^number of failed transactions/ {print $5; exit}' "$file")
  aborted=$(grep -c 'aborted in command' "$file" || true)
  R[$k.errors]=$(( ${failed:-0} + ${aborted:-0} ))
  local first
  first=$(grep -m1 'ERROR' "$file" | sed 's/.*ERROR: */ERROR: /' || true)
  R[$k.errdetail]=""
  [ "${aborted:-0}" -gt 0 ] && R[$k.errdetail]="$aborted clients aborted"
  [ "${failed:-0}" -gt 0 ] && R[$k.errdetail]="${R[$k.errdetail]:+${R[$k.errdetail]}, }$failed transactions failed"
  [ -n "$first" ] && R[$k.errdetail]="${R[$k.errdetail]:+${R[$k.errdetail]}: }$first"
  [ -n "${R[$k.rps]}" ] || { R[$k.errors]=1; R[$k.errdetail]="pgbench failed: $(tail -3 "$file" | tr '\n' ' ')"; }
  R[$k.pgcpu]=$(per_req "$((p1 - p0))" "${R[$k.reqs]:-0}")
  R[$k.load]=$(cut -d' ' -f1 /proc/loadavg)
  say "  ceiling: ${R[$k.rps]:-?} tps, latency avg ${R[$k.avg]:-?} ms, errors ${R[$k.errors]}${R[$k.errdetail]:+ (${R[$k.errdetail]})}, PG ${R[$k.pgcpu]} µs/tx, others ${R[$k.others]}%"
}

# The statements each contender sends for one request of a route: a short
# run at low concurrency with pg_stat_statements tracking on, then the calls
# per request of each statement (of crm_app in database crm).
pgss_on() {
  supsql -c "ALTER SYSTEM SET pg_stat_statements.track = 'top'" -c "SELECT pg_reload_conf()" > /dev/null
  sleep 0.3
}
pgss_off() {
  supsql -c "ALTER SYSTEM SET pg_stat_statements.track = 'none'" -c "SELECT pg_reload_conf()" > /dev/null
  sleep 0.3
}
pgss_report() {  # pgss_report N: calls per request, each statement (first 160 characters)
  supsql -c "SELECT to_char(s.calls::numeric / $1, 'FM990.00') || '  ' || left(regexp_replace(s.query, '\s+', ' ', 'g'), 160)
           FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
          WHERE r.rolname = 'crm_app' AND s.calls::numeric / $1 >= 0.05 ORDER BY s.calls DESC, s.query"
}
declare -A STMTS
probe() {  # probe KEY LUA PGBENCH_SCRIPT -D...
  local key=$1 lua=$2 script=$3; shift 3
  local who url n
  for who in crm peer ceil; do
    [ "$who" = peer ] && [ -n "$PEER_NOTE" ] && { STMTS[$key.$who]="(peer n/a)"; continue; }
    pg_quiesce
    supsql -c "SELECT pg_stat_statements_reset()" > /dev/null
    if [ "$who" = ceil ]; then
      local files; mapfile -t files < <(pgbench_scripts "$script")
      setsid pgbench -n -M prepared -c 4 -j 1 -T 1 "${files[@]}" "${TH_ARGS[@]}" \
        -D "rid=bench0000000000000000" -D "idle=$IDLE_S" "$@" "$CRM_DATABASE_URL" > "$OUT/probe-$key-$who.txt" 2>&1 || true
      n=$(awk '/^number of transactions actually processed/ {print $NF; exit}' "$OUT/probe-$key-$who.txt")
    else
      if [ "$who" = crm ]; then url=$CRM_URL; else url=$PEER_URL; fi
      setsid wrk -t1 -c4 -d1s -s "bench/lua/$lua" "$url$PROBE_PATH" > "$OUT/probe-$key-$who.txt" 2>&1 || true
      n=$(awk '/requests in/ {print $1}' "$OUT/probe-$key-$who.txt")
    fi
    if [ -n "$n" ] && [ "$n" -gt 0 ]; then
      STMTS[$key.$who]="$n requests; statements per request:
$(pgss_report "$n" | sed 's/^/    /')"
    else
      STMTS[$key.$who]="(no request completed: see $OUT/probe-$key-$who.txt)"
    fi
  done
}

# same_json KEY PATH [jq filter]: crm's and the peer's answer to one GET
declare -A SAME
same_json() {
  local key=$1 path=$2 filter=${3:-.}
  [ -n "$PEER_NOTE" ] && { SAME[$key]="peer n/a"; return; }
  local a b ca cb
  ca=$(curl -s -o "$OUT/json-$key-crm.json" -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" "$CRM_URL$path")
  cb=$(curl -s -o "$OUT/json-$key-peer.json" -w '%{http_code}' -H "Authorization: Bearer $READ_TOKEN" "$PEER_URL$path")
  a=$(jq -S "$filter" "$OUT/json-$key-crm.json" 2>/dev/null || echo crm-not-json)
  b=$(jq -S "$filter" "$OUT/json-$key-peer.json" 2>/dev/null || echo peer-not-json)
  if [ "$ca" = "$cb" ] && [ "$a" = "$b" ]; then SAME[$key]="same JSON (HTTP $ca)"
  else SAME[$key]="DIFFERENT: crm HTTP $ca, peer HTTP $cb (see $OUT/json-$key-*.json)"; fi
}

# ---- one scale ---------------------------------------------------------------------

declare -a ORDER   # route keys, in table order
declare -A LABEL SCALE_OF
READ_TOKEN=''
declare -A SEQ

tokens_for() {  # tokens_for PREFIX N: logs each user in once (through crm), comma-separated tokens
  local i t out=
  for i in $(seq 1 "$2"); do
    t=$(bench_login "$CRM_URL" "$1$i" "$PASSWORD") || die "login of $1$i failed"
    out+=${out:+,}$t
  done
  echo "$out"
}
# caller_of_latest_session USER: what crm's copy of the check of USER's latest
# session holds (http/sessions.h): user id|username|role|unit|scope root.
caller_of_latest_session() {
  supsql -c "SELECT u.id || '|' || u.username || '|' || u.role || '|' || u.unit_id || '|' || unit_scope_root(u.unit_id)
               FROM session s JOIN app_user u ON u.id = s.user_id
              WHERE u.username = '$1' AND s.revoked_at IS NULL ORDER BY s.created_at DESC LIMIT 1"
}

# use_tokens PREFIX N: the ceiling uses the same sessions as wrk (the latest
# of users PREFIX1..N), as crm sends them once it has checked each: the
# caller set from its copy (STMT_AUTH_CACHED; see bench/pgbench/project_get.sql).
# One copy of the route's script per session, each with its own user
# variables, picked at random per transaction (pgbench -f script@1 ... has
# no string variables to choose a session with). The role, unit and scope
# root are the same for all users of a prefix.
TH_ARGS=()
use_tokens() {
  local i c uid uname role unit root
  TH_ARGS=(-D "agen=$(supsql -c "SELECT n FROM auth_generation")")
  for i in $(seq 1 "$2"); do
    c=$(caller_of_latest_session "$1$i")
    [ -n "$c" ] || die "no session of $1$i"
    IFS='|' read -r uid uname role unit root <<<"$c"
    TH_ARGS+=(-D "uid$i=$uid" -D "uname$i=$uname")
  done
  TH_ARGS+=(-D "urole=$role" -D "uunit=$unit" -D "uroot=$root")
}
# pgbench_scripts SCRIPT: prints the -f arguments of its per-session copies
pgbench_scripts() {
  local i n=$(( (${#TH_ARGS[@]} - 8) / 4 )) base; base=${1%.sql}
  for i in $(seq 1 "$n"); do
    sed "s/:uid::/:uid$i::/g; s/:uname::/:uname$i::/g" "bench/pgbench/$1" > "$OUT/pgbench-$base-$i.sql"
    printf '%s\n' -f "$OUT/pgbench-$base-$i.sql@1"
  done
}

# seq_timing URL TOKEN: 200 requests one after another on one keep-alive connection (curl), p50 and p99 in ms
seq_timing() {
  curl_seq "$1" 200 -H "Authorization: Bearer $2" | awk '{print $2}' | sort -n > "$OUT/seq.txt"
  printf '%s %s' "$(pct 50 < "$OUT/seq.txt")" "$(pct 99 < "$OUT/seq.txt")"
}

route() {  # route KEY LABEL SCALE
  ORDER+=("$1"); LABEL[$1]=$2; SCALE_OF[$1]=$3
  say "$3: $2"
}

# stats_route KEY LABEL SCALE UNIT: GET /stats/units/UNIT?year=YEAR, one
# request at a time and under wrk for crm and the peer, then the ceiling and
# the JSON of both compared (the county's and the province root's figures).
stats_route() {
  local key=$1 unit=$4 path="/api/v1/stats/units/$4?year=$YEAR"
  route "$key" "$2" "$3"
  SEQ[$key.crm]=$(seq_timing "$CRM_URL$path" "$READ_TOKEN")
  [ -n "$PEER_NOTE" ] || SEQ[$key.peer]=$(seq_timing "$PEER_URL$path" "$READ_TOKEN")
  contend "$key" "$path" stats_unit.lua
  local copy; mapfile -t copy < <(stats_copy_args)
  pgbench_run "$key" stats_unit.sql -D "roles=$READ_ROLES" -D "unit=$unit" -D "year=$YEAR" "${copy[@]}"
  same_json "$key" "$path"
}
# The generation and date of the figures crm's copies hold once it has
# answered (api/stats_cache.c): the ceiling's stats_unit_cached names them.
stats_copy_args() {
  printf '%s\n' -D "gen=$(supsql -c 'SELECT n FROM stats_generation')" -D "known=$(supsql -c 'SELECT crm_today()')"
}

run_county() {
  # shellcheck disable=SC2086 # COUNTY_SIZE: four numbers
  scale_cluster county $COUNTY_SIZE
  start_crm county; start_peer county
  READ_TOKEN=$(bench_login "$CRM_URL" bench.read1 "$PASSWORD")
  export BENCH_TOKENS; BENCH_TOKENS=$(tokens_for bench.read "$N_READERS")
  use_tokens bench.read "$N_READERS"
  local root; root=$(supsql -c "SELECT id FROM unit WHERE code = 'bench'")
  DB_SIZE_county=$(supsql -c "SELECT pg_size_pretty(pg_database_size('crm'))")
  export STATS_UNIT=$root STATS_YEAR=$YEAR
  local key=stats_county
  stats_route $key "GET /stats/units/{id} (the county: 1,000 projects)" county "$root"
  pgss_on
  local copy; mapfile -t copy < <(stats_copy_args)
  PROBE_PATH="/api/v1/stats/units/$root?year=$YEAR" probe $key stats_unit.lua stats_unit.sql \
    -D "roles=$READ_ROLES" -D "unit=$root" -D "year=$YEAR" "${copy[@]}"
  pgss_off
  stop_contenders
  pg_stop
}

run_province() {
  # shellcheck disable=SC2086 # PROVINCE_SIZE: four numbers
  scale_cluster province $PROVINCE_SIZE
  start_crm province; start_peer province
  READ_TOKEN=$(bench_login "$CRM_URL" bench.read1 "$PASSWORD")
  local read_tokens write_tokens
  read_tokens=$(tokens_for bench.read "$N_READERS")
  write_tokens=$(tokens_for bench.write "$N_WRITERS")
  local root nproj unit_lo unit_hi leaf_lo leaves misplaced
  root=$(supsql -c "SELECT id FROM unit WHERE code = 'bench'")
  DB_SIZE_province=$(supsql -c "SELECT pg_size_pretty(pg_database_size('crm'))")
  # Projects are 1..N; counties and townships contiguous; project g in leaf g % leaves.
  read -r nproj < <(supsql -c "SELECT CASE WHEN min(id) = 1 AND max(id) = count(*) THEN count(*) END FROM project")
  [ -n "$nproj" ] || die "project ids are not 1..N"
  IFS='|' read -r unit_lo unit_hi < <(supsql -c "SELECT min(id), max(id) FROM unit
      WHERE path @> ARRAY[$root::bigint] AND kind IN ('county', 'town', 'township')
      HAVING max(id) - min(id) + 1 = count(*)")
  [ -n "$unit_hi" ] || die "the counties and townships do not have contiguous ids"
  IFS='|' read -r leaf_lo _ leaves < <(supsql -c "SELECT min(id), max(id), count(*) FROM unit u
      WHERE path @> ARRAY[$root::bigint] AND NOT EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = u.id)
      HAVING max(id) - min(id) + 1 = count(*)")
  [ -n "$leaves" ] || die "the townships do not have contiguous ids"
  misplaced=$(supsql -c "SELECT count(*) FROM project WHERE unit_id <> $leaf_lo + id % $leaves")
  [ "$misplaced" = 0 ] || die "$misplaced projects are not in township $leaf_lo + id % $leaves"
  export PROJECT_MAX=$nproj UNIT_LO=$unit_lo UNIT_HI=$unit_hi LEAF_LO=$leaf_lo LEAF_COUNT=$leaves
  export STATS_UNIT=$root STATS_YEAR=$YEAR LIST_LIMIT=50
  export BENCH_TOKENS=$read_tokens
  local readers=(-D "roles=$READ_ROLES")

  local key=healthz
  if route_wanted $key; then
    route $key "GET /healthz (no database)" province
    wrk_run $key crm "$CRM_URL/healthz" -
    latency_sweep $key "$CRM_URL/healthz" -
    [ -z "$PEER_NOTE" ] && wrk_run $key peer "$PEER_URL/healthz" -
  fi

  use_tokens bench.read "$N_READERS"
  key=project_get
  if route_wanted $key; then
    route $key "GET /projects/{id}" province
    contend $key /api/v1/projects/1 project_get.lua
    pgbench_run $key project_get.sql "${readers[@]}" -D "nprojects=$nproj"
    same_json $key "/api/v1/projects/$((nproj / 2 + 17))"
  fi

  key=projects_list
  if route_wanted $key; then
    route $key "GET /projects?unit_id=..&limit=50" province
    contend $key /api/v1/projects projects_list.lua
    pgbench_run $key projects_list.sql "${readers[@]}" -D "unit_lo=$unit_lo" -D "unit_hi=$unit_hi" -D "limit=50"
    same_json $key "/api/v1/projects?unit_id=$(( (unit_lo + unit_hi) / 2 ))&limit=50" 'del(.next_cursor)'
  fi

  key=stats_province
  route_wanted $key && stats_route $key "GET /stats/units/{id} (the province: 1,000,000 projects)" province "$root"

  key=interaction_create
  if route_wanted $key; then
    route $key "POST /interactions (a write + audit)" province
    export BENCH_TOKENS=$write_tokens
    use_tokens bench.write "$N_WRITERS"
    contend $key /api/v1/interactions interaction_create.lua
    pgbench_run $key interaction_create.sql -D "roles=$LOG_ROLES" -D "nprojects=$nproj" \
      -D "leaf_lo=$leaf_lo" -D "leaves=$leaves"
    SAME[$key]="(a write: not compared)"
  fi

  # Which statements each contender sends per request (pg_stat_statements).
  if route_wanted project_get || route_wanted projects_list || route_wanted stats_province ||
    route_wanted interaction_create; then
    pgss_on
    export BENCH_TOKENS=$read_tokens; use_tokens bench.read "$N_READERS"
    ! route_wanted project_get ||
      PROBE_PATH=/api/v1/projects/1 probe project_get project_get.lua project_get.sql "${readers[@]}" -D "nprojects=$nproj"
    ! route_wanted projects_list ||
      PROBE_PATH=/api/v1/projects probe projects_list projects_list.lua projects_list.sql "${readers[@]}" \
        -D "unit_lo=$unit_lo" -D "unit_hi=$unit_hi" -D "limit=50"
    local copy; mapfile -t copy < <(stats_copy_args)
    ! route_wanted stats_province ||
      PROBE_PATH="/api/v1/stats/units/$root?year=$YEAR" probe stats_province stats_unit.lua stats_unit.sql \
        "${readers[@]}" -D "unit=$root" -D "year=$YEAR" "${copy[@]}"
    export BENCH_TOKENS=$write_tokens; use_tokens bench.write "$N_WRITERS"
    ! route_wanted interaction_create ||
      PROBE_PATH=/api/v1/interactions probe interaction_create interaction_create.lua interaction_create.sql \
        -D "roles=$LOG_ROLES" -D "nprojects=$nproj" -D "leaf_lo=$leaf_lo" -D "leaves=$leaves"
    pgss_off
  fi

  # The login storm, with /healthz measured during it (from ~3 s in).
  key=login
  route_wanted $key && login_storm
  CRM_HWM=$(awk '/^VmHWM/ {print $2}' "/proc/$crm_pid/status")
  stop_contenders
  pg_stop
}

login_storm() {
  local key=login
  route $key "POST /auth/login (argon2id storm)" province
  export LOGIN_USERS LOGIN_PASSWORD=$PASSWORD
  LOGIN_USERS=$(seq -f 'bench.login%g' -s, 1 "$N_LOGIN")
  local who url pid
  for who in crm peer; do
    if [ "$who" = crm ]; then url=$CRM_URL; pid=$crm_pid; else url=$PEER_URL; pid=$peer_pid; fi
    [ "$who" = peer ] && [ -n "$PEER_NOTE" ] && continue
    pg_quiesce
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
      -d "{\"username\":\"bench.login1\",\"password\":\"$PASSWORD\"}" "$url/api/v1/auth/login")
    if [ "$code" != 200 ]; then
      R[$key.$who.note]="one login answered HTTP $code"; say "  $who: one login answered $code: no storm"; continue
    fi
    setsid wrk -t1 -c8 -d"${DURATION}s" --latency "$url/healthz" > "$OUT/wrk-healthz8-$who.txt" 2>&1 || true
    wrk_parse "healthz8.$who" "$OUT/wrk-healthz8-$who.txt" 8
    local storm_s=$((DURATION + 5)) t0 p0
    t0=$(tree_ticks "$pid"); p0=$(pg_ticks "$PGDATA_DIR")
    sampler_start "$pid" "$OUT/rss-$key-$who"
    setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d"${storm_s}s" --timeout 30s --latency -s bench/lua/login.lua \
      "$url/api/v1/auth/login" > "$OUT/wrk-$key-$who.txt" 2>&1 &
    bg_pid=$!
    sleep 3
    setsid wrk -t1 -c8 -d"${DURATION}s" --latency "$url/healthz" > "$OUT/wrk-healthz8storm-$who.txt" 2>&1 || true
    wait "$bg_pid" || true; bg_pid=
    sampler_stop
    local t1 p1; t1=$(tree_ticks "$pid"); p1=$(pg_ticks "$PGDATA_DIR")
    wrk_parse "$key.$who" "$OUT/wrk-$key-$who.txt" "$CONNECTIONS" 30000
    wrk_parse "healthz8storm.$who" "$OUT/wrk-healthz8storm-$who.txt" 8
    local k=$key.$who
    R[$k.rss]=$(cat "$OUT/rss-$key-$who")
    R[$k.cpu]=$(per_req "$((t1 - t0))" "${R[$k.reqs]:-0}")
    R[$k.pgcpu]=$(per_req "$((p1 - p0))" "${R[$k.reqs]:-0}")
    R[$k.load]=$(cut -d' ' -f1 /proc/loadavg)
    say "  $who: ${R[$k.rps]} logins/s, p50 ${R[$k.p50]} ms, p99 ${R[$k.p99]} ms, errors ${R[$k.errors]}; /healthz -c8 p99 ${R[healthz8.$who.p99]} ms alone, ${R[healthz8storm.$who.p99]} ms during the storm"
  done
}

say "bench/run.sh: crm $(crm_version), scales: $SCALES, ${DURATION}s per run, c$CONNECTIONS${BENCH_ROUTES:+, routes $BENCH_ROUTES}"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DB_SIZE_county='' DB_SIZE_province='' CRM_HWM=''
for scale in $SCALES; do
  case $scale in
    county) route_wanted stats_county || continue; run_county ;;
    province)
      route_wanted healthz || route_wanted project_get || route_wanted projects_list ||
        route_wanted stats_province || route_wanted interaction_create || route_wanted login || continue
      run_province ;;
    *) die "unknown scale $scale" ;;
  esac
done
T_TOTAL=$(( $(date +%s) - T_BEGIN ))

# ---- the report ------------------------------------------------------------------

mb() { [ -n "$1" ] && awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}' || echo n/a; }
or_na() { [ -n "${1:-}" ] && echo "$1" || echo n/a; }

table() {
  echo "| route | scale | crm req/s | peer req/s | crm/peer | ceiling tps | crm/ceiling | crm p50 / p99 ms | peer p50 / p99 ms | crm RSS MB | peer RSS MB | errors crm / peer / ceiling |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
  local key
  for key in "${ORDER[@]}"; do
    local c=$key.crm p=$key.peer e=$key.ceil
    local peer_rps=${R[$p.rps]:-} ceil=${R[$e.rps]:-}
    local cp="n/a" pp="n/a"
    [ -n "${R[$c.p50]:-}" ] && cp="${R[$c.p50]} / ${R[$c.p99]}"
    [ -n "${R[$p.p50]:-}" ] && pp="${R[$p.p50]} / ${R[$p.p99]}"
    local ceil_cell="n/a" ceil_err="-"
    if [ "$key" != healthz ] && [ "$key" != login ]; then ceil_cell=$(or_na "$ceil"); ceil_err=$(or_na "${R[$e.errors]:-}"); fi
    local peer_err=n/a
    [ -n "$peer_rps" ] && peer_err=${R[$p.errors]:-0}
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s |\n' \
      "${LABEL[$key]}" "${SCALE_OF[$key]}" "$(or_na "${R[$c.rps]:-}")" "$(or_na "$peer_rps")" \
      "$(crm_peer "$key")" "$ceil_cell" "$(ratio "${R[$c.rps]:-}" "$([ "$ceil_cell" = n/a ] || echo "$ceil")")" \
      "$cp" "$pp" "$(mb "${R[$c.rss]:-}")" "$( [ -n "$peer_rps" ] && mb "${R[$p.rss]:-}" || echo n/a)" \
      "$(or_na "${R[$c.errors]:-}")" "$peer_err" "$ceil_err"
  done
  local who
  for who in crm peer; do
    [ -n "${R[healthz8storm.$who.p99]:-}" ] || continue
    printf '| GET /healthz -c8 during the login storm (%s) | province | %s | | | | | %s / %s | | | | %s |\n' \
      "$who" "${R[healthz8storm.$who.rps]}" "${R[healthz8storm.$who.p50]}" "${R[healthz8storm.$who.p99]}" \
      "${R[healthz8storm.$who.errors]}"
  done
}

details() {
  echo "| route | contender | req/s | avg ms | Little ms (c/req/s) | p50 ms | p99 ms | max ms | server CPU µs/req | PostgreSQL CPU µs/req | others' CPU % | load (1 min) | errors |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|"
  local key who
  for key in "${ORDER[@]}"; do
    for who in crm peer ceil; do
      local k=$key.$who
      [ -n "${R[$k.rps]:-}" ] || continue
      if [ "$who" = ceil ]; then
        printf '| %s | ceiling (pgbench) | %s | %s | %s | | | | | %s | %s | %s | %s |\n' "${LABEL[$key]}" "${R[$k.rps]}" \
          "${R[$k.avg]:-}" "$(little "$CONNECTIONS" "${R[$k.rps]}")" \
          "${R[$k.pgcpu]}" "${R[$k.others]:-}" "${R[$k.load]}" "${R[$k.errors]}${R[$k.errdetail]:+: ${R[$k.errdetail]}}"
      else
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${LABEL[$key]}" "$who" "${R[$k.rps]}" \
          "${R[$k.avg]}" "${R[$k.little]}" "${R[$k.p50]}" "${R[$k.p99]}" "${R[$k.max]}" "${R[$k.cpu]}" "${R[$k.pgcpu]}" \
          "${R[$k.others]:-}" "${R[$k.load]}" "${R[$k.errors]}${R[$k.errdetail]:+: ${R[$k.errdetail]}}"
      fi
    done
  done
  for who in crm peer; do
    local k
    for k in healthz8 healthz8storm; do
      [ -n "${R[$k.$who.rps]:-}" ] || continue
      printf '| GET /healthz -c8 %s | %s | %s | %s | %s | %s | %s | %s | | | | | %s |\n' \
        "$([ $k = healthz8 ] && echo "before the storm" || echo "during the storm")" "$who" "${R[$k.$who.rps]}" \
        "${R[$k.$who.avg]}" "${R[$k.$who.little]}" "${R[$k.$who.p50]}" "${R[$k.$who.p99]}" "${R[$k.$who.max]}" \
        "${R[$k.$who.errors]}${R[$k.$who.errdetail]:+: ${R[$k.$who.errdetail]}}"
    done
  done
}

latency_table() {
  local c key head="| route |" rule="|---|"
  for c in $SWEEP_CONNECTIONS $CONNECTIONS; do head+=" c=$c |"; rule+="--:|"; done
  echo "$head p99 < ${SWEEP_P99_MS} ms up to |"
  echo "$rule--:|"
  for key in "${ORDER[@]}"; do
    [ -n "${R[$key.crm.p99under]:-}" ] || continue
    printf '| %s |' "${LABEL[$key]}"
    for c in $SWEEP_CONNECTIONS $CONNECTIONS; do
      printf ' %s / %s |' "${R[$key.crm.c$c.p50]:-}" "${R[$key.crm.c$c.p99]:-}"
    done
    printf ' %s |\n' "${R[$key.crm.p99under]}"
  done
}

rounds_table() {
  echo "| route | crm req/s by round | peer req/s by round | crm/peer by round | median |"
  echo "|---|--:|--:|--:|--:|"
  local key
  for key in "${ORDER[@]}"; do
    [ -n "${R[$key.ratios]:-}" ] || continue
    printf '| %s | %s | %s | %s | %s |\n' "${LABEL[$key]}" "${R[$key.crm.rounds]}" "${R[$key.peer.rounds]}" \
      "${R[$key.ratios]}" "${R[$key.ratio]}"
  done
}

num() { [[ ${1:-} =~ ^[0-9.]+$ ]]; }
# ratio_verdict RATIO GOAL CRM_ERRORS: a ratio counts only for a run without errors
ratio_verdict() {
  if [ -n "${3:-}" ] && [ "$3" != 0 ]; then echo "NOT met: crm had $3 errors"
  elif [ "$1" = n/a ]; then echo n/a
  else verdict "$1 >= $2"; fi
}
verdict() { awk "BEGIN { exit !($1) }" && echo "met" || echo "NOT met"; }
# goals: a line per goal of issue 6 whose route was run
goals() {
  local g=project_get.crm
  local pr cr p99 err
  if [ -n "${LABEL[project_get]:-}" ]; then
    cr=$(ratio "${R[$g.rps]:-}" "${R[project_get.ceil.rps]:-}"); pr=$(crm_peer project_get)
    p99=${R[$g.p99]:-}; err=${R[$g.errors]:-}
    echo "- point read: crm/ceiling $cr (goal ≥ 0.90: $(ratio_verdict "$cr" 0.9 "$err"))," \
      "crm/peer $pr (goal ≥ 3: $(ratio_verdict "$pr" 3 "$err"))," \
      "p99 ${p99:-n/a} ms (goal ≤ 5: $(num "$p99" && verdict "$p99 <= 5" || echo "NOT met"))," \
      "errors ${err:-n/a} (goal 0: $( [ "${err:-x}" = 0 ] && echo met || echo "NOT met"))"
  fi
  local key
  for key in projects_list stats_county stats_province; do
    [ -n "${LABEL[$key]:-}" ] || continue
    pr=$(crm_peer "$key")
    echo "- ${LABEL[$key]}: crm/peer $pr (goal ≥ 3: $(ratio_verdict "$pr" 3 "${R[$key.crm.errors]:-}"))"
  done
  if [ -n "${LABEL[interaction_create]:-}" ]; then
    pr=$(crm_peer interaction_create)
    cr=$(ratio "${R[interaction_create.crm.rps]:-}" "${R[interaction_create.ceil.rps]:-}")
    echo "- write: crm/peer $pr (goal ≥ 2: $(ratio_verdict "$pr" 2 "${R[interaction_create.crm.errors]:-}"))," \
      "crm/ceiling $cr (goal ≥ 0.80: $(ratio_verdict "$cr" 0.8 "${R[interaction_create.crm.errors]:-}"))"
  fi
  local a=${SEQ[stats_county.crm]:-} b=${SEQ[stats_province.crm]:-}
  if [ -n "$a" ] && [ -n "$b" ]; then
    local r; r=$(ratio "${b%% *}" "${a%% *}")
    echo "- the province root's figures (1,000,000 projects) against the county's (1,000), one request at a time" \
      "(200 on one keep-alive connection, p50): ${b%% *} ms against ${a%% *} ms, ×$r (goal ≤ 2: $(verdict "$r <= 2"));" \
      "under load (wrk p50): ${R[stats_province.crm.p50]:-n/a} ms against ${R[stats_county.crm.p50]:-n/a} ms"
  fi
  local maxrss=0
  for key in "${ORDER[@]}"; do
    [ "$key" = login ] && continue
    local v=${R[$key.crm.rss]:-0}; [ "$v" -gt "$maxrss" ] && maxrss=$v
  done
  echo "- crm RSS under load (the highest VmRSS sampled during the runs above, the login storm aside): $(mb "$maxrss") MB" \
    "(goal ≤ 32: $(verdict "$maxrss <= 32768")); VmHWM at the end $(mb "$CRM_HWM") MB, which counts the argon2id" \
    "buffers (64 MiB per hash being computed: the start-up dummy hash and the storm's)"
  p99=${R[healthz8storm.crm.p99]:-}
  [ -z "${LABEL[login]:-}" ] ||
    echo "- /healthz p99 during the login storm: ${p99:-n/a} ms (goal < 5: $(num "$p99" && verdict "$p99 < 5" || echo "NOT met"))"
}

pg_version=$(psql --version | awk '{print $3}')
machine() {
  local tree; tree="commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crm sql 2>/dev/null || echo ' + uncommitted changes to crm/ or sql/')"
  if [ -n "${CRM_BENCH_BIN:-}${CRM_BENCH_SQL_DIR:-}" ]; then
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); crm $(crm_version): $CRM (CRM_BENCH_BIN), SQL from ${CRM_BENCH_SQL_DIR:-the folder it was built with}; bench/ of the tree at $tree"
  else
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); crm $(crm_version), $tree, Release build"
  fi
  echo "- machine: $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GB RAM, Linux $(uname -r)"
  echo "- load average at the start: $LOAD_START (other sessions share this box; each run's load is in the details)"
  echo "- PostgreSQL $pg_version, one cluster per scale, same settings for every contender, all over TCP to 127.0.0.1 as crm_app (row-level security on):"
  echo "  \`$(printf '%s ' "${PG_SETTINGS[@]}" | sed 's/ $//')\` and pg_stat_statements.track=none (tracking on only for the statement probes)"
  echo "- memory: $HUGEPAGES_NOTE"
  echo "- data: county $(or_na "$DB_SIZE_county") (11 units, 1,000 projects, 5,000 interactions, 100 investors);" \
    "province $(or_na "$DB_SIZE_province") (1,992 units, 1,000,000 projects, 5,000,000 interactions, 100,000 investors); bench/data/generate.sh"
  echo "- tools: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), pgbench $(pgbench --version | awk '{print $3}'), node $(node --version 2>/dev/null || echo none)"
  echo "- crm: \`crm serve --access-log 0 --hash-max-in-flight 256 --login-max-failures 1000 --login-max-failures-address 100000${CRM_BENCH_FLAGS:+ $CRM_BENCH_FLAGS}\` (other settings at their defaults: one worker per core, 2 connections each, pipeline depth 8)"
  echo "- peer: ${PEER_NOTE:-bench/peer (fastify + postgres.js), WORKERS=2, \`node bench/peer/server.js\`}"
  echo "- load: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency after a ${WARMUP}s warm-up, each under setsid; bench/lua/*.lua pick random ids and rotate $N_READERS viewers' tokens (the write: $N_WRITERS unit-role users' tokens); the login storm: -d$((DURATION + 5))s --timeout 30s over $N_LOGIN users, and /healthz with wrk -t1 -c8 -d${DURATION}s from 3 s into it"
  echo "- ceiling: pgbench -n -M prepared -c$CONNECTIONS -j$THREADS -T$((WARMUP + DURATION)) -P 1 -f bench/pgbench/<route>.sql, figures of its last ${DURATION}s (warm backends): the caller set from crm's copy of the session's check (STMT_AUTH_CACHED, what crm sends between two auth_session checks of a session, 30 s apart) and the route's statement in one pipeline (one Sync, as crm sends them), for the same sessions as wrk's"
  echo "- each run starts once no statement of crm_app has run for 0.5 s (a slow route's queued queries do not spill into the next run); the database is prewarmed (pg_prewarm) after loading"
}

{
  echo "# Benchmark results"
  echo
  echo "Written by \`bench/run.sh\` (\`make bench\`), issue 6. Total run time: $((T_TOTAL / 60)) min $((T_TOTAL % 60)) s."
  echo
  [ -z "$TRIAL" ] || { echo "**Not a run for the record**: $TRIAL."; echo; }
  table
  echo
  lo=100 hi=0
  for x in "${!R[@]}"; do
    [[ $x == *.others ]] || continue
    v=${R[$x]}; [ "$v" -lt "$lo" ] && lo=$v; [ "$v" -gt "$hi" ] && hi=$v
  done
  [ "$hi" -gt 0 ] && { echo "During the measured runs, $lo–$hi% of the box's CPU was not charged to the benchmark's processes"
    echo "(\"others' CPU\" in the details): other sessions on this box, steal, and interrupt and softirq work charged to"
    echo "none of its processes (run while a core idled, or by ksoftirqd), which on loopback is mostly the benchmark's"
    echo "own network traffic: wrk's runs, which send far more over loopback, show more of it than pgbench's. A share"
    echo "well above the other runs' means other work on the box: figures of such runs are low and noisy."; echo; }
  echo "crm/peer and crm/ceiling are ratios of requests per second. Each compared route ran $ROUNDS times for each"
  echo "contender, alternating (crm first in odd rounds, the peer in even ones): crm/peer is the median of the rounds'"
  echo "ratios, each of two adjacent runs (the rounds are below); each contender's other figures are those of its median"
  echo "round, its errors those of all its rounds. Latencies are wrk's (corrected for coordinated"
  echo "omission). RSS: the highest VmRSS sampled every 0.2 s during the run (the peer: the sum over its processes)."
  echo "Errors: non-2xx answers plus wrk's socket errors (connect, read, write, timeout; an answer slower than wrk's"
  echo "2 s timeout counts as a timeout, and also as a non-2xx when it is one, and is left out of the percentiles:"
  echo "\"> 2000\" then), failed or aborted transactions (pgbench). The ceiling's connections, like crm's, run with"
  echo "statement_timeout = 5 s."
  echo
  echo "## Goals of issue 6"
  echo
  goals
  echo
  echo "## Machine and settings"
  echo
  machine
  echo
  echo "## Details"
  echo
  echo "Little: with every connection always busy, the average latency should be close to connections / throughput;"
  echo "an average far above it means stalls (../shared/BENCHMARKING.md). CPU per request: from /proc/PID/stat before"
  echo "and after the measured run (server: crm, or all the peer's processes; PostgreSQL: all the postmaster's children);"
  echo "the login storm's also counts the /healthz requests each served during it (their number differs: the /healthz rows below)."
  echo
  details
  echo
  echo "## Rounds"
  echo
  echo "req/s of each run of a compared route, in the order of the rounds (the details above give each contender's median round)."
  echo
  rounds_table
  echo
  echo "## crm's latency by concurrency"
  echo
  echo "wrk --latency at each number of connections (${SWEEP_S} s each; ${CONNECTIONS}: the main run), after the main run;"
  echo "p50 / p99 in ms, and the largest of these concurrencies at which p99 stays under ${SWEEP_P99_MS} ms."
  echo
  latency_table
  echo
  echo "## What each contender sends per request"
  echo
  echo "A 1 s probe per route (4 connections) with pg_stat_statements tracking on: calls per request of each statement"
  echo "of crm_app. The ceiling must send what crm sends. JSON: crm's and the peer's answer to one request, compared."
  echo "(PostgreSQL 15's pg_stat_statements counts a utility statement run as a named prepared statement, as"
  echo "postgres.js sends BEGIN and COMMIT, once per connection only: the peer's BEGIN/COMMIT of each request, which"
  echo "bench/peer/README.md describes, do not show here. crm and the ceiling send none: one Sync ends the implicit"
  echo "transaction.)"
  echo
  for key in "${ORDER[@]}"; do
    [ -n "${STMTS[$key.crm]:-}" ] || continue
    echo "### ${LABEL[$key]}"
    echo
    echo '```'
    echo "crm: ${STMTS[$key.crm]}"
    echo "ceiling: ${STMTS[$key.ceil]:-}"
    echo "peer: ${STMTS[$key.peer]:-}"
    echo "crm and peer answers: ${SAME[$key]:-}"
    echo '```'
    echo
  done
  echo "Raw outputs: $OUT/ (wrk-*.txt, pgbench-*.txt, probe-*.txt, run.log)."
  # The section of bench/events/run.sh (issue 15) is kept from the last report.
  if [ -f "$RESULTS" ] && ! [ "$OUT/RESULTS.md" -ef "$RESULTS" ]; then
    kept=$(awk '/^## Events \(issue 15\)/ {keep = 1} keep' "$RESULTS")
    [ -z "$kept" ] || printf '\n%s\n' "$kept"
  fi
} > "$OUT/RESULTS.md"
[ "$OUT/RESULTS.md" -ef "$RESULTS" ] || cp "$OUT/RESULTS.md" "$RESULTS"

echo
table
echo
goals
echo
say "total run time: $((T_TOTAL / 60)) min $((T_TOTAL % 60)) s; the report is in $RESULTS"
