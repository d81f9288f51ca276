-- The KPI engine of DESIGN.md section 5: the signing amount, the signed count and the
-- same-year start rate of any unit's subtree in any year, as of any date, from what was known
-- then; the time progress, the pipeline and the forecast around them.
--
-- A project's contribution changes only when one of its claims is reported, verified or
-- revoked, or it moves to another unit. Each such change recomputes that project's whole
-- history (kpi_deltas) and applies the difference from what was stored before to kpi_rollup
-- (one row per unit of its path, basis, year and day) and to kpi_rollup_month (the same
-- differences per calendar month and per calendar year of the day), in the same transaction.
-- A unit's figures of a year as of a date are then the sum of its whole calendar years before
-- the date's year, of the months of that year before the date's month and of the days of that
-- month up to the date (kpi_rollup_upto): a row per earlier calendar year, 11 months and 31
-- days at most, whatever the number of projects or of days with a change. kpi_reference
-- computes the same figures from the raw rows; the tests check that both agree on random
-- histories.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- China Standard Time: the day an instant falls on, and the first instant
-- after a day (what was known "as of d" is what happened before it).
CREATE OR REPLACE FUNCTION kpi_day(t timestamptz) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (t AT TIME ZONE 'Asia/Shanghai')::date $$;

CREATE OR REPLACE FUNCTION kpi_cutoff(d date) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') $$;

-- The first day of the calendar month (p_months 1) or year (12) a day falls
-- in: the spans of kpi_rollup_month. (The day as a timestamp without time
-- zone: no time zone is involved; an infinite date stays infinite.)
CREATE OR REPLACE FUNCTION kpi_period_start(p_months smallint, p_day date) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT date_trunc(CASE p_months WHEN 1 THEN 'month' ELSE 'year' END, p_day::timestamp)::date $$;

-- Whether a claim counted at a cutoff: on the verified basis from its
-- verification, on the reported basis from its report; never once revoked.
CREATE OR REPLACE FUNCTION claim_counts(verified_at timestamptz, revoked_at timestamptz, cutoff timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT verified_at < cutoff AND (revoked_at IS NULL OR revoked_at >= cutoff) $$;

CREATE OR REPLACE FUNCTION kpi_counts(basis text, reported_at timestamptz, verified_at timestamptz,
                           revoked_at timestamptz, cutoff timestamptz)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT claim_counts(CASE basis WHEN 'verified' THEN verified_at ELSE reported_at END, revoked_at, cutoff) $$;

-- Where each project was, and since when (project_placement): its figures
-- count toward the unit it belonged to at the time. The first placement
-- holds from the beginning of time, each move from the moment it is made;
-- a move recomputes the project's figures.
CREATE OR REPLACE FUNCTION project_placed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    -- The owner loading history may date a move (crm.moved_at); callers move now.
    INSERT INTO project_placement (project_id, valid_from, unit_path)
    VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN '-infinity'::timestamptz
                         WHEN crm_caller_user() IS NULL
                         THEN least(now(), coalesce(nullif(current_setting('crm.moved_at', true), '')::timestamptz, now()))
                         ELSE now() END,
            NEW.unit_path)
    ON CONFLICT (project_id, valid_from) DO UPDATE SET unit_path = EXCLUDED.unit_path;
    IF TG_OP = 'UPDATE' THEN
        PERFORM kpi_refresh(ARRAY[NEW.id]);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER project_placed AFTER INSERT ON project
    FOR EACH ROW EXECUTE FUNCTION project_placed();

CREATE OR REPLACE TRIGGER project_moved AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.unit_path IS DISTINCT FROM NEW.unit_path) EXECUTE FUNCTION project_placed();

-- A unit's target or quota of a year; all fields NULL when it has none.
CREATE OR REPLACE FUNCTION unit_target(p_unit bigint, p_year integer) RETURNS target LANGUAGE plpgsql STABLE AS $$
DECLARE
    t target;
BEGIN
    SELECT * INTO t FROM target WHERE unit_id = p_unit AND year = p_year;
    RETURN t;
END
$$;
REVOKE EXECUTE ON FUNCTION unit_target(bigint, integer) FROM PUBLIC;

-- The contribution of the given projects after each day on
-- which one of their claims was reported, verified or revoked, or they
-- moved: as levels (day, next_day) and then as differences.
CREATE OR REPLACE FUNCTION kpi_levels(p_projects bigint[])
RETURNS TABLE (project_id bigint, basis text, day date, next_day date, year integer, unit_path bigint[],
               signing bigint, signed integer, started integer, signed_amt bigint, started_amt bigint)
LANGUAGE sql STABLE AS $$
    WITH ev AS (
        SELECT c.project_id, kpi_day(v.t) AS day
          FROM contract c, LATERAL (VALUES (c.reported_at), (c.verified_at), (c.revoked_at)) v (t)
         WHERE c.project_id = ANY (p_projects) AND v.t IS NOT NULL
        UNION
        SELECT s.project_id, kpi_day(v.t)
          FROM project_start s, LATERAL (VALUES (s.reported_at), (s.verified_at), (s.revoked_at)) v (t)
         WHERE s.project_id = ANY (p_projects) AND v.t IS NOT NULL
        UNION
        SELECT pl.project_id, kpi_day(pl.valid_from)
          FROM project_placement pl
         WHERE pl.project_id = ANY (p_projects) AND pl.valid_from > '-infinity'
           AND EXISTS (SELECT 1 FROM contract c WHERE c.project_id = pl.project_id)),
    days AS (
        SELECT e.project_id, e.day, lead(e.day) OVER (PARTITION BY e.project_id, b.basis ORDER BY e.day) AS next_day,
               kpi_cutoff(e.day) AS cutoff, b.basis
          FROM ev e CROSS JOIN (VALUES ('verified'), ('reported')) b (basis)),
    firsts AS (
        SELECT d.*, f.signed_on, f.amount_yuan,
               (SELECT pl.unit_path FROM project_placement pl
                 WHERE pl.project_id = d.project_id AND pl.valid_from < d.cutoff
                 ORDER BY pl.valid_from DESC LIMIT 1) AS unit_path
          FROM days d
          JOIN LATERAL (
              SELECT c.signed_on, c.amount_yuan FROM contract c
               WHERE c.project_id = d.project_id AND c.kind = 'formal'
                 AND kpi_counts(d.basis, c.reported_at, c.verified_at, c.revoked_at, d.cutoff)
               ORDER BY c.signed_on, c.id LIMIT 1) f ON true),
    parts AS (
        SELECT f.project_id, f.basis, f.day, f.next_day, f.unit_path,
               extract(year FROM f.signed_on)::integer AS year,
               f.amount_yuan AS signing, 1 AS signed, s.started,
               f.amount_yuan AS signed_amt, f.amount_yuan * s.started AS started_amt
          FROM firsts f
          CROSS JOIN LATERAL (
              SELECT CASE WHEN EXISTS (
                  SELECT 1 FROM project_start ps
                   WHERE ps.project_id = f.project_id
                     AND kpi_counts(f.basis, ps.reported_at, ps.verified_at, ps.revoked_at, f.cutoff)
                     AND extract(year FROM ps.started_on) = extract(year FROM f.signed_on))
                  THEN 1 ELSE 0 END AS started) s
        UNION ALL
        SELECT f.project_id, f.basis, f.day, f.next_day, f.unit_path,
               extract(year FROM c.signed_on)::integer, c.amount_yuan, 0, 0, 0, 0
          FROM firsts f
          JOIN contract c ON c.project_id = f.project_id AND c.kind = 'capital_increase'
                         AND kpi_counts(f.basis, c.reported_at, c.verified_at, c.revoked_at, f.cutoff))
    SELECT p.project_id, p.basis, p.day, p.next_day, p.year, p.unit_path,
           sum(p.signing)::bigint, sum(p.signed)::integer, sum(p.started)::integer,
           sum(p.signed_amt)::bigint, sum(p.started_amt)::bigint
      FROM parts p
     GROUP BY p.project_id, p.basis, p.day, p.next_day, p.year, p.unit_path
$$;
REVOKE EXECUTE ON FUNCTION kpi_levels(bigint[]) FROM PUBLIC;

-- The same contribution as differences from the day before: the rows
-- kpi_project_delta keeps, to be undone when a project's history changes.
CREATE OR REPLACE FUNCTION kpi_deltas(p_projects bigint[])
RETURNS SETOF kpi_project_delta LANGUAGE sql STABLE AS $$
    WITH l AS MATERIALIZED (SELECT * FROM kpi_levels(p_projects))
    SELECT x.project_id, x.basis, x.year, x.day, x.unit_path,
           sum(x.signing)::bigint, sum(x.signed)::integer, sum(x.started)::integer,
           sum(x.signed_amt)::bigint, sum(x.started_amt)::bigint
      FROM (SELECT l.project_id, l.basis, l.year, l.day, l.unit_path,
                   l.signing, l.signed, l.started, l.signed_amt, l.started_amt
              FROM l
            UNION ALL
            SELECT l.project_id, l.basis, l.year, l.next_day, l.unit_path,
                   -l.signing, -l.signed, -l.started, -l.signed_amt, -l.started_amt
              FROM l
             WHERE l.next_day IS NOT NULL) x
     GROUP BY x.project_id, x.basis, x.year, x.day, x.unit_path
    HAVING sum(x.signing) <> 0 OR sum(x.signed) <> 0 OR sum(x.started) <> 0
        OR sum(x.signed_amt) <> 0 OR sum(x.started_amt) <> 0
$$;
REVOKE EXECUTE ON FUNCTION kpi_deltas(bigint[]) FROM PUBLIC;

-- Brings the roll-up up to date with the given projects' claims and places.
-- Runs in the transaction that changed them; the projects' rows are locked
-- so that two transactions on one project apply their differences in turn.
CREATE OR REPLACE FUNCTION kpi_refresh(p_projects bigint[]) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET jit = off AS $$
BEGIN
    PERFORM 1 FROM project WHERE id = ANY (p_projects) ORDER BY id FOR NO KEY UPDATE;
    -- diff: the change of each unit's day; added to its day's row, then to
    -- its month's and its year's (each statement in key order, so that two
    -- transactions lock the rows they share in the same order).
    WITH fresh AS MATERIALIZED (SELECT * FROM kpi_deltas(p_projects)),
    stale AS (DELETE FROM kpi_project_delta o WHERE o.project_id = ANY (p_projects) RETURNING o.*),
    kept AS (INSERT INTO kpi_project_delta SELECT * FROM fresh),
    diff AS MATERIALIZED (
        SELECT u.unit_id, x.basis, x.year, x.day, sum(x.signing) AS signing, sum(x.signed) AS signed,
               sum(x.started) AS started, sum(x.signed_amt) AS signed_amt, sum(x.started_amt) AS started_amt
          FROM (SELECT n.basis, n.year, n.day, n.unit_path, n.signing, n.signed, n.started,
                       n.signed_amt, n.started_amt
                  FROM fresh n
                UNION ALL
                SELECT o.basis, o.year, o.day, o.unit_path, -o.signing, -o.signed, -o.started,
                       -o.signed_amt, -o.started_amt
                  FROM stale o) x,
               unnest(x.unit_path) u (unit_id)
         GROUP BY u.unit_id, x.basis, x.year, x.day
        HAVING sum(x.signing) <> 0 OR sum(x.signed) <> 0 OR sum(x.started) <> 0
            OR sum(x.signed_amt) <> 0 OR sum(x.started_amt) <> 0),
    days AS (
        INSERT INTO kpi_rollup AS r (unit_id, basis, year, day, signing, signed, started, signed_amt, started_amt)
        SELECT d.unit_id, d.basis, d.year, d.day, d.signing, d.signed, d.started, d.signed_amt, d.started_amt
          FROM diff d
         ORDER BY d.unit_id, d.basis, d.year, d.day
        ON CONFLICT (unit_id, basis, year, day) DO UPDATE
           SET signing = r.signing + EXCLUDED.signing, signed = r.signed + EXCLUDED.signed,
               started = r.started + EXCLUDED.started, signed_amt = r.signed_amt + EXCLUDED.signed_amt,
               started_amt = r.started_amt + EXCLUDED.started_amt)
    INSERT INTO kpi_rollup_month AS m (unit_id, basis, year, months, first_day,
                                       signing, signed, started, signed_amt, started_amt)
    SELECT d.unit_id, d.basis, d.year, g.months, kpi_period_start(g.months, d.day),
           sum(d.signing), sum(d.signed), sum(d.started), sum(d.signed_amt), sum(d.started_amt)
      FROM diff d CROSS JOIN (VALUES (1::smallint), (12::smallint)) g (months)
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(d.signing) <> 0 OR sum(d.signed) <> 0 OR sum(d.started) <> 0
        OR sum(d.signed_amt) <> 0 OR sum(d.started_amt) <> 0
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (unit_id, basis, year, months, first_day) DO UPDATE
       SET signing = m.signing + EXCLUDED.signing, signed = m.signed + EXCLUDED.signed,
           started = m.started + EXCLUDED.started, signed_amt = m.signed_amt + EXCLUDED.signed_amt,
           started_amt = m.started_amt + EXCLUDED.started_amt;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_refresh(bigint[]) FROM PUBLIC;

-- A claim's change refreshes its project's figures (both projects' when
-- the claim moves from one to the other).
CREATE OR REPLACE FUNCTION kpi_claim_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM kpi_refresh(ARRAY[OLD.project_id]);
    ELSIF TG_OP = 'UPDATE' AND OLD.project_id <> NEW.project_id THEN
        PERFORM kpi_refresh(ARRAY[OLD.project_id, NEW.project_id]);
    ELSE
        PERFORM kpi_refresh(ARRAY[NEW.project_id]);
    END IF;
    RETURN NULL;
END
$$;

CALL rows_attach('kpi', 'AFTER INSERT OR UPDATE OR DELETE', 'kpi_claim_changed()', '{contract, project_start}');

-- The pipeline: an open project (planned, lead, negotiating, or stalled
-- there) with an expected signing date and a planned investment.
CREATE OR REPLACE FUNCTION kpi_pipeline_stage(p project) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT s FROM (SELECT CASE WHEN p.stage = 'stalled' THEN p.stalled_from ELSE p.stage END AS s) x
     WHERE s IN ('planned', 'lead', 'negotiating')
       AND p.expected_sign_on IS NOT NULL AND p.planned_investment_yuan IS NOT NULL
$$;

-- Keeps kpi_pipeline (planned investment by unit, year of expected signing
-- and stage) in step with a project, as differences like the roll-up.
CREATE OR REPLACE FUNCTION kpi_pipeline_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO kpi_pipeline AS k (unit_id, year, stage, amount_yuan, projects)
    SELECT u.unit_id, x.year, x.stage, sum(x.amount), sum(x.n)
      FROM (SELECT OLD.unit_path AS unit_path, extract(year FROM OLD.expected_sign_on)::integer AS year,
                   kpi_pipeline_stage(OLD) AS stage, -OLD.planned_investment_yuan AS amount, -1 AS n
             WHERE TG_OP = 'UPDATE' AND kpi_pipeline_stage(OLD) IS NOT NULL
            UNION ALL
            SELECT NEW.unit_path, extract(year FROM NEW.expected_sign_on)::integer,
                   kpi_pipeline_stage(NEW), NEW.planned_investment_yuan, 1
             WHERE kpi_pipeline_stage(NEW) IS NOT NULL) x,
           unnest(x.unit_path) u (unit_id)
     GROUP BY u.unit_id, x.year, x.stage
    HAVING sum(x.amount) <> 0 OR sum(x.n) <> 0
     ORDER BY 1, 2, 3
    ON CONFLICT (unit_id, year, stage) DO UPDATE
       SET amount_yuan = k.amount_yuan + EXCLUDED.amount_yuan, projects = k.projects + EXCLUDED.projects;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER project_pipeline_new AFTER INSERT ON project
    FOR EACH ROW WHEN (NEW.expected_sign_on IS NOT NULL) EXECUTE FUNCTION kpi_pipeline_changed();

CREATE OR REPLACE TRIGGER project_pipeline AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage OR OLD.stalled_from IS DISTINCT FROM NEW.stalled_from
                       OR OLD.expected_sign_on IS DISTINCT FROM NEW.expected_sign_on
                       OR OLD.planned_investment_yuan IS DISTINCT FROM NEW.planned_investment_yuan
                       OR OLD.unit_path IS DISTINCT FROM NEW.unit_path)
    EXECUTE FUNCTION kpi_pipeline_changed();

-- Recomputes every roll-up from the raw rows: after a bulk load that ran
-- without triggers, or to check them.
CREATE OR REPLACE FUNCTION kpi_rebuild() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp SET jit = off AS $$
BEGIN
    LOCK TABLE kpi_rollup, kpi_rollup_month, kpi_project_delta, kpi_pipeline IN EXCLUSIVE MODE;
    DELETE FROM kpi_project_delta;
    DELETE FROM kpi_rollup;
    DELETE FROM kpi_rollup_month;
    DELETE FROM kpi_pipeline;
    INSERT INTO kpi_project_delta SELECT * FROM kpi_deltas(ARRAY(SELECT DISTINCT project_id FROM contract));
    INSERT INTO kpi_rollup (unit_id, basis, year, day, signing, signed, started, signed_amt, started_amt)
    SELECT u.unit_id, d.basis, d.year, d.day, sum(d.signing), sum(d.signed), sum(d.started),
           sum(d.signed_amt), sum(d.started_amt)
      FROM kpi_project_delta d, unnest(d.unit_path) u (unit_id)
     GROUP BY u.unit_id, d.basis, d.year, d.day
     ORDER BY u.unit_id, d.basis, d.year, d.day;
    INSERT INTO kpi_rollup_month (unit_id, basis, year, months, first_day,
                                  signing, signed, started, signed_amt, started_amt)
    SELECT r.unit_id, r.basis, r.year, g.months, kpi_period_start(g.months, r.day),
           sum(r.signing), sum(r.signed), sum(r.started), sum(r.signed_amt), sum(r.started_amt)
      FROM kpi_rollup r CROSS JOIN (VALUES (1::smallint), (12::smallint)) g (months)
     GROUP BY 1, 2, 3, 4, 5
    HAVING sum(r.signing) <> 0 OR sum(r.signed) <> 0 OR sum(r.started) <> 0
        OR sum(r.signed_amt) <> 0 OR sum(r.started_amt) <> 0
     ORDER BY 1, 2, 3, 4, 5;
    INSERT INTO kpi_pipeline (unit_id, year, stage, amount_yuan, projects)
    SELECT u.unit_id, extract(year FROM p.expected_sign_on)::integer, kpi_pipeline_stage(p),
           sum(p.planned_investment_yuan), count(*)
      FROM project p, unnest(p.unit_path) u (unit_id)
     WHERE kpi_pipeline_stage(p) IS NOT NULL
     GROUP BY 1, 2, 3;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_rebuild() FROM PUBLIC;

-- A unit's roll-up of a year up to a date, per basis (of those in p_bases),
-- in as few rows as the roll-ups allow: the whole calendar years before the
-- date's year and the months of its year before its month (kpi_rollup_month),
-- then the days of its month up to the date (kpi_rollup). Per basis a row
-- per earlier calendar year (the claims of a year keep changing for a year
-- or two after it), 11 months and 31 days at most, where the days alone were
-- a row per day with a change (1,345 at the province root for 2024, both
-- bases, as of late 2026). An infinite date needs no case of its own: its
-- year and month start at it.
-- (A single SELECT in SQL: inlined into the query of its caller, and
-- planned with it once per connection.)
CREATE OR REPLACE FUNCTION kpi_rollup_upto(p_unit bigint, p_year integer, p_as_of date, p_bases text[])
RETURNS TABLE (basis text, signing numeric, signed bigint, started bigint, signed_amt numeric,
               started_amt numeric)
LANGUAGE sql STABLE AS $$
    SELECT r.basis, sum(r.signing), sum(r.signed), sum(r.started), sum(r.signed_amt), sum(r.started_amt)
      FROM (SELECT y.basis, y.signing, y.signed, y.started, y.signed_amt, y.started_amt
              FROM kpi_rollup_month y
             WHERE y.unit_id = p_unit AND y.basis = ANY (p_bases) AND y.year = p_year AND y.months = 12
               AND y.first_day < kpi_period_start(12::smallint, p_as_of)
            UNION ALL
            SELECT m.basis, m.signing, m.signed, m.started, m.signed_amt, m.started_amt
              FROM kpi_rollup_month m
             WHERE m.unit_id = p_unit AND m.basis = ANY (p_bases) AND m.year = p_year AND m.months = 1
               AND m.first_day >= kpi_period_start(12::smallint, p_as_of)
               AND m.first_day < kpi_period_start(1::smallint, p_as_of)
            UNION ALL
            SELECT d.basis, d.signing, d.signed, d.started, d.signed_amt, d.started_amt
              FROM kpi_rollup d
             WHERE d.unit_id = p_unit AND d.basis = ANY (p_bases) AND d.year = p_year
               AND d.day >= kpi_period_start(1::smallint, p_as_of) AND d.day <= p_as_of) r
     GROUP BY r.basis
$$;
REVOKE EXECUTE ON FUNCTION kpi_rollup_upto(bigint, integer, date, text[]) FROM PUBLIC;

-- The fast path: a unit's figures of a year as of a date, from the roll-ups.
-- (PL/pgSQL rather than SQL here and below: a SQL function that cannot be
-- inlined is planned at every call, a PL/pgSQL one once per connection.)
CREATE OR REPLACE FUNCTION kpi_fast(p_unit bigint, p_year integer, p_as_of date, p_basis text DEFAULT 'verified')
RETURNS kpi_figures LANGUAGE plpgsql STABLE AS $$
DECLARE
    f kpi_figures := ROW(0, 0, 0, 0, 0);
BEGIN
    SELECT r.signing::bigint, r.signed::integer, r.started::integer, r.signed_amt::bigint, r.started_amt::bigint
      INTO f
      FROM kpi_rollup_upto(p_unit, p_year, p_as_of, ARRAY[p_basis]) r;
    IF NOT FOUND THEN
        f := ROW(0, 0, 0, 0, 0);
    END IF;
    RETURN f;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_fast(bigint, integer, date, text) FROM PUBLIC;

-- Both bases of kpi_fast in one query.
CREATE OR REPLACE FUNCTION kpi_fast_both(p_unit bigint, p_year integer, p_as_of date,
                                         OUT verified kpi_figures, OUT reported kpi_figures)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g record;
BEGIN
    verified := ROW(0, 0, 0, 0, 0);
    reported := ROW(0, 0, 0, 0, 0);
    FOR g IN
        SELECT r.basis, r.signing::bigint AS signing, r.signed::integer AS signed,
               r.started::integer AS started, r.signed_amt::bigint AS signed_amt,
               r.started_amt::bigint AS started_amt
          FROM kpi_rollup_upto(p_unit, p_year, p_as_of, '{verified,reported}') r
    LOOP
        IF g.basis = 'verified' THEN
            verified := ROW(g.signing, g.signed, g.started, g.signed_amt, g.started_amt);
        ELSE
            reported := ROW(g.signing, g.signed, g.started, g.signed_amt, g.started_amt);
        END IF;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_fast_both(bigint, integer, date) FROM PUBLIC;

-- The reference: the same figures computed from the raw rows, straight from
-- the definitions of DESIGN.md section 5. Slow; kept for the tests.
CREATE OR REPLACE FUNCTION kpi_reference(p_unit bigint, p_year integer, p_as_of date, p_basis text DEFAULT 'verified')
RETURNS kpi_figures LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH cutoff AS (SELECT kpi_cutoff(p_as_of) AS t),
    placed AS (   -- the unit each project belonged to then
        SELECT DISTINCT ON (pl.project_id) pl.project_id, pl.unit_path
          FROM project_placement pl, cutoff
         WHERE pl.valid_from < cutoff.t
         ORDER BY pl.project_id, pl.valid_from DESC),
    mine AS (SELECT project_id FROM placed WHERE unit_path @> ARRAY[p_unit]),
    counting AS (  -- the claims that counted then
        SELECT c.* FROM contract c JOIN mine m ON m.project_id = c.project_id, cutoff
         WHERE kpi_counts(p_basis, c.reported_at, c.verified_at, c.revoked_at, cutoff.t)),
    first_formal AS (
        SELECT DISTINCT ON (c.project_id) c.project_id, c.signed_on, c.amount_yuan
          FROM counting c WHERE c.kind = 'formal'
         ORDER BY c.project_id, c.signed_on, c.id),
    increases AS (
        SELECT coalesce(sum(c.amount_yuan), 0) AS amount
          FROM counting c JOIN first_formal f ON f.project_id = c.project_id
         WHERE c.kind = 'capital_increase' AND extract(year FROM c.signed_on) = p_year),
    signed AS (
        SELECT f.* FROM first_formal f WHERE extract(year FROM f.signed_on) = p_year),
    started AS (
        SELECT s.* FROM signed s
         WHERE EXISTS (SELECT 1 FROM project_start ps, cutoff
                        WHERE ps.project_id = s.project_id
                          AND kpi_counts(p_basis, ps.reported_at, ps.verified_at, ps.revoked_at, cutoff.t)
                          AND extract(year FROM ps.started_on) = p_year))
    SELECT ((SELECT coalesce(sum(amount_yuan), 0) FROM signed) + (SELECT amount FROM increases))::bigint,
           (SELECT count(*) FROM signed)::integer, (SELECT count(*) FROM started)::integer,
           (SELECT coalesce(sum(amount_yuan), 0) FROM signed)::bigint,
           (SELECT coalesce(sum(amount_yuan), 0) FROM started)::bigint
$$;
REVOKE EXECUTE ON FUNCTION kpi_reference(bigint, integer, date, text) FROM PUBLIC;

-- ---- the figures around the counts ----

-- The date figures are taken as of: the one asked for, else today (all that
-- is known now, also of a past year).
CREATE OR REPLACE FUNCTION kpi_as_of(p_year integer, p_as_of date) RETURNS date LANGUAGE sql STABLE AS
$$ SELECT coalesce(p_as_of, crm_today()) $$;

CREATE OR REPLACE FUNCTION kpi_days_in_year(p_year integer) RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT (make_date(p_year + 1, 1, 1) - make_date(p_year, 1, 1)) $$;

-- Days of the year elapsed on p_on, counting p_on itself (0 before the year,
-- all of them after it).
CREATE OR REPLACE FUNCTION kpi_days_elapsed(p_year integer, p_on date) RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT greatest(0, least(kpi_days_in_year(p_year), p_on - make_date(p_year, 1, 1) + 1)) $$;

-- 序时进度: day of year of p_on / days in the year.
CREATE OR REPLACE FUNCTION kpi_time_progress(p_year integer, p_on date) RETURNS numeric LANGUAGE sql IMMUTABLE AS
$$ SELECT kpi_days_elapsed(p_year, p_on)::numeric / kpi_days_in_year(p_year) $$;

-- The fewest further same-year starts that lift started/signed to the rate.
CREATE OR REPLACE FUNCTION kpi_needed_starts(p_signed integer, p_started integer, p_rate numeric)
RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN p_rate IS NULL THEN NULL
               ELSE greatest(0, ceil(p_rate * p_signed - p_started))::integer END $$;

-- The open pipeline expected to sign in the year, each project at its
-- stage's probability (the setting forecast_probability).
CREATE OR REPLACE FUNCTION kpi_pipeline_yuan(p_unit bigint, p_year integer) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    amount bigint;
BEGIN
    SELECT coalesce(floor(sum(k.amount_yuan * coalesce((s.value ->> k.stage)::numeric, 0))), 0)
      INTO amount
      FROM kpi_pipeline k, setting s
     WHERE s.key = 'forecast_probability' AND k.unit_id = p_unit AND k.year = p_year;
    RETURN amount;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_pipeline_yuan(bigint, integer) FROM PUBLIC;

-- The forecast of a year's signing: the verified signing as of the date
-- plus the pipeline.
CREATE OR REPLACE FUNCTION kpi_forecast(p_unit bigint, p_year integer, p_as_of date) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (kpi_fast(p_unit, p_year, p_as_of)).signing_amount_yuan + kpi_pipeline_yuan(p_unit, p_year);
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_forecast(bigint, integer, date) FROM PUBLIC;

-- Whose figures the caller may see: their subtree, and the totals of their
-- county (a township sees where the county stands). False for a unit that
-- does not exist, which is then answered 404 like a hidden one.
CREATE OR REPLACE FUNCTION kpi_visible(p_unit bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    me bigint := crm_caller_unit();
    path bigint[];
BEGIN
    IF me IS NULL THEN
        RETURN false;
    END IF;
    SELECT u.path INTO path FROM unit u WHERE u.id = p_unit;
    RETURN coalesce(path @> ARRAY[me] OR p_unit = crm_caller_county(), false);
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_visible(bigint) FROM PUBLIC;

-- ---- amounts in the unit people read: ¥亿 ----

-- An amount of yuan as people read it: ¥185.07亿 (the raw yuan stay in the
-- alert's figures).
CREATE OR REPLACE FUNCTION yuan_yi(p_yuan bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT '¥' || to_char(round(p_yuan / 1e8, 2), 'FM999999999990.00') || '亿'
$$;
