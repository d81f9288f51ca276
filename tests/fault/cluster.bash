# Shared by the fault tests that kill or freeze a private PostgreSQL cluster
# (pg_kill.bats, events_pg_kill.bats, db_frozen.bats): its processes, and
# whether they are gone.

# cluster_pids: the postmaster of the private cluster, then its children.
cluster_pids() {
  local pm
  pm=$(head -n 1 "$CRM_PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
  [ -n "$pm" ] || return 0
  echo "$pm"
  pgrep -P "$pm" || true
}

# none_alive PID...: whether every one of the processes has gone.
none_alive() {
  local p
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null; then return 1; fi
  done
}

# age_keys_in_flight PREFIX: a key claimed before the crash whose write
# never committed stays "in flight" (409, still running) for the minute
# after which a retry takes it over: crm's release of it failed with the
# database. The client is taken to have waited that minute: the keys of
# PREFIX claimed before the cluster started again are aged. Prints how
# many.
age_keys_in_flight() {
  owner_sql "WITH s AS (UPDATE idempotency_key SET created_at = created_at - interval '2 minutes'
               WHERE key LIKE '$1-%' AND state = 'in_flight'
                 AND created_at < (SELECT pg_postmaster_start_time()) RETURNING 1)
             SELECT count(*) FROM s"
}
