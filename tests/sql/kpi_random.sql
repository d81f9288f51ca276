-- The KPI fast path against the reference, on random histories (issue 5:
-- "a randomized test generates at least 200 random histories ... and checks
-- that the fast path equals the reference on every figure"). Run by
-- tests/sql/run.sh on a scratch database (migrations applied, demo units
-- loaded); deterministic: setseed() fixes every random choice.
--
-- Runs as crm_owner in a county of its own (随机县 sx.yc.kr: towns r1..r4, a
-- zone r1z inside r1, and projects held by the county itself). For each of
-- 240 projects it draws a history, in owner-given historical times spread
-- over 2023-2025 (China Standard Time, any hour of the day, so that many fall
-- on the other side of midnight in UTC):
--   intent contracts (verified, revoked, deleted unverified); a first formal
--   contract, sometimes corrected (re-dated, possibly into another year, and
--   its amount changed) before its verification, then verified, revoked after
--   verification or withdrawn unverified; after a revocation a new formal
--   contract dated in another year (itself sometimes re-dated, verified,
--   revoked); sometimes a second formal contract (never counts while the
--   first stands); capital increases (verified, revoked, deleted unverified,
--   some dated before the signing); starts reported before or after the
--   signing is verified, re-dated while unverified, verified, revoked and
--   re-reported with a date in another year; moves between the units.
-- The events of all projects are applied in the order of their times through
-- ordinary INSERT / UPDATE / DELETE on contract and project_start (and
-- project_transition to sign, since starts and increases need a signed
-- project), so the claim triggers maintain the roll-ups as they would in
-- service. Per claim reported_at <= verified_at <= revoked_at, as claim_rules
-- requires. A move is an UPDATE of project.unit_id (whose trigger records the
-- placement at now()); the owner then back-dates that placement to the move's
-- historical time and calls kpi_refresh for the project (0006 has no way to
-- give a move its time). Some projects also move now, after all the
-- history, through the trigger alone; today is among the dates compared.
--
-- Then for every unit of the county (county, towns, zone) x years 2022..2025
-- x as_of dates (every month end, every 31 December and 1 January, and the
-- day of and the day before a sample of the events) x both bases, kpi_fast
-- must equal kpi_reference on all five figures: one assertion per unit and
-- basis, whose failure shows the first mismatch. The month and calendar
-- year sums (kpi_rollup_month) must be those of the days, and
-- kpi_rebuild() must leave the roll-ups and the figures as they were.

\set ON_ERROR_STOP 1

BEGIN;
SELECT plan(31);
SELECT setseed(0.20240229);

-- ---- fixtures ----

DO $$
DECLARE
    hash constant text := '$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
    k bigint;
    r1 bigint;
BEGIN
    INSERT INTO unit (parent_id, code, name, kind)
    SELECT id, 'sx.yc.kr', '随机县', 'county' FROM unit WHERE code = 'sx.yc' RETURNING id INTO k;
    INSERT INTO unit (parent_id, code, name, kind)
    VALUES (k, 'sx.yc.kr.r1', '一镇', 'town'), (k, 'sx.yc.kr.r2', '二镇', 'town'),
           (k, 'sx.yc.kr.r3', '三乡', 'township'), (k, 'sx.yc.kr.r4', '四镇', 'town');
    SELECT id INTO r1 FROM unit WHERE code = 'sx.yc.kr.r1';
    INSERT INTO unit (parent_id, code, name, kind) VALUES (r1, 'sx.yc.kr.r1.z', '一镇园区', 'zone');
    INSERT INTO app_user (username, display_name, role, unit_id, password_hash)
    VALUES ('kr.rep', '招商局', 'bureau', k, hash), ('kr.ver', '考核办', 'viewer', k, hash),
           ('kr.leader', '县领导', 'leader', k, hash);
    INSERT INTO investor (unit_id, name) VALUES (k, '随机投资方');
END
$$;

CREATE TEMP TABLE kr_unit AS SELECT id, code FROM unit WHERE code LIKE 'sx.yc.kr%' ORDER BY code;
CREATE TEMP TABLE kr_user AS SELECT id, split_part(username, '.', 2) AS k FROM app_user WHERE username LIKE 'kr.%';

CREATE FUNCTION pg_temp.unit(p_code text) RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT id FROM kr_unit WHERE code = 'sx.yc.kr' || p_code $$;
CREATE FUNCTION pg_temp.usr(p_k text) RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT id FROM kr_user WHERE k = p_k $$;

-- ---- the generator ----

-- The events, applied in (ts, seq) order; claim keys are '<project>.<name>'.
CREATE TEMP TABLE ev (
    seq    bigint GENERATED ALWAYS AS IDENTITY,
    ts     timestamptz NOT NULL,
    op     text NOT NULL,   -- report, redate, sign, verify, revoke, delete, move
    proj   integer NOT NULL,
    claim  text,
    tbl    text,            -- contract, project_start
    kind   text,
    amount bigint,
    d      date,
    unit   text
);
CREATE TEMP TABLE kr_project (n integer PRIMARY KEY, id bigint NOT NULL);
CREATE TEMP TABLE kr_claim (claim text PRIMARY KEY, id bigint NOT NULL);

-- The history ends before 2026 (and so before today).
CREATE FUNCTION pg_temp.cap() RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$ SELECT '2025-12-31 22:00+08'::timestamptz $$;

-- A random instant up to p_days days after t (NULL when t is NULL or it
-- falls after the end of the history: what depends on it does not happen).
CREATE FUNCTION pg_temp.later(t timestamptz, p_days numeric) RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    r timestamptz;
BEGIN
    IF t IS NULL THEN RETURN NULL; END IF;
    r := t + random() * p_days * interval '1 day';
    RETURN CASE WHEN r <= pg_temp.cap() THEN r END;
END
$$;

-- The CST day of an instant, minus up to p_back random days.
CREATE FUNCTION pg_temp.day_before(t timestamptz, p_back integer) RETURNS date LANGUAGE sql AS
$$ SELECT kpi_day(t) - floor(random() * (p_back + 1))::integer $$;

-- A random day in [lo, hi] (hi when lo > hi).
CREATE FUNCTION pg_temp.day_between(lo date, hi date) RETURNS date LANGUAGE sql AS
$$ SELECT CASE WHEN lo > hi THEN hi ELSE lo + floor(random() * (hi - lo + 1))::integer END $$;

-- A random day of the year before or after d's (the year before when the
-- year after would pass hi).
CREATE FUNCTION pg_temp.other_year(d date, hi date) RETURNS date LANGUAGE plpgsql AS $$
DECLARE
    y integer := extract(year FROM d)::integer + CASE WHEN random() < 0.5 THEN -1 ELSE 1 END;
    r date;
BEGIN
    r := make_date(y, 1, 1) + floor(random() * kpi_days_in_year(y))::integer;
    IF r > hi THEN
        y := extract(year FROM d)::integer - 1;
        r := make_date(y, 1, 1) + floor(random() * kpi_days_in_year(y))::integer;
    END IF;
    RETURN r;
END
$$;

CREATE FUNCTION pg_temp.amount() RETURNS bigint LANGUAGE sql AS
$$ SELECT ((1 + floor(random() * 800)) * 1000000 + floor(random() * 100000))::bigint $$;

CREATE FUNCTION pg_temp.emit(p_ts timestamptz, p_op text, p_proj integer, p_claim text DEFAULT NULL,
                             p_tbl text DEFAULT NULL, p_kind text DEFAULT NULL, p_amount bigint DEFAULT NULL,
                             p_d date DEFAULT NULL, p_unit text DEFAULT NULL) RETURNS void LANGUAGE sql AS $$
    INSERT INTO ev (ts, op, proj, claim, tbl, kind, amount, d, unit)
    SELECT p_ts, p_op, p_proj, p_claim, p_tbl, p_kind, p_amount, p_d, p_unit WHERE p_ts IS NOT NULL
$$;

-- The fate of a reported claim after t: verified (p_verify), then perhaps
-- revoked (p_revoke); or withdrawn unverified (p_withdraw); or deleted
-- unverified (p_delete, only for claims no stage rests on); else left
-- reported. Returns the time it stopped counting (revoked or deleted), or NULL.
CREATE FUNCTION pg_temp.fate(p_proj integer, p_claim text, p_tbl text, t timestamptz,
                             p_verify numeric, p_revoke numeric, p_withdraw numeric, p_delete numeric)
RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
    r numeric := random();
    tv timestamptz;
    tr timestamptz;
BEGIN
    IF t IS NULL THEN RETURN NULL; END IF;
    IF r < p_verify THEN
        tv := pg_temp.later(t, 45);
        PERFORM pg_temp.emit(tv, 'verify', p_proj, p_claim, p_tbl);
        IF random() < p_revoke THEN
            tr := pg_temp.later(tv, 300);
            PERFORM pg_temp.emit(tr, 'revoke', p_proj, p_claim, p_tbl);
        END IF;
    ELSIF r < p_verify + p_withdraw THEN
        tr := pg_temp.later(t, 60);
        PERFORM pg_temp.emit(tr, 'revoke', p_proj, p_claim, p_tbl);
    ELSIF r < p_verify + p_withdraw + p_delete THEN
        tr := pg_temp.later(t, 60);
        PERFORM pg_temp.emit(tr, 'delete', p_proj, p_claim, p_tbl);
    END IF;
    RETURN tr;
END
$$;

CREATE FUNCTION pg_temp.generate(p_projects integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    units constant text[] := ARRAY['', '.r1', '.r1.z', '.r2', '.r3', '.r4'];
    p integer;
    t0 timestamptz; t timestamptz; tsign timestamptz; tgone timestamptz; tprev timestamptz;
    d1 date; d date;
    c text;
    i integer;
    gone timestamptz;
    pid bigint;
BEGIN
    FOR p IN 1 .. p_projects LOOP
        INSERT INTO project (code, name, unit_id, investor_id, leader_id, planned_investment_yuan, stage)
        VALUES ('KR-' || p, '随机项目 ' || p, pg_temp.unit(units[1 + floor(random() * 6)::integer]),
                (SELECT id FROM investor WHERE name = '随机投资方'), pg_temp.usr('leader'), 900000000, 'negotiating')
        RETURNING id INTO pid;
        INSERT INTO kr_project VALUES (p, pid);
        t0 := '2023-01-01 00:00+08'::timestamptz + random() * interval '980 days';

        -- intents, which never count
        IF random() < 0.35 THEN
            t := pg_temp.later(t0, 60);
            PERFORM pg_temp.emit(t, 'report', p, p || '.x', 'contract', 'intent', pg_temp.amount(),
                                 pg_temp.day_before(t, 20));
            PERFORM pg_temp.fate(p, p || '.x', 'contract', t, 0.6, 0.2, 0.1, 0.15);
        END IF;

        -- moves, anywhere in the history
        IF random() < 0.3 THEN
            t := pg_temp.later(t0, 400);
            FOR i IN 1 .. 1 + floor(random() * 2)::integer LOOP
                PERFORM pg_temp.emit(t, 'move', p, p_unit => units[1 + floor(random() * 6)::integer]);
                t := pg_temp.later(t, 300);
            END LOOP;
        END IF;
        -- and moves made now, after all the history (one or two in this
        -- transaction), left as the trigger records them
        IF random() < 0.15 THEN
            FOR i IN 1 .. 1 + floor(random() * 2)::integer LOOP
                PERFORM pg_temp.emit(pg_temp.cap(), 'move_now', p, p_unit => units[1 + floor(random() * 6)::integer]);
            END LOOP;
        END IF;

        CONTINUE WHEN random() < 0.12;   -- no formal contract at all

        -- the first formal contract, perhaps corrected before verification
        t := pg_temp.later(t0, 30);
        CONTINUE WHEN t IS NULL;
        d1 := pg_temp.day_before(t, 45);
        PERFORM pg_temp.emit(t, 'report', p, p || '.f1', 'contract', 'formal', pg_temp.amount(), d1);
        tsign := t;
        IF random() < 0.25 THEN
            tsign := pg_temp.later(t, 20);
            d1 := CASE WHEN random() < 0.5 THEN pg_temp.other_year(d1, kpi_day(tsign))
                       ELSE pg_temp.day_before(tsign, 60) END;
            PERFORM pg_temp.emit(tsign, 'redate', p, p || '.f1', 'contract', NULL,
                                 CASE WHEN random() < 0.5 THEN pg_temp.amount() END, d1);
        END IF;
        CONTINUE WHEN tsign IS NULL;
        PERFORM pg_temp.emit(tsign, 'sign', p);   -- signed_on = d1 from now on
        gone := pg_temp.fate(p, p || '.f1', 'contract', tsign, 0.75, 0.25, 0.1, 0);

        -- revoked or withdrawn: a new formal contract dated in another year
        IF gone IS NOT NULL AND random() < 0.7 THEN
            t := pg_temp.later(gone, 60);
            IF t IS NOT NULL THEN
                d := pg_temp.other_year(d1, kpi_day(t));
                PERFORM pg_temp.emit(t, 'report', p, p || '.f2', 'contract', 'formal', pg_temp.amount(), d);
                IF random() < 0.3 THEN
                    t := pg_temp.later(t, 15);
                    d := pg_temp.day_between(d1 + 1, kpi_day(coalesce(t, pg_temp.cap())));
                    PERFORM pg_temp.emit(t, 'redate', p, p || '.f2', 'contract', NULL, NULL, d);
                END IF;
                PERFORM pg_temp.fate(p, p || '.f2', 'contract', t, 0.7, 0.2, 0.1, 0);
            END IF;
        END IF;

        -- a second formal contract, later than the first
        IF random() < 0.15 THEN
            t := pg_temp.later(tsign, 200);
            IF t IS NOT NULL THEN
                PERFORM pg_temp.emit(t, 'report', p, p || '.f3', 'contract', 'formal', pg_temp.amount(),
                                     pg_temp.day_between(d1 + 1, kpi_day(t)));
                PERFORM pg_temp.fate(p, p || '.f3', 'contract', t, 0.7, 0.2, 0.1, 0);
            END IF;
        END IF;

        -- capital increases (some dated before the signing)
        FOR i IN 1 .. floor(random() * 3)::integer LOOP
            t := pg_temp.later(tsign, 400);
            CONTINUE WHEN t IS NULL;
            c := p || '.i' || i;
            PERFORM pg_temp.emit(t, 'report', p, c, 'contract', 'capital_increase', pg_temp.amount() / 4,
                                 CASE WHEN random() < 0.1 THEN d1 - floor(random() * 30)::integer
                                      ELSE pg_temp.day_between(d1, kpi_day(t)) END);
            PERFORM pg_temp.fate(p, c, 'contract', t, 0.7, 0.15, 0.05, 0.1);
        END LOOP;

        -- starts: reported (before or after the signing is verified), maybe
        -- re-dated, verified, revoked and reported again (up to 3 claims)
        IF random() < 0.7 THEN
            tprev := tsign;
            FOR i IN 1 .. 3 LOOP
                t := pg_temp.later(tprev, CASE i WHEN 1 THEN 150 ELSE 60 END);
                EXIT WHEN t IS NULL;
                c := p || '.s' || i;
                d := CASE WHEN i > 1 AND random() < 0.5 THEN
                              greatest(d1, least(kpi_day(t), pg_temp.other_year(d, kpi_day(t))))
                          ELSE pg_temp.day_between(d1, kpi_day(t)) END;
                PERFORM pg_temp.emit(t, 'report', p, c, 'project_start', NULL, NULL, d);
                IF random() < 0.2 THEN
                    t := pg_temp.later(t, 10);
                    d := pg_temp.day_between(d1, kpi_day(coalesce(t, pg_temp.cap())));
                    PERFORM pg_temp.emit(t, 'redate', p, c, 'project_start', NULL, NULL, d);
                    EXIT WHEN t IS NULL;
                END IF;
                tgone := pg_temp.fate(p, c, 'project_start', t, 0.75, 0.3, 0.05, 0.1);
                EXIT WHEN tgone IS NULL OR random() < 0.3;
                tprev := tgone;
            END LOOP;
        END IF;
    END LOOP;
END
$$;

-- Applies the events in the order of their times.
CREATE FUNCTION pg_temp.apply() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    e record;
    pid bigint;
    cid bigint;
BEGIN
    FOR e IN SELECT * FROM ev ORDER BY ts, seq LOOP
        pid := (SELECT id FROM kr_project WHERE n = e.proj);
        cid := (SELECT id FROM kr_claim WHERE claim = e.claim);
        CASE e.op
        WHEN 'report' THEN
            IF e.tbl = 'contract' THEN
                INSERT INTO contract (project_id, kind, amount_yuan, signed_on, evidence, reported_by, reported_at)
                VALUES (pid, e.kind, e.amount, e.d, '合同 ' || e.claim, pg_temp.usr('rep'), e.ts)
                RETURNING id INTO cid;
            ELSE
                INSERT INTO project_start (project_id, started_on, evidence, reported_by, reported_at)
                VALUES (pid, e.d, '开工 ' || e.claim, pg_temp.usr('rep'), e.ts)
                RETURNING id INTO cid;
            END IF;
            INSERT INTO kr_claim VALUES (e.claim, cid);
        WHEN 'redate' THEN
            EXECUTE format('UPDATE %I SET %I = $1 WHERE id = $2', e.tbl,
                           CASE e.tbl WHEN 'contract' THEN 'signed_on' ELSE 'started_on' END) USING e.d, cid;
            IF e.amount IS NOT NULL THEN
                UPDATE contract SET amount_yuan = e.amount WHERE id = cid;
            END IF;
        WHEN 'sign' THEN
            PERFORM project_transition(pid, 'signed', NULL, NULL);
        WHEN 'verify' THEN
            EXECUTE format('UPDATE %I SET verified_at = $1, verified_by = $2 WHERE id = $3', e.tbl)
              USING e.ts, pg_temp.usr('ver'), cid;
        WHEN 'revoke' THEN
            EXECUTE format('UPDATE %I SET revoked_at = $1, revoked_by = $2, revoke_reason = $3 WHERE id = $4', e.tbl)
              USING e.ts, pg_temp.usr('ver'), '核查撤销', cid;
        WHEN 'delete' THEN
            EXECUTE format('DELETE FROM %I WHERE id = $1', e.tbl) USING cid;
        WHEN 'move' THEN
            UPDATE project SET unit_id = pg_temp.unit(e.unit) WHERE id = pid;
            IF FOUND AND EXISTS (SELECT 1 FROM project_placement WHERE project_id = pid AND valid_from = now()) THEN
                UPDATE project_placement SET valid_from = e.ts WHERE project_id = pid AND valid_from = now();
                PERFORM kpi_refresh(ARRAY[pid]);
            END IF;
        WHEN 'move_now' THEN
            UPDATE project SET unit_id = pg_temp.unit(e.unit) WHERE id = pid;
        END CASE;
    END LOOP;
END
$$;

SELECT lives_ok('SELECT pg_temp.generate(240)', 'the histories of 240 projects are drawn');
SELECT lives_ok('SELECT pg_temp.apply()', 'and applied, in time order, through the claim tables');

-- ---- what the histories hold ----

SELECT cmp_ok((SELECT count(DISTINCT k.n) FROM kr_project k
                WHERE EXISTS (SELECT 1 FROM contract c WHERE c.project_id = k.id)
                   OR EXISTS (SELECT 1 FROM project_start s WHERE s.project_id = k.id)), '>=', 200::bigint,
              'at least 200 projects have a history of claims in the database');
SELECT cmp_ok((SELECT count(*) FROM (SELECT kind, count(*) FROM ev WHERE op = 'report' AND tbl = 'contract'
                                      GROUP BY kind HAVING count(*) >= 40) k), '=', 3::bigint,
              'at least 40 reports each of formal, intent and capital increase contracts');
SELECT cmp_ok((SELECT count(*) FROM ev WHERE op = 'report' AND tbl = 'project_start'), '>=', 100::bigint,
              'at least 100 start claims');
SELECT ok((SELECT count(*) FILTER (WHERE op = 'verify') >= 300 AND count(*) FILTER (WHERE op = 'revoke') >= 60
                  AND count(*) FILTER (WHERE op = 'delete') >= 10 AND count(*) FILTER (WHERE op = 'redate') >= 40
                  AND count(*) FILTER (WHERE op = 'move') >= 60 AND count(*) FILTER (WHERE op = 'move_now') >= 20 FROM ev),
          'many verifications, revocations, deletions, corrections and moves');
SELECT cmp_ok((SELECT count(*) FROM ev f2 WHERE f2.op = 'report' AND f2.claim LIKE '%.f2'
                  AND EXISTS (SELECT 1 FROM ev v WHERE v.op = 'verify' AND v.claim = f2.proj || '.f1')),
              '>=', 10::bigint,
              'at least 10 formal contracts revoked after verification and replaced by one dated in another year');
SELECT cmp_ok((SELECT count(*) FROM ev WHERE op = 'redate'
                 AND extract(year FROM d) <> extract(year FROM (SELECT e2.d FROM ev e2 WHERE e2.claim = ev.claim
                                                                  AND e2.op = 'report'))), '>=', 10::bigint,
              'at least 10 unverified claims re-dated into another year');
SELECT cmp_ok((SELECT count(*) FROM ev e WHERE e.op = 'report' AND e.tbl = 'project_start'
                 AND e.ts < (SELECT v.ts FROM ev v WHERE v.op = 'verify' AND v.claim = e.proj || '.f1')),
              '>=', 10::bigint, 'at least 10 starts reported before their signing was verified');
SELECT cmp_ok((SELECT count(*) FROM ev WHERE kpi_day(ts) <> (ts AT TIME ZONE 'UTC')::date),
              '>=', 50::bigint, 'at least 50 events fall on another day in UTC than in China');
SELECT cmp_ok((SELECT (kpi_reference(pg_temp.unit(''), 2024, '2025-12-31', 'verified')).signed_count), '>=', 20,
              'the county signed at least 20 projects in 2024 (the figures are not trivial)');
SELECT ok((SELECT min(kpi_day(ts)) < '2023-03-01' AND max(kpi_day(ts)) > '2025-10-01' FROM ev),
          'the events spread from early 2023 to late 2025');

-- ---- fast = reference ----

CREATE TEMP TABLE kr_day AS
SELECT DISTINCT d FROM (
    SELECT (date_trunc('month', m) + interval '1 month - 1 day')::date AS d     -- month ends
      FROM generate_series('2022-12-01'::date, '2026-01-01'::date, interval '1 month') m
    UNION ALL
    SELECT make_date(y, 1, 1) FROM generate_series(2023, 2026) y
    UNION ALL
    SELECT crm_today() - x FROM generate_series(0, 1) x               -- the moves made now
    UNION ALL
    SELECT x.d FROM (SELECT kpi_day(ts) AS day FROM ev ORDER BY md5(seq::text) LIMIT 150) s,
                    LATERAL (VALUES (s.day - 1), (s.day)) x (d)
) q;
CREATE TEMP TABLE kr_point AS
SELECT u.id AS unit, u.code, y AS year, kd.d AS as_of, b AS basis
  FROM kr_unit u, generate_series(2022, 2025) y, kr_day kd, (VALUES ('verified'), ('reported')) bb (b);
CREATE TEMP TABLE kr_cmp AS
SELECT p.*, kpi_fast(p.unit, p.year, p.as_of, p.basis) AS fast,
       kpi_reference(p.unit, p.year, p.as_of, p.basis) AS ref
  FROM kr_point p;

SELECT cmp_ok((SELECT count(*) FROM kr_day), '>=', 250::bigint, 'at least 250 as_of dates are compared');

SELECT is((SELECT format('%s in %s as of %s: fast %s, reference %s (%s of %s points differ)',
                         c.code, c.year, c.as_of, c.fast, c.ref,
                         count(*) OVER (), (SELECT count(*) FROM kr_cmp a WHERE a.unit = u.id AND a.basis = b.basis))
             FROM kr_cmp c WHERE c.unit = u.id AND c.basis = b.basis AND c.fast IS DISTINCT FROM c.ref
            ORDER BY c.as_of, c.year LIMIT 1),
          NULL,
          format('%s, %s basis: kpi_fast = kpi_reference on %s points (%s years x %s dates)', u.code, b.basis,
                 (SELECT count(*) FROM kr_cmp a WHERE a.unit = u.id AND a.basis = b.basis), 4,
                 (SELECT count(*) FROM kr_day)))
  FROM kr_unit u, (VALUES ('verified'), ('reported')) b (basis)
 ORDER BY u.code, b.basis;

-- ---- the month and year sums are those of the days ----

CREATE TEMP VIEW kr_months_of_days AS
SELECT r.unit_id, r.basis, r.year, g.months, kpi_period_start(g.months, r.day) AS first_day,
       sum(r.signing) AS signing, sum(r.signed) AS signed, sum(r.started) AS started,
       sum(r.signed_amt) AS signed_amt, sum(r.started_amt) AS started_amt
  FROM kpi_rollup r CROSS JOIN (VALUES (1::smallint), (12::smallint)) g (months)
 GROUP BY 1, 2, 3, 4, 5
HAVING sum(r.signing) <> 0 OR sum(r.signed) <> 0 OR sum(r.started) <> 0
    OR sum(r.signed_amt) <> 0 OR sum(r.started_amt) <> 0;
SELECT set_eq('SELECT unit_id, basis, year, months, first_day, signing, signed::bigint, started::bigint,
                      signed_amt, started_amt
                 FROM kpi_rollup_month
                WHERE signing <> 0 OR signed <> 0 OR started <> 0 OR signed_amt <> 0 OR started_amt <> 0',
              'SELECT * FROM kr_months_of_days',
              'kpi_rollup_month (the rows not all zero): each month and calendar year sums its days in kpi_rollup');

-- ---- kpi_rebuild() changes nothing ----

CREATE TEMP TABLE kr_rollup_before AS
SELECT * FROM kpi_rollup WHERE signing <> 0 OR signed <> 0 OR started <> 0 OR signed_amt <> 0 OR started_amt <> 0;
CREATE TEMP TABLE kr_delta_before AS SELECT * FROM kpi_project_delta;
SELECT lives_ok('SELECT kpi_rebuild()', 'kpi_rebuild() runs');
SELECT set_eq('SELECT * FROM kpi_rollup WHERE signing <> 0 OR signed <> 0 OR started <> 0 OR signed_amt <> 0 OR started_amt <> 0',
              'SELECT * FROM kr_rollup_before',
              'kpi_rebuild(): the roll-up rows (those not all zero) are the ones the triggers kept');
SELECT set_eq('SELECT * FROM kpi_project_delta', 'SELECT * FROM kr_delta_before',
              'kpi_rebuild(): the projects'' contributions are the ones the triggers kept');
SELECT set_eq('SELECT unit_id, basis, year, months, first_day, signing, signed::bigint, started::bigint,
                      signed_amt, started_amt
                 FROM kpi_rollup_month
                WHERE signing <> 0 OR signed <> 0 OR started <> 0 OR signed_amt <> 0 OR started_amt <> 0',
              'SELECT * FROM kr_months_of_days',
              'kpi_rebuild(): kpi_rollup_month sums the rebuilt days');
SELECT is((SELECT format('%s in %s as of %s (%s): before %s, after %s', c.code, c.year, c.as_of, c.basis, c.fast, a.f)
             FROM kr_cmp c, LATERAL (SELECT kpi_fast(c.unit, c.year, c.as_of, c.basis) AS f) a
            WHERE a.f IS DISTINCT FROM c.fast ORDER BY c.as_of, c.code, c.year, c.basis LIMIT 1),
          NULL, 'kpi_fast gives the same figures after kpi_rebuild() on every point');

SELECT * FROM finish();
ROLLBACK;
