-- A township's scorecard: its quota, progress, projects and alerts (/units/{id}/scorecard).
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- the scorecard ----

-- A project as the scorecard lists it.
CREATE OR REPLACE FUNCTION scorecard_project_json(p project, p_signed_on date, p_amount bigint, p_start_reported boolean,
                                       p_as_of date) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
        'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id), 'stage', p.stage,
        'leader_id', p.leader_id,
        'leader_name', (SELECT n.name FROM user_name n WHERE n.id = p.leader_id),
        'signed_on', p_signed_on, 'amount_yuan', p_amount, 'planned_start_on', p.planned_start_on,
        'overdue', coalesce(p.planned_start_on < p_as_of, false), 'start_reported', p_start_reported)
$$;

-- GET /units/{id}/scorecard?year=Y&as_of=D: what a township head opens, for
-- a unit of the caller's own subtree (404 otherwise): quota, actual
-- (verified and reported), progress against the time progress, rank among
-- its siblings, score, alerts (top 20), the projects at risk and what
-- would close the gap (the signing gap and the pipeline that covers it,
-- the starts needed and the signed projects that could start).
CREATE OR REPLACE FUNCTION unit_scorecard(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    y integer := coalesce(p_year, extract(year FROM crm_today())::integer);
    d date;
    cut timestamptz;
    u unit;
    t target;
    st jsonb;
    rk jsonb;
    mine jsonb;
    gap bigint;
    needed integer;
    at_risk jsonb;
    candidates jsonb;
    available integer;
    pipeline jsonb;
    pipeline_total bigint;
    expected bigint;
BEGIN
    SELECT * INTO u FROM unit WHERE id = p_unit AND crm_in_scope(path);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    IF y NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    d := kpi_as_of(y, p_as_of);
    cut := kpi_cutoff(d);
    t := unit_target(p_unit, y);
    st := stats_unit(p_unit, y, d);
    expected := CASE WHEN t.unit_id IS NOT NULL
                     THEN ceil(t.signing_amount_yuan::numeric * kpi_days_elapsed(y, d) / kpi_days_in_year(y))::bigint END;

    -- The rank among its siblings, from the ranking of its parent.
    IF u.parent_id IS NOT NULL THEN
        BEGIN
            rk := stats_ranking(y, u.parent_id, d);
            SELECT e INTO mine FROM jsonb_array_elements(rk -> 'units') e
             WHERE (e -> 'unit' ->> 'id')::bigint = p_unit;
        EXCEPTION WHEN SQLSTATE 'CR404' THEN
            rk := NULL;
        END;
    END IF;

    gap := CASE WHEN t.unit_id IS NOT NULL
                THEN greatest(0, t.signing_amount_yuan
                                 - coalesce((st -> 'verified' ->> 'signing_amount_yuan')::bigint, 0)) END;
    needed := (st -> 'verified' ->> 'needed_starts')::integer;

    -- Signed this year (as of d), not started: at risk, and the candidates
    -- for the starts needed (a reported start awaiting verification first).
    WITH signed AS (
        SELECT s.*, p FROM score_signed_projects(p_unit, y, cut, false) s JOIN project p ON p.id = s.project_id
         WHERE NOT s.started)
    SELECT coalesce((SELECT jsonb_agg(x.j ORDER BY x.o1 NULLS LAST, x.o2) FROM (
                SELECT scorecard_project_json(sg.p, sg.signed_on, sg.amount_yuan, sg.start_reported, d) AS j,
                       (sg.p).planned_start_on AS o1, (sg.p).id AS o2
                  FROM signed sg ORDER BY (sg.p).planned_start_on NULLS LAST, (sg.p).id LIMIT 100) x), '[]'),
           coalesce((SELECT jsonb_agg(x.j ORDER BY x.n) FROM (
                SELECT scorecard_project_json(sg.p, sg.signed_on, sg.amount_yuan, sg.start_reported, d) AS j,
                       row_number() OVER (ORDER BY sg.start_reported DESC, (sg.p).planned_start_on NULLS LAST,
                                                   sg.amount_yuan DESC, (sg.p).id) AS n
                  FROM signed sg WHERE (sg.p).stage <> 'terminated') x
                 WHERE x.n <= least(coalesce(needed, 0), 100)), '[]'),
           (SELECT count(*) FROM signed sg WHERE (sg.p).stage <> 'terminated')
      INTO at_risk, candidates, available
      FROM (SELECT 1) one;

    -- The open pipeline expected to sign this year, largest first, until
    -- the signing gap is covered.
    SELECT coalesce(sum(p.planned_investment_yuan), 0) INTO pipeline_total
      FROM project p
     WHERE p.unit_path @> ARRAY[p_unit] AND p.stage IN ('lead', 'negotiating')
       AND p.expected_sign_on >= make_date(y, 1, 1) AND p.expected_sign_on < make_date(y + 1, 1, 1);
    SELECT coalesce(jsonb_agg(x.j ORDER BY x.n), '[]') INTO pipeline
      FROM (SELECT jsonb_build_object('id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
                       'unit_name', (SELECT un.name FROM unit un WHERE un.id = p.unit_id),
                       'stage', p.stage, 'expected_sign_on', p.expected_sign_on,
                       'planned_investment_yuan', p.planned_investment_yuan,
                       'cumulative_yuan', sum(coalesce(p.planned_investment_yuan, 0)) OVER w) AS j,
                   row_number() OVER w AS n,
                   sum(coalesce(p.planned_investment_yuan, 0)) OVER w
                       - coalesce(p.planned_investment_yuan, 0) AS before
              FROM project p
             WHERE p.unit_path @> ARRAY[p_unit] AND p.stage IN ('lead', 'negotiating')
               AND p.expected_sign_on >= make_date(y, 1, 1) AND p.expected_sign_on < make_date(y + 1, 1, 1)
            WINDOW w AS (ORDER BY p.planned_investment_yuan DESC NULLS LAST, p.id)) x
     WHERE x.before < coalesce(gap, 0) AND x.n <= 100;

    RETURN jsonb_build_object(
        'unit', unit_brief(p_unit),
        'year', y, 'as_of', d,
        'time_progress', st -> 'time_progress',
        'quota', CASE WHEN t.unit_id IS NOT NULL THEN jsonb_build_object(
                     'signing_amount_yuan', t.signing_amount_yuan, 'signed_count', t.signed_count,
                     'start_rate', t.start_rate, 'parent_unit_id', t.parent_unit_id,
                     'set_at', t.set_at, 'version', t.version) END,
        'actual', jsonb_build_object('verified', st -> 'verified', 'reported', st -> 'reported'),
        'progress', jsonb_build_object(
            'signing_progress', st -> 'verified' -> 'signing_progress',
            'time_progress', st -> 'time_progress',
            -- the signing that would be exactly at the time progress, and
            -- what is missing to it (0 exactly when not behind)
            'expected_by_now_yuan', expected,
            'behind_by_yuan', CASE WHEN expected IS NOT NULL THEN greatest(0, expected
                                  - coalesce((st -> 'verified' ->> 'signing_amount_yuan')::bigint, 0)) END),
        'behind', st -> 'verified' -> 'behind',
        'forecast_yuan', st -> 'forecast_yuan',
        'forecast_under_target', st -> 'forecast_under_target',
        'rank', CASE WHEN mine IS NOT NULL THEN jsonb_build_object(
                    'rank', mine -> 'rank',
                    'of', (SELECT count(*) FROM jsonb_array_elements(rk -> 'units') e
                            WHERE jsonb_typeof(e -> 'target') = 'object'),
                    'parent', rk -> 'parent' -> 'unit') END,
        'score', unit_score_calc(p_unit, y, d),
        'alerts', coalesce((SELECT jsonb_agg(a.item ORDER BY a.sort_key) FROM (
                      SELECT al.sort_key, al.item FROM alerts_compute(p_unit, y, d, NULL, NULL, NULL, 20) al
                       ORDER BY al.sort_key LIMIT 20) a), '[]'),
        'projects_at_risk', at_risk,
        'close_the_gap', jsonb_build_object(
            'signing_gap_yuan', gap,
            'needed_starts', needed,
            'start_candidates', candidates,
            'start_candidates_available', available,
            'pipeline', pipeline,
            'pipeline_total_yuan', pipeline_total,
            'pipeline_covers_gap', CASE WHEN gap IS NOT NULL THEN coalesce(pipeline_total, 0) >= gap END));
END
$$;
GRANT EXECUTE ON FUNCTION unit_scorecard(bigint, integer, date) TO crm_app;
