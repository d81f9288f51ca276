-- Scores: the rules of each year (/scores/rules), a unit's score, and the month-end snapshots.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- score rules ----

-- The rules used for a year without its own row. The score weighs all three
-- figures of a quota: by default 40 points for the amount, 20 for the
-- number of projects signed, 40 for the same-year start rate (a township
-- that signs its amount in half the projects asked does not score 100).
CREATE OR REPLACE FUNCTION score_rules_default() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"signing_weight": 40, "signed_count_weight": 20, "start_rate_weight": 40,
             "signing_cap": 1.0, "signed_count_cap": 1.0, "start_rate_cap": 1.0,
             "overdue_deduction": 0.1, "falsified_deduction": 0.2}'::jsonb
$$;

-- The first thing wrong with a set of rules (field, message), or no row:
-- known keys only, numbers, weights 0..1000, caps over 0 up to 10,
-- deductions 0..100. A partial set is fine (the defaults fill it).
CREATE OR REPLACE FUNCTION score_rules_problem(p_rules jsonb, OUT field text, OUT message text)
RETURNS SETOF record LANGUAGE sql IMMUTABLE AS $$
    SELECT q.field, q.message FROM (
        SELECT 0 AS ord, '' AS field, 'must be an object of score rules' AS message
         WHERE jsonb_typeof(p_rules) IS DISTINCT FROM 'object'
        UNION ALL
        SELECT 1, e.key,
               CASE WHEN NOT score_rules_default() ? e.key THEN 'is not a score rule'
                    WHEN jsonb_typeof(e.value) <> 'number' THEN 'must be a number'
                    WHEN e.key LIKE '%\_cap' AND e.value::text::numeric <= 0 THEN 'must be greater than 0'
                    WHEN e.value::text::numeric < 0 THEN 'must not be negative'
                    WHEN e.key LIKE '%\_weight' AND e.value::text::numeric > 1000 THEN 'must be at most 1000'
                    WHEN e.key LIKE '%\_cap' AND e.value::text::numeric > 10 THEN 'must be at most 10'
                    WHEN e.key LIKE '%\_deduction' AND e.value::text::numeric > 100 THEN 'must be at most 100'
               END
          FROM jsonb_each(CASE WHEN jsonb_typeof(p_rules) = 'object' THEN p_rules ELSE '{}' END) e) q
     WHERE q.message IS NOT NULL
     ORDER BY q.ord, q.field
     LIMIT 1
$$;

-- Every version of the rules is kept in the audit log, under the unit of
-- the admin who set them (their scope sees it; a township's admin does not).
CREATE OR REPLACE FUNCTION score_rule_audit() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, before, after)
    VALUES (crm_caller_user(), crm_request_id(), 'score_rule',
            CASE WHEN TG_OP = 'DELETE' THEN OLD.year ELSE NEW.year END::text, lower(TG_OP), crm_caller_unit(),
            CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER score_rule_audit AFTER INSERT OR UPDATE OR DELETE ON score_rule
    FOR EACH ROW EXECUTE FUNCTION score_rule_audit();

-- The rules in force for a year: its own, or the defaults.
CREATE OR REPLACE FUNCTION score_rules_effective(p_year integer) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT score_rules_default() || coalesce((SELECT r.rules FROM score_rule r WHERE r.year = p_year), '{}')
$$;
REVOKE EXECUTE ON FUNCTION score_rules_effective(integer) FROM PUBLIC;

-- A year's rules as the API shows them: those in force, whether they are
-- the defaults, and who set them when.
CREATE OR REPLACE FUNCTION score_rules_json(p_year integer) RETURNS jsonb LANGUAGE sql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT jsonb_build_object('year', p_year, 'rules', score_rules_effective(p_year),
               'is_default', r.year IS NULL, 'set_by', r.set_by,
               'set_by_name', (SELECT n.name FROM user_name n WHERE n.id = r.set_by),
               'set_at', r.set_at, 'version', r.version)
      FROM (SELECT 1) one LEFT JOIN score_rule r ON r.year = p_year
$$;
REVOKE EXECUTE ON FUNCTION score_rules_json(integer) FROM PUBLIC;

-- GET /scores/rules/{year}: any caller.
CREATE OR REPLACE FUNCTION score_rules_get(p_year integer) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF crm_caller_user() IS NULL THEN
        RAISE EXCEPTION 'no caller' USING ERRCODE = 'CR404';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    RETURN score_rules_json(p_year);
END
$$;
GRANT EXECUTE ON FUNCTION score_rules_get(integer) TO crm_app;

-- PUT /scores/rules/{year}: {"rules": {...}} replaces a year's rules as a
-- whole (keys left out take their default); errors name "rules.<key>". The
-- rules hold for every unit, so only an admin of a county or above sets
-- them (a township's admin gets 403).
CREATE OR REPLACE FUNCTION score_rules_put(p_year integer, p_body jsonb) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_rules jsonb := CASE WHEN jsonb_typeof(p_body) = 'object' THEN p_body -> 'rules' END;
    bad record;
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' OR NOT EXISTS (
        SELECT 1 FROM unit u WHERE u.id = crm_caller_unit() AND u.kind IN ('province', 'city', 'county')) THEN
        RAISE EXCEPTION 'only an administrator of a county or above sets score rules' USING ERRCODE = 'CR403';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    SELECT * INTO bad FROM score_rules_problem(v_rules);
    IF FOUND THEN
        RAISE check_violation USING MESSAGE = bad.message,
              COLUMN = CASE WHEN bad.field = '' THEN 'rules' ELSE 'rules.' || bad.field END;
    END IF;
    INSERT INTO score_rule AS r (year, rules, set_by)
    VALUES (p_year, score_rules_default() || v_rules, crm_caller_user())
    ON CONFLICT (year) DO UPDATE SET rules = EXCLUDED.rules, set_by = EXCLUDED.set_by, set_at = now(),
                                     version = r.version + 1;
    RETURN score_rules_json(p_year);
END
$$;
GRANT EXECUTE ON FUNCTION score_rules_put(integer, jsonb) TO crm_app;

-- ---- scores ----

-- The unit path a project counted toward at an instant (its placement then,
-- as the KPI roll-ups count it).
CREATE OR REPLACE FUNCTION score_placement(p_project bigint, p_cutoff timestamptz) RETURNS bigint[]
LANGUAGE sql STABLE AS $$
    SELECT pp.unit_path FROM project_placement pp
     WHERE pp.project_id = p_project AND pp.valid_from < p_cutoff
     ORDER BY pp.valid_from DESC LIMIT 1
$$;
REVOKE EXECUTE ON FUNCTION score_placement(bigint, timestamptz) FROM PUBLIC;

-- The projects of p_root's subtree signed in p_year as known at p_cutoff:
-- their first counting formal contract (the earliest by date, then id) is
-- dated in the year. started: a counting start exists at the cutoff;
-- start_reported: a live start claim (reported, not revoked) exists then.
-- p_historic: the subtree and unit_path by each project's placement at the
-- cutoff (the score, like the KPIs: candidates are the projects under
-- p_root now and those that ever moved), else by its current unit (alerts,
-- lists).
CREATE OR REPLACE FUNCTION score_signed_projects(p_root bigint, p_year integer, p_cutoff timestamptz,
                                      p_historic boolean)
RETURNS TABLE (project_id bigint, unit_path bigint[], signed_on date, amount_yuan bigint, started boolean,
               start_reported boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    y0 date := make_date(p_year, 1, 1);
    y1 date := make_date(p_year + 1, 1, 1);
BEGIN
    RETURN QUERY
    WITH moved AS (
        SELECT DISTINCT pp.project_id FROM project_placement pp
         WHERE p_historic AND pp.valid_from > '-infinity'),
    candidate AS (
        -- Never moved: where it is now is where it always was.
        SELECT c.id, c.project_id, c.signed_on, c.amount_yuan, c.verified_at, c.revoked_at, c.unit_path AS path
          FROM contract c
         WHERE c.kind = 'formal' AND c.signed_on >= y0 AND c.signed_on < y1 AND c.unit_path @> ARRAY[p_root]
           AND c.project_id NOT IN (SELECT m.project_id FROM moved m)
        UNION ALL
        SELECT c.id, c.project_id, c.signed_on, c.amount_yuan, c.verified_at, c.revoked_at,
               (SELECT pp.unit_path FROM project_placement pp
                 WHERE pp.project_id = c.project_id AND pp.valid_from < p_cutoff
                 ORDER BY pp.valid_from DESC LIMIT 1)
          FROM contract c
         WHERE c.kind = 'formal' AND c.signed_on >= y0 AND c.signed_on < y1
           AND c.project_id IN (SELECT m.project_id FROM moved m))
    SELECT k.project_id, k.path, k.signed_on, k.amount_yuan,
           EXISTS (SELECT 1 FROM project_start s WHERE s.project_id = k.project_id
                      AND claim_counts(s.verified_at, s.revoked_at, p_cutoff)),
           EXISTS (SELECT 1 FROM project_start s WHERE s.project_id = k.project_id
                      AND s.reported_at < p_cutoff AND (s.revoked_at IS NULL OR s.revoked_at >= p_cutoff))
      FROM candidate k
     WHERE k.path @> ARRAY[p_root]
       AND claim_counts(k.verified_at, k.revoked_at, p_cutoff)
       AND NOT EXISTS (SELECT 1 FROM contract o
                        WHERE o.project_id = k.project_id AND o.kind = 'formal'
                          AND claim_counts(o.verified_at, o.revoked_at, p_cutoff)
                          AND (o.signed_on, o.id) < (k.signed_on, k.id));
END
$$;
REVOKE EXECUTE ON FUNCTION score_signed_projects(bigint, integer, timestamptz, boolean) FROM PUBLIC;

-- The deductions of every unit of p_root's subtree for p_year as of p_as_of
-- (units without any are left out), in one pass over the subtree:
--   overdue   projects signed in the year (as known then), planned to start
--             before as_of, with no counting start then;
--   falsified claims dated in the year and revoked as falsified before the
--             cutoff.
-- Each counts toward every unit of its path (its placement at the cutoff).
CREATE OR REPLACE FUNCTION score_deductions(p_root bigint, p_year integer, p_as_of date)
RETURNS TABLE (unit_id bigint, overdue integer, falsified integer)
LANGUAGE sql STABLE AS $$
    WITH cut AS (SELECT kpi_cutoff(p_as_of) AS t),
    overdue AS (
        SELECT s.unit_path FROM cut, score_signed_projects(p_root, p_year, cut.t, true) s
          JOIN project p ON p.id = s.project_id
         WHERE NOT s.started AND p.planned_start_on < p_as_of),
    falsified AS (
        SELECT score_placement(x.project_id, cut.t) AS unit_path
          FROM cut, (SELECT c.project_id, c.revoked_at FROM contract c
                      WHERE c.revoke_falsified
                        AND c.signed_on >= make_date(p_year, 1, 1) AND c.signed_on < make_date(p_year + 1, 1, 1)
                     UNION ALL
                     SELECT s.project_id, s.revoked_at FROM project_start s
                      WHERE s.revoke_falsified
                        AND s.started_on >= make_date(p_year, 1, 1) AND s.started_on < make_date(p_year + 1, 1, 1)) x
         WHERE x.revoked_at < cut.t),
    hits AS (
        SELECT o.unit_path, 1 AS o, 0 AS f FROM overdue o
        UNION ALL
        SELECT f.unit_path, 0, 1 FROM falsified f WHERE f.unit_path @> ARRAY[p_root])
    SELECT u.unit_id, sum(h.o)::integer, sum(h.f)::integer
      FROM hits h, unnest(h.unit_path) WITH ORDINALITY u (unit_id, n)
     WHERE u.n >= array_position(h.unit_path, p_root)
     GROUP BY u.unit_id
$$;
REVOKE EXECUTE ON FUNCTION score_deductions(bigint, integer, date) FROM PUBLIC;

-- Exact decimals without trailing zeros, as JSON shows them.
CREATE OR REPLACE FUNCTION score_round(x numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS
$$ SELECT trim_scale(round(x, 4)) $$;

-- The score of p_unit for p_year as of p_as_of, given its deductions'
-- counts, no scope check:
--   signing      = signing_weight      * least(signing amount / target amount, signing_cap)
--   signed_count = signed_count_weight * least(signed / target count, signed_count_cap)
--   start_rate   = start_rate_weight   * least(start rate / target rate, start_rate_cap)
--                  (a rate with nothing signed is null: 0 points)
--   overdue      = overdue_deduction per overdue project (score_deductions)
--   falsified    = falsified_deduction per claim revoked as falsified
--   score        = greatest(0, signing + signed_count + start_rate - deductions),
--                  4 decimals (each component rounded first).
-- A target figure of 0 is met. Null score (and components) when the unit
-- has no target or quota that year.
CREATE OR REPLACE FUNCTION score_build(p_unit bigint, p_year integer, p_as_of date, p_overdue integer,
                            p_falsified integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r jsonb := score_rules_effective(p_year);
    t target := unit_target(p_unit, p_year);
    f kpi_figures := kpi_fast(p_unit, p_year, p_as_of);
    overdue_n integer := coalesce(p_overdue, 0);
    falsified_n integer := coalesce(p_falsified, 0);
    rate numeric;
    sign_ratio numeric;
    rate_ratio numeric;
    count_ratio numeric;
    count_pts numeric;
    sign_pts numeric;
    rate_pts numeric;
    ded_overdue numeric;
    ded_falsified numeric;
BEGIN
    ded_overdue := overdue_n * (r ->> 'overdue_deduction')::numeric;
    ded_falsified := falsified_n * (r ->> 'falsified_deduction')::numeric;
    rate := CASE WHEN f.signed_count > 0 THEN f.started_count::numeric / f.signed_count END;
    IF t.unit_id IS NOT NULL THEN
        sign_ratio := CASE WHEN t.signing_amount_yuan > 0 THEN f.signing_amount_yuan::numeric / t.signing_amount_yuan
                           ELSE 1 END;
        count_ratio := CASE WHEN t.signed_count > 0 THEN f.signed_count::numeric / t.signed_count ELSE 1 END;
        rate_ratio := CASE WHEN rate IS NULL THEN 0
                           WHEN t.start_rate > 0 THEN rate / t.start_rate
                           ELSE 1 END;
        sign_pts := score_round((r ->> 'signing_weight')::numeric
                                * least(sign_ratio, (r ->> 'signing_cap')::numeric));
        count_pts := score_round((r ->> 'signed_count_weight')::numeric
                                 * least(count_ratio, (r ->> 'signed_count_cap')::numeric));
        rate_pts := score_round((r ->> 'start_rate_weight')::numeric
                                * least(rate_ratio, (r ->> 'start_rate_cap')::numeric));
    END IF;
    RETURN jsonb_build_object(
        'unit_id', p_unit, 'year', p_year, 'as_of', p_as_of,
        'score', CASE WHEN t.unit_id IS NOT NULL
                      THEN score_round(greatest(0, sign_pts + count_pts + rate_pts - ded_overdue - ded_falsified)) END,
        'components', jsonb_build_object('signing', sign_pts, 'signed_count', count_pts, 'start_rate', rate_pts),
        'completion', jsonb_build_object('signing', score_round(sign_ratio), 'signed_count', score_round(count_ratio),
                                         'start_rate', CASE WHEN rate IS NOT NULL THEN score_round(rate_ratio) END),
        'figures', jsonb_build_object(
            'signing_amount_yuan', f.signing_amount_yuan, 'target_signing_amount_yuan', t.signing_amount_yuan,
            'signed_count', f.signed_count, 'target_signed_count', t.signed_count, 'started_count', f.started_count,
            'start_rate', score_round(rate), 'target_start_rate', t.start_rate),
        'deductions', jsonb_build_object(
            'overdue', jsonb_build_object('count', overdue_n, 'points', score_round(ded_overdue)),
            'falsified', jsonb_build_object('count', falsified_n, 'points', score_round(ded_falsified))),
        'rules', r);
END
$$;
REVOKE EXECUTE ON FUNCTION score_build(bigint, integer, date, integer, integer) FROM PUBLIC;

-- The score of p_unit for p_year as of p_as_of (default today), no scope check.
CREATE OR REPLACE FUNCTION unit_score_calc(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT score_build(p_unit, p_year, kpi_as_of(p_year, p_as_of), d.overdue, d.falsified)
      FROM (SELECT 1) one
      LEFT JOIN score_deductions(p_unit, p_year, kpi_as_of(p_year, p_as_of)) d ON d.unit_id = p_unit
$$;
REVOKE EXECUTE ON FUNCTION unit_score_calc(bigint, integer, date) FROM PUBLIC;

-- The score of a unit of the caller's subtree (404 otherwise).
CREATE OR REPLACE FUNCTION unit_score(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    y integer := coalesce(p_year, extract(year FROM crm_today())::integer);
BEGIN
    IF NOT EXISTS (SELECT 1 FROM unit u WHERE u.id = p_unit AND crm_in_scope(u.path)) THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    RETURN unit_score_calc(p_unit, y, p_as_of) || jsonb_build_object('unit', unit_brief(p_unit));
END
$$;
GRANT EXECUTE ON FUNCTION unit_score(bigint, integer, date) TO crm_app;

-- ---- month-end snapshots ----

-- Append-only: a frozen snapshot never changes, whoever tries.
CREATE OR REPLACE FUNCTION score_snapshot_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE check_violation USING MESSAGE = 'a frozen score snapshot never changes';
END
$$;

CREATE OR REPLACE TRIGGER score_snapshot_frozen BEFORE UPDATE OR DELETE ON score_snapshot
    FOR EACH ROW EXECUTE FUNCTION score_snapshot_frozen();

CREATE OR REPLACE TRIGGER score_snapshot_no_truncate BEFORE TRUNCATE ON score_snapshot
    FOR EACH STATEMENT EXECUTE FUNCTION score_snapshot_frozen();

-- A snapshot as the API shows it, with its unit in brief.
CREATE OR REPLACE FUNCTION snapshot_json(s score_snapshot, u unit) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'year', s.year, 'month', s.month,
        'unit', jsonb_build_object('id', u.id, 'code', u.code, 'name', u.name, 'kind', u.kind,
                                   'parent_id', u.parent_id),
        'as_of', s.as_of, 'score', s.score, 'rank', s.rank, 'figures', s.figures,
        'frozen_by', s.frozen_by, 'frozen_at', s.frozen_at)
$$;

-- The last day of a month: the date its snapshot is taken as of.
CREATE OR REPLACE FUNCTION score_month_end(p_year integer, p_month integer) RETURNS date LANGUAGE sql IMMUTABLE AS
$$ SELECT (make_date(p_year, p_month, 1) + interval '1 month - 1 day')::date $$;

-- POST /scores/snapshots {year, month}: the assessment office (viewer) or an
-- admin freezes the scores of every unit of their scope with a target or
-- quota that year, as of the month's last day, once the month has ended.
-- Each unit's figures are those of GET /stats/units (kpi_json; the scope
-- is checked here) plus its score and its rank among its siblings with a
-- target or quota (by score, ties share a rank; siblings outside the
-- caller's scope are ranked, not frozen). Units already frozen for the
-- month are left as they are; 409 when all of them are.
CREATE OR REPLACE FUNCTION snapshot_freeze(p_year integer, p_month integer) RETURNS jsonb LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_end date;
    in_scope bigint[];
    todo bigint[];
    items jsonb;
BEGIN
    IF crm_caller_role() IS NULL OR crm_caller_role() NOT IN ('viewer', 'admin') THEN
        RAISE EXCEPTION 'only the assessment office or an admin freezes scores' USING ERRCODE = 'CR403';
    END IF;
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    IF p_month IS NULL OR p_month NOT BETWEEN 1 AND 12 THEN
        RAISE check_violation USING MESSAGE = 'must be a month from 1 to 12', COLUMN = 'month';
    END IF;
    month_end := score_month_end(p_year, p_month);
    IF month_end >= crm_today() THEN
        RAISE check_violation USING MESSAGE = 'the month has not ended yet', COLUMN = 'month';
    END IF;
    -- One freeze of a month at a time: the second waits, then finds it frozen.
    PERFORM pg_advisory_xact_lock(hashtext('score_snapshot'), p_year * 100 + p_month);
    in_scope := ARRAY(SELECT t.unit_id FROM target t JOIN unit u ON u.id = t.unit_id
                       WHERE t.year = p_year AND crm_in_scope(u.path) ORDER BY u.path);
    IF cardinality(in_scope) = 0 THEN
        RAISE check_violation USING MESSAGE = 'no unit of your scope has a target or quota that year',
              COLUMN = 'year';
    END IF;
    todo := ARRAY(SELECT x FROM unnest(in_scope) x
                   WHERE NOT EXISTS (SELECT 1 FROM score_snapshot s
                                      WHERE s.year = p_year AND s.month = p_month AND s.unit_id = x));
    IF cardinality(todo) = 0 THEN
        RAISE unique_violation USING MESSAGE = format('%s-%s is already frozen', p_year, lpad(p_month::text, 2, '0')),
              COLUMN = 'month';
    END IF;
    WITH family AS (
        SELECT u.id, u.parent_id, u.path FROM unit u JOIN target t ON t.unit_id = u.id AND t.year = p_year
         WHERE coalesce(u.parent_id, 0) IN (SELECT coalesce(p.parent_id, 0) FROM unit p WHERE p.id = ANY (todo))),
    -- The deductions of every family member in one pass per subtree: under
    -- the families' parents (or the members themselves, at the top), those
    -- not inside another.
    tops AS (
        SELECT DISTINCT coalesce(fa.parent_id, fa.id) AS id FROM family fa),
    covering AS (
        SELECT tp.id FROM tops tp JOIN unit tu ON tu.id = tp.id
         WHERE NOT EXISTS (SELECT 1 FROM tops o WHERE o.id <> tp.id AND tu.path @> ARRAY[o.id])),
    deductions AS (
        SELECT d.* FROM covering cv, score_deductions(cv.id, p_year, month_end) d),
    scored AS (
        SELECT fa.id, fa.parent_id, score_build(fa.id, p_year, month_end, d.overdue, d.falsified) AS sc
          FROM family fa LEFT JOIN deductions d ON d.unit_id = fa.id),
    ranked AS (
        SELECT sd.id, sd.sc, (sd.sc ->> 'score')::numeric AS score,
               rank() OVER (PARTITION BY coalesce(sd.parent_id, 0)
                            ORDER BY (sd.sc ->> 'score')::numeric DESC NULLS LAST) AS rk,
               count(*) OVER (PARTITION BY coalesce(sd.parent_id, 0)) AS siblings
          FROM scored sd)
    INSERT INTO score_snapshot (year, month, unit_id, as_of, figures, score, rank, frozen_by)
    SELECT p_year, p_month, rd.id, month_end,
           kpi_json(rd.id, p_year, month_end)
               || jsonb_build_object('score', rd.sc, 'rank', rd.rk, 'ranked_among', rd.siblings),
           rd.score, rd.rk, crm_caller_user()
      FROM ranked rd WHERE rd.id = ANY (todo);
    SELECT coalesce(jsonb_agg(snapshot_json(s, u) ORDER BY u.path), '[]') INTO items
      FROM score_snapshot s JOIN unit u ON u.id = s.unit_id
     WHERE s.year = p_year AND s.month = p_month AND s.unit_id = ANY (todo);
    RETURN jsonb_build_object('year', p_year, 'month', p_month, 'as_of', month_end, 'items', items);
END
$$;
GRANT EXECUTE ON FUNCTION snapshot_freeze(integer, integer) TO crm_app;

-- GET /scores/snapshots?year=Y[&month=M]: the frozen snapshots of the
-- caller's subtree, by month, then down the unit tree.
CREATE OR REPLACE FUNCTION snapshots_list(p_year integer, p_month integer) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_year IS NULL OR p_year NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    IF p_month IS NOT NULL AND p_month NOT BETWEEN 1 AND 12 THEN
        RAISE check_violation USING MESSAGE = 'must be a month from 1 to 12', COLUMN = 'month';
    END IF;
    RETURN jsonb_build_object('year', p_year, 'month', p_month, 'items', coalesce((
        SELECT jsonb_agg(snapshot_json(s, u) ORDER BY s.month, u.path)
          FROM score_snapshot s JOIN unit u ON u.id = s.unit_id
         WHERE s.year = p_year AND (p_month IS NULL OR s.month = p_month) AND crm_in_scope(s.unit_path)), '[]'));
END
$$;
GRANT EXECUTE ON FUNCTION snapshots_list(integer, integer) TO crm_app;
