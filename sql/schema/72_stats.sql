-- The figures the board reads: /stats/units/{id}, /stats/ranking, /stats/leaders.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- the leaders' figures of the year asked ----

-- GET /stats/leaders: what each leader personally did in a year (meetings,
-- site visits accompanied, negotiations, problems coordinated, calls, and
-- for which projects), and the projects they are the 包联 leader of that
-- are in play in the year: created, signed or started in it, or met about
-- in it. Runs as the caller: only what their scope holds counts; the
-- leaders' names come from user_name, readable by any caller (a township
-- head sees the county leaders who met about its projects by name).
CREATE OR REPLACE FUNCTION stats_leaders(p_year integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH acts AS (
        SELECT l.leader_id, i.kind, i.project_id
          FROM interaction_leader l JOIN interaction i ON i.id = l.interaction_id
         WHERE i.occurred_on >= make_date(p_year, 1, 1) AND i.occurred_on < make_date(p_year + 1, 1, 1)),
    led AS (
        SELECT p.leader_id, p.id
          FROM project p
         WHERE p.leader_id IS NOT NULL
           AND (extract(year FROM p.created_at AT TIME ZONE 'Asia/Shanghai') = p_year
                OR extract(year FROM p.signed_on) = p_year OR extract(year FROM p.started_on) = p_year
                OR EXISTS (SELECT 1 FROM acts a WHERE a.project_id = p.id))),
    leaders AS (
        SELECT DISTINCT leader_id FROM acts
        UNION
        SELECT DISTINCT leader_id FROM led)
    SELECT jsonb_build_object('year', p_year, 'leaders', coalesce(jsonb_agg(jsonb_build_object(
        'leader_id', ld.leader_id,
        'name', (SELECT n.name FROM user_name n WHERE n.id = ld.leader_id),
        'meetings', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'meeting'),
        'site_visits', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'site_visit'),
        'negotiations', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'negotiation'),
        'coordinations', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'coordination'),
        'calls', (SELECT count(*) FROM acts a WHERE a.leader_id = ld.leader_id AND a.kind = 'call'),
        'projects', coalesce((SELECT jsonb_agg(DISTINCT a.project_id) FROM acts a
                               WHERE a.leader_id = ld.leader_id AND a.project_id IS NOT NULL), '[]'),
        'lead_projects', coalesce((SELECT jsonb_agg(l.id ORDER BY l.id) FROM led l
                                    WHERE l.leader_id = ld.leader_id), '[]'))
        ORDER BY ld.leader_id), '[]'))
      FROM leaders ld
$$;

-- The figures of one unit as JSON: counts, rates, progress against the
-- target and against time.
CREATE OR REPLACE FUNCTION kpi_json(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    fig record;
    v kpi_figures;
    r kpi_figures;
    t target := unit_target(p_unit, p_year);
    elapsed integer := kpi_days_elapsed(p_year, p_as_of);
    days integer := kpi_days_in_year(p_year);
    forecast bigint;
BEGIN
    fig := kpi_fast_both(p_unit, p_year, p_as_of);
    v := fig.verified;
    r := fig.reported;
    forecast := v.signing_amount_yuan + kpi_pipeline_yuan(p_unit, p_year);
    RETURN jsonb_build_object(
        'unit', unit_brief(p_unit), 'year', p_year, 'as_of', p_as_of,
        'time_progress', round(elapsed::numeric / days, 6),
        'target', target_json(t),
        'verified', kpi_figures_json(v) || jsonb_build_object(
            'signing_progress', CASE WHEN t.signing_amount_yuan > 0
                                     THEN round(v.signing_amount_yuan::numeric / t.signing_amount_yuan, 6) END,
            'signed_count_progress', CASE WHEN t.signed_count > 0
                                          THEN round(v.signed_count::numeric / t.signed_count, 6) END,
            -- behind: signing / target < elapsed / days, compared exactly
            'behind', CASE WHEN t.signing_amount_yuan > 0
                           THEN v.signing_amount_yuan::numeric * days < t.signing_amount_yuan::numeric * elapsed END,
            'start_rate_met', CASE WHEN t.unit_id IS NOT NULL AND v.signed_count > 0
                                   THEN v.started_count >= t.start_rate * v.signed_count END,
            'signing_gap_yuan', CASE WHEN t.unit_id IS NOT NULL
                                     THEN greatest(0, t.signing_amount_yuan - v.signing_amount_yuan) END,
            'needed_starts', kpi_needed_starts(v.signed_count, v.started_count, t.start_rate)),
        'reported', kpi_figures_json(r),
        'forecast_yuan', forecast,
        'forecast_under_target', CASE WHEN t.unit_id IS NOT NULL THEN forecast < t.signing_amount_yuan END);
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_json(bigint, integer, date) FROM PUBLIC;

-- One basis's figures as JSON, with the start rates (NULL when nothing is
-- signed).
CREATE OR REPLACE FUNCTION kpi_figures_json(f kpi_figures) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'signing_amount_yuan', f.signing_amount_yuan, 'signed_count', f.signed_count,
        'started_count', f.started_count, 'signed_amount_yuan', f.signed_amount_yuan,
        'started_amount_yuan', f.started_amount_yuan,
        'start_rate', CASE WHEN f.signed_count > 0 THEN round(f.started_count::numeric / f.signed_count, 6) END,
        'start_rate_by_amount', CASE WHEN f.signed_amount_yuan > 0
                                     THEN round(f.started_amount_yuan::numeric / f.signed_amount_yuan, 6) END)
$$;

-- GET /stats/units/{id}: the figures of a unit the caller may see
-- (kpi_visible; 404 otherwise).
CREATE OR REPLACE FUNCTION stats_unit(p_unit bigint, p_year integer, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT kpi_visible(p_unit) THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    RETURN kpi_json(p_unit, p_year, kpi_as_of(p_year, p_as_of));
END
$$;

-- GET /stats/units/{id} as crm asks it, with the figures it keeps
-- (api/stats_cache.c): the generation of the figures now and the date they
-- are as of, and the figures themselves only when crm's copy, of
-- generation p_gen as of p_known, is not those (body NULL otherwise). One
-- snapshot (STABLE) reads the generation and computes the figures. The
-- unit's visibility is checked either way: it depends on the caller.
CREATE OR REPLACE FUNCTION stats_unit_cached(p_gen bigint, p_known date, p_unit bigint, p_year integer,
                                             p_as_of date, OUT gen bigint, OUT as_of date, OUT body text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    gen := (SELECT g.n FROM stats_generation g);
    as_of := kpi_as_of(p_year, p_as_of);
    IF gen IS DISTINCT FROM p_gen OR as_of IS DISTINCT FROM p_known THEN
        body := stats_unit(p_unit, p_year, p_as_of)::text;
    ELSIF NOT kpi_visible(p_unit) THEN
        PERFORM stats_unit(p_unit, p_year, p_as_of); -- its 404
    END IF;
END
$$;

-- Raises the generation of the figures, once per transaction: after the
-- first row written of what they are computed from (a row trigger, so that
-- an update that matches no row raises nothing), and after a TRUNCATE.
CREATE OR REPLACE FUNCTION stats_generation_next() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF current_setting('crm.stats_generation_raised', true) IS DISTINCT FROM 'on' THEN
        UPDATE stats_generation SET n = n + 1;
        PERFORM set_config('crm.stats_generation_raised', 'on', true);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION stats_generation_next() FROM PUBLIC;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['kpi_rollup', 'kpi_rollup_month', 'kpi_pipeline', 'target', 'unit', 'setting'] LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION stats_generation_next()',
                       t || '_stats_generation', t);
        EXECUTE format('CREATE OR REPLACE TRIGGER %I AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION stats_generation_next()',
                       t || '_stats_generation_truncate', t);
    END LOOP;
END
$$;

-- GET /stats/ranking: the children of a unit (by default the caller's
-- county) that take part in its ranking (unit_ranked), ranked by signing
-- progress, then same-year start rate.
CREATE OR REPLACE FUNCTION stats_ranking(p_year integer, p_parent bigint, p_as_of date) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent bigint := coalesce(p_parent, crm_caller_county());
    as_of date := kpi_as_of(p_year, p_as_of);
BEGIN
    IF NOT kpi_visible(parent) THEN
        RAISE EXCEPTION 'no such unit' USING ERRCODE = 'CR404';
    END IF;
    RETURN (
        WITH rows AS (
            SELECT u.id, kpi_json(u.id, p_year, as_of) AS j FROM unit u
             WHERE u.parent_id = parent AND unit_ranked(u, p_year)),
        ranked AS (
            SELECT r.id, r.j, rank() OVER (
                ORDER BY (r.j -> 'verified' ->> 'signing_progress')::numeric DESC NULLS LAST,
                         (r.j -> 'verified' ->> 'start_rate')::numeric DESC NULLS LAST) AS rank
              FROM rows r)
        SELECT jsonb_build_object(
            'year', p_year, 'as_of', as_of, 'time_progress', round(kpi_time_progress(p_year, as_of), 6),
            'parent', kpi_json(parent, p_year, as_of),
            'units', coalesce(jsonb_agg(jsonb_build_object(
                'unit', k.j -> 'unit', 'target', k.j -> 'target',
                'signing_amount_yuan', k.j -> 'verified' -> 'signing_amount_yuan',
                'signed_count', k.j -> 'verified' -> 'signed_count',
                'started_count', k.j -> 'verified' -> 'started_count',
                'start_rate', k.j -> 'verified' -> 'start_rate',
                'signing_progress', k.j -> 'verified' -> 'signing_progress',
                'behind', k.j -> 'verified' -> 'behind',
                'reported_signing_amount_yuan', k.j -> 'reported' -> 'signing_amount_yuan',
                'rank', k.rank) ORDER BY k.rank, k.id), '[]'))
          FROM ranked k);
END
$$;

-- The board `crm serve --demo` prints: each target of the year against its
-- figures, and the quotas under it by rank. Owner only (no scope).
CREATE OR REPLACE FUNCTION kpi_board(p_year integer) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
    t target;
    c record;
    v kpi_figures;
    as_of date := crm_today();
BEGIN
    FOR t IN SELECT * FROM target WHERE year = p_year AND parent_unit_id IS NULL ORDER BY unit_id LOOP
        v := kpi_fast(t.unit_id, p_year, as_of);
        RETURN NEXT format('%s %s (as of %s): signed ¥%s亿 of ¥%s亿 (%s%%), %s projects, same-year start rate %s (target %s%%)',
            (SELECT name FROM unit WHERE id = t.unit_id), p_year, as_of,
            round(v.signing_amount_yuan / 1e8, 2), round(t.signing_amount_yuan / 1e8, 2),
            CASE WHEN t.signing_amount_yuan > 0 THEN round(100.0 * v.signing_amount_yuan / t.signing_amount_yuan, 1) END,
            v.signed_count,
            CASE WHEN v.signed_count > 0
                 THEN format('%s/%s = %s%%', v.started_count, v.signed_count,
                             round(100.0 * v.started_count / v.signed_count, 1)) ELSE 'n/a' END,
            round(100 * t.start_rate, 1));
        FOR c IN
            SELECT u.name, q.signing_amount_yuan AS quota, q.start_rate, f.signing_amount_yuan AS actual,
                   f.signed_count, f.started_count,
                   rank() OVER (ORDER BY f.signing_amount_yuan::numeric / nullif(q.signing_amount_yuan, 0) DESC NULLS LAST)
              FROM target q JOIN unit u ON u.id = q.unit_id,
                   LATERAL kpi_fast(q.unit_id, p_year, as_of) f
             WHERE q.parent_unit_id = t.unit_id AND q.year = p_year
             ORDER BY 7, u.id
        LOOP
            RETURN NEXT format('  #%s %s: ¥%s亿 of ¥%s亿 (%s%%), started %s/%s',
                c.rank, c.name, round(c.actual / 1e8, 2), round(c.quota / 1e8, 2),
                CASE WHEN c.quota > 0 THEN round(100.0 * c.actual / c.quota, 1) END,
                c.started_count, c.signed_count);
        END LOOP;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION kpi_board(integer) FROM PUBLIC;
