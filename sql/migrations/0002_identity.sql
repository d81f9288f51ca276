-- Identity, access and audit.
--
-- Who the caller is lives in transaction-local settings (crm.user_id,
-- crm.unit_id, crm.role, crm.request_id), set only by auth_session(), the
-- first statement of every authenticated request's transaction. Row-level
-- security (forced, so the owner obeys it too) limits the app role to the
-- caller's unit subtree; a transaction that never set a caller sees nothing.
-- The owner role (migrations, demo data, SECURITY DEFINER functions) has its
-- own explicit policies.

-- ---- the caller ----

CREATE FUNCTION crm_caller_user() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.user_id', true), '')::bigint $$;

CREATE FUNCTION crm_caller_unit() RETURNS bigint LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.unit_id', true), '')::bigint $$;

CREATE FUNCTION crm_caller_role() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.role', true), '') $$;

CREATE FUNCTION crm_request_id() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('crm.request_id', true), '') $$;

-- Whether a unit (by its path) is in the caller's subtree.
CREATE FUNCTION crm_in_scope(unit_path bigint[]) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT crm_caller_unit() IS NOT NULL AND unit_path @> ARRAY[crm_caller_unit()] $$;

-- Whether a unit (by its id) is in the caller's subtree.
CREATE FUNCTION crm_unit_in_scope(p_unit bigint) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT EXISTS (SELECT 1 FROM unit u WHERE u.id = p_unit AND crm_in_scope(u.path)) $$;

-- ---- units: now scoped ----

ALTER TABLE unit ENABLE ROW LEVEL SECURITY;
ALTER TABLE unit FORCE ROW LEVEL SECURITY;
CREATE POLICY unit_owner ON unit TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY unit_read ON unit FOR SELECT TO crm_app USING (crm_in_scope(path));

-- ---- users ----

CREATE TABLE app_user (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{2,63}$'),
    display_name        text NOT NULL DEFAULT '' CHECK (length(display_name) <= 100),
    role                text NOT NULL CHECK (role IN ('admin', 'leader', 'bureau', 'unit', 'viewer')),
    unit_id             bigint NOT NULL REFERENCES unit (id),
    password_hash       text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled            boolean NOT NULL DEFAULT false,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             integer NOT NULL DEFAULT 1
);
CREATE INDEX app_user_unit_idx ON app_user (unit_id);

-- Every update bumps the version (the ETag) and the time.
CREATE FUNCTION row_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER app_user_touch BEFORE UPDATE ON app_user FOR EACH ROW EXECUTE FUNCTION row_touch();

ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_user FORCE ROW LEVEL SECURITY;
CREATE POLICY app_user_owner ON app_user TO crm_owner USING (true) WITH CHECK (true);
CREATE POLICY app_user_read ON app_user FOR SELECT TO crm_app USING (crm_unit_in_scope(unit_id));
CREATE POLICY app_user_insert ON app_user FOR INSERT TO crm_app
    WITH CHECK (crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id));
CREATE POLICY app_user_update ON app_user FOR UPDATE TO crm_app
    USING (crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id))
    WITH CHECK (crm_caller_role() = 'admin' AND crm_unit_in_scope(unit_id));

-- ---- sessions: reached only through the auth_* functions ----

CREATE TABLE session (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32), -- BLAKE2b-256 of the token
    user_id      bigint NOT NULL REFERENCES app_user (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX session_user_idx ON session (user_id) WHERE revoked_at IS NULL;
ALTER TABLE session ENABLE ROW LEVEL SECURITY;
ALTER TABLE session FORCE ROW LEVEL SECURITY;
CREATE POLICY session_owner ON session TO crm_owner USING (true) WITH CHECK (true);

-- ---- audit: append-only, written by triggers in the changing transaction ----

CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_id    bigint,          -- NULL: a change made outside the API (migration, CLI)
    request_id  text,
    table_name  text NOT NULL,
    row_id      text NOT NULL,
    action      text NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    unit_id     bigint,          -- the unit the changed row belongs to, for scoping
    before      jsonb,           -- changed fields only, as they were
    after       jsonb            -- changed fields only, as they became
);
CREATE INDEX audit_log_row_idx ON audit_log (table_name, row_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_owner_read ON audit_log FOR SELECT TO crm_owner USING (true);
CREATE POLICY audit_log_owner_insert ON audit_log FOR INSERT TO crm_owner WITH CHECK (true);
CREATE POLICY audit_log_read ON audit_log FOR SELECT TO crm_app
    USING (crm_caller_role() IN ('admin', 'viewer')
           AND (unit_id IS NULL OR crm_unit_in_scope(unit_id)));

-- audit_row(unit column, redacted columns...): an AFTER ROW trigger.
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    old_j  jsonb;
    new_j  jsonb;
    before jsonb;
    after  jsonb;
    k      text;
    i      int;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_j := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_j := to_jsonb(NEW); END IF;
    FOR i IN 1 .. TG_NARGS - 1 LOOP
        IF old_j ? TG_ARGV[i] THEN old_j := old_j || jsonb_build_object(TG_ARGV[i], '[redacted]'); END IF;
        IF new_j ? TG_ARGV[i] THEN new_j := new_j || jsonb_build_object(TG_ARGV[i], '[redacted]'); END IF;
    END LOOP;
    IF TG_OP = 'UPDATE' THEN
        before := '{}';
        after := '{}';
        FOR k IN SELECT jsonb_object_keys(new_j) LOOP
            CONTINUE WHEN k IN ('version', 'updated_at');
            IF new_j -> k IS DISTINCT FROM old_j -> k
               OR (k = ANY (TG_ARGV[1:]) AND to_jsonb(NEW) -> k IS DISTINCT FROM to_jsonb(OLD) -> k) THEN
                before := before || jsonb_build_object(k, old_j -> k);
                after := after || jsonb_build_object(k, new_j -> k);
            END IF;
        END LOOP;
        IF after = '{}' THEN RETURN NULL; END IF;
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

CREATE TRIGGER unit_audit AFTER INSERT OR UPDATE OR DELETE ON unit
    FOR EACH ROW EXECUTE FUNCTION audit_row('id');
CREATE TRIGGER app_user_audit AFTER INSERT OR UPDATE OR DELETE ON app_user
    FOR EACH ROW EXECUTE FUNCTION audit_row('unit_id', 'password_hash');

-- ---- authentication (SECURITY DEFINER: the app role never touches session) ----

-- The first statement of an authenticated request: checks the session (not
-- revoked, not past its lifetime, not idle too long, user enabled), checks
-- the route's roles, touches last_seen_at now and then, and sets the caller
-- for the rest of the transaction. Raises CR401 (answered 401) or CR403 (403), which
-- aborts the statements pipelined after it.
CREATE FUNCTION auth_session(p_token_hash bytea, p_request_id text, p_roles text[],
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
            set_config('crm.unit_id', s.unit_id::text, true),
            set_config('crm.role', s.role, true),
            set_config('crm.request_id', coalesce(p_request_id, ''), true);
    RETURN QUERY SELECT s.user_id, s.username, s.display_name, s.role, s.unit_id, s.expires_at;
END
$$;

-- Login, step one: the stored hash of an enabled user (no row otherwise).
CREATE FUNCTION auth_login_lookup(p_username text)
RETURNS TABLE (user_id bigint, password_hash text)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id, password_hash FROM app_user WHERE username = p_username AND NOT disabled
$$;

-- Login, step two: the password matched. Stores a rehash when one was made,
-- opens the session and returns the user.
CREATE FUNCTION auth_session_open(p_user_id bigint, p_token_hash bytea, p_lifetime_s integer,
                                  p_request_id text, p_new_hash text)
RETURNS TABLE (user_id bigint, username text, display_name text, role text, unit_id bigint,
               expires_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    expiry timestamptz := now() + make_interval(secs => p_lifetime_s);
BEGIN
    PERFORM set_config('crm.user_id', p_user_id::text, true),
            set_config('crm.request_id', coalesce(p_request_id, ''), true);
    IF p_new_hash IS NOT NULL THEN
        UPDATE app_user SET password_hash = p_new_hash WHERE id = p_user_id;
    END IF;
    INSERT INTO session (token_hash, user_id, expires_at) VALUES (p_token_hash, p_user_id, expiry);
    RETURN QUERY SELECT u.id, u.username, u.display_name, u.role, u.unit_id, expiry
                   FROM app_user u WHERE u.id = p_user_id AND NOT u.disabled;
END
$$;

-- Logout: ends the caller's own session.
CREATE FUNCTION auth_session_close(p_token_hash bytea) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE session SET revoked_at = now()
     WHERE token_hash = p_token_hash AND revoked_at IS NULL AND user_id = crm_caller_user()
$$;

-- The caller's own stored hash (to check the current password).
CREATE FUNCTION auth_my_hash() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT password_hash FROM app_user WHERE id = crm_caller_user()
$$;

-- The caller changes their own password: every other session ends.
CREATE FUNCTION auth_my_password_set(p_new_hash text, p_keep_token_hash bytea) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE app_user SET password_hash = p_new_hash, password_changed_at = now()
     WHERE id = crm_caller_user();
    UPDATE session SET revoked_at = now()
     WHERE user_id = crm_caller_user() AND revoked_at IS NULL AND token_hash <> p_keep_token_hash;
END
$$;

-- Ends every session of a user the caller (an admin) can see: for a reset,
-- a role change, disabling, or on request. Returns false when the user is not
-- in the caller's scope or the caller is not an admin.
CREATE FUNCTION auth_sessions_end(p_user_id bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF crm_caller_role() IS DISTINCT FROM 'admin' OR NOT EXISTS (
        SELECT 1 FROM app_user u JOIN unit un ON un.id = u.unit_id
         WHERE u.id = p_user_id AND crm_in_scope(un.path)) THEN
        RETURN false;
    END IF;
    UPDATE session SET revoked_at = now() WHERE user_id = p_user_id AND revoked_at IS NULL;
    RETURN true;
END
$$;

-- The app role reads users without their hashes and writes only what the
-- API may change.
GRANT SELECT (id, username, display_name, role, unit_id, disabled, password_changed_at,
              created_at, updated_at, version) ON app_user TO crm_app;
GRANT INSERT (username, display_name, role, unit_id, password_hash, disabled) ON app_user TO crm_app;
GRANT UPDATE (display_name, role, unit_id, disabled, password_hash, password_changed_at)
    ON app_user TO crm_app;
GRANT SELECT ON audit_log TO crm_app;

-- A user whose role or unit changes, or who is disabled, is logged out
-- everywhere: their sessions carried the old rights.
CREATE FUNCTION app_user_rights_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE session SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER app_user_rights AFTER UPDATE OF role, unit_id, disabled ON app_user
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
                       OR (NEW.disabled AND NOT OLD.disabled))
    EXECUTE FUNCTION app_user_rights_changed();
