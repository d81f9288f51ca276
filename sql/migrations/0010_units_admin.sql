-- Units administered through the API and the CLI, departments acting for
-- the unit they serve, and the figures as people read them (issue 11).
--
-- 1. The unit tree: units are created, renamed, moved and retired by
--    admins within their subtree (units_create, units_update), never only
--    by SQL. unit_rules keeps the tree sensible for every writer (the API,
--    `crm init`, `crm unit import`, the demo): kinds nest province > city >
--    county > town/township > zone, a department sits under the unit it
--    serves and has no units under it, nothing goes under a retired unit,
--    and a unit is retired only once nothing under it is still at work.
-- 2. A moved unit takes its subtree and every scoped row under it along, in
--    the moving transaction (unit_scope_follows). The figures keep their
--    history: a project counts toward the units it belonged to at the time
--    (its placement history, 0006), so the old county keeps what was signed
--    while the township was its own, and the new one counts from the move.
-- 3. Departments act for the unit they serve: a user of the county's
--    investment centre (a `department` under the county) works on the
--    county's scope. auth_session sets crm.unit_id, the root of the
--    caller's scope that every row-level policy reads, to the served unit;
--    crm.home_unit_id keeps the user's own unit. Departments hold no
--    targets or quotas, and so are never ranked, scored or alerted on.

-- ---- the unit row ----

ALTER TABLE unit
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN version integer NOT NULL DEFAULT 1;
CREATE TRIGGER unit_touch BEFORE UPDATE ON unit FOR EACH ROW EXECUTE FUNCTION row_touch();

-- The level of a kind in the tree: a unit sits under one of a lower
-- level. A zone (园区) may lie within a town as well as under a county; a
-- department has no level of its own.
CREATE FUNCTION unit_kind_level(p_kind text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'province' THEN 1 WHEN 'city' THEN 2 WHEN 'county' THEN 3
                       WHEN 'town' THEN 4 WHEN 'township' THEN 4 WHEN 'zone' THEN 5 END
$$;

-- The rules of the tree, for every writer. Errors name the field at fault.
CREATE FUNCTION unit_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    parent unit;
    moved boolean := TG_OP = 'INSERT' OR NEW.parent_id IS DISTINCT FROM OLD.parent_id;
    rekinded boolean := TG_OP = 'INSERT' OR NEW.kind IS DISTINCT FROM OLD.kind;
    busy text;
BEGIN
    IF NEW.parent_id IS NOT NULL AND (moved OR rekinded) THEN
        SELECT * INTO parent FROM unit WHERE id = NEW.parent_id;
        IF FOUND AND moved AND parent.retired_at IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = format('%s is retired', parent.name), COLUMN = 'parent_id';
        END IF;
        IF FOUND AND parent.kind = 'department' THEN
            RAISE check_violation USING MESSAGE = 'a department has no units under it', COLUMN = 'parent_id';
        END IF;
        IF FOUND AND NEW.kind <> 'department'
           AND unit_kind_level(NEW.kind) <= unit_kind_level(parent.kind) THEN
            RAISE check_violation USING COLUMN = CASE WHEN moved AND TG_OP = 'UPDATE' THEN 'parent_id' ELSE 'kind' END,
                  MESSAGE = format('a %s cannot be under a %s', NEW.kind, parent.kind);
        END IF;
    END IF;
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    IF rekinded AND EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = NEW.id)
       AND (NEW.kind = 'department'
            OR EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = NEW.id AND c.kind <> 'department'
                                                 AND unit_kind_level(c.kind) <= unit_kind_level(NEW.kind))) THEN
        RAISE check_violation USING MESSAGE = format('the units under it cannot be under a %s', NEW.kind),
              COLUMN = 'kind';
    END IF;
    IF rekinded AND NEW.kind = 'department'
       AND EXISTS (SELECT 1 FROM target t WHERE t.unit_id = NEW.id AND t.year >= extract(year FROM crm_today())) THEN
        RAISE check_violation USING MESSAGE = 'a department holds no target or quota; remove them first',
              COLUMN = 'kind';
    END IF;
    IF moved THEN
        SELECT format('it holds a quota for %s under its parent; remove it before moving', t.year) INTO busy
          FROM target t
         WHERE t.unit_id = NEW.id AND t.parent_unit_id IS NOT NULL AND t.year >= extract(year FROM crm_today())
         ORDER BY t.year LIMIT 1;
        IF busy IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = busy, COLUMN = 'parent_id';
        END IF;
    END IF;
    IF NEW.retired_at IS NOT NULL AND OLD.retired_at IS NULL THEN
        busy := CASE
            WHEN EXISTS (SELECT 1 FROM unit c WHERE c.parent_id = NEW.id AND c.retired_at IS NULL)
                THEN 'units under it are still active: move or retire them first'
            WHEN EXISTS (SELECT 1 FROM app_user u WHERE u.unit_id = NEW.id AND NOT u.disabled)
                THEN 'users of it are still enabled: move or disable them first'
            WHEN EXISTS (SELECT 1 FROM project p WHERE p.unit_id = NEW.id
                                                   AND p.stage NOT IN ('in_production', 'at_capacity', 'terminated'))
                THEN 'it still has open projects: move them to the unit that takes over first' END;
        IF busy IS NOT NULL THEN
            RAISE check_violation USING MESSAGE = busy, COLUMN = 'retired';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER unit_rules BEFORE INSERT OR UPDATE OF parent_id, kind, retired_at ON unit
    FOR EACH ROW EXECUTE FUNCTION unit_rules();

-- After a move (unit_moved has already rewritten the subtree's paths), the
-- rows scoped by a unit of the subtree take their new path: re-setting
-- unit_id fires each table's own unit_path trigger, and the projects'
-- triggers record the new placement and carry their claims, problems and
-- batch entries along (scope_follows, 0003). Frozen score snapshots keep
-- the path they were frozen with.
CREATE FUNCTION unit_scope_follows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE investor SET unit_id = unit_id WHERE unit_path @> ARRAY[NEW.id];
    UPDATE project SET unit_id = unit_id WHERE unit_path @> ARRAY[NEW.id];
    UPDATE interaction SET unit_id = unit_id WHERE unit_path @> ARRAY[NEW.id];
    UPDATE batch SET unit_id = unit_id WHERE unit_path @> ARRAY[NEW.id];
    UPDATE target SET unit_id = unit_id WHERE unit_path @> ARRAY[NEW.id];
    RETURN NULL;
END
$$;
CREATE TRIGGER unit_scope_follows AFTER UPDATE OF parent_id ON unit
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION unit_scope_follows();

-- Nothing new is placed in a retired unit: records, users, targets.
CREATE FUNCTION unit_accepts() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    u unit;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.unit_id = OLD.unit_id THEN
        RETURN NEW;
    END IF;
    SELECT * INTO u FROM unit WHERE id = NEW.unit_id;
    IF FOUND AND u.retired_at IS NOT NULL THEN
        RAISE check_violation USING MESSAGE = format('%s is retired', u.name), COLUMN = 'unit_id';
    END IF;
    IF FOUND AND TG_TABLE_NAME = 'target' AND u.kind = 'department' THEN
        RAISE check_violation USING MESSAGE = format('%s is a department: departments hold no target or quota', u.name),
              COLUMN = 'unit_id';
    END IF;
    RETURN NEW;
END
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['investor', 'project', 'interaction', 'batch', 'app_user', 'target'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF unit_id ON %I '
                       'FOR EACH ROW EXECUTE FUNCTION unit_accepts()', t || '_unit_accepts', t);
    END LOOP;
END
$$;

-- ---- departments act for the unit they serve ----

-- The root of the scope of a user of p_unit: the unit a department serves
-- (its parent), any other unit itself.
CREATE FUNCTION unit_scope_root(p_unit bigint) RETURNS bigint LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    root bigint;
BEGIN
    SELECT CASE WHEN u.kind = 'department' AND u.parent_id IS NOT NULL THEN u.parent_id ELSE u.id END
      INTO root FROM unit u WHERE u.id = p_unit;
    RETURN root;
END
$$;

-- The caller's own unit (crm.unit_id is the root of their scope).
CREATE FUNCTION crm_caller_home_unit() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.home_unit_id', true), '')::bigint $$;

-- As in 0002, but the scope's root is unit_scope_root of the user's unit.
CREATE OR REPLACE FUNCTION auth_session(p_token_hash bytea, p_request_id text, p_roles text[],
                                        p_idle_s integer)
RETURNS TABLE (user_id bigint, username text, display_name text, role text, unit_id bigint,
               expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    s record;
BEGIN
    SELECT se.user_id, se.last_seen_at, se.expires_at, u.username, u.display_name, u.role,
           u.unit_id, u.disabled
      INTO s
      FROM session se JOIN app_user u ON u.id = se.user_id
     WHERE se.token_hash = p_token_hash AND se.revoked_at IS NULL;
    IF NOT FOUND OR s.disabled OR s.expires_at <= now()
       OR s.last_seen_at < now() - make_interval(secs => p_idle_s) THEN
        RAISE EXCEPTION 'invalid session' USING ERRCODE = 'CR401';
    END IF;
    IF NOT s.role = ANY (p_roles) THEN
        RAISE EXCEPTION 'role % may not call this route', s.role USING ERRCODE = 'CR403';
    END IF;
    -- Touch at most every tenth of the idle timeout (30 s at most): one
    -- write per session and period, not per request.
    IF s.last_seen_at < now() - make_interval(secs => least(30, greatest(1, p_idle_s / 10))) THEN
        UPDATE session SET last_seen_at = now() WHERE token_hash = p_token_hash;
    END IF;
    PERFORM set_config('crm.user_id', s.user_id::text, true),
            set_config('crm.unit_id', unit_scope_root(s.unit_id)::text, true),
            set_config('crm.home_unit_id', s.unit_id::text, true),
            set_config('crm.role', s.role, true),
            set_config('crm.request_id', coalesce(p_request_id, ''), true);
    RETURN QUERY SELECT s.user_id, s.username, s.display_name, s.role, s.unit_id, s.expires_at;
END
$$;

-- ---- units through the API ----

CREATE FUNCTION unit_json(u unit) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'parent_id', u.parent_id, 'code', u.code, 'name', u.name,
                              'kind', u.kind, 'depth', cardinality(u.path) - 1,
                              'retired', u.retired_at IS NOT NULL, 'retired_at', u.retired_at,
                              'created_at', u.created_at, 'updated_at', u.updated_at, 'version', u.version)
$$;

-- GET /units: the caller's subtree in tree order (row-level security).
CREATE FUNCTION units_list() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('items', coalesce(jsonb_agg(unit_json(u) ORDER BY u.path), '[]'))::text FROM unit u
$$;

-- GET /units/{id} (row-level security: out of scope is no row, a 404).
CREATE FUNCTION units_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT unit_json(u)::text FROM unit u WHERE u.id = p_id
$$;

CREATE FUNCTION units_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT u.version FROM unit u WHERE u.id = p_id
$$;

-- Whether the caller is an admin; CR403 otherwise.
CREATE FUNCTION unit_admin_check() RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only administrators change units' USING ERRCODE = 'CR403';
    END IF;
END
$$;

-- A parent named in a body: a unit of the caller's scope, else 422 on parent_id.
CREATE FUNCTION unit_parent_of(b jsonb) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF jsonb_typeof(b -> 'parent_id') IS DISTINCT FROM 'number' OR (b ->> 'parent_id') !~ '^[0-9]{1,18}$'
       OR NOT crm_unit_in_scope((b ->> 'parent_id')::bigint) THEN
        RAISE check_violation USING MESSAGE = 'no such unit in your scope', COLUMN = 'parent_id';
    END IF;
    RETURN (b ->> 'parent_id')::bigint;
END
$$;

-- POST /units {parent_id, code, name, kind}: a unit under one of the
-- caller's scope (an admin's). Audited by unit_audit (0002).
CREATE FUNCTION units_create(b jsonb) RETURNS text LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u unit;
BEGIN
    PERFORM unit_admin_check();
    INSERT INTO unit (parent_id, code, name, kind)
    VALUES (unit_parent_of(b), b ->> 'code', b ->> 'name', b ->> 'kind')
    RETURNING * INTO u;
    RETURN unit_json(u)::text;
END
$$;

-- PATCH /units/{id} {name, code, kind, parent_id, retired}: rename,
-- re-code, re-kind, move (the subtree and its rows follow) or retire
-- (true) and reinstate (false) a unit of the caller's scope. The root of
-- the caller's own scope is not moved, re-kinded or retired by its own
-- admins. No row when the unit is out of scope or the version is stale.
CREATE FUNCTION units_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u unit;
    k text;
BEGIN
    PERFORM unit_admin_check();
    IF NOT crm_unit_in_scope(p_id) THEN
        RETURN NULL;
    END IF;
    IF b ? 'parent_id' AND crm_unit_path(unit_parent_of(b)) @> ARRAY[p_id] THEN
        RAISE check_violation USING MESSAGE = 'a unit cannot be moved under itself or a unit below it',
              COLUMN = 'parent_id';
    END IF;
    IF p_id = crm_caller_unit() THEN
        FOREACH k IN ARRAY ARRAY['parent_id', 'kind', 'retired'] LOOP
            IF b ? k THEN
                RAISE check_violation USING COLUMN = k,
                      MESSAGE = 'the unit your scope starts from is changed by an administrator above it';
            END IF;
        END LOOP;
    END IF;
    UPDATE unit SET
        name = coalesce(b ->> 'name', name),
        code = coalesce(b ->> 'code', code),
        kind = coalesce(b ->> 'kind', kind),
        parent_id = CASE WHEN b ? 'parent_id' THEN unit_parent_of(b) ELSE parent_id END,
        retired_at = CASE WHEN NOT b ? 'retired' THEN retired_at
                          WHEN (b ->> 'retired')::boolean THEN coalesce(retired_at, now()) END
     WHERE id = p_id AND version = p_version
    RETURNING * INTO u;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    RETURN unit_json(u)::text;
END
$$;

-- ---- the figures: departments never ranked ----

-- Whether a unit takes part in its level's ranking of a year: never a
-- department; a retired unit only for a year it held a target or quota.
CREATE FUNCTION unit_ranked(u unit, p_year integer) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT u.kind <> 'department'
       AND (u.retired_at IS NULL OR EXISTS (SELECT 1 FROM target t WHERE t.unit_id = u.id AND t.year = p_year))
$$;

-- As in 0006, with the ranked units only.
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
REVOKE EXECUTE ON FUNCTION unit_ranked(unit, integer) FROM PUBLIC;

-- ---- the leaders' figures of the year asked ----

-- As in 0004, but the projects a leader leads are those in play in the
-- year: created, signed or started in it, or met about in it.
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
        'name', (SELECT coalesce(nullif(u.display_name, ''), u.username) FROM app_user u
                  WHERE u.id = ld.leader_id),
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

-- ---- scores count every figure of the quota ----

-- A quota has three figures (amount, signed projects, same-year start
-- rate), and the score now weighs all three: by default 40 points for the
-- amount, 20 for the number of projects signed, 40 for the start rate
-- (a township that signs its amount in half the projects asked no longer
-- scores 100). Years whose rules were set before keep their scores: their
-- stored rules get a count weight of 0.
CREATE OR REPLACE FUNCTION score_rules_default() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"signing_weight": 40, "signed_count_weight": 20, "start_rate_weight": 40,
             "signing_cap": 1.0, "signed_count_cap": 1.0, "start_rate_cap": 1.0,
             "overdue_deduction": 0.1, "falsified_deduction": 0.2}'::jsonb
$$;
UPDATE score_rule SET rules = rules || '{"signed_count_weight": 0, "signed_count_cap": 1.0}'::jsonb
 WHERE NOT rules ? 'signed_count_weight';

-- The score of p_unit for p_year as of p_as_of, as in 0007 with a third
-- component:
--   signed_count = signed_count_weight * least(signed / target count, signed_count_cap)
--                  (a target count of 0 is met)
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

-- ---- alerts in the unit people read: ¥亿 ----

-- An amount of yuan as people read it: ¥185.07亿 (the raw yuan stay in the
-- alert's figures).
CREATE FUNCTION yuan_yi(p_yuan bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT '¥' || to_char(round(p_yuan / 1e8, 2), 'FM999999999990.00') || '亿'
$$;

-- As in 0007, the forecast alert's message in ¥亿.
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
                   jsonb_build_object(
                       'kind', part.kind, 'level', part.level, 'unit_id', p.unit_id,
                       'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id),
                       'project_id', p.id, 'project_code', p.code, 'project_name', p.name,
                       'message', CASE part.kind
                           WHEN 'not_started' THEN format('已签约项目计划 %s 开工，至今未开工', p.planned_start_on)
                           WHEN 'at_risk' THEN CASE WHEN days_left > 0
                               THEN format('已签约项目尚未开工，距年底仅剩 %s 天，当年开工有风险', days_left)
                               ELSE '已签约项目当年未开工' END END,
                       'since', CASE WHEN part.kind = 'not_started' THEN p.planned_start_on END,
                       'due', CASE WHEN part.kind = 'at_risk' THEN make_date(p_year, 12, 31) END,
                       'figures', jsonb_build_object(
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
                   jsonb_build_object(
                       'kind', part.kind, 'level', part.level, 'unit_id', p.unit_id,
                       'unit_name', (SELECT u.name FROM unit u WHERE u.id = p.unit_id),
                       'project_id', p.id, 'project_code', p.code, 'project_name', p.name,
                       'message', format('项目已 %s 天没有进展记录',
                                         (ref AT TIME ZONE 'Asia/Shanghai')::date
                                             - (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date),
                       'since', (p.last_progress_at AT TIME ZONE 'Asia/Shanghai')::date,
                       'due', NULL,
                       'figures', jsonb_build_object(
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
                   jsonb_build_object(
                       'kind', part.kind, 'level', part.level, 'unit_id', m.id, 'unit_name', m.name,
                       'project_id', NULL, 'project_code', NULL, 'project_name', NULL,
                       'message', CASE part.kind
                           WHEN 'forecast_under_target' THEN
                               format('预计全年签约 %s，低于目标 %s', yuan_yi(m.forecast_yuan), yuan_yi(m.target_yuan))
                           ELSE format('签约额完成 %s%%，落后于序时进度 %s%%',
                                       round(m.signed_yuan * 100.0 / m.target_yuan, 1), round(tp * 100, 1)) END,
                       'since', NULL,
                       'due', make_date(p_year, 12, 31),
                       'figures', jsonb_build_object(
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

REVOKE EXECUTE ON FUNCTION unit_scope_root(bigint) FROM PUBLIC;

-- ---- the unit tree from a file (crm unit import) ----

-- A kind as a county writes it: English, or 省 市 县 区 镇 乡 园区 开发区 部门.
CREATE FUNCTION unit_kind_parse(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN lower(btrim(p)) IN ('province', 'city', 'county', 'town', 'township', 'zone', 'department')
                THEN lower(btrim(p))
                ELSE CASE btrim(p)
                    WHEN '省' THEN 'province' WHEN '市' THEN 'city' WHEN '地级市' THEN 'city'
                    WHEN '县' THEN 'county' WHEN '区' THEN 'county' WHEN '县区' THEN 'county'
                    WHEN '县级市' THEN 'county' WHEN '镇' THEN 'town' WHEN '乡' THEN 'township'
                    WHEN '园区' THEN 'zone' WHEN '开发区' THEN 'zone' WHEN '工业园区' THEN 'zone'
                    WHEN '经济技术开发区' THEN 'zone' WHEN '部门' THEN 'department' END END
$$;

-- Loads a unit tree: rows [{line, code, name, kind, parent_code}] in any
-- order (a parent may come after its children). A new code is created, a
-- known one renamed, re-kinded or moved as the file says; a row without a
-- parent code is a root, or keeps its parent when it exists. Every rule of
-- unit_rules applies. All or nothing: when a row is refused nothing is
-- stored, and the report says why for each line:
-- {stored, created, updated, unchanged, errors: [{line, field, message}]}.
-- The owner's tool (no caller, no scope).
CREATE FUNCTION unit_import(p_rows jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    pending jsonb := coalesce(p_rows, '[]');
    later jsonb;
    r jsonb;
    errors jsonb := '[]';
    created integer := 0;
    updated integer := 0;
    unchanged integer := 0;
    progress boolean := true;
    v_kind text;
    v_parent bigint;
    old unit;
    field text;
    message text;
BEGIN
    BEGIN
        WHILE jsonb_array_length(pending) > 0 AND progress LOOP
            progress := false;
            later := '[]';
            FOR r IN SELECT e FROM jsonb_array_elements(pending) e LOOP
                IF coalesce(r ->> 'parent_code', '') <> ''
                   AND NOT EXISTS (SELECT 1 FROM unit WHERE code = r ->> 'parent_code') THEN
                    later := later || jsonb_build_array(r);
                    CONTINUE;
                END IF;
                progress := true;
                BEGIN
                    v_kind := unit_kind_parse(r ->> 'kind');
                    IF v_kind IS NULL THEN
                        RAISE check_violation USING COLUMN = 'kind',
                              MESSAGE = 'must be 省, 市, 县, 区, 镇, 乡, 园区, 开发区 or 部门 (or province, city, county, town, township, zone, department)';
                    END IF;
                    v_parent := (SELECT id FROM unit WHERE code = r ->> 'parent_code');
                    SELECT * INTO old FROM unit WHERE code = r ->> 'code';
                    IF NOT FOUND THEN
                        INSERT INTO unit (parent_id, code, name, kind)
                        VALUES (v_parent, r ->> 'code', r ->> 'name', v_kind);
                        created := created + 1;
                    ELSIF (old.name, old.kind) IS NOT DISTINCT FROM (r ->> 'name', v_kind)
                          AND (v_parent IS NULL OR v_parent = old.parent_id) THEN
                        unchanged := unchanged + 1;
                    ELSE
                        UPDATE unit SET name = r ->> 'name', kind = v_kind,
                                        parent_id = coalesce(v_parent, parent_id)
                         WHERE id = old.id;
                        updated := updated + 1;
                    END IF;
                EXCEPTION WHEN integrity_constraint_violation OR data_exception THEN
                    GET STACKED DIAGNOSTICS field = COLUMN_NAME, message = MESSAGE_TEXT;
                    IF coalesce(field, '') = '' THEN
                        GET STACKED DIAGNOSTICS field = CONSTRAINT_NAME;
                        field := CASE WHEN field LIKE 'unit_code%' THEN 'code' WHEN field LIKE 'unit_name%' THEN 'name'
                                      WHEN field LIKE 'unit_kind%' THEN 'kind' ELSE 'code' END;
                        message := CASE WHEN field = 'code' AND message LIKE '%check%'
                                        THEN 'must be 1 to 64 of a-z, 0-9, _ . - (starting with a letter or digit)'
                                        WHEN field = 'name' THEN 'must be 1 to 200 characters' ELSE message END;
                    END IF;
                    errors := errors || jsonb_build_object('line', r -> 'line', 'field', field, 'message', message);
                END;
            END LOOP;
            pending := later;
        END LOOP;
        FOR r IN SELECT e FROM jsonb_array_elements(pending) e LOOP
            errors := errors || jsonb_build_object('line', r -> 'line', 'field', 'parent_code',
                                                   'message', format('no unit has the code %s, here or in the file', r ->> 'parent_code'));
        END LOOP;
        IF jsonb_array_length(errors) > 0 THEN
            RAISE EXCEPTION 'refused' USING ERRCODE = 'CR422';
        END IF;
    EXCEPTION WHEN SQLSTATE 'CR422' THEN
        NULL; -- everything above is undone; the report says why
    END;
    RETURN jsonb_build_object(
        'stored', jsonb_array_length(errors) = 0,
        'created', CASE WHEN jsonb_array_length(errors) = 0 THEN created ELSE 0 END,
        'updated', CASE WHEN jsonb_array_length(errors) = 0 THEN updated ELSE 0 END,
        'unchanged', CASE WHEN jsonb_array_length(errors) = 0 THEN unchanged ELSE 0 END,
        'errors', (SELECT coalesce(jsonb_agg(e ORDER BY (e ->> 'line')::integer), '[]')
                     FROM jsonb_array_elements(errors) e));
END
$$;
REVOKE EXECUTE ON FUNCTION unit_import(jsonb) FROM PUBLIC;

-- ---- one verification of a claim, however many race ----

-- As in 0004, but the update applies only to a claim still reported: of
-- two verifications racing, the second waits for the first's row lock and
-- then finds nothing to verify (409), even when both transactions began in
-- the same microsecond (their now() equal, the second update changed
-- nothing the claim rules could see: two 200s, found by
-- tests/api/crm_concurrency.bats on a fresh clone).
CREATE OR REPLACE FUNCTION claim_verify(tbl regclass, p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    j jsonb;
BEGIN
    EXECUTE format('SELECT claim_state(verified_at, revoked_at) FROM %s WHERE id = $1', tbl)
       INTO state USING p_id;
    IF state IS NULL THEN RETURN NULL; END IF;
    EXECUTE format('UPDATE %s t SET verified_at = now(), verified_by = crm_caller_user() '
                   'WHERE id = $1 AND verified_at IS NULL AND revoked_at IS NULL RETURNING %s(t)',
                   tbl, CASE WHEN tbl = 'contract'::regclass THEN 'contract_json' ELSE 'start_json' END)
       INTO j USING p_id;
    IF j IS NULL THEN
        EXECUTE format('SELECT claim_state(verified_at, revoked_at) FROM %s WHERE id = $1', tbl)
           INTO state USING p_id;
        RAISE check_violation USING MESSAGE = format('the claim is already %s', state);
    END IF;
    RETURN j::text;
END
$$;
