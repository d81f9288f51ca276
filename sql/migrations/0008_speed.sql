-- Speed of the reads every screen makes (issue 6), measured with pgbench on
-- the statements crm sends.
--
-- project_json named the project's unit and 包联 leader through sub-selects
-- under row-level security: the leader's through app_user's policy, a
-- sub-select of its own per row (about half of a point read's time, and of
-- a list page's). The names of the unit a project belongs to and of the
-- leader assigned to it are part of the project: they are looked up as the
-- owner, by id. A township head now also sees the name of their project's
-- county leader, which the policy on app_user used to hide.

CREATE FUNCTION user_display_name(p_id bigint) RETURNS text LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n text;
BEGIN
    SELECT coalesce(nullif(l.display_name, ''), l.username) INTO n FROM app_user l WHERE l.id = p_id;
    RETURN n;
END
$$;

CREATE FUNCTION unit_name_of(p_id bigint) RETURNS text LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    n text;
BEGIN
    SELECT u.name INTO n FROM unit u WHERE u.id = p_id;
    RETURN n;
END
$$;

-- And in PL/pgSQL: PostgreSQL does not inline this SQL function, so each
-- query planned its body again (about 0.3 ms of a point read); a PL/pgSQL
-- body's plans are kept for the connection.
CREATE OR REPLACE FUNCTION project_json(p project) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN jsonb_build_object(
        'id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
        'unit_name', unit_name_of(p.unit_id),
        'investor_id', p.investor_id,
        'investor_name', (SELECT i.name FROM investor i WHERE i.id = p.investor_id),
        'leader_id', p.leader_id,
        'leader_name', user_display_name(p.leader_id),
        'industry_chain', p.industry_chain, 'park', p.park,
        'planned_investment_yuan', p.planned_investment_yuan, 'is_key', p.is_key,
        'five_one', p.five_one, 'plan', p.plan, 'planned_start_on', p.planned_start_on,
        'expected_sign_on', p.expected_sign_on,
        'stage', p.stage, 'stalled_from', p.stalled_from, 'terminated_reason', p.terminated_reason,
        'signed_on', p.signed_on, 'started_on', p.started_on, 'production_on', p.production_on,
        'capacity_on', p.capacity_on, 'last_progress_at', p.last_progress_at,
        'created_at', p.created_at, 'updated_at', p.updated_at, 'version', p.version);
END
$$;

-- A project list filtered by unit went through the whole table: the
-- filter (unit_path @> ...) is not leakproof, so under row-level security
-- PostgreSQL evaluates it row by row after the policy, never through the
-- index (GET /projects?unit_id= took 0.7 s at 200,000 projects). As the
-- name search already does, the page's ids are now chosen as the owner with
-- the caller's scope as an explicit condition, where the planner can use
-- the GIN index or the primary key as the unit's size calls for; the
-- projects are then read under the policy by id.
CREATE FUNCTION project_ids_page(f jsonb, p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    cond text := '';
    ids bigint[];
BEGIN
    IF f ? 'unit_id' THEN cond := cond || ' AND p.unit_path @> ARRAY[($1 ->> ''unit_id'')::bigint]'; END IF;
    IF f ? 'stage' THEN cond := cond || ' AND p.stage = ($1 ->> ''stage'')'; END IF;
    IF f ? 'chain' THEN cond := cond || ' AND p.industry_chain = ($1 ->> ''chain'')'; END IF;
    IF f ? 'is_key' THEN cond := cond || ' AND p.is_key = ($1 ->> ''is_key'')::boolean'; END IF;
    IF f ? 'leader_id' THEN cond := cond || ' AND p.leader_id = ($1 ->> ''leader_id'')::bigint'; END IF;
    IF f ? 'investor_id' THEN cond := cond || ' AND p.investor_id = ($1 ->> ''investor_id'')::bigint'; END IF;
    IF f ? 'year' THEN
        cond := cond || ' AND p.signed_on >= make_date(($1 ->> ''year'')::int, 1, 1)'
                     || ' AND p.signed_on < make_date(($1 ->> ''year'')::int + 1, 1, 1)';
    END IF;
    IF f ? 'q' THEN cond := cond || ' AND p.id IN (SELECT project_ids_named($1 ->> ''q'', $2, $3))'; END IF;
    IF p_after IS NOT NULL THEN cond := cond || ' AND p.id > $2'; END IF;
    EXECUTE format($q$
        SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM (
            SELECT p.id FROM project p
             WHERE p.unit_path @> ARRAY[crm_caller_unit()] %s
             ORDER BY p.id LIMIT $3) x
    $q$, cond) INTO ids USING f, p_after, p_limit;
    RETURN ids;
END
$fn$;
REVOKE EXECUTE ON FUNCTION project_ids_page(jsonb, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION project_ids_page(jsonb, bigint, integer) TO crm_app;

CREATE OR REPLACE FUNCTION projects_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    page text;
BEGIN
    WITH page AS (
        SELECT p.id, project_json(p) AS j FROM project p
         WHERE p.id = ANY (project_ids_page(f, p_after, p_limit + 1))),
    numbered AS (SELECT page.*, row_number() OVER (ORDER BY id) AS n FROM page)
    SELECT json_build_object(
        'items', coalesce(json_agg(j ORDER BY id) FILTER (WHERE n <= p_limit), '[]'),
        'next_after', CASE WHEN count(*) > p_limit THEN max(id) FILTER (WHERE n <= p_limit) END)::text
      INTO page
      FROM numbered;
    RETURN page;
END
$fn$;
