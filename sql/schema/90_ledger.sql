-- The project ledger (台账): its CSV import (POST /imports/projects, `crm import`) and its
-- CSV or XLSX export (GET /exports/projects.csv, .xlsx).
--
-- The CSV a county keeps in Excel is decoded, parsed and mapped to fields in C
-- (crm/io/ledger_csv.c) and arrives here as a JSON array of rows, one object per line of the
-- file: {"line": 7, "code": "...", "name": "...", "unit": "...", ...}, every value the cell's
-- text. The export is a JSON array that crm/io/ledger_export.c writes as CSV or XLSX.
--
-- Both run as the caller (SECURITY INVOKER; `crm import` runs as the owner, with no scope):
-- row-level security decides which units, investors and projects an import can see and
-- write, and which projects an export holds.
-- Only the names a row needs from outside the caller's scope (the county leader who is a
-- township project's 包联 leader, say) are looked up by the definer helpers below, which
-- answer only for projects and leaders the caller may see or assign.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- cells ----

-- The Chinese label of a stage, as ledgers write it.
CREATE OR REPLACE FUNCTION ledger_stage_label(p_stage text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_stage
        WHEN 'planned' THEN '谋划' WHEN 'lead' THEN '线索' WHEN 'negotiating' THEN '在谈'
        WHEN 'signed' THEN '签约' WHEN 'started' THEN '开工' WHEN 'in_production' THEN '投产'
        WHEN 'at_capacity' THEN '达产' WHEN 'stalled' THEN '停滞' WHEN 'terminated' THEN '终止'
    END
$$;

-- A stage from its Chinese label (a few common variants) or its English
-- name; NULL when the text names none.
CREATE OR REPLACE FUNCTION ledger_stage_parse(p_text text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN lower(btrim(p_text)) IN ('planned', 'lead', 'negotiating', 'signed', 'started',
                                      'in_production', 'at_capacity', 'stalled', 'terminated')
            THEN lower(btrim(p_text))
        WHEN btrim(p_text) IN ('谋划', '谋划中', '储备') THEN 'planned'
        WHEN btrim(p_text) IN ('线索', '信息', '项目线索') THEN 'lead'
        WHEN btrim(p_text) IN ('在谈', '洽谈', '洽谈中', '在谈中') THEN 'negotiating'
        WHEN btrim(p_text) IN ('签约', '已签约') THEN 'signed'
        WHEN btrim(p_text) IN ('开工', '已开工', '在建') THEN 'started'
        WHEN btrim(p_text) IN ('投产', '已投产') THEN 'in_production'
        WHEN btrim(p_text) IN ('达产', '已达产') THEN 'at_capacity'
        WHEN btrim(p_text) IN ('停滞', '停滞中') THEN 'stalled'
        WHEN btrim(p_text) IN ('终止', '流失', '已终止') THEN 'terminated'
    END
$$;

-- Exact yuan from an amount written in units of p_scale yuan (1, 1e4 for
-- 万元, 1e8 for 亿元): "1.04" 亿元 is 104000000. Thousands separators and a
-- currency sign are allowed. NULL when the text is not a positive amount
-- in whole yuan (zero, negative, finer than a yuan, too large, not a number).
CREATE OR REPLACE FUNCTION ledger_amount(p_text text, p_scale bigint) RETURNS bigint LANGUAGE plpgsql
IMMUTABLE AS $$
DECLARE
    t text := regexp_replace(p_text, '[ ,，¥￥]', '', 'g');
    n numeric;
BEGIN
    IF t !~ '^[0-9]{1,19}(\.[0-9]{1,12})?$' THEN
        RETURN NULL;
    END IF;
    n := t::numeric * p_scale;
    IF n <= 0 OR n <> trunc(n) OR n > 9223372036854775807 THEN
        RETURN NULL;
    END IF;
    RETURN n::bigint;
END
$$;

-- A date as Excel writes it: 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日
-- or 20240305. NULL when it is none of those or not a calendar date.
CREATE OR REPLACE FUNCTION ledger_date(p_text text) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    m text[] := coalesce(
        regexp_match(btrim(p_text), '^([0-9]{4}) *[-/.年] *([0-9]{1,2}) *[-/.月] *([0-9]{1,2}) *日?$'),
        regexp_match(btrim(p_text), '^([0-9]{4})([0-9]{2})([0-9]{2})$'));
    y int;
    mo int;
    d int;
BEGIN
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    y := m[1]::int;
    mo := m[2]::int;
    d := m[3]::int;
    IF y NOT BETWEEN 1900 AND 2200 OR mo NOT BETWEEN 1 AND 12 OR d < 1
       OR d > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
        RETURN NULL;
    END IF;
    RETURN make_date(y, mo, d);
END
$$;

-- A yes/no cell: 是/否 and the usual variants; NULL when neither.
CREATE OR REPLACE FUNCTION ledger_flag(p_text text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN lower(btrim(p_text)) IN ('是', '重点', '√', '✓', '✔', 'y', 'yes', 'true', '1') THEN true
        WHEN lower(btrim(p_text)) IN ('否', '非重点', '×', '✗', 'n', 'no', 'false', '0') THEN false
    END
$$;

-- ---- names from outside the caller's scope ----

-- Whether the session has no caller because it is not the service's (the
-- owner running `crm import` from the command line).
CREATE OR REPLACE FUNCTION ledger_owner_session() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT crm_caller_unit() IS NULL AND NOT pg_has_role(session_user, 'crm_app', 'MEMBER')
$$;

-- The enabled leaders a 包联 cell names, by display name or username, among
-- those the caller may assign: of the caller's unit, its subtree, or the
-- units above it (the county's leaders lead the townships' projects).
CREATE OR REPLACE FUNCTION ledger_leader_find(p_name text) RETURNS bigint[] LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(array_agg(u.id ORDER BY u.id), '{}')
      FROM app_user u JOIN unit un ON un.id = u.unit_id
     WHERE u.role = 'leader' AND NOT u.disabled
       AND (u.display_name = p_name OR u.username = p_name)
       AND (ledger_owner_session() OR crm_in_scope(un.path)
            OR un.id = ANY (crm_unit_path(crm_caller_unit())))
$$;

-- The investor's and the leader's names of a project the caller sees (the
-- investor may belong to a unit above the project's, the leader usually does).
CREATE OR REPLACE FUNCTION ledger_party_names(p_project bigint, OUT investor_name text, OUT leader_name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT i.name, l.name
      FROM project p
      LEFT JOIN investor i ON i.id = p.investor_id
      LEFT JOIN user_name l ON l.id = p.leader_id
     WHERE p.id = p_project AND (crm_in_scope(p.unit_path) OR ledger_owner_session())
$$;

-- ---- import ----

-- What a refused row is told: {field, message}, the field named as the
-- import's row keys name it. Messages PostgreSQL writes itself (they name
-- tables and constraints: a TABLE_NAME comes with them) are replaced by
-- plain ones; those of the rules (triggers, this file) are kept.
CREATE OR REPLACE FUNCTION ledger_error(p_state text, p_column text, p_constraint text, p_table text,
                             p_message text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    WITH f AS (
        SELECT CASE
            WHEN p_state = '42501' THEN 'unit'
            WHEN p_constraint = 'project_code_key' THEN 'code'
            WHEN p_constraint LIKE 'investor\_%' THEN 'investor'
            WHEN nullif(p_column, '') IS NOT NULL THEN p_column
            WHEN p_constraint LIKE 'project\_%\_check' THEN substr(p_constraint, 9, length(p_constraint) - 14)
        END AS field)
    SELECT jsonb_build_object(
        'field', CASE f.field WHEN 'unit_id' THEN 'unit' WHEN 'investor_id' THEN 'investor'
                              WHEN 'leader_id' THEN 'leader' ELSE f.field END,
        'message', CASE
            WHEN p_state = '42501' THEN 'is not a unit you can manage'
            WHEN p_constraint = 'project_code_key' THEN 'is already used by a project outside your scope'
            WHEN p_constraint = 'project_code_check' THEN
                'must be 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit'
            WHEN p_constraint IN ('project_name_check', 'investor_name_check') THEN 'must be 1 to 200 characters'
            WHEN p_constraint IN ('project_industry_chain_check', 'project_park_check') THEN
                'must be at most 100 characters'
            WHEN p_constraint = 'project_plan_check' THEN 'must be at most 4000 characters'
            WHEN nullif(p_table, '') IS NULL AND nullif(p_message, '') IS NOT NULL THEN p_message
            ELSE 'breaks a rule of the data'
        END)
      FROM f
$$;

-- Checks and stores one row: a new project (outcome 'created'), a change of
-- an existing one found by its code ('updated'), or nothing to change
-- ('unchanged'). Empty or absent cells leave a stored value as it is; the
-- stage is taken on creation only (谋划, 线索 or 在谈: later stages and the
-- lifecycle dates come with transitions). Units and leaders come from maps
-- of the file's distinct cells (ledger_lookups). Cells in error make the
-- outcome 'rejected' with their errors, and nothing is stored; what the
-- rules of the tables refuse while storing (triggers, constraints, row-level
-- security) is raised. Called by project_import only, under its search_path.
CREATE OR REPLACE FUNCTION ledger_import_row(r jsonb, p_repeats integer, p_units jsonb, p_leaders jsonb,
                                  OUT outcome text, OUT project_id bigint, OUT errors jsonb)
LANGUAGE plpgsql AS $$
DECLARE
    v_code text := nullif(btrim(r ->> 'code'), '');
    v_name text := nullif(btrim(r ->> 'name'), '');
    v_unit text := nullif(btrim(r ->> 'unit'), '');
    v_investor text := nullif(btrim(r ->> 'investor'), '');
    v_leader text := nullif(btrim(r ->> 'leader'), '');
    v_chain text := nullif(btrim(r ->> 'industry_chain'), '');
    v_park text := nullif(btrim(r ->> 'park'), '');
    v_plan text := nullif(btrim(r ->> 'plan'), '');
    v_key text := nullif(btrim(r ->> 'is_key'), '');
    v_start text := nullif(btrim(r ->> 'planned_start_on'), '');
    v_stage text := nullif(btrim(r ->> 'stage'), '');
    v_amount text;
    scale bigint;
    errs jsonb := '[]';
    p project;
    own record;  -- the project's investor and leader as its export names them
    found_id bigint;
    n_unit bigint;
    n_investor bigint;
    n_leader bigint;
    n_amount bigint;
    n_key boolean;
    n_start date;
    n_stage text;
BEGIN
    IF v_code IS NULL THEN
        errs := errs || jsonb_build_object('field', 'code', 'message', 'is required');
    ELSIF v_code !~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$' THEN
        errs := errs || jsonb_build_object('field', 'code', 'message',
            'must be 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit');
    ELSIF p_repeats IS NOT NULL THEN
        errs := errs || jsonb_build_object('field', 'code', 'message',
                                           format('repeats the code of line %s', p_repeats));
    ELSE
        SELECT * INTO p FROM project WHERE code = v_code FOR UPDATE;
    END IF;
    SELECT * INTO own FROM ledger_party_names(p.id);

    IF v_unit IS NOT NULL THEN
        found_id := (p_units ->> v_unit)::bigint;
        IF found_id = 0 THEN
            errs := errs || jsonb_build_object('field', 'unit', 'message', 'is not a unit you can manage');
        ELSIF found_id < 0 THEN
            errs := errs || jsonb_build_object('field', 'unit', 'message',
                                               'names several units; write the unit''s code');
        ELSE
            n_unit := found_id;
        END IF;
    ELSIF p.id IS NOT NULL THEN
        n_unit := p.unit_id;
    ELSIF crm_caller_role() = 'unit' THEN
        n_unit := crm_caller_unit();
    ELSIF v_code IS NOT NULL AND p_repeats IS NULL AND p.id IS NULL THEN
        errs := errs || jsonb_build_object('field', 'unit', 'message', 'is required for a new project');
    END IF;

    IF v_leader IS NOT NULL THEN
        found_id := (p_leaders ->> v_leader)::bigint;
        -- The project's own leader, named as the export writes them, stays
        -- even when no longer enabled: a ledger exported and imported back
        -- changes nothing.
        IF found_id = 0 AND own.leader_name = v_leader THEN
            found_id := p.leader_id;
        END IF;
        IF found_id = 0 THEN
            errs := errs || jsonb_build_object('field', 'leader', 'message',
                                               'is not an enabled leader you can assign');
        ELSIF found_id < 0 THEN
            errs := errs || jsonb_build_object('field', 'leader', 'message',
                                               'names several leaders; write the username');
        ELSE
            n_leader := found_id;
        END IF;
    END IF;

    -- The amount in yuan when given, else in 亿元, else in 万元.
    SELECT a.t, a.s INTO v_amount, scale
      FROM (VALUES (1, r ->> 'planned_investment_yuan', 1::bigint),
                   (2, r ->> 'planned_investment_yi', 100000000),
                   (3, r ->> 'planned_investment_wan', 10000)) a (o, t, s)
     WHERE nullif(btrim(a.t), '') IS NOT NULL ORDER BY a.o LIMIT 1;
    IF v_amount IS NOT NULL THEN
        n_amount := ledger_amount(v_amount, scale);
        IF n_amount IS NULL THEN
            errs := errs || jsonb_build_object('field', 'planned_investment_yuan', 'message', CASE scale
                WHEN 1 THEN 'must be a positive whole number of yuan'
                WHEN 10000 THEN 'must be a positive number of 万元, exact to the yuan (at most 4 decimals)'
                ELSE 'must be a positive number of 亿元, exact to the yuan (at most 8 decimals)' END);
        END IF;
    END IF;

    IF v_key IS NOT NULL THEN
        n_key := ledger_flag(v_key);
        IF n_key IS NULL THEN
            errs := errs || jsonb_build_object('field', 'is_key', 'message', 'must be 是 or 否');
        END IF;
    END IF;

    IF v_start IS NOT NULL THEN
        n_start := ledger_date(v_start);
        IF n_start IS NULL THEN
            errs := errs || jsonb_build_object('field', 'planned_start_on', 'message',
                                               'must be a date such as 2024-03-05 or 2024/3/5');
        END IF;
    END IF;

    IF p.id IS NULL AND v_code IS NOT NULL AND p_repeats IS NULL THEN
        IF v_name IS NULL THEN
            errs := errs || jsonb_build_object('field', 'name', 'message', 'is required for a new project');
        END IF;
        n_stage := coalesce(ledger_stage_parse(v_stage), CASE WHEN v_stage IS NULL THEN 'lead' END);
        IF n_stage IS NULL THEN
            errs := errs || jsonb_build_object('field', 'stage', 'message',
                                               'must be a stage: 谋划, 线索 or 在谈 for a new project');
        ELSIF n_stage NOT IN ('planned', 'lead', 'negotiating') THEN
            errs := errs || jsonb_build_object('field', 'stage', 'message',
                'a new project starts as 谋划, 线索 or 在谈; later stages come with transitions');
        END IF;
    END IF;

    errors := errs;
    IF jsonb_array_length(errs) > 0 THEN
        outcome := 'rejected';
        RETURN;
    END IF;

    -- The investor by name: the project's own when the row names it as the
    -- export writes it (it may belong to a unit above the caller's, which
    -- the caller cannot see: a ledger exported and imported back changes
    -- nothing), else one of the project's unit first; a new one in the
    -- project's unit when there is none.
    IF v_investor IS NOT NULL THEN
        IF own.investor_name = v_investor THEN
            n_investor := p.investor_id;
        ELSE
            SELECT i.id INTO n_investor FROM investor i WHERE i.name = v_investor
             ORDER BY i.unit_id = n_unit DESC, i.id LIMIT 1;
        END IF;
        IF n_investor IS NULL THEN
            INSERT INTO investor (unit_id, name, created_by)
            VALUES (n_unit, v_investor, crm_caller_user())
            RETURNING id INTO n_investor;
        END IF;
    END IF;

    IF p.id IS NULL THEN
        INSERT INTO project (code, name, unit_id, investor_id, leader_id, industry_chain, park,
                             planned_investment_yuan, is_key, plan, planned_start_on, stage, created_by)
        VALUES (v_code, v_name, n_unit, n_investor, n_leader, coalesce(v_chain, ''),
                coalesce(v_park, ''), n_amount, coalesce(n_key, false), coalesce(v_plan, ''), n_start,
                n_stage, crm_caller_user())
        RETURNING id INTO project_id;
        outcome := 'created';
        RETURN;
    END IF;

    project_id := p.id;
    UPDATE project SET name = coalesce(v_name, p.name), unit_id = n_unit,
           investor_id = coalesce(n_investor, p.investor_id),
           leader_id = coalesce(n_leader, p.leader_id),
           industry_chain = coalesce(v_chain, p.industry_chain), park = coalesce(v_park, p.park),
           planned_investment_yuan = coalesce(n_amount, p.planned_investment_yuan),
           is_key = coalesce(n_key, p.is_key), plan = coalesce(v_plan, p.plan),
           planned_start_on = coalesce(n_start, p.planned_start_on)
     WHERE id = p.id
       AND (name, unit_id, investor_id, leader_id, industry_chain, park, planned_investment_yuan,
            is_key, plan, planned_start_on)
           IS DISTINCT FROM
           (coalesce(v_name, p.name), n_unit,
            coalesce(n_investor, p.investor_id),
            coalesce(n_leader, p.leader_id), coalesce(v_chain, p.industry_chain),
            coalesce(v_park, p.park), coalesce(n_amount, p.planned_investment_yuan),
            coalesce(n_key, p.is_key), coalesce(v_plan, p.plan),
            coalesce(n_start, p.planned_start_on));
    outcome := CASE WHEN FOUND THEN 'updated' ELSE 'unchanged' END;
END
$$;

-- The units and the leaders the file's cells name, as maps from the cell's
-- text to an id: 0 when it names none the caller may use, -1 when it names
-- several. Looked up once per distinct cell, not once per row.
CREATE OR REPLACE FUNCTION ledger_lookups(rows jsonb, OUT units jsonb, OUT leaders jsonb)
LANGUAGE sql STABLE AS $$
    WITH cells AS (
        SELECT DISTINCT 'unit' AS kind, btrim(e ->> 'unit') AS v FROM jsonb_array_elements(rows) e
         WHERE nullif(btrim(e ->> 'unit'), '') IS NOT NULL
        UNION
        SELECT DISTINCT 'leader', btrim(e ->> 'leader') FROM jsonb_array_elements(rows) e
         WHERE nullif(btrim(e ->> 'leader'), '') IS NOT NULL),
    found AS (
        SELECT c.kind, c.v,
               CASE WHEN c.kind = 'leader' THEN ledger_leader_find(c.v)
                    ELSE coalesce((SELECT array_agg(u.id) FROM unit u WHERE u.code = c.v),
                                  (SELECT array_agg(u.id) FROM unit u WHERE u.name = c.v), '{}') END AS ids
          FROM cells c)
    SELECT coalesce(jsonb_object_agg(v, id) FILTER (WHERE kind = 'unit'), '{}'),
           coalesce(jsonb_object_agg(v, id) FILTER (WHERE kind = 'leader'), '{}')
      FROM (SELECT kind, v, CASE cardinality(ids) WHEN 0 THEN 0 WHEN 1 THEN ids[1] ELSE -1 END AS id
              FROM found) f
$$;

-- One row's entry in the report.
CREATE OR REPLACE FUNCTION ledger_report_row(r jsonb, p_outcome text, p_id bigint, p_errors jsonb)
RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('line', (r ->> 'line')::int, 'code', r ->> 'code', 'outcome', p_outcome,
                              'id', p_id, 'errors', coalesce(p_errors, '[]'))
$$;

-- Imports rows (see the top of this file) as the caller and returns the
-- report: {written, total, created, updated, unchanged, rejected, rows:
-- [{line, code, outcome, id, errors: [{field, message}]}]}. Each row is
-- stored or refused on its own. With all_or_nothing, one refused row undoes
-- every row's work (the outer block's subtransaction is rolled back) and the
-- report comes back all the same, with written false and no ids: the
-- outcomes then say what the file would have done. Errors other than a
-- row's own (a lost connection, a timeout, a bug) abort the whole statement.
--
-- Rows go in by chunks, each in one subtransaction; only a chunk in which
-- a rule of the tables refused a row is done again row by row, each row in
-- its own subtransaction, so that the others keep their work. (A
-- subtransaction per row costs as much as the row itself.)
CREATE OR REPLACE FUNCTION project_import(rows jsonb, all_or_nothing boolean) RETURNS jsonb
LANGUAGE plpgsql SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
    chunk constant int := 200;
    items jsonb[];
    repeats jsonb;
    units jsonb;
    leaders jsonb;
    report jsonb[] := '{}';
    part jsonb[];
    res record;
    written boolean := true;
    lo int := 1;
    hi int;
    st text;
    col text;
    con text;
    tbl text;
    msg text;
BEGIN
    IF jsonb_typeof(rows) IS DISTINCT FROM 'array' THEN
        RAISE invalid_parameter_value USING MESSAGE = 'the rows must be a JSON array';
    END IF;
    items := ARRAY(SELECT e FROM jsonb_array_elements(rows) e);
    -- A code written again on a later line: that line, and the first one.
    SELECT coalesce(jsonb_object_agg(d.line, d.first_line), '{}') INTO repeats
      FROM (SELECT e ->> 'line' AS line,
                   min((e ->> 'line')::int) OVER (PARTITION BY btrim(e ->> 'code')) AS first_line
              FROM jsonb_array_elements(rows) e
             WHERE nullif(btrim(e ->> 'code'), '') IS NOT NULL) d
     WHERE d.line::int <> d.first_line;
    SELECT l.units, l.leaders INTO units, leaders FROM ledger_lookups(rows) l;
    BEGIN
        WHILE lo <= cardinality(items) LOOP
            hi := least(lo + chunk - 1, cardinality(items));
            BEGIN
                part := '{}';
                FOR i IN lo .. hi LOOP
                    SELECT * INTO res FROM ledger_import_row(items[i], (repeats ->> (items[i] ->> 'line'))::int,
                                                             units, leaders);
                    part := array_append(part, ledger_report_row(items[i], res.outcome, res.project_id, res.errors));
                END LOOP;
            EXCEPTION WHEN data_exception OR integrity_constraint_violation OR insufficient_privilege THEN
                part := '{}';
                FOR i IN lo .. hi LOOP
                    BEGIN
                        SELECT * INTO res FROM ledger_import_row(items[i], (repeats ->> (items[i] ->> 'line'))::int,
                                                                 units, leaders);
                        part := array_append(part, ledger_report_row(items[i], res.outcome, res.project_id,
                                                                     res.errors));
                    EXCEPTION WHEN data_exception OR integrity_constraint_violation OR insufficient_privilege THEN
                        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME,
                                                con = CONSTRAINT_NAME, tbl = TABLE_NAME, msg = MESSAGE_TEXT;
                        part := array_append(part, ledger_report_row(items[i], 'rejected', NULL,
                                             jsonb_build_array(ledger_error(st, col, con, tbl, msg))));
                    END;
                END LOOP;
            END;
            report := report || part;
            lo := hi + 1;
        END LOOP;
        IF all_or_nothing AND EXISTS (SELECT 1 FROM unnest(report) e WHERE e ->> 'outcome' = 'rejected') THEN
            RAISE EXCEPTION 'import undone' USING ERRCODE = 'CR499';
        END IF;
    EXCEPTION WHEN SQLSTATE 'CR499' THEN
        written := false;
    END;
    RETURN (SELECT jsonb_build_object(
                'written', written, 'total', count(*),
                'created', count(*) FILTER (WHERE e ->> 'outcome' = 'created'),
                'updated', count(*) FILTER (WHERE e ->> 'outcome' = 'updated'),
                'unchanged', count(*) FILTER (WHERE e ->> 'outcome' = 'unchanged'),
                'rejected', count(*) FILTER (WHERE e ->> 'outcome' = 'rejected'),
                -- Nothing written: no row has an id.
                'rows', coalesce(jsonb_agg(CASE WHEN written THEN e ELSE e || '{"id": null}' END ORDER BY o),
                                 '[]'))
              FROM unnest(report) WITH ORDINALITY u (e, o));
END
$$;

-- ---- export ----

-- The ledger rows of the projects the caller sees, by code, with the
-- filters {unit_id (its subtree), stage, is_key} (all optional).
CREATE OR REPLACE FUNCTION projects_export(filters jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
    f_unit bigint := (filters ->> 'unit_id')::bigint;
    f_stage text := filters ->> 'stage';
    f_key boolean := (filters ->> 'is_key')::boolean;
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'code', p.code, 'name', p.name, 'unit_name', u.name,
                   'investor_name', n.investor_name, 'industry_chain', p.industry_chain,
                   'park', p.park, 'planned_investment_yuan', p.planned_investment_yuan,
                   'planned_investment_yi', trim_scale(p.planned_investment_yuan / 100000000.0)::text,
                   'is_key', p.is_key, 'leader_name', n.leader_name, 'stage', p.stage,
                   'stage_label', ledger_stage_label(p.stage), 'signed_on', p.signed_on,
                   'started_on', p.started_on, 'planned_start_on', p.planned_start_on,
                   'last_progress_on', (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date,
                   'plan', p.plan) ORDER BY p.code), '[]'::jsonb)
          FROM project p
          JOIN unit u ON u.id = p.unit_id
          LEFT JOIN LATERAL ledger_party_names(p.id) n ON true
         WHERE (f_unit IS NULL OR p.unit_path @> ARRAY[f_unit])
           AND (f_stage IS NULL OR p.stage = f_stage)
           AND (f_key IS NULL OR p.is_key = f_key));
END
$$;
