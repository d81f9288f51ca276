#!/usr/bin/env bats
# The CRM records through the API: the lists of every collection (filters,
# stable order, keyset pages with an opaque cursor, bad filters and cursors),
# the writes (ETag / If-Match on every PATCH, Idempotency-Key on POST, bad
# bodies), interactions with leaders and the leaders' activity, problems,
# batches, investors and their contacts, and the scope of a township user.
#
# Records are this file's own (codes T-REC-<run>-..., names with <run>);
# the demo data in the same database is only read, never counted on.

load helpers

setup_file() {
  crm_env
  RUN=$(printf '%x%x' "$(date +%s)" "$$" | tail -c 9)
  make_user rec.bureau bureau sx.yc.js 'Rec-bureau-2024'
  make_user rec.viewer viewer sx.yc.js 'Rec-viewer-2024'
  make_user rec.xishe unit sx.yc.js.xishe 'Rec-xishe-2024'
  make_user rec.xishe.viewer viewer sx.yc.js.xishe 'Rec-xviewer-2024'
  # Leaders of this run only, so that their activity can be counted exactly.
  make_user "rec.lead.a.$RUN" leader sx.yc.js 'Rec-leader-a-2024'
  make_user "rec.lead.b.$RUN" leader sx.yc.js 'Rec-leader-b-2024'
  make_user "rec.lead.c.$RUN" leader sx.yc.js 'Rec-leader-c-2024'
  make_user "rec.lead.d.$RUN" leader sx.yc.js 'Rec-leader-d-2024'
  crm_start
  BUREAU=$(login rec.bureau 'Rec-bureau-2024')
  VIEWER=$(login rec.viewer 'Rec-viewer-2024')
  XISHE=$(login rec.xishe 'Rec-xishe-2024')
  XVIEWER=$(login rec.xishe.viewer 'Rec-xviewer-2024')
  LEADER_A_TOKEN=$(login "rec.lead.a.$RUN" 'Rec-leader-a-2024')
  LEADER_A=$(user_id "rec.lead.a.$RUN")
  LEADER_B=$(user_id "rec.lead.b.$RUN")
  LEADER_C_TOKEN=$(login "rec.lead.c.$RUN" 'Rec-leader-c-2024')
  LEADER_C=$(user_id "rec.lead.c.$RUN")
  LEADER_D=$(user_id "rec.lead.d.$RUN")
  BUREAU_ID=$(user_id rec.bureau)
  COUNTY=$(unit_id sx.yc.js)
  XISHE_UNIT=$(unit_id sx.yc.js.xishe)
  HUAYU_UNIT=$(unit_id sx.yc.js.huayu)
  read -r TODAY TOMORROW YESTERDAY D30 D20 YEAR LAST_YEAR_DAY OLD_DAY <<<"$(owner_sql "SELECT crm_today(),
      crm_today() + 1, crm_today() - 1, crm_today() - 30, crm_today() - 20, extract(year FROM crm_today()),
      make_date(extract(year FROM crm_today())::int - 1, 6, 15),
      make_date(extract(year FROM crm_today())::int - 2, 6, 15)" | tr '|' ' ')"
  # One investor in each of the two townships.
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"西社记录测试客商 $RUN\",\"unit_id\":$XISHE_UNIT}"
  [ "$status" = 201 ] || { echo "investor: $status $body" >&2; return 1; }
  INV_X=$(jq -r .id <<<"$body")
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"化峪记录测试客商 $RUN\",\"unit_id\":$HUAYU_UNIT}"
  INV_H=$(jq -r .id <<<"$body")
  export CRM_URL CRM_PID CRM_OUT CRM_ERR RUN BUREAU VIEWER XISHE XVIEWER LEADER_A_TOKEN LEADER_A LEADER_B \
    LEADER_C_TOKEN LEADER_C LEADER_D \
    BUREAU_ID COUNTY XISHE_UNIT HUAYU_UNIT TODAY TOMORROW YESTERDAY D30 D20 YEAR LAST_YEAR_DAY OLD_DAY INV_X INV_H
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

teardown() {
  if [ -n "${LOCAL_PID:-}" ]; then
    kill -TERM "$LOCAL_PID" 2>/dev/null || true
    wait "$LOCAL_PID" 2>/dev/null || true
  fi
}

# ---- helpers ----

created() {
  [ "$status" = 201 ] || { echo "wanted 201, got $status: $body" >&2; return 1; }
}

# project NAME UNIT [JQ-FILTER]: creates a project as the bureau; prints its id.
project() {
  local json
  json=$(jq -nc --arg code "T-REC-$RUN-$1" --argjson unit "$2" \
    "{code: \$code, name: (\"记录测试项目 \" + \$code), unit_id: \$unit} | ${3:-.}")
  api_json POST /api/v1/projects "$BUREAU" "$json"
  [ "$status" = 201 ] || { echo "project $1: $status $body" >&2; return 1; }
  jq -r .id <<<"$body"
}

# signed NAME UNIT INVESTOR DATE [JQ-FILTER]: a project signed on DATE; prints its id.
signed() {
  local pid
  pid=$(project "$1" "$2" ".investor_id = $3 | .leader_id = $LEADER_A | .planned_investment_yuan = 100000000 | ${5:-.}")
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"negotiating"}'
  api_json POST /api/v1/contracts "$BUREAU" \
    "{\"project_id\":$pid,\"kind\":\"formal\",\"amount_yuan\":100000000,\"signed_on\":\"$4\",\"evidence\":\"正式合同\"}"
  [ "$status" = 201 ] || { echo "contract: $status $body" >&2; return 1; }
  api_json POST "/api/v1/projects/$pid/transitions" "$BUREAU" '{"to":"signed"}'
  [ "$status" = 200 ] || { echo "signed: $status $body" >&2; return 1; }
  echo "$pid"
}

# ids PATH [TOKEN]: the ids of one page, as a JSON array.
ids() {
  api GET "$1" "${2:-$BUREAU}"
  [ "$status" = 200 ] || { echo "GET $1: $status $body" >&2; return 1; }
  jq -c '[.items[].id]' <<<"$body"
}

# walk PATH LIMIT [TOKEN]: follows next_cursor to the end; prints every id
# as a JSON array, in the order served. Fails on a page over LIMIT items, a
# cursor on a short page, or a page that is not 200.
walk() {
  local path=$1 limit=$2 token=${3:-$BUREAU} cursor= sep='?' pages=0 all='[]' page n
  [[ $path == *\?* ]] && sep='&'
  while :; do
    api GET "$path${sep}limit=$limit${cursor:+&cursor=$cursor}" "$token"
    [ "$status" = 200 ] || { echo "walk $path: $status $body" >&2; return 1; }
    page=$(jq -c '[.items[].id]' <<<"$body")
    n=$(jq length <<<"$page")
    [ "$n" -le "$limit" ] || { echo "page of $n > $limit" >&2; return 1; }
    all=$(jq -c --argjson p "$page" '. + $p' <<<"$all")
    cursor=$(jq -r '.next_cursor // empty' <<<"$body")
    [ -n "$cursor" ] || break
    [ "$n" = "$limit" ] || { echo "a cursor after a short page" >&2; return 1; }
    pages=$((pages + 1))
    [ "$pages" -lt 500 ] || { echo "too many pages" >&2; return 1; }
  done
  echo "$all"
}

# same_walk PATH LIMIT [TOKEN]: walking by LIMIT gives the one big page, in
# ascending id order, with no duplicate, over more than one page.
same_walk() {
  local walked big
  walked=$(walk "$1" "$2" "${3:-}") || return 1
  # The same list in pages of 200 (other test files add records to the
  # shared database, so it may not fit in one).
  big=$(walk "$1" 200 "${3:-}") || return 1
  [ "$walked" = "$big" ] || { echo "$1: walked $walked, big pages $big" >&2; return 1; }
  [ "$(jq 'length == (unique | length)' <<<"$walked")" = true ] || { echo "duplicates: $walked" >&2; return 1; }
  [ "$(jq '. == sort' <<<"$walked")" = true ] || { echo "not in id order: $walked" >&2; return 1; }
  [ "$(jq length <<<"$walked")" -gt "$2" ] || { echo "$1: a single page ($walked)" >&2; return 1; }
}

# A fingerprint of a row (as the owner): what a refused call must not change.
row() {
  owner_sql "SELECT to_jsonb(t) FROM $1 t WHERE id = $2"
}

table_counts() {
  owner_sql "SELECT (SELECT count(*) FROM project), (SELECT count(*) FROM investor), (SELECT count(*) FROM contract),
                    (SELECT count(*) FROM project_start), (SELECT count(*) FROM interaction),
                    (SELECT count(*) FROM interaction_leader), (SELECT count(*) FROM problem),
                    (SELECT count(*) FROM batch), (SELECT count(*) FROM batch_project), (SELECT count(*) FROM contact)"
}

b64url() {
  printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# settled KEY: waits until the answer under Idempotency-Key KEY is stored
# (it is stored just after it is sent; crm_concurrency.bats tests that race).
settled() {
  local i
  for i in $(seq 1 50); do
    [ "$(owner_sql "SELECT count(*) FROM idempotency_key WHERE key = '$1' AND state = 'done'")" -ge 1 ] && return 0
    sleep 0.05
  done
  echo "the answer under $1 was never stored" >&2
  return 1
}

# valid_uscc: a fresh 18-character code whose check character is right
# (found by the database's own uscc_valid over the 31 characters).
valid_uscc() {
  local alphabet=0123456789ABCDEFGHJKLMNPQRTUWXY body=91140824MA i
  for i in 1 2 3 4 5 6 7; do body+=${alphabet:RANDOM % 31:1}; done
  owner_sql "SELECT c FROM unnest(string_to_array('$alphabet', NULL)) ch, LATERAL (SELECT '$body' || ch AS c) x
              WHERE uscc_valid(c)"
}

# ---- lists ----

@test "every collection lists with a stable order and walks its pages with the cursor: no gap, no duplicate" {
  # Records of this test: 7 projects on one chain in two townships, claims,
  # interactions, problems and batches on them.
  chain="T-REC-chain-$RUN"
  for i in 1 2 3 4 5 6 7; do
    unit=$XISHE_UNIT
    [ "$i" -gt 4 ] && unit=$HUAYU_UNIT
    p[$i]=$(project "walk$i" "$unit" ".industry_chain = \"$chain\"")
  done
  for i in 1 2 3 4 5; do
    api_json POST /api/v1/contracts "$BUREAU" "{\"project_id\":${p[1]},\"kind\":\"intent\",\"amount_yuan\":$i,\"signed_on\":\"$D30\",\"evidence\":\"意向$i\"}"
    created
    api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":${p[1]},\"kind\":\"call\",\"occurred_on\":\"$D20\",\"summary\":\"电话跟进$i\"}"
    created
    api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":${p[1]},\"owner_unit_id\":$XISHE_UNIT,\"title\":\"问题$i\",\"due_on\":\"$TODAY\"}"
    created
    api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"翻页客商$i $RUN\",\"unit_id\":$XISHE_UNIT}"
    created
    api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"翻页批次$i $RUN\",\"held_on\":\"$D20\"}"
    created
  done
  same_walk "/api/v1/projects?chain=$chain" 2
  same_walk "/api/v1/projects?chain=$chain&unit_id=$XISHE_UNIT" 3
  same_walk "/api/v1/investors?q=$RUN" 2
  same_walk "/api/v1/contracts?project_id=${p[1]}" 2
  same_walk "/api/v1/interactions?project_id=${p[1]}" 2
  same_walk "/api/v1/problems?project_id=${p[1]}" 2
  same_walk "/api/v1/batches?unit_id=$XISHE_UNIT" 2
  same_walk "/api/v1/starts?unit_id=$COUNTY" 7
  same_walk "/api/v1/projects?unit_id=$XISHE_UNIT" 5
  # The default limit is 50; no page is ever over 200.
  api GET /api/v1/projects "$VIEWER"
  [ "$status" = 200 ]
  [ "$(jq '.items | length' <<<"$body")" = 50 ]
  [ "$(jq -r '.next_cursor | type' <<<"$body")" = string ]
  api GET "/api/v1/projects?limit=200" "$VIEWER"
  [ "$(jq '.items | length' <<<"$body")" -le 200 ]
  # The same request twice: the same page.
  one=$(ids "/api/v1/projects?chain=$chain&limit=3")
  [ "$(ids "/api/v1/projects?chain=$chain&limit=3")" = "$one" ]
  [ "$(jq length <<<"$one")" = 3 ]
}

@test "project filters: unit subtree, stage, chain, is_key, leader, investor, year and q (Chinese substring, code)" {
  chain="T-REC-filter-$RUN"
  a=$(project fa "$XISHE_UNIT" ".industry_chain = \"$chain\" | .is_key = true | .leader_id = $LEADER_A | .name = \"年产10万吨煤焦油深加工 $RUN\"")
  b=$(project fb "$XISHE_UNIT" ".industry_chain = \"$chain\" | .stage = \"negotiating\" | .leader_id = $LEADER_B")
  c=$(project fc "$HUAYU_UNIT" ".industry_chain = \"$chain\" | .is_key = true | .investor_id = $INV_H")
  d=$(signed fd "$HUAYU_UNIT" "$INV_H" "$D30" ".industry_chain = \"$chain\"")
  q="/api/v1/projects?chain=$chain"
  [ "$(ids "$q")" = "[$a,$b,$c,$d]" ]
  [ "$(ids "$q&unit_id=$XISHE_UNIT")" = "[$a,$b]" ]
  [ "$(ids "$q&unit_id=$HUAYU_UNIT")" = "[$c,$d]" ]
  [ "$(ids "$q&unit_id=$COUNTY")" = "[$a,$b,$c,$d]" ]           # the county's subtree
  [ "$(ids "$q&unit_id=$(unit_id sx.yc)")" = "[$a,$b,$c,$d]" ]  # and the city's
  [ "$(ids "$q&unit_id=$(unit_id sx.yc.js.jifeng)")" = "[]" ]
  [ "$(ids "$q&stage=negotiating")" = "[$b]" ]
  [ "$(ids "$q&stage=signed")" = "[$d]" ]
  [ "$(ids "$q&stage=lead")" = "[$a,$c]" ]
  [ "$(ids "$q&is_key=true")" = "[$a,$c]" ]
  [ "$(ids "$q&is_key=false")" = "[$b,$d]" ]
  [ "$(ids "$q&leader_id=$LEADER_B")" = "[$b]" ]
  [ "$(ids "$q&leader_id=$LEADER_A")" = "[$a,$d]" ]
  [ "$(ids "$q&investor_id=$INV_H")" = "[$c,$d]" ]
  d30_year=${D30%%-*}
  [ "$(ids "$q&year=$d30_year")" = "[$d]" ]
  [ "$(ids "$q&year=1999")" = "[]" ]
  [ "$(ids "$q&is_key=true&unit_id=$HUAYU_UNIT")" = "[$c]" ]
  # A chain is matched whole, not as a substring.
  [ "$(ids "/api/v1/projects?chain=T-REC-filter")" = "[]" ]
  # q: a Chinese substring of the name, or the exact code; wildcards are literal.
  api GET /api/v1/projects "$VIEWER" -G --data-urlencode 'q=煤焦油' --data-urlencode limit=200
  [ "$status" = 200 ]
  [ "$(jq '[.items[] | select(.name | contains("煤焦油") | not)] | length' <<<"$body")" = 0 ]
  [ "$(jq --argjson a "$a" '[.items[].id] | index($a) != null' <<<"$body")" = true ]
  demo=$(owner_sql "SELECT id FROM project WHERE code = 'JS-2024-001'")
  [ "$(jq --argjson d "$demo" '[.items[].id] | index($d) != null' <<<"$body")" = true ]
  api GET /api/v1/projects "$VIEWER" -G --data-urlencode "q=煤焦油深加工 $RUN"
  [ "$(jq -c '[.items[].id]' <<<"$body")" = "[$a]" ]
  [ "$(ids "/api/v1/projects?q=T-REC-$RUN-fb")" = "[$b]" ]
  api GET "/api/v1/projects" "$VIEWER" -G --data-urlencode "chain=$chain" --data-urlencode 'q=%'
  [ "$(jq '.items | length' <<<"$body")" = 0 ]
  api GET "/api/v1/projects" "$VIEWER" -G --data-urlencode "chain=$chain" --data-urlencode 'q=_'
  [ "$(jq '.items | length' <<<"$body")" = 0 ]
  # year on the demo data: every project listed was signed in that year.
  api GET "/api/v1/projects?year=2024&limit=200" "$VIEWER"
  [ "$(jq '.items | length' <<<"$body")" -gt 0 ]
  [ "$(jq '[.items[] | select((.signed_on // "") | startswith("2024") | not)] | length' <<<"$body")" = 0 ]
}

@test "claims, interactions, problems, batches and investors filter too" {
  p=$(signed cf "$XISHE_UNIT" "$INV_X" "$D30")
  api_json POST /api/v1/contracts "$BUREAU" "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$OLD_DAY\",\"evidence\":\"意向\"}"
  intent=$(jq -r .id <<<"$body")
  formal=$(owner_sql "SELECT id FROM contract WHERE project_id = $p AND kind = 'formal'")
  api POST "/api/v1/contracts/$formal/verify" "$VIEWER"
  [ "$status" = 200 ]
  c="/api/v1/contracts?project_id=$p"
  [ "$(ids "$c")" = "[$formal,$intent]" ]
  [ "$(ids "$c&kind=intent")" = "[$intent]" ]
  [ "$(ids "$c&state=verified")" = "[$formal]" ]
  [ "$(ids "$c&state=reported")" = "[$intent]" ]
  [ "$(ids "$c&year=${OLD_DAY%%-*}")" = "[$intent]" ]
  [ "$(ids "$c&unit_id=$HUAYU_UNIT")" = "[]" ]
  api_json POST /api/v1/starts "$BUREAU" "{\"project_id\":$p,\"started_on\":\"$D20\",\"evidence\":\"开工\"}"
  s=$(jq -r .id <<<"$body")
  [ "$(ids "/api/v1/starts?project_id=$p&state=reported&year=${D20%%-*}&unit_id=$XISHE_UNIT")" = "[$s]" ]
  [ "$(ids "/api/v1/starts?project_id=$p&state=verified")" = "[]" ]

  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$p,\"kind\":\"site_visit\",\"occurred_on\":\"$D20\",\"summary\":\"陪同考察针状焦生产线 $RUN\"}"
  i1=$(jq -r .id <<<"$body")
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"investor_id\":$INV_X,\"kind\":\"call\",\"occurred_on\":\"$OLD_DAY\",\"summary\":\"电话 $RUN\"}"
  i2=$(jq -r .id <<<"$body")
  [ "$(ids "/api/v1/interactions?project_id=$p")" = "[$i1]" ]
  [ "$(ids "/api/v1/interactions?investor_id=$INV_X")" = "[$i2]" ]
  [ "$(ids "/api/v1/interactions?investor_id=$INV_X&kind=site_visit")" = "[]" ]
  [ "$(ids "/api/v1/interactions?investor_id=$INV_X&year=${OLD_DAY%%-*}")" = "[$i2]" ]
  api GET /api/v1/interactions "$BUREAU" -G --data-urlencode "q=针状焦生产线 $RUN"
  [ "$(jq -c '[.items[].id]' <<<"$body")" = "[$i1]" ]

  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$(unit_id sx.yc.js.invest),\"title\":\"用地\",\"due_on\":\"$TOMORROW\",\"level\":3}"
  pr=$(jq -r .id <<<"$body")
  [ "$(ids "/api/v1/problems?project_id=$p&level=3&status=open&owner_unit_id=$(unit_id sx.yc.js.invest)&unit_id=$XISHE_UNIT")" = "[$pr]" ]
  [ "$(ids "/api/v1/problems?project_id=$p&level=2")" = "[]" ]

  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"production\",\"name\":\"投产批次 $RUN\",\"held_on\":\"$OLD_DAY\",\"project_ids\":[$p]}"
  b=$(jq -r .id <<<"$body")
  api GET "/api/v1/batches?unit_id=$XISHE_UNIT&kind=production&year=${OLD_DAY%%-*}&limit=200" "$BUREAU"
  [ "$(jq --argjson b "$b" '[.items[].id] | index($b) != null' <<<"$body")" = true ]
  [ "$(jq '[.items[] | select(.kind != "production")] | length' <<<"$body")" = 0 ]

  [ "$(ids "/api/v1/investors?unit_id=$HUAYU_UNIT&q=$RUN")" = "[$INV_H]" ]
  api GET /api/v1/investors "$BUREAU" -G --data-urlencode "q=化峪记录测试客商 $RUN"
  [ "$(jq -c '[.items[].id]' <<<"$body")" = "[$INV_H]" ]
}

@test "a tampered cursor is a 400 on every collection, and so are bad filter values" {
  for coll in investors projects contracts starts interactions problems batches; do
    api GET "/api/v1/$coll?limit=1" "$VIEWER"
    [ "$status" = 200 ]
    cursor=$(jq -r .next_cursor <<<"$body")
    [ "$cursor" != null ]
    other=projects
    [ "$coll" = projects ] && other=investors
    for bad in "x$cursor" "${cursor}%3D" "${cursor}." "${cursor:0:4}+${cursor:5}" "$(b64url "$other:5")" "$(b64url "$coll:-1")" \
      "$(b64url "$coll:0")" "$(b64url "$coll:abc")" "$(b64url "$coll:")" "$(b64url "$coll:5 ")" \
      "$(b64url "$coll:99999999999999999999")" "$(b64url "$coll:5")%3D%3D" "%25%25%25" ""; do
      api GET "/api/v1/$coll?cursor=$bad" "$VIEWER"
      [ "$status" = 400 ] || { echo "$coll cursor '$bad': $status" >&2; false; }
      refused 400
    done
  done
  for q in stage=flying stage= year=abc year=99999 year=1899 year=2024.5 is_key=maybe is_key=1 unit_id=-1 unit_id=0 \
    unit_id=abc "unit_id=1%202" leader_id=x investor_id=-3 limit=0 limit=201 limit=ten; do
    api GET "/api/v1/projects?$q" "$VIEWER"
    [ "$status" = 400 ] || { echo "projects?$q: $status" >&2; false; }
    refused 400
  done
  for q in contracts?kind=loan contracts?state=lost contracts?year=x starts?state=x starts?unit_id=-1 \
    interactions?kind=dinner interactions?leader_id=-1 interactions?year=abc problems?status=done \
    problems?overdue=maybe problems?level=x problems?unit_id=-1 batches?kind=x batches?year=abc \
    investors?chain_role=king investors?unit_id=-1; do
    api GET "/api/v1/$q" "$VIEWER"
    [ "$status" = 400 ] || { echo "$q: $status" >&2; false; }
    refused 400
  done
  # Text filters are at most 200 bytes.
  api GET "/api/v1/projects?q=$(printf 'a%.0s' {1..201})" "$VIEWER"
  refused 400
}

@test "a cursor the client changed is refused even when it still decodes" {
  # The cursor is signed: with its key changed, a byte flipped or one
  # character appended, it still decodes as base64url, but it is not one
  # this list gave out.
  api GET "/api/v1/investors?limit=1" "$VIEWER"
  given=$(jq -r .next_cursor <<<"$body")
  key=$(jq -r '.items[0].id' <<<"$body")
  raw=$(printf '%s' "$given" | tr '_-' '/+' | sed 's/$/===/' | base64 -d 2>/dev/null | od -An -tx1 | tr -d ' \n')
  prefix=$(printf 'investors:%s' "$key" | od -An -tx1 | tr -d ' \n')
  [[ "$raw" == "$prefix"* ]]
  mac=${raw#"$prefix"}
  forged_hex=$(printf 'investors:%s' "$((key + 1))" | od -An -tx1 | tr -d ' \n')$mac
  forged=$(printf "$(sed 's/../\\x&/g' <<<"$forged_hex")" | base64 | tr '+/' '-_' | tr -d '=\n')
  for bad in "$forged" "${given}A" "$(b64url "investors:$key")"; do
    api GET "/api/v1/investors?cursor=$bad" "$VIEWER"
    refused 400
  done
  api GET "/api/v1/investors?cursor=$given" "$VIEWER"
  [ "$status" = 200 ]
}

# ---- writes: ETag / If-Match ----

# etag_cycle PATH PATCH: 428 without If-Match, 412 with a stale or a future
# version, 200 with the current one (ETag and version one up); the refused
# ones change nothing.
etag_cycle() {
  local path=$1 patch=$2 table=$3 id=${1##*/} etag v fp
  api GET "$path" "$BUREAU"
  [ "$status" = 200 ] || { echo "GET $path: $status" >&2; return 1; }
  etag=$(header ETag)
  [[ $etag =~ ^\"[0-9]+\"$ ]] || { echo "$path: ETag $etag" >&2; return 1; }
  v=${etag//\"/}
  [ "$(jq -r .version <<<"$body")" = "$v" ] || return 1
  fp=$(row "$table" "$id")
  api_json PATCH "$path" "$BUREAU" "$patch"
  refused 428 || return 1
  api_json PATCH "$path" "$BUREAU" "$patch" -H "If-Match: \"$((v + 1))\""
  refused 412 || return 1
  api_json PATCH "$path" "$BUREAU" "$patch" -H 'If-Match: "abc"'
  refused 412 || return 1
  [ "$(row "$table" "$id")" = "$fp" ] || { echo "$path changed by a refused PATCH" >&2; return 1; }
  api_json PATCH "$path" "$BUREAU" "$patch" -H "If-Match: $etag"
  [ "$status" = 200 ] || { echo "PATCH $path: $status $body" >&2; return 1; }
  [ "$(header ETag)" = "\"$((v + 1))\"" ] || { echo "$path: new ETag $(header ETag)" >&2; return 1; }
  [ "$(jq -r .version <<<"$body")" = "$((v + 1))" ] || return 1
  jq -e --argjson p "$patch" 'to_entries | from_entries | contains($p)' <<<"$body" > /dev/null ||
    { echo "$path: $patch not applied: $body" >&2; return 1; }
  fp=$(row "$table" "$id")
  api_json PATCH "$path" "$BUREAU" "$patch" -H "If-Match: $etag"
  refused 412 || return 1
  [ "$(row "$table" "$id")" = "$fp" ] || { echo "$path changed by a stale PATCH" >&2; return 1; }
  api GET "$path" "$BUREAU"
  [ "$(header ETag)" = "\"$((v + 1))\"" ]
}

@test "every PATCH needs If-Match: 428 without it, 412 when stale, 200 and the next ETag when current" {
  p=$(project etag "$XISHE_UNIT")
  etag_cycle "/api/v1/projects/$p" '{"name":"改名后的项目","is_key":true}' project
  etag_cycle "/api/v1/investors/$INV_X" '{"industry":"新材料","chain_role":"supporting"}' investor
  api_json POST /api/v1/contracts "$BUREAU" "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"意向\"}"
  etag_cycle "/api/v1/contracts/$(jq -r .id <<<"$body")" '{"amount_yuan":6,"evidence":"意向书（更正）"}' contract
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$p,\"kind\":\"call\",\"occurred_on\":\"$D20\",\"summary\":\"电话\"}"
  etag_cycle "/api/v1/interactions/$(jq -r .id <<<"$body")" "{\"summary\":\"电话（补记）\",\"leader_ids\":[$LEADER_A]}" interaction
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$XISHE_UNIT,\"title\":\"供水\",\"due_on\":\"$TOMORROW\"}"
  etag_cycle "/api/v1/problems/$(jq -r .id <<<"$body")" '{"status":"in_progress","level":2}' problem
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"签约批次\",\"held_on\":\"$D20\"}"
  etag_cycle "/api/v1/batches/$(jq -r .id <<<"$body")" "{\"name\":\"签约批次（二）\",\"project_ids\":[$p]}" batch
  s=$(signed etags "$XISHE_UNIT" "$INV_X" "$D30")
  api_json POST /api/v1/starts "$BUREAU" "{\"project_id\":$s,\"started_on\":\"$D20\",\"evidence\":\"开工\"}"
  etag_cycle "/api/v1/starts/$(jq -r .id <<<"$body")" '{"evidence":"开工（补充照片）"}' project_start
  # A PATCH on no record is a 404, with or without a plausible ETag.
  for c in projects:name investors:name contracts:evidence starts:evidence interactions:summary problems:title \
    batches:name; do
    api_json PATCH "/api/v1/${c%%:*}/999999999" "$BUREAU" "{\"${c#*:}\":\"x\"}" -H 'If-Match: "1"'
    refused 404
  done
}

# ---- writes: Idempotency-Key ----

@test "Idempotency-Key: the same key and body replay the first answer, once; another body is a 422; a long key a 400" {
  key="rec-idem-$RUN"
  json="{\"code\":\"T-REC-$RUN-idem\",\"name\":\"幂等测试项目\",\"unit_id\":$XISHE_UNIT}"
  api_json POST /api/v1/projects "$BUREAU" "$json" -H "Idempotency-Key: $key"
  [ "$status" = 201 ]
  first=$body
  [ -z "$(header Idempotent-Replayed)" ]
  settled "$key"
  for _ in 1 2 3; do
    api_json POST /api/v1/projects "$BUREAU" "$json" -H "Idempotency-Key: $key"
    [ "$status" = 201 ]
    [ "$(header Idempotent-Replayed)" = true ]
    [ "$body" = "$first" ]
  done
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code = 'T-REC-$RUN-idem'")" = 1 ]
  # The same key with another body, or on another route: 422, nothing written.
  before=$(table_counts)
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-REC-$RUN-idem2\",\"name\":\"另一个\",\"unit_id\":$XISHE_UNIT}" -H "Idempotency-Key: $key"
  refused 422
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"幂等客商 $RUN\",\"unit_id\":$XISHE_UNIT}" -H "Idempotency-Key: $key"
  refused 422
  # Keys of 300 characters, empty or with spaces are refused before anything runs.
  for bad in "$(printf 'k%.0s' {1..300})" "two words" "ключ"; do
    api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-REC-$RUN-idem3\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT}" -H "Idempotency-Key: $bad"
    refused 400
  done
  [ "$(table_counts)" = "$before" ]
  # A key of 255 characters is fine.
  long="$(printf 'k%.0s' {1..246})-$RUN"
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-REC-$RUN-idem4\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT}" -H "Idempotency-Key: ${long:0:255}"
  [ "$status" = 201 ]
  # Keys belong to their user: another user's same key is a new request.
  api_json POST /api/v1/projects "$XISHE" "{\"code\":\"T-REC-$RUN-idem5\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT}" -H "Idempotency-Key: $key"
  [ "$status" = 201 ]
  [ -z "$(header Idempotent-Replayed)" ]
  # A refusal is replayed too, and still writes nothing.
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-REC-$RUN-idem6\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT,\"planned_investment_yuan\":0}" -H "Idempotency-Key: $key-bad"
  refused 422 planned_investment_yuan
  first=$body
  settled "$key-bad"
  api_json POST /api/v1/projects "$BUREAU" "{\"code\":\"T-REC-$RUN-idem6\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT,\"planned_investment_yuan\":0}" -H "Idempotency-Key: $key-bad"
  [ "$status" = 422 ]
  [ "$(header Idempotent-Replayed)" = true ]
  [ "$body" = "$first" ]
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code = 'T-REC-$RUN-idem6'")" = 0 ]
}

@test "a replayed 201 carries the first answer's Location and ETag" {
  key="rec-idem-headers-$RUN"
  json="{\"code\":\"T-REC-$RUN-idemh\",\"name\":\"幂等头\",\"unit_id\":$XISHE_UNIT}"
  api_json POST /api/v1/projects "$BUREAU" "$json" -H "Idempotency-Key: $key"
  [ "$status" = 201 ]
  location=$(header Location)
  etag=$(header ETag)
  [ -n "$location" ]
  settled "$key"
  api_json POST /api/v1/projects "$BUREAU" "$json" -H "Idempotency-Key: $key"
  [ "$status" = 201 ]
  [ "$(header Idempotent-Replayed)" = true ]
  [ "$(header Location)" = "$location" ] || { echo "replay without Location: $headers" >&2; false; }
  [ "$(header ETag)" = "$etag" ] || { echo "replay without ETag: $headers" >&2; false; }
}

# ---- interactions and the leaders' activity ----

@test "interactions with leaders present and participants; the leaders' activity of the year counts them" {
  pa=$(project lead1 "$XISHE_UNIT" ".leader_id = $LEADER_C")
  pb=$(project lead2 "$HUAYU_UNIT")
  log() {  # log KIND PROJECT-or-null LEADERS [DATE] [TOKEN]
    local subject
    if [ "$2" = null ]; then subject="\"investor_id\":$INV_X"; else subject="\"project_id\":$2"; fi
    local unit=$XISHE_UNIT
    [ "$2" = "$pb" ] && unit=$HUAYU_UNIT
    api_json POST /api/v1/interactions "${5:-$BUREAU}" "{\"unit_id\":$unit,$subject,\"kind\":\"$1\",\"occurred_on\":\"${4:-$TODAY}\",\"summary\":\"$1 记录 $RUN\",\"leader_ids\":$3,\"participants\":[\"县投促中心 王晓燕\",\"客商代表 李总\"],\"place\":\"县政府\",\"next_step\":\"跟进\",\"next_step_due\":\"$TOMORROW\"}"
    created
  }
  log meeting "$pa" "[$LEADER_C,$LEADER_D]"
  [ "$(jq -c .leader_ids <<<"$body")" = "[$LEADER_C,$LEADER_D]" ]
  [ "$(jq -c .participants <<<"$body")" = '["县投促中心 王晓燕","客商代表 李总"]' ]
  [ "$(jq -r '[.place, .next_step, .next_step_due] | join(",")' <<<"$body")" = "县政府,跟进,$TOMORROW" ]
  first=$(jq -r .id <<<"$body")
  log meeting "$pb" "[$LEADER_C]"
  log site_visit "$pa" "[$LEADER_C,$LEADER_C]"     # named twice, counted once
  [ "$(jq -c .leader_ids <<<"$body")" = "[$LEADER_C]" ]
  log negotiation null "[$LEADER_C]"
  log coordination "$pa" "[$LEADER_C]" "$TODAY" "$LEADER_C_TOKEN"   # a leader logs it himself
  log call "$pb" "[$LEADER_C]"
  log meeting "$pa" '[]'                              # no leader present
  log call "$pa" "[$LEADER_C]" "$LAST_YEAR_DAY"       # another year
  # A leader_id that is not a leader: 422, and no interaction is written.
  before=$(table_counts)
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$pa,\"kind\":\"meeting\",\"occurred_on\":\"$TODAY\",\"summary\":\"x\",\"leader_ids\":[$BUREAU_ID]}"
  refused 422 leader_ids
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$pa,\"kind\":\"meeting\",\"occurred_on\":\"$TODAY\",\"summary\":\"x\",\"leader_ids\":[999999999]}"
  refused 422 leader_ids
  api_json PATCH "/api/v1/interactions/$first" "$BUREAU" "{\"leader_ids\":[$LEADER_C,$BUREAU_ID]}" -H 'If-Match: "1"'
  refused 422 leader_ids
  [ "$(table_counts)" = "$before" ]
  api GET "/api/v1/interactions/$first" "$BUREAU"
  [ "$(jq -c .leader_ids <<<"$body")" = "[$LEADER_C,$LEADER_D]" ]
  # Not in the future, and not for another unit's project.
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$pa,\"kind\":\"call\",\"occurred_on\":\"$TOMORROW\",\"summary\":\"x\"}"
  refused 422 occurred_on
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$pb,\"kind\":\"call\",\"occurred_on\":\"$TODAY\",\"summary\":\"x\"}"
  refused 422 project_id
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"call\",\"occurred_on\":\"$TODAY\",\"summary\":\"no subject\"}"
  refused 422
  [ "$(table_counts)" = "$before" ]

  # The list by leader.
  [ "$(jq length <<<"$(ids "/api/v1/interactions?leader_id=$LEADER_C&year=$YEAR&limit=200")")" = 6 ]
  [ "$(jq length <<<"$(ids "/api/v1/interactions?leader_id=$LEADER_C&kind=meeting&year=$YEAR")")" = 2 ]
  [ "$(ids "/api/v1/interactions?leader_id=$LEADER_D")" = "[$first]" ]

  # What each leader personally did this year.
  api GET "/api/v1/stats/leaders?year=$YEAR" "$VIEWER"
  [ "$status" = 200 ]
  [ "$(jq -r .year <<<"$body")" = "$YEAR" ]
  a=$(jq -c --argjson id "$LEADER_C" '.leaders[] | select(.leader_id == $id)' <<<"$body")
  [ "$(jq -c '[.meetings, .site_visits, .negotiations, .coordinations, .calls]' <<<"$a")" = '[2,1,1,1,1]' ]
  [ "$(jq -c '.projects | sort' <<<"$a")" = "$(jq -nc --argjson a "$pa" --argjson b "$pb" '[$a, $b] | sort')" ]
  [ "$(jq -c '.lead_projects' <<<"$a")" = "[$pa]" ]
  [ "$(jq -r .name <<<"$a")" = "rec.lead.c.$RUN" ]
  b=$(jq -c --argjson id "$LEADER_D" '.leaders[] | select(.leader_id == $id)' <<<"$body")
  [ "$(jq -c '[.meetings, .site_visits, .negotiations, .coordinations, .calls, .projects]' <<<"$b")" = "[1,0,0,0,0,[$pa]]" ]
  # A township head sees by name the county leaders who met about its projects,
  # as it sees a project's 包联 leader: a user's name is readable by any caller.
  api GET "/api/v1/stats/leaders?year=$YEAR" "$XISHE"
  [ "$status" = 200 ]
  [ "$(jq -r --argjson id "$LEADER_C" '.leaders[] | select(.leader_id == $id) | .name' <<<"$body")" = "rec.lead.c.$RUN" ]
  # Last year: the one call.
  api GET "/api/v1/stats/leaders?year=${LAST_YEAR_DAY%%-*}" "$VIEWER"
  [ "$(jq -c --argjson id "$LEADER_C" '.leaders[] | select(.leader_id == $id) | [.meetings, .calls]' <<<"$body")" = '[0,1]' ]
  # The year is required and must be a year.
  for q in "" "?year=abc" "?year=20245" "?year=-1"; do
    api GET "/api/v1/stats/leaders$q" "$VIEWER"
    refused 400
  done
}

# ---- problems ----

@test "problems: owner unit, due date, level 1-4, status; overdue lists the open ones past due only" {
  p=$(project problems "$XISHE_UNIT")
  invest=$(unit_id sx.yc.js.invest)
  new_problem() {  # new_problem TITLE DUE [STATUS] [LEVEL]
    api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$invest,\"title\":\"$1\",\"description\":\"需协调\",\"due_on\":\"$2\",\"status\":\"${3:-open}\",\"level\":${4:-1}}"
    created
    jq -r .id <<<"$body"
  }
  late=$(new_problem 用地指标 "$YESTERDAY" open 2)
  api GET "/api/v1/problems/$late" "$BUREAU"
  [ "$(jq -r '[.owner_unit_id, .due_on, .level, .status, .overdue, .resolved_at] | join(",")' <<<"$body")" = \
    "$invest,$YESTERDAY,2,open,true," ]
  done_late=$(new_problem 环评批复 "$YESTERDAY" resolved 4)
  api GET "/api/v1/problems/$done_late" "$BUREAU"
  [ "$(jq -r '[.status, .overdue, (.resolved_at != null)] | join(",")' <<<"$body")" = "resolved,false,true" ]
  soon=$(new_problem 供电线路 "$TOMORROW" in_progress 3)
  [ "$(ids "/api/v1/problems?project_id=$p&overdue=true")" = "[$late]" ]
  [ "$(ids "/api/v1/problems?project_id=$p&overdue=false")" = "[$done_late,$soon]" ]
  api GET "/api/v1/problems?overdue=true&limit=200" "$VIEWER"
  [ "$(jq '[.items[] | select(.overdue != true)] | length' <<<"$body")" = 0 ]
  # Levels 1 to 4 only.
  before=$(table_counts)
  for level in 5 0 -1 2.5 '"2"'; do
    api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$invest,\"title\":\"x\",\"due_on\":\"$TODAY\",\"level\":$level}"
    refused 422 level
  done
  for status in done '""' 3; do
    api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$invest,\"title\":\"x\",\"due_on\":\"$TODAY\",\"status\":$(jq -nc --arg s "$status" '$s | fromjson? // $s')}"
    refused 422 status
  done
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":999999999,\"title\":\"x\",\"due_on\":\"$TODAY\"}"
  refused 422 owner_unit_id
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$invest,\"title\":\"x\",\"due_on\":\"2024-02-30\"}"
  refused 422 due_on
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$invest,\"title\":\"   \",\"due_on\":\"$TODAY\"}"
  refused 422 title
  [ "$(table_counts)" = "$before" ]
  api_json PATCH "/api/v1/problems/$late" "$BUREAU" '{"level":5}' -H 'If-Match: "1"'
  refused 422 level
  # Resolved: no longer overdue; reopened: overdue again.
  api_json PATCH "/api/v1/problems/$late" "$BUREAU" '{"status":"resolved"}' -H 'If-Match: "1"'
  [ "$status" = 200 ]
  [ "$(jq -r '[.overdue, (.resolved_at != null)] | join(",")' <<<"$body")" = "false,true" ]
  [ "$(ids "/api/v1/problems?project_id=$p&overdue=true")" = "[]" ]
  api_json PATCH "/api/v1/problems/$late" "$BUREAU" '{"status":"open","level":4}' -H 'If-Match: "2"'
  [ "$status" = 200 ]
  [ "$(jq -r '[.overdue, .resolved_at, .level] | join(",")' <<<"$body")" = "true,,4" ]
  [ "$(ids "/api/v1/problems?project_id=$p&overdue=true&level=4")" = "[$late]" ]
}

@test "a problem level out of the smallint range is refused naming 'level'" {
  p=$(project level "$XISHE_UNIT")
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$XISHE_UNIT,\"title\":\"x\",\"due_on\":\"$TODAY\",\"level\":99999}"
  refused 422 level
}

@test "a next step due before the interaction is refused naming 'next_step_due'" {
  p=$(project nextstep "$XISHE_UNIT")
  before=$(table_counts)
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$p,\"kind\":\"call\",\"occurred_on\":\"$D20\",\"summary\":\"s\",\"next_step_due\":\"$D30\"}"
  refused 422 next_step_due
  [ "$(table_counts)" = "$before" ]
}

# ---- batches ----

@test "batches hold projects of their own unit only" {
  x1=$(project batch1 "$XISHE_UNIT")
  x2=$(project batch2 "$XISHE_UNIT")
  h1=$(project batch3 "$HUAYU_UNIT")
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"西社镇集中签约 $RUN\",\"held_on\":\"$D20\",\"place\":\"西社镇政府\",\"project_ids\":[$x2,$x1,$x1]}"
  created
  b=$(jq -r .id <<<"$body")
  [ "$(jq -c .project_ids <<<"$body")" = "[$x1,$x2]" ]
  [ "$(header Location)" = "/api/v1/batches/$b" ]
  # Another township's project in the township's batch: refused, nothing written.
  before=$(table_counts)
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"start\",\"name\":\"混编批次 $RUN\",\"held_on\":\"$D20\",\"project_ids\":[$x1,$h1]}"
  refused 422 project_ids
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"start\",\"name\":\"混编批次 $RUN\",\"held_on\":\"$D20\",\"project_ids\":[999999999]}"
  refused 422
  fp=$(row batch "$b")
  api_json PATCH "/api/v1/batches/$b" "$BUREAU" "{\"project_ids\":[$x1,$h1]}" -H 'If-Match: "1"'
  refused 422 project_ids
  [ "$(table_counts)" = "$before" ]
  [ "$(row batch "$b")" = "$fp" ]
  api GET "/api/v1/batches/$b" "$XISHE"
  [ "$(jq -c .project_ids <<<"$body")" = "[$x1,$x2]" ]
  # The county's batch may hold both townships' projects; a project in several batches.
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$COUNTY,\"kind\":\"start\",\"name\":\"全县集中开工 $RUN\",\"held_on\":\"$D20\",\"project_ids\":[$x1,$h1]}"
  created
  [ "$(jq -c .project_ids <<<"$body")" = "[$x1,$h1]" ]
  # A township user sees its own batch only, and may not create one (admins and the bureau do).
  api GET "/api/v1/batches?unit_id=$XISHE_UNIT&limit=200" "$XISHE"
  [ "$(jq --argjson b "$b" '[.items[].id] | index($b) != null' <<<"$body")" = true ]
  api_json POST /api/v1/batches "$XISHE" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"x\",\"held_on\":\"$D20\"}"
  refused 403
  api_json PATCH "/api/v1/batches/$b" "$BUREAU" "{\"project_ids\":[$x2]}" -H 'If-Match: "1"'
  [ "$status" = 200 ]
  [ "$(jq -c .project_ids <<<"$body")" = "[$x2]" ]
}

# ---- investors and contacts ----

@test "investors: the USCC is validated (length, alphabet, check character) and unique; Chinese name search" {
  good=$(valid_uscc)
  [ "${#good}" = 18 ]
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"山西测试煤焦油化工有限公司 $RUN\",\"unit_id\":$XISHE_UNIT,\"uscc\":\"$good\",\"origin_region\":\"山西运城\",\"industry\":\"煤化工\",\"chain_role\":\"chain_leader\"}"
  created
  inv=$(jq -r .id <<<"$body")
  [ "$(jq -r .uscc <<<"$body")" = "$good" ]
  # Wrong check character, length, alphabet (I, O, Z, S, V, lower case).
  alphabet=0123456789ABCDEFGHJKLMNPQRTUWXY
  last=${good:17:1}
  pre=${alphabet%%"$last"*}
  wrong=${alphabet:$(( (${#pre} + 1) % 31 )):1}
  [ "$wrong" != "$last" ]
  before=$(table_counts)
  for bad in "${good:0:17}$wrong" "${good:0:17}" "${good}0" "${good:0:16}I${last}" "${good:0:16}O${last}" \
    "${good:0:16}Z${last}" "${good:0:16}S${last}" "${good:0:16}V${last}" "$(tr 'A-Z' 'a-z' <<<"$good")" \
    "${good:0:9} ${good:10:8}" "九一一四〇八二四"; do
    api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"坏代码客商\",\"unit_id\":$XISHE_UNIT,\"uscc\":\"$bad\"}"
    refused 422 uscc || { echo "uscc '$bad' accepted" >&2; false; }
  done
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"坏代码客商\",\"unit_id\":$XISHE_UNIT,\"uscc\":918}"
  refused 422 uscc
  # Unique when given: a second investor with the same code is a 409.
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"重复代码客商\",\"unit_id\":$HUAYU_UNIT,\"uscc\":\"$good\"}"
  refused 409 uscc
  [ "$(table_counts)" = "$before" ]
  # Without a code (or null), any number of investors.
  for u in null '""'; do
    api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"无代码客商 $RUN\",\"unit_id\":$XISHE_UNIT,\"uscc\":$u}"
    created
    [ "$(jq -r .uscc <<<"$body")" = null ]
  done
  other=$(jq -r .id <<<"$body")
  api GET "/api/v1/investors/$other" "$BUREAU"
  etag=$(header ETag)
  api_json PATCH "/api/v1/investors/$other" "$BUREAU" "{\"uscc\":\"$good\"}" -H "If-Match: $etag"
  refused 409 uscc
  api_json PATCH "/api/v1/investors/$other" "$BUREAU" "{\"uscc\":\"${good:0:17}$wrong\"}" -H "If-Match: $etag"
  refused 422 uscc
  api GET "/api/v1/investors/$other" "$BUREAU"
  [ "$(header ETag)" = "$etag" ]
  # Searched by a Chinese substring of the name, or by the exact code.
  api GET /api/v1/investors "$XISHE" -G --data-urlencode "q=测试煤焦油" --data-urlencode limit=200
  [ "$(jq --argjson i "$inv" '[.items[].id] | index($i) != null' <<<"$body")" = true ]
  [ "$(jq '[.items[] | select(.name | contains("测试煤焦油") | not)] | length' <<<"$body")" = 0 ]
  [ "$(ids "/api/v1/investors?uscc=$good")" = "[$inv]" ]
  [ "$(ids "/api/v1/investors?chain_role=chain_leader&q=$RUN")" = "[$inv]" ]
  api GET /api/v1/investors "$VIEWER" -G --data-urlencode 'q=煤焦油' --data-urlencode limit=200
  [ "$(jq --argjson i "$inv" '[.items[].id] | index($i) != null' <<<"$body")" = true ]
  [ "$(jq '[.items[] | select(.name | contains("煤焦油") | not)] | length' <<<"$body")" = 0 ]
}

@test "contacts of an investor: create, list, delete" {
  api_json POST "/api/v1/investors/$INV_X/contacts" "$XISHE" '{"name":"李建国","title":"总经理","phone":"+86 (0359) 555-0101","email":"li@example.cn","notes":"负责投资决策"}'
  created
  c1=$(jq -r .id <<<"$body")
  [ "$(jq -r '[.investor_id, .name, .title, .phone] | join(",")' <<<"$body")" = "$INV_X,李建国,总经理,+86 (0359) 555-0101" ]
  api_json POST "/api/v1/investors/$INV_X/contacts" "$BUREAU" '{"name":"王芳","title":"财务总监"}'
  created
  c2=$(jq -r .id <<<"$body")
  [ "$(ids "/api/v1/investors/$INV_X/contacts" "$XISHE")" = "[$c1,$c2]" ]
  [ "$(walk "/api/v1/investors/$INV_X/contacts" 1 "$XISHE")" = "[$c1,$c2]" ]
  before=$(table_counts)
  for bad in '{"name":"x","phone":"call me"}' '{"name":""}' '{"title":"no name"}' '{"name":"x","investor_id":1}' \
    "{\"name\":\"$(printf '长%.0s' {1..101})\"}"; do
    api_json POST "/api/v1/investors/$INV_X/contacts" "$BUREAU" "$bad"
    refused 422
  done
  [ "$(table_counts)" = "$before" ]
  api DELETE "/api/v1/contacts/$c1" "$XISHE"
  [ "$status" = 204 ]
  [ "$(ids "/api/v1/investors/$INV_X/contacts" "$XISHE")" = "[$c2]" ]
  api DELETE "/api/v1/contacts/$c1" "$XISHE"
  refused 404
  api DELETE "/api/v1/contacts/$c2" "$VIEWER"
  refused 403
  [ "$(ids "/api/v1/investors/$INV_X/contacts" "$XISHE")" = "[$c2]" ]
}

# ---- scope ----

@test "a 西社镇 unit user gets 404 for another township's records, on every route with an id, and nothing changes" {
  # Records of 化峪镇, made by the county bureau.
  ph=$(signed scopeh "$HUAYU_UNIT" "$INV_H" "$D30")
  ch=$(owner_sql "SELECT id FROM contract WHERE project_id = $ph")
  api_json POST /api/v1/starts "$BUREAU" "{\"project_id\":$ph,\"started_on\":\"$D20\",\"evidence\":\"开工\"}"
  sh=$(jq -r .id <<<"$body")
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$HUAYU_UNIT,\"project_id\":$ph,\"kind\":\"meeting\",\"occurred_on\":\"$D20\",\"summary\":\"化峪洽谈\"}"
  ih=$(jq -r .id <<<"$body")
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$ph,\"owner_unit_id\":$HUAYU_UNIT,\"title\":\"化峪问题\",\"due_on\":\"$D20\"}"
  rh=$(jq -r .id <<<"$body")
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$HUAYU_UNIT,\"kind\":\"signing\",\"name\":\"化峪批次\",\"held_on\":\"$D20\",\"project_ids\":[$ph]}"
  bh=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/investors/$INV_H/contacts" "$BUREAU" '{"name":"化峪联系人"}'
  kh=$(jq -r .id <<<"$body")
  fingerprint() {
    printf '%s\n' "$(row project "$ph")" "$(row contract "$ch")" "$(row project_start "$sh")" "$(row investor "$INV_H")" \
      "$(row interaction "$ih")" "$(row problem "$rh")" "$(row batch "$bh")" "$(row contact "$kh")" "$(table_counts)"
  }
  before=$(fingerprint)
  # call TOKEN ALLOWED METHOD PATH [JSON]: a PATCH carries the record's
  # current ETag, as if the caller had guessed it.
  call() {
    local token=$1 allowed=$2 method=$3 path=$4 json=${5:-} table
    if [ "$method" = PATCH ]; then
      case $path in
        */projects/*) table=project ;; */contracts/*) table=contract ;; */starts/*) table=project_start ;;
        */investors/*) table=investor ;; */interactions/*) table=interaction ;; */problems/*) table=problem ;;
        */batches/*) table=batch ;;
      esac
      api_json PATCH "$path" "$token" "$json" -H "If-Match: \"$(owner_sql "SELECT version FROM $table WHERE id = ${path##*/}")\""
    elif [ -n "$json" ]; then
      api_json "$method" "$path" "$token" "$json"
    else
      api "$method" "$path" "$token"
    fi
    echo "# $method $path -> $status" >&3
    [[ " $allowed " == *" $status "* ]] || { echo "$method $path answered $status: $body" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ]
  }
  call "$XISHE" 404 GET "/api/v1/projects/$ph"
  call "$XISHE" 404 GET "/api/v1/projects/$ph/history"
  call "$XISHE" 404 PATCH "/api/v1/projects/$ph" '{"name":"被改了"}'
  call "$XISHE" 404 POST "/api/v1/projects/$ph/transitions" '{"to":"started"}'
  call "$XISHE" 404 POST "/api/v1/projects/$ph/transitions" '{"to":"terminated","reason":"抢走"}'
  call "$XISHE" 404 GET "/api/v1/contracts/$ch"
  call "$XISHE" 404 PATCH "/api/v1/contracts/$ch" '{"evidence":"被改了"}'
  call "$XISHE" 404 DELETE "/api/v1/contracts/$ch"
  call "$XISHE" "403 404" POST "/api/v1/contracts/$ch/verify"
  call "$XISHE" 404 POST "/api/v1/contracts/$ch/revoke" '{"reason":"抢走"}'
  call "$XISHE" 404 GET "/api/v1/starts/$sh"
  call "$XISHE" 404 PATCH "/api/v1/starts/$sh" '{"evidence":"被改了"}'
  call "$XISHE" 404 DELETE "/api/v1/starts/$sh"
  call "$XISHE" "403 404" POST "/api/v1/starts/$sh/verify"
  call "$XISHE" 404 POST "/api/v1/starts/$sh/revoke" '{"reason":"抢走"}'
  call "$XISHE" 404 GET "/api/v1/investors/$INV_H"
  call "$XISHE" 404 PATCH "/api/v1/investors/$INV_H" '{"name":"被改了"}'
  call "$XISHE" 404 DELETE "/api/v1/contacts/$kh"
  call "$XISHE" 404 GET "/api/v1/interactions/$ih"
  call "$XISHE" 404 PATCH "/api/v1/interactions/$ih" '{"summary":"被改了"}'
  call "$XISHE" 404 GET "/api/v1/problems/$rh"
  call "$XISHE" 404 PATCH "/api/v1/problems/$rh" '{"status":"closed"}'
  call "$XISHE" 404 GET "/api/v1/batches/$bh"
  # A verifier of 西社镇 (the township's assessment clerk): 404 on the other's claims.
  call "$XVIEWER" 404 POST "/api/v1/contracts/$ch/verify"
  call "$XVIEWER" 404 POST "/api/v1/starts/$sh/verify"
  call "$XVIEWER" 404 POST "/api/v1/contracts/$ch/revoke" '{"reason":"抢走"}'
  call "$XVIEWER" 404 GET "/api/v1/projects/$ph"
  # Nor can the township write into the other's records by naming them.
  api_json POST /api/v1/projects "$XISHE" "{\"code\":\"T-REC-$RUN-intruder\",\"name\":\"x\",\"unit_id\":$HUAYU_UNIT}"
  refused 422 unit_id
  api_json POST /api/v1/contracts "$XISHE" "{\"project_id\":$ph,\"kind\":\"capital_increase\",\"amount_yuan\":5,\"signed_on\":\"$D20\",\"evidence\":\"x\"}"
  refused 422 project_id
  api_json POST /api/v1/starts "$XISHE" "{\"project_id\":$ph,\"started_on\":\"$D20\",\"evidence\":\"x\"}"
  [ "$status" = 422 ] || [ "$status" = 409 ]
  api_json POST /api/v1/interactions "$XISHE" "{\"unit_id\":$HUAYU_UNIT,\"project_id\":$ph,\"kind\":\"call\",\"occurred_on\":\"$D20\",\"summary\":\"x\"}"
  refused 422
  api_json POST /api/v1/problems "$XISHE" "{\"project_id\":$ph,\"owner_unit_id\":$XISHE_UNIT,\"title\":\"x\",\"due_on\":\"$D20\"}"
  refused 422 project_id
  api_json POST /api/v1/investors "$XISHE" "{\"name\":\"x\",\"unit_id\":$HUAYU_UNIT}"
  refused 422 unit_id
  [ "$(fingerprint)" = "$before" ]
  # The bureau, in the county, does see them (the 404s above are scope).
  api GET "/api/v1/projects/$ph" "$BUREAU"
  [ "$status" = 200 ]
}

@test "a project or investor moved to another township takes its claims, problems and contacts along" {
  make_user rec.huayu unit sx.yc.js.huayu 'Rec-huayu-2024'
  huayu=$(login rec.huayu 'Rec-huayu-2024')
  p=$(project moved "$XISHE_UNIT")
  api_json POST /api/v1/contracts "$BUREAU" "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"意向\"}"
  c=$(jq -r .id <<<"$body")
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$p,\"owner_unit_id\":$XISHE_UNIT,\"title\":\"迁移问题\",\"due_on\":\"$D20\"}"
  r=$(jq -r .id <<<"$body")
  api_json POST /api/v1/investors "$BUREAU" "{\"name\":\"迁移客商 $RUN\",\"unit_id\":$XISHE_UNIT}"
  i=$(jq -r .id <<<"$body")
  api_json POST "/api/v1/investors/$i/contacts" "$BUREAU" '{"name":"迁移联系人"}'
  k=$(jq -r .id <<<"$body")
  # The county bureau moves both to 化峪镇.
  api GET "/api/v1/projects/$p" "$BUREAU"
  api_json PATCH "/api/v1/projects/$p" "$BUREAU" "{\"unit_id\":$HUAYU_UNIT}" -H "If-Match: $(header ETag)"
  [ "$status" = 200 ]
  api_json PATCH "/api/v1/investors/$i" "$BUREAU" "{\"unit_id\":$HUAYU_UNIT}" -H 'If-Match: "1"'
  [ "$status" = 200 ]
  # 化峪镇 now sees the project and all that hangs on it ...
  api GET "/api/v1/projects/$p" "$huayu"
  [ "$status" = 200 ]
  for path in "/api/v1/contracts/$c" "/api/v1/problems/$r"; do
    api GET "$path" "$huayu"
    [ "$status" = 200 ] || { echo "化峪镇 GET $path: $status" >&2; false; }
  done
  [ "$(ids "/api/v1/contracts?project_id=$p" "$huayu")" = "[$c]" ]
  [ "$(ids "/api/v1/investors/$i/contacts" "$huayu")" = "[$k]" ]
  # ... and 西社镇 none of it, nor may it delete it.
  for path in "/api/v1/projects/$p" "/api/v1/contracts/$c" "/api/v1/problems/$r" "/api/v1/investors/$i"; do
    api GET "$path" "$XISHE"
    [ "$status" = 404 ] || { echo "西社镇 GET $path: $status" >&2; false; }
  done
  api GET "/api/v1/investors/$i/contacts" "$XISHE"
  [ "$status" = 404 ]
  api DELETE "/api/v1/contracts/$c" "$XISHE"
  [ "$status" = 404 ] || { echo "西社镇 DELETE contract: $status" >&2; false; }
  api DELETE "/api/v1/contacts/$k" "$XISHE"
  [ "$status" = 404 ] || { echo "西社镇 DELETE contact: $status" >&2; false; }
  [ "$(owner_sql "SELECT count(*) FROM contract WHERE id = $c")" = 1 ]
  [ "$(owner_sql "SELECT count(*) FROM contact WHERE id = $k")" = 1 ]
}

@test "an investor the caller cannot see has no contacts to list or add: 404" {
  before=$(table_counts)
  api GET "/api/v1/investors/$INV_H/contacts" "$XISHE"
  refused 404
  api_json POST "/api/v1/investors/$INV_H/contacts" "$XISHE" '{"name":"潜入者"}'
  refused 404
  api GET /api/v1/investors/999999999/contacts "$BUREAU"
  refused 404
  [ "$(table_counts)" = "$before" ]
}

@test "a 西社镇 unit user's lists hold no row of another township" {
  # At least one own record in each collection.
  px=$(signed scopex "$XISHE_UNIT" "$INV_X" "$D30")
  api_json POST /api/v1/starts "$BUREAU" "{\"project_id\":$px,\"started_on\":\"$D20\",\"evidence\":\"开工\"}"
  api_json POST /api/v1/interactions "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"project_id\":$px,\"kind\":\"meeting\",\"occurred_on\":\"$D20\",\"summary\":\"西社洽谈\"}"
  api_json POST /api/v1/problems "$BUREAU" "{\"project_id\":$px,\"owner_unit_id\":$XISHE_UNIT,\"title\":\"西社问题\",\"due_on\":\"$D20\"}"
  api_json POST /api/v1/batches "$BUREAU" "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"西社批次\",\"held_on\":\"$D20\",\"project_ids\":[$px]}"
  for pair in investors:investor projects:project contracts:contract starts:project_start interactions:interaction \
    problems:problem batches:batch; do
    coll=${pair%%:*} table=${pair#*:}
    mine=$(walk "/api/v1/$coll" 200 "$XISHE")
    [ "$(jq length <<<"$mine")" -ge 1 ] || { echo "$coll: empty" >&2; false; }
    list=$(jq -r 'join(",")' <<<"$mine")
    foreign=$(owner_sql "SELECT count(*) FROM $table WHERE id IN ($list) AND NOT unit_path @> ARRAY[$XISHE_UNIT::bigint]")
    [ "$foreign" = 0 ] || { echo "$coll: $foreign foreign rows" >&2; false; }
    # And all of its own.
    own=$(owner_sql "SELECT count(*) FROM $table WHERE unit_path @> ARRAY[$XISHE_UNIT::bigint]")
    [ "$(jq length <<<"$mine")" = "$own" ] || { echo "$coll: $(jq length <<<"$mine") of $own" >&2; false; }
    # Asking for the other township gives nothing.
    api GET "/api/v1/$coll?unit_id=$HUAYU_UNIT" "$XISHE"
    [ "$status" = 200 ]
    [ "$(jq '.items | length' <<<"$body")" = 0 ]
  done
  api GET "/api/v1/projects?stage=signed&limit=200" "$XISHE"
  [ "$(jq --argjson u "$XISHE_UNIT" '[.items[] | select(.unit_id != $u)] | length' <<<"$body")" = 0 ]
}

# ---- bad input ----

@test "bad bodies: malformed JSON 400, wrong types and unknown fields 422 naming the field, nothing written" {
  p=$(project badinput "$XISHE_UNIT")
  api_json POST /api/v1/contracts "$BUREAU" "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"意向\"}"
  c=$(jq -r .id <<<"$body")
  before=$(table_counts)
  long601=$(printf 'a%.0s' {1..601})
  long201=$(printf '项%.0s' {1..201})
  good="\"code\":\"T-REC-$RUN-bad\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT"
  check() {  # check STATUS FIELD PATH BODY
    api_json POST "$3" "$BUREAU" "$4"
    [ "$status" = "$1" ] || { echo "wanted $1 for $3 $4, got $status: $body" >&2; return 1; }
    [ "$(header Content-Type)" = application/problem+json ] || return 1
    if [ -n "$2" ]; then
      jq -e --arg f "$2" '[.errors[].field] | index($f) != null' <<<"$body" > /dev/null ||
        { echo "no error on $2 for $4: $body" >&2; return 1; }
    fi
  }
  P=/api/v1/projects
  check 400 "" $P "{$good"
  check 400 "" $P "{$good,"
  check 400 "" $P '{"code":'
  check 400 "" $P "{$good}}"
  check 400 "" $P "not json"
  check 400 "" $P ""
  check 400 "" $P "[{$good}]"
  check 400 "" $P '"a string"'
  check 400 "" $P "{$good, \"name\":\"twice\"}"
  check 400 "" $P "{$good, \"plan\":\"nul\\u0000byte\"}"
  check 400 "" $P "{$good, \"planned_investment_yuan\":1e400}"
  check 422 id $P "{$good, \"id\": 7}"
  check 422 version $P "{$good, \"version\": 1}"
  check 422 created_by $P "{$good, \"created_by\": 1}"
  check 422 stage $P "{$good, \"stage\": \"signed\"}"
  check 422 signed_on $P "{$good, \"signed_on\": \"$D30\"}"
  check 422 unit_id $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":\"x\",\"unit_id\":\"$XISHE_UNIT\"}"
  check 422 unit_id $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":\"x\",\"unit_id\":null}"
  check 422 unit_id $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":\"x\"}"
  check 422 is_key $P "{$good, \"is_key\": \"yes\"}"
  check 422 is_key $P "{$good, \"is_key\": 1}"
  check 422 name $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":42,\"unit_id\":$XISHE_UNIT}"
  check 422 name $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":\"$long601\",\"unit_id\":$XISHE_UNIT}"
  check 422 name $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":\"$long201\",\"unit_id\":$XISHE_UNIT}"
  check 422 name $P "{\"code\":\"T-REC-$RUN-bad\",\"name\":\"${long601:0:201}\",\"unit_id\":$XISHE_UNIT}"
  check 422 code $P "{\"code\":\"T REC bad\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT}"
  check 422 code $P "{\"code\":\"$(printf 'C%.0s' {1..41})\",\"name\":\"x\",\"unit_id\":$XISHE_UNIT}"
  check 422 planned_investment_yuan $P "{$good, \"planned_investment_yuan\": 1.5}"
  check 422 planned_investment_yuan $P "{$good, \"planned_investment_yuan\": \"100\"}"
  check 422 planned_investment_yuan $P "{$good, \"planned_investment_yuan\": 1.0}"
  check 422 planned_start_on $P "{$good, \"planned_start_on\": \"2024-02-30\"}"
  check 422 planned_start_on $P "{$good, \"planned_start_on\": \"2023-02-29\"}"
  check 422 planned_start_on $P "{$good, \"planned_start_on\": \"2024/03/01\"}"
  check 422 planned_start_on $P "{$good, \"planned_start_on\": \"2024-3-1\"}"
  check 422 five_one $P "{$good, \"five_one\": [\"x\"]}"
  check 422 five_one $P "{$good, \"five_one\": {\"包联领导\": 5}}"
  check 422 five_one $P "{$good, \"five_one\": {\"不存在的槽\": \"x\"}}"
  C=/api/v1/contracts
  cgood="\"project_id\":$p,\"kind\":\"intent\",\"signed_on\":\"$D30\",\"evidence\":\"e\""
  check 422 verified_by $C "{$cgood, \"amount_yuan\": 5, \"verified_by\": 1}"
  check 422 state $C "{$cgood, \"amount_yuan\": 5, \"state\": \"verified\"}"
  check 422 reported_by $C "{$cgood, \"amount_yuan\": 5, \"reported_by\": 1}"
  check 422 amount_yuan $C "{$cgood, \"amount_yuan\": 1.5}"
  check 422 amount_yuan $C "{$cgood, \"amount_yuan\": \"5\"}"
  check 422 amount_yuan $C "{$cgood, \"amount_yuan\": 0}"
  check 422 amount_yuan $C "{$cgood, \"amount_yuan\": -100}"
  check 422 amount_yuan $C "{$cgood}"
  check 422 kind $C "{\"project_id\":$p,\"kind\":\"loan\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"e\"}"
  check 422 signed_on $C "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"2024-02-30\",\"evidence\":\"e\"}"
  check 422 evidence $C "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"  \"}"
  check 422 evidence $C "{\"project_id\":$p,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"$(printf 'e%.0s' {1..6001})\"}"
  check 422 project_id $C "{\"project_id\":999999999,\"kind\":\"intent\",\"amount_yuan\":5,\"signed_on\":\"$D30\",\"evidence\":\"e\"}"
  check 422 started_on /api/v1/starts "{\"project_id\":$p,\"started_on\":\"2024-13-01\",\"evidence\":\"e\"}"
  check 422 verified_at /api/v1/starts "{\"project_id\":$p,\"started_on\":\"$D20\",\"evidence\":\"e\",\"verified_at\":\"$D20\"}"
  I=/api/v1/interactions
  igood="\"unit_id\":$XISHE_UNIT,\"project_id\":$p,\"occurred_on\":\"$D20\",\"summary\":\"s\""
  check 422 kind $I "{$igood, \"kind\":\"dinner\"}"
  check 422 leader_ids $I "{$igood, \"kind\":\"call\", \"leader_ids\":\"$LEADER_A\"}"
  check 422 leader_ids $I "{$igood, \"kind\":\"call\", \"leader_ids\":[0]}"
  check 422 leader_ids $I "{$igood, \"kind\":\"call\", \"leader_ids\":[\"$LEADER_A\"]}"
  check 422 participants $I "{$igood, \"kind\":\"call\", \"participants\":[1]}"
  check 422 participants $I "{$igood, \"kind\":\"call\", \"participants\":\"张三\"}"
  check 422 summary $I "{\"unit_id\":$XISHE_UNIT,\"project_id\":$p,\"occurred_on\":\"$D20\",\"kind\":\"call\",\"summary\":\"$(printf '记%.0s' {1..4001})\"}"
  check 422 "" $I "{$igood, \"kind\":\"call\", \"next_step_due\":\"$D30\"}"
  check 422 occurred_on $I "{\"unit_id\":$XISHE_UNIT,\"project_id\":$p,\"occurred_on\":\"2024-02-30\",\"kind\":\"call\",\"summary\":\"s\"}"
  check 422 kind /api/v1/batches "{\"unit_id\":$XISHE_UNIT,\"kind\":\"party\",\"name\":\"b\",\"held_on\":\"$D20\"}"
  check 422 project_ids /api/v1/batches "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"b\",\"held_on\":\"$D20\",\"project_ids\":[-1]}"
  check 422 held_on /api/v1/batches "{\"unit_id\":$XISHE_UNIT,\"kind\":\"signing\",\"name\":\"b\",\"held_on\":\"2024-02-30\"}"
  T="/api/v1/projects/$p/transitions"
  check 422 to "$T" '{"to":"flying"}'
  check 422 to "$T" '{}'
  check 422 on "$T" '{"to":"negotiating","on":"2024-02-30"}'
  check 422 reason "$T" '{"to":"terminated","reason":42}'
  check 422 stage "$T" '{"to":"negotiating","stage":"signed"}'
  check 400 "" "$T" '{"to":"negotiating","to":"lead"}'
  check 400 "" "$T" '{"to":"negotia'
  check 422 reason "/api/v1/contracts/$c/revoke" '{"reason":5}'
  check 422 note "/api/v1/contracts/$c/revoke" '{"reason":"r","note":"x"}'
  [ "$(table_counts)" = "$before" ]
  [ "$(owner_sql "SELECT stage FROM project WHERE id = $p")" = lead ]

  # PATCH: the same, and the record keeps its ETag.
  api GET "/api/v1/projects/$p" "$BUREAU"
  etag=$(header ETag)
  for patch in '{"stage":"signed"}' "{\"signed_on\":\"$D30\"}" '{"id":1}' '{"code":"T-REC-renamed"}' '{"name":123}' \
    '{"name":null}' '{"unit_id":"5"}' '{"is_key":"true"}' '{"planned_investment_yuan":1.5}' \
    '{"planned_start_on":"2024-02-30"}' "{\"name\":\"$long201\"}" '{}' '{"created_at":"2024-01-01T00:00:00Z"}'; do
    api_json PATCH "/api/v1/projects/$p" "$BUREAU" "$patch" -H "If-Match: $etag"
    [ "$status" = 422 ] || { echo "PATCH $patch: $status $body" >&2; false; }
  done
  for patch in '{"name":"x"' '{"name":"a","name":"b"}' '{"name":"nul\u0000"}' '[]' 'null'; do
    api_json PATCH "/api/v1/projects/$p" "$BUREAU" "$patch" -H "If-Match: $etag"
    [ "$status" = 400 ] || { echo "PATCH $patch: $status $body" >&2; false; }
  done
  api_json PATCH "/api/v1/contracts/$c" "$BUREAU" '{"verified_by":1}' -H 'If-Match: "1"'
  refused 422 verified_by
  api_json PATCH "/api/v1/contracts/$c" "$BUREAU" '{"project_id":1}' -H 'If-Match: "1"'
  refused 422 project_id
  api GET "/api/v1/projects/$p" "$BUREAU"
  [ "$(header ETag)" = "$etag" ]
  [ "$(table_counts)" = "$before" ]
}

# ---- the server itself ----

@test "text filters leave no leak behind: crm exits cleanly after lists filtered by q and chain" {
  crm_start
  LOCAL_PID=$CRM_PID
  token=$(login rec.viewer 'Rec-viewer-2024')
  for q in "q=%E7%85%A4%E7%84%A6%E6%B2%B9" "chain=x" "q=abc&chain=y"; do
    api GET "/api/v1/projects?$q" "$token"
    [ "$status" = 200 ]
  done
  api GET "/api/v1/investors?q=abc&industry=x&uscc=y" "$token"
  [ "$status" = 200 ]
  api GET "/api/v1/interactions?q=abc" "$token"
  [ "$status" = 200 ]
  rc=0
  crm_stop || rc=$?
  LOCAL_PID=
  if grep -q 'LeakSanitizer' "$CRM_ERR"; then
    grep -v '^{' "$CRM_ERR" | head -n 30 >&2
    false
  fi
  [ "$rc" = 0 ]
}
