-- The caller and what they may see and write: the session's user, role and unit (set by
-- auth_session), whether a scope path is in the caller's subtree, today, the links a writer
-- may make, and every row-level policy of the service's role (crm_app). The owner's blanket
-- policies stand with their tables in the migrations.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- ---- the caller ----

-- Who the caller is lives in transaction-local settings (crm.user_id,
-- crm.unit_id, crm.role, crm.request_id), set by the first statement of
-- every authenticated request's transaction: auth_session, or crm's own
-- copy of what auth_session set for the session while the sessions'
-- generation has not moved (20_identity.sql); NULL when none is set. Row-level security is forced, so the owner obeys it too, and
-- a transaction that never set a caller sees nothing.
CREATE OR REPLACE FUNCTION crm_caller_user() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.user_id', true), '')::bigint $$;

CREATE OR REPLACE FUNCTION crm_caller_unit() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.unit_id', true), '')::bigint $$;

CREATE OR REPLACE FUNCTION crm_caller_role() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.role', true), '') $$;

CREATE OR REPLACE FUNCTION crm_request_id() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.request_id', true), '') $$;

-- The rule itself: whether a row with this unit path is in the subtree of
-- the unit p_root. crm_in_scope asks it for the caller; the live event
-- stream (events_feed) for each client's root at once. Inlined too.
CREATE OR REPLACE FUNCTION scope_covers(unit_path bigint[], p_root bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE AS
$$ SELECT unit_path @> ARRAY[p_root] $$;

-- Whether a row, by its unit path, is in the caller's subtree: the body of
-- every row-level policy. A plain expression, so that PostgreSQL inlines it
-- into the policy. It holds no sub-select: a SQL function with one is not
-- inlined, and each policy check then goes through the SQL-function
-- executor, planned again in every query and run again for every row (about
-- 70 µs of a point read and 20 µs per row of a list; a township's 541
-- projects took 10.7 ms to count). With no caller the array holds NULL,
-- which no path contains: nothing is in scope.
CREATE OR REPLACE FUNCTION crm_in_scope(unit_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT scope_covers(unit_path, crm_caller_unit()) $$;

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

-- Who reads and writes which rows (DESIGN.md section 4), one line a table:
-- each cell names the rule of a command, an empty cell makes no policy, so
-- the command is refused (row-level security is forced). The policies are
-- <table>_read (SELECT), _write (INSERT), _update and _delete; a rule is the
-- policy's USING and, for INSERT and UPDATE, its WITH CHECK.
--   scope     every row of the caller's subtree (a unit by its path, a user
--             and an audit record by their unit);
--   records   investors, projects and claims: admins, the bureau and units,
--             in scope;
--   verifiers claims also change by verification: those and the assessment
--             office (the viewer role);
--   meetings  interactions and problems: those and leaders;
--   batches   signing batches: admins and the bureau;
--   admins    users, written by admins within their scope;
--   auditors  the audit log: admins and the assessment office, its rows of
--             a unit in scope or of none;
--   signed_in settings and score rules: any caller;
--   admin_paths a webhook's deliveries and their attempts: admins, in scope
--             (written only by the sender's functions, as the owner);
--   anyone    the sessions' generation (auth_generation): read before any
--             caller is set, by the statement that sets one (db/statements.c,
--             STMT_AUTH_CACHED).
DO $policies$
DECLARE
    p record;
BEGIN
    FOR p IN
        WITH rule (name, expr) AS (VALUES
            ('scope', 'crm_in_scope(unit_path)'),
            ('unit_scope', 'crm_in_scope(path)'),
            ('user_scope', 'crm_unit_in_scope(unit_id)'),
            ('records', 'crm_may_write(unit_path)'),
            ('verifiers', $$crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'viewer')$$),
            ('meetings', $$crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau', 'unit', 'leader')$$),
            ('batches', $$crm_in_scope(unit_path) AND crm_caller_role() IN ('admin', 'bureau')$$),
            ('admins', $$crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id)$$),
            ('auditors', $$crm_caller_role() IN ('admin', 'viewer') AND (unit_id IS NULL OR crm_unit_in_scope(unit_id))$$),
            ('signed_in', 'crm_caller_user() IS NOT NULL'),
            ('admin_paths', $$crm_caller_role() = 'admin' AND crm_in_scope(unit_path)$$),
            ('anyone', 'true')),
        grid (tbl, read, write, update, delete) AS (VALUES
            ('unit',               'unit_scope', NULL,       NULL,        NULL),
            ('app_user',           'user_scope', 'admins',   'admins',    NULL),
            ('audit_log',          'auditors',   NULL,       NULL,        NULL),
            ('setting',            'signed_in',  NULL,       NULL,        NULL),
            ('score_rule',         'signed_in',  NULL,       NULL,        NULL),
            ('score_snapshot',     'scope',      NULL,       NULL,        NULL),
            ('event',              'scope',      NULL,       NULL,        NULL),
            ('investor',           'scope',      'records',  'records',   NULL),
            ('contact',            'scope',      'records',  'records',   'records'),
            ('project',            'scope',      'records',  'records',   NULL),
            ('contract',           'scope',      'records',  'verifiers', 'records'),
            ('project_start',      'scope',      'records',  'verifiers', 'records'),
            ('interaction',        'scope',      'meetings', 'meetings',  NULL),
            ('interaction_leader', 'scope',      'meetings', NULL,        'meetings'),
            ('problem',            'scope',      'meetings', 'meetings',  NULL),
            ('batch',              'scope',      'batches',  'batches',   NULL),
            ('batch_project',      'scope',      'batches',  NULL,        'batches'),
            ('webhook',            'admins',     'admins',   'admins',    'admins'),
            ('webhook_delivery',   'admin_paths', NULL,      NULL,        NULL),
            ('webhook_attempt',    'admin_paths', NULL,      NULL,        NULL),
            ('auth_generation',    'anyone',     NULL,       NULL,        NULL))
        SELECT g.tbl, c.cmd, g.tbl || '_' || c.suffix AS name, c.rule, r.expr
          FROM grid g
         CROSS JOIN LATERAL (VALUES ('SELECT', 'read', g.read), ('INSERT', 'write', g.write),
                                    ('UPDATE', 'update', g.update), ('DELETE', 'delete', g.delete)) c (cmd, suffix, rule)
          LEFT JOIN rule r ON r.name = c.rule
    LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON %I', p.name, p.tbl);
        CONTINUE WHEN p.rule IS NULL;
        IF p.expr IS NULL THEN
            RAISE EXCEPTION 'policy %: no rule named %', p.name, p.rule;
        END IF;
        EXECUTE format('CREATE POLICY %I ON %I FOR %s TO crm_app %s', p.name, p.tbl, p.cmd,
                       CASE p.cmd WHEN 'INSERT' THEN format('WITH CHECK (%s)', p.expr)
                                  WHEN 'UPDATE' THEN format('USING (%1$s) WITH CHECK (%1$s)', p.expr)
                                  ELSE format('USING (%s)', p.expr) END);
    END LOOP;
END
$policies$;
