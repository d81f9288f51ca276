-- Users, sessions, sign-in, and the idempotency keys of their writes (routes /auth, /me,
-- /users; the C side is crm/api/auth.c, users.c and crm/http/idempotency.c).
--
-- Repeatable definitions, applied after the migrations whenever this file changes
-- (sql/schema/README.md).


-- The first statement of an authenticated request: checks the session (not
-- revoked, not past its lifetime, not idle too long, user enabled), checks
-- the route's roles, touches last_seen_at now and then, and sets the caller
-- for the rest of the transaction. The root of their scope (crm.unit_id) is
-- unit_scope_root of their unit: the unit a department serves;
-- crm.home_unit_id is their own unit. Raises CR401 (answered 401) or CR403
-- (403), which aborts the statements pipelined after it.
-- Also returns what crm needs to set the same caller itself for a while
-- (crm/http/sessions.h, STMT_AUTH_CACHED): the scope root, the sessions'
-- generation read in the same snapshot as the session (auth_generation: a
-- change that could end the session raises it), and fresh_ms, how long the
-- check may stand: until the session's end, and at most a touch period, so
-- that a session in use is still touched once a period, and no longer than
-- the idle timeout less that period, so that an idle session is never
-- taken for a live one (0: not at all).
CREATE OR REPLACE FUNCTION auth_session(p_token_hash bytea, p_request_id text, p_roles text[],
                                        p_idle_s integer)
RETURNS TABLE (user_id bigint, username text, display_name text, role text, unit_id bigint,
               expires_at timestamptz, scope_root bigint, generation bigint, fresh_ms integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    s record;
    period integer := least(30, greatest(1, p_idle_s / 10));
BEGIN
    SELECT se.user_id, se.last_seen_at, se.expires_at, u.username, u.display_name, u.role,
           u.unit_id, u.disabled, (SELECT g.n FROM auth_generation g) AS generation
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
    -- Touch at most once a period (a tenth of the idle timeout, 30 s at
    -- most): one write per session and period, not per request. A request
    -- that finds another of the same session touching it skips: waiting for
    -- that request's whole transaction and then writing the row again made
    -- every request in flight on a session queue once each period (64 of
    -- them under make bench, each a write).
    -- A replica cannot write: crm sends a session's requests to the primary
    -- at least once a period (api/reads.c), which touches it there.
    IF s.last_seen_at < now() - make_interval(secs => period) AND NOT pg_is_in_recovery() THEN
        UPDATE session SET last_seen_at = now()
         WHERE token_hash = (SELECT x.token_hash FROM session x WHERE x.token_hash = p_token_hash
                               FOR UPDATE SKIP LOCKED);
    END IF;
    user_id := s.user_id;
    username := s.username;
    display_name := s.display_name;
    role := s.role;
    unit_id := s.unit_id;
    expires_at := s.expires_at;
    scope_root := unit_scope_root(s.unit_id);
    generation := s.generation;
    fresh_ms := greatest(0, least(period * 1000, (p_idle_s - period) * 1000,
                                  floor(extract(epoch FROM s.expires_at - now()) * 1000)))::integer;
    PERFORM set_config('crm.user_id', s.user_id::text, true),
            set_config('crm.unit_id', scope_root::text, true),
            set_config('crm.home_unit_id', s.unit_id::text, true),
            set_config('crm.role', s.role, true),
            set_config('crm.request_id', coalesce(p_request_id, ''), true);
    RETURN NEXT;
END
$$;

-- What STMT_AUTH_CACHED raises when the sessions' generation has moved
-- since crm checked the session: crm then runs the request again with
-- auth_session (crm/db/pool.h, db_job_try_instead).
CREATE OR REPLACE FUNCTION auth_generation_moved() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the sessions have changed since this one was checked' USING ERRCODE = 'CRGEN';
END
$$;

-- Raises the sessions' generation, once a transaction, when it commits
-- (deferred constraint triggers: the row is locked last, after everything
-- else the transaction locks, so no two transactions wait for each other
-- through it). Attached below to what can end a session or change its
-- caller: a session revoked, shortened, moved to another user or deleted
-- while live; a user's role, unit, names or disabling changed, or a user
-- deleted; a unit's kind or parent changed (a department's scope root).
CREATE OR REPLACE FUNCTION auth_generation_raise() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF current_setting('crm.auth_generation_raised', true) IS DISTINCT FROM 'yes' THEN
        UPDATE auth_generation SET n = n + 1;
        PERFORM set_config('crm.auth_generation_raised', 'yes', true);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION auth_generation_raise() FROM PUBLIC;

-- Constraint triggers have no CREATE OR REPLACE: dropped and made again.
DROP TRIGGER IF EXISTS session_generation_update ON session;
CREATE CONSTRAINT TRIGGER session_generation_update AFTER UPDATE OF revoked_at, expires_at, user_id
    ON session DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at > NEW.expires_at
          OR OLD.user_id IS DISTINCT FROM NEW.user_id)
    EXECUTE FUNCTION auth_generation_raise();
DROP TRIGGER IF EXISTS session_generation_delete ON session;
CREATE CONSTRAINT TRIGGER session_generation_delete AFTER DELETE ON session
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > now())
    EXECUTE FUNCTION auth_generation_raise();
DROP TRIGGER IF EXISTS app_user_generation_update ON app_user;
CREATE CONSTRAINT TRIGGER app_user_generation_update
    AFTER UPDATE OF role, unit_id, disabled, username, display_name ON app_user
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
          OR OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.username IS DISTINCT FROM NEW.username
          OR OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION auth_generation_raise();
DROP TRIGGER IF EXISTS app_user_generation_delete ON app_user;
CREATE CONSTRAINT TRIGGER app_user_generation_delete AFTER DELETE ON app_user
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_generation_raise();
DROP TRIGGER IF EXISTS unit_generation_update ON unit;
CREATE CONSTRAINT TRIGGER unit_generation_update AFTER UPDATE OF kind, parent_id ON unit
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.parent_id IS DISTINCT FROM NEW.parent_id)
    EXECUTE FUNCTION auth_generation_raise();

-- auth_session on a replica (CRM_DATABASE_READ_URL) for a caller whose own
-- writes it must show: refused with CRLAG, and crm sends the request to the
-- primary instead, unless the replica has replayed the primary's WAL up to
-- p_lsn, a position the primary reported after the caller's last write was
-- committed (api/reads.c). Each statement after this one takes its snapshot
-- later, so it sees that write. On the primary it is auth_session.
CREATE OR REPLACE FUNCTION auth_session_at(p_token_hash bytea, p_request_id text, p_roles text[],
                                           p_idle_s integer, p_lsn pg_lsn)
RETURNS TABLE (user_id bigint, username text, display_name text, role text, unit_id bigint,
               expires_at timestamptz, scope_root bigint, generation bigint, fresh_ms integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF pg_is_in_recovery() AND coalesce(pg_last_wal_replay_lsn() < p_lsn, true) THEN
        RAISE EXCEPTION 'this replica has not replayed % yet', p_lsn USING ERRCODE = 'CRLAG';
    END IF;
    RETURN QUERY SELECT * FROM auth_session(p_token_hash, p_request_id, p_roles, p_idle_s);
END
$$;

-- Login, step one: the stored hash of an enabled user (no row otherwise).
CREATE OR REPLACE FUNCTION auth_login_lookup(p_username text)
RETURNS TABLE (user_id bigint, password_hash text)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT id, password_hash FROM app_user WHERE username = p_username AND NOT disabled
$$;

-- Login, step two: the password matched. Stores a rehash when one was made,
-- opens the session and returns the user.
CREATE OR REPLACE FUNCTION auth_session_open(p_user_id bigint, p_token_hash bytea, p_lifetime_s integer,
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
CREATE OR REPLACE FUNCTION auth_session_close(p_token_hash bytea) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE session SET revoked_at = now()
     WHERE token_hash = p_token_hash AND revoked_at IS NULL AND user_id = crm_caller_user()
$$;

-- The caller's own stored hash (to check the current password).
CREATE OR REPLACE FUNCTION auth_my_hash() RETURNS text
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT password_hash FROM app_user WHERE id = crm_caller_user()
$$;

-- The caller changes their own password: every other session ends.
CREATE OR REPLACE FUNCTION auth_my_password_set(p_new_hash text, p_keep_token_hash bytea) RETURNS void
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
CREATE OR REPLACE FUNCTION auth_sessions_end(p_user_id bigint) RETURNS boolean
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

-- A user whose role or unit changes, or who is disabled, is logged out
-- everywhere: their sessions carried the old rights.
CREATE OR REPLACE FUNCTION app_user_rights_changed() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE session SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER app_user_rights AFTER UPDATE OF role, unit_id, disabled ON app_user
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.unit_id IS DISTINCT FROM NEW.unit_id
                       OR (NEW.disabled AND NOT OLD.disabled))
    EXECUTE FUNCTION app_user_rights_changed();

-- ---- idempotency keys ----

-- A POST with an Idempotency-Key claims the key in a transaction of its own.
-- Every transaction the request then runs settles the key with its write:
-- the statement that answers stores the answer (idempotency_keep: the key is
-- done, and a retry replays it), any other marks the key written
-- (idempotency_written); both commit or roll back with the write. A key
-- still in_flight therefore means nothing of its request committed.

-- Claims a key for the caller: 'new' (go ahead), 'replay' (with the stored
-- answer), 'mismatch' (the key was used with another request), 'in_flight'
-- (its request is still running) or 'written' (its write committed but its
-- answer was not stored: answered 409, never run again). Only an in_flight
-- key held for over a minute is taken over, as abandoned.
CREATE OR REPLACE FUNCTION idempotency_claim(p_key text, p_route text, p_hash bytea)
RETURNS TABLE (outcome text, status integer, content_type text, body text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    k idempotency_key;
BEGIN
    DELETE FROM idempotency_key i WHERE i.user_id = crm_caller_user() AND i.key = p_key
       AND i.state = 'in_flight' AND i.created_at < now() - interval '1 minute';
    INSERT INTO idempotency_key (user_id, key, route, request_hash)
    VALUES (crm_caller_user(), p_key, p_route, p_hash)
    ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN QUERY SELECT 'new'::text, NULL::integer, NULL::text, NULL::text;
        RETURN;
    END IF;
    SELECT * INTO k FROM idempotency_key i WHERE i.user_id = crm_caller_user() AND i.key = p_key;
    IF k.route <> p_route OR k.request_hash <> p_hash THEN
        RETURN QUERY SELECT 'mismatch'::text, NULL::integer, NULL::text, NULL::text;
    ELSIF k.state = 'done' THEN
        RETURN QUERY SELECT 'replay'::text, k.status, k.content_type, k.body;
    ELSE
        RETURN QUERY SELECT k.state, NULL::integer, NULL::text, NULL::text;
    END IF;
END
$$;

-- Stores an answer under a claimed key after the write's transaction (a
-- 4xx, or an answer the write's statement could not keep): the key is done,
-- whether in_flight or written. Status NULL (a 5xx, worth retrying) releases
-- the key, only while it is in_flight.
CREATE OR REPLACE FUNCTION idempotency_finish(p_user bigint, p_key text, p_status integer,
                                              p_content_type text, p_body text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF p_status IS NULL THEN
        DELETE FROM idempotency_key WHERE user_id = p_user AND key = p_key AND state = 'in_flight';
    ELSE
        UPDATE idempotency_key SET state = 'done', status = p_status, content_type = p_content_type,
               body = p_body
         WHERE user_id = p_user AND key = p_key AND state IN ('in_flight', 'written');
    END IF;
END
$$;

-- Every user's name (display name, else username) by id, for any caller:
-- a view run as its owner, which shows only ids and names. A project names
-- its 包联 leader through it (project_out): the policy on app_user would
-- hide a county leader from a township head.
CREATE OR REPLACE VIEW user_name AS
SELECT l.id, coalesce(nullif(l.display_name, ''), l.username) AS name FROM app_user l;
GRANT SELECT ON user_name TO crm_app;

-- Stores the answer of a keyed write in the write's own transaction and
-- returns it: the key is done with p_status and p_body, or only written
-- when there is no body. The statements that answer a write run wrapped in
-- it (KEEP in crm/db/statements.c).
CREATE OR REPLACE FUNCTION idempotency_keep(p_key text, p_status integer, p_body text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE idempotency_key
       SET state = CASE WHEN p_body IS NULL THEN 'written' ELSE 'done' END,
           status = CASE WHEN p_body IS NOT NULL THEN p_status END,
           content_type = CASE WHEN p_body IS NOT NULL THEN 'application/json; charset=utf-8' END,
           body = p_body
     WHERE user_id = crm_caller_user() AND key = p_key AND state = 'in_flight';
    RETURN p_body;
END
$$;

-- Marks the caller's key written while it is in_flight: the last statement
-- of every transaction a keyed request runs, for those that store no answer.
CREATE OR REPLACE FUNCTION idempotency_written(p_key text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE idempotency_key SET state = 'written'
     WHERE user_id = crm_caller_user() AND key = p_key AND state = 'in_flight'
$$;
