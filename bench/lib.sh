# shellcheck shell=bash disable=SC2034 # the variables set here are the sourcing script's
# bench/lib.sh: the set-up every benchmark script here shares, written once.
# Each of them (run.sh, units.sh, login_storm.sh, projects_list.sh, stats.sh,
# investors_search.sh, import.sh, soak.sh) starts with
#
#   set -euo pipefail
#   . "$(dirname "$0")/lib.sh"
#
# which moves to the top of the tree and gives it:
#   - the crm to measure (bench_crm, bench_build, crm_version) and its SQL folder:
#       CRM_BENCH_BIN=/path/to/crm      this binary instead of the script's own
#                                       (its argument, else build-bench/crm or
#                                       build-soak/crm); never built here
#       CRM_BENCH_SQL_DIR=/path/to/sql  its SQL folder (migrations/, schema/, demo/) for
#                                       every crm command (exported as
#                                       CRM_SQL_DIR); without it crm uses the one
#                                       it was built with (its tree's sql/)
#     both relative to the folder the script is started from; with them the
#     build of another commit can be measured against this one (bench/run.sh
#     says how);
#   - a throwaway embedded PostgreSQL (bench_pg_fresh, bench_pg_start,
#     bench_pg_stop, bench_migrate, bench_user_add, supsql);
#   - crm under setsid (../shared/BENCHMARKING.md), serving and ready
#     (bench_crm_start), a session token (bench_login);
#   - wrk runs and their figures (wrk_warm, wrk_measure, wrk_field, ms),
#     percentiles of sorted timings (curl_seq, pct), CPU ticks (ticks,
#     pg_ticks, box_cpu), route selection (route_wanted);
#   - one EXIT trap (bench_cleanup): stops the load generator in bg_pid, crm
#     (crm_pid), then runs the script's bench_on_exit when it has one, then
#     stops the embedded cluster.
#
# A script sets OUT (its output folder) and may set BENCH_TAG, the prefix of
# the files named here ($OUT/${BENCH_TAG}crm.out, ...env, ...pg.err,
# ...migrate.out). say and die print to stderr; a script may redefine them.

# Paths in the environment are the caller's: made absolute before the cd.
[ -z "${CRM_BENCH_BIN:-}" ] || CRM_BENCH_BIN=$(realpath -m -- "$CRM_BENCH_BIN")
[ -z "${CRM_BENCH_SQL_DIR:-}" ] || CRM_BENCH_SQL_DIR=$(realpath -m -- "$CRM_BENCH_SQL_DIR")
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
ROOT=$PWD
BENCH_TAG=''
hz=$(getconf CLK_TCK)

say() { printf '%s\n' "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# ---- which crm ------------------------------------------------------------------

# bench_crm DEFAULT [PATH]: sets CRM, the crm measured: CRM_BENCH_BIN when
# set, else PATH (relative to the top of the tree) when given, else DEFAULT;
# and BENCH_SQL_DIR, its SQL folder (CRM_BENCH_SQL_DIR, exported to crm as
# CRM_SQL_DIR, else sql).
bench_crm() {
  CRM=${CRM_BENCH_BIN:-${2:-$1}}
  BENCH_SQL_DIR=sql
  if [ -n "${CRM_BENCH_SQL_DIR:-}" ]; then
    [ -d "$CRM_BENCH_SQL_DIR/migrations" ] || die "CRM_BENCH_SQL_DIR=$CRM_BENCH_SQL_DIR has no migrations/"
    BENCH_SQL_DIR=$CRM_BENCH_SQL_DIR
    export CRM_SQL_DIR=$CRM_BENCH_SQL_DIR
  fi
}

# bench_build never|stale|always: builds build-bench/crm (Release) when it is
# the crm measured: always (cmake redoes what changed), or when stale
# (missing, older than the sources, or REBUILD set); never: the Makefile did.
# Then dies unless CRM is an executable.
bench_build() {
  if [ "$CRM" = build-bench/crm ] && [ "$1" != never ] &&
    { [ "$1" = always ] || [ ! -x "$CRM" ] || [ -n "${REBUILD:-}" ] ||
      [ -n "$(find crm CMakeLists.txt -newer "$CRM" -print -quit)" ]; }; then
    say "building build-bench/crm (Release)"
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCRM_TESTS=OFF > /dev/null
    cmake --build build-bench -j "$(nproc)" > "$OUT/build.log" 2>&1 ||
      { cat "$OUT/build.log" >&2; die "the Release build"; }
  fi
  [ -x "$CRM" ] || die "no crm at $CRM"
}

crm_version() { "$CRM" version | cut -d' ' -f2; }

# ---- processes started here, stopped at exit ---------------------------------------

crm_pid='' bg_pid='' CRM_URL='' BENCH_PG_DATA=''

# stop_pid PID: TERM, up to 10 s, then KILL; to its process group, as it runs
# under setsid (the process itself when it has none).
stop_pid() {
  local p=${1:-}
  [ -n "$p" ] || return 0
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

bench_cleanup() {
  stop_pid "$bg_pid"; bg_pid=
  stop_pid "$crm_pid"; crm_pid=
  if declare -F bench_on_exit > /dev/null; then bench_on_exit; fi
  bench_pg_stop
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# ---- the embedded cluster ----------------------------------------------------------

# bench_pg_fresh DATA: stops and deletes the cluster of data folder DATA (crm
# keeps it in DATA/pg, or under /tmp when that path is too long for a socket)
# and DATA itself.
bench_pg_fresh() {
  local dir
  dir=$("$CRM" pg env --data-dir "$1" 2>/dev/null | sed -n "s/^CRM_PG_DIR='\(.*\)'$/\1/p") || true
  if [ -n "$dir" ] && [ -d "$dir" ]; then
    "$CRM" pg stop --data-dir "$1" > /dev/null 2>&1 || true
    rm -rf "$dir"
  fi
  rm -rf "$1"
}

# bench_pg_start DATA: starts crm's embedded cluster of data folder DATA
# (initdb, roles and database the first time; a Unix socket only) and sets
# what `crm pg start` prints (CRM_DATABASE_URL, CRM_MIGRATE_DATABASE_URL,
# CRM_PG_SUPERUSER_URL, CRM_PG_DIR; also in $OUT/${BENCH_TAG}env) and SU_URL,
# the superuser on database crm. bench_cleanup stops it.
bench_pg_start() {
  local env="$OUT/${BENCH_TAG}env" err="$OUT/${BENCH_TAG}pg.err"
  BENCH_PG_DATA=$1
  "$CRM" pg start --data-dir "$1" > "$env" 2> "$err" || { cat "$err" >&2; die "crm pg start --data-dir $1"; }
  eval "$(cat "$env")"
  SU_URL=${CRM_PG_SUPERUSER_URL/dbname=postgres/dbname=crm}
}
bench_pg_stop() {
  [ -n "$BENCH_PG_DATA" ] || return 0
  "$CRM" pg stop --data-dir "$BENCH_PG_DATA" > /dev/null 2>&1 || true
  BENCH_PG_DATA=
}

# bench_migrate [--demo]: crm migrate up on CRM_DATABASE_URL, as
# CRM_MIGRATE_DATABASE_URL (the owner); its output in $OUT/${BENCH_TAG}migrate.out
# (with --demo: the demo users' passwords).
# shellcheck disable=SC2120 # its arguments are optional
bench_migrate() {
  local log="$OUT/${BENCH_TAG}migrate.out"
  "$CRM" migrate up --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" \
    "$@" > "$log" 2>&1 || { cat "$log" >&2; die "crm migrate up"; }
}

# bench_user_add USERNAME ROLE UNIT_CODE PASSWORD: adds (or updates) a user.
bench_user_add() {
  printf '%s\n' "$4" | "$CRM" user add --username "$1" --role "$2" --unit "$3" \
    --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" > /dev/null
}

supsql() { psql "$SU_URL" -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# ---- crm -----------------------------------------------------------------------------

# bench_crm_start [FLAGS...]: `crm serve` under setsid on a free port of
# 127.0.0.1, on CRM_DATABASE_URL, with FLAGS then the words of CRM_BENCH_FLAGS;
# its output in $OUT/${BENCH_TAG}crm.out and .err. Returns once it answers
# /readyz, crm_pid and CRM_URL set; dies when it does not within 30 s.
# shellcheck disable=SC2120 # its arguments are optional
bench_crm_start() {
  local out="$OUT/${BENCH_TAG}crm.out" err="$OUT/${BENCH_TAG}crm.err"
  # shellcheck disable=SC2086 # CRM_BENCH_FLAGS: several flags
  setsid "$CRM" serve --listen 127.0.0.1:0 --database-url "$CRM_DATABASE_URL" "$@" ${CRM_BENCH_FLAGS:-} \
    > "$out" 2> "$err" &
  crm_pid=$!
  CRM_URL=
  for _ in $(seq 1 300); do
    CRM_URL=$(sed -n 's/^crm: serving on //p' "$out" 2>/dev/null)
    [ -z "$CRM_URL" ] || break
    kill -0 "$crm_pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$CRM_URL" ] || { tail -20 "$err" >&2; die "crm did not start (see $err)"; }
  curl -sf "$CRM_URL/readyz" > /dev/null || die "crm is not ready"
}

# bench_login URL USERNAME PASSWORD: prints the token of a new session; fails
# (status 1) when the login does not give one.
bench_login() {
  local t
  t=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"$2\",\"password\":\"$3\"}" "$1/api/v1/auth/login" | jq -r .token) || true
  { [ -n "$t" ] && [ "$t" != null ]; } || { say "the login of $2 failed"; return 1; }
  printf '%s\n' "$t"
}

# ---- load and figures ------------------------------------------------------------------

# wrk_warm ARGS...: the 2 s warm-up, wrk -t$THREADS -c$CONNECTIONS ARGS under
# setsid, its output dropped; wrk_measure FILE ARGS...: the measured run,
# -d$DURATION --latency, its output in FILE.
wrk_warm() { setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$@" > /dev/null; }
wrk_measure() {
  local file=$1; shift
  setsid wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" > "$file"
}

# wrk_field FILE WHAT: a figure of the wrk output in FILE, as wrk prints it:
# rps (Requests/sec), reqs (requests done), avg and max (the Latency line),
# p50, p90, p99 (--latency), errors (its Non-2xx and Socket errors lines, on
# one line; empty when none).
wrk_field() {
  case $2 in
    rps) awk '/^Requests\/sec/ {print $2}' "$1" ;;
    reqs) awk '/requests in/ {print $1}' "$1" ;;
    avg) awk '/^    Latency/ {print $2}' "$1" ;;
    max) awk '/^    Latency/ {print $4}' "$1" ;;
    p50 | p90 | p99) awk -v p="${2#p}%" '$1 == p {print $2}' "$1" ;;
    errors) awk '/Non-2xx|Socket errors/ {print}' "$1" | tr '\n' ' ' ;;
    *) die "wrk_field: no figure $2" ;;
  esac
}

ms() {  # wrk's 812.00us, 1.23ms, 2.50s, 1.00m: in ms (empty stays empty)
  awk -v v="$1" 'BEGIN { if (v == "") { print ""; exit }
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    printf "%.2f", u == "us" ? n / 1000 : u == "s" ? n * 1000 : u == "m" ? n * 60000 : n }'
}

# curl_seq URL N [CURL_ARGS...]: N GETs of URL one after the other on one
# keep-alive connection; prints "status seconds" for each, in order.
curl_seq() {
  local url=$1 n=$2 cfg="$OUT/${BENCH_TAG}curl-seq.cfg"; shift 2
  for _ in $(seq 1 "$n"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done > "$cfg"
  curl -s "$@" -w '%{http_code} %{time_total}\n' -K "$cfg"
}

pct() {  # pct P < sorted seconds, one a line: the P-th percentile, in ms
  awk -v p="$1" '{v[NR] = $1} END {i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; printf "%.2f", v[i] * 1000}'
}

# ticks PID: its CPU time (user + system, clock ticks; 0 once it is gone).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# pg_ticks PGDATA [live]: the CPU ticks of a cluster: its postmaster's children
# running now and, without live, the postmaster with the children it has
# reaped (backends gone during the run count once reaped). One awk reads every
# /proc/PID/stat at once: an awk per backend, on a machine the run saturates,
# took seconds for 64 backends, so the later ones were read late and their
# ticks of those seconds left out of the difference (the ceiling's PostgreSQL
# CPU came out about half of what it was).
pg_ticks() {
  local pm files=()
  pm=$(head -1 "$1/postmaster.pid")
  mapfile -t files < <(ps -o pid= --ppid "$pm" | awk '{print "/proc/" $1 "/stat"}')
  [ "${2:-}" = live ] || files+=("/proc/$pm/stat")
  # cat, not awk, opens them: a backend may end in between (mawk stops at a missing file).
  cat "${files[@]}" 2> /dev/null | awk -v pm="$pm" '{t += $14 + $15; if ($1 == pm) t += $16 + $17} END {print t + 0}'
}

# The machine's CPU (jiffies, all cores): busy and total, from /proc/stat.
box_cpu() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

# route_wanted KEY: whether BENCH_ROUTES (route keys, comma-separated; unset
# or empty: every route) names KEY.
route_wanted() { [ -z "${BENCH_ROUTES:-}" ] || [[ ",$BENCH_ROUTES," == *",$1,"* ]]; }
