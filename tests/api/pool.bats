#!/usr/bin/env bats
# Pool exhaustion: 200 concurrent requests against one worker with two
# connections. Each is answered 200 or 503 problem+json with Retry-After,
# none hangs, and the refusals are counted in the metrics.

load helpers
load sync

setup_file() {
  crm_env
  make_user pool.viewer viewer sx.yc.js 'Pool-viewer-2024'
}

setup() {
  crm_env
}

teardown() {
  release_lock || true
  crm_stop || true
}

@test "200 concurrent requests on a pool of 2: each 200 or 503, none hanging" {
  crm_start --workers 1 --db-pool-size 2 --db-pipeline-depth 1 --db-queue-max 16 \
    --db-queue-timeout-ms 1000 --access-log 0
  token=$(login pool.viewer 'Pool-viewer-2024')
  dir="$BATS_TEST_TMPDIR/out"
  mkdir -p "$dir"
  # 200 requests at once, each on its own connection; curl gives up after 15 s
  # (code 000), which would fail the test.
  curl -s --parallel --parallel-immediate --parallel-max 200 --max-time 15 \
    -H "Authorization: Bearer $token" -o "$dir/#1.body" \
    -w '%{http_code} %{content_type} %header{retry-after} %{filename_effective}\n' \
    "$CRM_URL/api/v1/units?n=[1-200]" > "$BATS_TEST_TMPDIR/answers"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/answers")" -eq 200 ]
  ok=$(grep -c '^200 ' "$BATS_TEST_TMPDIR/answers" || true)
  busy=$(grep -c '^503 ' "$BATS_TEST_TMPDIR/answers" || true)
  echo "# 200: $ok, 503: $busy" >&3
  [ $((ok + busy)) -eq 200 ]
  [ "$ok" -ge 2 ]
  while read -r code type retry file; do
    if [ "$code" = 503 ]; then
      [ "$type" = application/problem+json ]
      [ "$retry" = 1 ]
      [ "$(jq -r .status "$file")" = 503 ]
    else
      [ "$type" = "application/json;" ]
      [ "$(jq '.items | length' "$file")" -gt 0 ]
    fi
  done < "$BATS_TEST_TMPDIR/answers"
  # The refusals are visible in the metrics.
  rejected=$(curl -s "$CRM_URL/metrics" | sed -n 's/^crm_db_rejected_total //p')
  [ "$rejected" -eq "$busy" ]
  # And the service is fine afterwards.
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$CRM_URL/api/v1/units")" = 200 ]
}

@test "requests queued behind a blocked database time out with 503, not hang" {
  crm_start --workers 1 --db-pool-size 1 --db-pipeline-depth 1 --db-queue-timeout-ms 300
  token=$(login pool.viewer 'Pool-viewer-2024')
  # The units query waits on this lock until the test releases it.
  hold_lock unit
  curl -s -o /dev/null --max-time 10 -H "Authorization: Bearer $token" "$CRM_URL/api/v1/units" &  # takes the one connection
  first=$!
  wait_until 10 metric_is crm_db_pool_connections_busy 1
  start=$(date +%s%N)
  code=$(curl -s -o "$BATS_TEST_TMPDIR/b" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $token" "$CRM_URL/api/v1/units")
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  release_lock
  wait "$first"
  [ "$code" = 503 ]
  [ "$(jq -r .status "$BATS_TEST_TMPDIR/b")" = 503 ]
  [ "$elapsed_ms" -lt 2500 ]
}
