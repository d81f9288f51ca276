#!/usr/bin/env bash
# The soak of issue 12: crm under AddressSanitizer + LeakSanitizer at a constant
# rate for SOAK_SECONDS (default 600) over a realistic mix of routes, its RSS
# sampled from /proc every SOAK_SAMPLE_S (10) seconds; then SIGTERM, so that
# LeakSanitizer reports what was never freed. Fails (exit 1) when
#   - crm's RSS grew after the warm-up (SOAK_WARMUP, default 120 s; a third of
#     shorter runs) by more than the tolerance: 8 MiB (SOAK_RSS_TOLERANCE_MB)
#     or 10% of the RSS at the end of the warm-up (SOAK_RSS_TOLERANCE_PCT),
#     whichever is smaller;
#   - LeakSanitizer reports a leak, or AddressSanitizer / UBSan an error;
#   - crm does not exit 0 on SIGTERM, or answers anything but 2xx.
# Prints the figures and writes them to SOAK_REPORT: bench/SOAK.md for a run of
# 600 s or more of a sanitizer build, bench/out/soak/SOAK.md for a shorter one
# (`make soak-quick`: SOAK_SECONDS=30, under a minute in all) or for a build
# without sanitizers (SOAK_ALLOW_PLAIN=1: RSS only, crm's own memory without the
# sanitizer allocator's).
#
# Like bench/units.sh it starts its own PostgreSQL (crm's embedded cluster under
# bench/out/soak/db, migrated, with the demo data) and crm under setsid. crm must
# be built with the test build's sanitizers (`make soak` builds build-soak:
# -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON -DCRM_TESTS=OFF).
#
# The load: wrk with bench/lua/soak.lua, one connection per thread, each thread
# pacing its own share of SOAK_RATE (default 100 requests/s; plain wrk has no
# rate option, the script waits for each request's slot): point reads, list
# pages (and next pages through their cursors), interaction lists, the figures
# of the county and its townships, the ranking, scorecards, alerts, /me,
# /units, /healthz, interactions logged by a bureau user (a write and its audit
# rows), and now and then a login followed by /me and a logout. The mix is
# written in bench/lua/soak.lua.
#
# RSS: the resident set (the sum of /proc/PID/smaps) less the argon2id buffers
# of logins being hashed when it is read (libsodium maps 64 MiB for the length of
# one hash and unmaps it: not growth), the smallest of 3 reads 0.1 s apart.
# AddressSanitizer keeps freed memory in a quarantine
# before reusing it (256 MiB by default, filling for minutes at this rate and
# looking like a leak): the soak runs with quarantine_size_mb=16 (SOAK_ASAN_OPTIONS
# adds to or overrides the options), which fills within the warm-up.
#
# usage: bench/soak.sh [path/to/crm]   (make soak; make soak-quick)
# env:   the SOAK_* above, SOAK_OUT=bench/out/soak, SOAK_CRM_FLAGS: more `crm serve`
#        flags; CRM_BENCH_BIN, CRM_BENCH_SQL_DIR: another crm (bench/lib.sh)
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-100}
SOAK_THREADS=${SOAK_THREADS:-4}
SOAK_SAMPLE_S=${SOAK_SAMPLE_S:-10}
SOAK_RSS_TOLERANCE_MB=${SOAK_RSS_TOLERANCE_MB:-8}
SOAK_RSS_TOLERANCE_PCT=${SOAK_RSS_TOLERANCE_PCT:-10}
OUT=${SOAK_OUT:-bench/out/soak}
if [ -z "${SOAK_WARMUP:-}" ]; then
  SOAK_WARMUP=$((SOAK_SECONDS / 3))
  [ "$SOAK_WARMUP" -le 120 ] || SOAK_WARMUP=120
  SOAK_WARMUP=$((SOAK_WARMUP / SOAK_SAMPLE_S * SOAK_SAMPLE_S))  # on a sample, never the
  [ "$SOAK_WARMUP" -ge "$SOAK_SAMPLE_S" ] || SOAK_WARMUP=$SOAK_SAMPLE_S  # one before the load
fi

say() { echo "soak: $*"; }
die() { echo "soak: $*" >&2; exit 2; }
bench_crm build-soak/crm "${1:-}"
[ -x "$CRM" ] || die "$CRM is not built (make soak builds build-soak/crm)"
for t in wrk jq curl; do command -v "$t" >/dev/null || die "$t is missing (scripts/deps.sh soak)"; done
libs=$(ldd "$CRM" 2>/dev/null || true)
grep -q libasan <<<"$libs" || [ "${SOAK_ALLOW_PLAIN:-0}" = 1 ] ||
  die "$CRM is not built with AddressSanitizer (LeakSanitizer would see nothing): build with -DCRM_SANITIZE=ON"
if [ -z "${SOAK_REPORT:-}" ]; then
  # bench/SOAK.md holds the last full run of a sanitizer build only.
  if [ "$SOAK_SECONDS" -ge 600 ] && grep -q libasan <<<"$libs"; then SOAK_REPORT=bench/SOAK.md; else
    SOAK_REPORT=$OUT/SOAK.md; fi
fi
[ "$SOAK_SECONDS" -ge $((2 * SOAK_SAMPLE_S)) ] || die "SOAK_SECONDS must be at least $((2 * SOAK_SAMPLE_S))"
[ "$SOAK_WARMUP" -lt "$SOAK_SECONDS" ] || die "SOAK_WARMUP ($SOAK_WARMUP) must be below SOAK_SECONDS"

mkdir -p "$OUT"
rm -f "$OUT"/asan.* "$OUT"/ubsan.* "$OUT"/rss.tsv "$OUT"/wrk.txt "$OUT"/crm.out "$OUT"/crm.err "$OUT"/metrics.txt
# A previous run's cluster (here or in its /tmp fallback) is stopped and wiped.
bench_pg_fresh "$OUT/db"

out_abs=$(realpath -m -- "$OUT")
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:quarantine_size_mb=16:log_path=$out_abs/asan${SOAK_ASAN_OPTIONS:+:$SOAK_ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$out_abs/ubsan"
bench_pg_start "$OUT/db"
bench_migrate --demo
PASSWORD='Soak-user-2026!'
for u in "soak.viewer viewer sx.yc.js" "soak.bureau bureau sx.yc.js.invest" "soak.login unit sx.yc.js.xishe"; do
  read -r name role unit <<<"$u"
  bench_user_add "$name" "$role" "$unit" "$PASSWORD"
done

CRM_BENCH_FLAGS=${SOAK_CRM_FLAGS:-}   # crm serve's defaults otherwise (access log on)
bench_crm_start
export SOAK_READ_TOKEN SOAK_WRITE_TOKEN SOAK_PROJECTS SOAK_UNITS
SOAK_READ_TOKEN=$(bench_login "$CRM_URL" soak.viewer "$PASSWORD")
SOAK_WRITE_TOKEN=$(bench_login "$CRM_URL" soak.bureau "$PASSWORD")
SOAK_PROJECTS=$(curl -sf -H "Authorization: Bearer $SOAK_READ_TOKEN" "$CRM_URL/api/v1/projects?limit=200" |
  jq -r '[.items[] | "\(.id):\(.unit_id)"] | join(",")')
# The county first, then the units ranked under it (no department).
SOAK_UNITS=$(curl -sf -H "Authorization: Bearer $SOAK_READ_TOKEN" "$CRM_URL/api/v1/units" |
  jq -r '[(.items[] | select(.kind == "county") | .id), (.items[] | select(.kind != "county" and .kind != "department") | .id)] | map(tostring) | join(",")')
{ [ -n "$SOAK_PROJECTS" ] && [ -n "$SOAK_UNITS" ]; } || die "the demo has no projects or units"
export SOAK_RATE SOAK_THREADS SOAK_LOGIN_USER=soak.login SOAK_LOGIN_PASSWORD=$PASSWORD
export SOAK_YEAR SOAK_DATE
SOAK_DATE=$(TZ=Asia/Shanghai date +%F)
SOAK_YEAR=${SOAK_DATE%%-*}
export BENCH_LUA_DIR=bench/lua

# --- measuring --------------------------------------------------------------------

# rss_kb: crm's VmRSS less its argon2id buffers (a login being hashed holds one
# anonymous read-write mapping of exactly 64 MiB, unmapped when the hash is done:
# not growth), the smallest of 3 reads 0.1 s apart.
rss_kb() {
  local min="" v i
  for i in 1 2 3; do
    v=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {anon_rw = ($2 ~ /^rw/ && NF == 5); next}
      /^Size:/ {size = $2; next}
      /^Rss:/ {rss += $2; if (anon_rw && size == 65536) hash += $2}
      END {if (NR) print rss - hash}' "/proc/$crm_pid/smaps" 2>/dev/null || true)
    [ -n "$v" ] || continue
    if [ -z "$min" ] || [ "$v" -lt "$min" ]; then min=$v; fi
    [ "$i" = 3 ] || sleep 0.1
  done
  echo "${min:-0}"
}
now_s() { awk '{print $1}' /proc/uptime; }
load1() { awk '{print $1}' /proc/loadavg; }

sanitized=1; grep -q libasan <<<"$libs" || sanitized=0
build_kind="AddressSanitizer + LeakSanitizer"; [ "$sanitized" = 1 ] || build_kind="no sanitizer (SOAK_ALLOW_PLAIN=1): RSS only"
say "crm $(crm_version) ($build_kind), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
say "$SOAK_RATE requests/s for $SOAK_SECONDS s (wrk -t$SOAK_THREADS -c$SOAK_THREADS, bench/lua/soak.lua), RSS every $SOAK_SAMPLE_S s, warm-up $SOAK_WARMUP s"
printf 'seconds\trss_kb\tload1\n' > "$OUT/rss.tsv"
crm_t0=$(ticks "$crm_pid"); pg_t0=$(pg_ticks "$CRM_PG_DIR/data"); read -r box_b0 box_t0 < <(box_cpu)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now_s)
setsid wrk -t"$SOAK_THREADS" -c"$SOAK_THREADS" -d"${SOAK_SECONDS}s" --timeout 10s --latency \
  -s bench/lua/soak.lua "$CRM_URL" > "$OUT/wrk.txt" 2>&1 &
bg_pid=$!
printf '0\t%s\t%s\n' "$(rss_kb)" "$(load1)" >> "$OUT/rss.tsv"
wrk_ticks=0
loads=()
for ((k = 1; k * SOAK_SAMPLE_S < SOAK_SECONDS; k++)); do
  # Sleep until the sample's time (or wrk's end), keeping wrk's CPU time.
  while kill -0 "$bg_pid" 2>/dev/null && awk -v t0="$t0" -v s=$((k * SOAK_SAMPLE_S)) -v n="$(now_s)" 'BEGIN {exit !(n - t0 < s)}'; do
    v=$(ticks "$bg_pid"); [ "$v" = 0 ] || wrk_ticks=$v
    sleep 0.5
  done
  kill -0 "$bg_pid" 2>/dev/null || break
  l=$(load1); loads+=("$l")
  printf '%d\t%s\t%s\n' $((k * SOAK_SAMPLE_S)) "$(rss_kb)" "$l" >> "$OUT/rss.tsv"
  if [ $((k * SOAK_SAMPLE_S % 60)) = 0 ]; then
    say "  $((k * SOAK_SAMPLE_S)) s: RSS $(tail -1 "$OUT/rss.tsv" | cut -f2) kB, load $l"
  fi
done
while kill -0 "$bg_pid" 2>/dev/null; do
  v=$(ticks "$bg_pid"); [ "$v" = 0 ] || wrk_ticks=$v
  sleep 0.2
done
wrk_rc=0; wait "$bg_pid" || wrk_rc=$?
bg_pid=
elapsed=$(awk -v t0="$t0" -v n="$(now_s)" 'BEGIN {printf "%.0f", n - t0}')
printf '%d\t%s\t%s\n' "$SOAK_SECONDS" "$(rss_kb)" "$(load1)" >> "$OUT/rss.tsv"
crm_t1=$(ticks "$crm_pid"); pg_t1=$(pg_ticks "$CRM_PG_DIR/data"); read -r box_b1 box_t1 < <(box_cpu)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$crm_pid/status")
curl -s "$CRM_URL/metrics" > "$OUT/metrics.txt" || true

# --- stopping: SIGTERM, then LeakSanitizer's report --------------------------------

kill -TERM "$crm_pid"
crm_rc=""
for _ in $(seq 1 600); do
  kill -0 "$crm_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$crm_pid" 2>/dev/null; then
  kill -KILL "$crm_pid" 2>/dev/null || true
  crm_rc=killed
fi
rc=0; wait "$crm_pid" 2>/dev/null || rc=$?
[ -n "$crm_rc" ] || crm_rc=$rc
crm_pid=   # stopped: bench_cleanup stops the cluster only

# --- the figures ------------------------------------------------------------------

failures=()
[ "$wrk_rc" = 0 ] || failures+=("wrk exited $wrk_rc (see $OUT/wrk.txt)")
requests=$(wrk_field "$OUT/wrk.txt" reqs)
achieved=$(wrk_field "$OUT/wrk.txt" rps)
non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$OUT/wrk.txt")
sockerr=$(sed -n 's/^ *Socket errors: //p' "$OUT/wrk.txt")
missed=$(awk '$1 == "soak:" && $2 == "missed" {print $3}' "$OUT/wrk.txt")
statuses=$(awk '$1 == "soak:" && $2 == "status" {printf "%s%s %s x %s", sep, $3, $4, $5; sep = ", "}' "$OUT/wrk.txt")
mix=$(awk '$1 == "soak:" && $2 == "sent" {printf "%s%s %s", sep, $3, $4; sep = ", "}' "$OUT/wrk.txt")
lat() { awk -v p="$1" '$1 == p {print $2}' "$OUT/wrk.txt"; }
errors=$(( ${non2xx:-0} ))
if [ -n "$sockerr" ]; then
  errors=$((errors + $(grep -oE '[0-9]+' <<<"$sockerr" | awk '{s += $1} END {print s + 0}')))
fi
[ -n "$requests" ] || failures+=("wrk printed no summary (see $OUT/wrk.txt)")
[ "$errors" = 0 ] || failures+=("$errors errors: ${statuses:-} ${sockerr:+socket errors: $sockerr}")
# crm's own count of the answers by status (from /metrics), 2xx aside.
metrics_bad=$(awk '/^crm_http_requests_total\{/ && !/status="2/ {print}' "$OUT/metrics.txt" | sed 's/^crm_http_requests_total//' | paste -sd' ' || true)

rss_at() { awk -F'\t' -v s="$1" 'NR > 1 && $1 == s {print $2}' "$OUT/rss.tsv"; }
rss_start=$(rss_at 0)
rss_warm=$(rss_at "$SOAK_WARMUP")
rss_end=$(rss_at "$SOAK_SECONDS")
rss_max=$(awk -F'\t' 'NR > 1 && $2 > m {m = $2} END {print m}' "$OUT/rss.tsv")
growth=$((rss_end - rss_warm))
tol=$(awk -v w="$rss_warm" -v mb="$SOAK_RSS_TOLERANCE_MB" -v pct="$SOAK_RSS_TOLERANCE_PCT" \
  'BEGIN {a = mb * 1024; b = w * pct / 100; printf "%d", (a < b) ? a : b}')
# Least-squares slope of the samples after the warm-up, in kB per minute.
slope=$(awk -F'\t' -v w="$SOAK_WARMUP" 'NR > 1 && $1 >= w {n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2}
  END {d = n * sxx - sx * sx; printf "%.1f", (n > 1 && d) ? (n * sxy - sx * sy) / d * 60 : 0}' "$OUT/rss.tsv")
half=$((SOAK_SECONDS / 2 / SOAK_SAMPLE_S * SOAK_SAMPLE_S))
slope2=$(awk -F'\t' -v w="$half" 'NR > 1 && $1 >= w {n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2}
  END {d = n * sxx - sx * sx; printf "%.1f", (n > 1 && d) ? (n * sxy - sx * sy) / d * 60 : 0}' "$OUT/rss.tsv")
if [ "$growth" -gt "$tol" ]; then
  failures+=("RSS grew by $growth kB after the warm-up (tolerance $tol kB)")
fi

# Sanitizers: their reports go to $OUT/asan.PID and $OUT/ubsan.PID.
san_files=$(ls "$OUT"/asan.* "$OUT"/ubsan.* 2>/dev/null || true)
lsan="clean (no report)"
[ "$sanitized" = 1 ] || lsan="not checked (crm built without sanitizers)"
if [ -n "$san_files" ]; then
  # shellcheck disable=SC2086
  if grep -q 'LeakSanitizer: detected memory leaks' $san_files; then
    lsan="LEAKS: $(grep -h '^SUMMARY' $san_files | paste -sd' ')"
    failures+=("LeakSanitizer reports leaks (see $san_files)")
  fi
  # shellcheck disable=SC2086
  if grep -qE 'ERROR: AddressSanitizer|runtime error|LeakSanitizer has encountered a fatal error' $san_files; then
    [[ $lsan == LEAKS* ]] || lsan="ERROR: $(grep -hE '^SUMMARY|ERROR' $san_files | awk 'NR <= 3' | paste -sd' ')"
    failures+=("a sanitizer reports an error (see $san_files)")
  fi
fi
if grep -qE 'runtime error|LeakSanitizer|AddressSanitizer' "$OUT/crm.err"; then
  failures+=("crm's stderr holds a sanitizer report (see $OUT/crm.err)")
  lsan="see $OUT/crm.err"
fi
[ "$crm_rc" = 0 ] || failures+=("crm exited $crm_rc on SIGTERM (0 expected)")

cpu=$(awk -v c=$((crm_t1 - crm_t0)) -v p=$((pg_t1 - pg_t0)) -v w="$wrk_ticks" -v b=$((box_b1 - box_b0)) \
  -v t=$((box_t1 - box_t0)) -v hz="$hz" -v s="$elapsed" 'BEGIN {
    o = b - c - p - w; if (o < 0) o = 0
    printf "crm %.0f%%, PostgreSQL %.0f%%, wrk %.0f%%, others %.0f%% of one core; the machine %.0f%% busy",
      c / hz / s * 100, p / hz / s * 100, w / hz / s * 100, o / hz / s * 100, b * 100 / t}')
load_max=$(printf '%s\n' "${loads[@]:-0}" | sort -g | tail -1)
verdict=passed
[ ${#failures[@]} -eq 0 ] || verdict=FAILED
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

echo
say "requests: ${requests:-?} in ${elapsed} s (${achieved:-?}/s; $SOAK_RATE/s offered, ${missed:-?} slots missed)"
say "errors: $errors${statuses:+ ($statuses)}${sockerr:+, socket errors: $sockerr}"
say "latency: p50 $(lat 50%), p90 $(lat 90%), p99 $(lat 99%)"
say "RSS: start $(mb "$rss_start") MiB, after the warm-up ($SOAK_WARMUP s) $(mb "$rss_warm") MiB, end $(mb "$rss_end") MiB, max $(mb "$rss_max") MiB; growth after the warm-up $growth kB (tolerance $tol kB), trend $slope kB/min after the warm-up, $slope2 kB/min over the second half; VmHWM $(mb "$hwm_kb") MiB"
say "LeakSanitizer: $lsan; crm exit on SIGTERM: $crm_rc"
say "CPU: $cpu; load average $load_start at the start, $load_end at the end, highest 1-min $load_max"
for f in "${failures[@]}"; do say "FAIL: $f"; done
say "$verdict"

# --- the report -------------------------------------------------------------------

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""; [ -z "$(git status --porcelain -- crm sql 2>/dev/null)" ] || dirty=" (with uncommitted changes under crm/ or sql/)"
{
  echo "# Soak"
  echo
  echo "Written by \`bench/soak.sh\` (\`make soak\`), issue 12: crm built with AddressSanitizer + LeakSanitizer"
  echo "(and UBSan) at a constant rate over a realistic mix of routes, its RSS sampled every $SOAK_SAMPLE_S s, then"
  echo "SIGTERM so that LeakSanitizer reports. It fails when RSS grows after the warm-up by more than"
  echo "$SOAK_RSS_TOLERANCE_MB MiB or $SOAK_RSS_TOLERANCE_PCT% (the smaller), on a leak or sanitizer error, on any non-2xx answer, or when crm does"
  echo "not exit 0."
  echo
  echo "**Result: $verdict.**"
  echo
  echo "| figure | value |"
  echo "|---|---|"
  echo "| crm | $CRM: $build_kind |"
  echo "| duration | $SOAK_SECONDS s at $SOAK_RATE requests/s offered (warm-up: the first $SOAK_WARMUP s) |"
  echo "| requests done | ${requests:-?} (${achieved:-?}/s; ${missed:-?} schedule slots missed) |"
  echo "| errors | $errors${statuses:+ ($statuses)}${sockerr:+; socket errors: $sockerr} |"
  echo "| crm's non-2xx answers (/metrics) | ${metrics_bad:-none} |"
  echo "| latency p50 / p90 / p99 (wrk) | $(lat 50%) / $(lat 90%) / $(lat 99%) |"
  echo "| RSS at the start | $(mb "$rss_start") MiB |"
  echo "| RSS after the warm-up ($SOAK_WARMUP s) | $(mb "$rss_warm") MiB |"
  echo "| RSS at the end | $(mb "$rss_end") MiB |"
  echo "| RSS max (of the samples) | $(mb "$rss_max") MiB |"
  echo "| growth after the warm-up | $growth kB (tolerance $tol kB) |"
  echo "| RSS trend (least squares) | $slope kB/min after the warm-up, $slope2 kB/min over the second half (from $half s) |"
  echo "| VmHWM at the end | $(mb "$hwm_kb") MiB (argon2id maps 64 MiB per login hash, for its length) |"
  echo "| LeakSanitizer | $lsan |"
  echo "| crm's exit on SIGTERM | $crm_rc |"
  echo "| CPU over the run | $cpu |"
  echo "| load average | $load_start at the start, $load_end at the end, highest 1-min sample $load_max |"
  echo
  for f in "${failures[@]}"; do echo "- FAIL: $f"; done
  [ ${#failures[@]} -eq 0 ] || echo
  cat <<'NOTE'
Under AddressSanitizer the RSS holds, besides crm's own memory, the allocator's quarantine of freed
blocks (16 MiB here) and its free lists per block size, which go on filling for several minutes at
this rate. LeakSanitizer finds memory that nothing points to; memory that grows while still referenced
shows only in RSS, and a build without sanitizers shows crm's own alone:
`SOAK_ALLOW_PLAIN=1 bench/soak.sh build/crm` (RSS only; its report goes to bench/out/soak/SOAK.md).
NOTE
  echo
  echo "## Mix"
  echo
  echo "Requests sent, by kind (bench/lua/soak.lua; a list page is followed by its next page half the time,"
  echo "a login by GET /me and a logout with the new session): $mix."
  echo
  echo "## RSS samples"
  echo
  echo "RSS less the argon2id buffers of logins being hashed (the smallest of 3 reads 0.1 s apart), MiB, every minute (every sample: \`$OUT/rss.tsv\`):"
  echo
  echo "| s | RSS MiB | load (1 min) |"
  echo "|--:|--:|--:|"
  awk -F'\t' -v S="$SOAK_SECONDS" -v W="$SOAK_WARMUP" 'NR > 1 && ($1 % 60 == 0 || $1 == S || $1 == W || S < 120) {
    printf "| %d | %.1f | %s |\n", $1, $2 / 1024, $3}' "$OUT/rss.tsv"
  echo
  echo "## Settings"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); crm $(crm_version), commit $commit$dirty, the binary built $(date -u -r "$CRM" '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo) GB RAM, shared with other sessions"
  echo "- crm: $CRM${CRM_BENCH_SQL_DIR:+ with the SQL of $CRM_BENCH_SQL_DIR}, \`crm serve --listen 127.0.0.1:0 ${SOAK_CRM_FLAGS:-}\` (defaults: one worker per core, 2 connections each, access log on),"
  echo "  ASAN_OPTIONS=${ASAN_OPTIONS//$PWD\//}"
  echo "- PostgreSQL: $(pg_config --version 2>/dev/null || echo 15), crm's embedded cluster (${CRM_PG_DIR#"$PWD"/}), migrated, with the demo data"
  echo "- load: wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}') -t$SOAK_THREADS -c$SOAK_THREADS --timeout 10s --latency -s bench/lua/soak.lua (each thread paces its share of the rate)"
} > "$SOAK_REPORT"
say "report: $SOAK_REPORT"
[ ${#failures[@]} -eq 0 ]
