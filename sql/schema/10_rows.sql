-- What every row gets from its table's triggers: its scope path, its touch time and version,
-- its audit record and its required texts.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- Attaches a trigger function to several tables at once, as the trigger
-- <table>_<p_name>, FOR EACH ROW at p_when: the row machinery below (and
-- unit_accepts in 30_units.sql) is the same on every table that has it, and
-- each list here says which tables those are.
CREATE OR REPLACE PROCEDURE rows_attach(p_name text, p_when text, p_call text, p_tables text[])
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY p_tables LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER %I %s ON %I FOR EACH ROW EXECUTE FUNCTION %s',
                       t || '_' || p_name, p_when, t, p_call);
    END LOOP;
END
$$;
REVOKE EXECUTE ON PROCEDURE rows_attach(text, text, text, text[]) FROM PUBLIC;

-- Every update bumps the version (the ETag) and the time.
CREATE OR REPLACE FUNCTION row_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CALL rows_attach('touch', 'BEFORE UPDATE', 'row_touch()', '{unit, app_user, investor, interaction, problem, batch}');

-- What an update changed, for the audit: the fields whose values differ
-- between p_old and p_new (version and updated_at aside), and those named in
-- p_changed (a redacted field whose real value changed), as they were
-- (before) and as they became (after); both NULL when nothing changed.
CREATE OR REPLACE FUNCTION audit_changes(p_old jsonb, p_new jsonb, p_changed text[],
                                         OUT before jsonb, OUT after jsonb)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
BEGIN
    before := '{}';
    after := '{}';
    FOR k IN SELECT jsonb_object_keys(p_new) LOOP
        CONTINUE WHEN k IN ('version', 'updated_at');
        IF p_new -> k IS DISTINCT FROM p_old -> k OR k = ANY (p_changed) THEN
            before := before || jsonb_build_object(k, p_old -> k);
            after := after || jsonb_build_object(k, p_new -> k);
        END IF;
    END LOOP;
    IF after = '{}' THEN
        before := NULL;
        after := NULL;
    END IF;
END
$$;

-- The audit record of a change to a row, written in the changing
-- transaction: audit_row(unit, redacted columns...), an AFTER ROW trigger.
-- The unit is the column that names the row's unit; 'unit_path' for a CRM
-- row (investors, projects, claims, interactions, problems, batches,
-- targets), whose unit is the last of its path, a column the record leaves
-- out. The record carries the row's project too (the row itself for a
-- project), so that a project's history is one indexed query. An update
-- records only the fields it changed (version and updated_at aside), as
-- they were and as they became; a redacted field shows as "[redacted]". An
-- update that changes nothing records nothing.
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    row_j  jsonb := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    old_j  jsonb;
    new_j  jsonb;
    before jsonb;
    after  jsonb;
    i      int;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_j := to_jsonb(OLD) - 'unit_path'; END IF;
    IF TG_OP <> 'DELETE' THEN new_j := to_jsonb(NEW) - 'unit_path'; END IF;
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        IF old_j ? TG_ARGV[i] THEN old_j := old_j || jsonb_build_object(TG_ARGV[i], '[redacted]'); END IF;
        IF new_j ? TG_ARGV[i] THEN new_j := new_j || jsonb_build_object(TG_ARGV[i], '[redacted]'); END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' THEN
        SELECT c.before, c.after INTO before, after
          FROM audit_changes(old_j, new_j, ARRAY(SELECT a FROM unnest(TG_ARGV[1:]) a
                                                  WHERE to_jsonb(NEW) -> a IS DISTINCT FROM to_jsonb(OLD) -> a)) c;
        IF after IS NULL THEN RETURN NULL; END IF;
    ELSE
        before := old_j;
        after := new_j;
    END IF;
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, project_id,
                           before, after)
    VALUES (crm_caller_user(), crm_request_id(), TG_TABLE_NAME, row_j ->> 'id', lower(TG_OP),
            CASE WHEN TG_ARGV[0] = 'unit_path' THEN (row_j -> 'unit_path' ->> -1)::bigint
                 ELSE (row_j ->> TG_ARGV[0])::bigint END,
            CASE WHEN TG_TABLE_NAME = 'project' THEN (row_j ->> 'id')::bigint
                 ELSE (row_j ->> 'project_id')::bigint END,
            before, after);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER unit_audit AFTER INSERT OR UPDATE OR DELETE ON unit
    FOR EACH ROW EXECUTE FUNCTION audit_row('id');

CREATE OR REPLACE TRIGGER app_user_audit AFTER INSERT OR UPDATE OR DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION audit_row('unit_id', 'password_hash');

-- Keeps unit_path (the scope key) in step with unit_id.
CREATE OR REPLACE FUNCTION row_unit_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.unit_path := crm_unit_path(NEW.unit_id);
    IF NEW.unit_path IS NULL THEN
        RAISE foreign_key_violation USING MESSAGE = 'unit does not exist', COLUMN = 'unit_id';
    END IF;
    RETURN NEW;
END
$$;

CALL rows_attach('unit_path', 'BEFORE INSERT OR UPDATE OF unit_id', 'row_unit_path()',
                 '{investor, project, interaction, batch, target}');
CALL rows_attach('unit_path', 'BEFORE INSERT', 'row_unit_path()', '{score_snapshot}');

-- A contact's scope is its investor's: the investor's unit_path, read as
-- the owner.
CREATE OR REPLACE FUNCTION contact_unit_path() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    SELECT unit_path INTO NEW.unit_path FROM investor WHERE id = NEW.investor_id;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER contact_unit_path BEFORE INSERT OR UPDATE OF investor_id ON contact
    FOR EACH ROW EXECUTE FUNCTION contact_unit_path();

CALL rows_attach('audit', 'AFTER INSERT OR UPDATE OR DELETE', 'audit_row(''unit_path'')',
                 '{investor, contract, project_start, interaction, problem, batch, target}');

-- Progress alone (last_progress_at, set when a visit or a claim is logged,
-- for the no-progress alerts) changes neither a project's version nor the
-- audit log; any other change does both. An edit sent with the ETag read
-- before someone logged a visit is then not refused (412) for a change
-- nobody made, and the visit, audited in its own row, is not audited twice.
-- With no index on last_progress_at and a tenth of each page free, progress
-- is a heap-only update. (pgbench, logging a visit: 838 writes/s when
-- progress bumped the version, wrote an audit row and nine index entries;
-- 1,268 with no project update at all.)
CREATE OR REPLACE TRIGGER project_touch BEFORE UPDATE ON project FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_progress_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_progress_at'))
    EXECUTE FUNCTION row_touch();

CREATE OR REPLACE TRIGGER project_audit AFTER INSERT OR DELETE ON project
    FOR EACH ROW EXECUTE FUNCTION audit_row('unit_path');

CREATE OR REPLACE TRIGGER project_audit_update AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION audit_row('unit_path');

-- The text columns named are not blank (spaces, full-width spaces, tabs).
CREATE OR REPLACE FUNCTION text_required() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    col text;
    v text;
BEGIN
    FOREACH col IN ARRAY TG_ARGV LOOP
        v := to_jsonb(NEW) ->> col;
        IF v IS NOT NULL AND v !~ '[^[:space:]　]' THEN
            RAISE check_violation USING MESSAGE = 'must not be blank', COLUMN = col;
        END IF;
    END LOOP;
    RETURN NEW;
END
$$;

CALL rows_attach('text', 'BEFORE INSERT OR UPDATE', 'text_required(''name'')', '{unit, investor, contact, batch}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE', 'text_required(''code'', ''name'')', '{project}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE', 'text_required(''summary'')', '{interaction}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE', 'text_required(''title'')', '{problem}');
CALL rows_attach('text', 'BEFORE INSERT OR UPDATE', 'text_required(''evidence'')', '{contract, project_start}');
