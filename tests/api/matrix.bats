#!/usr/bin/env bats
# The role x route matrix: every route the server lists (`crm routes`) is
# called by a caller of each role, and by no caller. The expected matrix is
# written here independently of the route table (from DESIGN.md section 4):
# "yes" means the role may call the route (anything but 401/403), "no" means
# 403. A route missing from this table fails the test, so a new route cannot
# slip in without a decision.

load helpers

ROLES=(admin leader bureau unit viewer)

# route -> the roles that may call it ("public": no caller needed).
expected() {
  local all="admin leader bureau unit viewer" writers="admin bureau unit"
  case "$1" in
    "GET /healthz" | "GET /readyz" | "GET /metrics" | "POST /api/v1/auth/login") echo public ;;
    "GET /" | "GET /api/v1/openapi.yaml" | "GET /assets/{name}") echo public ;;
    "POST /api/v1/auth/logout" | "GET /api/v1/me" | "POST /api/v1/me/password") echo "$all" ;;
    "GET /api/v1/units" | "GET /api/v1/units/{id}") echo "$all" ;;
    "POST /api/v1/units" | "PATCH /api/v1/units/{id}") echo admin ;;
    "GET /api/v1/users" | "POST /api/v1/users" | "GET /api/v1/users/{id}" | "PATCH /api/v1/users/{id}" | \
      "POST /api/v1/users/{id}/password" | "DELETE /api/v1/users/{id}/sessions") echo admin ;;
    "GET /api/v1/audit") echo "admin viewer" ;;
    # Everyone reads the CRM records of their scope.
    "GET /api/v1/investors" | "GET /api/v1/investors/{id}" | "GET /api/v1/investors/{id}/contacts" | \
      "GET /api/v1/projects" | "GET /api/v1/projects/{id}" | "GET /api/v1/projects/{id}/history" | \
      "GET /api/v1/contracts" | "GET /api/v1/contracts/{id}" | "GET /api/v1/starts" | "GET /api/v1/starts/{id}" | \
      "GET /api/v1/interactions" | "GET /api/v1/interactions/{id}" | "GET /api/v1/stats/leaders" | \
      "GET /api/v1/problems" | "GET /api/v1/problems/{id}" | "GET /api/v1/batches" | "GET /api/v1/batches/{id}" | \
      "GET /api/v1/exports/projects.csv" | "GET /api/v1/exports/projects.xlsx") echo "$all" ;;
    # The bureau, units and admins keep investors, projects and claims.
    "POST /api/v1/investors" | "PATCH /api/v1/investors/{id}" | "POST /api/v1/investors/{id}/contacts" | \
      "DELETE /api/v1/contacts/{id}" | "POST /api/v1/projects" | "PATCH /api/v1/projects/{id}" | \
      "POST /api/v1/projects/{id}/transitions" | "POST /api/v1/contracts" | "PATCH /api/v1/contracts/{id}" | \
      "DELETE /api/v1/contracts/{id}" | "POST /api/v1/starts" | "PATCH /api/v1/starts/{id}" | \
      "DELETE /api/v1/starts/{id}" | "POST /api/v1/imports/projects") echo "$writers" ;;
    # Claims are verified by the bureau and the assessment office (viewer),
    # and revoked by those who keep them or by the assessment office.
    "POST /api/v1/contracts/{id}/verify" | "POST /api/v1/starts/{id}/verify") echo "bureau viewer" ;;
    "POST /api/v1/contracts/{id}/revoke" | "POST /api/v1/starts/{id}/revoke") echo "$writers viewer" ;;
    # Leaders log interactions and problems too.
    "POST /api/v1/interactions" | "PATCH /api/v1/interactions/{id}" | "POST /api/v1/problems" | \
      "PATCH /api/v1/problems/{id}") echo "$writers leader" ;;
    "POST /api/v1/batches" | "PATCH /api/v1/batches/{id}") echo "admin bureau" ;;
    # Targets, figures and scores: everyone reads them (a unit its own and the
    # county's); admins set targets, quotas and score rules; the assessment
    # office (viewer) and admins freeze the month's scores.
    "GET /api/v1/targets/{year}" | "GET /api/v1/targets/{year}/quotas" | "GET /api/v1/stats/units/{id}" | \
      "GET /api/v1/stats/ranking" | "GET /api/v1/units/{id}/scorecard" | "GET /api/v1/alerts" | \
      "GET /api/v1/scores/rules/{year}" | "GET /api/v1/scores/snapshots") echo "$all" ;;
    # Everyone follows the events of their own scope.
    "GET /api/v1/events") echo "$all" ;;
    "PUT /api/v1/targets/{year}" | "PUT /api/v1/targets/{year}/quotas" | "PUT /api/v1/scores/rules/{year}") echo admin ;;
    "POST /api/v1/scores/snapshots") echo "admin viewer" ;;
    # Webhooks send a scope's events elsewhere: admins only.
    "GET /api/v1/webhooks" | "POST /api/v1/webhooks" | "GET /api/v1/webhooks/{id}" | \
      "PATCH /api/v1/webhooks/{id}" | "DELETE /api/v1/webhooks/{id}" | \
      "GET /api/v1/webhooks/{id}/deliveries") echo admin ;;
    *) echo UNKNOWN ;;
  esac
}

setup_file() {
  crm_env
  for r in "${ROLES[@]}"; do
    make_user "matrix.$r" "$r" sx.yc.js "Matrix-$r-2024"
  done
  # The user the {id} routes act on (not one of the callers: ending its
  # sessions must not log a caller out).
  make_user matrix.target unit sx.yc.js.xishe 'Matrix-target-2024'
  crm_start
  export CRM_URL CRM_PID CRM_OUT CRM_ERR
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# Calls route "METHOD /path" with token (may be empty); sets status.
call_route() {
  local route=$1 token=$2
  local method=${route%% *} path=${route#* }
  path=${path//\{id\}/$(user_id matrix.target)}
  path=${path//\{year\}/2024}
  path=${path//\{name\}/app.js}
  case "$method" in
    # The stream never ends by itself: its status is what counts.
    GET) if [ "$path" = /api/v1/events ]; then api GET "$path" "$token" --max-time 1 || true
         else api GET "$path" "$token"; fi ;;
    DELETE) api "$method" "$path" "$token" ;;
    # Bodies that are wrong on purpose: an allowed caller gets 422 (or 400),
    # never a change; a refused one gets 403 before the body matters.
    POST | PUT | PATCH)
      if [ "$path" = /api/v1/imports/projects ]; then
        api POST "$path" "$token" -H 'Content-Type: text/csv' --data-binary $'no,header\n'
      else
        api_json "$method" "$path" "$token" '{"no_such_field": true}' -H 'If-Match: "999999"'
      fi ;;
  esac
}

@test "every served route is in the matrix, and each role gets what the matrix says" {
  mapfile -t routes < <("$CRM_BIN" routes)
  [ "${#routes[@]}" -gt 10 ]
  declare -A token
  for r in "${ROLES[@]}"; do
    token[$r]=$(login "matrix.$r" "Matrix-$r-2024")
  done
  failures=0
  for route in "${routes[@]}"; do
    allowed=$(expected "$route")
    if [ "$allowed" = UNKNOWN ]; then
      echo "route not in the matrix: $route" >&2
      failures=$((failures + 1))
      continue
    fi
    # Without a caller.
    call_route "$route" ""
    if [ "$allowed" = public ]; then
      [ "$status" != 401 ] && [ "$status" != 403 ] || { echo "$route: public, got $status" >&2; failures=$((failures + 1)); }
      continue
    fi
    [ "$status" = 401 ] || { echo "$route without a token: $status" >&2; failures=$((failures + 1)); }
    for r in "${ROLES[@]}"; do
      [ "$route" = "POST /api/v1/auth/logout" ] && continue  # below, with tokens of its own
      call_route "$route" "${token[$r]}"
      if [[ " $allowed " == *" $r "* ]]; then
        ok=$([ "$status" != 401 ] && [ "$status" != 403 ] && echo y || echo n)
      else
        ok=$([ "$status" = 403 ] && echo y || echo n)
      fi
      printf '# %-40s %-7s %s\n' "$route" "$r" "$status" >&3
      [ "$ok" = y ] || { echo "$route as $r: $status ($body)" >&2; failures=$((failures + 1)); }
    done
  done
  [ "$failures" -eq 0 ]
}

@test "logout is open to every role" {
  for r in "${ROLES[@]}"; do
    t=$(login "matrix.$r" "Matrix-$r-2024")
    api POST /api/v1/auth/logout "$t"
    [ "$status" = 204 ]
  done
}

@test "a 403 names no record and changes nothing" {
  t=$(login matrix.unit 'Matrix-unit-2024')
  id=$(user_id matrix.viewer)
  before=$(owner_sql "SELECT version FROM app_user WHERE id = $id")
  api_json PATCH "/api/v1/users/$id" "$t" '{"role":"admin"}' -H "If-Match: \"$before\""
  [ "$status" = 403 ]
  [ "$(jq -r .detail <<<"$body")" = "Your role may not do this." ]
  [ "$(owner_sql "SELECT version FROM app_user WHERE id = $id")" = "$before" ]
}
