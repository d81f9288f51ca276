-- The project lifecycle rules of DESIGN.md section 3, proven with pgTAP (run by
-- tests/sql/run.sh on a scratch database: migrations applied, demo units
-- loaded). Each rule has tests that try to break it through SQL as the
-- service's role crm_app, and fail to.
--
-- Runs as crm_owner, which makes the fixtures (users of the county and of
-- 西社镇, an investor, projects in their starting stages), then switches to
-- crm_app with SET LOCAL ROLE and plays callers by setting crm.user_id,
-- crm.unit_id and crm.role, as auth_session does: mostly a bureau user of the
-- county. Each refused change is checked twice: it throws the expected
-- SQLSTATE and message, and the row (read as the owner) is unchanged.
-- Fixture ids travel in the transaction-local settings test.*; dates are
-- relative to crm_today(); everything is rolled back at the end.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(220);

-- ---- helpers (in pg_temp, and rolled back with the rest) ----

\ir lib/helpers.sql

-- Plays a fixture user (test.u_<who>, with its unit and role), as
-- auth_session would set the caller.
CREATE PROCEDURE pg_temp.act_as_fixture(p_who text) LANGUAGE plpgsql AS $$
BEGIN
    CALL pg_temp.act_as(current_setting('test.u_' || p_who), current_setting('test.n_' || p_who),
                        current_setting('test.r_' || p_who), 'req-' || p_who);
END
$$;

-- The rows of a query as the owner sees them (every row, whatever the
-- caller), as one jsonb array: the "before" and "after" of a refused change.
CREATE FUNCTION pg_temp.state(p_sql text) RETURNS jsonb LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    r jsonb;
BEGIN
    EXECUTE format('SELECT coalesce(jsonb_agg(to_jsonb(q)), ''[]'') FROM (%s) q', p_sql) INTO r;
    RETURN r;
END
$$;

-- A probe for pg_temp.state: the whole row of a project / contract / start.
CREATE FUNCTION pg_temp.row_of(p_table text, p_name text) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT format('SELECT * FROM %I WHERE id = %s', p_table, pg_temp.id(p_name)) $$;

-- Two assertions: the statement throws errcode (and errmsg, unless NULL),
-- and the probe's rows are the same after it as before.
CREATE FUNCTION pg_temp.refused(p_sql text, p_errcode char(5), p_errmsg text, p_probe text,
                                p_descr text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    before jsonb := pg_temp.state(p_probe);
BEGIN
    RETURN NEXT throws_ok(p_sql, p_errcode, p_errmsg, p_descr);
    RETURN NEXT is(pg_temp.state(p_probe), before, p_descr || ': nothing changed');
END
$$;

-- Reports a claim as the caller and keeps its id in test.<p_name>.
CREATE FUNCTION pg_temp.report_contract(p_name text, p_project text, p_kind text, p_amount bigint,
                                        p_on date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cid bigint;
BEGIN
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
    VALUES (pg_temp.id(p_project), p_kind, p_amount, p_on, '合同扫描件 ' || p_name)
    RETURNING id INTO cid;
    PERFORM set_config('test.' || p_name, cid::text, true);
    RETURN cid;
END
$$;

CREATE FUNCTION pg_temp.report_start(p_name text, p_project text, p_on date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
BEGIN
    INSERT INTO project_start (project_id, started_on, evidence)
    VALUES (pg_temp.id(p_project), p_on, '开工照片 ' || p_name)
    RETURNING id INTO sid;
    PERFORM set_config('test.' || p_name, sid::text, true);
    RETURN sid;
END
$$;

-- ---- fixtures, as the owner ----

SELECT is(current_user::text, 'crm_owner', 'the fixtures are made by the owner role');

DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    r record;
    pid bigint;
    inv bigint;
BEGIN
    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    SELECT v.username, v.display_name, v.role, u.id, hash
      FROM (VALUES ('life.bureau',  '招商局 甲', 'bureau', 'sx.yc.js'),
                   ('life.bureau2', '招商局 乙', 'bureau', 'sx.yc.js'),
                   ('life.leader',  '县领导',    'leader', 'sx.yc.js'),
                   ('life.viewer',  '考核办',    'viewer', 'sx.yc.js'),
                   ('life.xishe',   '西社镇',    'unit',   'sx.yc.js.xishe'))
           AS v (username, display_name, role, code)
      JOIN unit u ON u.code = v.code;
    FOR r IN SELECT split_part(username, '.', 2) AS k, id, unit_id, role FROM app_user
              WHERE username LIKE 'life.%' LOOP
        PERFORM set_config('test.u_' || r.k, r.id::text, true),
                set_config('test.n_' || r.k, r.unit_id::text, true),
                set_config('test.r_' || r.k, r.role, true);
    END LOOP;
    PERFORM set_config('test.county', (SELECT id FROM unit WHERE code = 'sx.yc.js')::text, true),
            set_config('test.xishe', (SELECT id FROM unit WHERE code = 'sx.yc.js.xishe')::text, true),
            set_config('test.huayu', (SELECT id FROM unit WHERE code = 'sx.yc.js.huayu')::text, true);

    INSERT INTO investor (unit_id, name, origin_region, industry, chain_role)
    VALUES (pg_temp.id('county'), '山西某新材料有限公司', '太原', '新材料', 'chain_leader')
    RETURNING id INTO inv;
    PERFORM set_config('test.investor', inv::text, true);

    -- Every project has what signing needs (unit, leader, investor, amount);
    -- the tests take it away where that is the point.
    FOR r IN SELECT * FROM (VALUES
            ('main',        'planned',     'county'),  -- the way up, step by step
            ('sign',        'negotiating', 'county'),  -- signed only with a formal contract
            ('r4_unit',     'negotiating', 'county'),  -- rule 4, one project per missing fact
            ('r4_leader',   'negotiating', 'county'),
            ('r4_investor', 'negotiating', 'county'),
            ('r4_amount',   'negotiating', 'county'),
            ('r4_role',     'negotiating', 'county'),
            ('p5',          'negotiating', 'county'),  -- a verified claim
            ('p6',          'negotiating', 'xishe'),   -- who verifies
            ('term',        'lead',        'county'),  -- terminated
            ('stall',       'lead',        'county'),  -- stalled and resumed
            ('idle',        'negotiating', 'county'),  -- project_mark_stalled()
            ('huayu',       'negotiating', 'huayu'),   -- another town's project
            ('h_stall',     'negotiating', 'county'),  -- stalled_from rewritten
            ('h_dates',     'negotiating', 'county'),  -- dates rewritten with a stall
            ('h_start',     'negotiating', 'county'),  -- signed_on rewritten when starting
            ('h_delete',    'negotiating', 'county'),  -- the formal contract deleted
            ('h_kind',      'negotiating', 'county'),  -- ... turned into an intent
            ('h_cdate',     'negotiating', 'county'))  -- ... re-dated
            AS v (k, stage, unit) LOOP
        INSERT INTO project (code, name, unit_id, investor_id, leader_id, planned_investment_yuan, stage)
        VALUES ('T-' || r.k, '测试项目 ' || r.k, pg_temp.id(r.unit), inv, pg_temp.id('u_leader'),
                500000000, r.stage)
        RETURNING id INTO pid;
        PERFORM set_config('test.p_' || r.k, pid::text, true);
    END LOOP;

    -- Formal contracts reported by the bureau user (the owner has no caller,
    -- so the reporter is given), 30 days ago: rule 4's projects lack only the
    -- fact under test; the h_* projects are signed by the owner.
    FOR r IN SELECT unnest(ARRAY['r4_unit', 'r4_leader', 'r4_investor', 'r4_amount', 'r4_role',
                                 'h_stall', 'h_dates', 'h_start', 'h_delete', 'h_kind', 'h_cdate']) AS k LOOP
        INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by)
        VALUES (pg_temp.id('p_' || r.k), 'formal', 500000000, crm_today() - 30, '正式合同', pg_temp.id('u_bureau'))
        RETURNING id INTO pid;
        PERFORM set_config('test.c_' || r.k, pid::text, true);
    END LOOP;
    FOR r IN SELECT unnest(ARRAY['h_dates', 'h_start', 'h_delete', 'h_kind', 'h_cdate']) AS k LOOP
        PERFORM project_transition(pg_temp.id('p_' || r.k), 'signed', NULL, NULL);
    END LOOP;
    INSERT INTO project_start (project_id, started_on, evidence, reported_by)
    VALUES (pg_temp.id('p_h_start'), crm_today() - 20, '开工照片', pg_temp.id('u_bureau'));
END
$$;

SELECT is(pg_temp.state($$SELECT stage, signed_on FROM project WHERE code IN ('T-h_dates', 'T-h_start', 'T-h_delete', 'T-h_kind', 'T-h_cdate')$$),
          (SELECT jsonb_agg(jsonb_build_object('stage', 'signed', 'signed_on', crm_today() - 30)) FROM generate_series(1, 5)),
          'fixtures: the h_* projects are signed, on the date of their formal contract');

SET LOCAL ROLE crm_app;
CALL pg_temp.act_as_fixture('bureau');
SELECT is(current_user::text, 'crm_app', 'the tests run as the app role crm_app, as a bureau user of the county');

-- ==== 1. no stage is skipped on the way up ====

SELECT * FROM pg_temp.refused($$INSERT INTO project (code, name, unit_id, investor_id, leader_id, planned_investment_yuan, stage)
                                VALUES ('T-born-signed', '生而签约', pg_temp.id('county'), pg_temp.id('investor'),
                                        pg_temp.id('u_leader'), 100000000, 'signed')$$,
                              '23514', 'a new project starts as planned, lead or negotiating',
                              $$SELECT * FROM project WHERE code = 'T-born-signed'$$,
                              'rule 1: INSERT of a project already signed is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'negotiating' WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'planned cannot jump to negotiating: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: UPDATE planned -> negotiating is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_main'), 'lead', NULL, NULL)$$,
                'rule 1: project_transition planned -> lead works');
SELECT is((SELECT stage FROM project WHERE id = pg_temp.id('p_main')), 'lead', '... and the project is a lead');
-- A formal contract already exists: only the skipped stage stands in the way.
SELECT ok(pg_temp.report_contract('c_main', 'p_main', 'formal', 800000000, crm_today() - 40) IS NOT NULL,
          'the bureau reports a formal contract of the lead, 40 days ago');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'signed', signed_on = crm_today() - 40
                                 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'lead cannot jump to signed: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: UPDATE lead -> signed is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'signed', NULL, NULL)$$,
                              '23514', 'lead cannot jump to signed: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: project_transition lead -> signed is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_main'), 'negotiating', NULL, NULL)$$,
                'rule 1: project_transition lead -> negotiating works');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'started' WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'negotiating cannot jump to started: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: UPDATE negotiating -> started is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'started', NULL, NULL)$$,
                              '23514', 'negotiating cannot jump to started: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: project_transition negotiating -> started is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_main'), 'signed', NULL, NULL)$$,
                'rule 1: project_transition negotiating -> signed works');
SELECT is(pg_temp.state($$SELECT stage, signed_on FROM project WHERE id = pg_temp.id('p_main')$$),
          jsonb_build_array(jsonb_build_object('stage', 'signed', 'signed_on', crm_today() - 40)),
          '... signed, on the date of its formal contract');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'in_production', production_on = crm_today()
                                 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'signed cannot jump to in_production: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: UPDATE signed -> in_production is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'in_production', crm_today() - 1, NULL)$$,
                              '23514', 'signed cannot jump to in_production: no stage is skipped',
                              pg_temp.row_of('project', 'p_main'),
                              'rule 1: project_transition signed -> in_production is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'negotiating', signed_on = NULL WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'a signed project does not go back',
                              pg_temp.row_of('project', 'p_main'), 'rule 1: a signed project does not go back to negotiating');

-- A stall is a side state: the project resumes where it stopped, so the
-- stage it stalled from must not be rewritten while it is stalled.
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_h_stall'), 'stalled', NULL, NULL)$$,
                'a negotiating project (with an unused formal contract) is stalled');
SELECT * FROM pg_temp.refused($$UPDATE project SET stalled_from = 'in_production' WHERE id = pg_temp.id('p_h_stall')$$,
                              '23514', NULL, pg_temp.row_of('project', 'p_h_stall'),
                              'rule 1: the stage a project stalled from (negotiating) cannot be rewritten to in_production');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'in_production', stalled_from = NULL
                                 WHERE id = pg_temp.id('p_h_stall')$$,
                              '23514', NULL, pg_temp.row_of('project', 'p_h_stall'),
                              'rule 1: a project stalled from negotiating cannot resume in production');

-- ==== 2. signed only with a formal contract; started only after signed ====

SELECT ok(pg_temp.report_contract('c_intent', 'p_sign', 'intent', 300000000, crm_today() - 35) IS NOT NULL,
          'the bureau reports an intent contract, 35 days ago');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_sign'), 'signed', NULL, NULL)$$,
                              '23514', 'a project is signed only with a formal contract',
                              pg_temp.row_of('project', 'p_sign'),
                              'rule 2: project_transition to signed with only an intent contract is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'signed', signed_on = crm_today() - 35
                                 WHERE id = pg_temp.id('p_sign')$$,
                              '23514', 'a project is signed only with a formal contract',
                              pg_temp.row_of('project', 'p_sign'),
                              'rule 2: UPDATE to signed on the intent contract''s date is refused');
SELECT * FROM pg_temp.refused($$INSERT INTO project_start (project_id, started_on, evidence)
                                VALUES (pg_temp.id('p_sign'), crm_today() - 20, '开工照片')$$,
                              '23514', 'a project starts after it is signed, not before',
                              $$SELECT * FROM project_start WHERE project_id = pg_temp.id('p_sign')$$,
                              'rule 2: a start claim on an unsigned project is refused');
SELECT ok(pg_temp.report_contract('c_sign', 'p_sign', 'formal', 300000000, crm_today() - 30) IS NOT NULL,
          'the bureau reports a formal contract (not verified), 30 days ago');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_sign'), 'signed', NULL, NULL)$$,
                'rule 2: with a reported formal contract, project_transition to signed works');
SELECT is(pg_temp.state($$SELECT stage, signed_on FROM project WHERE id = pg_temp.id('p_sign')$$),
          jsonb_build_array(jsonb_build_object('stage', 'signed', 'signed_on', crm_today() - 30)),
          '... and signed_on is the formal contract''s date');

SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'started' WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'a project is started only with a start claim',
                              pg_temp.row_of('project', 'p_main'), 'rule 2: UPDATE to started without a start claim is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'started', started_on = crm_today() - 20
                                 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'a project is started only with a start claim',
                              pg_temp.row_of('project', 'p_main'),
                              'rule 2: UPDATE to started with a date but no start claim is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'started', NULL, NULL)$$,
                              '23514', 'a project is started only with a start claim',
                              pg_temp.row_of('project', 'p_main'),
                              'rule 2: project_transition to started without a start claim is refused');

-- The formal contract that made a project signed stays behind it.
SELECT * FROM pg_temp.refused($$DELETE FROM contract WHERE id = pg_temp.id('c_h_delete')$$,
                              '23514', NULL, pg_temp.row_of('contract', 'c_h_delete'),
                              'rule 2: the only formal contract of a signed project cannot be deleted');
SELECT * FROM pg_temp.refused($$UPDATE contract SET kind = 'intent' WHERE id = pg_temp.id('c_h_kind')$$,
                              '23514', NULL, pg_temp.row_of('contract', 'c_h_kind'),
                              'rule 2: the only formal contract of a signed project cannot become an intent');
SELECT * FROM pg_temp.refused($$UPDATE contract SET signed_on = signed_on - 1 WHERE id = pg_temp.id('c_h_cdate')$$,
                              '23514', NULL, pg_temp.row_of('contract', 'c_h_cdate'),
                              'rule 2: the formal contract of a signed project cannot be re-dated away from signed_on');

-- ==== 3. dates are monotonic and never in the future ====

SELECT * FROM pg_temp.refused($$INSERT INTO project (code, name, unit_id, investor_id, leader_id, planned_investment_yuan, signed_on)
                                VALUES ('T-dated', '自带日期', pg_temp.id('county'), pg_temp.id('investor'),
                                        pg_temp.id('u_leader'), 100000000, crm_today() - 5)$$,
                              '23514', 'lifecycle dates come with transitions',
                              $$SELECT * FROM project WHERE code = 'T-dated'$$,
                              'rule 3: INSERT of a new project with a signed_on is refused');
SELECT * FROM pg_temp.refused($$INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
                                VALUES (pg_temp.id('p_p5'), 'formal', 100000000, crm_today() + 1, '明天的合同')$$,
                              '23514', 'a claim is not dated in the future',
                              $$SELECT * FROM contract WHERE project_id = pg_temp.id('p_p5')$$,
                              'rule 3: a contract dated tomorrow is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET signed_on = crm_today() + 1 WHERE id = pg_temp.id('c_intent')$$,
                              '23514', 'a claim is not dated in the future',
                              pg_temp.row_of('contract', 'c_intent'),
                              'rule 3: re-dating a reported contract to tomorrow is refused');
SELECT * FROM pg_temp.refused($$INSERT INTO project_start (project_id, started_on, evidence)
                                VALUES (pg_temp.id('p_main'), crm_today() + 1, '明天开工')$$,
                              '23514', 'a claim is not dated in the future',
                              $$SELECT * FROM project_start WHERE project_id = pg_temp.id('p_main')$$,
                              'rule 3: a start claim dated tomorrow is refused');
SELECT * FROM pg_temp.refused($$INSERT INTO project_start (project_id, started_on, evidence)
                                VALUES (pg_temp.id('p_main'), crm_today() - 41, '签约前开工')$$,
                              '23514', 'a project starts after it is signed, not before',
                              $$SELECT * FROM project_start WHERE project_id = pg_temp.id('p_main')$$,
                              'rule 3: a start claim dated the day before signed_on is refused');
SELECT ok(pg_temp.report_start('s_main', 'p_main', crm_today() - 20) IS NOT NULL,
          'the bureau reports the start, 20 days ago');
SELECT * FROM pg_temp.refused($$UPDATE project_start SET started_on = crm_today() - 41 WHERE id = pg_temp.id('s_main')$$,
                              '23514', 'a project starts after it is signed, not before',
                              pg_temp.row_of('project_start', 's_main'),
                              'rule 3: re-dating the start claim before signed_on is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'started', started_on = crm_today() - 41
                                 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'a project is started only with a start claim',
                              pg_temp.row_of('project', 'p_main'),
                              'rule 3: UPDATE to started with started_on before signed_on is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_main'), 'started', NULL, NULL)$$,
                'rule 2: with a start claim, project_transition signed -> started works');
SELECT is(pg_temp.state($$SELECT stage, signed_on, started_on FROM project WHERE id = pg_temp.id('p_main')$$),
          jsonb_build_array(jsonb_build_object('stage', 'started', 'signed_on', crm_today() - 40,
                                               'started_on', crm_today() - 20)),
          '... started, on the start claim''s date');
SELECT * FROM pg_temp.refused($$UPDATE project SET signed_on = signed_on - 1 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'lifecycle dates change only with a transition',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: UPDATE of signed_on alone is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET started_on = started_on + 1 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'lifecycle dates change only with a transition',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: UPDATE of started_on alone is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET started_on = signed_on - 1 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'lifecycle dates change only with a transition',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: UPDATE of started_on to before signed_on is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'stalled', stalled_from = 'started', started_on = signed_on - 1
                                 WHERE id = pg_temp.id('p_main')$$,
                              '23514', NULL, pg_temp.row_of('project', 'p_main'),
                              'rule 3: started_on before signed_on, even along with a stall, is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'in_production', crm_today() - 21, NULL)$$,
                              '23514', 'new row for relation "project" violates check constraint "project_dates_monotonic"',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: production the day before the start is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'in_production', crm_today() + 1, NULL)$$,
                              '23514', 'a lifecycle date cannot be in the future',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: production dated tomorrow is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_main'), 'in_production', crm_today() - 10, NULL)$$,
                'project_transition started -> in_production, 10 days ago, works');
SELECT * FROM pg_temp.refused($$UPDATE project SET production_on = started_on WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'lifecycle dates change only with a transition',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: UPDATE of production_on alone is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_main'), 'at_capacity', crm_today() - 11, NULL)$$,
                              '23514', 'new row for relation "project" violates check constraint "project_dates_monotonic"',
                              pg_temp.row_of('project', 'p_main'), 'rule 3: full capacity before production is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_main'), 'at_capacity', crm_today() - 5, NULL)$$,
                'project_transition in_production -> at_capacity, 5 days ago, works');
SELECT is(pg_temp.state($$SELECT stage, signed_on, started_on, production_on, capacity_on FROM project
                           WHERE id = pg_temp.id('p_main')$$),
          jsonb_build_array(jsonb_build_object('stage', 'at_capacity', 'signed_on', crm_today() - 40,
                                               'started_on', crm_today() - 20, 'production_on', crm_today() - 10,
                                               'capacity_on', crm_today() - 5)),
          'the whole way up, step by step: every date in order');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'stalled', stalled_from = 'in_production'
                                 WHERE id = pg_temp.id('p_main')$$,
                              '23514', 'only an active project stalls, from its own stage',
                              pg_temp.row_of('project', 'p_main'), 'a project at full capacity does not stall');

-- The dates come with their own transition, not with any change of stage.
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'stalled', stalled_from = 'signed', signed_on = signed_on - 400
                                 WHERE id = pg_temp.id('p_h_dates')$$,
                              '23514', NULL, pg_temp.row_of('project', 'p_h_dates'),
                              'rule 3: signed_on cannot be moved to last year along with a stall');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'started', started_on = crm_today() - 20, signed_on = crm_today() - 20
                                 WHERE id = pg_temp.id('p_h_start')$$,
                              '23514', NULL, pg_temp.row_of('project', 'p_h_start'),
                              'rule 3: signed_on cannot be rewritten along with the start');

-- ==== 4. to be signed: a responsible unit, a 包联 leader, an investor, a positive amount ====

SELECT * FROM pg_temp.refused($$UPDATE project SET unit_id = NULL WHERE id = pg_temp.id('p_r4_unit')$$,
                              '23503', 'unit does not exist',
                              pg_temp.row_of('project', 'p_r4_unit'), 'rule 4: a project cannot lose its responsible unit');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_r4_unit'), 'signed', NULL, NULL)$$,
                '... so with its unit (and the rest) it signs');
SELECT is(pg_temp.affected($$UPDATE project SET leader_id = NULL WHERE id = pg_temp.id('p_r4_leader')$$), 1::bigint,
          'an unsigned project may have no leader yet');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_r4_leader'), 'signed', NULL, NULL)$$,
                              '23514', 'to be signed a project needs a responsible unit, a leader, an investor and a positive amount',
                              pg_temp.row_of('project', 'p_r4_leader'), 'rule 4: without a 包联 leader, signing is refused');
SELECT is(pg_temp.affected($$UPDATE project SET investor_id = NULL WHERE id = pg_temp.id('p_r4_investor')$$), 1::bigint,
          'an unsigned project may have no investor yet');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_r4_investor'), 'signed', NULL, NULL)$$,
                              '23514', 'to be signed a project needs a responsible unit, a leader, an investor and a positive amount',
                              pg_temp.row_of('project', 'p_r4_investor'), 'rule 4: without an investor, signing is refused');
SELECT is(pg_temp.affected($$UPDATE project SET planned_investment_yuan = NULL WHERE id = pg_temp.id('p_r4_amount')$$), 1::bigint,
          'an unsigned project may have no amount yet');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_r4_amount'), 'signed', NULL, NULL)$$,
                              '23514', 'to be signed a project needs a responsible unit, a leader, an investor and a positive amount',
                              pg_temp.row_of('project', 'p_r4_amount'), 'rule 4: without an amount, signing is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'signed', signed_on = crm_today() - 30
                                 WHERE id = pg_temp.id('p_r4_amount')$$,
                              '23514', 'to be signed a project needs a responsible unit, a leader, an investor and a positive amount',
                              pg_temp.row_of('project', 'p_r4_amount'), 'rule 4: ... and by UPDATE too');
SELECT * FROM pg_temp.refused($$UPDATE project SET planned_investment_yuan = 0 WHERE id = pg_temp.id('p_r4_amount')$$,
                              '23514', 'new row for relation "project" violates check constraint "project_planned_investment_yuan_check"',
                              pg_temp.row_of('project', 'p_r4_amount'), 'rule 4: an amount of 0 is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET planned_investment_yuan = -1 WHERE id = pg_temp.id('p_r4_amount')$$,
                              '23514', 'new row for relation "project" violates check constraint "project_planned_investment_yuan_check"',
                              pg_temp.row_of('project', 'p_r4_amount'), 'rule 4: a negative amount is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET leader_id = pg_temp.id('u_bureau') WHERE id = pg_temp.id('p_r4_role')$$,
                              '23514', 'the leader must be an enabled user with the leader role',
                              pg_temp.row_of('project', 'p_r4_role'), 'rule 4: a 包联 leader who is a bureau user is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET leader_id = pg_temp.id('u_viewer'), stage = 'signed', signed_on = crm_today() - 30
                                 WHERE id = pg_temp.id('p_r4_role')$$,
                              '23514', 'the leader must be an enabled user with the leader role',
                              pg_temp.row_of('project', 'p_r4_role'), 'rule 4: signing with a viewer as the 包联 leader is refused');
SELECT * FROM pg_temp.refused($$UPDATE project SET leader_id = NULL WHERE id = pg_temp.id('p_r4_unit')$$,
                              '23514', 'a signed project keeps its investor, leader and amount',
                              pg_temp.row_of('project', 'p_r4_unit'), 'rule 4: a signed project cannot lose its leader');
SELECT * FROM pg_temp.refused($$UPDATE project SET investor_id = NULL WHERE id = pg_temp.id('p_r4_unit')$$,
                              '23514', 'a signed project keeps its investor, leader and amount',
                              pg_temp.row_of('project', 'p_r4_unit'), 'rule 4: a signed project cannot lose its investor');

-- ==== 5. a verified claim is never edited or deleted, only revoked with a reason (audited) ====

SELECT ok(pg_temp.report_contract('c5', 'p_p5', 'formal', 200000000, crm_today() - 15) IS NOT NULL,
          'the bureau reports a formal contract of p5');
CALL pg_temp.act_as_fixture('viewer');
SELECT is(pg_temp.affected($$UPDATE contract SET verified_at = now() WHERE id = pg_temp.id('c5')$$), 1::bigint,
          'the assessment office (viewer) verifies it');
CALL pg_temp.act_as_fixture('bureau');
SELECT * FROM pg_temp.refused($$UPDATE contract SET amount_yuan = amount_yuan * 2 WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never edited; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: UPDATE of a verified contract''s amount is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET signed_on = signed_on - 1 WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never edited; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: UPDATE of a verified contract''s date is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET kind = 'intent' WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never edited; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: UPDATE of a verified contract''s kind is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET verified_at = NULL, verified_by = NULL WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never edited; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: un-verifying a verified contract is refused');
SELECT * FROM pg_temp.refused($$DELETE FROM contract WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never deleted; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: DELETE of a verified contract is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET revoked_at = now() WHERE id = pg_temp.id('c5')$$,
                              '23514', 'new row for relation "contract" violates check constraint "contract_revoked_reason"',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: revoking without a reason is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET revoked_at = now(), revoke_reason = '   ' WHERE id = pg_temp.id('c5')$$,
                              '23514', 'new row for relation "contract" violates check constraint "contract_revoked_reason"',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: revoking with a blank reason is refused');
SELECT * FROM pg_temp.refused($$UPDATE contract SET revoked_at = now(), revoke_reason = '重复录入', amount_yuan = 1
                                 WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never edited; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: revoking and editing in one go is refused');
SELECT is(pg_temp.affected($$UPDATE contract SET revoked_at = now(), revoke_reason = '合同已解除'
                              WHERE id = pg_temp.id('c5')$$), 1::bigint,
          'rule 5: revoking with a reason works');
SELECT is(pg_temp.state($$SELECT revoked_by, revoke_reason, revoked_at IS NOT NULL AS revoked, amount_yuan
                           FROM contract WHERE id = pg_temp.id('c5')$$),
          jsonb_build_array(jsonb_build_object('revoked_by', pg_temp.id('u_bureau'), 'revoke_reason', '合同已解除',
                                               'revoked', true, 'amount_yuan', 200000000)),
          '... the contract is revoked by the caller, with the reason, its amount as it was');
RESET ROLE;
SELECT is(pg_temp.state($$SELECT actor_id, request_id, action, unit_id, project_id, before -> 'revoke_reason' AS before_reason,
                                 after -> 'revoke_reason' AS after_reason, after ? 'revoked_at' AS at, after ? 'revoked_by' AS by
                            FROM audit_log WHERE table_name = 'contract' AND row_id = pg_temp.id('c5')::text
                             AND action = 'update' AND after ? 'revoke_reason'$$),
          jsonb_build_array(jsonb_build_object('actor_id', pg_temp.id('u_bureau'), 'request_id', 'req-bureau',
                                               'action', 'update', 'unit_id', pg_temp.id('county'),
                                               'project_id', pg_temp.id('p_p5'), 'before_reason', NULL,
                                               'after_reason', '合同已解除', 'at', true, 'by', true)),
          'rule 5: the revocation is audited: who, which request, the reason, when and by whom (read as the owner)');
SET LOCAL ROLE crm_app;
SELECT * FROM pg_temp.refused($$UPDATE contract SET revoke_reason = '另一个理由' WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a revoked claim does not change',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: the reason of a revoked contract does not change');
SELECT * FROM pg_temp.refused($$UPDATE contract SET revoked_at = NULL, revoked_by = NULL, revoke_reason = NULL
                                 WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a revoked claim does not change',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: a revoked contract cannot be un-revoked');
SELECT * FROM pg_temp.refused($$DELETE FROM contract WHERE id = pg_temp.id('c5')$$,
                              '23514', 'a verified claim is never deleted; revoke it with a reason',
                              pg_temp.row_of('contract', 'c5'), 'rule 5: a revoked contract cannot be deleted');

-- ==== 6. the user who reported a claim cannot verify it ====

SELECT ok(pg_temp.report_contract('c6', 'p_p6', 'formal', 150000000, crm_today() - 12) IS NOT NULL,
          'the bureau user reports a formal contract of a 西社镇 project');
SELECT is((SELECT reported_by FROM contract WHERE id = pg_temp.id('c6')), pg_temp.id('u_bureau'),
          '... and is its reporter');
SELECT * FROM pg_temp.refused($$UPDATE contract SET verified_at = now() WHERE id = pg_temp.id('c6')$$,
                              '23514', 'the user who reported a claim cannot verify it',
                              pg_temp.row_of('contract', 'c6'), 'rule 6: the reporter cannot verify the contract');
SELECT * FROM pg_temp.refused($$UPDATE contract SET verified_at = now(), verified_by = pg_temp.id('u_bureau2')
                                 WHERE id = pg_temp.id('c6')$$,
                              '23514', 'the user who reported a claim cannot verify it',
                              pg_temp.row_of('contract', 'c6'),
                              'rule 6: the reporter cannot verify in another user''s name either');
SELECT * FROM pg_temp.refused($$UPDATE contract SET reported_by = pg_temp.id('u_bureau2') WHERE id = pg_temp.id('c6')$$,
                              '23514', 'who reported a claim does not change',
                              pg_temp.row_of('contract', 'c6'), 'rule 6: the reporter cannot hand the report to someone else');
CALL pg_temp.act_as_fixture('xishe');
SELECT * FROM pg_temp.refused($$UPDATE contract SET verified_at = now() WHERE id = pg_temp.id('c6')$$,
                              '42501', 'only the bureau or the assessment office verifies claims',
                              pg_temp.row_of('contract', 'c6'), 'rule 6: a unit user (西社镇, in scope) cannot verify (42501)');
CALL pg_temp.act_as_fixture('leader');
SELECT is(pg_temp.affected($$UPDATE contract SET verified_at = now() WHERE id = pg_temp.id('c6')$$), 0::bigint,
          'rule 6: a leader cannot verify (0 rows)');
CALL pg_temp.act_as_fixture('viewer');
SELECT * FROM pg_temp.refused($$UPDATE contract SET amount_yuan = 1 WHERE id = pg_temp.id('c6')$$,
                              '42501', 'the assessment office verifies or revokes claims, nothing else',
                              pg_temp.row_of('contract', 'c6'), 'rule 6: a viewer cannot change an unverified claim''s amount (42501)');
SELECT * FROM pg_temp.refused($$UPDATE contract SET verified_at = now(), amount_yuan = 1 WHERE id = pg_temp.id('c6')$$,
                              '42501', 'the assessment office verifies or revokes claims, nothing else',
                              pg_temp.row_of('contract', 'c6'), 'rule 6: a viewer cannot change the amount while verifying (42501)');
SELECT is(pg_temp.affected($$UPDATE contract SET verified_at = now(), verified_by = pg_temp.id('u_bureau')
                              WHERE id = pg_temp.id('c6')$$), 1::bigint,
          'rule 6: a viewer verifies the contract (naming the reporter as verifier)');
SELECT is(pg_temp.state($$SELECT verified_by, verified_at IS NOT NULL AS verified, reported_by FROM contract
                           WHERE id = pg_temp.id('c6')$$),
          jsonb_build_array(jsonb_build_object('verified_by', pg_temp.id('u_viewer'), 'verified', true,
                                               'reported_by', pg_temp.id('u_bureau'))),
          '... verified_by is the caller, not the name given');

-- The verifier verifies what the reporter reported: the figure cannot be
-- changed in the statement that verifies it.
CALL pg_temp.act_as_fixture('bureau');
SELECT ok(pg_temp.report_contract('c6b', 'p_r4_investor', 'formal', 150000000, crm_today() - 12) IS NOT NULL,
          'the bureau user reports another formal contract');
CALL pg_temp.act_as_fixture('bureau2');
SELECT * FROM pg_temp.refused($$UPDATE contract SET amount_yuan = 99999999999, verified_at = now()
                                 WHERE id = pg_temp.id('c6b')$$,
                              NULL, NULL, pg_temp.row_of('contract', 'c6b'),
                              'rule 6: another bureau user cannot change the amount in the statement that verifies it');
-- Nor edit it first and verify it after: who last changed a claim is
-- recorded, and may not verify it either.
SELECT is(pg_temp.affected($$UPDATE contract SET amount_yuan = 160000000 WHERE id = pg_temp.id('c6b')$$), 1::bigint,
          'another bureau user may correct an unverified claim');
SELECT is((SELECT changed_by FROM contract WHERE id = pg_temp.id('c6b')), pg_temp.id('u_bureau2'),
          '... and is recorded as its last editor');
SELECT * FROM pg_temp.refused($$UPDATE contract SET verified_at = now() WHERE id = pg_temp.id('c6b')$$,
                              '23514', 'the user who last changed a claim cannot verify it',
                              pg_temp.row_of('contract', 'c6b'),
                              'rule 6: the user who last changed a claim cannot verify it');

-- Starts are claims too.
CALL pg_temp.act_as_fixture('bureau');
SELECT * FROM pg_temp.refused($$UPDATE project_start SET verified_at = now() WHERE id = pg_temp.id('s_main')$$,
                              '23514', 'the user who reported a claim cannot verify it',
                              pg_temp.row_of('project_start', 's_main'), 'rule 6: the reporter cannot verify the start claim');
CALL pg_temp.act_as_fixture('bureau2');
SELECT is(pg_temp.affected($$UPDATE project_start SET verified_at = now() WHERE id = pg_temp.id('s_main')$$), 1::bigint,
          'rule 6: another bureau user verifies the start claim');
SELECT is((SELECT verified_by FROM project_start WHERE id = pg_temp.id('s_main')), pg_temp.id('u_bureau2'),
          '... and is its verifier');
CALL pg_temp.act_as_fixture('bureau');
SELECT * FROM pg_temp.refused($$UPDATE project_start SET started_on = started_on - 1 WHERE id = pg_temp.id('s_main')$$,
                              '23514', 'a verified claim is never edited; revoke it with a reason',
                              pg_temp.row_of('project_start', 's_main'), 'rule 5: a verified start claim is never re-dated');
SELECT * FROM pg_temp.refused($$DELETE FROM project_start WHERE id = pg_temp.id('s_main')$$,
                              '23514', 'a verified claim is never deleted; revoke it with a reason',
                              pg_temp.row_of('project_start', 's_main'), 'rule 5: a verified start claim is never deleted');

-- ==== side states: terminated, stalled ====

SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'terminated' WHERE id = pg_temp.id('p_term')$$,
                              '23514', 'new row for relation "project" violates check constraint "project_terminated_reason"',
                              pg_temp.row_of('project', 'p_term'), 'terminated without a reason is refused');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_term'), 'terminated', NULL, '  ')$$,
                              '23514', 'new row for relation "project" violates check constraint "project_terminated_reason"',
                              pg_temp.row_of('project', 'p_term'), 'terminated with a blank reason is refused');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_term'), 'terminated', NULL, '投资方转投他地')$$,
                'terminated with a reason works');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_term'), 'lead', NULL, NULL)$$,
                              '23514', 'a terminated project does not move',
                              pg_temp.row_of('project', 'p_term'), 'a terminated project does not move back to lead');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'negotiating', terminated_reason = NULL WHERE id = pg_temp.id('p_term')$$,
                              '23514', 'a terminated project does not move',
                              pg_temp.row_of('project', 'p_term'), 'a terminated project does not move on to negotiating');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'stalled', stalled_from = 'lead', terminated_reason = NULL
                                 WHERE id = pg_temp.id('p_term')$$,
                              '23514', 'a terminated project does not move',
                              pg_temp.row_of('project', 'p_term'), 'a terminated project does not stall');

SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'stalled', stalled_from = 'negotiating' WHERE id = pg_temp.id('p_stall')$$,
                              '23514', 'only an active project stalls, from its own stage',
                              pg_temp.row_of('project', 'p_stall'), 'a lead cannot stall "from negotiating"');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_stall'), 'stalled', NULL, NULL)$$,
                'a lead stalls (from lead)');
SELECT * FROM pg_temp.refused($$SELECT project_transition(pg_temp.id('p_stall'), 'negotiating', NULL, NULL)$$,
                              '23514', 'a stalled project resumes at lead',
                              pg_temp.row_of('project', 'p_stall'), 'a project stalled from lead cannot resume at negotiating');
SELECT * FROM pg_temp.refused($$UPDATE project SET stage = 'planned', stalled_from = NULL WHERE id = pg_temp.id('p_stall')$$,
                              '23514', 'a stalled project resumes at lead',
                              pg_temp.row_of('project', 'p_stall'), 'a project stalled from lead cannot resume at planned');
SELECT lives_ok($$SELECT project_transition(pg_temp.id('p_stall'), 'lead', NULL, NULL)$$,
                'a project stalled from lead resumes at lead');
SELECT is(pg_temp.state($$SELECT stage, stalled_from FROM project WHERE id = pg_temp.id('p_stall')$$),
          jsonb_build_array(jsonb_build_object('stage', 'lead', 'stalled_from', NULL)), '... a lead again');

RESET ROLE;
UPDATE project SET last_progress_at = now() - interval '100 days' WHERE id = pg_temp.id('p_idle');
SELECT is(project_mark_stalled(), 1, 'project_mark_stalled() (as the owner) stalls the one project idle for 100 days');
SELECT is(pg_temp.state($$SELECT stage, stalled_from FROM project WHERE id = pg_temp.id('p_idle')$$),
          jsonb_build_array(jsonb_build_object('stage', 'stalled', 'stalled_from', 'negotiating')),
          '... it is stalled from negotiating');
SELECT is(project_mark_stalled(), 0, 'project_mark_stalled() again stalls nothing');
SET LOCAL ROLE crm_app;

-- ==== five-one slots, capital increases ====

SELECT * FROM pg_temp.refused($$UPDATE project SET five_one = '{"招商顾问": "王五"}' WHERE id = pg_temp.id('p_sign')$$,
                              '23514', '"招商顾问" is not a five-one slot of this deployment',
                              pg_temp.row_of('project', 'p_sign'), 'a five_one key not in setting five_one_slots is refused');
SELECT is(pg_temp.affected($$UPDATE project SET five_one = '{"包联领导": "县长", "服务专员": "李四"}'
                              WHERE id = pg_temp.id('p_sign')$$), 1::bigint,
          'five_one keys of the setting are accepted');
SELECT * FROM pg_temp.refused($$INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
                                VALUES (pg_temp.id('p_r4_leader'), 'capital_increase', 100000000, crm_today() - 1, '增资协议')$$,
                              '23514', 'a capital increase is for a signed project',
                              $$SELECT * FROM contract WHERE project_id = pg_temp.id('p_r4_leader')$$,
                              'a capital increase of an unsigned project is refused');
SELECT lives_ok($$INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
                  VALUES (pg_temp.id('p_main'), 'capital_increase', 100000000, crm_today() - 1, '增资协议')$$,
                'a capital increase of a project at full capacity works');

-- ==== scope: a 西社镇 unit user cannot write 化峪镇's projects ====

CALL pg_temp.act_as_fixture('xishe');
SELECT * FROM pg_temp.refused($$INSERT INTO project (code, name, unit_id) VALUES ('T-intruder', '越界项目', pg_temp.id('huayu'))$$,
                              '42501', 'new row violates row-level security policy for table "project"',
                              $$SELECT * FROM project WHERE code = 'T-intruder'$$,
                              'scope: a 西社镇 user cannot INSERT a project into 化峪镇 (42501)');
SELECT is(pg_temp.affected($$UPDATE project SET name = '被改名' WHERE id = pg_temp.id('p_huayu')$$), 0::bigint,
          'scope: a 西社镇 user''s UPDATE of a 化峪镇 project affects 0 rows');
SELECT is(pg_temp.affected($$SELECT project_transition(pg_temp.id('p_huayu'), 'lead', NULL, NULL)$$), 0::bigint,
          'scope: ... and project_transition of it returns no row');
SELECT is(pg_temp.state($$SELECT name, stage, version FROM project WHERE id = pg_temp.id('p_huayu')$$),
          jsonb_build_array(jsonb_build_object('name', '测试项目 huayu', 'stage', 'negotiating', 'version', 1)),
          'scope: ... the 化峪镇 project is unchanged');
SELECT * FROM pg_temp.refused($$UPDATE project SET unit_id = pg_temp.id('huayu') WHERE id = pg_temp.id('p_p6')$$,
                              '42501', 'new row violates row-level security policy for table "project"',
                              pg_temp.row_of('project', 'p_p6'), 'scope: a 西社镇 user cannot move its project to 化峪镇 (42501)');
SELECT * FROM pg_temp.refused($$INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence)
                                VALUES (pg_temp.id('p_huayu'), 'formal', 100000000, crm_today() - 1, '越界合同')$$,
                              '42501', 'new row violates row-level security policy for table "contract"',
                              $$SELECT * FROM contract WHERE project_id = pg_temp.id('p_huayu')$$,
                              'scope: a 西社镇 user cannot report a contract of a 化峪镇 project (42501)');
SELECT lives_ok($$INSERT INTO project (code, name, unit_id) VALUES ('T-xishe-own', '西社镇新项目', pg_temp.id('xishe'))$$,
                'scope: a 西社镇 user can INSERT a project into 西社镇');

SELECT * FROM finish();
ROLLBACK;
