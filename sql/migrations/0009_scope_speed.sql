-- Speed of scope checks and of the project reads (issue 6), found with perf
-- on the PostgreSQL backends while pgbench sent crm's statements.
--
-- 1. crm_in_scope, the body of every row-level policy, was never inlined:
--    PostgreSQL does not inline a SQL function whose body holds a sub-select,
--    and 0003 had put one there (meant as a once-per-query InitPlan). So each
--    policy check ran the function through the SQL-function executor, its
--    body parsed and planned again in every query and run again for every
--    row: about 70 µs of a point read, and 20 µs per row of a list (a
--    township's 541 projects took 10.7 ms to count). Written as a plain
--    expression it is inlined into the policy: `unit_path @> ARRAY[unit]`,
--    the caller's unit read from the transaction's setting. With no caller
--    the array holds NULL, which no path contains: nothing is in scope, as
--    before.
CREATE OR REPLACE FUNCTION crm_in_scope(unit_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT unit_path @> ARRAY[crm_caller_unit()] $$;

-- 2. The same for the policies that name a unit by id (users, the audit
--    log): inlined, the unit's path looked up by a cached plan.
CREATE OR REPLACE FUNCTION crm_unit_path(p_unit bigint) RETURNS bigint[] LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    p bigint[];
BEGIN
    SELECT u.path INTO p FROM unit u WHERE u.id = p_unit;
    RETURN p;
END
$$;
CREATE OR REPLACE FUNCTION crm_unit_in_scope(p_unit bigint) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(crm_in_scope(crm_unit_path(p_unit)), false) $$;

-- 3. Projects as JSON, set-wise: the projects of the ids given that the
--    caller may see (row-level security applies), with the names of their
--    unit and investor (under the policy, as before) and of their leader
--    (0008's user_display_name). JSON, in this order, rather than jsonb:
--    only text leaves, and jsonb took a third more time to build and print.
--    Its plan is generic (one plan for the connection): the planner would
--    otherwise plan `= ANY (ids)` again at every call, its custom plans
--    looking cheaper than the generic one (0.5 ms of a point read). The one
--    owner of a project's JSON: project_json, projects_get and projects_page
--    use it.
CREATE FUNCTION project_render(p_ids bigint[]) RETURNS TABLE (id bigint, j json)
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY
    SELECT p.id, json_build_object(
        'id', p.id, 'code', p.code, 'name', p.name, 'unit_id', p.unit_id,
        'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id),
        'investor_id', p.investor_id,
        'investor_name', (SELECT i.name FROM investor i WHERE i.id = p.investor_id),
        'leader_id', p.leader_id, 'leader_name', user_display_name(p.leader_id),
        'industry_chain', p.industry_chain, 'park', p.park,
        'planned_investment_yuan', p.planned_investment_yuan, 'is_key', p.is_key,
        'five_one', p.five_one, 'plan', p.plan, 'planned_start_on', p.planned_start_on,
        'expected_sign_on', p.expected_sign_on,
        'stage', p.stage, 'stalled_from', p.stalled_from, 'terminated_reason', p.terminated_reason,
        'signed_on', p.signed_on, 'started_on', p.started_on, 'production_on', p.production_on,
        'capacity_on', p.capacity_on, 'last_progress_at', p.last_progress_at,
        'created_at', p.created_at, 'updated_at', p.updated_at, 'version', p.version)
      FROM project p WHERE p.id = ANY (p_ids);
END
$$;

-- The JSON of one project (what a write returns): rendered as above, by id,
-- within the writing transaction.
DROP FUNCTION project_json(project);
CREATE FUNCTION project_json(p project) RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    j json;
BEGIN
    SELECT r.j INTO j FROM project_render(ARRAY[p.id]) r;
    RETURN j;
END
$$;

-- A point read: PL/pgSQL, whose plans are kept per connection (a SQL
-- function is planned again at each call: 0.15 ms of a point read).
CREATE OR REPLACE FUNCTION projects_get(p_id bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    j text;
BEGIN
    SELECT r.j::text INTO j FROM project_render(ARRAY[p_id]) r;
    RETURN j;
END
$$;

-- 4. A page of project ids (0008). The caller's scope and a unit filter were
--    both conditions on the GIN index of unit_path, which then intersected
--    the posting list of the caller's unit (at the province root: every
--    project) with the filter's: 16 ms for a township's first page. Now one
--    unit drives the index: the filter's, else the caller's; the caller's
--    scope is checked on the rows found (= ANY, which no index serves). A
--    township (a unit without children) is read through (unit_id, id), in
--    id order, with no sort, and, with no other filter, by a query planned
--    once per connection rather than at each call.
CREATE OR REPLACE FUNCTION project_ids_page(f jsonb, p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    v_unit bigint := coalesce((f ->> 'unit_id')::bigint, crm_caller_unit());
    leaf boolean;
    cond text;
    ids bigint[];
BEGIN
    IF v_unit IS NULL THEN
        RETURN '{}';
    END IF;
    leaf := NOT EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = v_unit);
    IF leaf AND (f - 'unit_id') = '{}' THEN
        SELECT coalesce(array_agg(x.id ORDER BY x.id), '{}') INTO ids FROM (
            SELECT p.id FROM project p
             WHERE p.unit_id = v_unit AND p.id > coalesce(p_after, 0)
               AND crm_caller_unit() = ANY (p.unit_path)
             ORDER BY p.id LIMIT p_limit) x;
        RETURN ids;
    END IF;
    cond := CASE WHEN leaf THEN 'p.unit_id = $4' ELSE 'p.unit_path @> ARRAY[$4]' END;
    IF f ? 'unit_id' THEN cond := cond || ' AND crm_caller_unit() = ANY (p.unit_path)'; END IF;
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
            SELECT p.id FROM project p WHERE %s ORDER BY p.id LIMIT $3) x
    $q$, cond) INTO ids USING f, p_after, p_limit, v_unit;
    RETURN ids;
END
$fn$;

-- A page: the ids (one more than asked, to know whether a next page
-- exists), then their projects rendered together.
CREATE OR REPLACE FUNCTION projects_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE AS $fn$
DECLARE
    ids bigint[] := project_ids_page(f, p_after, p_limit + 1);
    next bigint;
    page text;
BEGIN
    IF cardinality(ids) > p_limit THEN
        next := ids[p_limit];
        ids := ids[1:p_limit];
    END IF;
    SELECT json_build_object('items', coalesce(json_agg(r.j ORDER BY r.id), '[]'), 'next_after', next)::text
      INTO page
      FROM project_render(ids) r;
    RETURN page;
END
$fn$;
