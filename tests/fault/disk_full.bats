#!/usr/bin/env bats
# Issue 12, "then build": a disk that refuses writes. The interaction table
# of a private cluster is moved (by its owner) to a tablespace on a tiny
# tmpfs, which a file then fills. Writes through crm then fail in
# PostgreSQL (could not extend file: No space left on device, SQLSTATE
# 53100): each must be answered 503 problem+json (the service cannot store
# it now; retry later), never a 2xx for a write that is not stored. Needs
# root and mount (tmpfs); skipped, saying why, without them.

load ../api/helpers
load ../api/sync

setup_file() {
  crm_env
  DF_MNT=
  DF_DATA="$BATS_FILE_TMPDIR/diskfull"
  export DF_MNT DF_DATA
  [ "$(id -u)" = 0 ] || return 0
  local mnt
  mnt=$(mktemp -d /tmp/crm-diskfull.XXXXXX)
  chmod 755 "$mnt"
  if ! mount -t tmpfs -o size=4m,mode=0700 tmpfs "$mnt" 2>/dev/null; then
    rmdir "$mnt"
    return 0
  fi
  DF_MNT=$mnt
  chown postgres:postgres "$DF_MNT"
  "$CRM_BIN" pg start --data-dir "$DF_DATA" > "$BATS_FILE_TMPDIR/pg.env" 2>/dev/null
  eval "$(cat "$BATS_FILE_TMPDIR/pg.env")"
  "$CRM_BIN" migrate up --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" --demo > /dev/null 2>&1
  make_user df.bureau bureau sx.yc.js 'Diskfull-bureau-2026'
  psql "$CRM_PG_SUPERUSER_URL" -q -v ON_ERROR_STOP=1 \
    -c "CREATE TABLESPACE tiny OWNER crm_owner LOCATION '$DF_MNT'" >/dev/null
  owner_sql "ALTER TABLE interaction SET TABLESPACE tiny" >/dev/null
  export DF_MNT CRM_DATABASE_URL CRM_MIGRATE_DATABASE_URL CRM_PG_DIR CRM_PG_SUPERUSER_URL
}

teardown_file() {
  [ -n "${DF_MNT:-}" ] || return 0
  "$CRM_BIN" pg stop --data-dir "$DF_DATA" > /dev/null 2>&1 || true
  [ -z "${CRM_PG_DIR:-}" ] || [[ "$CRM_PG_DIR" != /tmp/crm-pg-* ]] || rm -rf "$CRM_PG_DIR"
  umount "$DF_MNT" 2>/dev/null || umount -l "$DF_MNT" || true
  rmdir "$DF_MNT" || true
}

setup() {
  if [ "$(id -u)" != 0 ]; then skip "needs root to mount a tmpfs (run as root, or in make test-fault's container)"; fi
  if [ -z "${DF_MNT:-}" ]; then skip "mount -t tmpfs failed here (no CAP_SYS_ADMIN?)"; fi
}

teardown() {
  crm_stop || true
}

@test "a full disk under the interaction table: writes are 503 problem+json, never a false 2xx" {
  crm_start --workers 1 --db-pool-size 2
  token=$(login df.bureau 'Diskfull-bureau-2026')
  unit=$(unit_id sx.yc.js.xishe)
  inv=$(owner_sql "SELECT min(id) FROM investor WHERE unit_id = $unit")
  today=$(owner_sql "SELECT crm_today()")
  body() {
    echo "{\"unit_id\":$unit,\"investor_id\":$inv,\"kind\":\"meeting\",\"occurred_on\":\"$today\",\"summary\":\"diskfull $1 $(head -c 600 /dev/zero | tr '\0' x)\"}"
  }
  # Before: the disk has room.
  api_json POST /api/v1/interactions "$token" "$(body 0)"
  [ "$status" = 201 ] || { echo "before: $status $body" >&2; return 1; }
  # A file takes every byte left.
  dd if=/dev/zero of="$DF_MNT/fill" bs=64k 2>/dev/null || true
  [ "$(df --output=avail -k "$DF_MNT" | tail -n 1 | tr -d ' ')" -eq 0 ]
  ok=0 refused=0 ids=() bad=()
  for i in $(seq 1 40); do
    api_json POST /api/v1/interactions "$token" "$(body "$i")" -H "Idempotency-Key: df-$i"
    if [[ $status == 2* ]]; then
      ok=$((ok + 1))
      ids+=("$(jq -r .id <<<"$body")")
    else
      refused=$((refused + 1))
      if [ "$status" != 503 ] || [ "$(header Content-Type)" != application/problem+json ] ||
        [ "$(jq -r .status <<<"$body")" != 503 ]; then
        bad+=("write $i: $status $(header Content-Type) $body")
      fi
    fi
  done
  # Each 2xx names a stored row (the last page's free space took them).
  stored=0
  for id in "${ids[@]}"; do
    if [ "$(owner_sql "SELECT count(*) FROM interaction WHERE id = $id")" = 1 ]; then stored=$((stored + 1)); fi
  done
  echo "# disk_full: 40 writes on a full disk: $ok answered 2xx ($stored of them stored)," \
    "$refused refused, ${#bad[@]} of those not a 503 problem+json" >&3
  [ "$stored" -eq "$ok" ]
  [ "${#bad[@]}" -eq 0 ] || { printf '%s\n' "${bad[@]}" >&2; grep -m1 '53100' "$CRM_ERR" >&2; return 1; }
  [ "$refused" -ge 1 ]
  grep -q '53100' "$CRM_ERR"
  # Room again: writes succeed, crm untouched.
  rm -f "$DF_MNT/fill"
  api_json POST /api/v1/interactions "$token" "$(body 41)"
  [ "$status" = 201 ]
  api GET /readyz ""
  [ "$status" = 200 ]
}
