-- What every row gets from its table's triggers: its scope path, its touch time and version,
-- its audit record and its required texts.
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- Every update bumps the version (the ETag) and the time.
CREATE OR REPLACE FUNCTION row_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER app_user_touch BEFORE UPDATE ON app_user FOR EACH ROW EXECUTE FUNCTION row_touch();

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

-- The audit record of a change to a unit or a user, written in the changing
-- transaction: audit_row(unit column, redacted columns...), an AFTER ROW
-- trigger. An update records only the fields it changed (version and
-- updated_at aside), as they were and as they became; a redacted field shows
-- as "[redacted]". An update that changes nothing records nothing.
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    old_j  jsonb;
    new_j  jsonb;
    before jsonb;
    after  jsonb;
    i      int;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_j := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_j := to_jsonb(NEW); END IF;
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
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, before, after)
    VALUES (crm_caller_user(), crm_request_id(), TG_TABLE_NAME,
            coalesce(new_j ->> 'id', old_j ->> 'id'), lower(TG_OP),
            coalesce(new_j ->> TG_ARGV[0], old_j ->> TG_ARGV[0])::bigint, before, after);
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

CREATE OR REPLACE TRIGGER investor_unit_path BEFORE INSERT OR UPDATE OF unit_id ON investor
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

CREATE OR REPLACE TRIGGER investor_touch BEFORE UPDATE ON investor FOR EACH ROW EXECUTE FUNCTION row_touch();

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

CREATE OR REPLACE TRIGGER project_unit_path BEFORE INSERT OR UPDATE OF unit_id ON project
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

CREATE OR REPLACE TRIGGER interaction_unit_path BEFORE INSERT OR UPDATE OF unit_id ON interaction
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

CREATE OR REPLACE TRIGGER interaction_touch BEFORE UPDATE ON interaction FOR EACH ROW EXECUTE FUNCTION row_touch();

CREATE OR REPLACE TRIGGER problem_touch BEFORE UPDATE ON problem FOR EACH ROW EXECUTE FUNCTION row_touch();

CREATE OR REPLACE TRIGGER batch_unit_path BEFORE INSERT OR UPDATE OF unit_id ON batch
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

CREATE OR REPLACE TRIGGER batch_touch BEFORE UPDATE ON batch FOR EACH ROW EXECUTE FUNCTION row_touch();

-- The audit record of a CRM row (investors, projects, claims, interactions,
-- problems, batches, targets): as audit_row, without unit_path. It carries
-- the row's unit (the last of its unit_path) and its project (the row
-- itself for a project), so that a project's history is one indexed query.
CREATE OR REPLACE FUNCTION audit_crm_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    old_j  jsonb;
    new_j  jsonb;
    row_j  jsonb;
    before jsonb;
    after  jsonb;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_j := to_jsonb(OLD) - 'unit_path'; END IF;
    IF TG_OP <> 'DELETE' THEN new_j := to_jsonb(NEW) - 'unit_path'; END IF;
    row_j := CASE WHEN TG_OP = 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
    IF TG_OP = 'UPDATE' THEN
        SELECT c.before, c.after INTO before, after FROM audit_changes(old_j, new_j, '{}') c;
        IF after IS NULL THEN RETURN NULL; END IF;
    ELSE
        before := old_j;
        after := new_j;
    END IF;
    INSERT INTO audit_log (actor_id, request_id, table_name, row_id, action, unit_id, project_id,
                           before, after)
    VALUES (crm_caller_user(), crm_request_id(), TG_TABLE_NAME, row_j ->> 'id', lower(TG_OP),
            (row_j -> 'unit_path' ->> -1)::bigint,
            CASE WHEN TG_TABLE_NAME = 'project' THEN (row_j ->> 'id')::bigint
                 ELSE (row_j ->> 'project_id')::bigint END,
            before, after);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER investor_audit AFTER INSERT OR UPDATE OR DELETE ON investor FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER contract_audit AFTER INSERT OR UPDATE OR DELETE ON contract FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER project_start_audit AFTER INSERT OR UPDATE OR DELETE ON project_start FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER interaction_audit AFTER INSERT OR UPDATE OR DELETE ON interaction FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER problem_audit AFTER INSERT OR UPDATE OR DELETE ON problem FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER batch_audit AFTER INSERT OR UPDATE OR DELETE ON batch FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER target_unit_path BEFORE INSERT OR UPDATE OF unit_id ON target
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

CREATE OR REPLACE TRIGGER target_audit AFTER INSERT OR UPDATE OR DELETE ON target
    FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER score_snapshot_unit_path BEFORE INSERT ON score_snapshot
    FOR EACH ROW EXECUTE FUNCTION row_unit_path();

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
    FOR EACH ROW EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER project_audit_update AFTER UPDATE ON project
    FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version)
    EXECUTE FUNCTION audit_crm_row();

CREATE OR REPLACE TRIGGER unit_touch BEFORE UPDATE ON unit FOR EACH ROW EXECUTE FUNCTION row_touch();

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

CREATE OR REPLACE TRIGGER unit_text BEFORE INSERT OR UPDATE ON unit FOR EACH ROW EXECUTE FUNCTION text_required('name');

CREATE OR REPLACE TRIGGER investor_text BEFORE INSERT OR UPDATE ON investor FOR EACH ROW EXECUTE FUNCTION text_required('name');

CREATE OR REPLACE TRIGGER contact_text BEFORE INSERT OR UPDATE ON contact FOR EACH ROW EXECUTE FUNCTION text_required('name');

CREATE OR REPLACE TRIGGER project_text BEFORE INSERT OR UPDATE ON project
    FOR EACH ROW EXECUTE FUNCTION text_required('code', 'name');

CREATE OR REPLACE TRIGGER interaction_text BEFORE INSERT OR UPDATE ON interaction
    FOR EACH ROW EXECUTE FUNCTION text_required('summary');

CREATE OR REPLACE TRIGGER problem_text BEFORE INSERT OR UPDATE ON problem FOR EACH ROW EXECUTE FUNCTION text_required('title');

CREATE OR REPLACE TRIGGER batch_text BEFORE INSERT OR UPDATE ON batch FOR EACH ROW EXECUTE FUNCTION text_required('name');

CREATE OR REPLACE TRIGGER contract_text BEFORE INSERT OR UPDATE ON contract
    FOR EACH ROW EXECUTE FUNCTION text_required('evidence');

CREATE OR REPLACE TRIGGER project_start_text BEFORE INSERT OR UPDATE ON project_start
    FOR EACH ROW EXECUTE FUNCTION text_required('evidence');
