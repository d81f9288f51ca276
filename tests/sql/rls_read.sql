-- The read side of row-level security on every scoped table of the CRM
-- (issue 13, item 6), proven with pgTAP as the service's role crm_app: what
-- a SELECT without a WHERE returns, for callers of every kind of scope. It
-- adds to rls.sql (units, users, the audit log) and departments.sql.
--
-- Fixtures, made by crm_owner: one row of each table in each of four units
-- (a signed project with its contract and start claim, its investor and
-- contact, an interaction with a leader, a problem, a batch holding the
-- project), and the labels the assertions speak of:
--   C  稷山县 (sx.yc.js), the county itself
--   X  西社镇 (sx.yc.js.xishe), a town of it
--   H  化峪镇 (sx.yc.js.huayu), another town of it
--   N  a town of a neighbouring county made here (sx.yc.rlsr.town)
--   M  that neighbouring county (sx.yc.rlsr): its target and a score snapshot
-- Targets and quotas of 2031: C's and M's targets; quotas of X and H dividing
-- C's, and of N dividing M's. crm_app cannot read the target table at all:
-- targets_get and quotas_get read it, showing the targets and quotas of the
-- caller's subtree and those dividing a unit above it (api/openapi.yaml: a
-- town sees the county's target and its siblings' quotas beside its own),
-- and nothing of another county.
--
-- Callers come through auth_session, as the service makes them: a user of X,
-- a user of H, the county's admin, a bureau user of the county's investment
-- centre (a department: its scope is the county it serves), a viewer of the
-- city (a subtree holding two counties) and a user of N; and no caller at
-- all. For each, every table is read without a WHERE and the labels of the
-- rows it returns are compared with what its scope allows, sorted and joined
-- ("CHX"). Runs on the scratch database of tests/sql/run.sh (demo units
-- loaded); everything is rolled back.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(133);

-- ---- helpers (in pg_temp, and rolled back with the rest) ----

-- The label of fixture id of kind (test.<kind>_<label>), or '?' for a row
-- that is not a fixture.
CREATE FUNCTION pg_temp.lbl(p_kind text, p_id bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT l FROM unnest(ARRAY['C', 'X', 'H', 'N', 'M']) l
                      WHERE current_setting('test.' || p_kind || '_' || l, true) = p_id::text), '?')
$$;

-- The labels a query's single text column returns, sorted and joined; the
-- error, when it fails, so that the assertion shows it.
CREATE FUNCTION pg_temp.seen(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    EXECUTE format('SELECT coalesce(string_agg(l, '''' ORDER BY l), '''') FROM (%s) q (l)', p_sql) INTO r;
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    RETURN format('error %s: %s', SQLSTATE, SQLERRM);
END
$$;

-- Becomes the caller whose session token is repeat(p_hex, 32), as the
-- service does at the start of each request.
CREATE FUNCTION pg_temp.login(p_hex text) RETURNS bigint LANGUAGE sql AS $$
    SELECT unit_id FROM auth_session(decode(repeat(p_hex, 32), 'hex'), 'req-rls-read',
                                     ARRAY['admin', 'leader', 'bureau', 'unit', 'viewer'], 1800)
$$;

-- The fourteen reads of one caller: the eleven scoped tables read directly,
-- then the targets, quotas and score snapshots as their functions read them.
-- p_crm: the labels expected of the CRM tables; p_scores, p_targets,
-- p_quotas: of the snapshots, targets and quotas.
CREATE FUNCTION pg_temp.reads(p_who text, p_crm text, p_scores text, p_targets text, p_quotas text)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        (1, 'investor', 'SELECT pg_temp.lbl(''investor'', id) FROM investor'),
        (2, 'contact', 'SELECT pg_temp.lbl(''contact'', id) FROM contact'),
        (3, 'project', 'SELECT pg_temp.lbl(''project'', id) FROM project'),
        (4, 'interaction', 'SELECT pg_temp.lbl(''interaction'', id) FROM interaction'),
        (5, 'interaction_leader', 'SELECT pg_temp.lbl(''interaction'', interaction_id) FROM interaction_leader'),
        (6, 'problem', 'SELECT pg_temp.lbl(''problem'', id) FROM problem'),
        (7, 'batch', 'SELECT pg_temp.lbl(''batch'', id) FROM batch'),
        (8, 'batch_project', 'SELECT pg_temp.lbl(''batch'', batch_id) FROM batch_project'),
        (9, 'contract', 'SELECT pg_temp.lbl(''contract'', id) FROM contract'),
        (10, 'project_start', 'SELECT pg_temp.lbl(''start'', id) FROM project_start')) v (n, tbl, q)
        ORDER BY n
    LOOP
        RETURN NEXT is(pg_temp.seen(t.q), p_crm,
                       format('%s: SELECT FROM %s, no WHERE, returns the rows of "%s"', p_who, t.tbl, p_crm));
    END LOOP;
    RETURN NEXT is(pg_temp.seen('SELECT pg_temp.lbl(''unit'', unit_id) FROM score_snapshot'), p_scores,
                   format('%s: SELECT FROM score_snapshot, no WHERE, returns the rows of "%s"', p_who, p_scores));
    RETURN NEXT is(pg_temp.seen($q$SELECT pg_temp.lbl('unit', (i -> 'unit' ->> 'id')::bigint)
                                    FROM jsonb_array_elements(snapshots_list(2031, 1) -> 'items') i$q$),
                   p_scores, format('%s: snapshots_list(2031, 1) lists the snapshots of "%s"', p_who, p_scores));
    RETURN NEXT is(pg_temp.seen($q$SELECT pg_temp.lbl('unit', (t ->> 'unit_id')::bigint)
                                    FROM jsonb_array_elements(targets_get(2031) -> 'targets') t$q$),
                   p_targets, format('%s: targets_get(2031) returns the targets of "%s"', p_who, p_targets));
    RETURN NEXT is(pg_temp.seen($q$SELECT pg_temp.lbl('unit', (t ->> 'unit_id')::bigint)
                                    FROM jsonb_array_elements(quotas_get(2031, NULL) -> 'quotas') t$q$),
                   p_quotas, format('%s: quotas_get(2031) returns the quotas of "%s"', p_who, p_quotas));
END
$$;

-- ---- fixtures, as the owner ----

SELECT is(current_user::text, 'crm_owner', 'the fixtures are made by the owner role');

DO $$
DECLARE
    l text;
    v_unit bigint;
    v_id bigint;
    v_leader bigint;
BEGIN
    INSERT INTO unit (parent_id, code, name, kind)
    SELECT id, 'sx.yc.rlsr', '邻县', 'county' FROM unit WHERE code = 'sx.yc';
    INSERT INTO unit (parent_id, code, name, kind)
    SELECT id, 'sx.yc.rlsr.town', '邻县一镇', 'town' FROM unit WHERE code = 'sx.yc.rlsr';
    PERFORM set_config('test.unit_C', (SELECT u.id FROM unit u WHERE code = 'sx.yc.js')::text, true),
            set_config('test.unit_X', (SELECT u.id FROM unit u WHERE code = 'sx.yc.js.xishe')::text, true),
            set_config('test.unit_H', (SELECT u.id FROM unit u WHERE code = 'sx.yc.js.huayu')::text, true),
            set_config('test.unit_N', (SELECT u.id FROM unit u WHERE code = 'sx.yc.rlsr.town')::text, true),
            set_config('test.unit_M', (SELECT u.id FROM unit u WHERE code = 'sx.yc.rlsr')::text, true);

    -- The callers and their sessions (tokens repeat(hex, 32)).
    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    SELECT v.username, '', v.role, u.id, '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'
      FROM (VALUES ('rr.xishe', 'unit', 'sx.yc.js.xishe'), ('rr.huayu', 'unit', 'sx.yc.js.huayu'),
                   ('rr.admin', 'admin', 'sx.yc.js'), ('rr.bureau', 'bureau', 'sx.yc.js.invest'),
                   ('rr.city', 'viewer', 'sx.yc'), ('rr.town', 'unit', 'sx.yc.rlsr.town'),
                   ('rr.leader', 'leader', 'sx.yc.js'))
           AS v (username, role, code)
      JOIN unit u ON u.code = v.code;
    INSERT INTO session (token_hash, user_id, expires_at)
    SELECT decode(repeat(v.hex, 32), 'hex'), u.id, now() + interval '1 hour'
      FROM (VALUES ('a1', 'rr.xishe'), ('a2', 'rr.huayu'), ('a3', 'rr.admin'), ('a4', 'rr.bureau'),
                   ('a5', 'rr.city'), ('a6', 'rr.town')) AS v (hex, username)
      JOIN app_user u ON u.username = v.username;
    SELECT u.id INTO v_leader FROM app_user u WHERE u.username = 'rr.leader';

    -- One row of each table in each of C, X, H and N.
    FOREACH l IN ARRAY ARRAY['C', 'X', 'H', 'N'] LOOP
        v_unit := current_setting('test.unit_' || l)::bigint;
        INSERT INTO investor (unit_id, name) VALUES (v_unit, 'RLSR 客商 ' || l) RETURNING investor.id INTO v_id;
        PERFORM set_config('test.investor_' || l, v_id::text, true);
        INSERT INTO contact (investor_id, name) VALUES (v_id, 'RLSR 联系人 ' || l) RETURNING contact.id INTO v_id;
        PERFORM set_config('test.contact_' || l, v_id::text, true);
        INSERT INTO project (code, name, unit_id, investor_id, leader_id, planned_investment_yuan, stage)
        VALUES ('RLSR-' || l, 'RLSR 项目 ' || l, v_unit, current_setting('test.investor_' || l)::bigint,
                v_leader, 100000000, 'negotiating')
        RETURNING project.id INTO v_id;
        PERFORM set_config('test.project_' || l, v_id::text, true);
        INSERT INTO interaction (unit_id, project_id, kind, occurred_on, summary)
        VALUES (v_unit, v_id, 'meeting', DATE '2024-01-10', 'RLSR 洽谈 ' || l)
        RETURNING interaction.id INTO v_id;
        PERFORM set_config('test.interaction_' || l, v_id::text, true);
        INSERT INTO interaction_leader (interaction_id, leader_id) VALUES (v_id, v_leader);
        INSERT INTO problem (project_id, owner_unit_id, title, due_on)
        VALUES (current_setting('test.project_' || l)::bigint, v_unit, 'RLSR 问题 ' || l, DATE '2031-06-30')
        RETURNING problem.id INTO v_id;
        PERFORM set_config('test.problem_' || l, v_id::text, true);
        INSERT INTO batch (unit_id, kind, name, held_on)
        VALUES (v_unit, 'signing', 'RLSR 批次 ' || l, DATE '2024-01-15')
        RETURNING batch.id INTO v_id;
        PERFORM set_config('test.batch_' || l, v_id::text, true);
        INSERT INTO batch_project (batch_id, project_id) VALUES (v_id, current_setting('test.project_' || l)::bigint);
        INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
        VALUES (current_setting('test.project_' || l)::bigint, 'formal', 5000000, DATE '2024-01-12',
                'RLSR 合同 ' || l)
        RETURNING contract.id INTO v_id;
        PERFORM set_config('test.contract_' || l, v_id::text, true);
        PERFORM project_transition(current_setting('test.project_' || l)::bigint, 'signed', NULL, NULL);
        INSERT INTO project_start (project_id, started_on, evidence)
        VALUES (current_setting('test.project_' || l)::bigint, DATE '2024-02-01', 'RLSR 开工 ' || l)
        RETURNING project_start.id INTO v_id;
        PERFORM set_config('test.start_' || l, v_id::text, true);
    END LOOP;

    -- Score snapshots of January 2031 in C, X, H, N and M.
    INSERT INTO score_snapshot (year, month, unit_id, as_of, figures, score, rank)
    SELECT 2031, 1, current_setting('test.unit_' || s.lab)::bigint, DATE '2031-01-31', '{}', 50, 1
      FROM unnest(ARRAY['C', 'X', 'H', 'N', 'M']) s (lab);

    -- Targets of 2031: the two counties', and the quotas dividing them.
    INSERT INTO target (unit_id, year, parent_unit_id, signing_amount_yuan, signed_count, start_rate)
    VALUES (current_setting('test.unit_C')::bigint, 2031, NULL, 1000, 4, 0.5),
           (current_setting('test.unit_M')::bigint, 2031, NULL, 1000, 4, 0.5),
           (current_setting('test.unit_X')::bigint, 2031, current_setting('test.unit_C')::bigint, 600, 2, 0.5),
           (current_setting('test.unit_H')::bigint, 2031, current_setting('test.unit_C')::bigint, 400, 2, 0.5),
           (current_setting('test.unit_N')::bigint, 2031, current_setting('test.unit_M')::bigint, 1000, 4, 0.5);

    PERFORM set_config('test.settings', (SELECT count(*) FROM setting)::text, true),
            set_config('test.score_rules', (SELECT count(*) FROM score_rule)::text, true);
END
$$;

SELECT is(pg_temp.seen('SELECT pg_temp.lbl(''investor'', id) FROM investor'), 'CHNX',
          'the owner sees the investors of all four units (the fixtures are there)');
SELECT is(pg_temp.seen('SELECT pg_temp.lbl(''unit'', unit_id) FROM score_snapshot'), 'CHMNX',
          'the owner sees the snapshots of all five units');
SELECT is((SELECT count(*) FROM target WHERE year = 2031), 5::bigint, 'the owner sees the five targets of 2031');

SET LOCAL ROLE crm_app;

SELECT is(current_user::text, 'crm_app', 'the reads run as the app role crm_app');
SELECT ok(coalesce(c.relrowsecurity AND c.relforcerowsecurity, false),
          format('%s has row-level security enabled and forced', t.name))
  FROM unnest(ARRAY['investor', 'contact', 'project', 'interaction', 'interaction_leader', 'problem',
                    'batch', 'batch_project', 'contract', 'project_start', 'score_snapshot', 'target'])
       WITH ORDINALITY AS t (name, n)
  LEFT JOIN pg_class c ON c.oid = to_regclass('public.' || t.name)
 ORDER BY t.n;
SELECT throws_ok('SELECT * FROM target', '42501', 'permission denied for table target',
                 'crm_app cannot read the target table itself: targets are read through their functions');

-- ==== 1. no caller: nothing ====

SELECT is(crm_caller_unit(), NULL::bigint, 'no caller: crm.unit_id is not set');
SELECT pg_temp.reads('no caller', '', '', '', '');
SELECT is((SELECT count(*) FROM score_rule), 0::bigint, 'no caller: SELECT FROM score_rule returns nothing');
SELECT is((SELECT count(*) FROM setting), 0::bigint, 'no caller: SELECT FROM setting returns nothing');
SELECT throws_ok(format('SELECT unit_score(%s, 2031, NULL)', current_setting('test.unit_X')), 'CR404', 'no such unit',
                 'no caller: unit_score of 西社镇 is CR404');

-- ==== 2. a town's user: its own rows, none of another town's ====

SELECT is(pg_temp.login('a1'), current_setting('test.unit_X')::bigint, 'the 西社镇 user logs in');
SELECT pg_temp.reads('西社镇 user', 'X', 'X', 'C', 'HX');
SELECT is_empty(format('SELECT id FROM investor WHERE id = %s', current_setting('test.investor_H')),
                '西社镇 user: 化峪镇''s investor is not found even by its id');
SELECT is_empty(format('SELECT id FROM project WHERE unit_id = %s', current_setting('test.unit_H')),
                '西社镇 user: filtering on 化峪镇''s unit finds no project');
SELECT throws_ok(format('SELECT unit_score(%s, 2031, NULL)', current_setting('test.unit_H')), 'CR404', 'no such unit',
                 '西社镇 user: unit_score of 化峪镇 is CR404');
SELECT lives_ok(format('SELECT unit_score(%s, 2031, NULL)', current_setting('test.unit_X')),
                '西社镇 user: unit_score of its own town is answered');
SELECT is((SELECT count(*) FROM setting), current_setting('test.settings')::bigint,
          '西社镇 user: reads every setting (they are not scoped by unit)');
SELECT is((SELECT count(*) FROM score_rule), current_setting('test.score_rules')::bigint,
          '西社镇 user: reads every score rule (they are not scoped by unit)');

SELECT is(pg_temp.login('a2'), current_setting('test.unit_H')::bigint, 'the 化峪镇 user logs in');
SELECT pg_temp.reads('化峪镇 user', 'H', 'H', 'C', 'HX');

SELECT is(pg_temp.login('a6'), current_setting('test.unit_N')::bigint, 'the neighbouring county''s town user logs in');
SELECT pg_temp.reads('邻县一镇 user', 'N', 'N', 'M', 'N');

-- ==== 3. the county: its subtree, not its neighbour ====

SELECT is(pg_temp.login('a3'), current_setting('test.unit_C')::bigint, 'the county admin logs in');
SELECT pg_temp.reads('county admin', 'CHX', 'CHX', 'C', 'HX');

-- ==== 4. a department acts for the unit it serves ====

SELECT is(pg_temp.login('a4'), (SELECT u.id FROM unit u WHERE u.code = 'sx.yc.js.invest'),
          'the bureau user of the investment centre (a department) logs in');
SELECT is(crm_caller_unit(), current_setting('test.unit_C')::bigint, '... and its scope is the county');
SELECT pg_temp.reads('centre bureau user', 'CHX', 'CHX', 'C', 'HX');

-- ==== 5. the city: both counties ====

SELECT is(pg_temp.login('a5'), (SELECT u.id FROM unit u WHERE u.code = 'sx.yc'), 'the city viewer logs in');
SELECT pg_temp.reads('city viewer', 'CHNX', 'CHMNX', 'CM', 'HNX');

SELECT * FROM finish();
ROLLBACK;
