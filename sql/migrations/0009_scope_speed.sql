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

-- 3. Projects for answers: a view, which the planner folds into each query
--    (a function is a call per row or per answer, and one returning a set
--    a tuplestore), with the names of a project's unit and investor (under
--    their policies, as before) and of its leader joined to it. The view
--    runs as its caller (security_invoker): the project's own row-level
--    policy applies. Its columns are the keys of a project's JSON, in this
--    order: the one owner of that shape. One project is row_to_json of its
--    row, a page json_agg of its rows: plain json, not jsonb (only text
--    leaves, and jsonb or json_build_object per row took a third more time).
--    The point read went from 0.25 to 0.17 ms of PostgreSQL CPU, a page of
--    50 from 1.8 to 1.5 ms (pgbench -c4 on crm's statements, province data).
--
--    The leader's name: the policy on app_user would hide a county leader
--    from a township head, so names are read through user_name, a view run
--    as its owner that shows only ids and display names (what 0008's
--    user_display_name already answered for any id).
CREATE VIEW user_name AS
SELECT l.id, coalesce(nullif(l.display_name, ''), l.username) AS name FROM app_user l;
GRANT SELECT ON user_name TO crm_app;

CREATE VIEW project_out WITH (security_invoker = true) AS
SELECT p.id, p.code, p.name, p.unit_id, u.name AS unit_name,
       p.investor_id, i.name AS investor_name, p.leader_id, l.name AS leader_name,
       p.industry_chain, p.park, p.planned_investment_yuan, p.is_key, p.five_one,
       p.plan, p.planned_start_on, p.expected_sign_on, p.stage, p.stalled_from,
       p.terminated_reason, p.signed_on, p.started_on, p.production_on, p.capacity_on,
       p.last_progress_at, p.created_at, p.updated_at, p.version
  FROM project p
  LEFT JOIN unit u ON u.id = p.unit_id
  LEFT JOIN investor i ON i.id = p.investor_id
  LEFT JOIN user_name l ON l.id = p.leader_id;
GRANT SELECT ON project_out TO crm_app;

-- The JSON of one project (what a write returns), read back by id within
-- the writing transaction.
DROP FUNCTION project_json(project);
CREATE FUNCTION project_json(p project) RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    j json;
BEGIN
    SELECT row_to_json(o) INTO j FROM project_out o WHERE o.id = p.id;
    RETURN j;
END
$$;

-- A point read: PL/pgSQL, whose plans are kept per connection (a SQL
-- function is planned again at each call: 0.15 ms of a point read).
CREATE OR REPLACE FUNCTION projects_get(p_id bigint) RETURNS text LANGUAGE plpgsql STABLE AS $$
DECLARE
    j text;
BEGIN
    SELECT row_to_json(o)::text INTO j FROM project_out o WHERE o.id = p_id;
    RETURN j;
END
$$;

-- 4. A page of project ids (0008). The caller's scope and a unit filter were
--    both conditions on the GIN index of unit_path, which then intersected
--    the posting list of the caller's unit (at the province root: every
--    project) with the filter's: 16 ms for a township's first page. Now the
--    page is drawn from one unit, the deeper of the filter's and the
--    caller's when one holds the other (nothing otherwise), so every
--    project under it is in the caller's scope; and from the units under
--    it, through (unit_id, id): a township's projects in id order with no
--    sort, by a query planned once per connection when no other filter is
--    given; a county's from that index alone (its 7,500 entries rather than
--    the 6,800 projects the primary key walked past to find 50 of them:
--    4.5 to 1 ms); the root's along the primary key.
CREATE FUNCTION crm_page_unit(f jsonb) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v bigint;
BEGIN
    IF NOT f ? 'unit_id' THEN
        RETURN crm_caller_unit();
    END IF;
    SELECT CASE WHEN u.path @> ARRAY[c.id] THEN u.id WHEN c.path @> ARRAY[u.id] THEN c.id END
      INTO v
      FROM unit u, unit c
     WHERE u.id = (f ->> 'unit_id')::bigint AND c.id = crm_caller_unit();
    RETURN v;
END
$$;
REVOKE EXECUTE ON FUNCTION crm_page_unit(jsonb) FROM PUBLIC;

CREATE OR REPLACE FUNCTION project_ids_page(f jsonb, p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    v_unit bigint := crm_page_unit(f);
    units bigint[];
    cond text;
    ids bigint[];
BEGIN
    IF v_unit IS NULL THEN
        RETURN '{}';
    END IF;
    units := ARRAY(SELECT u.id FROM unit u WHERE u.path @> ARRAY[v_unit]);
    IF units = ARRAY[v_unit] AND (f - 'unit_id') = '{}' THEN
        SELECT coalesce(array_agg(x.id ORDER BY x.id), '{}') INTO ids FROM (
            SELECT p.id FROM project p
             WHERE p.unit_id = v_unit AND p.id > coalesce(p_after, 0)
             ORDER BY p.id LIMIT p_limit) x;
        RETURN ids;
    END IF;
    cond := 'p.unit_id = ANY ($4)';
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
    $q$, cond) INTO ids USING f, p_after, p_limit, units;
    RETURN ids;
END
$fn$;

-- A page: the ids (one more than asked, to know whether a next page
-- exists), then their projects. The plan is generic, made once per
-- connection: the planner would otherwise plan `= ANY (ids)` again at every
-- call, its custom plans looking cheaper than the generic one.
CREATE OR REPLACE FUNCTION projects_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    ids bigint[] := project_ids_page(f, p_after, p_limit + 1);
    next bigint;
    page text;
BEGIN
    IF cardinality(ids) > p_limit THEN
        next := ids[p_limit];
        ids := ids[1:p_limit];
    END IF;
    SELECT json_build_object('items', coalesce(json_agg(o ORDER BY o.id), '[]'), 'next_after', next)::text
      INTO page
      FROM project_out o
     WHERE o.id = ANY (ids);
    RETURN page;
END
$fn$;

-- 5. Logging a visit, or a claim, is progress on its project: it sets the
--    project's last_progress_at (for the no-progress alerts). That update
--    also raised the project's version, so an edit sent with the ETag read
--    before someone logged a visit was refused (412) for a change nobody
--    made to the project; it wrote a second audit row, the interaction's
--    own row already recording the visit; and, last_progress_at being
--    indexed, it wrote a new entry in each of the project's nine indexes.
--    Progress alone now changes neither the version nor the audit log; any
--    other change still does both. The index on last_progress_at served no
--    query (the alerts walk a unit's projects; the daily stall check reads
--    them all) and is dropped, and pages keep a tenth free, so that progress
--    is a heap-only update. pgbench on crm's statements for logging a
--    visit: 838 writes/s before, 1,268 without the project update at all.
DROP TRIGGER project_touch ON project;
CREATE TRIGGER project_touch BEFORE UPDATE ON project FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_progress_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_progress_at'))
    EXECUTE FUNCTION row_touch();
DROP TRIGGER project_audit ON project;
CREATE TRIGGER project_audit AFTER INSERT OR DELETE ON project
    FOR EACH ROW EXECUTE FUNCTION audit_crm_row();
CREATE TRIGGER project_audit_update AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION audit_crm_row();
DROP INDEX project_progress;
ALTER TABLE project SET (fillfactor = 90);

-- 6. A unit's figures of a year add up its roll-up rows, one per day with a
--    change (1,345 at the province root for 2024): grouped by basis, each
--    row is added once rather than tested against both bases ten times
--    (0.73 to 0.52 ms at the root).
CREATE OR REPLACE FUNCTION kpi_fast_both(p_unit bigint, p_year integer, p_as_of date,
                                         OUT verified kpi_figures, OUT reported kpi_figures)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g record;
BEGIN
    verified := ROW(0, 0, 0, 0, 0);
    reported := ROW(0, 0, 0, 0, 0);
    FOR g IN
        SELECT basis, sum(signing)::bigint AS signing, sum(signed)::integer AS signed,
               sum(started)::integer AS started, sum(signed_amt)::bigint AS signed_amt,
               sum(started_amt)::bigint AS started_amt
          FROM kpi_rollup
         WHERE unit_id = p_unit AND basis IN ('verified', 'reported') AND year = p_year AND day <= p_as_of
         GROUP BY basis
    LOOP
        IF g.basis = 'verified' THEN
            verified := ROW(g.signing, g.signed, g.started, g.signed_amt, g.started_amt);
        ELSE
            reported := ROW(g.signing, g.signed, g.started, g.signed_amt, g.started_amt);
        END IF;
    END LOOP;
END
$$;

-- 7. Investors had the list's problem of 4 (0004): a unit filter on
--    investors under the row-level policy is not leakproof, so it was never
--    an index condition, and a township's first page of investors walked the
--    whole table (91 ms at 100,000 investors). The page's ids are now chosen
--    as in 4, from the GIN index of the unit the page is drawn from, and the
--    investors read by id under the policy. The answer is unchanged.
CREATE FUNCTION investor_ids_page(f jsonb, p_after bigint, p_limit integer) RETURNS bigint[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    v_unit bigint := crm_page_unit(f);
    cond text := 'i.unit_path @> ARRAY[$4]';
    ids bigint[];
BEGIN
    IF v_unit IS NULL THEN
        RETURN '{}';
    END IF;
    IF f ? 'q' THEN cond := cond || ' AND i.id IN (SELECT investor_ids_named($1 ->> ''q'', $2, $3))'; END IF;
    IF f ? 'industry' THEN cond := cond || ' AND i.industry = ($1 ->> ''industry'')'; END IF;
    IF f ? 'chain_role' THEN cond := cond || ' AND i.chain_role = ($1 ->> ''chain_role'')'; END IF;
    IF f ? 'uscc' THEN cond := cond || ' AND i.uscc = ($1 ->> ''uscc'')'; END IF;
    IF p_after IS NOT NULL THEN cond := cond || ' AND i.id > $2'; END IF;
    EXECUTE format($q$
        SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM (
            SELECT i.id FROM investor i WHERE %s ORDER BY i.id LIMIT $3) x
    $q$, cond) INTO ids USING f, p_after, p_limit, v_unit;
    RETURN ids;
END
$fn$;
REVOKE EXECUTE ON FUNCTION investor_ids_page(jsonb, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION investor_ids_page(jsonb, bigint, integer) TO crm_app;

CREATE OR REPLACE FUNCTION investors_page(f jsonb, p_after bigint, p_limit integer) RETURNS text
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    ids bigint[] := investor_ids_page(f, p_after, p_limit + 1);
    next bigint;
    page text;
BEGIN
    IF cardinality(ids) > p_limit THEN
        next := ids[p_limit];
        ids := ids[1:p_limit];
    END IF;
    SELECT json_build_object('items', coalesce(json_agg(investor_json(i) ORDER BY i.id), '[]'),
                             'next_after', next)::text
      INTO page
      FROM investor i
     WHERE i.id = ANY (ids);
    RETURN page;
END
$fn$;
