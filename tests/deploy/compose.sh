#!/usr/bin/env bash
# deploy.compose: the container deployment, checked without a Docker engine.
#   docker-compose.yml    refused (`docker-compose config` fails) while any of the three
#                         passwords is unset or empty, no default password anywhere; with
#                         them valid, and its rendered form has the two services, their
#                         health checks, the pgdata volume, crm connecting as crm_app and
#                         migrating as crm_owner with the passwords given, ...; its
#                         first-run example fits the image's ENTRYPOINT
#   Dockerfile            multi-stage on debian:bookworm, copies what the build reads
#                         (api/openapi.yaml is built into crm), a non-root USER, ...
#   deploy/postgres-init  10-roles.sh parses (bash -n) and makes crm_app unprivileged
#   backups               postgres archives its WAL with pgBackRest (archive_mode, an
#                         archive_command pushing to the stanza of deploy/pgbackrest/
#                         pgbackrest.conf, archive_timeout), in an image that has it; the
#                         backup service shares the data folder, the socket and the
#                         repository volume at the paths pgbackrest.conf names; its script
#                         parses; the restore example fits the stanza
# Run from any folder with CRM_SOURCE_DIR = the repository's root (CTest sets it).
# COMPOSE_FILE_OVERRIDE, DOCKERFILE_OVERRIDE and INIT_SCRIPT_OVERRIDE check another
# copy of a file instead (relative paths in the compose file still resolve against
# CRM_SOURCE_DIR). Prints one line per check, then `N passed, M failed`.
set -euo pipefail

src=${CRM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
compose=${COMPOSE_FILE_OVERRIDE:-$src/docker-compose.yml}
dockerfile=${DOCKERFILE_OVERRIDE:-$src/Dockerfile}
init=${INIT_SCRIPT_OVERRIDE:-$src/deploy/postgres-init/10-roles.sh}

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
# fail NAME [DETAIL]: DETAIL (an error message) follows on lines of its own, as comments.
fail() {
  failed=$((failed + 1))
  echo "not ok - $1"
  # shellcheck disable=SC2001
  if [ -n "${2:-}" ]; then sed 's/^/#   /' <<<"$2"; fi
}
# check NAME COMMAND...: passes when COMMAND succeeds.
check() {
  local name=$1
  shift
  if "$@"; then pass "$name"; else fail "$name"; fi
}

# A .env file in the project folder would change the rendering: use an empty one.
envfile=$(mktemp)
trap 'rm -f "$envfile"' EXIT
# The secrets: never from the caller's environment, given here when a check wants them.
secret_names=(POSTGRES_PASSWORD CRM_OWNER_PASSWORD CRM_APP_PASSWORD)
declare -A secret=([POSTGRES_PASSWORD]=test-superuser-Pw1 [CRM_OWNER_PASSWORD]=test-owner-Pw2
                   [CRM_APP_PASSWORD]=test-app-Pw3)
# dc_with [NAME=VALUE...] -- ARGS: docker-compose ARGS with only those secrets set.
dc_with() {
  local vars=() unset=() n
  while [ "$1" != -- ]; do vars+=("$1"); shift; done
  shift
  for n in "${secret_names[@]}"; do unset+=(-u "$n"); done
  env "${unset[@]}" "${vars[@]}" \
    docker-compose --env-file "$envfile" --project-directory "$src" -f "$compose" "$@"
}
# dc ARGS: docker-compose ARGS with every secret set.
dc() {
  local vars=() n
  for n in "${secret_names[@]}"; do vars+=("$n=${secret[$n]}"); done
  dc_with "${vars[@]}" -- "$@"
}

# none TEXT: TEXT is empty. all_match ERE TEXT: TEXT has lines and each matches ERE
# (case-insensitively). none_match ERE TEXT: TEXT has lines and none matches ERE.
none() { [ -z "$1" ]; }
all_match() { [ -n "$2" ] && ! grep -qviE "$1" <<<"$2"; }
none_match() { [ -n "$2" ] && ! grep -qiE "$1" <<<"$2"; }

# --- docker-compose.yml -----------------------------------------------------------

# Flattens the rendered YAML (two-space indents, as docker-compose writes it) into
# `dotted.key.path<TAB>value` lines; a list's items get its path followed by [].
flatten() {
  awk '
    /^[[:space:]]*(#|$)/ { next }
    {
      match($0, /^ */); indent = RLENGTH / 2; line = substr($0, RLENGTH + 1)
      if (line ~ /^- /) {
        path = ""
        for (i = 0; i <= indent; i++) path = path (i ? "." : "") key[i]
        print path "[]\t" substr(line, 3)
        next
      }
      k = line; v = ""
      p = index(line, ":")
      if (p) { k = substr(line, 1, p - 1); v = substr(line, p + 1); sub(/^ /, "", v) }
      key[indent] = k
      for (i = indent + 1; i in key; i++) delete key[i]
      path = ""
      for (i = 0; i <= indent; i++) path = path (i ? "." : "") key[i]
      print path "\t" v
    }'
}
# value PATH: the value at that exact path (PATH[] for a list's items, one a line),
# without YAML quotes.
value() {
  awk -F'\t' -v p="$1" '$1 == p { v = $2; gsub(/^["'\'']|["'\'']$/, "", v); print v }' \
    <<<"$flat"
}
has() { [ -n "$(awk -F'\t' -v p="$1" '$1 == p' <<<"$flat")" ]; }
# url_user URL: the user name of a libpq URL (postgresql://user:password@host/db).
url_user() { sed -nE 's#^postgres(ql)?://([^:@/]*)[:@].*#\2#p' <<<"$1"; }

# refused_without NAME [EMPTY]: config fails, naming NAME, when NAME is unset (or empty)
# and the other secrets are set.
refused_without() {
  local vars=() n out
  for n in "${secret_names[@]}"; do
    if [ "$n" != "$1" ]; then vars+=("$n=${secret[$n]}"); elif [ -n "${2:-}" ]; then vars+=("$n="); fi
  done
  if out=$(dc_with "${vars[@]}" -- config -q 2>&1); then return 1; fi
  grep -q "set $1" <<<"$out"
}

flat=""
if ! command -v docker-compose >/dev/null; then
  fail "docker-compose is installed" "scripts/deps.sh test installs it"
else
  if dc_with -- config -q >/dev/null 2>&1; then
    fail "docker-compose config refuses $compose without the passwords"
  else
    pass "docker-compose config refuses $compose without the passwords"
  fi
  for n in "${secret_names[@]}"; do
    check "docker-compose config refuses it without $n, and names it" refused_without "$n"
    check "docker-compose config refuses it with $n empty" refused_without "$n" empty
  done
  if ! err=$(dc config -q 2>&1); then
    fail "docker-compose config -q accepts $compose with the passwords set" "$err"
  else
    pass "docker-compose config -q accepts $compose with the passwords set"
    flat=$(dc config | flatten)
  fi
fi
# No fallback password: every use of a secret is ${NAME:?...}.
check "no default password in $compose" \
  none "$(grep -nE 'change-me|\$\{(POSTGRES_PASSWORD|CRM_OWNER_PASSWORD|CRM_APP_PASSWORD)(:?-|[}])' "$compose" || true)"
# The image's ENTRYPOINT is crm: `docker-compose run SERVICE` takes a subcommand.
check "the first-run example runs \`crm init\` the way the ENTRYPOINT wants" \
  grep -qE '^#.*docker-compose run --rm crm init ' "$compose"
check "no example runs \`crm crm\` through the ENTRYPOINT" \
  none "$(grep -nE 'docker-compose run( -[-a-zA-Z]+)* crm crm ' "$compose" || true)"

if [ -n "$flat" ]; then
  for s in postgres crm; do
    check "service $s exists" has "services.$s"
    check "service $s has a healthcheck" has "services.$s.healthcheck.test"
    check "service $s restarts unless stopped" \
      test "$(value "services.$s.restart")" = unless-stopped
  done
  check "named volume pgdata is declared" has "volumes.pgdata"
  check "postgres keeps its data in pgdata" \
    grep -qx 'pgdata:/var/lib/postgresql/data\(:rw\)\?' <<<"$(value 'services.postgres.volumes[]')"
  initsrc=$(value 'services.postgres.volumes[]' | sed -n 's#^\([^:]*\):/docker-entrypoint-initdb.d/.*:ro$#\1#p')
  check "postgres mounts an init script read-only into /docker-entrypoint-initdb.d" \
    test -n "$initsrc"
  check "the mounted init script exists and is executable" test -x "${initsrc:-/nonexistent}"
  check "postgres publishes no port" none "$(value 'services.postgres.ports[]')"
  for v in "${secret_names[@]}"; do
    check "postgres gets $v as given" test "$(value "services.postgres.environment.$v")" = "${secret[$v]}"
  done
  check "crm is built from the Dockerfile" has "services.crm.build.context"
  check "crm waits for a healthy postgres" \
    test "$(value services.crm.depends_on.postgres.condition)" = service_healthy
  dburl=$(value services.crm.environment.CRM_DATABASE_URL)
  check "crm's CRM_DATABASE_URL uses the crm_app role (got '$(url_user "$dburl")')" \
    test "$(url_user "$dburl")" = crm_app
  check "crm's CRM_DATABASE_URL carries CRM_APP_PASSWORD" \
    grep -qF ":${secret[CRM_APP_PASSWORD]}@" <<<"$dburl"
  migurl=$(value services.crm.environment.CRM_MIGRATE_DATABASE_URL)
  check "crm's CRM_MIGRATE_DATABASE_URL uses the crm_owner role (got '$(url_user "$migurl")')" \
    test "$(url_user "$migurl")" = crm_owner
  check "crm's CRM_MIGRATE_DATABASE_URL carries CRM_OWNER_PASSWORD" \
    grep -qF ":${secret[CRM_OWNER_PASSWORD]}@" <<<"$migurl"
  check "crm's health check asks /readyz" \
    grep -q '/readyz' <<<"$(value 'services.crm.healthcheck.test[]')"
  check "crm publishes port 8080 on 127.0.0.1 only" \
    all_match '^127\.0\.0\.1:[0-9]+:8080(/tcp)?$' "$(value 'services.crm.ports[]')"
  check "crm's stop grace period is set" test -n "$(value services.crm.stop_grace_period)"
fi

# --- backups: pgBackRest -----------------------------------------------------------

# conf_value FILE SECTION KEY: KEY's value in [SECTION] of an INI file (pgbackrest.conf).
conf_value() {
  awk -v sec="[$2]" -v key="$3" '
    /^[[:space:]]*(#|$)/ { next }
    /^\[/ { in_sec = ($0 == sec); next }
    in_sec { p = index($0, "="); if (p && substr($0, 1, p - 1) == key) { print substr($0, p + 1); exit } }' "$1"
}
# mount_source SERVICE TARGET: what SERVICE mounts at TARGET (a volume's name or a path).
mount_source() {
  value "services.$1.volumes[]" | awk -F: -v t="$2" '$2 == t {print $1; exit}'
}
# mount_mode SERVICE TARGET: the mount's mode (rw, ro) as rendered.
mount_mode() {
  value "services.$1.volumes[]" | awk -F: -v t="$2" '$2 == t {print ($3 == "" ? "rw" : $3); exit}'
}
# pg_setting NAME: the value postgres is started with (`-c NAME=VALUE` in its command).
pg_setting() {
  value 'services.postgres.command[]' | sed -n "s/^$1=//p" | tail -n 1
}
if [ -n "$flat" ]; then
  pgconf=/etc/pgbackrest/pgbackrest.conf
  confsrc=$(mount_source postgres "$pgconf")
  check "postgres mounts pgbackrest.conf at $pgconf" test -n "$confsrc"
  check "postgres mounts pgbackrest.conf read-only" test "$(mount_mode postgres "$pgconf")" = ro
  check "the mounted pgbackrest.conf exists (${confsrc:-none})" test -r "${confsrc:-/nonexistent}"
  check "postgres runs archive_mode=on" test "$(pg_setting archive_mode)" = on
  check "postgres's wal_level allows archiving (replica or logical)" \
    grep -qxE 'replica|logical' <<<"$(pg_setting wal_level)"
  archcmd=$(pg_setting archive_command)
  check "postgres's archive_command pushes each segment with pgBackRest (got '$archcmd')" \
    grep -qE '^pgbackrest( --[-a-z0-9]+(=[^ ]+)?)* archive-push %p$' <<<"$archcmd"
  stanza=$(sed -nE 's/.*--stanza=([^ ]+).*/\1/p' <<<"$archcmd")
  check "archive_command names its stanza (got '${stanza:-none}')" test -n "$stanza"
  check "archive_timeout bounds the writes at risk (got '$(pg_setting archive_timeout)')" \
    grep -qE '^[1-9][0-9]*(s|min)?$' <<<"$(pg_setting archive_timeout)"
  # The image postgres runs is built with pgBackRest in it.
  pgctx=$(value services.postgres.build.context)
  pgdf=${pgctx:+$pgctx/$(value services.postgres.build.dockerfile)}
  [ -z "$pgctx" ] || [ -f "$pgdf" ] || pgdf=$pgctx/Dockerfile
  check "postgres's image is built (build.context) from a Dockerfile that exists" test -f "${pgdf:-/nonexistent}"
  if [ -f "${pgdf:-/nonexistent}" ]; then
    check "postgres's Dockerfile starts FROM postgres:15" \
      grep -qiE '^[[:space:]]*FROM[[:space:]]+postgres:15([-.][^[:space:]]*)?([[:space:]]|$)' "$pgdf"
    check "postgres's Dockerfile installs pgbackrest" grep -qE 'apt-get install .*\bpgbackrest\b' "$pgdf"
  fi
  if [ -r "${confsrc:-/nonexistent}" ]; then
    check "pgbackrest.conf has the stanza [$stanza] that archive_command names" \
      grep -qxF "[$stanza]" "$confsrc"
    pg1path=$(conf_value "$confsrc" "$stanza" pg1-path)
    check "the stanza's pg1-path is postgres's data folder (got '${pg1path:-none}')" \
      test "$(mount_source postgres "${pg1path:-none}")" = pgdata
    repo=$(conf_value "$confsrc" global repo1-path)
    repovol=$(mount_source postgres "${repo:-none}")
    check "postgres mounts a named volume at repo1-path (${repo:-none})" has "volumes.${repovol:-none}"
    check "pgbackrest.conf keeps a bounded number of full backups (repo1-retention-full)" \
      grep -qE '^[1-9][0-9]*$' <<<"$(conf_value "$confsrc" global repo1-retention-full)"
    sock=$(conf_value "$confsrc" "$stanza" pg1-socket-path)
    sockvol=$(mount_source postgres "${sock:-none}")
    check "postgres shares its socket folder (pg1-socket-path ${sock:-none}) through a named volume" \
      has "volumes.${sockvol:-none}"
    # The backup service: the same image, the same data, socket and repository.
    check "service backup exists" has services.backup
    check "backup runs the postgres service's image" \
      test "$(value services.backup.image)" = "$(value services.postgres.image)"
    check "backup runs as postgres" test "$(value services.backup.user)" = postgres
    check "backup waits for a healthy postgres" \
      test "$(value services.backup.depends_on.postgres.condition)" = service_healthy
    check "backup restarts unless stopped" test "$(value services.backup.restart)" = unless-stopped
    check "backup mounts the data folder (pgdata at $pg1path)" \
      test "$(mount_source backup "${pg1path:-none}")" = pgdata
    check "backup mounts the socket folder ($sockvol at $sock)" \
      test "$(mount_source backup "${sock:-none}")" = "${sockvol:-none}"
    check "backup mounts the repository ($repovol at $repo)" \
      test "$(mount_source backup "${repo:-none}")" = "${repovol:-none}"
    check "backup mounts the same pgbackrest.conf read-only" \
      test "$(mount_source backup "$pgconf"):$(mount_mode backup "$pgconf")" = "$confsrc:ro"
    check "backup publishes no port" none "$(value 'services.backup.ports[]')"
    # Its command is a script mounted into the container: it exists and parses.
    bscript=""
    for arg in $(value 'services.backup.command[]'); do
      src=$(mount_source backup "$arg")
      [ -z "$src" ] || bscript=$src
    done
    check "backup's command is a script mounted from the project (${bscript:-none})" test -r "${bscript:-/nonexistent}"
    if [ -r "${bscript:-/nonexistent}" ]; then
      if err=$(bash -n "$bscript" 2>&1); then pass "backup script parses (bash -n)"; else
        fail "backup script parses (bash -n)" "$err"
      fi
      check "backup script creates the stanza and takes backups" \
        grep -qE 'stanza-create' "$bscript"
      check "backup script takes full and differential backups" \
        grep -qE 'backup --type=' "$bscript"
    fi
  fi
  check "the restore example in $compose uses the stanza [$stanza]" \
    grep -qE "^#.*pgbackrest --stanza=$stanza restore " "$compose"
fi

# --- Dockerfile -------------------------------------------------------------------

if [ -r "$dockerfile" ]; then
  # Instructions with their continuation lines joined, comments dropped.
  df=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}')
  check "Dockerfile has at least two stages" \
    test "$(grep -ciE '^[[:space:]]*FROM[[:space:]]' <<<"$df")" -ge 2
  for d in crm sql api cmake; do
    check "Dockerfile copies $d/ into the build (the build reads it)" \
      grep -qE "^[[:space:]]*COPY[[:space:]]+(--[^[:space:]]+[[:space:]]+)*$d(/[^[:space:]]*)?[[:space:]]" <<<"$df"
  done
  check "Dockerfile builds FROM debian:bookworm" \
    grep -qiE '^[[:space:]]*FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?debian:bookworm' <<<"$df"
  user=$(grep -iE '^[[:space:]]*USER[[:space:]]' <<<"$df" | tail -n 1 | awk '{print $2}')
  check "Dockerfile runs as a non-root USER (got '${user:-none}')" \
    none_match '^(root|0)(:|$)' "$user"
  check "Dockerfile has a HEALTHCHECK on /readyz" \
    grep -qiE '^[[:space:]]*HEALTHCHECK[[:space:]].*/readyz' <<<"$df"
  check "Dockerfile exposes 8080" grep -qiE '^[[:space:]]*EXPOSE[[:space:]]+8080' <<<"$df"
  check "Dockerfile listens on 0.0.0.0:8080" grep -q 'CRM_LISTEN=0\.0\.0\.0:8080' <<<"$df"
  check "Dockerfile stops with SIGTERM" grep -qiE '^[[:space:]]*STOPSIGNAL[[:space:]]+SIGTERM' <<<"$df"
  check "Dockerfile's ENTRYPOINT is crm" \
    grep -qiE '^[[:space:]]*ENTRYPOINT[[:space:]]+\[[[:space:]]*"crm"' <<<"$df"
else
  fail "Dockerfile is readable" "$dockerfile"
fi

# --- the PostgreSQL init script ---------------------------------------------------

if [ -r "$init" ]; then
  if err=$(bash -n "$init" 2>&1); then pass "init script parses (bash -n)"; else
    fail "init script parses (bash -n)" "$err"
  fi
  check "init script is executable" test -x "$init"
  check "init script runs psql with ON_ERROR_STOP=1" grep -q 'ON_ERROR_STOP=1' "$init"
  # Each statement that creates crm_app, up to its `;` or `\gexec`, on one line.
  creates=$(tr '\n' ' ' <"$init" | grep -oiE "CREATE[[:space:]]+(ROLE|USER)[[:space:]]+\"?crm_app\"?[^;\\\\]*" || true)
  check "init script creates crm_app" test -n "$creates"
  for a in NOSUPERUSER NOBYPASSRLS; do
    check "init script creates crm_app with $a" all_match "[[:space:]]$a\\b" "$creates"
  done
  check "init script grants no SUPERUSER or BYPASSRLS to crm_app" \
    none "$(grep -iE '[[:space:]](SUPERUSER|BYPASSRLS)\b' <<<"$creates" || true)"
  check "init script creates database crm owned by crm_owner" \
    grep -qiE 'CREATE[[:space:]]+DATABASE[[:space:]]+crm[[:space:]]+OWNER[[:space:]]+crm_owner' "$init"
  check "init script revokes CONNECT on crm from PUBLIC" \
    grep -qiE 'REVOKE[[:space:]]+CONNECT.*ON[[:space:]]+DATABASE[[:space:]]+crm[[:space:]]+FROM[[:space:]]+PUBLIC' "$init"
else
  fail "init script is readable" "$init"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
