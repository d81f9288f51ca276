#!/usr/bin/env bash
# The live event stream of issue 15 (GET /api/v1/events, Server-Sent Events)
# measured: how long a verified claim takes to reach a connected client, and
# what 1,000 open streams cost crm. Prints a Markdown table and writes it,
# with the raw JSON, to $OUT (events.md, delay.json, clients.json, ...).
#
#  0. builds a Release crm of the tree in build-evbench/ (-DCRM_TESTS=OFF,
#     no sanitizers; a failed build is retried every 60 s, 5 times, as the
#     tree may be mid-edit), unless CRM_BENCH_BIN names one (NO_BUILD=1: use
#     build-evbench/crm as it is);
#  1. a private cluster (crm pg start, in $OUT/pg), migrated with the demo
#     data (稷山县, sx.yc.js, its towns and townships, 122 projects); users
#     made with `crm user add`; $DELAY_CLAIMS + 3 x $FANOUT_PER reported
#     contracts (kind intent, dated two days ago, on the projects of the
#     towns, round robin) inserted by the superuser in SQL, and their
#     contract.reported events published right away (events_publish()), so
#     that no stream sees them; crm serves with 2 workers, no access log,
#     its scheduled jobs and stall check off (--jobs-tick-s 0
#     --stall-check-s 0: no event but ours), under setsid;
#  2. delay: one SSE client (ev.watch, bureau of the county) on the stream;
#     the $DELAY_CLAIMS contracts verified through the API one after the
#     other (ev.verifier, bureau of the county, a keep-alive connection, an
#     Idempotency-Key each), each answered and its contract.verified event
#     received (or given up after 5 s) before the next is sent, so no delay
#     is a queue's. Per claim: the event's arrival on the stream minus the
#     moment the verify was sent, and minus the moment its 200 arrived;
#     count received, each exactly once, ids increasing (sse.mjs delay);
#  3. 1,000 clients: crm started again with --events-heartbeat-s
#     $HEARTBEAT_S and --events-recheck-s $RECHECK_S (a third of the
#     default 60, so that each measured span holds a round of the session
#     checks of every stream, a database query each); /healthz measured with no stream (after a 2 s warm-up):
#     $HEALTHZ_S s of requests one after the other on one keep-alive
#     connection, $HEALTHZ_GAP_MS ms apart (sse.mjs healthz), then wrk -t1
#     -c4 -d${WRK_S}s --latency (saturating: what is left for requests while
#     crm serves the streams), crm's VmRSS before and after; then
#     $SSE_CLIENTS streams opened (sse.mjs clients, its own process under
#     setsid, $OPEN_CONCURRENCY opening at once), every other one a township
#     user's (ev.caicun of 蔡村乡 and ev.taiyang of 太阳乡, alternately), the
#     others county users' (bureau, leader, viewer and admin of sx.yc.js),
#     $SESSIONS sessions per user shared round robin; 3 s later the
#     measuring window starts: VmRSS, crm's CPU over $RECHECK_S s idle
#     (heartbeats and session checks only), the same /healthz runs, VmRSS again (and every 0.5 s
#     throughout: rss.txt); then 3 x $FANOUT_PER claims verified (a third
#     each of 蔡村乡, of 太阳乡 and of other towns) and, once delivered, the
#     streams closed and checked: every county stream got all of them,
#     every township stream its township's, each exactly once, no stream an
#     event of a unit outside its scope, ids increasing, none cut or ended,
#     every stream's heartbeats in the window (its longest silence);
#     VmRSS 3 s after the streams are gone.
#  The machine's load (/proc/loadavg, and its CPU busy share over each run)
#  goes next to each figure: on a shared 2-core box the figures are noisy
#  when other sessions build or test meanwhile.
#
# usage: bench/events/run.sh
# env:   OUT=bench/out/events (raw outputs, the cluster; relative to the
#          current folder) DELAY_CLAIMS=1000 SSE_CLIENTS=1000 FANOUT_PER=4
#        HEARTBEAT_S=1 RECHECK_S=20 HEALTHZ_S=20 HEALTHZ_GAP_MS=1 WRK_S=10 (0: no wrk)
#        WORKERS=2 SESSIONS=5 OPEN_CONCURRENCY=16 NO_BUILD=1
#        CMAKE_FLAGS: more cmake flags for build-evbench, e.g.
#          "-DCMAKE_C_FLAGS=-Wno-error=format-truncation" when the tree has a
#          warning that only a Release (-O2) build sees
#        CRM_BENCH_BIN, CRM_BENCH_SQL_DIR, CRM_BENCH_FLAGS: see bench/lib.sh
# needs: node (20: only its standard library), jq, psql, curl; wrk optional.
# shellcheck disable=SC2154,SC2034 # span_end sets NAME_load, _busy, _crm; lib.sh reads BENCH_TAG
set -euo pipefail
[ -z "${OUT:-}" ] || OUT=$(realpath -m -- "$OUT")
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/../lib.sh"

OUT=${OUT:-$ROOT/bench/out/events}
DELAY_CLAIMS=${DELAY_CLAIMS:-1000} SSE_CLIENTS=${SSE_CLIENTS:-1000} FANOUT_PER=${FANOUT_PER:-4}
HEARTBEAT_S=${HEARTBEAT_S:-1} RECHECK_S=${RECHECK_S:-20} HEALTHZ_S=${HEALTHZ_S:-20} HEALTHZ_GAP_MS=${HEALTHZ_GAP_MS:-1}
WRK_S=${WRK_S:-10} WORKERS=${WORKERS:-2} SESSIONS=${SESSIONS:-5} OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-16}
SSE=bench/events/sse.mjs
PASS='Events-bench-2026'
mkdir -p "$OUT"
command -v node > /dev/null || die "node is needed"
command -v jq > /dev/null || die "jq is needed"
command -v wrk > /dev/null || WRK_S=0
T_BEGIN=$(date +%s)
exec 3>&2 2> >(tee "$OUT/run.log" >&3)

# ---- helpers ----------------------------------------------------------------------------

clients_pid='' sampler_pid=''
bench_on_exit() {
  stop_pid "$clients_pid"; clients_pid=
  stop_pid "$sampler_pid"; sampler_pid=
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
load1() { cut -d' ' -f1-3 /proc/loadavg; }

# A measured span: span_begin, then span_end NAME sets NAME_load (loadavg
# at the end), NAME_busy (the machine's CPU busy share, both cores, %) and
# NAME_crm (crm's CPU, % of one core) over it.
span_begin() { read -r _b0 _t0 < <(box_cpu); _c0=$(ticks "$crm_pid"); _w0=$(date +%s.%N); }
span_end() {
  local b1 t1 c1 w1
  read -r b1 t1 < <(box_cpu); c1=$(ticks "$crm_pid"); w1=$(date +%s.%N)
  printf -v "${1}_load" '%s' "$(load1)"
  printf -v "${1}_busy" '%s' "$(awk -v b=$((b1 - _b0)) -v t=$((t1 - _t0)) 'BEGIN {printf "%.0f", t ? 100 * b / t : 0}')"
  printf -v "${1}_crm" '%s' "$(awk -v c=$((c1 - _c0)) -v hz="$hz" -v s="$(awk -v a="$_w0" -v b="$w1" 'BEGIN {print b - a}')" \
    'BEGIN {printf "%.0f", (s > 0 ? 100 * c / hz / s : 0)}')"
}

# node_run NAME ARGS...: sse.mjs ARGS under setsid (bounded by its --max-s
# and by timeout), its output in $OUT/NAME.log.
node_run() {
  local name=$1; shift
  setsid timeout 1200 node "$SSE" "$@" > "$OUT/$name.log" 2>&1 &
  bg_pid=$!
  if ! wait "$bg_pid"; then bg_pid=; cat "$OUT/$name.log" >&2; die "sse.mjs $1 ($name)"; fi
  bg_pid=
}

healthz_run() {  # healthz_run TAG: the sequential run, then wrk; figures in $OUT/healthz-TAG.json, wrk-TAG.txt
  span_begin
  node_run "healthz-$1" healthz --url "$CRM_URL" --seconds "$HEALTHZ_S" --gap-ms "$HEALTHZ_GAP_MS" \
    --out "$OUT/healthz-$1.json" --max-s $((HEALTHZ_S + 60))
  span_end "hz_$1"
  if [ "$WRK_S" -gt 0 ]; then
    span_begin
    setsid wrk -t1 -c4 -d"${WRK_S}s" --latency "$CRM_URL/healthz" > "$OUT/wrk-$1.txt" 2>&1 || true
    span_end "wrk_$1"
  fi
}

# ---- build, cluster, data ------------------------------------------------------------------

bench_crm build-evbench/crm
if [ -z "${CRM_BENCH_BIN:-}" ] && [ -z "${NO_BUILD:-}" ]; then
  for attempt in 1 2 3 4 5; do
    say "building build-evbench/crm (Release), attempt $attempt"
    # shellcheck disable=SC2086 # CMAKE_FLAGS: several flags
    if cmake -S . -B build-evbench -DCMAKE_BUILD_TYPE=Release -DCRM_TESTS=OFF -DCRM_SANITIZE=OFF \
      -DCMAKE_C_FLAGS="" ${CMAKE_FLAGS:-} > "$OUT/build.log" 2>&1 && cmake --build build-evbench -j2 >> "$OUT/build.log" 2>&1; then
      break
    fi
    [ "$attempt" -lt 5 ] || { tail -30 "$OUT/build.log" >&2; die "the Release build (see $OUT/build.log)"; }
    say "the build failed (the tree may be mid-edit): again in 60 s"
    sleep 60
  done
fi
[ -x "$CRM" ] || die "no crm at $CRM"
say "crm $(crm_version) ($CRM)"

bench_pg_fresh "$OUT/pg"
bench_pg_start "$OUT/pg"
bench_migrate --demo
bench_user_add ev.verifier bureau sx.yc.js "$PASS"
bench_user_add ev.watch bureau sx.yc.js "$PASS"
county_users=(ev.county.bureau ev.county.leader ev.county.viewer ev.county.admin)
for u in "${county_users[@]}"; do bench_user_add "$u" "${u#ev.county.}" sx.yc.js "$PASS"; done
bench_user_add ev.caicun unit sx.yc.js.caicun "$PASS"
bench_user_add ev.taiyang unit sx.yc.js.taiyang "$PASS"
county_id=$(supsql -c "SELECT id FROM unit WHERE code = 'sx.yc.js'")
caicun_id=$(supsql -c "SELECT id FROM unit WHERE code = 'sx.yc.js.caicun'")
taiyang_id=$(supsql -c "SELECT id FROM unit WHERE code = 'sx.yc.js.taiyang'")

say "inserting $DELAY_CLAIMS + $((3 * FANOUT_PER)) reported contracts"
supsql -v n="$DELAY_CLAIMS" -v county="$county_id" > "$OUT/delay-ids.txt" <<'SQL'
WITH p AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS n
             FROM project WHERE unit_id <> :county)
INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
SELECT p.id, 'intent', 1000000 + g, current_date - 2, 'events bench: delay ' || g
  FROM generate_series(1, :n) g JOIN p ON p.k = g % p.n
 ORDER BY g
RETURNING id;
SQL
supsql -v k="$FANOUT_PER" > "$OUT/fanout-ids.txt" <<'SQL'
INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
SELECT (SELECT p.id FROM project p JOIN unit u ON u.id = p.unit_id WHERE u.code = c.code ORDER BY p.id LIMIT 1),
       'intent', 2000000 + g, current_date - 2, 'events bench: fan-out ' || c.code || ' ' || g
  FROM generate_series(1, :k) g
 CROSS JOIN LATERAL (VALUES (1, 'sx.yc.js.caicun'), (2, 'sx.yc.js.taiyang'),
                            (3, (ARRAY['sx.yc.js.jifeng', 'sx.yc.js.devzone', 'sx.yc.js.xishe',
                                       'sx.yc.js.huayu'])[1 + g % 4])) c (o, code)
 ORDER BY g, c.o
RETURNING id;
SQL
supsql -c "SELECT events_publish()" > /dev/null
[ "$(wc -l < "$OUT/delay-ids.txt")" -eq "$DELAY_CLAIMS" ] || die "the delay contracts"
[ "$(wc -l < "$OUT/fanout-ids.txt")" -eq $((3 * FANOUT_PER)) ] || die "the fan-out contracts"
[ "$(supsql -c "SELECT count(*) FROM event_pending")" = 0 ] || die "events left unpublished"

serve_flags=(--workers "$WORKERS" --migrate-database-url "" --access-log 0 --jobs-tick-s 0 --stall-check-s 0
  --max-connections-per-address $((2 * SSE_CLIENTS + 100)))

# ---- 1. delay ---------------------------------------------------------------------------------

say "delay: $DELAY_CLAIMS contracts verified one by one, one stream watching"
BENCH_TAG=delay-  # crm's output: $OUT/delay-crm.out, .err
bench_crm_start "${serve_flags[@]}"
watch_token=$(bench_login "$CRM_URL" ev.watch "$PASS") || die "login"
verifier_token=$(bench_login "$CRM_URL" ev.verifier "$PASS") || die "login"
d_load0=$(load1)
span_begin
node_run delay delay --url "$CRM_URL" --watch "$watch_token" --verifier "$verifier_token" \
  --ids "$OUT/delay-ids.txt" --out "$OUT/delay.json" --tag "evbench-$T_BEGIN" --max-s $((DELAY_CLAIMS + 120))
span_end d
stop_pid "$crm_pid"; crm_pid=
D=$OUT/delay.json
jq '{claims, verified_200, received, missing: (.missing | length), duplicates: (.duplicates | length),
     ids_not_increasing, other_events, event_before_answer, seconds, event_after_send_ms,
     event_after_answer_ms, verify_ms}' "$D" >&2

# ---- 2. 1,000 clients ----------------------------------------------------------------------------

say "fan-out: crm with --events-heartbeat-s $HEARTBEAT_S; /healthz with no stream"
BENCH_TAG=fanout-
bench_crm_start "${serve_flags[@]}" --events-heartbeat-s "$HEARTBEAT_S" --events-recheck-s "$RECHECK_S"
: > "$OUT/tokens.txt"
for u in "${county_users[@]}" ev.caicun ev.taiyang; do
  for _ in $(seq 1 "$SESSIONS"); do
    printf '%s %s\n' "$u" "$(bench_login "$CRM_URL" "$u" "$PASS")" >> "$OUT/tokens.txt" || die "login"
  done
done
verifier_token=$(bench_login "$CRM_URL" ev.verifier "$PASS") || die "login"
rss_start=$(rss_kb "$crm_pid")
node_run healthz-warm healthz --url "$CRM_URL" --seconds 2 --out "$OUT/healthz-warm.json"
healthz_run none
sleep 1
rss_none=$(rss_kb "$crm_pid")

# The clients: even lines a township user's (caicun, taiyang alternately),
# odd lines a county user's (the four in turn); sessions round robin.
awk -v n="$SSE_CLIENTS" -v s="$SESSIONS" -v cty="$county_id" -v cai="$caicun_id" -v tai="$taiyang_id" '
  { tok[$1, ++k[$1]] = $2 }
  END {
    split("ev.county.bureau ev.county.leader ev.county.viewer ev.county.admin", cu, " ")
    for (i = 0; i < n; i++) {
      j = int(i / 4) % s + 1
      if (i % 2 == 0) {
        if (i % 4 == 0) print "township-caicun", cai, tok["ev.caicun", j]
        else print "township-taiyang", tai, tok["ev.taiyang", j]
      } else print "county", cty, tok[cu[int(i / 2) % 4 + 1], j]
    }
  }' "$OUT/tokens.txt" > "$OUT/clients.txt"

( while kill -0 "$crm_pid" 2>/dev/null; do
    printf '%s %s\n' "$(date +%s.%N)" "$(rss_kb "$crm_pid")"; sleep 0.5
  done ) > "$OUT/rss.txt" 2>/dev/null &
sampler_pid=$!

say "fan-out: opening $SSE_CLIENTS streams"
ST=$OUT/clients-status.json
rm -f "$ST" "$OUT/clients.json" "$OUT/expect.json" "$OUT"/verify-*.json
setsid node "$SSE" clients --url "$CRM_URL" --clients "$OUT/clients.txt" --status "$ST" \
  --out "$OUT/clients.json" --expect "$OUT/expect.json" --concurrency "$OPEN_CONCURRENCY" --max-s 900 \
  > "$OUT/clients.log" 2>&1 &
clients_pid=$!
for _ in $(seq 1 1800); do
  kill -0 "$clients_pid" 2>/dev/null || { cat "$OUT/clients.log" >&2; die "the clients stopped"; }
  [ -s "$ST" ] && [ "$(jq '.opened_all_s != null' "$ST" 2>/dev/null)" = true ] && break
  sleep 0.1
done
[ "$(jq '.opened_all_s != null' "$ST")" = true ] || die "the streams did not open within 180 s"
jq -c . "$ST" >&2
open_s=$(jq .opened_all_s "$ST"); opened=$(jq .open "$ST"); open_failed=$(jq .failed "$ST")
sleep 3
kill -USR2 "$clients_pid"
streams_metric=$(curl -s --max-time 5 "$CRM_URL/metrics" | awk '/^crm_events_streams / {print $2}')
rss_1000=$(rss_kb "$crm_pid")
span_begin; sleep "$RECHECK_S"; span_end idle
say "fan-out: /healthz with $opened streams open"
healthz_run with
rss_1000_after=$(rss_kb "$crm_pid")

say "fan-out: verifying $((3 * FANOUT_PER)) claims"
verify_failed=0
: > "$OUT/fanout-verify.txt"
while read -r id; do
  code=$(curl -s -o "$OUT/verify.tmp" -w '%{http_code}' --max-time 10 -X POST \
    -H "Authorization: Bearer $verifier_token" -H "Idempotency-Key: evbench-fanout-$T_BEGIN-$id" \
    "$CRM_URL/api/v1/contracts/$id/verify") || true
  { printf '%s HTTP %s ' "$id" "$code"; cat "$OUT/verify.tmp"; echo; } >> "$OUT/fanout-verify.txt"
  [ "$code" = 200 ] || { verify_failed=$((verify_failed + 1)); say "verify $id: HTTP $code $(head -c 300 "$OUT/verify.tmp")"; }
done < "$OUT/fanout-ids.txt"
rm -f "$OUT/verify.tmp"
supsql -v ids="$(paste -sd, "$OUT/fanout-ids.txt")" > "$OUT/expect.json" <<'SQL'
SELECT json_build_object(
  'claims', (SELECT json_agg(json_build_object('id', id, 'path', unit_path) ORDER BY id)
               FROM contract WHERE id IN (:ids) AND verified_at IS NOT NULL),
  'units', (SELECT json_object_agg(id, path) FROM unit));
SQL
n_county=$(grep -c '^county ' "$OUT/clients.txt" || true)
n_town=$(grep -c '^township-' "$OUT/clients.txt" || true)
want=$((n_county * 3 * FANOUT_PER + n_town * FANOUT_PER))
for _ in $(seq 1 200); do
  [ "$(jq .verified "$ST")" -ge "$want" ] && break
  sleep 0.1
done
say "fan-out: $(jq .verified "$ST") of $want deliveries of contract.verified"
sleep 2
kill -TERM "$clients_pid" 2>/dev/null || true
for _ in $(seq 1 300); do kill -0 "$clients_pid" 2>/dev/null || break; sleep 0.1; done
stop_pid "$clients_pid"; clients_pid=
[ -s "$OUT/clients.json" ] || { cat "$OUT/clients.log" >&2; die "no clients.json"; }
sleep 3
rss_closed=$(rss_kb "$crm_pid")
rss_hwm=$(hwm_kb "$crm_pid")
rss_peak=$(awk '$2 > m {m = $2} END {print m + 0}' "$OUT/rss.txt")
C=$OUT/clients.json
jq '{clients, opened_all_s, window_s, violations_total, groups: (.groups | map_values(
      {clients, open_at_end, failed, ended, verified_expected, verified_received, missing, duplicates,
       out_of_scope, ids_not_increasing, heartbeats_min: .heartbeats_in_window.min,
       max_silence_ms: .max_silence_ms.max}))}' "$C" >&2
jq -c '.violations[:20][]' "$C" >&2

# ---- the table ------------------------------------------------------------------------------------

hz_field() { jq -r "$2" "$OUT/healthz-$1.json"; }
wrk_cell() {  # wrk_cell TAG: "req/s; p50 / p99 ms"
  local f=$OUT/wrk-$1.txt
  if [ "$WRK_S" -le 0 ] || [ ! -s "$f" ]; then echo n/a; return; fi
  printf '%s req/s; %s / %s ms%s' "$(wrk_field "$f" rps)" "$(ms "$(wrk_field "$f" p50)")" \
    "$(ms "$(wrk_field "$f" p99)")" "$(e=$(wrk_field "$f" errors); [ -z "$e" ] || echo "; $e")"
}
dl() { jq -r "$1" "$D"; }
per_client=$(awk -v a="$rss_none" -v b="$rss_1000" -v n="$opened" 'BEGIN {printf "%.1f", n ? (b - a) / n : 0}')
grp() { jq -r --arg g "$1" ".groups[\$g] | $2" "$C"; }
groups_line() {
  local g
  for g in county township-caicun township-taiyang; do
    printf -- '- %s: %s streams (%s open at the end, %s failed to open, %s ended early); contract.verified %s of %s expected, %s missing, %s twice; %s events out of scope; %s ids out of order; heartbeats in the %s s window: min %s, median %s; longest silence %s ms\n' \
      "$g" "$(grp "$g" .clients)" "$(grp "$g" .open_at_end)" "$(grp "$g" .failed)" "$(grp "$g" .ended)" \
      "$(grp "$g" .verified_received)" "$(grp "$g" .verified_expected)" "$(grp "$g" .missing)" \
      "$(grp "$g" .duplicates)" "$(grp "$g" .out_of_scope)" "$(grp "$g" .ids_not_increasing)" \
      "$(jq .window_s "$C")" "$(grp "$g" .heartbeats_in_window.min)" "$(grp "$g" .heartbeats_in_window.p50)" \
      "$(grp "$g" '.max_silence_ms.max | floor')"
  done
}
{
  echo "Run $(date -u +%Y-%m-%dT%H:%MZ), crm $(crm_version) (Release, $CRM), $(nproc) cores shared with other sessions, PostgreSQL $(supsql -c 'SHOW server_version' | cut -d' ' -f1) (crm pg start, defaults, Unix socket), crm --workers $WORKERS (2 database connections each), no access log, scheduled jobs off."
  echo
  echo "Command: \`${CMAKE_FLAGS:+CMAKE_FLAGS=\"$CMAKE_FLAGS\" }bench/events/run.sh\`$( [ "$DELAY_CLAIMS $SSE_CLIENTS $HEARTBEAT_S $RECHECK_S $HEALTHZ_S" = "1000 1000 1 20 20" ] || echo " (DELAY_CLAIMS=$DELAY_CLAIMS SSE_CLIENTS=$SSE_CLIENTS HEARTBEAT_S=$HEARTBEAT_S RECHECK_S=$RECHECK_S HEALTHZ_S=$HEALTHZ_S)")"
  echo
  echo "**Delay**: one stream (a bureau user of the county), $(dl .claims) contracts verified one after the other through the API (each answered, and its event received, before the next); $(dl .seconds) s in all."
  echo
  echo "| contract.verified on the stream | received | p50 | p90 | p99 | max |"
  echo "|---|---|---|---|---|---|"
  echo "| after the verify was sent | $(dl .received) of $(dl .claims) | $(dl .event_after_send_ms.p50) ms | $(dl .event_after_send_ms.p90) ms | $(dl .event_after_send_ms.p99) ms | $(dl .event_after_send_ms.max) ms |"
  echo "| after its 200 answer arrived (negative: the event came first) | $(dl .received) of $(dl .claims) | $(dl .event_after_answer_ms.p50) ms | $(dl .event_after_answer_ms.p90) ms | $(dl .event_after_answer_ms.p99) ms | $(dl .event_after_answer_ms.max) ms |"
  echo "| (the verify's own answer) | $(dl .verified_200) answered 200 | $(dl .verify_ms.p50) ms | $(dl .verify_ms.p90) ms | $(dl .verify_ms.p99) ms | $(dl .verify_ms.max) ms |"
  echo
  echo "Each exactly once: $(dl '.missing | length') missing, $(dl '.duplicates | length') received twice, $(dl .ids_not_increasing) ids not increasing, $(dl .other_events) other events; $(dl .event_before_answer) events arrived before their verify's answer. Load: loadavg $d_load0 before, $d_load after; the machine's CPU $d_busy% busy (crm $d_crm% of a core)."
  echo
  echo "**$opened open streams** (heartbeat every $HEARTBEAT_S s, session checks every $RECHECK_S s; $n_town township users' streams, half 蔡村乡, half 太阳乡, and $n_county of four county users; opened in $open_s s, $OPEN_CONCURRENCY at a time, $open_failed failed, $(jq '[.groups[].open_attempts_over_1] | add' "$C") opened only when retried (see fanout-crm.err); crm_events_streams = $streams_metric):"
  echo
  echo "| | no stream | $opened streams |"
  echo "|---|---|---|"
  echo "| crm VmRSS | $(mb "$rss_none") MB (at start: $(mb "$rss_start") MB) | $(mb "$rss_1000") MB (+$per_client KB a stream); after the /healthz runs $(mb "$rss_1000_after") MB; peak $(mb "$rss_peak") MB |"
  echo "| /healthz one at a time, keep-alive, ${HEALTHZ_GAP_MS} ms apart, ${HEALTHZ_S} s: p50 / p99 (max) | $(hz_field none .latency_ms.p50) / $(hz_field none .latency_ms.p99) ms ($(hz_field none .latency_ms.max) ms), $(hz_field none .requests) requests, $(hz_field none .errors) errors | $(hz_field with .latency_ms.p50) / $(hz_field with .latency_ms.p99) ms ($(hz_field with .latency_ms.max) ms), $(hz_field with .requests) requests, $(hz_field with .errors) errors |"
  echo "| /healthz wrk -t1 -c4 -d${WRK_S}s (saturating): req/s; p50 / p99 | $(wrk_cell none) | $(wrk_cell with) |"
  echo "| crm CPU, idle | | ${idle_crm}% of a core over $RECHECK_S s (heartbeats every $HEARTBEAT_S s, one round of session checks) |"
  echo "| load: loadavg (1, 5, 15 min) at the end; the machine's CPU busy | sequential: $hz_none_load, ${hz_none_busy}%; wrk: ${wrk_none_load:-n/a}, ${wrk_none_busy:-n/a}% | sequential: $hz_with_load, ${hz_with_busy}%; wrk: ${wrk_with_load:-n/a}, ${wrk_with_busy:-n/a}% |"
  echo
  echo "Then $((3 * FANOUT_PER)) claims verified ($FANOUT_PER of 蔡村乡, $FANOUT_PER of 太阳乡, $FANOUT_PER of other towns; $verify_failed failed): violations $(jq .violations_total "$C") (missing or repeated events, events out of a stream's scope, streams failed or ended, ids out of order)."
  echo
  groups_line
  echo
  echo "crm VmRSS 3 s after the streams closed: $(mb "$rss_closed") MB (VmHWM $(mb "$rss_hwm") MB: the logins' argon2id hashing, 64 MiB each, not the streams)."
  echo
  echo "Raw: $OUT/ (delay.json: each claim's times; clients.json: per group, and the violations; healthz-*.json, wrk-*.txt, rss.txt, run.log)."
} > "$OUT/events.md"
echo >&2
cat "$OUT/events.md"
say "done in $(($(date +%s) - T_BEGIN)) s"
