#!/usr/bin/env bats
# The project ledger (台账) in and out: CSV imports as Excel saves them
# (UTF-8 with and without a byte order mark, GB18030/GBK), upserts by code,
# the per-row report with line numbers and fields, all-or-nothing, scope;
# the CSV and XLSX exports with Chinese headers, limited to the caller's
# scope; and `crm import`.

load helpers

FIXTURES="$BATS_TEST_DIRNAME/../fixtures"

setup_file() {
  crm_env
  make_user import.admin admin sx.yc.js 'Import-admin-2024'
  make_user import.xishe unit sx.yc.js.xishe 'Import-xishe-2024'
  make_user import.viewer viewer sx.yc.js 'Import-viewer-2024'
  # The 包联 leader the fixtures name, by display name and by username.
  printf '%s\n' 'Import-leader-2024' | "$CRM_BIN" user add --username import.leader --role leader \
    --unit sx.yc.js --display-name 钱副县长 --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL" >/dev/null
  crm_start
  ADMIN=$(login import.admin 'Import-admin-2024')
  XISHE=$(login import.xishe 'Import-xishe-2024')
  VIEWER=$(login import.viewer 'Import-viewer-2024')
  export CRM_URL CRM_PID CRM_OUT CRM_ERR ADMIN XISHE VIEWER
}

teardown_file() {
  crm_stop
}

setup() {
  crm_env
}

# import TOKEN FILE [query] [content type]: POSTs FILE as CSV.
import() {
  api POST "/api/v1/imports/projects${3:-}" "$1" -H "Content-Type: ${4:-text/csv}" \
    --data-binary "@$2"
}

# export_csv TOKEN FILE [query]: the caller's ledger as CSV, into FILE.
export_csv() {
  curl -s -H "Authorization: Bearer $1" "$CRM_URL/api/v1/exports/projects.csv${3:-}" -o "$2"
}

project_count() {
  owner_sql "SELECT count(*) FROM project"
}

@test "a UTF-8 file with a byte order mark and a title line: created, then unchanged, then updated" {
  import "$ADMIN" "$FIXTURES/ledger_utf8_bom.csv"
  [ "$status" = 200 ] || { echo "$body"; false; }
  [ "$(jq -r '[.mode, .encoding, .written, .created, .updated, .rejected] | join(" ")' <<<"$body")" = "per_row UTF-8 true 3 0 0" ]
  # The title is line 1, the header line 2; the first row's plan runs over lines 3 and 4.
  [ "$(jq -c '[.rows[] | [.line, .code, .outcome]]' <<<"$body")" = '[[3,"IMP-B01","created"],[5,"IMP-B02","created"],[6,"IMP-B03","created"]]' ]
  [ "$(jq -r '.warnings[0]' <<<"$body")" = "The lines above the header (1 to 1) are not imported." ]
  [ "$(jq -r '.columns[] | select(.column == "计划投资(亿元)") | .field' <<<"$body")" = planned_investment_yi ]
  # 1.04 亿元 is exactly 104000000 yuan; the leader by display name and by username.
  [ "$(owner_sql "SELECT p.name, u.name, i.name, p.planned_investment_yuan, p.is_key, l.username,
                         p.planned_start_on, p.stage, p.plan
                    FROM project p JOIN unit u ON u.id = p.unit_id JOIN investor i ON i.id = p.investor_id
                    JOIN app_user l ON l.id = p.leader_id WHERE p.code = 'IMP-B01'")" = "西社镇高端铸造产业园项目|西社镇|山西晋铸科技有限公司|104000000|t|import.leader|2025-03-05|negotiating|三月完成土地摘牌，
四月开工" ]
  [ "$(owner_sql "SELECT planned_investment_yuan, stage, l.username FROM project p JOIN app_user l ON l.id = p.leader_id WHERE code = 'IMP-B03'")" = "200000000|planned|import.leader" ]
  [ "$(owner_sql "SELECT count(*) FROM investor WHERE name = '山西晋铸科技有限公司'")" = 1 ]

  import "$ADMIN" "$FIXTURES/ledger_utf8_bom.csv"
  [ "$status" = 200 ]
  [ "$(jq -r '[.created, .updated, .unchanged, .rejected] | join(" ")' <<<"$body")" = "0 0 3 0" ]
  [ "$(owner_sql "SELECT count(*) FROM investor WHERE name = '山西晋铸科技有限公司'")" = 1 ]

  # A changed amount and name update the project; its stage is not touched.
  sed -e 's/,1.04,/,1.2,/' -e 's/西社镇高端铸造产业园项目/西社镇高端铸造产业园（一期）项目/' -e 's/,在谈,/,投产,/' \
    "$FIXTURES/ledger_utf8_bom.csv" > "$BATS_TEST_TMPDIR/changed.csv"
  version=$(owner_sql "SELECT version FROM project WHERE code = 'IMP-B01'")
  import "$ADMIN" "$BATS_TEST_TMPDIR/changed.csv"
  [ "$status" = 200 ]
  [ "$(jq -r '[.created, .updated, .unchanged, .rejected] | join(" ")' <<<"$body")" = "0 1 2 0" ]
  [ "$(jq -r '.rows[0].outcome' <<<"$body")" = updated ]
  [ "$(owner_sql "SELECT name, planned_investment_yuan, stage, version FROM project WHERE code = 'IMP-B01'")" = "西社镇高端铸造产业园（一期）项目|120000000|negotiating|$((version + 1))" ]
}

@test "a UTF-8 file without a byte order mark, with header variants and an unknown column" {
  import "$ADMIN" "$FIXTURES/ledger_utf8.csv"
  [ "$status" = 200 ] || { echo "$body"; false; }
  [ "$(jq -r '[.encoding, .created, .rejected] | join(" ")' <<<"$body")" = "UTF-8 2 0" ]
  [ "$(jq -r '.warnings[]' <<<"$body")" = "The column '联系人' is not one the import knows; it is ignored." ]
  [ "$(jq -c '[.columns[] | .field]' <<<"$body")" = '["code","name","unit","investor","industry_chain","park","planned_investment_wan","is_key","leader","planned_start_on","stage",null]' ]
  # 52000.5 万元 is 520005000 yuan; 2025年7月1日 a date.
  [ "$(owner_sql "SELECT planned_investment_yuan, planned_start_on, industry_chain FROM project WHERE code = 'IMP-U01'")" = "520005000|2025-07-01|新能源" ]
}

@test "a GBK (GB18030) file imports with its Chinese text intact" {
  iconv -f UTF-8 -t GB18030 "$FIXTURES/ledger_gbk.utf8.csv" > "$BATS_TEST_TMPDIR/gbk.csv"
  # Really not UTF-8.
  if iconv -f UTF-8 -t UTF-8 "$BATS_TEST_TMPDIR/gbk.csv" >/dev/null 2>&1; then false; fi
  import "$ADMIN" "$BATS_TEST_TMPDIR/gbk.csv"
  [ "$status" = 200 ] || { echo "$body"; false; }
  [ "$(jq -r '[.encoding, .created, .rejected] | join(" ")' <<<"$body")" = "GB18030 2 0" ]
  id=$(jq -r '.rows[0].id' <<<"$body")
  api GET "/api/v1/projects/$id" "$ADMIN"
  [ "$status" = 200 ]
  [ "$(jq -r '[.code, .name, .unit_name, .investor_name, .industry_chain, .park, .plan] | join("|")' <<<"$body")" = "IMP-G01|翟店镇纺织服装产业园（二期）项目|翟店镇|山西锦绣纺织股份有限公司|纺织服装|翟店工业集聚区|签约前完成厂房设计、环评批复" ]
  [ "$(jq -r '.planned_investment_yuan' <<<"$body")" = 680000000 ]
  [ "$(owner_sql "SELECT name FROM project WHERE code = 'IMP-G02'")" = "翟店镇废旧物资循环利用项目" ]

  # A charset in Content-Type overrides the guess.
  import "$ADMIN" "$BATS_TEST_TMPDIR/gbk.csv" "" "text/csv; charset=GBK"
  [ "$status" = 200 ]
  [ "$(jq -r '[.encoding, .unchanged] | join(" ")' <<<"$body")" = "GB18030 2" ]
  import "$ADMIN" "$BATS_TEST_TMPDIR/gbk.csv" "" "text/csv; charset=utf-8"
  [ "$status" = 400 ]
}

@test "Excel's Unicode text (UTF-16, tab-separated, a title line) imports too" {
  printf '稷山县项目台账\r\n项目编号\t项目名称\t责任单位\t计划投资(元)\r\nIMP-W01\t太阳乡光伏项目\t太阳乡\t1,200,000\r\n' |
    iconv -f UTF-8 -t UTF-16 > "$BATS_TEST_TMPDIR/unicode.txt"
  import "$ADMIN" "$BATS_TEST_TMPDIR/unicode.txt"
  [ "$status" = 200 ] || { echo "$body"; false; }
  [ "$(jq -c '[.encoding, .created, .rows[0].line]' <<<"$body")" = '["UTF-16",1,3]' ]
  [ "$(owner_sql "SELECT name || '|' || planned_investment_yuan FROM project WHERE code = 'IMP-W01'")" = "太阳乡光伏项目|1200000" ]
}

@test "bad rows are reported with their lines and fields; all-or-nothing changes nothing" {
  before=$(project_count)
  investors=$(owner_sql "SELECT count(*) FROM investor")
  import "$ADMIN" "$FIXTURES/ledger_bad_rows.csv" "?mode=all_or_nothing"
  [ "$status" = 422 ] || { echo "$body"; false; }
  [ "$(header Content-Type)" = application/problem+json ]
  [ "$(jq -r '[.mode, .written, .rejected, .detail] | join("|")' <<<"$body")" = "all_or_nothing|false|7|7 of the rows were rejected, so nothing was imported." ]
  [ "$(project_count)" = "$before" ]
  [ "$(owner_sql "SELECT count(*) FROM investor")" = "$investors" ]
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code LIKE 'IMP-X%'")" = 0 ]
  [ "$(jq '[.rows[] | select(.id != null)] | length' <<<"$body")" = 0 ]

  # The same file row by row: the good rows go in, each bad one is named.
  import "$ADMIN" "$FIXTURES/ledger_bad_rows.csv"
  [ "$status" = 200 ]
  [ "$(jq -r '[.mode, .written, .created, .rejected] | join(" ")' <<<"$body")" = "per_row true 2 7" ]
  [ "$(project_count)" = "$((before + 2))" ]
  got=$(jq -r '.rows[] | "\(.line) \(.code) \(.outcome) \([.errors[] | "\(.field)/\(.column)"] | join(","))"' <<<"$body")
  expected="2 IMP-X01 created 
4 IMP-X02 rejected planned_investment_yuan/计划投资(亿元)
5 IMP-X03 rejected name/项目名称
6 IMP-X04 rejected unit/责任单位
7 IMP-X05 rejected planned_start_on/计划开工日期
8 IMP-X06 rejected stage/项目阶段
9 IMP-X01 rejected code/项目编号
11 IMP-X07 created 
12 IMP-X08 rejected leader/包联领导,is_key/重点项目"
  [ "$got" = "$expected" ] || { diff <(echo "$expected") <(echo "$got"); false; }
  [ "$(jq -r '.rows[] | select(.line == 9) | .errors[0].message' <<<"$body")" = "repeats the code of line 2" ]
  [ "$(jq -r '.rows[] | select(.line == 4) | .errors[0].message' <<<"$body")" = "must be a positive number of 亿元, exact to the yuan (at most 8 decimals)" ]
  [ "$(owner_sql "SELECT plan FROM project WHERE code = 'IMP-X01'")" = "一期：康养中心
二期：文旅街区" ]
}

@test "a township user imports into its own township only" {
  import "$ADMIN" "$FIXTURES/ledger_utf8.csv"  # IMP-U01, of 化峪镇
  cat > "$BATS_TEST_TMPDIR/township.csv" <<'EOF'
项目编号,项目名称,责任单位,计划投资(亿元)
IMP-T01,西社镇自有项目,,0.5
IMP-T02,化峪镇的项目,化峪镇,0.5
IMP-T03,西社镇明确单位项目,西社镇,0.5
IMP-U01,改别人的项目,,9
EOF
  import "$XISHE" "$BATS_TEST_TMPDIR/township.csv"
  [ "$status" = 200 ] || { echo "$body"; false; }
  [ "$(jq -c '[.rows[] | [.line, .outcome]]' <<<"$body")" = '[[2,"created"],[3,"rejected"],[4,"created"],[5,"rejected"]]' ]
  [ "$(jq -r '.rows[1].errors[0] | "\(.field) \(.message)"' <<<"$body")" = "unit is not a unit you can manage" ]
  # IMP-U01 belongs to 化峪镇: its code is taken, the project stays as it was.
  [ "$(jq -r '.rows[3].errors[0] | "\(.field) \(.message)"' <<<"$body")" = "code is already used by a project outside your scope" ]
  [ "$(owner_sql "SELECT u.code FROM project p JOIN unit u ON u.id = p.unit_id WHERE p.code = 'IMP-T01'")" = sx.yc.js.xishe ]
  [ "$(owner_sql "SELECT count(*) FROM project WHERE code = 'IMP-T02'")" = 0 ]
  [ "$(owner_sql "SELECT planned_investment_yuan FROM project WHERE code = 'IMP-U01'")" = 520005000 ]
  # The created_by of an import is the caller.
  [ "$(owner_sql "SELECT u.username FROM project p JOIN app_user u ON u.id = p.created_by WHERE p.code = 'IMP-T01'")" = import.xishe ]
}

@test "files that cannot be imported: 400, 415 or 422 naming what is wrong; viewers may not" {
  before=$(project_count)
  import "$VIEWER" "$FIXTURES/ledger_utf8.csv"
  [ "$status" = 403 ]
  head -c 4096 /dev/urandom > "$BATS_TEST_TMPDIR/random.bin"
  import "$ADMIN" "$BATS_TEST_TMPDIR/random.bin"
  [ "$status" = 400 ]
  printf 'PK\003\004rest of a workbook' > "$BATS_TEST_TMPDIR/book.xlsx"
  import "$ADMIN" "$BATS_TEST_TMPDIR/book.xlsx"
  [ "$status" = 400 ]
  [[ "$(jq -r .detail <<<"$body")" == *"Excel workbook"* ]]
  printf '项目名称,责任单位\n某项目,西社镇\n' > "$BATS_TEST_TMPDIR/nocode.csv"
  import "$ADMIN" "$BATS_TEST_TMPDIR/nocode.csv"
  [ "$status" = 422 ]
  [ "$(jq -c '.errors' <<<"$body")" = '[{"field":"code","column":"项目编号","message":"the column is missing"}]' ]
  printf 'a,b\n1,2\n' > "$BATS_TEST_TMPDIR/noheader.csv"
  import "$ADMIN" "$BATS_TEST_TMPDIR/noheader.csv"
  [ "$status" = 422 ]
  [[ "$(jq -r .detail <<<"$body")" == *"项目编号"* ]]
  printf '项目编号,项目名称\nIMP-Q1,"未闭合的引号\n' > "$BATS_TEST_TMPDIR/open.csv"
  import "$ADMIN" "$BATS_TEST_TMPDIR/open.csv"
  [ "$status" = 400 ]
  [ "$(jq -r .detail <<<"$body")" = "A quoted cell in the row that begins on line 2 is never closed." ]
  import "$ADMIN" "$FIXTURES/ledger_utf8.csv" "" application/json
  [ "$status" = 415 ]
  import "$ADMIN" "$FIXTURES/ledger_utf8.csv" "?mode=sometimes"
  [ "$status" = 400 ]
  import "$ADMIN" "$FIXTURES/ledger_utf8.csv" "" "text/csv; charset=latin1"
  [ "$status" = 400 ]
  [ "$(project_count)" = "$before" ]
}

@test "the CSV export: byte order mark, Chinese headers, the caller's projects only; it imports back unchanged" {
  import "$ADMIN" "$FIXTURES/ledger_utf8_bom.csv"
  import "$ADMIN" "$FIXTURES/ledger_utf8.csv"
  api GET /api/v1/exports/projects.csv "$XISHE"
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = "text/csv; charset=utf-8" ]
  [[ "$(header Content-Disposition)" == 'attachment; filename="projects.csv"'* ]]
  file="$BATS_TEST_TMPDIR/xishe.csv"
  export_csv "$XISHE" "$file"
  [ "$(head -c 3 "$file" | od -An -tx1 | tr -d ' ')" = efbbbf ]
  head -n 1 "$file" | grep -q '"项目编号","项目名称","责任单位","投资方"'
  head -n 1 "$file" | grep -q '"计划投资(元)","计划投资(亿元)","重点项目","包联领导","项目阶段"'
  # Every project of 西社镇 is there, none of another township's.
  for code in $(owner_sql "SELECT code FROM project WHERE unit_path @> ARRAY[$(unit_id sx.yc.js.xishe)]"); do
    grep -qF "\"$code\"" "$file" || { echo "missing $code"; false; }
  done
  for code in $(owner_sql "SELECT code FROM project WHERE NOT unit_path @> ARRAY[$(unit_id sx.yc.js.xishe)]"); do
    if grep -qF "\"$code\"" "$file"; then echo "leaked $code"; false; fi
  done
  grep -qF '"IMP-B01","西社镇高端铸造产业园' "$file"
  grep -qF '"钱副县长"' "$file"  # a county leader, outside the township's scope, by name

  # Filters: the county's export of one unit's subtree.
  export_csv "$ADMIN" "$BATS_TEST_TMPDIR/huayu.csv" "?unit_id=$(unit_id sx.yc.js.huayu)"
  grep -qF '"IMP-U01"' "$BATS_TEST_TMPDIR/huayu.csv"
  if grep -qF '"IMP-B01"' "$BATS_TEST_TMPDIR/huayu.csv"; then false; fi
  api GET "/api/v1/exports/projects.csv?stage=nonsense" "$ADMIN"
  [ "$status" = 400 ]

  # The whole county's ledger goes back in without a change.
  export_csv "$ADMIN" "$BATS_TEST_TMPDIR/all.csv"
  import "$ADMIN" "$BATS_TEST_TMPDIR/all.csv"
  [ "$status" = 200 ]
  [ "$(jq -r '[.created, .updated, .rejected, (.warnings | length)] | join(" ")' <<<"$body")" = "0 0 0 0" ]
  [ "$(jq -r .unchanged <<<"$body")" = "$(project_count)" ]

  # So does a township's, a project of which has the county's investor, which
  # the township cannot see, and a namesake of it in the township (made by
  # another import, say): the project keeps its own, and no investor is made.
  inv=$(owner_sql "INSERT INTO investor (unit_id, name) VALUES ($(unit_id sx.yc.js), '县属平台 IMP-B01')
                   RETURNING id" | head -n 1)
  owner_sql "INSERT INTO investor (unit_id, name) VALUES ($(unit_id sx.yc.js.xishe), '县属平台 IMP-B01')" >/dev/null
  owner_sql "UPDATE project SET investor_id = $inv WHERE code = 'IMP-B01'" >/dev/null
  investors=$(owner_sql "SELECT count(*) FROM investor")
  export_csv "$XISHE" "$file"
  grep -qF '"IMP-B01","西社镇高端铸造产业园' "$file"
  grep -qF '"县属平台 IMP-B01"' "$file"
  import "$XISHE" "$file"
  [ "$status" = 200 ]
  [ "$(jq -r '[.created, .updated, .rejected, (.warnings | length)] | join(" ")' <<<"$body")" = "0 0 0 0" ] ||
    { echo "$body"; false; }
  [ "$(owner_sql "SELECT investor_id FROM project WHERE code = 'IMP-B01'")" = "$inv" ]
  [ "$(owner_sql "SELECT count(*) FROM investor")" = "$investors" ]
  # The county's too: its own investor, not the township's namesake.
  export_csv "$ADMIN" "$BATS_TEST_TMPDIR/all.csv"
  import "$ADMIN" "$BATS_TEST_TMPDIR/all.csv"
  [ "$(jq -r '[.created, .updated, .rejected] | join(" ")' <<<"$body")" = "0 0 0" ] || { echo "$body"; false; }
  [ "$(owner_sql "SELECT investor_id FROM project WHERE code = 'IMP-B01'")" = "$inv" ]
}

@test "the XLSX export is a workbook with the Chinese headers" {
  import "$ADMIN" "$FIXTURES/ledger_utf8_bom.csv"
  file="$BATS_TEST_TMPDIR/ledger.xlsx"
  api GET /api/v1/exports/projects.xlsx "$VIEWER"
  [ "$status" = 200 ]
  [ "$(header Content-Type)" = application/vnd.openxmlformats-officedocument.spreadsheetml.sheet ]
  [[ "$(header Content-Disposition)" == 'attachment; filename="projects.xlsx"'* ]]
  curl -s -H "Authorization: Bearer $VIEWER" "$CRM_URL/api/v1/exports/projects.xlsx" -o "$file"
  [ "$(head -c 2 "$file")" = PK ]
  unzip -p "$file" xl/sharedStrings.xml | grep -q '<t>项目编号</t>'
  unzip -p "$file" xl/sharedStrings.xml | grep -q '西社镇高端铸造产业园'
  unzip -p "$file" xl/workbook.xml | grep -q '项目台账'
}

@test "crm import: the same report from the command line, exit 1 when a row is rejected" {
  iconv -f UTF-8 -t GB18030 "$FIXTURES/ledger_gbk.utf8.csv" > "$BATS_TEST_TMPDIR/gbk.csv"
  sed 's/IMP-G0/IMP-C0/' "$FIXTURES/ledger_gbk.utf8.csv" | iconv -f UTF-8 -t GB18030 > "$BATS_TEST_TMPDIR/cli.csv"
  run "$CRM_BIN" import "$BATS_TEST_TMPDIR/cli.csv" --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL"
  [ "$status" = 0 ] || { echo "$output"; false; }
  [[ "$output" == *"GB18030, 2 rows"* ]]
  [[ "$output" == *"2 created, 0 updated, 0 unchanged, 0 rejected"* ]]
  [ "$(owner_sql "SELECT name FROM project WHERE code = 'IMP-C01'")" = "翟店镇纺织服装产业园（二期）项目" ]
  # Without a caller the projects have no creator.
  [ "$(owner_sql "SELECT created_by IS NULL FROM project WHERE code = 'IMP-C01'")" = t ]

  sed 's/IMP-X/IMP-Y/' "$FIXTURES/ledger_bad_rows.csv" > "$BATS_TEST_TMPDIR/bad.csv"
  before=$(project_count)
  run "$CRM_BIN" import "$BATS_TEST_TMPDIR/bad.csv" --all-or-nothing --json \
    --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL"
  [ "$status" = 1 ]
  [ "$(jq -r '[.written, .rejected, .mode] | join(" ")' <<<"$output")" = "false 7 all_or_nothing" ]
  [ "$(project_count)" = "$before" ]
  run "$CRM_BIN" import "$BATS_TEST_TMPDIR/bad.csv" \
    --database-url "$CRM_DATABASE_URL" --migrate-database-url "$CRM_MIGRATE_DATABASE_URL"
  [ "$status" = 1 ]
  [[ "$output" == *"line 4      IMP-Y02"*"rejected"* ]]
  [[ "$output" == *"计划投资(亿元): must be a positive number"* ]]
  [ "$(project_count)" = "$((before + 2))" ]

  run "$CRM_BIN" import "$BATS_TEST_TMPDIR/missing.csv" --database-url "$CRM_DATABASE_URL" \
    --migrate-database-url "$CRM_MIGRATE_DATABASE_URL"
  [ "$status" = 1 ]
  run "$CRM_BIN" import
  [ "$status" = 2 ]
}
