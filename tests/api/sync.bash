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

# connection_refused URL: whether a connection to URL is refused (curl's code 000).
connection_refused() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" = 000 ]
}

# lock_held TABLE: whether some session holds TABLE in ACCESS EXCLUSIVE mode.
lock_held() {
  [ "$(psql "$CRM_MIGRATE_DATABASE_URL" -At -c "SELECT count(*) FROM pg_locks
         WHERE relation = '$1'::regclass AND mode = 'AccessExclusiveLock' AND granted")" = 1 ]
}

# hold_transaction URL SQL CONDITION...: runs SQL in an open transaction of
# a psql session on URL (its output in $HOLD_OUT) and keeps it open until
# release_transaction commits it; returns once CONDITION holds. Call
# release_transaction in teardown too: it does nothing when nothing is held.
hold_transaction() {
  local url=$1 sql=$2
  shift 2
  HOLD_FIFO="$BATS_TEST_TMPDIR/hold.$$.fifo"
  HOLD_OUT="$BATS_TEST_TMPDIR/hold.$$.out"
  rm -f "$HOLD_FIFO"
  mkfifo "$HOLD_FIFO"
  psql "$url" -qAt -v ON_ERROR_STOP=1 <"$HOLD_FIFO" >"$HOLD_OUT" 3>&- &
  HOLD_PID=$!
  exec {HOLD_FD}>"$HOLD_FIFO"
  echo "BEGIN; $sql" >&"$HOLD_FD"
  wait_until 10 "$@"
}

# release_transaction: commits hold_transaction's transaction and waits for its psql.
release_transaction() {
  [ -n "${HOLD_PID:-}" ] || return 0
  echo "COMMIT;" >&"$HOLD_FD" || true
  exec {HOLD_FD}>&-
  local rc=0
  wait "$HOLD_PID" || rc=$?
  HOLD_PID=
  rm -f "$HOLD_FIFO"
  return $rc
}

# hold_lock TABLE: takes TABLE in ACCESS EXCLUSIVE mode in a session of the
# owner and keeps it until release_lock (so that crm's queries on it wait
# exactly as long as the test wants); returns once the lock is held.
hold_lock() {
  hold_transaction "$CRM_MIGRATE_DATABASE_URL" "LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE;" lock_held "$1"
}

release_lock() {
  release_transaction
}
