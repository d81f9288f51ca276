# A Patroni-managed PostgreSQL 15 pair on loopback, for tests/ha/ha.bats and
# bench/ha.sh: a one-node etcd (Patroni's DCS, v3 API), node1 bootstrapped
# as the primary and node2 cloned from it as a synchronous standby
# (synchronous_mode: an acknowledged commit is on both, and Patroni promotes
# only the synchronous standby), the roles and database of crm made by
# deploy/postgres-init/10-roles.sh from Patroni's post_bootstrap. Everything
# runs as postgres under HA_DIR; ha_teardown kills it all.
#
# Settings: HA_DIR (/tmp/crm-ha), HA_PORT_BASE (55440: etcd client +0, peer
# +1, node1 PostgreSQL +1 ... see below). ttl 10 s, loop_wait 1 s,
# retry_timeout 3 s: a lost primary's leader key lapses within 10 s.

HA_DIR=${HA_DIR:-/tmp/crm-ha}
HA_PORT_BASE=${HA_PORT_BASE:-55440}
HA_ETCD=$((HA_PORT_BASE + 0))
HA_ETCD_PEER=$((HA_PORT_BASE + 1))
HA_PG1=$((HA_PORT_BASE + 2))
HA_PG2=$((HA_PORT_BASE + 3))
HA_API1=$((HA_PORT_BASE + 4))
HA_API2=$((HA_PORT_BASE + 5))
HA_PGBIN=${HA_PGBIN:-/usr/lib/postgresql/15/bin}
HA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ha_as_postgres() { runuser -u postgres -- "$@"; }

# ha_pg NODE(1|2) PORT: the node's PostgreSQL port
ha_port() { if [ "$1" = 1 ]; then echo "$HA_PG1"; else echo "$HA_PG2"; fi; }
ha_api() { if [ "$1" = 1 ]; then echo "$HA_API1"; else echo "$HA_API2"; fi; }

# ha_wait SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds.
ha_wait() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.2
  done
}

# The node Patroni calls primary (its REST API answers 200 on /primary).
ha_is_primary() { curl -sf -o /dev/null "http://127.0.0.1:$(ha_api "$1")/primary"; }
# A replica streaming from the primary (and not lagging past Patroni's limit).
ha_is_replica() { curl -sf -o /dev/null "http://127.0.0.1:$(ha_api "$1")/replica"; }
# The synchronous standby.
ha_is_sync() { curl -sf -o /dev/null "http://127.0.0.1:$(ha_api "$1")/sync"; }

ha_node_config() {
  local n=$1 port api
  port=$(ha_port "$n"); api=$(ha_api "$n")
  cat > "$HA_DIR/node$n.yml" <<EOF
scope: crm-ha
namespace: /crm-test/
name: node$n
log:
  level: WARNING
restapi:
  listen: 127.0.0.1:$api
  connect_address: 127.0.0.1:$api
etcd3:
  hosts: 127.0.0.1:$HA_ETCD
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 3
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: "on"
        max_connections: 100
        hot_standby_feedback: "on"
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
  post_bootstrap: $HA_DIR/post_bootstrap.sh
postgresql:
  listen: 127.0.0.1:$port
  connect_address: 127.0.0.1:$port
  data_dir: $HA_DIR/node$n/data
  bin_dir: $HA_PGBIN
  pgpass: $HA_DIR/node$n/pgpass
  # As a standby (ha_apply_delay): Patroni owns the recovery settings and
  # takes back an ALTER SYSTEM of them.
  recovery_conf:
    recovery_min_apply_delay: 0
  # A standby is cloned at once (pg_basebackup's default checkpoint is spread
  # over minutes).
  basebackup:
    checkpoint: fast
  authentication:
    superuser:
      username: postgres
      password: $HA_SUPER_PASSWORD
    replication:
      username: replicator
      password: $HA_REPL_PASSWORD
    rewind:
      username: postgres
      password: $HA_SUPER_PASSWORD
  parameters:
    unix_socket_directories: $HA_DIR/node$n
    shared_buffers: 128MB
    jit: "off"
EOF
}

# ha_start_node N: starts node N's Patroni (which starts its PostgreSQL).
ha_start_node() {
  local n=$1
  mkdir -p "$HA_DIR/node$n"
  chown postgres: "$HA_DIR/node$n"
  ha_as_postgres env CRM_OWNER_PASSWORD="$HA_OWNER_PASSWORD" CRM_APP_PASSWORD="$HA_APP_PASSWORD" \
    setsid patroni "$HA_DIR/node$n.yml" >> "$HA_DIR/node$n.log" 2>&1 < /dev/null &
  echo $! > "$HA_DIR/node$n.patroni.pid"
}

# ha_kill_node N: kills node N at once, Patroni and PostgreSQL alike (a
# machine lost): nothing is shut down cleanly, the leader key only lapses.
ha_kill_node() {
  local n=$1 pm
  pkill -KILL -f "patroni $HA_DIR/node$n.yml" || true
  pm=$(head -1 "$HA_DIR/node$n/data/postmaster.pid" 2>/dev/null || true)
  [ -n "$pm" ] && kill -KILL "$pm" 2>/dev/null || true
  pkill -KILL -f -- "-D $HA_DIR/node$n/data" || true
}

# ha_apply_delay N DELAY: node N, a standby, applies commits DELAY late
# (recovery_min_apply_delay: 2s, 0); Patroni reloads its settings.
ha_apply_delay() {
  sed -i "s/^    recovery_min_apply_delay: .*/    recovery_min_apply_delay: $2/" "$HA_DIR/node$1.yml"
  curl -sf -o /dev/null -X POST "http://127.0.0.1:$(ha_api "$1")/reload"
}

# ha_node_gone N: node N's Patroni is not running.
ha_node_gone() { ! pgrep -f "patroni $HA_DIR/node$1.yml" > /dev/null; }

# ha_stop_node N: stops node N cleanly (Patroni stops its PostgreSQL).
ha_stop_node() {
  pkill -TERM -f "patroni $HA_DIR/node$1.yml" || true
  ha_wait 30 ha_node_gone "$1"
}

ha_setup() {
  ha_teardown
  mkdir -p "$HA_DIR"
  HA_SUPER_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  HA_REPL_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  HA_OWNER_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  HA_APP_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
  # Patroni runs this once, on the bootstrapped primary: the roles and the
  # database of crm, as docker-compose's postgres does (10-roles.sh).
  cat > "$HA_DIR/post_bootstrap.sh" <<EOF
#!/bin/bash
set -e
export PGHOST=$HA_DIR/node1 PGPORT=$HA_PG1
exec bash "$HA_REPO/deploy/postgres-init/10-roles.sh"
EOF
  chmod 755 "$HA_DIR/post_bootstrap.sh"
  chown -R postgres: "$HA_DIR"
  chmod 700 "$HA_DIR"
  ha_as_postgres setsid etcd --name crm-ha --data-dir "$HA_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$HA_ETCD" --advertise-client-urls "http://127.0.0.1:$HA_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$HA_ETCD_PEER" \
    --initial-advertise-peer-urls "http://127.0.0.1:$HA_ETCD_PEER" \
    --initial-cluster "crm-ha=http://127.0.0.1:$HA_ETCD_PEER" \
    > "$HA_DIR/etcd.log" 2>&1 < /dev/null &
  ha_wait 30 etcdctl --endpoints "127.0.0.1:$HA_ETCD" endpoint health
  ha_node_config 1
  ha_node_config 2
  ha_start_node 1
  ha_wait 90 ha_is_primary 1 || { tail -30 "$HA_DIR/node1.log" >&2; return 1; }
  ha_start_node 2
  ha_wait 90 ha_is_sync 2 || { tail -30 "$HA_DIR/node2.log" >&2; return 1; }
  # The URLs crm is given: both nodes, the primary found by libpq.
  HA_HOSTS="127.0.0.1:$HA_PG1,127.0.0.1:$HA_PG2"
  HA_APP_URL="postgresql://crm_app:$HA_APP_PASSWORD@$HA_HOSTS/crm?target_session_attrs=read-write"
  HA_OWNER_URL="postgresql://crm_owner:$HA_OWNER_PASSWORD@$HA_HOSTS/crm?target_session_attrs=read-write"
  HA_READ_URL="postgresql://crm_app:$HA_APP_PASSWORD@$HA_HOSTS/crm?target_session_attrs=prefer-standby"
  HA_SUPER_URL="postgresql://postgres:$HA_SUPER_PASSWORD@127.0.0.1"
  export HA_APP_URL HA_OWNER_URL HA_READ_URL HA_SUPER_URL HA_SUPER_PASSWORD HA_REPL_PASSWORD \
    HA_OWNER_PASSWORD HA_APP_PASSWORD
}

# ha_sql NODE SQL: runs SQL as the superuser on node N's database crm.
ha_sql() {
  psql "$HA_SUPER_URL:$(ha_port "$1")/crm" -At -v ON_ERROR_STOP=1 -c "$2"
}

ha_teardown() {
  local f
  for f in "$HA_DIR"/node1.yml "$HA_DIR"/node2.yml; do
    [ -e "$f" ] && pkill -KILL -f "patroni $f" || true
  done
  pkill -KILL -f -- "-D $HA_DIR/node" || true
  pkill -KILL -f "etcd --name crm-ha --data-dir $HA_DIR/etcd" || true
  sleep 0.2
  rm -rf "$HA_DIR"
}
