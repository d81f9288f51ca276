-- The KPIs of DESIGN.md section 5 on histories small enough to count by hand
-- (run by tests/sql/run.sh on a scratch database: migrations applied, demo
-- units loaded). Every expected figure is a literal, with its arithmetic in a
-- comment; each is checked twice, against the fast path kpi_fast (the
-- incremental roll-ups) and against kpi_reference (the slow query from the raw
-- rows).
--
-- Runs as crm_owner in a test county of its own (测试县 sx.yc.kt, towns A, B,
-- C), so that no other data can move the figures. With no caller set, the
-- owner loads history: it gives the claims' reported_at, verified_at and
-- revoked_at (and the verifier), and the time of a project's move. All times
-- are written in China Standard Time (+08); a day "as of D" is everything that
-- happened before D + 1 00:00 CST. Everything is rolled back at the end.
--
-- The projects (amounts in yuan):
--   A  P1  formal 100,000,000 dated 2023-06-10 (verified 2023-06-20), started 2023-09-01 (verified 2023-09-05),
--          capital increase 30,000,000 dated 2024-03-05 (verified 2024-03-10), intent 700,000,000 dated
--          2024-05-01 (verified), a second formal 50,000,000 dated 2024-07-01 (verified: never counts)
--   A  P2  intent 500,000,000 dated 2024-02-01, verified; nothing else
--   A  P3  formal 200,000,000 dated 2024-04-10, verified 2024-04-15 04:00 CST (2024-04-14 20:00 UTC),
--          started 2024-05-01 (verified 2024-05-05), the contract revoked 2024-08-01 10:00
--   A  P4  formal 80,000,000 dated 2023-12-31, verified 2024-01-03; started 2024-01-01, verified 2024-01-04
--   A  P6  formal 60,000,000 dated 2024-05-01 (verified 2024-05-10), started 2024-06-01 (verified 2024-06-05);
--          moved to B on 2024-09-15 12:00
--   B  P5  formal 150,000,000 dated 2024-03-01, reported 2024-03-02, verified 2024-04-10 10:00; its start
--          2024-03-20 reported 2024-03-21 and verified 2024-03-25, before the signing was
--   B  P7  formal 40,000,000 dated 2024-10-01, reported 2024-10-02, never verified
--   B  P8  formal 25,000,000 dated 2024-11-01, reported 2024-11-02, withdrawn unverified 2024-11-20 10:00
--   B  P9  formal 85,000,000 dated 2023-11-20 (verified 2023-11-25), revoked 2024-02-01 10:00; re-reported as
--          formal 90,000,000 dated 2024-01-15, reported 2024-02-05, verified 2024-02-10 10:00
--   C  P10 intent 300,000,000 dated 2024-06-01, verified
--   C  P11 formal 10,000,000 dated 2024-07-01, reported 2024-07-02, never verified
-- Figures are (signing_amount_yuan, signed_count, started_count, signed_amount_yuan, started_amount_yuan).

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(146);

-- ---- helpers (in pg_temp, and rolled back with the rest) ----

\ir lib/helpers.sql

-- A project of unit p_unit, negotiating, with what signing needs.
CREATE FUNCTION pg_temp.project(p_name text, p_unit text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
BEGIN
    INSERT INTO project (code, name, unit_id, investor_id, leader_id, planned_investment_yuan, stage)
    VALUES ('KT-' || p_name, '测试项目 ' || p_name, pg_temp.id(p_unit), pg_temp.id('investor'),
            pg_temp.id('u_leader'), 900000000, 'negotiating')
    RETURNING id INTO pid;
    PERFORM set_config('test.' || p_name, pid::text, true);
    RETURN pid;
END
$$;

-- A contract reported by the bureau user at p_at; its id in test.<p_name>.
CREATE FUNCTION pg_temp.contract(p_name text, p_project text, p_kind text, p_amount bigint, p_on date,
                                 p_at timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cid bigint;
BEGIN
    INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
    VALUES (pg_temp.id(p_project), p_kind, p_amount, p_on, '合同 ' || p_name, pg_temp.id('u_rep'), p_at)
    RETURNING id INTO cid;
    PERFORM set_config('test.' || p_name, cid::text, true);
    RETURN cid;
END
$$;

-- A start claim reported by the bureau user at p_at.
CREATE FUNCTION pg_temp.start(p_name text, p_project text, p_on date, p_at timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
BEGIN
    INSERT INTO project_start (project_id, started_on, evidence, reported_by, reported_at)
    VALUES (pg_temp.id(p_project), p_on, '开工照片 ' || p_name, pg_temp.id('u_rep'), p_at)
    RETURNING id INTO sid;
    PERFORM set_config('test.' || p_name, sid::text, true);
    RETURN sid;
END
$$;

-- The assessment office verifies a claim at p_at.
CREATE FUNCTION pg_temp.verify(p_table text, p_name text, p_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %I SET verified_at = $1, verified_by = $2 WHERE id = $3', p_table)
      USING p_at, pg_temp.id('u_ver'), pg_temp.id(p_name);
END
$$;

-- The assessment office revokes (or the bureau withdraws) a claim at p_at.
CREATE FUNCTION pg_temp.revoke(p_table text, p_name text, p_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('UPDATE %I SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4', p_table)
      USING p_at, pg_temp.id('u_ver'), '核查不实', pg_temp.id(p_name);
END
$$;

-- The project moves to the signed stage (on its earliest live formal contract).
CREATE FUNCTION pg_temp.sign(p_project text) RETURNS void LANGUAGE sql AS
$$ SELECT project_transition(pg_temp.id(p_project), 'signed', NULL, NULL) $$;

-- The project moves to another unit at p_at. The move itself goes through
-- UPDATE project (its trigger records the placement, at now(), and refreshes
-- the roll-up); 0006 gives no way to give a historical move time, so the
-- owner then back-dates the placement it recorded and refreshes the project's
-- roll-up, as a loader of history would have to.
CREATE FUNCTION pg_temp.move(p_project text, p_unit text, p_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE project SET unit_id = pg_temp.id(p_unit) WHERE id = pg_temp.id(p_project);
    UPDATE project_placement SET valid_from = p_at
     WHERE project_id = pg_temp.id(p_project) AND valid_from = now();
    PERFORM kpi_refresh(ARRAY[pg_temp.id(p_project)]);
END
$$;

-- Two assertions: kpi_fast and kpi_reference both give the figures.
CREATE FUNCTION pg_temp.figs(p_unit text, p_year int, p_as_of date, p_basis text,
                             p_signing bigint, p_signed int, p_started int, p_signed_amount bigint,
                             p_started_amount bigint, p_descr text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    want kpi_figures := ROW(p_signing, p_signed, p_started, p_signed_amount, p_started_amount)::kpi_figures;
    what text := format('%s %s as of %s (%s): %s', p_unit, p_year, p_as_of, p_basis, p_descr);
BEGIN
    RETURN NEXT is(kpi_fast(pg_temp.id(p_unit), p_year, p_as_of, p_basis), want, 'fast ' || what);
    RETURN NEXT is(kpi_reference(pg_temp.id(p_unit), p_year, p_as_of, p_basis), want, 'reference ' || what);
END
$$;

-- stats_unit as the county's assessment office would call it.
CREATE FUNCTION pg_temp.stats(p_unit text, p_year int, p_as_of date) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
BEGIN
    PERFORM set_config('crm.user_id', current_setting('test.u_ver'), true),
            set_config('crm.unit_id', current_setting('test.K'), true),
            set_config('crm.role', 'viewer', true),
            set_config('crm.request_id', 'req-kpi', true);
    SET LOCAL ROLE crm_app;
    r := stats_unit(pg_temp.id(p_unit), p_year, p_as_of);
    RESET ROLE;
    PERFORM set_config('crm.user_id', '', true), set_config('crm.unit_id', '', true),
            set_config('crm.role', '', true), set_config('crm.request_id', '', true);
    RETURN r;
END
$$;

-- ---- fixtures, as the owner ----

SELECT is(current_user::text, 'crm_owner', 'the fixtures are made by the owner role');
SELECT is(crm_caller_user(), NULL, '... with no caller: it may give historical claim times');

DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    r record;
BEGIN
    INSERT INTO unit (parent_id, code, name, kind)
    SELECT id, 'sx.yc.kt', '测试县', 'county' FROM unit WHERE code = 'sx.yc';
    INSERT INTO unit (parent_id, code, name, kind)
    SELECT k.id, v.code, v.name, 'town'
      FROM unit k, (VALUES ('sx.yc.kt.a', '甲镇'), ('sx.yc.kt.b', '乙镇'), ('sx.yc.kt.c', '丙镇')) AS v (code, name)
     WHERE k.code = 'sx.yc.kt';
    FOR r IN SELECT CASE code WHEN 'sx.yc.kt' THEN 'K' ELSE upper(split_part(code, '.', 4)) END AS k, id
               FROM unit WHERE code LIKE 'sx.yc.kt%' LOOP
        PERFORM set_config('test.' || r.k, r.id::text, true);
    END LOOP;
    PERFORM set_config('test.city', (SELECT id FROM unit WHERE code = 'sx.yc')::text, true);

    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    SELECT v.username, v.display_name, v.role, pg_temp.id('K'), hash
      FROM (VALUES ('kt.rep', '招商局', 'bureau'), ('kt.ver', '考核办', 'viewer'), ('kt.leader', '县领导', 'leader'))
           AS v (username, display_name, role);
    FOR r IN SELECT split_part(username, '.', 2) AS k, id FROM app_user WHERE username LIKE 'kt.%' LOOP
        PERFORM set_config('test.u_' || r.k, r.id::text, true);
    END LOOP;

    INSERT INTO investor (unit_id, name) VALUES (pg_temp.id('K'), '测试投资方');
    PERFORM set_config('test.investor', (SELECT id FROM investor WHERE name = '测试投资方')::text, true);

    -- A: P1 (a capital increase in a later year, an intent, a second formal contract)
    PERFORM pg_temp.project('P1', 'A');
    PERFORM pg_temp.contract('P1f', 'P1', 'formal', 100000000, '2023-06-10', '2023-06-12 10:00+08');
    PERFORM pg_temp.sign('P1');
    PERFORM pg_temp.verify('contract', 'P1f', '2023-06-20 10:00+08');
    PERFORM pg_temp.start('P1s', 'P1', '2023-09-01', '2023-09-02 10:00+08');
    PERFORM pg_temp.verify('project_start', 'P1s', '2023-09-05 10:00+08');
    PERFORM pg_temp.contract('P1i', 'P1', 'capital_increase', 30000000, '2024-03-05', '2024-03-06 10:00+08');
    PERFORM pg_temp.verify('contract', 'P1i', '2024-03-10 10:00+08');
    PERFORM pg_temp.contract('P1x', 'P1', 'intent', 700000000, '2024-05-01', '2024-05-02 10:00+08');
    PERFORM pg_temp.verify('contract', 'P1x', '2024-05-03 10:00+08');
    PERFORM pg_temp.contract('P1f2', 'P1', 'formal', 50000000, '2024-07-01', '2024-07-02 10:00+08');
    PERFORM pg_temp.verify('contract', 'P1f2', '2024-07-05 10:00+08');

    -- A: P2, an intent only
    PERFORM pg_temp.project('P2', 'A');
    PERFORM pg_temp.contract('P2x', 'P2', 'intent', 500000000, '2024-02-01', '2024-02-02 10:00+08');
    PERFORM pg_temp.verify('contract', 'P2x', '2024-02-05 10:00+08');

    -- A: P3, revoked after it counted; verified at 04:00 CST on 15 April, the
    -- 14th in UTC
    PERFORM pg_temp.project('P3', 'A');
    PERFORM pg_temp.contract('P3f', 'P3', 'formal', 200000000, '2024-04-10', '2024-04-11 10:00+08');
    PERFORM pg_temp.sign('P3');
    PERFORM pg_temp.verify('contract', 'P3f', '2024-04-14 20:00+00');
    PERFORM pg_temp.start('P3s', 'P3', '2024-05-01', '2024-05-02 10:00+08');
    PERFORM pg_temp.verify('project_start', 'P3s', '2024-05-05 10:00+08');
    PERFORM pg_temp.revoke('contract', 'P3f', '2024-08-01 10:00+08');

    -- A: P4, signed on 31 December, started on 1 January
    PERFORM pg_temp.project('P4', 'A');
    PERFORM pg_temp.contract('P4f', 'P4', 'formal', 80000000, '2023-12-31', '2024-01-02 10:00+08');
    PERFORM pg_temp.sign('P4');
    PERFORM pg_temp.start('P4s', 'P4', '2024-01-01', '2024-01-02 11:00+08');
    PERFORM pg_temp.verify('contract', 'P4f', '2024-01-03 10:00+08');
    PERFORM pg_temp.verify('project_start', 'P4s', '2024-01-04 10:00+08');

    -- A then B: P6, moved on 15 September at noon (below)
    PERFORM pg_temp.project('P6', 'A');
    PERFORM pg_temp.contract('P6f', 'P6', 'formal', 60000000, '2024-05-01', '2024-05-02 10:00+08');
    PERFORM pg_temp.sign('P6');
    PERFORM pg_temp.verify('contract', 'P6f', '2024-05-10 10:00+08');
    PERFORM pg_temp.start('P6s', 'P6', '2024-06-01', '2024-06-02 10:00+08');
    PERFORM pg_temp.verify('project_start', 'P6s', '2024-06-05 10:00+08');

    -- B: P5, its start reported and verified before its signing is verified
    PERFORM pg_temp.project('P5', 'B');
    PERFORM pg_temp.contract('P5f', 'P5', 'formal', 150000000, '2024-03-01', '2024-03-02 10:00+08');
    PERFORM pg_temp.sign('P5');
    PERFORM pg_temp.start('P5s', 'P5', '2024-03-20', '2024-03-21 10:00+08');
    PERFORM pg_temp.verify('project_start', 'P5s', '2024-03-25 10:00+08');
    PERFORM pg_temp.verify('contract', 'P5f', '2024-04-10 10:00+08');

    -- B: P7 reported only; P8 reported and withdrawn
    PERFORM pg_temp.project('P7', 'B');
    PERFORM pg_temp.contract('P7f', 'P7', 'formal', 40000000, '2024-10-01', '2024-10-02 10:00+08');
    PERFORM pg_temp.project('P8', 'B');
    PERFORM pg_temp.contract('P8f', 'P8', 'formal', 25000000, '2024-11-01', '2024-11-02 10:00+08');
    PERFORM pg_temp.revoke('contract', 'P8f', '2024-11-20 10:00+08');

    -- B: P9, signed in 2023, revoked, re-signed with a 2024 date
    PERFORM pg_temp.project('P9', 'B');
    PERFORM pg_temp.contract('P9f', 'P9', 'formal', 85000000, '2023-11-20', '2023-11-21 10:00+08');
    PERFORM pg_temp.sign('P9');
    PERFORM pg_temp.verify('contract', 'P9f', '2023-11-25 10:00+08');
    PERFORM pg_temp.revoke('contract', 'P9f', '2024-02-01 10:00+08');
    PERFORM pg_temp.contract('P9f2', 'P9', 'formal', 90000000, '2024-01-15', '2024-02-05 10:00+08');
    PERFORM pg_temp.verify('contract', 'P9f2', '2024-02-10 10:00+08');

    -- C: an intent (verified), and a formal contract never verified
    PERFORM pg_temp.project('P10', 'C');
    PERFORM pg_temp.contract('P10x', 'P10', 'intent', 300000000, '2024-06-01', '2024-06-02 10:00+08');
    PERFORM pg_temp.verify('contract', 'P10x', '2024-06-05 10:00+08');
    PERFORM pg_temp.project('P11', 'C');
    PERFORM pg_temp.contract('P11f', 'P11', 'formal', 10000000, '2024-07-01', '2024-07-02 10:00+08');
END
$$;

SELECT is((SELECT array_agg(ARRAY[kpi_day(reported_at), kpi_day(verified_at), kpi_day(revoked_at)]::text
                            ORDER BY id)
             FROM contract WHERE id IN (pg_temp.id('P3f'), pg_temp.id('P9f'))),
          ARRAY['{2024-04-11,2024-04-15,2024-08-01}', '{2023-11-21,2023-11-25,2024-02-01}'],
          'fixtures: the owner''s historical claim times are kept (reported, verified, revoked)');
-- A project with verified claims moves (its claims follow it).
SELECT lives_ok($$SELECT pg_temp.move('P6', 'B', '2024-09-15 12:00+08')$$,
                'fixtures: P6, with verified claims, moves from A to B (on 2024-09-15 12:00)');
SELECT is((SELECT unit_id FROM project WHERE id = pg_temp.id('P6')), pg_temp.id('B'),
          'fixtures: P6 is now in B');

-- ==== time progress (序时进度) ====

-- 2024 is a leap year: 1 March is day 31 + 29 + 1 = 61 of 366.
SELECT is(kpi_time_progress(2024, '2024-03-01'), 61::numeric / 366, 'time progress 2024-03-01 = 61/366 (leap year)');
-- 2023 is not: 1 March is day 31 + 28 + 1 = 60 of 365.
SELECT is(kpi_time_progress(2023, '2023-03-01'), 60::numeric / 365, 'time progress 2023-03-01 = 60/365');
-- 29 February 2024 is day 31 + 29 = 60 of 366.
SELECT is(kpi_time_progress(2024, '2024-02-29'), 60::numeric / 366, 'time progress 2024-02-29 = 60/366');
-- 2100 is not a leap year (a century not divisible by 400): 60/365; 2000 is: 61/366.
SELECT is(kpi_time_progress(2100, '2100-03-01'), 60::numeric / 365, 'time progress 2100-03-01 = 60/365 (2100 is not leap)');
SELECT is(kpi_time_progress(2000, '2000-03-01'), 61::numeric / 366, 'time progress 2000-03-01 = 61/366 (2000 is leap)');
SELECT is(kpi_time_progress(2024, '2024-01-01'), 1::numeric / 366, 'time progress on 1 January = 1/366');
SELECT is(kpi_time_progress(2024, '2024-12-31'), 1::numeric, 'time progress on 31 December = 1');
SELECT is(kpi_time_progress(2023, '2023-12-31'), 1::numeric, 'time progress on 31 December 2023 = 365/365 = 1');
SELECT is(kpi_time_progress(2024, '2023-12-31'), 0::numeric, 'time progress before the year = 0');
SELECT is(kpi_time_progress(2024, '2025-01-01'), 1::numeric, 'time progress after the year = 1');
-- As of defaults to today: all that is known now, also of a past year.
SELECT is(kpi_as_of(2024, NULL), crm_today(), 'kpi_as_of of a past year defaults to today (all that is known now)');
SELECT is(kpi_as_of(extract(year FROM crm_today())::int, NULL), crm_today(), 'kpi_as_of of this year defaults to today');
SELECT is(kpi_as_of(2024, '2024-05-06'), '2024-05-06'::date, 'kpi_as_of keeps a date given');

-- ==== needed starts ====

-- 10 signed, 5 started, target 70%: 7/10 needs 2 more (6/10 = 0.6 < 0.7).
SELECT is(kpi_needed_starts(10, 5, 0.7), 2, 'needed starts (10 signed, 5 started, 0.7) = 2');
-- 3 signed, 0 started: 0.7 * 3 = 2.1, so 3 (2/3 = 0.667 < 0.7).
SELECT is(kpi_needed_starts(3, 0, 0.7), 3, 'needed starts (3, 0, 0.7) = 3');
-- 7 signed, 4 started: 0.7 * 7 = 4.9, so 5: one more.
SELECT is(kpi_needed_starts(7, 4, 0.7), 1, 'needed starts (7, 4, 0.7) = 1');
-- 10 signed, 7 started: 7/10 = 0.7 is the target exactly: none.
SELECT is(kpi_needed_starts(10, 7, 0.7), 0, 'needed starts (10, 7, 0.7) = 0 (on target exactly)');
SELECT is(kpi_needed_starts(10, 9, 0.7), 0, 'needed starts (10, 9, 0.7) = 0 (above target)');
-- 20 signed, 0 started: 0.7 * 20 = 14.
SELECT is(kpi_needed_starts(20, 0, 0.7), 14, 'needed starts (20, 0, 0.7) = 14');
-- 3 signed, 1 started, target 100%: 2.
SELECT is(kpi_needed_starts(3, 1, 1.0), 2, 'needed starts (3, 1, 1.0) = 2');

-- ==== a capital increase in a later year ====

-- P1 alone is A's 2023 as of 2023-12-31: 100,000,000 signed and started in
-- 2023 (P4 is verified only on 2024-01-03).
SELECT * FROM pg_temp.figs('A', 2023, '2023-12-31', 'verified', 100000000, 1, 1, 100000000, 100000000,
                           'P1 signed and started in 2023; P4 not yet verified');
-- A in 2024 as of 2024-03-09: P1's increase (verified 2024-03-10) not yet: 0.
SELECT * FROM pg_temp.figs('A', 2024, '2024-03-09', 'verified', 0, 0, 0, 0, 0,
                           'before the capital increase is verified: nothing');
-- As of 2024-03-10: the increment 30,000,000 counts in 2024, P1 is not signed in 2024.
SELECT * FROM pg_temp.figs('A', 2024, '2024-03-10', 'verified', 30000000, 0, 0, 0, 0,
                           'the capital increase counts its increment in its own year only');
-- ... and 2023 is unchanged by it, as of the year's end of 2024:
-- P1 100,000,000 + P4 80,000,000 = 180,000,000; 2 signed (P1, P4), 1 started
-- in 2023 (P1); started amount P1 100,000,000.
SELECT * FROM pg_temp.figs('A', 2023, '2024-12-31', 'verified', 180000000, 2, 1, 180000000, 100000000,
                           '2023 holds P1 and P4, not the 2024 increase');

-- ==== intents never count; a later formal contract neither ====

-- A 2024 as of 2024-07-31: P1's increase 30,000,000 + P3 200,000,000 +
-- P6 60,000,000 = 290,000,000 (P1's intent 700,000,000, P2's intent
-- 500,000,000 and P1's second formal 50,000,000 do not count); signed P3, P6
-- = 2 (260,000,000), both started (verified 05-05 and 06-05).
SELECT * FROM pg_temp.figs('A', 2024, '2024-07-31', 'verified', 290000000, 2, 2, 260000000, 260000000,
                           'intents and a second formal contract do not count');
-- C has only an intent (verified) and an unverified formal contract.
SELECT * FROM pg_temp.figs('C', 2024, '2024-12-31', 'verified', 0, 0, 0, 0, 0,
                           'a verified intent of 300,000,000 counts nothing');

-- ==== a revoked claim ====

-- P3 verified 2024-04-15 04:00 CST: as of 2024-04-14 A has P1's increase only.
SELECT * FROM pg_temp.figs('A', 2024, '2024-04-14', 'verified', 30000000, 0, 0, 0, 0,
                           'P3 verified at 04:00 CST on 15 April (14 April in UTC) is not counted as of 14 April');
-- As of 2024-04-15: 30,000,000 + 200,000,000 = 230,000,000; P3 signed, its start not yet.
SELECT * FROM pg_temp.figs('A', 2024, '2024-04-15', 'verified', 230000000, 1, 0, 200000000, 0,
                           'P3 counts from the day of its verification (CST)');
-- Revoked 2024-08-01 10:00: as of 08-01 P3 is gone (with its start): P1's
-- increase 30,000,000 + P6 60,000,000 = 90,000,000; P6 signed and started.
SELECT * FROM pg_temp.figs('A', 2024, '2024-08-01', 'verified', 90000000, 1, 1, 60000000, 60000000,
                           'P3 revoked on 1 August no longer counts as of that day');
SELECT * FROM pg_temp.figs('A', 2024, '2024-07-31', 'reported', 290000000, 2, 2, 260000000, 260000000,
                           'reported basis: P3 counts before its revocation');
SELECT * FROM pg_temp.figs('A', 2024, '2024-08-01', 'reported', 90000000, 1, 1, 60000000, 60000000,
                           'reported basis: ... and not after');

-- ==== signed on 31 December, started on 1 January ====

-- P4 is signed in 2023 and started in 2024: as of 2024-01-04 (both verified)
-- A's 2023 is P1 + P4 = 180,000,000, 2 signed, 1 started (P1 only).
SELECT * FROM pg_temp.figs('A', 2023, '2024-01-04', 'verified', 180000000, 2, 1, 180000000, 100000000,
                           'P4 signed 2023-12-31 is signed in 2023 but not started in 2023');
-- ... and A's 2024 as of 2024-01-04 has nothing: P4 is not signed in 2024,
-- so its 2024 start is not a same-year start.
SELECT * FROM pg_temp.figs('A', 2024, '2024-01-04', 'verified', 0, 0, 0, 0, 0,
                           'P4 started 2024-01-01 is not a 2024 signing nor a 2024 same-year start');

-- ==== as_of before a verification ====

-- P4 is verified on 2024-01-03: as of 2024-01-02 A's 2023 is P1 alone.
SELECT * FROM pg_temp.figs('A', 2023, '2024-01-02', 'verified', 100000000, 1, 1, 100000000, 100000000,
                           'as of the day before P4''s verification: without it');
-- ... while on the reported basis P4 (reported 2024-01-02) is there.
SELECT * FROM pg_temp.figs('A', 2023, '2024-01-02', 'reported', 180000000, 2, 1, 180000000, 100000000,
                           'reported basis: P4 counts from its report');
SELECT * FROM pg_temp.figs('A', 2023, '2024-01-01', 'reported', 100000000, 1, 1, 100000000, 100000000,
                           'reported basis: not the day before its report');
-- P9's first contract (verified 2023-11-25) counted in 2023 until its
-- revocation on 2024-02-01: B's 2023 as of 2023-11-24, 2023-11-25,
-- 2024-01-31, 2024-02-01.
SELECT * FROM pg_temp.figs('B', 2023, '2023-11-24', 'verified', 0, 0, 0, 0, 0, 'before P9''s verification');
SELECT * FROM pg_temp.figs('B', 2023, '2023-11-25', 'verified', 85000000, 1, 0, 85000000, 0,
                           'P9 verified: 85,000,000 signed in 2023, not started');
SELECT * FROM pg_temp.figs('B', 2023, '2024-01-31', 'verified', 85000000, 1, 0, 85000000, 0,
                           'P9 still counts in 2023 the day before its revocation');
SELECT * FROM pg_temp.figs('B', 2023, '2024-02-01', 'verified', 0, 0, 0, 0, 0,
                           'P9 revoked: 2023 loses it');
-- Its new contract dated 2024-01-15 is verified 2024-02-10: B's 2024.
SELECT * FROM pg_temp.figs('B', 2024, '2024-02-09', 'verified', 0, 0, 0, 0, 0,
                           'P9''s new contract not yet verified');
SELECT * FROM pg_temp.figs('B', 2024, '2024-02-10', 'verified', 90000000, 1, 0, 90000000, 0,
                           'P9 re-signed with a 2024 date counts in 2024: 90,000,000');
-- The county's 2023 as of 2024-01-31: A (P1 100,000,000 + P4 80,000,000) + B
-- (P9 85,000,000) = 265,000,000; 3 signed, 1 started (P1, 100,000,000).
SELECT * FROM pg_temp.figs('K', 2023, '2024-01-31', 'verified', 265000000, 3, 1, 265000000, 100000000,
                           'county 2023 = A + B while P9 still counted');

-- ==== a start reported before its signing is verified ====

-- P5: start verified 03-25, signing verified 04-10. B's 2024 as of 2024-03-31:
-- only P9's 90,000,000 (signed, not started); P5 not signed yet, so its
-- verified start does not count.
SELECT * FROM pg_temp.figs('B', 2024, '2024-03-31', 'verified', 90000000, 1, 0, 90000000, 0,
                           'P5''s verified start does not count while its signing is unverified');
SELECT * FROM pg_temp.figs('B', 2024, '2024-04-09', 'verified', 90000000, 1, 0, 90000000, 0,
                           '... still the day before the signing is verified');
-- As of 2024-04-10: 90,000,000 + 150,000,000 = 240,000,000, 2 signed, 1
-- started (P5, 150,000,000).
SELECT * FROM pg_temp.figs('B', 2024, '2024-04-10', 'verified', 240000000, 2, 1, 240000000, 150000000,
                           'P5 signed and started once its signing is verified');
-- Reported basis: P5 reported 03-02, its start 03-21.
SELECT * FROM pg_temp.figs('B', 2024, '2024-03-15', 'reported', 240000000, 2, 0, 240000000, 0,
                           'reported basis: P5 signed, its start not yet reported');
SELECT * FROM pg_temp.figs('B', 2024, '2024-03-31', 'reported', 240000000, 2, 1, 240000000, 150000000,
                           'reported basis: P5 signed and started');

-- ==== a project moved to another town ====

-- P6 moves from A to B on 2024-09-15 at noon. As of 2024-09-14:
-- A = P1's increase 30,000,000 + P6 60,000,000 = 90,000,000, P6 signed and started;
-- B = P9 90,000,000 + P5 150,000,000 = 240,000,000, 2 signed, 1 started (P5).
SELECT * FROM pg_temp.figs('A', 2024, '2024-09-14', 'verified', 90000000, 1, 1, 60000000, 60000000,
                           'before the move, P6 is A''s');
SELECT * FROM pg_temp.figs('B', 2024, '2024-09-14', 'verified', 240000000, 2, 1, 240000000, 150000000,
                           'before the move, P6 is not B''s');
-- As of 2024-09-15: A = 30,000,000 only; B = 240,000,000 + 60,000,000 =
-- 300,000,000, 3 signed, 2 started (P5 150,000,000 + P6 60,000,000 = 210,000,000).
SELECT * FROM pg_temp.figs('A', 2024, '2024-09-15', 'verified', 30000000, 0, 0, 0, 0,
                           'after the move, P6 left A');
SELECT * FROM pg_temp.figs('B', 2024, '2024-09-15', 'verified', 300000000, 3, 2, 300000000, 210000000,
                           'after the move, P6 is B''s, with its earlier claims');
-- The county is the same on both days: 90,000,000 + 240,000,000 = 330,000,000
-- = 30,000,000 + 300,000,000; 3 signed, 2 started.
SELECT * FROM pg_temp.figs('K', 2024, '2024-09-14', 'verified', 330000000, 3, 2, 300000000, 210000000,
                           'county before the move');
SELECT * FROM pg_temp.figs('K', 2024, '2024-09-15', 'verified', 330000000, 3, 2, 300000000, 210000000,
                           'county after the move: the same');
-- A past as of keeps P6 in A, even asked today.
SELECT * FROM pg_temp.figs('A', 2024, '2024-06-30', 'verified', 290000000, 2, 2, 260000000, 260000000,
                           'as of June, A still holds P6 (30,000,000 + 200,000,000 + 60,000,000)');

-- ==== the year's end: subtree roll-up, reported vs verified ====

-- Verified, 2024 as of 2024-12-31:
-- A = P1's increase 30,000,000 (P3 revoked, P6 moved): (30,000,000, 0, 0, 0, 0)
-- B = P5 150,000,000 (started) + P6 60,000,000 (started) + P9 90,000,000:
--     (300,000,000, 3, 2, 300,000,000, 210,000,000); P7 unverified, P8 withdrawn
-- C = nothing; county = A + B + C.
SELECT * FROM pg_temp.figs('A', 2024, '2024-12-31', 'verified', 30000000, 0, 0, 0, 0, 'A at the year''s end');
SELECT * FROM pg_temp.figs('B', 2024, '2024-12-31', 'verified', 300000000, 3, 2, 300000000, 210000000,
                           'B at the year''s end');
SELECT * FROM pg_temp.figs('K', 2024, '2024-12-31', 'verified', 330000000, 3, 2, 300000000, 210000000,
                           'county = A + B + C (30,000,000 + 300,000,000 + 0)');
-- Reported, 2024 as of 2024-12-31: B adds P7 40,000,000 (signed, not
-- started): (340,000,000, 4, 2, 340,000,000, 210,000,000); C has P11
-- 10,000,000: (10,000,000, 1, 0, 10,000,000, 0); county = 30,000,000 +
-- 340,000,000 + 10,000,000 = 380,000,000, 5 signed, 2 started, signed amount
-- 350,000,000, started 210,000,000.
SELECT * FROM pg_temp.figs('B', 2024, '2024-12-31', 'reported', 340000000, 4, 2, 340000000, 210000000,
                           'reported basis: B with P7 (never verified)');
SELECT * FROM pg_temp.figs('C', 2024, '2024-12-31', 'reported', 10000000, 1, 0, 10000000, 0,
                           'reported basis: C with P11 (never verified)');
SELECT * FROM pg_temp.figs('K', 2024, '2024-12-31', 'reported', 380000000, 5, 2, 350000000, 210000000,
                           'reported basis: county = A + B + C');
-- P8 reported 11-02, withdrawn 11-20 10:00: B reported as of 11-10 = 340,000,000
-- + 25,000,000 = 365,000,000, 5 signed; as of 11-20 it is gone.
SELECT * FROM pg_temp.figs('B', 2024, '2024-11-10', 'reported', 365000000, 5, 2, 365000000, 210000000,
                           'reported basis: P8 counts while reported');
SELECT * FROM pg_temp.figs('B', 2024, '2024-11-20', 'reported', 340000000, 4, 2, 340000000, 210000000,
                           'reported basis: P8 withdrawn');
SELECT * FROM pg_temp.figs('B', 2024, '2024-11-10', 'verified', 300000000, 3, 2, 300000000, 210000000,
                           'verified basis: P8 never counted');
-- The city above the county holds the county's figures (the demo county has
-- no projects): 330,000,000, 3, 2.
SELECT * FROM pg_temp.figs('city', 2024, '2024-12-31', 'verified', 330000000, 3, 2, 300000000, 210000000,
                           'the city rolls up the county');
-- Before anything happened, and a year with nothing.
SELECT * FROM pg_temp.figs('K', 2024, '2023-12-31', 'verified', 0, 0, 0, 0, 0,
                           'as of before the year: nothing of 2024 known');
SELECT * FROM pg_temp.figs('K', 2025, '2025-12-31', 'verified', 0, 0, 0, 0, 0, 'a year with nothing');

-- ==== stats_unit: rates, null when nothing is signed; targets; needed starts ====

-- The county's 2024 target: 660,000,000, 10 projects, 70%.
INSERT INTO target (unit_id, year, signing_amount_yuan, signed_count, start_rate, set_by)
VALUES (pg_temp.id('K'), 2024, 660000000, 10, 0.7, pg_temp.id('u_ver'));

SELECT is(pg_temp.stats('C', 2024, '2024-12-31') -> 'verified' -> 'start_rate', 'null'::jsonb,
          'stats_unit: C signed nothing verified: its start rate is null, not 0');
SELECT is(pg_temp.stats('C', 2024, '2024-12-31') -> 'verified' -> 'start_rate_by_amount', 'null'::jsonb,
          'stats_unit: ... and by amount too');
SELECT is(pg_temp.stats('C', 2024, '2024-12-31') -> 'verified' -> 'signed_count', '0'::jsonb,
          'stats_unit: ... with 0 signed');
-- Reported, C has P11 signed and not started: 0/1 = 0.
SELECT is(pg_temp.stats('C', 2024, '2024-12-31') -> 'reported' -> 'start_rate', '0'::jsonb,
          'stats_unit: C reported 1 signed, 0 started: start rate 0');
-- A in 2024: a signing amount (the increase) but nothing signed: null.
SELECT is(pg_temp.stats('A', 2024, '2024-12-31') -> 'verified' -> 'start_rate', 'null'::jsonb,
          'stats_unit: A has a 2024 increase but no 2024 signing: start rate null');
SELECT is((pg_temp.stats('A', 2024, '2024-12-31') -> 'verified' ->> 'signing_amount_yuan')::bigint, 30000000::bigint,
          'stats_unit: ... signing amount 30,000,000');
-- A in 2023: 1 of 2 started = 0.5; by amount 100,000,000 / 180,000,000 = 5/9.
SELECT is((pg_temp.stats('A', 2023, '2024-12-31') -> 'verified' ->> 'start_rate')::numeric, 0.5,
          'stats_unit: A 2023 start rate 1/2 = 0.5');
SELECT is(round((pg_temp.stats('A', 2023, '2024-12-31') -> 'verified' ->> 'start_rate_by_amount')::numeric, 6),
          round(5::numeric / 9, 6), 'stats_unit: A 2023 start rate by amount 100/180 = 5/9');
-- The county, 2024 as of 2024-12-31: verified 330,000,000, 3 signed, 2 started.
SELECT is((SELECT jsonb_build_object('a', j -> 'verified' -> 'signing_amount_yuan', 'n', j -> 'verified' -> 'signed_count',
                                     's', j -> 'verified' -> 'started_count')
             FROM pg_temp.stats('K', 2024, '2024-12-31') j),
          '{"a": 330000000, "n": 3, "s": 2}'::jsonb, 'stats_unit: the county''s verified 2024 figures');
SELECT is((SELECT jsonb_build_object('a', j -> 'reported' -> 'signing_amount_yuan', 'n', j -> 'reported' -> 'signed_count',
                                     's', j -> 'reported' -> 'started_count')
             FROM pg_temp.stats('K', 2024, '2024-12-31') j),
          '{"a": 380000000, "n": 5, "s": 2}'::jsonb, 'stats_unit: the county''s reported 2024 figures');
-- 2/3 started; by amount 210,000,000 / 300,000,000 = 0.7.
SELECT is(round((pg_temp.stats('K', 2024, '2024-12-31') -> 'verified' ->> 'start_rate')::numeric, 6),
          round(2::numeric / 3, 6), 'stats_unit: county start rate 2/3');
SELECT is((pg_temp.stats('K', 2024, '2024-12-31') -> 'verified' ->> 'start_rate_by_amount')::numeric, 0.7,
          'stats_unit: county start rate by amount 210,000,000 / 300,000,000 = 0.7');
-- Progress: 330,000,000 / 660,000,000 = 0.5 against time progress 1 (31
-- December): behind.
SELECT is((pg_temp.stats('K', 2024, '2024-12-31') -> 'verified' ->> 'signing_progress')::numeric, 0.5,
          'stats_unit: signing progress 330,000,000 / 660,000,000 = 0.5');
SELECT is(pg_temp.stats('K', 2024, '2024-12-31') -> 'verified' -> 'behind', 'true'::jsonb,
          'stats_unit: 0.5 < time progress 1: behind');
SELECT is((pg_temp.stats('K', 2024, '2024-12-31') ->> 'time_progress')::numeric, 1::numeric,
          'stats_unit: time progress on 31 December is 1');
-- As of 2024-03-01: time progress 61/366 = 0.1667; verified 2024 as of then:
-- P1's increase not yet (03-10), P9's 90,000,000 (02-10): 90,000,000 /
-- 660,000,000 = 0.136 < 0.1667: behind.
SELECT is(round((pg_temp.stats('K', 2024, '2024-03-01') ->> 'time_progress')::numeric, 6),
          round(61::numeric / 366, 6), 'stats_unit: time progress on 2024-03-01 is 61/366');
SELECT is(pg_temp.stats('K', 2024, '2024-03-01') -> 'verified' -> 'behind', 'true'::jsonb,
          'stats_unit: 90,000,000 / 660,000,000 = 0.136 < 61/366 = 0.167: behind');
-- As of 2024-04-15: P1's increase 30,000,000 + P9 90,000,000 + P5 150,000,000
-- + P3 200,000,000 = 470,000,000; 470/660 = 0.712 > 106/366 = 0.290: not behind.
SELECT is((pg_temp.stats('K', 2024, '2024-04-15') -> 'verified' ->> 'signing_amount_yuan')::bigint, 470000000::bigint,
          'stats_unit: county as of 2024-04-15: 30,000,000 + 90,000,000 + 150,000,000 + 200,000,000');
SELECT is(pg_temp.stats('K', 2024, '2024-04-15') -> 'verified' -> 'behind', 'false'::jsonb,
          'stats_unit: 0.712 > 106/366: not behind');
-- Needed starts: 3 signed, 2 started, target 0.7: 0.7 * 3 = 2.1, so 3: one more.
SELECT is((pg_temp.stats('K', 2024, '2024-12-31') -> 'verified' ->> 'needed_starts')::int, 1,
          'stats_unit: needed starts (3 signed, 2 started, 70%) = 1');
SELECT ok(pg_temp.stats('K', 2024, '2024-12-31') -> 'target'
          @> '{"signing_amount_yuan": 660000000, "signed_count": 10, "start_rate": 0.7}'::jsonb,
          'stats_unit: the county''s target');
-- No target: progress and behind are null.
SELECT is(pg_temp.stats('B', 2024, '2024-12-31') -> 'target', 'null'::jsonb, 'stats_unit: B has no target: null');
SELECT is(pg_temp.stats('B', 2024, '2024-12-31') -> 'verified' -> 'signing_progress', 'null'::jsonb,
          'stats_unit: ... and no signing progress');
SELECT is(pg_temp.stats('B', 2024, '2024-12-31') -> 'verified' -> 'behind', 'null'::jsonb,
          'stats_unit: ... nor behind');

-- ==== the roll-ups survive a rebuild ====

CREATE TEMP TABLE kpi_points AS
SELECT u.k, y AS year, d::date AS as_of, b AS basis
  FROM (VALUES ('K'), ('A'), ('B'), ('C')) AS u (k),
       generate_series(2023, 2024) AS y,
       generate_series('2023-06-01'::date, '2025-01-31'::date, interval '1 day') AS d,
       (VALUES ('verified'), ('reported')) AS bb (b);
CREATE TEMP TABLE kpi_before AS
SELECT p.*, kpi_fast(pg_temp.id(p.k), p.year, p.as_of, p.basis) AS f FROM kpi_points p;
SELECT is((SELECT format('%s %s as of %s (%s): fast %s, reference %s', k, year, as_of, basis, f, r)
             FROM (SELECT b.*, kpi_reference(pg_temp.id(b.k), b.year, b.as_of, b.basis) AS r FROM kpi_before b) q
            WHERE f IS DISTINCT FROM r ORDER BY as_of, k, year, basis LIMIT 1),
          NULL, 'kpi_fast = kpi_reference on every day from 2023-06-01 to 2025-01-31, each town, both years, both bases');
SELECT lives_ok('SELECT kpi_rebuild()', 'kpi_rebuild() runs');
SELECT is((SELECT format('%s %s as of %s (%s): before %s, after %s', k, year, as_of, basis, f, a)
             FROM (SELECT b.*, kpi_fast(pg_temp.id(b.k), b.year, b.as_of, b.basis) AS a FROM kpi_before b) q
            WHERE f IS DISTINCT FROM a ORDER BY as_of, k, year, basis LIMIT 1),
          NULL, 'kpi_fast gives the same figures after kpi_rebuild()');

SELECT * FROM finish();
ROLLBACK;
