#!/usr/bin/env bash
# The backup service of docker-compose.yml (run as postgres, in the postgres image with
# pgBackRest: deploy/postgres/Dockerfile). It shares the postgres service's data folder
# (volume pgdata), its Unix socket (volume pgrun) and the repository (volume pgbackrest),
# and reads /etc/pgbackrest/pgbackrest.conf (deploy/pgbackrest/pgbackrest.conf).
#
#   1. waits for PostgreSQL, creates the stanza (does nothing when it exists: also on an
#      existing pgdata volume, where the init scripts never run again), and checks that
#      WAL archiving works (`pgbackrest check`; the postgres service's archive_command
#      pushes every WAL segment);
#   2. takes a backup at once when the repository holds none;
#   3. then every day at BACKUP_AT (HH:MM, the container's time zone: TZ, UTC by
#      default): a full backup on BACKUP_FULL_DAY (1-7, Monday = 1; default 7, Sunday),
#      a differential one on the other days. pgBackRest expires what the retention in
#      pgbackrest.conf no longer needs after each backup.
# A failed backup is logged and retried at the next time; `docker-compose logs backup`
# shows them, `docker-compose exec backup pgbackrest --stanza=crm info` the repository.
set -uo pipefail

STANZA=${PGBACKREST_STANZA:-crm}
AT=${BACKUP_AT:-02:30}
FULL_DAY=${BACKUP_FULL_DAY:-7}
SOCKET=${PGHOST:-/var/run/postgresql}

log() { echo "backup: $(date '+%F %T %Z'): $*"; }
# PID 1 of its container: stops on docker-compose stop (SIGTERM) while it waits; a
# backup under way finishes first (or is killed after stop_grace_period, and
# pgBackRest resumes or removes it at the next backup).
trap 'log stopping; exit 0' TERM INT
case "$AT" in [0-2][0-9]:[0-5][0-9]) ;; *) log "BACKUP_AT must be HH:MM (got '$AT')"; exit 2 ;; esac
case "$FULL_DAY" in [1-7]) ;; *) log "BACKUP_FULL_DAY must be 1-7 (got '$FULL_DAY')"; exit 2 ;; esac

until pg_isready -q -h "$SOCKET"; do sleep 5; done
until pgbackrest --stanza="$STANZA" stanza-create; do
  log "stanza-create failed; retrying in 60 s"
  sleep 60
done
pgbackrest --stanza="$STANZA" check || log "check failed: is WAL archiving working? (see the postgres service's log)"

backup() {
  log "$1 backup"
  if pgbackrest --stanza="$STANZA" backup --type="$1"; then log "$1 backup done"; else log "$1 backup FAILED"; fi
}
if ! pgbackrest --stanza="$STANZA" info | grep -qE '^ +(full|diff|incr) backup:'; then
  backup full
fi
while :; do
  now=$(date +%s)
  next=$(date -d "today $AT" +%s)
  [ "$next" -gt "$now" ] || next=$(date -d "tomorrow $AT" +%s)
  log "next backup at $(date -d "@$next" '+%F %T %Z')"
  sleep $((next - now)) &
  wait $!
  if [ "$(date +%u)" = "$FULL_DAY" ]; then backup full; else backup diff; fi
done
