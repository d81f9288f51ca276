-- The unit tree: its rules, moves that carry their rows along, the units API (/units) and the
-- CSV import of `crm unit import`. Each unit carries its path, the ids from the root down to
-- itself: a user's scope is their unit's subtree.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- path = parent's path || id; a unit cannot move under its own subtree.
CREATE OR REPLACE FUNCTION unit_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_path bigint[];
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.path := ARRAY[NEW.id];
    ELSE
        SELECT path INTO parent_path FROM unit WHERE id = NEW.parent_id;
        IF parent_path IS NULL THEN
            RAISE foreign_key_violation USING MESSAGE = 'parent unit does not exist';
        END IF;
        IF NEW.id = ANY (parent_path) THEN
            RAISE check_violation USING MESSAGE = 'a unit cannot be moved under itself';
        END IF;
        NEW.path := parent_path || NEW.id;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER unit_path BEFORE INSERT OR UPDATE OF parent_id ON unit
    FOR EACH ROW EXECUTE FUNCTION unit_set_path();

-- After a move, the subtree follows.
CREATE OR REPLACE FUNCTION unit_move_subtree() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE unit SET path = NEW.path || path[array_position(path, NEW.id) + 1:]
     WHERE path @> ARRAY[NEW.id] AND id <> NEW.id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER unit_moved AFTER UPDATE OF parent_id ON unit
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION unit_move_subtree();

-- A unit as the figures name it: id, code, name, kind, parent. Called only
-- inside SECURITY DEFINER entry points (stats, scores, scorecard), so it
-- reads as the owner without a definer switch of its own at every call.
CREATE OR REPLACE FUNCTION unit_brief(p_unit bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    j jsonb;
BEGIN
    SELECT jsonb_build_object('id', u.id, 'code', u.code, 'name', u.name, 'kind', u.kind,
                              'parent_id', u.parent_id)
      INTO j FROM unit u WHERE u.id = p_unit;
    RETURN j;
END
$$;
REVOKE EXECUTE ON FUNCTION unit_brief(bigint) FROM PUBLIC;

-- The level of a kind in the tree: a unit sits under one of a lower
-- level. A zone (园区) may lie within a town as well as under a county; a
-- department has no level of its own.
CREATE OR REPLACE FUNCTION unit_kind_level(p_kind text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE p_kind WHEN 'province' THEN 1 WHEN 'city' THEN 2 WHEN 'county' THEN 3
                       WHEN 'town' THEN 4 WHEN 'township' THEN 4 WHEN 'zone' THEN 5 END
$$;

-- The rules of the tree, for every writer (the API, `crm init`, `crm unit
-- import`, the demo): kinds nest province > city > county > town/township >
-- zone; a department sits under the unit it serves and has no units under
-- it; nothing goes under a retired unit; a unit is not moved while it holds
-- a quota of this year or later, nor made a department while it holds a
-- target or quota of such a year; and it is retired only once no active
-- unit, enabled user or open project of it is left. Errors name the field
-- at fault.
CREATE OR REPLACE FUNCTION unit_rules() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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

CREATE OR REPLACE TRIGGER unit_rules BEFORE INSERT OR UPDATE OF parent_id, kind, retired_at ON unit
    FOR EACH ROW EXECUTE FUNCTION unit_rules();

-- After a move (unit_moved has already rewritten the subtree's paths), the
-- rows scoped by a unit of the subtree take their new path: re-setting
-- unit_id fires each table's own unit_path trigger, and the projects'
-- triggers record the new placement and carry their claims, problems and
-- batch entries along (scope_follows). Frozen score snapshots keep the path
-- they were frozen with. The figures keep their history: a project counts
-- toward the units it belonged to at the time (project_placement), so the
-- old county keeps what was signed before the move and the new one counts
-- from it.
CREATE OR REPLACE FUNCTION unit_scope_follows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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

CREATE OR REPLACE TRIGGER unit_scope_follows AFTER UPDATE OF parent_id ON unit
    FOR EACH ROW WHEN (OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION unit_scope_follows();

-- Nothing new is placed in a retired unit: records, users, targets.
CREATE OR REPLACE FUNCTION unit_accepts() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
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

CALL rows_attach('unit_accepts', 'BEFORE INSERT OR UPDATE OF unit_id', 'unit_accepts()',
                 '{investor, project, interaction, batch, app_user, target}');

-- ---- units through the API ----

-- A unit as the API shows it.
CREATE OR REPLACE FUNCTION unit_json(u unit) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', u.id, 'parent_id', u.parent_id, 'code', u.code, 'name', u.name,
                              'kind', u.kind, 'depth', cardinality(u.path) - 1,
                              'retired', u.retired_at IS NOT NULL, 'retired_at', u.retired_at,
                              'created_at', u.created_at, 'updated_at', u.updated_at, 'version', u.version)
$$;

-- GET /units: the caller's subtree in tree order (row-level security).
CREATE OR REPLACE FUNCTION units_list() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('items', coalesce(jsonb_agg(unit_json(u) ORDER BY u.path), '[]'))::text FROM unit u
$$;

-- GET /units/{id} (row-level security: out of scope is no row, a 404).
CREATE OR REPLACE FUNCTION units_get(p_id bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT unit_json(u)::text FROM unit u WHERE u.id = p_id
$$;

-- The version (ETag) of a unit of the caller's scope; NULL otherwise.
CREATE OR REPLACE FUNCTION units_version(p_id bigint) RETURNS integer LANGUAGE sql STABLE AS $$
    SELECT u.version FROM unit u WHERE u.id = p_id
$$;

-- Whether the caller is an admin; CR403 otherwise.
CREATE OR REPLACE FUNCTION unit_admin_check() RETURNS void LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only administrators change units' USING ERRCODE = 'CR403';
    END IF;
END
$$;

-- A parent named in a body: a unit of the caller's scope, else 422 on parent_id.
CREATE OR REPLACE FUNCTION unit_parent_of(b jsonb) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF jsonb_typeof(b -> 'parent_id') IS DISTINCT FROM 'number' OR (b ->> 'parent_id') !~ '^[0-9]{1,18}$'
       OR NOT crm_unit_in_scope((b ->> 'parent_id')::bigint) THEN
        RAISE check_violation USING MESSAGE = 'no such unit in your scope', COLUMN = 'parent_id';
    END IF;
    RETURN (b ->> 'parent_id')::bigint;
END
$$;

-- POST /units {parent_id, code, name, kind}: a unit under one of the
-- caller's scope (an admin's). Audited by unit_audit.
CREATE OR REPLACE FUNCTION units_create(b jsonb) RETURNS text LANGUAGE plpgsql
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
CREATE OR REPLACE FUNCTION units_update(p_id bigint, p_version integer, b jsonb) RETURNS text LANGUAGE plpgsql
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

-- ---- the figures: departments are never ranked ----

-- Whether a unit takes part in its level's ranking of a year: never a
-- department; a retired unit only for a year it held a target or quota.
CREATE OR REPLACE FUNCTION unit_ranked(u unit, p_year integer) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT u.kind <> 'department'
       AND (u.retired_at IS NULL OR EXISTS (SELECT 1 FROM target t WHERE t.unit_id = u.id AND t.year = p_year))
$$;
REVOKE EXECUTE ON FUNCTION unit_ranked(unit, integer) FROM PUBLIC;

-- ---- the unit tree from a file (crm unit import) ----

-- A kind as a county writes it: English, or 省 市 县 区 镇 乡 园区 开发区 部门.
CREATE OR REPLACE FUNCTION unit_kind_parse(p text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
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
CREATE OR REPLACE FUNCTION unit_import(p_rows jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
