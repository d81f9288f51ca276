-- Alerts: what falls behind its target or its time, computed per unit (/alerts).
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- One alert as the API shows it, every kind with the same keys: on a
-- project p (its id, code and name) or, with p NULL, on the unit alone.
CREATE OR REPLACE FUNCTION alert_json(p_kind text, p_level text, p_unit bigint, p_unit_name text, p project,
                                      p_message text, p_since date, p_due date, p_figures jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object('kind', p_kind, 'level', p_level, 'unit_id', p_unit, 'unit_name', p_unit_name,
                              'project_id', p.id, 'project_code', p.code, 'project_name', p.name,
                              'message', p_message, 'since', p_since, 'due', p_due, 'figures', p_figures)
$$;

-- The alerts of p_root's subtree for p_year as of p_as_of (DESIGN.md
-- section 5), no scope check: at most p_limit of each part after the
-- cursor, unsorted (callers sort by sort_key and cut). Kinds and levels:
--   not_started (red)      signed in the year (verified formal contract), no
--                          counting start, planned start date passed;
--   at_risk (yellow)       the same but not yet past its planned date, with
--                          fewer than 60 days of the year left;
--   no_progress            nothing logged (last_progress_at) for 2 months
--                          (yellow) or 3 months (red), projects neither
--                          terminated nor at capacity;
--   behind_time_progress   a unit with a target or quota whose verified signing
--                          progress is under the time progress (red under half of it);
--   forecast_under_target  (red) a county whose forecast is under its target.
-- Signed projects are taken as of the cutoff; the subtree is the current
-- one. Messages are in Chinese, amounts in ¥亿 (yuan_yi). sort_key: level
-- (0 red, 1 yellow), kind (1..5), unit id and project id (0 for unit
-- alerts), zero-padded: the keyset of alerts_page.
CREATE OR REPLACE FUNCTION alerts_compute(p_root bigint, p_year integer, p_as_of date, p_kind text, p_level text,
                               p_after text, p_limit integer)
RETURNS TABLE (sort_key text, item jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    d date := kpi_as_of(p_year, p_as_of);
    cut timestamptz := kpi_cutoff(kpi_as_of(p_year, p_as_of));
    ref timestamptz := least(now(), kpi_cutoff(kpi_as_of(p_year, p_as_of)));
    days_left integer := make_date(p_year + 1, 1, 1) - kpi_as_of(p_year, p_as_of);
    tp numeric := kpi_time_progress(p_year, kpi_as_of(p_year, p_as_of));
    a_prefix text;
    a_unit bigint;
    a_pid bigint;
    part record;
    lo_unit bigint;
    lo_pid bigint;
    elapsed integer := kpi_days_elapsed(p_year, kpi_as_of(p_year, p_as_of));
    days integer := kpi_days_in_year(p_year);
    units jsonb;
    unstarted jsonb;
BEGIN
    IF p_after IS NOT NULL THEN
        IF p_after !~ '^[01][1-5][0-9]{38}$' THEN
            RAISE invalid_parameter_value USING MESSAGE = 'the cursor is not valid', COLUMN = 'cursor';
        END IF;
        a_prefix := substr(p_after, 1, 2);
        a_unit := substr(p_after, 3, 19)::bigint;
        a_pid := substr(p_after, 22, 19)::bigint;
    END IF;
    -- The projects signed in the year and not started, found once for both
    -- of their kinds.
    IF (p_kind IS NULL OR p_kind IN ('not_started', 'at_risk')) THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object('project_id', sp.project_id, 'signed_on', sp.signed_on,
                                                     'amount_yuan', sp.amount_yuan,
                                                     'start_reported', sp.start_reported)), '[]')
          INTO unstarted
          FROM score_signed_projects(p_root, p_year, cut, false) sp
         WHERE NOT sp.started;
    END IF;
    -- The units with a target or quota, measured once for the unit alerts.
    IF p_kind IS NULL OR p_kind IN ('behind_time_progress', 'forecast_under_target') THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'id', u.id, 'name', u.name, 'kind', u.kind, 'target_yuan', t.signing_amount_yuan,
                   'signed_yuan', (kpi_fast(u.id, p_year, d)).signing_amount_yuan,
                   'forecast_yuan', CASE WHEN u.kind = 'county' THEN kpi_forecast(u.id, p_year, d) END)), '[]')
          INTO units
          FROM unit u JOIN target t ON t.unit_id = u.id AND t.year = p_year
         WHERE u.path @> ARRAY[p_root];
    END IF;
    FOR part IN
        SELECT v.prefix, v.kind, v.level FROM (VALUES
            ('01', 'not_started', 'red'), ('03', 'no_progress', 'red'),
            ('04', 'behind_time_progress', 'red'), ('05', 'forecast_under_target', 'red'),
            ('12', 'at_risk', 'yellow'), ('13', 'no_progress', 'yellow'),
            ('14', 'behind_time_progress', 'yellow')) AS v (prefix, kind, level)
         WHERE (p_kind IS NULL OR v.kind = p_kind) AND (p_level IS NULL OR v.level = p_level)
           AND (a_prefix IS NULL OR v.prefix >= a_prefix)
         ORDER BY v.prefix
    LOOP
        -- Within the cursor's own part, only what comes after it.
        IF part.prefix = a_prefix THEN
            lo_unit := a_unit;
            lo_pid := a_pid;
        ELSE
            lo_unit := -1;
            lo_pid := -1;
        END IF;
        IF part.kind IN ('not_started', 'at_risk') THEN
            CONTINUE WHEN part.kind = 'at_risk' AND days_left >= 60;
            RETURN QUERY
            SELECT part.prefix || lpad(p.unit_id::text, 19, '0') || lpad(p.id::text, 19, '0'),
                   alert_json(part.kind, part.level, p.unit_id, (SELECT u.name FROM unit u WHERE u.id = p.unit_id), p,
                       CASE part.kind
                           WHEN 'not_started' THEN format('已签约项目计划 %s 开工，至今未开工', p.planned_start_on)
                           WHEN 'at_risk' THEN CASE WHEN days_left > 0
                               THEN format('已签约项目尚未开工，距年底仅剩 %s 天，当年开工有风险', days_left)
                               ELSE '已签约项目当年未开工' END END,
                       CASE WHEN part.kind = 'not_started' THEN p.planned_start_on END,
                       CASE WHEN part.kind = 'at_risk' THEN make_date(p_year, 12, 31) END,
                       jsonb_build_object(
                           'signed_on', s.signed_on, 'amount_yuan', s.amount_yuan,
                           'planned_start_on', p.planned_start_on, 'stage', p.stage,
                           'start_reported', s.start_reported,
                           'days_overdue', CASE WHEN part.kind = 'not_started' THEN d - p.planned_start_on END,
                           'days_left', greatest(days_left, 0)))
              FROM jsonb_to_recordset(unstarted) AS s (project_id bigint, signed_on date, amount_yuan bigint,
                                                       start_reported boolean)
              JOIN project p ON p.id = s.project_id
             WHERE p.stage <> 'terminated'
               AND CASE WHEN part.kind = 'not_started' THEN p.planned_start_on < d
                        ELSE p.planned_start_on IS NULL OR p.planned_start_on >= d END
               AND (p.unit_id, p.id) > (lo_unit, lo_pid)
             ORDER BY p.unit_id, p.id
             LIMIT p_limit;
        ELSIF part.kind = 'no_progress' THEN
            RETURN QUERY
            SELECT part.prefix || lpad(p.unit_id::text, 19, '0') || lpad(p.id::text, 19, '0'),
                   alert_json(part.kind, part.level, p.unit_id, (SELECT u.name FROM unit u WHERE u.id = p.unit_id), p,
                       format('项目已 %s 天没有进展记录',
                              (ref AT TIME ZONE 'Asia/Shanghai')::date
                                  - (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date),
                       (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date,
                       NULL,
                       jsonb_build_object(
                           'stage', p.stage, 'last_progress_at', p.last_progress_at,
                           'days_without_progress',
                           (ref AT TIME ZONE 'Asia/Shanghai')::date
                               - (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date))
              FROM project p
             WHERE p.unit_path @> ARRAY[p_root]
               AND p.stage NOT IN ('terminated', 'at_capacity')
               AND p.last_progress_at < ref - interval '2 months'
               AND CASE WHEN part.level = 'red' THEN p.last_progress_at < ref - interval '3 months'
                        ELSE p.last_progress_at >= ref - interval '3 months' END
               AND (p.unit_id, p.id) > (lo_unit, lo_pid)
             ORDER BY p.unit_id, p.id
             LIMIT p_limit;
        ELSE
            -- Unit alerts, from the figures measured once above. Behind:
            -- signing / target < elapsed / days, compared exactly; red
            -- under half of that.
            RETURN QUERY
            SELECT part.prefix || lpad(m.id::text, 19, '0') || lpad('0', 19, '0'),
                   alert_json(part.kind, part.level, m.id, m.name, NULL,
                       CASE part.kind
                           WHEN 'forecast_under_target' THEN
                               format('预计全年签约 %s，低于目标 %s', yuan_yi(m.forecast_yuan), yuan_yi(m.target_yuan))
                           ELSE format('签约额完成 %s%%，落后于序时进度 %s%%',
                                       round(m.signed_yuan * 100.0 / m.target_yuan, 1), round(tp * 100, 1)) END,
                       NULL,
                       make_date(p_year, 12, 31),
                       jsonb_build_object(
                           'signing_amount_yuan', m.signed_yuan, 'target_yuan', m.target_yuan,
                           'signing_progress', CASE WHEN m.target_yuan > 0
                                                    THEN score_round(m.signed_yuan::numeric / m.target_yuan) END,
                           'time_progress', score_round(tp), 'forecast_yuan', m.forecast_yuan))
              FROM jsonb_to_recordset(units) AS m (id bigint, name text, kind text, target_yuan bigint,
                                                   signed_yuan bigint, forecast_yuan bigint)
             WHERE m.id > lo_unit
               AND CASE part.kind
                       WHEN 'forecast_under_target' THEN m.kind = 'county' AND m.forecast_yuan < m.target_yuan
                       WHEN 'behind_time_progress' THEN
                           m.target_yuan > 0 AND m.signed_yuan::numeric * days < m.target_yuan::numeric * elapsed
                           AND (m.signed_yuan::numeric * days * 2 < m.target_yuan::numeric * elapsed)
                               = (part.level = 'red')
                   END
             ORDER BY m.id
             LIMIT p_limit;
        END IF;
    END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION alerts_compute(bigint, integer, date, text, text, text, integer) FROM PUBLIC;

-- GET /alerts: the alerts of the caller's subtree (or of the subtree of
-- the unit_id filter, when it is in scope; nothing otherwise), filters
-- kind, level, year (default the current year); red first, then by kind,
-- unit and project. {"items": [...], "next_after": cursor text or null}.
CREATE OR REPLACE FUNCTION alerts_page(f jsonb, p_after text, p_limit integer) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    root bigint := coalesce((f ->> 'unit_id')::bigint, crm_caller_unit());
    y integer := coalesce((f ->> 'year')::integer, extract(year FROM crm_today())::integer);
    lim integer := least(greatest(coalesce(p_limit, 50), 1), 200);
    page jsonb;
BEGIN
    IF y NOT BETWEEN 2000 AND 2999 THEN
        RAISE check_violation USING MESSAGE = 'must be a year from 2000 to 2999', COLUMN = 'year';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM unit u WHERE u.id = root AND crm_in_scope(u.path)) THEN
        RETURN jsonb_build_object('items', '[]'::jsonb, 'next_after', NULL);
    END IF;
    WITH page AS (
        SELECT a.sort_key, a.item
          FROM alerts_compute(root, y, NULL, f ->> 'kind', f ->> 'level', p_after, lim + 1) a
         WHERE p_after IS NULL OR a.sort_key > p_after
         ORDER BY a.sort_key LIMIT lim + 1),
    numbered AS (SELECT pg.*, row_number() OVER (ORDER BY pg.sort_key) AS n FROM page pg)
    SELECT jsonb_build_object(
               'items', coalesce(jsonb_agg(nb.item ORDER BY nb.sort_key) FILTER (WHERE nb.n <= lim), '[]'),
               'next_after', CASE WHEN count(*) > lim THEN max(nb.sort_key) FILTER (WHERE nb.n <= lim) END)
      INTO page FROM numbered nb;
    RETURN page;
END
$$;
GRANT EXECUTE ON FUNCTION alerts_page(jsonb, text, integer) TO crm_app;
