-- The caller and what they may see and write: the session's user, role and unit (set by
-- auth_session), whether a scope path is in the caller's subtree, today, the links a writer
-- may make, and every row-level policy of the service's role (crm_app). The owner's blanket
-- policies stand with their tables in the migrations.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- the caller ----

-- Who the caller is lives in transaction-local settings (crm.user_id,
-- crm.unit_id, crm.role, crm.request_id), set only by auth_session, the
-- first statement of every authenticated request's transaction; NULL when
-- none is set. Row-level security is forced, so the owner obeys it too, and
-- a transaction that never set a caller sees nothing.
CREATE OR REPLACE FUNCTION crm_caller_user() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.user_id', true), '')::bigint $$;

CREATE OR REPLACE FUNCTION crm_caller_unit() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.unit_id', true), '')::bigint $$;

CREATE OR REPLACE FUNCTION crm_caller_role() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.role', true), '') $$;

CREATE OR REPLACE FUNCTION crm_request_id() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.request_id', true), '') $$;

-- Whether a row, by its unit path, is in the caller's subtree: the body of
-- every row-level policy. A plain expression, so that PostgreSQL inlines it
-- into the policy. It holds no sub-select: a SQL function with one is not
-- inlined, and each policy check then goes through the SQL-function
-- executor, planned again in every query and run again for every row (about
-- 70 µs of a point read and 20 µs per row of a list; a township's 541
-- projects took 10.7 ms to count). With no caller the array holds NULL,
-- which no path contains: nothing is in scope.
CREATE OR REPLACE FUNCTION crm_in_scope(unit_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT unit_path @> ARRAY[crm_caller_unit()] $$;

-- Whether a unit, by its id, is in the caller's subtree (false when there is
-- no such unit): the policies that name a unit by id (users, the audit log).
-- Inlined like crm_in_scope; the path comes from crm_unit_path.
CREATE OR REPLACE FUNCTION crm_unit_in_scope(p_unit bigint) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(crm_in_scope(crm_unit_path(p_unit)), false) $$;

-- Today in China Standard Time, whatever the server's time zone.
CREATE OR REPLACE FUNCTION crm_today() RETURNS date LANGUAGE sql STABLE AS
$$ SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date $$;

-- A unit's path by its id (NULL when there is none), read as the owner,
-- whatever the caller may see. PL/pgSQL, so that the lookup's plan is kept
-- for the connection: a SQL function that cannot be inlined (a SECURITY
-- DEFINER one) is planned again at every call.
CREATE OR REPLACE FUNCTION crm_unit_path(p_unit bigint) RETURNS bigint[] LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    p bigint[];
BEGIN
    SELECT u.path INTO p FROM unit u WHERE u.id = p_unit;
    RETURN p;
END
$$;

-- Who may write the CRM records of a unit: admins and the bureau in scope,
-- a unit user for its own subtree (scope does that).
CREATE OR REPLACE FUNCTION crm_may_write(p_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT crm_in_scope(p_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit') $$;

-- A project moved to another unit takes its claims, problems and batch
-- entries along (their scope is the project's); an investor its contacts.
CREATE OR REPLACE FUNCTION scope_follows() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_TABLE_NAME = 'project' THEN
        UPDATE contract SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
        UPDATE project_start SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
        UPDATE problem SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
        UPDATE batch_project SET unit_path = NEW.unit_path WHERE project_id = NEW.id;
    ELSE
        UPDATE contact SET unit_path = NEW.unit_path WHERE investor_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER project_scope_follows AFTER UPDATE OF unit_id ON project
    FOR EACH ROW WHEN (OLD.unit_path IS DISTINCT FROM NEW.unit_path) EXECUTE FUNCTION scope_follows();

CREATE OR REPLACE TRIGGER investor_scope_follows AFTER UPDATE OF unit_id ON investor
    FOR EACH ROW WHEN (OLD.unit_path IS DISTINCT FROM NEW.unit_path) EXECUTE FUNCTION scope_follows();

-- ---- scope of the figures ----

-- The caller's county: the nearest county at or above their unit, or their
-- unit itself when it is above any county (a city or province deployment).
CREATE OR REPLACE FUNCTION crm_caller_county() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    county bigint;
BEGIN
    SELECT a.id INTO county
      FROM unit me, unit a
     WHERE me.id = crm_caller_unit() AND a.id = ANY (me.path) AND a.kind = 'county'
     ORDER BY array_position(me.path, a.id) DESC LIMIT 1;
    RETURN coalesce(county, crm_caller_unit());
END
$$;
REVOKE EXECUTE ON FUNCTION crm_caller_county() FROM PUBLIC;

-- ---- departments act for the unit they serve ----

-- A user of a department (the county's investment centre, say) works on the
-- scope of the unit it serves: auth_session sets crm.unit_id, the root of
-- the caller's scope that every policy reads, to that unit, and
-- crm.home_unit_id to the user's own.

-- The root of the scope of a user of p_unit: the unit a department serves
-- (its parent), any other unit itself.
CREATE OR REPLACE FUNCTION unit_scope_root(p_unit bigint) RETURNS bigint LANGUAGE plpgsql STABLE
SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    root bigint;
BEGIN
    SELECT CASE WHEN u.kind = 'department' AND u.parent_id IS NOT NULL THEN u.parent_id ELSE u.id END
      INTO root FROM unit u WHERE u.id = p_unit;
    RETURN root;
END
$$;
REVOKE EXECUTE ON FUNCTION unit_scope_root(bigint) FROM PUBLIC;

-- The caller's own unit; crm.unit_id is the root of their scope, which
-- differs from it for a department's user.
CREATE OR REPLACE FUNCTION crm_caller_home_unit() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.home_unit_id', true), '')::bigint $$;

-- ---- links within the writer's scope ----

-- A caller links only what they can see: the investor of a project or an
-- interaction, the project of an interaction; a problem's owner is a unit of
-- their scope or above it. Anything else is "does not name a record you can
-- see" on the column (a foreign_key_violation, answered 422). The owner
-- loading data (no caller) is trusted.
CREATE OR REPLACE FUNCTION links_in_scope() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    j jsonb := to_jsonb(NEW);
    o jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) END;
    col text;
    path bigint[];
BEGIN
    IF crm_caller_user() IS NULL THEN
        RETURN NEW;
    END IF;
    FOREACH col IN ARRAY TG_ARGV LOOP
        CONTINUE WHEN j ->> col IS NULL OR (o IS NOT NULL AND o -> col = j -> col);
        path := CASE col WHEN 'investor_id' THEN (SELECT i.unit_path FROM investor i WHERE i.id = (j ->> col)::bigint)
                         WHEN 'project_id' THEN (SELECT p.unit_path FROM project p WHERE p.id = (j ->> col)::bigint)
                         ELSE crm_unit_path((j ->> col)::bigint) END;
        IF path IS NULL OR NOT (crm_in_scope(path)
                                OR (col = 'owner_unit_id' AND (j ->> col)::bigint = ANY (crm_unit_path(crm_caller_unit())))) THEN
            RAISE foreign_key_violation USING MESSAGE = 'does not name a record you can see', COLUMN = col;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER project_links BEFORE INSERT OR UPDATE OF investor_id ON project
    FOR EACH ROW EXECUTE FUNCTION links_in_scope('investor_id');

CREATE OR REPLACE TRIGGER interaction_links BEFORE INSERT OR UPDATE OF investor_id, project_id ON interaction
    FOR EACH ROW EXECUTE FUNCTION links_in_scope('investor_id', 'project_id');

CREATE OR REPLACE TRIGGER problem_links BEFORE INSERT OR UPDATE OF owner_unit_id ON problem
    FOR EACH ROW EXECUTE FUNCTION links_in_scope('owner_unit_id');

-- ---- policies of the service's role ----

-- Reads: every row of the caller's subtree; the users of a unit in it; the
-- audit log to admins and the assessment office (viewer) only, its rows of
-- a unit in the subtree or of none; settings and score rules to any caller.
-- Users are written by admins, within their scope.
DROP POLICY IF EXISTS unit_read ON unit;
CREATE POLICY unit_read ON unit FOR SELECT TO crm_app USING (crm_in_scope(path));

DROP POLICY IF EXISTS app_user_read ON app_user;
CREATE POLICY app_user_read ON app_user FOR SELECT TO crm_app USING (crm_unit_in_scope(unit_id));

DROP POLICY IF EXISTS app_user_insert ON app_user;
CREATE POLICY app_user_insert ON app_user FOR INSERT TO crm_app
    WITH CHECK (crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id));

DROP POLICY IF EXISTS app_user_update ON app_user;
CREATE POLICY app_user_update ON app_user FOR UPDATE TO crm_app
    USING (crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id))
    WITH CHECK (crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id));

DROP POLICY IF EXISTS audit_log_read ON audit_log;
CREATE POLICY audit_log_read ON audit_log FOR SELECT TO crm_app
    USING (crm_caller_role() IN ('admin', 'viewer')
           AND (unit_id IS NULL OR crm_unit_in_scope(unit_id)));

DROP POLICY IF EXISTS setting_read ON setting;
CREATE POLICY setting_read ON setting FOR SELECT TO crm_app USING (crm_caller_user() IS NOT NULL);

DROP POLICY IF EXISTS investor_read ON investor;
CREATE POLICY investor_read ON investor FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

-- Writes, by role (DESIGN.md section 4): investors, projects and claims by
-- admins, the bureau and units; interactions and problems by those and
-- leaders; batches by admins and the bureau; verification by the bureau
-- and the assessment office (the viewer role), who change claims only.
DROP POLICY IF EXISTS investor_write ON investor;
CREATE POLICY investor_write ON investor FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS investor_update ON investor;
CREATE POLICY investor_update ON investor FOR UPDATE TO crm_app
    USING (crm_may_write(unit_path)) WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS contact_read ON contact;
CREATE POLICY contact_read ON contact FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS contact_write ON contact;
CREATE POLICY contact_write ON contact FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS contact_update ON contact;
CREATE POLICY contact_update ON contact FOR UPDATE TO crm_app
    USING (crm_may_write(unit_path)) WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS contact_delete ON contact;
CREATE POLICY contact_delete ON contact FOR DELETE TO crm_app USING (crm_may_write(unit_path));

DROP POLICY IF EXISTS project_read ON project;
CREATE POLICY project_read ON project FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS project_write ON project;
CREATE POLICY project_write ON project FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS project_update ON project;
CREATE POLICY project_update ON project FOR UPDATE TO crm_app
    USING (crm_may_write(unit_path)) WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS contract_read ON contract;
CREATE POLICY contract_read ON contract FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS contract_write ON contract;
CREATE POLICY contract_write ON contract FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS contract_update ON contract;
CREATE POLICY contract_update ON contract FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'viewer'))
    WITH CHECK (crm_in_scope(unit_path));

DROP POLICY IF EXISTS contract_delete ON contract;
CREATE POLICY contract_delete ON contract FOR DELETE TO crm_app USING (crm_may_write(unit_path));

DROP POLICY IF EXISTS project_start_read ON project_start;
CREATE POLICY project_start_read ON project_start FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS project_start_write ON project_start;
CREATE POLICY project_start_write ON project_start FOR INSERT TO crm_app WITH CHECK (crm_may_write(unit_path));

DROP POLICY IF EXISTS project_start_update ON project_start;
CREATE POLICY project_start_update ON project_start FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'viewer'))
    WITH CHECK (crm_in_scope(unit_path));

DROP POLICY IF EXISTS project_start_delete ON project_start;
CREATE POLICY project_start_delete ON project_start FOR DELETE TO crm_app USING (crm_may_write(unit_path));

DROP POLICY IF EXISTS interaction_read ON interaction;
CREATE POLICY interaction_read ON interaction FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS interaction_write ON interaction;
CREATE POLICY interaction_write ON interaction FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));

DROP POLICY IF EXISTS interaction_update ON interaction;
CREATE POLICY interaction_update ON interaction FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'))
    WITH CHECK (crm_in_scope(unit_path));

DROP POLICY IF EXISTS interaction_leader_read ON interaction_leader;
CREATE POLICY interaction_leader_read ON interaction_leader FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS interaction_leader_write ON interaction_leader;
CREATE POLICY interaction_leader_write ON interaction_leader FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));

DROP POLICY IF EXISTS interaction_leader_delete ON interaction_leader;
CREATE POLICY interaction_leader_delete ON interaction_leader FOR DELETE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));

DROP POLICY IF EXISTS problem_read ON problem;
CREATE POLICY problem_read ON problem FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS problem_write ON problem;
CREATE POLICY problem_write ON problem FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'));

DROP POLICY IF EXISTS problem_update ON problem;
CREATE POLICY problem_update ON problem FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader'))
    WITH CHECK (crm_in_scope(unit_path));

DROP POLICY IF EXISTS batch_read ON batch;
CREATE POLICY batch_read ON batch FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS batch_write ON batch;
CREATE POLICY batch_write ON batch FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'));

DROP POLICY IF EXISTS batch_update ON batch;
CREATE POLICY batch_update ON batch FOR UPDATE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'))
    WITH CHECK (crm_in_scope(unit_path));

DROP POLICY IF EXISTS batch_project_read ON batch_project;
CREATE POLICY batch_project_read ON batch_project FOR SELECT TO crm_app USING (crm_in_scope(unit_path));

DROP POLICY IF EXISTS batch_project_write ON batch_project;
CREATE POLICY batch_project_write ON batch_project FOR INSERT TO crm_app
    WITH CHECK (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'));

DROP POLICY IF EXISTS batch_project_delete ON batch_project;
CREATE POLICY batch_project_delete ON batch_project FOR DELETE TO crm_app
    USING (crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau'));

DROP POLICY IF EXISTS score_rule_read ON score_rule;
CREATE POLICY score_rule_read ON score_rule FOR SELECT TO crm_app USING (crm_caller_user() IS NOT NULL);

DROP POLICY IF EXISTS score_snapshot_read ON score_snapshot;
CREATE POLICY score_snapshot_read ON score_snapshot FOR SELECT TO crm_app USING (crm_in_scope(unit_path));
