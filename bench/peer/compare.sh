#!/bin/bash
# compare.sh: sends the same requests to crm and to the peer and checks that
# they answer alike: status, the headers that carry meaning (Content-Type,
# ETag, Location, WWW-Authenticate, Allow, Retry-After) and the JSON body,
# after dropping request ids and what differs by nature (tokens, expiry, new
# ids and timestamps). Both must serve the same database holding the demo
# data (`crm migrate up --demo`, whose output, with the demo logins, is
# LOGINS), and share CRM_CURSOR_KEY for the cursor cases.
#
#   bench/peer/compare.sh http://127.0.0.1:8080 http://127.0.0.1:8090 migrate.out
#
# Prints one line per case and "pass=N fail=M"; exits 1 when a case differs.
# Allow is not compared on the 405/OPTIONS cases: crm lists its methods for
# a path, the peer its own (it serves only the benchmark's routes).
set -u
C=${1:?crm URL} P=${2:?peer URL} M=${3:?output of crm migrate up --demo}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

pw() { awk -v u=$1 '$2==u{print $3; exit}' $M; }
login() { curl -s -X POST -H 'Content-Type: application/json' -d "{\"username\":\"$2\",\"password\":\"$(pw $2)\"}" $1/api/v1/auth/login | jq -r .token; }
TA=$(login $C demo.admin); TX=$(login $P demo.xishe); TV=$(login $P demo.viewer); TL=$(login $C demo.leader)
pass=0 fail=0
# norm: drop request ids and volatile fields
NORM='walk(if type=="object" then del(.request_id) else . end)'
case_() { # name, jq-extra, curl args...
  local name=$1 extra=$2; shift 2
  local hc=$TMP/h.c hp=$TMP/h.p bc=$TMP/b.c bp=$TMP/b.p
  curl -s -D $hc -o $bc "$@" "${C}${URLPATH}" 2>/dev/null
  curl -s -D $hp -o $bp "$@" "${P}${URLPATH}"
  local hdr='^(HTTP/1.1|content-type|etag|location|www-authenticate|allow|retry-after)'
  [ -n "${NO_ALLOW:-}" ] && hdr='^(HTTP/1.1|content-type|etag|location|www-authenticate|retry-after)'
  local sc=$(grep -iE "$hdr" $hc | tr -d '\r' | tr 'A-Z' 'a-z' | sed -E 's#^(http/1.1 [0-9]+).*#\1#; s#(location: /api/v1/interactions/)[0-9]+#\1N#; s#etag: "[0-9]+"#etag: V#' | sort)
  local sp=$(grep -iE "$hdr" $hp | tr -d '\r' | tr 'A-Z' 'a-z' | sed -E 's#^(http/1.1 [0-9]+).*#\1#; s#(location: /api/v1/interactions/)[0-9]+#\1N#; s#etag: "[0-9]+"#etag: V#' | sort)
  local jc=$(jq -cS "$NORM $extra" $bc 2>/dev/null || cat $bc) jp=$(jq -cS "$NORM $extra" $bp 2>/dev/null || cat $bp)
  local raw=same; cmp -s <(sed -E 's/"request_id":"[^"]*"//' $bc) <(sed -E 's/"request_id":"[^"]*"//' $bp) || raw=differs
  if [ "$sc" == "$sp" ] && [ "$jc" == "$jp" ]; then pass=$((pass+1)); echo "ok   $name  [$(head -1 $hc | tr -d '\r')] bytes-$raw"
  else fail=$((fail+1)); echo "FAIL $name"; diff <(echo "$sc") <(echo "$sp") | sed 's/^/   hdr /'; [ "$jc" == "$jp" ] || { echo "   crm:  ${jc:0:400}"; echo "   peer: ${jp:0:400}"; }; fi
}
g() { URLPATH=$2; local n=$1 t=$3 e=${4:-}; shift $(( $# < 4 ? $# : 4 )); case_ "$n" "$e" ${t:+-H "Authorization: Bearer $t"} "$@"; }
J='Content-Type: application/json'
URLPATH=/healthz case_ healthz ''
URLPATH=/api/v1/auth/login case_ "login ok" '| del(.token,.expires_at)' -X POST -H "$J" -d "{\"username\":\"Demo.Bureau\",\"password\":\"$(pw demo.bureau)\"}"
URLPATH=/api/v1/auth/login case_ "login wrong" '' -X POST -H "$J" -d '{"username":"demo.bureau","password":"nope-nope-nope"}'
URLPATH=/api/v1/auth/login case_ "login unknown" '' -X POST -H "$J" -d '{"username":"nobody","password":"nope-nope-nope"}'
URLPATH=/api/v1/auth/login case_ "login 422" '' -X POST -H "$J" -d '{"username":1,"pass":"x"}'
URLPATH=/api/v1/auth/login case_ "login 400 not object" '' -X POST -H "$J" -d '[1]'
URLPATH=/api/v1/auth/login case_ "login 400 empty" '' -X POST -H "$J"
URLPATH=/api/v1/auth/login case_ "login 415" '' -X POST -H 'Content-Type: text/plain' -d '{}'
for t in TA TX TV TL; do T=${!t}
g "project 1 ($t)" /api/v1/projects/1 $T
g "project 12 ($t)" /api/v1/projects/12 $T
g "projects unit 3 ($t)" '/api/v1/projects?unit_id=3&limit=2' $T
g "projects all ($t)" '/api/v1/projects' $T
g "projects unit 5 key ($t)" '/api/v1/projects?unit_id=5&is_key=true&stage=started' $T
g "stats 3 ($t)" '/api/v1/stats/units/3?year=2024&as_of=2024-12-31' $T
g "stats 5 ($t)" '/api/v1/stats/units/5?year=2024' $T
done
g "project 404" /api/v1/projects/99999 $TA
g "project bad id" /api/v1/projects/01 $TA
g "project bad id dead token" /api/v1/projects/01 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
g "project dead token" /api/v1/projects/1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
g "project bad token" /api/v1/projects/1 'abc'
g "project no token" /api/v1/projects/1 ''
g "project token in query" '/api/v1/projects/1?token=x' $TA
g "projects limit 0" '/api/v1/projects?limit=0' $TA
g "projects limit 201" '/api/v1/projects?limit=201' $TA
g "projects unit x" '/api/v1/projects?unit_id=x' $TA
g "projects stage bad" '/api/v1/projects?stage=nope' $TA
g "projects year" '/api/v1/projects?year=2024&limit=3' $TA
g "projects q" '/api/v1/projects?q=%E7%85%A4&limit=3' $TA
g "projects bad cursor" '/api/v1/projects?cursor=abc' $TA
CUR=$(curl -s -H "Authorization: Bearer $TA" "$C/api/v1/projects?unit_id=3&limit=2" | jq -r .next_cursor)
g "projects crm cursor" "/api/v1/projects?unit_id=3&limit=2&cursor=$CUR" $TA
CUR=$(curl -s -H "Authorization: Bearer $TA" "$P/api/v1/projects?limit=5" | jq -r .next_cursor)
g "projects peer cursor" "/api/v1/projects?limit=5&cursor=$CUR" $TA
g "stats no year" '/api/v1/stats/units/3' $TA
g "stats year 1999" '/api/v1/stats/units/3?year=1999' $TA
g "stats bad as_of" '/api/v1/stats/units/3?year=2024&as_of=2024-02-30' $TA
g "stats 404" '/api/v1/stats/units/99999?year=2024' $TA
g "stats out of scope" '/api/v1/stats/units/3?year=2024' $TX
g "stats bad id" '/api/v1/stats/units/x?year=2024' $TA
B='{"unit_id":5,"project_id":null,"kind":"meeting","occurred_on":"2024-05-20","place":"县政府会议室","summary":"比较：与投资方洽谈","leader_ids":[7],"participants":["张三"]}'
VOL='| del(.id,.created_at,.updated_at,.created_by)'
B2='{"unit_id":5,"project_id":3,"kind":"meeting","occurred_on":"2024-05-20","place":"县政府会议室","summary":"比较：与投资方洽谈","leader_ids":[7],"participants":["张三"],"next_step_due":"2024-06-01"}'
g "create ok (admin)" /api/v1/interactions $TA "$VOL" -X POST -H "$J" -d "$B2"
g "create ok (xishe)" /api/v1/interactions $TX "$VOL" -X POST -H "$J" -d "$B2"
g "create ok (leader)" /api/v1/interactions $TL "$VOL" -X POST -H "$J" -d "$B2"
g "create (admin)" /api/v1/interactions $TA "$VOL" -X POST -H "$J" -d "$B"
g "create (xishe)" /api/v1/interactions $TX "$VOL" -X POST -H "$J" -d "$B"
g "create (leader)" /api/v1/interactions $TL "$VOL" -X POST -H "$J" -d "$B"
g "create (viewer) 403" /api/v1/interactions $TV "$VOL" -X POST -H "$J" -d "$B"
g "create xishe other unit" /api/v1/interactions $TX "$VOL" -X POST -H "$J" -d '{"unit_id":4,"kind":"call","occurred_on":"2024-05-20","summary":"x"}'
g "create 422" /api/v1/interactions $TA '' -X POST -H "$J" -d '{"unit_id":"5","kind":"lunch","occurred_on":"2024-13-01","zzz":1,"leader_ids":[0]}'
g "create 422 dead token" /api/v1/interactions AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA '' -X POST -H "$J" -d '{"unit_id":"5"}'
g "create 415" /api/v1/interactions $TA '' -X POST -H 'Content-Type: text/plain' -d "$B"
g "create fk" /api/v1/interactions $TA '' -X POST -H "$J" -d '{"unit_id":5,"project_id":999999,"kind":"call","occurred_on":"2024-05-20","summary":"x"}'
g "create bad unit" /api/v1/interactions $TA '' -X POST -H "$J" -d '{"unit_id":999999,"kind":"call","occurred_on":"2024-05-20","summary":"x"}'
NO_ALLOW=1 g "405" /api/v1/interactions $TA '' -X DELETE
g "404 path" /api/v1/nothing $TA ''
NO_ALLOW=1 g "OPTIONS" /api/v1/projects $TA '' -X OPTIONS
echo "pass=$pass fail=$fail"
[ "$fail" -eq 0 ]
