-- Projects: their stages and transitions, stalled detection, and the /projects routes.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).

-- The order of the way up.
CREATE OR REPLACE FUNCTION stage_rank(s text) RETURNS int LANGUAGE sql IMMUTABLE AS $$
    SELECT array_position(ARRAY['planned', 'lead', 'negotiating', 'signed', 'started',
                                'in_production', 'at_capacity'], s)
$$;

-- The lifecycle rules, checked on every insert and update of a project,
-- whoever makes it.
CREATE OR REPLACE FUNCTION project_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    slots jsonb;
    k text;
    today date := crm_today();
BEGIN
    -- The named "five one" slots of this deployment, and no others.
    SELECT value INTO slots FROM setting WHERE key = 'five_one_slots';
    FOR k IN SELECT jsonb_object_keys(NEW.five_one) LOOP
        IF NOT coalesce(slots ? k, false) THEN
            RAISE check_violation USING MESSAGE = format('"%s" is not a five-one slot of this deployment', k),
                  COLUMN = 'five_one';
        END IF;
    END LOOP;
    IF NEW.leader_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM app_user WHERE id = NEW.leader_id AND role = 'leader' AND NOT disabled) THEN
        RAISE check_violation USING MESSAGE = 'the leader must be an enabled user with the leader role',
              COLUMN = 'leader_id';
    END IF;
    IF greatest(NEW.signed_on, NEW.started_on, NEW.production_on, NEW.capacity_on) > today THEN
        RAISE check_violation USING MESSAGE = 'a lifecycle date cannot be in the future';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.stage NOT IN ('planned', 'lead', 'negotiating') THEN
            RAISE check_violation USING MESSAGE = 'a new project starts as planned, lead or negotiating',
                  COLUMN = 'stage';
        END IF;
        IF NEW.signed_on IS NOT NULL OR NEW.started_on IS NOT NULL OR NEW.production_on IS NOT NULL
           OR NEW.capacity_on IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = 'lifecycle dates come with transitions';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.stage IS NOT DISTINCT FROM OLD.stage
       AND NEW.stalled_from IS DISTINCT FROM OLD.stalled_from THEN
        RAISE check_violation USING MESSAGE = 'the stage a project stalled from does not change',
              COLUMN = 'stalled_from';
    END IF;
    IF NEW.stage IS DISTINCT FROM OLD.stage THEN
        PERFORM project_check_transition(NEW, OLD);
        NEW.last_progress_at := now();
    END IF;
    -- Each lifecycle date is set by its own step up, and by nothing else.
    IF NEW.signed_on IS DISTINCT FROM OLD.signed_on
       AND NOT (OLD.stage = 'negotiating' AND NEW.stage = 'signed')
       OR NEW.started_on IS DISTINCT FROM OLD.started_on
       AND NOT (OLD.stage = 'signed' AND NEW.stage = 'started')
       OR NEW.production_on IS DISTINCT FROM OLD.production_on
       AND NOT (OLD.stage = 'started' AND NEW.stage = 'in_production')
       OR NEW.capacity_on IS DISTINCT FROM OLD.capacity_on
       AND NOT (OLD.stage = 'in_production' AND NEW.stage = 'at_capacity') THEN
        RAISE check_violation USING MESSAGE = 'lifecycle dates change only with a transition';
    END IF;
    -- Once signed, the facts that made it signable stay.
    IF stage_rank(NEW.stage) >= 4 OR NEW.stalled_from IN ('signed', 'started', 'in_production') THEN
        IF NEW.investor_id IS NULL OR NEW.leader_id IS NULL OR NEW.planned_investment_yuan IS NULL THEN
            RAISE check_violation USING MESSAGE = 'a signed project keeps its investor, leader and amount';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- One step of the lifecycle: up one stage (never skipping), down among the
-- stages before signing, to stalled and back, or to terminated (final).
CREATE OR REPLACE FUNCTION project_check_transition(n project, o project) RETURNS void LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    from_rank int := stage_rank(o.stage);
    to_rank int := stage_rank(n.stage);
BEGIN
    IF o.stage = 'terminated' THEN
        RAISE check_violation USING MESSAGE = 'a terminated project does not move', COLUMN = 'stage';
    END IF;
    IF n.stage = 'terminated' OR n.stage = 'stalled' THEN
        IF n.stage = 'stalled' AND (o.stage = 'at_capacity' OR n.stalled_from IS DISTINCT FROM o.stage) THEN
            RAISE check_violation USING MESSAGE = 'only an active project stalls, from its own stage', COLUMN = 'stage';
        END IF;
        RETURN;
    END IF;
    IF o.stage = 'stalled' THEN
        IF n.stage IS DISTINCT FROM o.stalled_from THEN
            RAISE check_violation USING MESSAGE = format('a stalled project resumes at %s', o.stalled_from),
                  COLUMN = 'stage';
        END IF;
        RETURN;
    END IF;
    IF to_rank > from_rank + 1 THEN
        RAISE check_violation USING MESSAGE = format('%s cannot jump to %s: no stage is skipped', o.stage, n.stage),
              COLUMN = 'stage';
    END IF;
    IF to_rank < from_rank AND from_rank >= 4 THEN
        RAISE check_violation USING MESSAGE = 'a signed project does not go back', COLUMN = 'stage';
    END IF;
    IF n.stage = 'signed' THEN
        IF n.unit_id IS NULL OR n.leader_id IS NULL OR n.investor_id IS NULL
           OR coalesce(n.planned_investment_yuan, 0) <= 0 THEN
            RAISE check_violation USING MESSAGE =
                'to be signed a project needs a responsible unit, a leader, an investor and a positive amount',
                COLUMN = 'stage';
        END IF;
        IF n.signed_on IS NULL OR NOT EXISTS (
            SELECT 1 FROM contract c WHERE c.project_id = n.id AND c.kind = 'formal'
               AND c.revoked_at IS NULL AND c.signed_on = n.signed_on) THEN
            RAISE check_violation USING MESSAGE = 'a project is signed only with a formal contract', COLUMN = 'stage';
        END IF;
    ELSIF n.stage = 'started' THEN
        IF n.started_on IS NULL OR NOT EXISTS (
            SELECT 1 FROM project_start s WHERE s.project_id = n.id AND s.revoked_at IS NULL
               AND s.started_on = n.started_on) THEN
            RAISE check_violation USING MESSAGE = 'a project is started only with a start claim', COLUMN = 'stage';
        END IF;
    ELSIF n.stage = 'in_production' AND n.production_on IS NULL THEN
        RAISE check_violation USING MESSAGE = 'production needs its date', COLUMN = 'production_on';
    ELSIF n.stage = 'at_capacity' AND n.capacity_on IS NULL THEN
        RAISE check_violation USING MESSAGE = 'full capacity needs its date', COLUMN = 'capacity_on';
    END IF;
END
$$;

-- On update, only when the row changed beyond its progress: project_bump
-- (10_rows.sql) fires first and bumps the version then. Logging a visit, a
-- progress update, so neither re-reads the settings nor refuses a visit to a
-- project whose leader has since been disabled.
CREATE OR REPLACE TRIGGER project_rules_new BEFORE INSERT ON project
    FOR EACH ROW EXECUTE FUNCTION project_rules();
CREATE OR REPLACE TRIGGER project_rules BEFORE UPDATE ON project
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version) EXECUTE FUNCTION project_rules();

-- ---- stalled projects ----

-- Marks active projects without progress for the configured number of days
-- as stalled (from their stage). Returns how many. Run by the service on a
-- timer; safe to run at any time.
CREATE OR REPLACE FUNCTION project_mark_stalled() RETURNS integer LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    days int := (SELECT value::text::int FROM setting WHERE key = 'stall_after_days');
    n int;
BEGIN
    UPDATE project SET stalled_from = stage, stage = 'stalled'
     WHERE stage IN ('planned', 'lead', 'negotiating', 'signed', 'started', 'in_production')
       AND last_progress_at < now() - make_interval(days => days);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- ---- lifecycle transitions ----

-- Moves a project one step (as the caller: row-level security applies).
-- Dates come from the claims: signed_on from the earliest live formal
-- contract, started_on from the live start claim; production and capacity
-- take the date given (today when none). The rules are project_rules'.
-- Returns the new version, or no row when the project is not visible.
CREATE OR REPLACE FUNCTION project_transition(p_id bigint, p_to text, p_on date, p_reason text)
RETURNS TABLE (version integer) LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    p project;
BEGIN
    SELECT * INTO p FROM project WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF p_to = 'signed' THEN
        p.signed_on := (SELECT min(c.signed_on) FROM contract c
                         WHERE c.project_id = p_id AND c.kind = 'formal' AND c.revoked_at IS NULL);
    ELSIF p_to = 'started' THEN
        p.started_on := (SELECT s.started_on FROM project_start s
                          WHERE s.project_id = p_id AND s.revoked_at IS NULL);
    ELSIF p_to = 'in_production' THEN
        p.production_on := coalesce(p_on, crm_today());
    ELSIF p_to = 'at_capacity' THEN
        p.capacity_on := coalesce(p_on, crm_today());
    ELSIF p_to = 'terminated' THEN
        p.terminated_reason := p_reason;
    ELSIF p_to = 'stalled' THEN
        p.stalled_from := p.stage;
    END IF;
    IF p.stage = 'stalled' AND p_to <> 'terminated' THEN
        p.stalled_from := NULL;
    ELSIF p_to = 'terminated' THEN
        p.stalled_from := NULL;
    END IF;
    RETURN QUERY
    UPDATE project SET stage = p_to, signed_on = p.signed_on, started_on = p.started_on,
           production_on = p.production_on, capacity_on = p.capacity_on,
           terminated_reason = p.terminated_reason, stalled_from = p.stalled_from
     WHERE id = p_id
    RETURNING project.version;
END
$$;

CREATE OR REPLACE FUNCTION project_ids_named(q text, p_after bigint, p_limit integer) RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT id FROM project WHERE (name ILIKE like_text($1) OR code = $1) AND crm_in_scope(unit_path)
            AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3'
        USING q, p_after, p_limit;
END
$fn$;

CREATE OR REPLACE FUNCTION projects_create(b jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    p project;
BEGIN
    INSERT INTO project (code, name, unit_id, investor_id, leader_id, industry_chain, park,
                         planned_investment_yuan, is_key, five_one, plan, planned_start_on,
                         expected_sign_on, stage, created_by)
    VALUES (b ->> 'code', b ->> 'name', (b ->> 'unit_id')::bigint, (b ->> 'investor_id')::bigint,
            (b ->> 'leader_id')::bigint, coalesce(b ->> 'industry_chain', ''),
            coalesce(b ->> 'park', ''), (b ->> 'planned_investment_yuan')::bigint,
            coalesce((b ->> 'is_key')::boolean, false), coalesce(b -> 'five_one', '{}'),
            coalesce(b ->> 'plan', ''), (b ->> 'planned_start_on')::date,
            (b ->> 'expected_sign_on')::date,
            coalesce(b ->> 'stage', 'lead'), crm_caller_user())
    RETURNING * INTO p;
    RETURN project_json(p)::text;
END
$$;

CREATE OR REPLACE FUNCTION projects_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE sql AS
$$ SELECT row_patch('project', 'name, unit_id, investor_id, leader_id, industry_chain, park,
                 planned_investment_yuan, is_key, five_one, plan, planned_start_on, expected_sign_on',
                 'project_json', p_id, p_version, b) $$;

-- The audit entries of a project and of its claims, interactions and
-- problems, oldest first; NULL when the caller cannot see the project.
CREATE OR REPLACE FUNCTION project_history(p_id bigint) RETURNS jsonb LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM project WHERE id = p_id AND crm_in_scope(unit_path)) THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('items', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', a.id, 'at', a.at, 'actor_id', a.actor_id,
                   'actor_name', (SELECT n.name FROM user_name n WHERE n.id = a.actor_id),
                   'request_id', a.request_id, 'table', a.table_name, 'row_id', a.row_id,
                   'action', a.action, 'before', a.before, 'after', a.after) ORDER BY a.id)
          FROM audit_log a WHERE a.project_id = p_id), '[]'));
END
$$;

-- The ids of a page of projects, as the owner, drawn from the unit the page
-- is drawn from (crm_page_unit: every project under it is in the caller's
-- scope) through (unit_id, id): a township's in id order with no sort, by a
-- query planned once per connection when no other filter is given; a
-- county's from that index alone (7,500 entries rather than the 6,800
-- projects the primary key walked past to find 50 of them: 4.5 to 1 ms);
-- the root's along the primary key. projects_page reads them by id.
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
    -- A county or a town unfiltered: the first ids of each of its units,
    -- merged (at most 64 x p_limit entries of (unit_id, id), rather than all
    -- 7,500 of a county's: 2.7 to 0.9 ms).
    IF cardinality(units) <= 64 AND (f - 'unit_id') = '{}' THEN
        SELECT coalesce(array_agg(x.id ORDER BY x.id), '{}') INTO ids FROM (
            SELECT y.id FROM unnest(units) AS u(id),
                   LATERAL (SELECT p.id FROM project p
                             WHERE p.unit_id = u.id AND p.id > coalesce(p_after, 0)
                             ORDER BY p.id LIMIT p_limit) y
             ORDER BY y.id LIMIT p_limit) x;
        RETURN ids;
    END IF;
    cond := 'r.unit_id = ANY ($4)';
    IF f ? 'stage' THEN cond := cond || ' AND r.stage = ($1 ->> ''stage'')'; END IF;
    IF f ? 'chain' THEN cond := cond || ' AND r.industry_chain = ($1 ->> ''chain'')'; END IF;
    IF f ? 'is_key' THEN cond := cond || ' AND r.is_key = ($1 ->> ''is_key'')::boolean'; END IF;
    IF f ? 'leader_id' THEN cond := cond || ' AND r.leader_id = ($1 ->> ''leader_id'')::bigint'; END IF;
    IF f ? 'investor_id' THEN cond := cond || ' AND r.investor_id = ($1 ->> ''investor_id'')::bigint'; END IF;
    IF f ? 'year' THEN
        cond := cond || ' AND r.signed_on >= make_date(($1 ->> ''year'')::int, 1, 1)'
                     || ' AND r.signed_on < make_date(($1 ->> ''year'')::int + 1, 1, 1)';
    END IF;
    IF f ? 'q' THEN cond := cond || ' AND r.id IN (SELECT project_ids_named($1 ->> ''q'', $2, $3))'; END IF;
    RETURN ids_page('project', cond, f, p_after, p_limit, units);
END
$fn$;
REVOKE EXECUTE ON FUNCTION project_ids_page(jsonb, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION project_ids_page(jsonb, bigint, integer) TO crm_app;

-- A project as the API shows it, its columns the JSON's keys in order, with
-- the names of its unit, investor and 包联 leader: a view, which the planner
-- folds into each query, run as its caller (security_invoker). Read with
-- row_to_json / json_agg as plain json (jsonb, or json_build_object per row,
-- took a third more time): a point read 0.25 to 0.17 ms, a page of 50 1.8 to
-- 1.5 ms (pgbench -c4, province data).
CREATE OR REPLACE VIEW project_out WITH (security_invoker = true) AS
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

-- A page of projects as rows of project_out, in id order: one more than
-- asked for when a next page exists (crm writes the JSON, db/rows_json.c,
-- and the cursor from the last id given). A township's page unfiltered, the
-- most common, is read at once through (unit_id, id); any other takes the
-- ids first (project_ids_page), then their rows. Run as the caller (the
-- names of the unit, investor and leader under row-level security), the
-- page's unit chosen by crm_page_unit. The plans are
-- generic, made once per connection: the planner would otherwise plan
-- `= ANY (ids)` again at every call, its custom plans looking cheaper.
CREATE OR REPLACE FUNCTION projects_rows(f jsonb, p_after bigint, p_limit integer) RETURNS SETOF project_out
LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    v_unit bigint;
BEGIN
    IF (f - 'unit_id') = '{}' THEN
        v_unit := crm_page_unit(f);
        IF v_unit IS NULL THEN
            RETURN;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = v_unit) THEN
            RETURN QUERY SELECT o.* FROM project_out o
                          WHERE o.unit_id = v_unit AND o.id > coalesce(p_after, 0)
                          ORDER BY o.id LIMIT p_limit + 1;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT o.* FROM project_out o
                  WHERE o.id = ANY (project_ids_page(f, p_after, p_limit + 1)) ORDER BY o.id;
END
$fn$;

-- The project a problem or a claim is created on, if the caller sees it;
-- 'no such project' on project_id otherwise, before the insert's own
-- checks could name it differently.
CREATE OR REPLACE FUNCTION project_required(p_id bigint) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM project WHERE id = p_id) THEN
        RAISE foreign_key_violation USING MESSAGE = 'no such project', COLUMN = 'project_id';
    END IF;
    RETURN p_id;
END
$$;

CREATE OR REPLACE FUNCTION project_json(p project) RETURNS json LANGUAGE plpgsql STABLE AS $$
DECLARE
    j json;
BEGIN
    SELECT row_to_json(o) INTO j FROM project_out o WHERE o.id = p.id;
    RETURN j;
END
$$;
