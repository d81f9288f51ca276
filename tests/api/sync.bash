# Waiting on a condition, for the tests that need something to have
# happened: poll it with a deadline, never sleep a guessed while. Load after
# helpers (hold_lock uses the owner's URL).

# wait_until SECONDS COMMAND...: runs COMMAND every 50 ms until it succeeds;
# fails, naming it, when SECONDS pass first.
wait_until() {
  local secs=$1
  shift
  local deadline=$(($(date +%s%N) + secs * 1000000000))
  until "$@"; do
    if [ "$(date +%s%N)" -ge "$deadline" ]; then
      echo "still not true after $secs s: $*" >&2
      return 1
    fi
    sleep 0.05
  done
}

# metric_is NAME VALUE: whether crm's /metrics shows the unlabelled NAME at
# VALUE.
metric_is() {
  [ "$(curl -s --max-time 2 "$CRM_URL/metrics" | sed -n "s/^$1 //p")" = "$2" ]
}

# refused URL: whether a connection to URL is refused (curl's code 000).
refused() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" = 000 ]
}

# lock_held TABLE: whether some session holds TABLE in ACCESS EXCLUSIVE mode.
lock_held() {
  [ "$(psql "$CRM_MIGRATE_DATABASE_URL" -At -c "SELECT count(*) FROM pg_locks
         WHERE relation = '$1'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]
}

# hold_lock TABLE: takes TABLE in ACCESS EXCLUSIVE mode in a psql session of
# the owner and keeps it until release_lock (so that crm's queries on it
# wait exactly as long as the test wants); returns once the lock is held.
# Call release_lock in teardown too: it does nothing when nothing is held.
hold_lock() {
  LOCK_FIFO="$BATS_TEST_TMPDIR/lock.$$.fifo"
  rm -f "$LOCK_FIFO"
  mkfifo "$LOCK_FIFO"
  psql "$CRM_MIGRATE_DATABASE_URL" -q -v ON_ERROR_STOP=1 <"$LOCK_FIFO" >/dev/null 3>&- &
  LOCK_PID=$!
  exec {LOCK_FD}>"$LOCK_FIFO"
  echo "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE;" >&"$LOCK_FD"
  wait_until 10 lock_held "$1"
}

# release_lock: commits hold_lock's transaction and waits for its psql.
release_lock() {
  [ -n "${LOCK_PID:-}" ] || return 0
  echo "COMMIT;" >&"$LOCK_FD" || true
  exec {LOCK_FD}>&-
  local rc=0
  wait "$LOCK_PID" || rc=$?
  LOCK_PID=
  rm -f "$LOCK_FIFO"
  return $rc
}
